//! A tenant's Stripe settings: how it is a merchant (a connected account on the platform's key,
//! or its own secret key), its keys sealed at rest and never shown again, and the signing secret
//! of the webhook endpoint Stripe calls for it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::documents::vault::SealedSecret;
use crate::error::{FieldCode, FieldErrors, Result};
use crate::ids::TenantId;
use crate::time::Timestamp;

/// How the tenant takes payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StripeMode {
    /// A connected account of the platform: calls use the platform's secret key
    /// (`stripe.secret_key`) with the `Stripe-Account` header.
    Connect,
    /// The tenant's own Stripe account and keys.
    OwnKey,
}

impl StripeMode {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::OwnKey => "own_key",
        }
    }

    /// From its stored form.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Connect, Self::OwnKey].into_iter().find(|m| m.as_str() == text)
    }
}

/// A tenant's stored settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSettings {
    /// The tenant.
    pub tenant_id: TenantId,
    /// How it takes payments.
    pub mode: StripeMode,
    /// `acct_…` (Connect).
    pub connect_account_id: Option<String>,
    /// The tenant's secret key (own key), sealed with the documents master key.
    pub secret_key: Option<SealedSecret>,
    /// The tenant's publishable key (own key; Connect uses the platform's). Not a secret.
    pub publishable_key: Option<String>,
    /// The webhook endpoint's signing secret, sealed.
    pub webhook_secret: Option<SealedSecret>,
    /// When they last changed.
    pub updated_at: Timestamp,
}

/// The settings as shown: never a key or a secret, only whether each is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PaymentSettingsView {
    /// Whether the tenant can take payment methods (a mode with what it needs).
    pub configured: bool,
    /// `connect` or `own_key`; absent when Stripe is not set up.
    pub mode: Option<StripeMode>,
    /// The connected account (Connect).
    pub connect_account_id: Option<String>,
    /// The publishable key the browser uses (own key: the tenant's; Connect: the platform's).
    pub publishable_key: Option<String>,
    /// Whether the tenant's secret key is set (own key). It is never shown.
    pub secret_key_set: bool,
    /// Whether the webhook signing secret is set; without it Stripe's events are refused.
    pub webhook_secret_set: bool,
    /// Where Stripe sends this tenant's events (register it in Stripe's dashboard).
    pub webhook_path: String,
    /// The Stripe API version calls are made with (set the webhook endpoint to it too).
    pub api_version: &'static str,
    /// When the settings last changed.
    pub updated_at: Option<Timestamp>,
}

/// `PATCH /settings/stripe`: members sent change (`null` removes), others stay. `"mode": null`
/// turns Stripe off and removes every key.
#[derive(Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettingsPatch {
    /// `connect` or `own_key`, or `null` to turn Stripe off.
    #[serde(default, deserialize_with = "crate::cargos::settings::some")]
    #[schema(value_type = Option<StripeMode>)]
    pub mode: Option<Option<StripeMode>>,
    /// `acct_…` (Connect).
    #[serde(default, deserialize_with = "crate::cargos::settings::some")]
    #[schema(value_type = Option<String>)]
    pub connect_account_id: Option<Option<String>>,
    /// `sk_…` or a restricted `rk_…` (own key). Never shown again.
    #[serde(default, deserialize_with = "crate::cargos::settings::some")]
    #[schema(value_type = Option<String>)]
    pub secret_key: Option<Option<String>>,
    /// `pk_…` (own key).
    #[serde(default, deserialize_with = "crate::cargos::settings::some")]
    #[schema(value_type = Option<String>)]
    pub publishable_key: Option<Option<String>>,
    /// `whsec_…`, the signing secret of the endpoint Stripe calls. Never shown again.
    #[serde(default, deserialize_with = "crate::cargos::settings::some")]
    #[schema(value_type = Option<String>)]
    pub webhook_secret: Option<Option<String>>,
}

/// Shows the mode and account, never a key or secret (only whether one was sent).
impl std::fmt::Debug for PaymentSettingsPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sent = |member: &Option<Option<String>>| member.as_ref().map(|v| v.as_ref().map(|_| "[redacted]"));
        f.debug_struct("PaymentSettingsPatch")
            .field("mode", &self.mode)
            .field("connect_account_id", &self.connect_account_id)
            .field("secret_key", &sent(&self.secret_key))
            .field("publishable_key", &self.publishable_key)
            .field("webhook_secret", &sent(&self.webhook_secret))
            .finish()
    }
}

/// The form of a key or id, checked before anything is kept: `prefixes` allowed, then letters,
/// digits and `_`; never echoes the value.
pub(crate) fn check_key(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
    prefixes: &[&str],
    what: &str,
) -> Option<String> {
    let value = value.trim();
    let rest = prefixes.iter().find_map(|p| value.strip_prefix(p));
    match rest {
        Some(rest)
            if (8..=500).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            Some(value.to_owned())
        }
        _ => {
            let shapes = prefixes.iter().map(|p| format!("{p}…")).collect::<Vec<_>>().join(" or ");
            errors.push(field, FieldCode::Invalid, format!("must be {what} ({shapes})"));
            None
        }
    }
}

/// Whether a secret and a publishable key are of the same mode (test or live).
pub(crate) fn same_mode(secret_key: &str, publishable_key: &str) -> bool {
    let live = |key: &str| key.contains("_live_");
    live(secret_key) == live(publishable_key)
}

/// A patch read into plain values; `Ok(None)` for a member not sent.
pub(crate) fn checked(
    errors: &mut FieldErrors,
    field: &str,
    value: &Option<Option<String>>,
    prefixes: &[&str],
    what: &str,
) -> Option<Option<String>> {
    match value {
        None => None,
        Some(None) => Some(None),
        Some(Some(text)) => check_key(errors, field, text, prefixes, what).map(Some),
    }
}

/// The result of validation: what a patch leaves, before sealing.
pub(crate) struct CheckedPatch {
    pub connect_account_id: Option<Option<String>>,
    pub secret_key: Option<Option<String>>,
    pub publishable_key: Option<Option<String>>,
    pub webhook_secret: Option<Option<String>>,
}

impl PaymentSettingsPatch {
    /// Every member's form, every bad one named.
    pub(crate) fn check(&self) -> Result<CheckedPatch> {
        let mut e = FieldErrors::new();
        let connect_account_id =
            checked(&mut e, "connect_account_id", &self.connect_account_id, &["acct_"], "a Stripe account id");
        let secret_key = checked(
            &mut e,
            "secret_key",
            &self.secret_key,
            &["sk_test_", "sk_live_", "rk_test_", "rk_live_"],
            "a Stripe secret key",
        );
        let publishable_key = checked(
            &mut e,
            "publishable_key",
            &self.publishable_key,
            &["pk_test_", "pk_live_"],
            "a Stripe publishable key",
        );
        let webhook_secret =
            checked(&mut e, "webhook_secret", &self.webhook_secret, &["whsec_"], "a webhook signing secret");
        e.finish(|| CheckedPatch { connect_account_id, secret_key, publishable_key, webhook_secret })
    }
}
