//! What Clientele needs from the Ca.R.G.O.S. police API (manual §3.4 and §4), as a trait: the
//! core decides when to call and what the answers mean; `clientele-integrations` implements it
//! over HTTP, and tests implement it with a local fake that speaks the service's wire format.
//!
//! The calls are the service's own: `api/Token` (HTTP Basic with the tenant's username and
//! password), then `api/Check`, `api/Send` and `api/Tabella` with the token encrypted under the
//! tenant's API key ([`crate::cargos::CargosApiKey::encrypt_token`]) and the username as the
//! `Organization` header. Encrypting the token is the core's job, so an implementation only
//! moves bytes.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};
use crate::time::Timestamp;

/// A tenant's credentials for the police API, as the police portal issues them. `Debug` never
/// shows them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CargosCredentials {
    /// The portal username (also sent as the `Organization` header).
    pub username: String,
    /// The portal password.
    pub password: String,
    /// The API key (at least 48 characters; the first 48 encrypt the token).
    pub api_key: String,
}

impl fmt::Debug for CargosCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CargosCredentials(<redacted>)")
    }
}

/// What `api/Token` answered: the plain access token and, when the service says, until when it holds.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The token, before encryption.
    pub access_token: String,
    /// `expires_date`, when the answer had one that could be read.
    pub expires_at: Option<Timestamp>,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// What every call after `api/Token` sends: `Authorization: Bearer <bearer>` and
/// `Organization: <organization>`. `Debug` never shows the bearer.
#[derive(Clone, PartialEq, Eq)]
pub struct CargosSession {
    /// The encrypted token (Base64).
    pub bearer: String,
    /// The username.
    pub organization: String,
}

impl fmt::Debug for CargosSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CargosSession").field("organization", &self.organization).finish_non_exhaustive()
    }
}

/// The service's error object (`errore`): `{error, error_description, error_code, timestamp}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PoliceError {
    /// `error`, e.g. `TracciatoErrato`.
    pub error: String,
    /// `error_description`, e.g. `Campo: CONTRATTO_DATA - Data non valida`.
    pub description: String,
    /// `error_code`, e.g. 4 (the only documented code: the record is wrong).
    pub code: Option<i64>,
}

impl fmt::Display for PoliceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "{} ({}, code {code})", self.description, self.error),
            None => write!(f, "{} ({})", self.description, self.error),
        }
    }
}

/// The answer for one record of a `Check` or `Send`, in the order the records were sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordAnswer {
    /// `esito`: whether the record passed (Check) or was accepted (Send).
    pub accepted: bool,
    /// `transactionid`: the receipt of an accepted Send.
    pub transaction_id: Option<String>,
    /// `errore`: why the record was refused.
    pub error: Option<PoliceError>,
}

/// The four coding tables `api/Tabella` serves, by their `TabellaIdentificativo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CargosTable {
    /// 0, TIPO_PAGAMENTO.
    PaymentTypes,
    /// 1, COMUNI_STATI (LUOGHI).
    Places,
    /// 2, TIPO_VEICOLO.
    VehicleTypes,
    /// 3, TIPO_DOCUMENTO.
    DocumentTypes,
}

impl CargosTable {
    /// Every table, in id order.
    pub const ALL: [CargosTable; 4] = [Self::PaymentTypes, Self::Places, Self::VehicleTypes, Self::DocumentTypes];

    /// The `TabellaIdentificativo` of the table.
    pub fn id(self) -> u8 {
        match self {
            Self::PaymentTypes => 0,
            Self::Places => 1,
            Self::VehicleTypes => 2,
            Self::DocumentTypes => 3,
        }
    }

    /// The table's name in the manual.
    pub fn name(self) -> &'static str {
        match self {
            Self::PaymentTypes => "TIPO_PAGAMENTO",
            Self::Places => "LUOGHI",
            Self::VehicleTypes => "TIPO_VEICOLO",
            Self::DocumentTypes => "TIPO_DOCUMENTO",
        }
    }
}

/// Why a call to the police API did not give an answer to use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CargosApiError {
    /// HTTP 401 or 403, or an error object from `api/Token`, or one saying the token or API key
    /// is not valid: the tenant's credentials must be fixed.
    #[error("the police service refused the credentials: {0}")]
    CredentialsRefused(String),
    /// No answer in time, a connection failure, or an HTTP 5xx: nothing happened, try later.
    #[error("the police service is unavailable: {0}")]
    Unavailable(String),
    /// The call as a whole was refused with an error object (not a record's refusal).
    #[error("the police service refused the call: {0}")]
    Refused(PoliceError),
    /// An answer that is not what the manual describes (wrong shape, wrong number of answers).
    #[error("the police service answered something unexpected: {0}")]
    Unexpected(String),
}

impl From<CargosApiError> for Error {
    fn from(error: CargosApiError) -> Self {
        match error {
            CargosApiError::CredentialsRefused(_) => Error::conflict(
                ErrorCode::CargosCredentialsRefused,
                format!("{error}: an admin must check the username, password and API key in the Ca.R.G.O.S. settings"),
            ),
            other => {
                Error::server(ErrorCode::CargosUnavailable, format!("{other}: nothing was accepted; try again later"))
            }
        }
    }
}

/// The police API. See the module documentation.
#[async_trait]
pub trait CargosApi: Send + Sync + fmt::Debug {
    /// `GET api/Token` with HTTP Basic authentication.
    async fn token(&self, credentials: &CargosCredentials) -> Result<IssuedToken, CargosApiError>;
    /// `POST api/Check`: one answer per record, in order (at most
    /// [`crate::cargos::MAX_RECORDS_PER_CALL`] records).
    async fn check(&self, session: &CargosSession, records: &[String]) -> Result<Vec<RecordAnswer>, CargosApiError>;
    /// `POST api/Send`: one answer per record, in order; an accepted one carries its receipt.
    async fn send(&self, session: &CargosSession, records: &[String]) -> Result<Vec<RecordAnswer>, CargosApiError>;
    /// `GET api/Tabella`: the table's file, decoded from Base64 (read it with
    /// [`crate::cargos::tables::table_text`]).
    async fn table(&self, session: &CargosSession, table: CargosTable) -> Result<Vec<u8>, CargosApiError>;
}
