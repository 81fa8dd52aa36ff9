//! What Clientele asks of Stripe, as a trait: the core decides who calls (which key, which
//! connected account) and what the answers mean; `clientele-integrations` implements it over
//! HTTP, with retries and idempotency keys, and tests implement it with a local fake of Stripe.
//!
//! Pinned to API version [`STRIPE_API_VERSION`] (sent as `Stripe-Version` on every call). The
//! objects and fields relied on, all stable in that version:
//! - `customer`: `id`, `deleted`, `invoice_settings.default_payment_method` (an id, or an
//!   expanded object whose `id` is read);
//! - `setup_intent`: `id`, `client_secret`, `status`, `customer`, `payment_method`,
//!   `last_setup_error.{code, decline_code}`;
//! - `payment_method`: `id`, `type`, `customer`, `created`, `card.{brand, last4, exp_month,
//!   exp_year, country, wallet.type}` (and `<type>.last4` for other types);
//! - lists: `{object: "list", data, has_more}` paged with `starting_after`;
//! - errors: `{error: {type, code, decline_code, param, message}}` and the `Stripe-Should-Retry`
//!   header;
//! - events: `{id, type, created, account, data.object, data.previous_attributes}`.

use std::fmt;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::{Error, ErrorCode};

/// The Stripe API version every call is made with and every event is read as.
pub const STRIPE_API_VERSION: &str = "2025-03-31.basil";

/// Who a call is made as: a secret key, and for Connect the connected account (`Stripe-Account`).
/// `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct StripeAuth {
    /// `sk_…` or `rk_…`: the platform's (Connect) or the tenant's own.
    pub secret_key: String,
    /// `acct_…`, for calls on a connected account.
    pub account: Option<String>,
}

impl fmt::Debug for StripeAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeAuth").field("account", &self.account).finish_non_exhaustive()
    }
}

/// `POST /v1/customers`: the few fields a Stripe customer is made with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStripeCustomer {
    /// The person's or company's name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone, E.164.
    pub phone: Option<String>,
    /// `metadata[key]=value` (the Clientele ids).
    pub metadata: Vec<(String, String)>,
}

/// A Stripe customer, as far as it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeCustomer {
    /// `cus_…`.
    pub id: String,
    /// `invoice_settings.default_payment_method`.
    pub default_payment_method: Option<String>,
    /// True when Stripe answered with a deleted customer.
    pub deleted: bool,
}

impl StripeCustomer {
    /// Reads a `customer` object.
    pub fn from_json(object: &Value) -> Option<Self> {
        let default = &object["invoice_settings"]["default_payment_method"];
        let default = default.as_str().or_else(|| default["id"].as_str()).map(str::to_owned);
        Some(Self {
            id: object["id"].as_str()?.to_owned(),
            default_payment_method: default,
            deleted: object["deleted"].as_bool().unwrap_or(false),
        })
    }
}

/// `POST /v1/setup_intents`: for a customer, `usage=off_session`, automatic payment methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSetupIntent {
    /// `cus_…`.
    pub customer: String,
    /// `metadata[key]=value`.
    pub metadata: Vec<(String, String)>,
}

/// A SetupIntent as made. `Debug` never shows the client secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SetupIntent {
    /// `seti_…`.
    pub id: String,
    /// What Stripe.js confirms the intent with, in the browser.
    pub client_secret: String,
    /// `requires_payment_method`, `succeeded`, …
    pub status: String,
}

impl fmt::Debug for SetupIntent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetupIntent").field("id", &self.id).field("status", &self.status).finish_non_exhaustive()
    }
}

/// A payment method as Stripe describes it: what a person needs to recognise it, never more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripePaymentMethod {
    /// `pm_…`.
    pub id: String,
    /// `card`, `sepa_debit`, …
    pub kind: String,
    /// The customer it is attached to.
    pub customer: Option<String>,
    /// `visa`, `mastercard`, … (cards).
    pub brand: Option<String>,
    /// The last four digits.
    pub last4: Option<String>,
    /// Expiry month (cards).
    pub exp_month: Option<u8>,
    /// Expiry year (cards).
    pub exp_year: Option<u16>,
    /// `apple_pay`, `google_pay`, … when the card came from a wallet.
    pub wallet: Option<String>,
    /// The issuing country (ISO 3166-1 alpha-2).
    pub country: Option<String>,
    /// When it was made (Unix seconds).
    pub created: i64,
}

impl StripePaymentMethod {
    /// Reads a `payment_method` object.
    pub fn from_json(object: &Value) -> Option<Self> {
        let kind = object["type"].as_str()?.to_owned();
        let details = &object[kind.as_str()];
        let text = |v: &Value| v.as_str().map(str::to_owned);
        Some(Self {
            id: object["id"].as_str()?.to_owned(),
            customer: text(&object["customer"]),
            brand: text(&details["brand"]),
            last4: text(&details["last4"]),
            exp_month: details["exp_month"].as_u64().and_then(|m| u8::try_from(m).ok()),
            exp_year: details["exp_year"].as_u64().and_then(|y| u16::try_from(y).ok()),
            wallet: text(&details["wallet"]["type"]),
            country: text(&details["country"]),
            created: object["created"].as_i64().unwrap_or_default(),
            kind,
        })
    }
}

/// Why a call to Stripe gave no answer to use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripeApiError {
    /// HTTP 401 or 403: the key is wrong, revoked, or may not act on the account.
    #[error("Stripe refused the key: {0}")]
    Authentication(String),
    /// A `card_error`: the card was declined.
    #[error("the card was declined: {message}")]
    Card {
        /// `code`, e.g. `card_declined`, `expired_card`.
        code: Option<String>,
        /// `decline_code`, e.g. `insufficient_funds`.
        decline_code: Option<String>,
        /// Stripe's message, meant for the person paying.
        message: String,
    },
    /// Any other refusal (`invalid_request_error`, `idempotency_error`, …).
    #[error("Stripe refused the request: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// `code`, e.g. `resource_missing`.
        code: Option<String>,
        /// `param`, the parameter at fault.
        param: Option<String>,
        /// Stripe's message.
        message: String,
    },
    /// No answer in time, a connection failure, or 409/429/5xx still after the retries.
    #[error("Stripe is unavailable: {0}")]
    Unavailable(String),
    /// An answer that is not what the API version describes.
    #[error("Stripe answered something unexpected: {0}")]
    Unexpected(String),
}

impl From<StripeApiError> for Error {
    fn from(error: StripeApiError) -> Self {
        match error {
            StripeApiError::Authentication(_) => Error::conflict(
                ErrorCode::PaymentsNotConfigured,
                format!("{error}: an admin must check the Stripe settings (PATCH /api/v1/settings/stripe)"),
            ),
            StripeApiError::Card { code, decline_code, message } => Error::Conflict {
                code: ErrorCode::CardDeclined,
                message,
                details: Some(serde_json::json!({"stripe_code": code, "decline_code": decline_code})),
            },
            StripeApiError::Refused { code: Some(code), .. } if code == "resource_missing" => {
                Error::NotFound("payment method")
            }
            StripeApiError::Refused { status, code, param, message } => Error::Conflict {
                code: ErrorCode::StripeRequestRefused,
                message: format!("Stripe refused the request (HTTP {status}): {message}"),
                details: Some(serde_json::json!({"stripe_code": code, "param": param})),
            },
            other => Error::server(ErrorCode::StripeUnavailable, format!("{other}; try again later")),
        }
    }
}

/// Stripe's API. See the module documentation. Every POST carries `idempotency_key`, reused by
/// the implementation across its own retries of that call.
#[async_trait]
pub trait StripeApi: Send + Sync + fmt::Debug {
    /// `POST /v1/customers`.
    async fn create_customer(
        &self,
        auth: &StripeAuth,
        idempotency_key: &str,
        customer: &NewStripeCustomer,
    ) -> Result<StripeCustomer, StripeApiError>;
    /// `GET /v1/customers/{id}`.
    async fn retrieve_customer(&self, auth: &StripeAuth, id: &str) -> Result<StripeCustomer, StripeApiError>;
    /// `POST /v1/customers/{id}` with `invoice_settings[default_payment_method]`.
    async fn set_default_payment_method(
        &self,
        auth: &StripeAuth,
        idempotency_key: &str,
        customer: &str,
        payment_method: &str,
    ) -> Result<StripeCustomer, StripeApiError>;
    /// `POST /v1/setup_intents` with `usage=off_session` and `automatic_payment_methods[enabled]`.
    async fn create_setup_intent(
        &self,
        auth: &StripeAuth,
        idempotency_key: &str,
        intent: &NewSetupIntent,
    ) -> Result<SetupIntent, StripeApiError>;
    /// `GET /v1/customers/{id}/payment_methods`, every page.
    async fn list_payment_methods(
        &self,
        auth: &StripeAuth,
        customer: &str,
    ) -> Result<Vec<StripePaymentMethod>, StripeApiError>;
    /// `GET /v1/payment_methods/{id}`.
    async fn retrieve_payment_method(&self, auth: &StripeAuth, id: &str)
    -> Result<StripePaymentMethod, StripeApiError>;
    /// `POST /v1/payment_methods/{id}/detach`.
    async fn detach_payment_method(
        &self,
        auth: &StripeAuth,
        idempotency_key: &str,
        id: &str,
    ) -> Result<StripePaymentMethod, StripeApiError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payment_methods_are_read_without_anything_but_what_identifies_them() {
        let card = json!({"id": "pm_1", "object": "payment_method", "type": "card", "customer": "cus_1", "created": 5,
            "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2034, "country": "IT",
                     "wallet": {"type": "apple_pay"}, "checks": {"cvc_check": "pass"}, "fingerprint": "abc"}});
        let read = StripePaymentMethod::from_json(&card).unwrap();
        assert_eq!(
            (read.brand.as_deref(), read.last4.as_deref(), read.exp_month, read.exp_year),
            (Some("visa"), Some("4242"), Some(12), Some(2034))
        );
        assert_eq!((read.wallet.as_deref(), read.country.as_deref()), (Some("apple_pay"), Some("IT")));
        let sepa = json!({"id": "pm_2", "type": "sepa_debit", "customer": null, "sepa_debit": {"last4": "3000", "country": "DE", "bank_code": "37040044"}});
        let read = StripePaymentMethod::from_json(&sepa).unwrap();
        assert_eq!((read.kind.as_str(), read.last4.as_deref(), read.customer), ("sepa_debit", Some("3000"), None));
    }

    #[test]
    fn stripe_failures_become_clear_problems() {
        let declined = Error::from(StripeApiError::Card {
            code: Some("card_declined".into()),
            decline_code: Some("insufficient_funds".into()),
            message: "Your card has insufficient funds.".into(),
        });
        assert_eq!(declined.code(), ErrorCode::CardDeclined);
        assert_eq!(Error::from(StripeApiError::Unavailable("x".into())).code(), ErrorCode::StripeUnavailable);
        assert_eq!(Error::from(StripeApiError::Authentication("x".into())).code(), ErrorCode::PaymentsNotConfigured);
        let missing = StripeApiError::Refused {
            status: 404,
            code: Some("resource_missing".into()),
            param: None,
            message: "".into(),
        };
        assert_eq!(Error::from(missing).code(), ErrorCode::NotFound);
        assert!(!format!("{:?}", StripeAuth { secret_key: "sk_test_x".into(), account: None }).contains("sk_test"));
    }
}
