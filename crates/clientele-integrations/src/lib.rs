//! Clientele's outbound HTTP: the clients of the services around it (webhook receivers, Stripe,
//! the Ca.R.G.O.S. police API, ...), each real code tested against a local fake that speaks the
//! service's wire format. This crate depends on the core, never the reverse: the core states
//! what it needs as traits and records, and this crate implements them over `reqwest`.
//!
//! - [`webhooks`]: webhook messages ([`webhooks::HttpWebhooks`]).
//! - [`cargos`]: the Ca.R.G.O.S. police API ([`cargos::HttpCargosApi`]).
//! - [`stripe`]: Stripe's API ([`stripe::HttpStripeApi`]).
//! - `testing` (feature): fakes of the services, for this and other crates' tests.

pub mod cargos;
pub mod stripe;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhooks;
