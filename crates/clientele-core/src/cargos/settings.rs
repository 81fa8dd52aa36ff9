//! A tenant's Ca.R.G.O.S. settings: its credentials for the police API, sealed at rest and never
//! shown again once saved, and what happens when one of its orders becomes active.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::cargos::api::CargosCredentials;
use crate::cargos::token::CargosApiKey;
use crate::documents::vault::SealedSecret;
use crate::error::{FieldCode, FieldErrors, Result};
use crate::ids::TenantId;
use crate::time::Timestamp;

/// What happens when an order becomes `active` (the moment the car leaves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnActivation {
    /// Nothing: operators check and send by hand.
    #[default]
    Off,
    /// The record is checked in the background; a failure shows in the failed submissions.
    Check,
    /// The record is checked, and sent when the check passes.
    CheckAndSend,
}

impl OnActivation {
    /// The value as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Check => "check",
            Self::CheckAndSend => "check_and_send",
        }
    }

    /// Parses a stored value.
    pub fn parse(input: &str) -> Option<Self> {
        [Self::Off, Self::Check, Self::CheckAndSend].into_iter().find(|v| v.as_str() == input)
    }
}

/// A tenant's stored settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargosSettings {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The credentials, sealed with the documents master key and bound to the tenant, when set.
    pub credentials: Option<SealedSecret>,
    /// When the credentials were last set.
    pub credentials_set_at: Option<Timestamp>,
    /// What happens when an order becomes active.
    pub on_activation: OnActivation,
    /// When the settings last changed.
    pub updated_at: Timestamp,
}

impl CargosSettings {
    /// The settings of a tenant that saved none.
    pub fn unset(tenant_id: TenantId) -> Self {
        Self {
            tenant_id,
            credentials: None,
            credentials_set_at: None,
            on_activation: OnActivation::Off,
            updated_at: Timestamp::now(),
        }
    }
}

/// Which tables are in use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TablesInfo {
    /// `builtin` (the snapshot shipped with the program) or `refreshed` (from the police's
    /// `Tabella` endpoint, by `clientele cargos tables refresh`).
    pub source: String,
    /// When the refreshed tables were downloaded.
    pub fetched_at: Option<Timestamp>,
}

/// The settings as shown: whether credentials are set, never the credentials themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CargosSettingsView {
    /// Whether credentials are set.
    pub credentials_set: bool,
    /// When they were last set.
    pub credentials_set_at: Option<Timestamp>,
    /// What happens when an order becomes active.
    pub on_activation: OnActivation,
    /// The coding tables in use.
    pub tables: TablesInfo,
}

/// Credentials as an admin sends them.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialsInput {
    /// The portal username.
    pub username: Option<String>,
    /// The portal password.
    pub password: Option<String>,
    /// The API key (at least 48 characters).
    pub api_key: Option<String>,
}

/// `PATCH /cargos/settings`: the members sent change, the others stay.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CargosSettingsPatch {
    /// New credentials, or `null` to remove them. Never shown again once saved.
    #[serde(default, deserialize_with = "crate::cargos::settings::some")]
    #[schema(value_type = Option<CredentialsInput>)]
    pub credentials: Option<Option<CredentialsInput>>,
    /// What happens when an order becomes active.
    pub on_activation: Option<OnActivation>,
}

/// Distinguishes an absent member (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn some<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl CredentialsInput {
    /// The credentials, every field present and the API key usable; every bad field named
    /// (`credentials.api_key`), never echoing a value.
    pub fn validate(&self) -> Result<CargosCredentials> {
        let mut e = FieldErrors::new();
        let mut required = |name: &str, value: &Option<String>, max: usize| {
            let value = value.as_deref().map(str::trim).unwrap_or_default();
            if value.is_empty() {
                e.push(format!("credentials.{name}"), FieldCode::Required, "is required");
                None
            } else if value.chars().count() > max {
                e.push(format!("credentials.{name}"), FieldCode::TooLong, format!("is longer than {max} characters"));
                None
            } else {
                Some(value.to_owned())
            }
        };
        let username = required("username", &self.username, 200);
        let password = required("password", &self.password, 500);
        let api_key = required("api_key", &self.api_key, 500);
        if let Some(Err(error)) = api_key.as_deref().map(CargosApiKey::parse) {
            e.push("credentials.api_key", FieldCode::Invalid, error.to_string());
        }
        let (Some(username), Some(password), Some(api_key)) = (username, password, api_key) else {
            return Err(e.into_error());
        };
        e.finish(|| CargosCredentials { username, password, api_key })
    }
}
