//! The Ca.R.G.O.S. police API over HTTP (`shared/specs/cargos.md` §4): `api/Token` with HTTP
//! Basic authentication, then `api/Check`, `api/Send` and `api/Tabella` with the encrypted
//! token as the bearer and the username as `Organization`.
//!
//! What the answers mean: 401 and 403 are refused credentials; a timeout, a connection failure
//! or a 5xx is an unavailable service (nothing happened); the service's error object
//! (`{error, error_description, error_code, timestamp}`, at the top or nested under `errore`,
//! with HTTP 200 or not) from `api/Token` is refused credentials, and from the other calls a
//! refusal of the call, except codes 1 and 2 (token, API key), which are credentials again.
//! `Check` and `Send` answer one `{esito, transactionid, errore}` per record, in order.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clientele_core::cargos::api::{
    CargosApi, CargosApiError, CargosCredentials, CargosSession, CargosTable, IssuedToken, PoliceError, RecordAnswer,
};
use clientele_core::time::Timestamp;
use reqwest::{StatusCode, Url};
use serde_json::Value;

/// The police service's address.
pub const DEFAULT_BASE_URL: &str = "https://cargos.poliziadistato.it/CARGOS_API/";

/// The longest answer read (the places table is about 1 MiB).
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// The client. Cheap to clone; keeps its connections.
#[derive(Debug, Clone)]
pub struct HttpCargosApi {
    client: reqwest::Client,
    base: Url,
    timeout: Duration,
}

impl HttpCargosApi {
    /// A client of the service at `base_url` (the API's root, e.g. [`DEFAULT_BASE_URL`]), each
    /// call given up after `timeout`.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, String> {
        let with_slash = if base_url.ends_with('/') { base_url.to_owned() } else { format!("{base_url}/") };
        let base = Url::parse(&with_slash).map_err(|e| format!("Ca.R.G.O.S. base URL {base_url:?}: {e}"))?;
        if !matches!(base.scheme(), "https" | "http") {
            return Err(format!("Ca.R.G.O.S. base URL {base_url:?}: must be https (or http for a local test)"));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("clientele/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("building the Ca.R.G.O.S. client: {e}"))?;
        Ok(Self { client, base, timeout })
    }

    fn url(&self, path: &str) -> Result<Url, CargosApiError> {
        self.base.join(path).map_err(|e| CargosApiError::Unexpected(format!("URL {path}: {e}")))
    }

    /// Sends a request and reads its answer: the status and the JSON body (`Null` when empty or
    /// not JSON). Timeouts, connection failures, 5xx, 401 and 403 become errors here.
    async fn exchange(&self, request: reqwest::RequestBuilder, what: &str) -> Result<Value, CargosApiError> {
        let unavailable = |e: reqwest::Error| {
            if e.is_timeout() {
                CargosApiError::Unavailable(format!("{what}: no answer within {} s", self.timeout.as_secs_f32()))
            } else {
                CargosApiError::Unavailable(format!("{what}: {e}"))
            }
        };
        let mut response = request.send().await.map_err(unavailable)?;
        let status = response.status();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(CargosApiError::Unexpected(format!("{what}: the answer is larger than 16 MiB")));
            }
            body.extend_from_slice(&chunk);
        }
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let said = || police_error(&json).map(|e| format!(": {e}")).unwrap_or_default();
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(CargosApiError::CredentialsRefused(format!("{what}: HTTP {status}{}", said())))
            }
            s if s.is_server_error() => Err(CargosApiError::Unavailable(format!("{what}: HTTP {status}{}", said()))),
            s if !s.is_success() => match police_error(&json) {
                Some(error) => Err(CargosApiError::Refused(error)),
                None => Err(CargosApiError::Unexpected(format!("{what}: HTTP {status}"))),
            },
            _ => Ok(json),
        }
    }

    async fn records(
        &self,
        path: &str,
        session: &CargosSession,
        records: &[String],
    ) -> Result<Vec<RecordAnswer>, CargosApiError> {
        let request = self
            .client
            .post(self.url(path)?)
            .bearer_auth(&session.bearer)
            .header("Organization", &session.organization)
            .json(records);
        let json = self.exchange(request, path).await?;
        let Value::Array(items) = json else {
            return Err(refusal(&json).unwrap_or_else(|| unexpected(path, "neither an array of answers nor an error")));
        };
        if items.len() != records.len() {
            return Err(unexpected(path, &format!("{} answers to {} records", items.len(), records.len())));
        }
        items.iter().map(|item| answer(path, item)).collect()
    }
}

#[async_trait]
impl CargosApi for HttpCargosApi {
    async fn token(&self, credentials: &CargosCredentials) -> Result<IssuedToken, CargosApiError> {
        let request =
            self.client.get(self.url("api/Token")?).basic_auth(&credentials.username, Some(&credentials.password));
        let json = self.exchange(request, "api/Token").await?;
        if let Some(access_token) = json.get("access_token").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            let expires_at = json.get("expires_date").and_then(Value::as_str).and_then(Timestamp::parse);
            return Ok(IssuedToken { access_token: access_token.to_owned(), expires_at });
        }
        Err(match police_error(&json) {
            Some(error) => CargosApiError::CredentialsRefused(format!("api/Token: {error}")),
            None => unexpected("api/Token", "no access_token"),
        })
    }

    async fn check(&self, session: &CargosSession, records: &[String]) -> Result<Vec<RecordAnswer>, CargosApiError> {
        self.records("api/Check", session, records).await
    }

    async fn send(&self, session: &CargosSession, records: &[String]) -> Result<Vec<RecordAnswer>, CargosApiError> {
        self.records("api/Send", session, records).await
    }

    async fn table(&self, session: &CargosSession, table: CargosTable) -> Result<Vec<u8>, CargosApiError> {
        let request = self
            .client
            .get(self.url("api/Tabella")?)
            .query(&[("TabellaIdentificativo", table.id())])
            .bearer_auth(&session.bearer)
            .header("Organization", &session.organization);
        let json = self.exchange(request, "api/Tabella").await?;
        if json.get("esito").and_then(Value::as_bool) == Some(false) {
            return Err(refusal(&json).unwrap_or_else(|| unexpected("api/Tabella", "esito false without an error")));
        }
        let file = json.get("file").and_then(Value::as_str).ok_or_else(|| {
            refusal(&json).unwrap_or_else(|| unexpected("api/Tabella", &format!("no file for {}", table.name())))
        })?;
        STANDARD.decode(file.trim()).map_err(|e| unexpected("api/Tabella", &format!("the file is not Base64: {e}")))
    }
}

fn unexpected(what: &str, why: &str) -> CargosApiError {
    CargosApiError::Unexpected(format!("{what}: {why}"))
}

/// A call-level error object: codes 1 and 2 (token, API key) are the credentials' fault.
fn refusal(json: &Value) -> Option<CargosApiError> {
    police_error(json).map(|error| match error.code {
        Some(1 | 2) => CargosApiError::CredentialsRefused(error.to_string()),
        _ => CargosApiError::Refused(error),
    })
}

/// The service's error object, at the top of `json` or nested under `errore`.
fn police_error(json: &Value) -> Option<PoliceError> {
    let object = match json.get("errore") {
        Some(nested) if nested.is_object() => nested,
        _ => json,
    };
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
    let (error, description) = (text("error"), text("error_description"));
    if error.is_none() && description.is_none() {
        return None;
    }
    let code = object.get("error_code").and_then(|c| c.as_i64().or_else(|| c.as_str().and_then(|s| s.parse().ok())));
    Some(PoliceError { error: error.unwrap_or_default(), description: description.unwrap_or_default(), code })
}

/// One `{esito, transactionid, errore}`.
fn answer(what: &str, item: &Value) -> Result<RecordAnswer, CargosApiError> {
    let accepted =
        item.get("esito").and_then(Value::as_bool).ok_or_else(|| unexpected(what, "an answer without esito"))?;
    let transaction_id = item.get("transactionid").and_then(Value::as_str).map(str::to_owned);
    let error = item.get("errore").filter(|e| e.is_object()).and_then(police_error);
    Ok(RecordAnswer { accepted, transaction_id, error })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_objects_are_read_at_the_top_or_nested() {
        let top = json!({"error": "TracciatoErrato", "error_description": "Campo: CONTRATTO_DATA - Data non valida", "error_code": 4});
        let nested = json!({"errore": top.clone()});
        for shape in [top, nested] {
            let error = police_error(&shape).unwrap();
            assert_eq!((error.error.as_str(), error.code), ("TracciatoErrato", Some(4)));
        }
        assert!(police_error(&json!({"esito": true})).is_none());
        assert!(matches!(
            refusal(&json!({"error": "x", "error_description": "token", "error_code": 1})),
            Some(CargosApiError::CredentialsRefused(_))
        ));
    }

    #[test]
    fn base_urls_get_their_slash_and_must_be_web_addresses() {
        let api = HttpCargosApi::new("http://127.0.0.1:9/CARGOS_API", Duration::from_secs(1)).unwrap();
        assert_eq!(api.url("api/Token").unwrap().as_str(), "http://127.0.0.1:9/CARGOS_API/api/Token");
        assert!(HttpCargosApi::new("ftp://x/", Duration::from_secs(1)).is_err());
        assert!(HttpCargosApi::new("not a url", Duration::from_secs(1)).is_err());
    }
}
