//! Payment methods as Clientele shows them (read from Stripe each time, never stored), the
//! answer of a setup, and the one thing kept: which Stripe customer is a customer's.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use utoipa::ToSchema;

use crate::ids::{CustomerId, TenantId};
use crate::payments::api::StripePaymentMethod;
use crate::time::Timestamp;

/// A Stripe object id as it may appear in a path or an event: a lowercase prefix, `_`, then
/// letters, digits and `_` (`pm_1Q0PsI…`, `card_…`), at most 255 characters. Parsing it keeps
/// anything else out of the URLs Clientele calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct StripeId(String);

impl StripeId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for StripeId {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let (prefix, rest) = text.split_once('_').ok_or_else(|| format!("{text:?} is not a Stripe id"))?;
        let fits = text.len() <= 255
            && !prefix.is_empty()
            && prefix.bytes().all(|b| b.is_ascii_lowercase())
            && !rest.is_empty()
            && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if fits { Ok(Self(text.to_owned())) } else { Err(format!("{text:?} is not a Stripe id")) }
    }
}

impl fmt::Display for StripeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A customer's payment method, as read from Stripe: what identifies it to a person, never the
/// card number, its security code or anything that could charge it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PaymentMethodView {
    /// Stripe's id (`pm_…`): what removing it or making it the default names.
    pub id: String,
    /// `card`, `sepa_debit`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// `visa`, `mastercard`, `amex`, … (cards).
    pub brand: Option<String>,
    /// The last four digits.
    pub last4: Option<String>,
    /// Expiry month, 1 to 12 (cards).
    pub exp_month: Option<u8>,
    /// Expiry year (cards).
    pub exp_year: Option<u16>,
    /// `apple_pay`, `google_pay`, `link`, … when the card came from a wallet.
    pub wallet: Option<String>,
    /// The issuing country (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    /// Whether it is the customer's default (`invoice_settings.default_payment_method`).
    pub default: bool,
    /// When it was added to Stripe.
    pub created_at: Option<Timestamp>,
}

impl PaymentMethodView {
    /// The view of `method`; `default` when it is the customer's default.
    pub fn new(method: StripePaymentMethod, default: bool) -> Self {
        Self {
            id: method.id,
            kind: method.kind,
            brand: method.brand,
            last4: method.last4,
            exp_month: method.exp_month,
            exp_year: method.exp_year,
            wallet: method.wallet,
            country: method.country,
            default,
            created_at: Timestamp::from_unix_seconds(method.created),
        }
    }
}

/// A customer's payment methods.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentMethodList {
    /// Newest first, as Stripe lists them.
    pub items: Vec<PaymentMethodView>,
}

/// What the browser needs to add a card with Stripe.js (Elements): the card goes from the
/// browser to Stripe, never through Clientele.
#[derive(Clone, Serialize, ToSchema)]
pub struct PaymentSetup {
    /// The customer.
    pub customer_id: CustomerId,
    /// The SetupIntent (`seti_…`).
    pub setup_intent_id: String,
    /// `stripe.confirmSetup({elements, clientSecret})` confirms with it; it authorises only
    /// adding a payment method to this customer, and is not kept here.
    pub client_secret: String,
    /// `Stripe(publishable_key, {stripeAccount})` in the browser.
    pub publishable_key: String,
    /// The connected account (Connect), for Stripe.js's `stripeAccount` option; absent when the
    /// tenant uses its own key.
    pub stripe_account: Option<String>,
}

impl fmt::Debug for PaymentSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentSetup")
            .field("customer_id", &self.customer_id)
            .field("setup_intent_id", &self.setup_intent_id)
            .finish_non_exhaustive()
    }
}

/// The one thing kept of Stripe per customer: its Stripe customer's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeLink {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The customer.
    pub customer_id: CustomerId,
    /// `cus_…`, in the tenant's Stripe account.
    pub stripe_customer_id: String,
    /// When it was made.
    pub created_at: Timestamp,
}

/// A linked payment method as the person's data export lists it: brand and last four only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ExportedPaymentMethod {
    /// `visa`, … (or the type, for other methods).
    pub brand: Option<String>,
    /// The last four digits.
    pub last4: Option<String>,
}

/// The payment methods part of a person's data export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ExportedPaymentMethods {
    /// Whether a Stripe customer is linked to the person (its id is all that is kept here).
    pub linked: bool,
    /// The methods Stripe holds for the person: brand and last four digits only.
    pub methods: Vec<ExportedPaymentMethod>,
    /// Why they could not be read from Stripe, when they could not (the rest of the export
    /// stands).
    pub unavailable: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_ids_keep_anything_else_out_of_urls() {
        for good in ["pm_1Q0PsIJvEtkwdCNYMSaVuRz6", "card_123", "cus_ABC_def"] {
            assert!(good.parse::<StripeId>().is_ok(), "{good}");
        }
        for bad in ["pm_", "_x", "pm_../../v1/customers", "pm_a?b", "PM_x", "pm x", "4242424242424242", ""] {
            assert!(bad.parse::<StripeId>().is_err(), "{bad}");
        }
    }
}
