//! Payment methods through Stripe (FR-18..20): several cards (or other methods) per customer,
//! none ever stored here. Clientele keeps only the id of each customer's Stripe customer; cards
//! are added in the browser with Stripe.js and a SetupIntent (the card never reaches this
//! server), listed and removed through Stripe's API, and Stripe's webhooks tell what happened.
//!
//! Each tenant is its own merchant: a connected account on the platform's key (`Stripe-Account`
//! header), or the tenant's own secret key ([`settings`]). Keys are sealed with the documents
//! master key and never shown again.
//!
//! - [`api`]: what Stripe is asked and answers, as a trait (implemented over HTTP in
//!   `clientele-integrations`, tested against a local fake of Stripe), with the API version
//!   pinned ([`api::STRIPE_API_VERSION`]) and the objects and fields relied on.
//! - [`record`]: a payment method as shown, the answer of a setup, the id types.
//! - [`signature`]: `Stripe-Signature` verification (HMAC-SHA256, tolerance, several `v1`).
//! - [`settings`] and [`setup`]: the tenant's Stripe settings and their services.
//! - [`services`]: setup, list, remove, default; every refused attempt audited.
//! - [`webhook`]: verified events applied once each, in order per object, into the outbox.
//! - [`store`]: the part of the storage contract that is Stripe's.

pub mod api;
pub mod record;
pub mod services;
pub mod settings;
pub mod setup;
pub mod signature;
pub(crate) mod state;
pub mod store;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

/// What this server knows of Stripe: its client, and the platform's own keys (for tenants that
/// are connected accounts). `Debug` never shows the secret key.
#[derive(Clone)]
pub struct StripeSettings {
    /// The Stripe client; without one, payment methods answer `503 stripe_unavailable`.
    pub api: Option<Arc<dyn api::StripeApi>>,
    /// The platform's secret key, which Connect tenants' calls are made with.
    pub platform_secret_key: Option<String>,
    /// The platform's publishable key, which Connect tenants' browsers use.
    pub platform_publishable_key: Option<String>,
    /// How long a customer's list of payment methods read from Stripe is reused (at most a
    /// minute; a change made here, or told by a webhook, forgets it at once).
    pub list_cache: Duration,
    /// Where the console's card form loads Stripe.js from: Stripe's own host (PCI DSS asks for
    /// it to be loaded from there, never bundled); tests point it at a local fake.
    pub js_url: String,
}

/// Where Stripe.js is served.
pub const STRIPE_JS_URL: &str = "https://js.stripe.com/v3/";

impl Default for StripeSettings {
    fn default() -> Self {
        Self {
            api: None,
            platform_secret_key: None,
            platform_publishable_key: None,
            list_cache: Duration::from_secs(5),
            js_url: STRIPE_JS_URL.to_owned(),
        }
    }
}

impl std::fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeSettings")
            .field("api", &self.api)
            .field("platform_secret_key", &self.platform_secret_key.as_ref().map(|_| "[redacted]"))
            .field("platform_publishable_key", &self.platform_publishable_key)
            .field("list_cache", &self.list_cache)
            .field("js_url", &self.js_url)
            .finish()
    }
}
