//! Stripe's API over HTTP: a small typed client over reqwest for the seven calls Clientele makes
//! (why not a generated SDK: README, "Ecosystem notes"). Speaks Stripe's wire format:
//! form-encoded bodies with nested keys (`metadata[clientele_id]=…`), `Authorization: Bearer`,
//! `Stripe-Version` pinned to [`STRIPE_API_VERSION`], `Stripe-Account` for connected accounts,
//! and an `Idempotency-Key` on every POST.
//!
//! Timeouts and retries as Stripe documents them for its own libraries: each attempt has a
//! timeout; a connection failure, a timeout, `409` (lock timeout), `429` and `5xx` are retried
//! with exponential backoff and jitter (0.5 s doubling, at most 5 s) up to `max_retries` times,
//! reusing the POST's idempotency key, unless Stripe says `Stripe-Should-Retry: false`
//! (`Stripe-Should-Retry: true` retries whatever the status). Errors are read from Stripe's
//! error object `{error: {type, code, decline_code, param, message}}`.

use std::time::Duration;

use async_trait::async_trait;
use clientele_core::payments::api::{
    NewSetupIntent, NewStripeCustomer, STRIPE_API_VERSION, SetupIntent, StripeApi, StripeApiError, StripeAuth,
    StripeCustomer, StripePaymentMethod,
};
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

/// Stripe's API.
pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com/";

/// The longest answer read.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// The longest wait between two attempts.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);
/// Pages read of one list at most (100 methods each).
const MAX_PAGES: usize = 50;

/// How the client calls Stripe.
#[derive(Debug, Clone)]
pub struct StripeClientOptions {
    /// The API's root (`https://api.stripe.com/`; a local fake's in tests).
    pub base_url: String,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The wait before the first retry; each next one doubles (at most 5 s), with jitter.
    pub retry_delay: Duration,
}

impl Default for StripeClientOptions {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: Duration::from_secs(8),
            max_retries: 2,
            retry_delay: Duration::from_millis(500),
        }
    }
}

/// The client. Cheap to clone; keeps its connections.
#[derive(Debug, Clone)]
pub struct HttpStripeApi {
    client: reqwest::Client,
    base: Url,
    options: StripeClientOptions,
}

/// What one attempt came to.
enum Attempt {
    Done(Value),
    Failed { error: StripeApiError, retry: bool },
}

impl HttpStripeApi {
    /// A client of Stripe at `options.base_url`.
    pub fn new(options: StripeClientOptions) -> Result<Self, String> {
        let base_url = &options.base_url;
        let with_slash = if base_url.ends_with('/') { base_url.clone() } else { format!("{base_url}/") };
        let base = Url::parse(&with_slash).map_err(|e| format!("Stripe base URL {base_url:?}: {e}"))?;
        if !matches!(base.scheme(), "https" | "http") {
            return Err(format!("Stripe base URL {base_url:?}: must be https (or http for a local test)"));
        }
        let client = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("clientele/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("building the Stripe client: {e}"))?;
        Ok(Self { client, base, options })
    }

    /// One call, retried as the module documentation says; the JSON answer.
    async fn call(
        &self,
        method: Method,
        path: &str,
        auth: &StripeAuth,
        idempotency_key: Option<&str>,
        form: &[(String, String)],
    ) -> Result<Value, StripeApiError> {
        let url = self.base.join(path).map_err(|e| StripeApiError::Unexpected(format!("URL {path}: {e}")))?;
        let mut attempt = 0;
        loop {
            let mut request = self
                .client
                .request(method.clone(), url.clone())
                .bearer_auth(&auth.secret_key)
                .header("Stripe-Version", STRIPE_API_VERSION);
            if let Some(account) = &auth.account {
                request = request.header("Stripe-Account", account);
            }
            if let Some(key) = idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            if method == Method::POST {
                request = request.form(form);
            } else if !form.is_empty() {
                request = request.query(form);
            }
            match self.attempt(request, path).await {
                Attempt::Done(json) => return Ok(json),
                Attempt::Failed { error, retry } if !retry || attempt >= self.options.max_retries => return Err(error),
                Attempt::Failed { error, .. } => {
                    let delay = self.delay(attempt);
                    tracing::warn!(%error, attempt, ?delay, "Stripe call failed; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    /// The wait before retry number `attempt + 1`: doubling from `retry_delay`, at most 5 s,
    /// then between half and all of it (jitter, so that clients do not retry in step).
    fn delay(&self, attempt: u32) -> Duration {
        let full = self.options.retry_delay.saturating_mul(2u32.saturating_pow(attempt)).min(MAX_RETRY_DELAY);
        let fraction = f64::from(uuid::Uuid::new_v4().as_u128() as u16) / f64::from(u16::MAX);
        full.mul_f64(0.5 + fraction / 2.0)
    }

    async fn attempt(&self, request: reqwest::RequestBuilder, what: &str) -> Attempt {
        let unavailable = |e: reqwest::Error| {
            let error = if e.is_timeout() {
                format!("{what}: no answer within {:.1} s", self.options.timeout.as_secs_f64())
            } else {
                format!("{what}: {e}")
            };
            Attempt::Failed { error: StripeApiError::Unavailable(error), retry: true }
        };
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(e) => return unavailable(e),
        };
        let status = response.status();
        let should_retry =
            response.headers().get("stripe-should-retry").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() > MAX_ANSWER_BYTES => {
                    let error = StripeApiError::Unexpected(format!("{what}: the answer is larger than 4 MiB"));
                    return Attempt::Failed { error, retry: false };
                }
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return unavailable(e),
            }
        }
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status.is_success() {
            return if json.is_object() {
                Attempt::Done(json)
            } else {
                Attempt::Failed {
                    error: StripeApiError::Unexpected(format!("{what}: not a JSON object")),
                    retry: false,
                }
            };
        }
        let retry = match should_retry.as_deref() {
            Some("true") => true,
            Some("false") => false,
            _ => matches!(status, StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS) || status.is_server_error(),
        };
        Attempt::Failed { error: error_of(status, &json, what, retry), retry }
    }
}

/// Stripe's error object as the error it is.
fn error_of(status: StatusCode, json: &Value, what: &str, retryable: bool) -> StripeApiError {
    let error = &json["error"];
    let text = |key: &str| error[key].as_str().map(str::to_owned);
    let message = text("message").unwrap_or_else(|| format!("HTTP {status}"));
    let kind = text("type").unwrap_or_default();
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN || kind == "authentication_error" {
        return StripeApiError::Authentication(format!("{what}: {message}"));
    }
    if kind == "card_error" {
        return StripeApiError::Card { code: text("code"), decline_code: text("decline_code"), message };
    }
    if retryable || status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return StripeApiError::Unavailable(format!("{what}: HTTP {status}: {message}"));
    }
    if error.is_object() {
        return StripeApiError::Refused { status: status.as_u16(), code: text("code"), param: text("param"), message };
    }
    StripeApiError::Unexpected(format!("{what}: HTTP {status} without an error object"))
}

fn metadata(form: &mut Vec<(String, String)>, metadata: &[(String, String)]) {
    form.extend(metadata.iter().map(|(k, v)| (format!("metadata[{k}]"), v.clone())));
}

fn customer(json: &Value) -> Result<StripeCustomer, StripeApiError> {
    StripeCustomer::from_json(json).ok_or_else(|| StripeApiError::Unexpected("a customer without an id".into()))
}

fn payment_method(json: &Value) -> Result<StripePaymentMethod, StripeApiError> {
    StripePaymentMethod::from_json(json)
        .ok_or_else(|| StripeApiError::Unexpected("a payment method without an id or type".into()))
}

/// An id safe in a URL path (the core passes only ids it parsed, but the client does not rely on it).
fn segment(id: &str) -> Result<&str, StripeApiError> {
    if !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(StripeApiError::Unexpected(format!("{id:?} is not a Stripe id")))
    }
}

#[async_trait]
impl StripeApi for HttpStripeApi {
    async fn create_customer(
        &self,
        auth: &StripeAuth,
        idempotency_key: &str,
        new: &NewStripeCustomer,
    ) -> Result<StripeCustomer, StripeApiError> {
        let mut form = Vec::new();
        for (key, value) in [("name", &new.name), ("email", &new.email), ("phone", &new.phone)] {
            if let Some(value) = value {
                form.push((key.to_owned(), value.clone()));
            }
        }
        metadata(&mut form, &new.metadata);
        customer(&self.call(Method::POST, "v1/customers", auth, Some(idempotency_key), &form).await?)
    }

    async fn retrieve_customer(&self, auth: &StripeAuth, id: &str) -> Result<StripeCustomer, StripeApiError> {
        customer(&self.call(Method::GET, &format!("v1/customers/{}", segment(id)?), auth, None, &[]).await?)
    }

    async fn set_default_payment_method(
        &self,
        auth: &StripeAuth,
        idempotency_key: &str,
        id: &str,
        payment_method: &str,
    ) -> Result<StripeCustomer, StripeApiError> {
        let form = [("invoice_settings[default_payment_method]".to_owned(), segment(payment_method)?.to_owned())];
        let path = format!("v1/customers/{}", segment(id)?);
        customer(&self.call(Method::POST, &path, auth, Some(idempotency_key), &form).await?)
    }

    async fn create_setup_intent(
        &self,
        auth: &StripeAuth,
        idempotency_key: &str,
        intent: &NewSetupIntent,
    ) -> Result<SetupIntent, StripeApiError> {
        let mut form = vec![
            ("customer".to_owned(), intent.customer.clone()),
            ("usage".to_owned(), "off_session".to_owned()),
            ("automatic_payment_methods[enabled]".to_owned(), "true".to_owned()),
        ];
        metadata(&mut form, &intent.metadata);
        let json = self.call(Method::POST, "v1/setup_intents", auth, Some(idempotency_key), &form).await?;
        let text = |key: &str| json[key].as_str().map(str::to_owned);
        match (text("id"), text("client_secret")) {
            (Some(id), Some(client_secret)) => {
                Ok(SetupIntent { id, client_secret, status: text("status").unwrap_or_default() })
            }
            _ => Err(StripeApiError::Unexpected("a SetupIntent without an id or client_secret".into())),
        }
    }

    async fn list_payment_methods(
        &self,
        auth: &StripeAuth,
        customer: &str,
    ) -> Result<Vec<StripePaymentMethod>, StripeApiError> {
        let path = format!("v1/customers/{}/payment_methods", segment(customer)?);
        let mut methods = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut query = vec![("limit".to_owned(), "100".to_owned())];
            if let Some(after) = &after {
                query.push(("starting_after".to_owned(), after.clone()));
            }
            let page = self.call(Method::GET, &path, auth, None, &query).await?;
            let data = page["data"]
                .as_array()
                .ok_or_else(|| StripeApiError::Unexpected(format!("{path}: a list without data")))?;
            for item in data {
                methods.push(payment_method(item)?);
            }
            match (page["has_more"].as_bool(), methods.last()) {
                (Some(true), Some(last)) => after = Some(last.id.clone()),
                _ => return Ok(methods),
            }
        }
        Err(StripeApiError::Unexpected(format!("{path}: more than {MAX_PAGES} pages")))
    }

    async fn retrieve_payment_method(
        &self,
        auth: &StripeAuth,
        id: &str,
    ) -> Result<StripePaymentMethod, StripeApiError> {
        payment_method(&self.call(Method::GET, &format!("v1/payment_methods/{}", segment(id)?), auth, None, &[]).await?)
    }

    async fn detach_payment_method(
        &self,
        auth: &StripeAuth,
        idempotency_key: &str,
        id: &str,
    ) -> Result<StripePaymentMethod, StripeApiError> {
        let path = format!("v1/payment_methods/{}/detach", segment(id)?);
        payment_method(&self.call(Method::POST, &path, auth, Some(idempotency_key), &[]).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_are_told_apart_by_status_and_type() {
        let card = json!({"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}});
        assert!(matches!(
            error_of(StatusCode::PAYMENT_REQUIRED, &card, "x", false),
            StripeApiError::Card { decline_code: Some(d), .. } if d == "insufficient_funds"
        ));
        let missing = json!({"error": {"type": "invalid_request_error", "code": "resource_missing", "param": "id", "message": "No such PaymentMethod"}});
        assert!(matches!(
            error_of(StatusCode::NOT_FOUND, &missing, "x", false),
            StripeApiError::Refused { code: Some(c), .. } if c == "resource_missing"
        ));
        let auth =
            json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_test_****"}});
        assert!(matches!(error_of(StatusCode::UNAUTHORIZED, &auth, "x", false), StripeApiError::Authentication(_)));
        let busy = json!({"error": {"type": "api_error", "message": "busy"}});
        assert!(matches!(error_of(StatusCode::SERVICE_UNAVAILABLE, &busy, "x", true), StripeApiError::Unavailable(_)));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stays_under_five_seconds() {
        let api = HttpStripeApi::new(StripeClientOptions::default()).unwrap();
        for attempt in 0..10 {
            let delay = api.delay(attempt);
            let full = Duration::from_millis(500).saturating_mul(2u32.pow(attempt)).min(MAX_RETRY_DELAY);
            assert!(delay >= full / 2 && delay <= full, "{attempt}: {delay:?}");
        }
        assert!(segment("pm_1").is_ok() && segment("../x").is_err() && segment("a/b").is_err());
    }
}
