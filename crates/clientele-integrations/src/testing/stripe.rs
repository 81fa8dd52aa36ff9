//! [`FakeStripe`]: a local stand-in for Stripe's API that speaks its wire format: form-encoded
//! bodies with nested keys (`metadata[clientele_id]=…`), `Authorization: Bearer` with the one
//! key it accepts, `Stripe-Version` (it must be the pinned one), `Stripe-Account` (it must name
//! its connected account, when it has one), `Idempotency-Key` (required on every POST here;
//! the same key with the same request replays the first answer, with another request is an
//! `idempotency_error`), list objects with `has_more` paged by `starting_after`, and error
//! objects (`type`, `code`, `decline_code`, `param`, `message`) with `Stripe-Should-Retry`.
//!
//! It also plays the browser and the dashboard: [`FakeStripe::confirm_setup`] is Stripe.js
//! confirming a SetupIntent with a card (only its brand, last four digits and expiry stay, as in
//! Stripe). For a real browser it serves a fake Stripe.js at `/v3/` (the part the console uses:
//! a payment element whose card fields live in a frame of the fake's origin, and
//! `confirmSetup`), which confirms through `POST /v1/setup_intents/{id}/confirm` with the
//! publishable key, as Stripe.js does. Each change answers the events Stripe would send, ready to sign
//! ([`FakeStripe::sign`]) and post to a webhook endpoint. Tests script failures
//! ([`FakeFailure`]) and read every request received.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use clientele_core::payments::api::STRIPE_API_VERSION;
use clientele_core::payments::signature;
use serde_json::{Map, Value, json};

/// The platform's (or a tenant's) secret key the fake accepts by default.
pub const SECRET_KEY: &str = "sk_test_51FakeStripeSecretKeyForClienteleTests0000";
/// A publishable key to go with it.
pub const PUBLISHABLE_KEY: &str = "pk_test_51FakeStripePublishableKeyForClienteleTests";
/// A webhook signing secret for tests.
pub const WEBHOOK_SECRET: &str = "whsec_FakeStripeSigningSecretForClienteleTests00";
/// The connected account of Connect tests.
pub const ACCOUNT: &str = "acct_1FakeConnectedAcct";

/// A card as typed into Stripe Elements (it never reaches Clientele).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCard {
    /// The number, e.g. Stripe's test card `4242424242424242`.
    pub number: String,
    /// Expiry month.
    pub exp_month: u8,
    /// Expiry year.
    pub exp_year: u16,
    /// The security code.
    pub cvc: String,
}

impl FakeCard {
    /// Stripe's test Visa, which succeeds.
    pub fn visa() -> Self {
        Self { number: "4242424242424242".into(), exp_month: 12, exp_year: 2034, cvc: "314".into() }
    }

    /// Stripe's test Mastercard.
    pub fn mastercard() -> Self {
        Self { number: "5555555555554444".into(), exp_month: 3, exp_year: 2031, cvc: "271".into() }
    }

    /// Stripe's test card that is always declined (`generic_decline`).
    pub fn declined() -> Self {
        Self { number: "4000000000000002".into(), exp_month: 1, exp_year: 2033, cvc: "159".into() }
    }
}

/// An event Stripe would send: its id, type, and the exact JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeEvent {
    /// `evt_…`.
    pub id: String,
    /// `payment_method.attached`, …
    pub event_type: String,
    /// The body, as signed.
    pub payload: String,
}

/// A failure the fake answers the next request with, once.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeFailure {
    /// The HTTP status.
    pub status: u16,
    /// The `error` object.
    pub error: Value,
    /// The `Stripe-Should-Retry` header, if any.
    pub should_retry: Option<&'static str>,
}

impl FakeFailure {
    /// `409 lock_timeout`: another request held the object.
    pub fn lock_timeout() -> Self {
        let error = json!({"type": "invalid_request_error", "code": "lock_timeout",
            "message": "This object cannot be accessed right now because another API request or Stripe process is currently accessing it."});
        Self { status: 409, error, should_retry: None }
    }

    /// `429 rate_limit`.
    pub fn rate_limited() -> Self {
        let error = json!({"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests hit the API too quickly."});
        Self { status: 429, error, should_retry: None }
    }

    /// `500 api_error`.
    pub fn server_error() -> Self {
        Self {
            status: 500,
            error: json!({"type": "api_error", "message": "Something went wrong on Stripe's end."}),
            should_retry: None,
        }
    }

    /// `500` that Stripe says not to retry.
    pub fn server_error_not_to_retry() -> Self {
        Self { should_retry: Some("false"), ..Self::server_error() }
    }

    /// `402 card_error` with `decline_code`.
    pub fn card_declined(decline_code: &str) -> Self {
        let error = json!({"type": "card_error", "code": "card_declined", "decline_code": decline_code,
            "message": "Your card was declined.", "param": "payment_method"});
        Self { status: 402, error, should_retry: None }
    }
}

/// A request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// `/v1/customers`, …
    pub path: String,
    /// The form body's pairs, keys as sent (`metadata[clientele_id]`).
    pub form: Vec<(String, String)>,
    /// The query's pairs.
    pub query: Vec<(String, String)>,
    /// `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    /// `Stripe-Account`.
    pub stripe_account: Option<String>,
    /// `Stripe-Version`.
    pub stripe_version: Option<String>,
}

impl FakeRequest {
    /// The form value of `key`.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Objects {
    customers: BTreeMap<String, Value>,
    setup_intents: BTreeMap<String, Value>,
    payment_methods: BTreeMap<String, Value>,
    idempotent: HashMap<String, (String, u16, Value)>,
    last_created: i64,
}

struct Shared {
    secret_key: String,
    account: Option<String>,
    objects: Mutex<Objects>,
    requests: Mutex<Vec<FakeRequest>>,
    failures: Mutex<VecDeque<FakeFailure>>,
    silent: AtomicBool,
    page_size: AtomicUsize,
    counter: AtomicU64,
}

impl Shared {
    /// The SetupIntent `id` confirmed with `card` (as Stripe.js does); the intent as it is then,
    /// and the events Stripe sends.
    fn confirm(&self, objects: &mut Objects, id: &str, card: &FakeCard) -> (Value, Vec<FakeEvent>) {
        let intent = objects.setup_intents[id].clone();
        let created = next_created(objects);
        let digits: String = card.number.chars().filter(char::is_ascii_digit).collect();
        if digits == FakeCard::declined().number {
            let mut failed = intent;
            failed["status"] = json!("requires_payment_method");
            failed["last_setup_error"] = json!({"type": "card_error", "code": "card_declined",
                "decline_code": "generic_decline", "message": "Your card was declined."});
            objects.setup_intents.insert(id.to_owned(), failed.clone());
            let event = self.event(objects, "setup_intent.setup_failed", failed.clone(), None);
            return (failed, vec![event]);
        }
        let brand = match digits.as_bytes().first() {
            Some(b'4') => "visa",
            Some(b'5') => "mastercard",
            Some(b'3') => "amex",
            _ => "unknown",
        };
        let pm_id = format!("pm_fake{}", self.counter.fetch_add(1, Ordering::SeqCst) + 1);
        let method = json!({
            "id": pm_id, "object": "payment_method", "type": "card", "created": created, "livemode": false,
            "customer": intent["customer"], "billing_details": {"name": null, "email": null},
            "card": {"brand": brand, "last4": &digits[digits.len().saturating_sub(4)..], "exp_month": card.exp_month,
                     "exp_year": card.exp_year, "country": "US", "funding": "credit", "wallet": null,
                     "checks": {"cvc_check": "pass", "address_line1_check": null, "address_postal_code_check": null},
                     "fingerprint": format!("fp{}", digits.len())},
            "metadata": {},
        });
        objects.payment_methods.insert(pm_id.clone(), method.clone());
        let mut succeeded = intent;
        succeeded["status"] = json!("succeeded");
        succeeded["payment_method"] = json!(pm_id);
        objects.setup_intents.insert(id.to_owned(), succeeded.clone());
        let events = vec![
            self.event(objects, "setup_intent.succeeded", succeeded.clone(), None),
            self.event(objects, "payment_method.attached", method, None),
        ];
        (succeeded, events)
    }

    fn event(&self, objects: &mut Objects, event_type: &str, object: Value, previous: Option<Value>) -> FakeEvent {
        let id = format!("evt_fake{}", self.counter.fetch_add(1, Ordering::SeqCst) + 1);
        let mut data = json!({"object": object});
        if let Some(previous) = previous {
            data["previous_attributes"] = previous;
        }
        let mut event = json!({
            "id": id, "object": "event", "api_version": STRIPE_API_VERSION, "created": next_created(objects),
            "livemode": false, "pending_webhooks": 1, "request": {"id": null, "idempotency_key": null},
            "type": event_type, "data": data,
        });
        if let Some(account) = &self.account {
            event["account"] = json!(account);
        }
        FakeEvent { id, event_type: event_type.to_owned(), payload: event.to_string() }
    }
}

/// A fake Stripe on `127.0.0.1`, serving until dropped.
pub struct FakeStripe {
    /// The API's root, to configure a client with.
    pub base_url: String,
    shared: Arc<Shared>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl std::fmt::Debug for FakeStripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeStripe").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

impl FakeStripe {
    /// A fake accepting [`SECRET_KEY`] for a platform without connected accounts (a tenant's own key).
    pub async fn start() -> Self {
        Self::start_with(SECRET_KEY, None).await
    }

    /// A fake accepting [`SECRET_KEY`] on the connected account [`ACCOUNT`] only (Connect).
    pub async fn connect() -> Self {
        Self::start_with(SECRET_KEY, Some(ACCOUNT)).await
    }

    /// A fake accepting `secret_key`, on `account` when given.
    pub async fn start_with(secret_key: &str, account: Option<&str>) -> Self {
        let shared = Arc::new(Shared {
            secret_key: secret_key.to_owned(),
            account: account.map(str::to_owned),
            objects: Mutex::default(),
            requests: Mutex::default(),
            failures: Mutex::default(),
            silent: AtomicBool::new(false),
            page_size: AtomicUsize::new(100),
            counter: AtomicU64::new(0),
        });
        let router = axum::Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stop.await;
                })
                .await;
        });
        Self { base_url: format!("http://{address}/"), shared, _shutdown: shutdown }
    }

    /// Where its Stripe.js is served (the console's `stripe.js_url`).
    pub fn js_url(&self) -> String {
        format!("{}v3/", self.base_url)
    }

    /// Answers the next requests with these failures, one each, in order.
    pub fn fail_next(&self, failures: impl IntoIterator<Item = FakeFailure>) {
        self.shared.failures.lock().unwrap().extend(failures);
    }

    /// Never answers from now on (until set back): only a client's timeout ends a call.
    pub fn set_silent(&self, silent: bool) {
        self.shared.silent.store(silent, Ordering::SeqCst);
    }

    /// Lists at most this many items a page, whatever `limit` asks (to exercise `has_more`).
    pub fn set_page_size(&self, size: usize) {
        self.shared.page_size.store(size.max(1), Ordering::SeqCst);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<FakeRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The Stripe customers made, as Stripe keeps them.
    pub fn customers(&self) -> Vec<Value> {
        self.shared.objects.lock().unwrap().customers.values().cloned().collect()
    }

    /// Stripe.js confirming the SetupIntent of `client_secret` with `card` in the browser: a
    /// card payment method attached to the intent's customer (a declined card fails the intent
    /// instead). Answers the events Stripe sends.
    pub fn confirm_setup(&self, client_secret: &str, card: &FakeCard) -> Vec<FakeEvent> {
        let mut objects = self.shared.objects.lock().unwrap();
        let id = objects
            .setup_intents
            .iter()
            .find(|(_, i)| i["client_secret"] == client_secret)
            .map(|(id, _)| id.clone())
            .expect("a SetupIntent with this client secret");
        self.shared.confirm(&mut objects, &id, card).1
    }

    /// A payment method detached in Stripe's dashboard; the event.
    pub fn detach_in_dashboard(&self, payment_method: &str) -> FakeEvent {
        let mut objects = self.shared.objects.lock().unwrap();
        let method = objects.payment_methods.get_mut(payment_method).expect("a payment method");
        let customer = method["customer"].take();
        let method = method.clone();
        self.event(&mut objects, "payment_method.detached", method, Some(json!({"customer": customer})))
    }

    /// The card network updating a card (a new expiry); the event.
    pub fn update_automatically(&self, payment_method: &str, exp_year: u16) -> FakeEvent {
        let mut objects = self.shared.objects.lock().unwrap();
        let method = objects.payment_methods.get_mut(payment_method).expect("a payment method");
        let previous = json!({"card": {"exp_year": method["card"]["exp_year"]}});
        method["card"]["exp_year"] = json!(exp_year);
        let method = method.clone();
        self.event(&mut objects, "payment_method.automatically_updated", method, Some(previous))
    }

    /// A customer deleted in Stripe's dashboard; the event.
    pub fn delete_customer(&self, customer: &str) -> FakeEvent {
        let mut objects = self.shared.objects.lock().unwrap();
        let mut object = objects.customers.get(customer).cloned().expect("a customer");
        object["deleted"] = json!(true);
        objects.customers.insert(customer.to_owned(), object.clone());
        for method in objects.payment_methods.values_mut() {
            if method["customer"] == customer {
                method["customer"] = Value::Null;
            }
        }
        self.event(&mut objects, "customer.deleted", object, None)
    }

    /// An event of any type about `object`, as Stripe would send it.
    pub fn custom_event(&self, event_type: &str, object: Value) -> FakeEvent {
        let mut objects = self.shared.objects.lock().unwrap();
        self.event(&mut objects, event_type, object, None)
    }

    fn event(&self, objects: &mut Objects, event_type: &str, object: Value, previous: Option<Value>) -> FakeEvent {
        self.shared.event(objects, event_type, object, previous)
    }

    /// The `Stripe-Signature` header of `payload` signed now with each of `secrets`.
    pub fn sign(payload: &str, secrets: &[&str]) -> String {
        Self::sign_at(payload, secrets, now())
    }

    /// The `Stripe-Signature` header of `payload` signed at `timestamp` (Unix seconds).
    pub fn sign_at(payload: &str, secrets: &[&str], timestamp: i64) -> String {
        let signatures: Vec<String> =
            secrets.iter().map(|s| format!("v1={}", signature::sign(s, timestamp, payload.as_bytes()))).collect();
        format!("t={timestamp},{}", signatures.join(","))
    }
}

/// Stripe's `created` of the next object or event: now, and never before the last one, so that
/// a test's events are ordered even within one second.
fn next_created(objects: &mut Objects) -> i64 {
    objects.last_created = now().max(objects.last_created + 1);
    objects.last_created
}

fn error(status: u16, error: Value, should_retry: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, axum::Json(json!({"error": error}))).into_response();
    if let Some(value) = should_retry {
        response.headers_mut().insert("stripe-should-retry", value.parse().unwrap());
    }
    response
}

fn invalid(message: &str, code: Option<&str>, param: Option<&str>) -> Response {
    error(400, json!({"type": "invalid_request_error", "code": code, "param": param, "message": message}), None)
}

fn missing(kind: &str, id: &str) -> Response {
    error(
        404,
        json!({"type": "invalid_request_error", "code": "resource_missing", "param": "id",
               "message": format!("No such {kind}: '{id}'")}),
        None,
    )
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let pairs = |text: &[u8]| -> Vec<(String, String)> {
        url::form_urlencoded::parse(text).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    };
    let request = FakeRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        form: pairs(&body),
        query: pairs(uri.query().unwrap_or_default().as_bytes()),
        idempotency_key: header("idempotency-key"),
        stripe_account: header("stripe-account"),
        stripe_version: header("stripe-version"),
    };
    shared.requests.lock().unwrap().push(request.clone());
    if shared.silent.load(Ordering::SeqCst) {
        return std::future::pending().await;
    }
    if let Some(response) = browser(&shared, &method, &request, header("authorization").as_deref()) {
        return response;
    }
    if header("authorization").as_deref() != Some(&format!("Bearer {}", shared.secret_key)) {
        let message = "Invalid API Key provided: sk_test_****";
        return error(401, json!({"type": "invalid_request_error", "message": message}), None);
    }
    if request.stripe_version.as_deref() != Some(STRIPE_API_VERSION) {
        return invalid("Invalid Stripe API version", None, None);
    }
    if request.stripe_account != shared.account {
        let message = "The provided key does not have access to the account named in Stripe-Account";
        return error(
            403,
            json!({"type": "invalid_request_error", "code": "account_invalid", "message": message}),
            None,
        );
    }
    if method == Method::POST && request.idempotency_key.is_none() {
        return invalid("(fake) every POST must carry an Idempotency-Key", None, None);
    }
    if let Some(failure) = shared.failures.lock().unwrap().pop_front() {
        return error(failure.status, failure.error, failure.should_retry);
    }
    let mut objects = shared.objects.lock().unwrap();
    let fingerprint = format!("{method} {} {:?}", request.path, request.form);
    if let Some(key) = &request.idempotency_key {
        match objects.idempotent.get(key) {
            Some((seen, status, body)) if *seen == fingerprint => {
                let mut response = (StatusCode::from_u16(*status).unwrap(), axum::Json(body.clone())).into_response();
                response.headers_mut().insert("idempotent-replayed", "true".parse().unwrap());
                return response;
            }
            Some(_) => {
                let message =
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.";
                return error(400, json!({"type": "idempotency_error", "message": message}), None);
            }
            None => {}
        }
    }
    let response = route(&shared, &mut objects, &method, &request);
    if let (Some(key), Ok((status, body))) = (&request.idempotency_key, &response) {
        objects.idempotent.insert(key.clone(), (fingerprint, *status, body.clone()));
    }
    match response {
        Ok((status, body)) => (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response(),
        Err(response) => response,
    }
}

/// Fake Stripe.js, for the console's card form in a real browser.
const STRIPE_JS: &str = include_str!("stripe_js/stripe.js");
/// The frame the card is typed into, served from the fake's origin as Stripe's is from its own.
const ELEMENTS_HTML: &str = include_str!("stripe_js/elements.html");

/// What Stripe.js asks of Stripe from the browser: the script, the card's frame, and a
/// SetupIntent's confirmation with the publishable key and the intent's client secret (the
/// card's number is in that request, between the browser and Stripe only). `None` for the
/// server-side API.
fn browser(shared: &Shared, method: &Method, request: &FakeRequest, authorization: Option<&str>) -> Option<Response> {
    let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    let asset = |content_type: &'static str, body: &'static str| {
        ([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let id = match (method.as_str(), segments.as_slice()) {
        ("GET", ["v3"] | ["v3", ""]) => return Some(asset("text/javascript; charset=utf-8", STRIPE_JS)),
        ("GET", ["v3", "elements.html"]) => return Some(asset("text/html; charset=utf-8", ELEMENTS_HTML)),
        ("POST", ["v1", "setup_intents", id, "confirm"])
            if authorization.is_some_and(|a| a.starts_with("Bearer pk_")) =>
        {
            *id
        }
        _ => return None,
    };
    if authorization != Some(&format!("Bearer {PUBLISHABLE_KEY}")) {
        let message = "Invalid API Key provided: pk_test_****";
        return Some(error(401, json!({"type": "invalid_request_error", "message": message}), None));
    }
    if request.stripe_account != shared.account {
        let message = "The provided key does not have access to the account named in Stripe-Account";
        return Some(error(
            403,
            json!({"type": "invalid_request_error", "code": "account_invalid", "message": message}),
            None,
        ));
    }
    let mut objects = shared.objects.lock().unwrap();
    let Some(intent) = objects.setup_intents.get(id) else { return Some(missing("setup_intent", id)) };
    if request.field("client_secret").is_none_or(|secret| intent["client_secret"] != secret) {
        let message = "The client_secret provided does not match the client_secret associated with the SetupIntent.";
        return Some(invalid(message, Some("setup_intent_authentication_failure"), Some("client_secret")));
    }
    if intent["status"] == "succeeded" {
        let message = "You cannot confirm this SetupIntent because it has already succeeded.";
        return Some(invalid(message, Some("setup_intent_unexpected_state"), None));
    }
    let field = |name: &str| request.field(&format!("payment_method_data[card][{name}]")).unwrap_or_default();
    let number: String = field("number").chars().filter(|c| !c.is_whitespace()).collect();
    let card = match (field("exp_month").parse::<u8>(), field("exp_year").parse::<u16>()) {
        (Ok(exp_month @ 1..=12), Ok(exp_year))
            if (12..=19).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            FakeCard { number, exp_month, exp_year, cvc: field("cvc").to_owned() }
        }
        _ => {
            let error = json!({"type": "card_error", "code": "incorrect_number", "param": "payment_method_data[card][number]",
                "message": "Your card number is incorrect."});
            return Some(self::error(402, error, None));
        }
    };
    let (intent, _events) = shared.confirm(&mut objects, id, &card);
    if intent["status"] == "succeeded" {
        return Some(axum::Json(intent).into_response());
    }
    let mut declined = intent["last_setup_error"].clone();
    declined["setup_intent"] = intent;
    Some(error(402, declined, None))
}

fn metadata(request: &FakeRequest) -> Value {
    let mut metadata = Map::new();
    for (key, value) in &request.form {
        if let Some(name) = key.strip_prefix("metadata[").and_then(|k| k.strip_suffix(']')) {
            metadata.insert(name.to_owned(), json!(value));
        }
    }
    Value::Object(metadata)
}

fn route(
    shared: &Shared,
    objects: &mut Objects,
    method: &Method,
    request: &FakeRequest,
) -> Result<(u16, Value), Response> {
    let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    let next_id = |prefix: &str| format!("{prefix}_fake{}", shared.counter.fetch_add(1, Ordering::SeqCst) + 1);
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["v1", "customers"]) => {
            let id = next_id("cus");
            let customer = json!({
                "id": id, "object": "customer", "created": next_created(objects), "livemode": false,
                "name": request.field("name"), "email": request.field("email"), "phone": request.field("phone"),
                "metadata": metadata(request), "invoice_settings": {"default_payment_method": null},
            });
            objects.customers.insert(id, customer.clone());
            Ok((200, customer))
        }
        ("GET", ["v1", "customers", id]) => {
            let customer = objects.customers.get(*id).ok_or_else(|| missing("customer", id))?;
            if customer["deleted"] == true {
                return Ok((200, json!({"id": id, "object": "customer", "deleted": true})));
            }
            Ok((200, customer.clone()))
        }
        ("POST", ["v1", "customers", id]) => {
            let default = request.field("invoice_settings[default_payment_method]").map(str::to_owned);
            if let Some(pm) = &default
                && objects.payment_methods.get(pm).is_none_or(|m| m["customer"] != *id)
            {
                let message = format!("No such PaymentMethod: '{pm}'");
                return Err(invalid(
                    &message,
                    Some("resource_missing"),
                    Some("invoice_settings[default_payment_method]"),
                ));
            }
            let customer = objects.customers.get_mut(*id).ok_or_else(|| missing("customer", id))?;
            if let Some(pm) = default {
                customer["invoice_settings"]["default_payment_method"] = json!(pm);
            }
            Ok((200, customer.clone()))
        }
        ("POST", ["v1", "setup_intents"]) => {
            let customer = request.field("customer").unwrap_or_default().to_owned();
            if !objects.customers.contains_key(&customer) {
                return Err(invalid(
                    &format!("No such customer: '{customer}'"),
                    Some("resource_missing"),
                    Some("customer"),
                ));
            }
            let id = next_id("seti");
            let intent = json!({
                "id": id, "object": "setup_intent", "client_secret": format!("{id}_secret_{}", uuid::Uuid::new_v4().simple()),
                "customer": customer, "status": "requires_payment_method", "usage": request.field("usage"),
                "automatic_payment_methods": {"enabled": request.field("automatic_payment_methods[enabled]") == Some("true")},
                "payment_method": null, "last_setup_error": null, "metadata": metadata(request),
                "created": next_created(objects), "livemode": false,
            });
            objects.setup_intents.insert(id, intent.clone());
            Ok((200, intent))
        }
        ("GET", ["v1", "customers", id, "payment_methods"]) => {
            if !objects.customers.contains_key(*id) {
                return Err(missing("customer", id));
            }
            let mut methods: Vec<&Value> = objects.payment_methods.values().filter(|m| m["customer"] == *id).collect();
            // Newest first, as Stripe lists.
            methods.sort_by_key(|m| std::cmp::Reverse((m["created"].as_i64(), m["id"].as_str().map(str::to_owned))));
            let after = request.query.iter().find(|(k, _)| k == "starting_after").map(|(_, v)| v.as_str());
            let start = after.and_then(|a| methods.iter().position(|m| m["id"] == a).map(|p| p + 1)).unwrap_or(0);
            let limit: usize =
                request.query.iter().find(|(k, _)| k == "limit").and_then(|(_, v)| v.parse().ok()).unwrap_or(10);
            let size = limit.min(shared.page_size.load(Ordering::SeqCst));
            let page: Vec<Value> = methods.iter().skip(start).take(size).map(|m| (*m).clone()).collect();
            let has_more = start + page.len() < methods.len();
            Ok((200, json!({"object": "list", "url": request.path, "has_more": has_more, "data": page})))
        }
        ("GET", ["v1", "payment_methods", id]) => {
            objects.payment_methods.get(*id).cloned().map(|m| (200, m)).ok_or_else(|| missing("PaymentMethod", id))
        }
        ("POST", ["v1", "payment_methods", id, "detach"]) => {
            let method = objects.payment_methods.get_mut(*id).ok_or_else(|| missing("PaymentMethod", id))?;
            if method["customer"].is_null() {
                return Err(invalid(
                    "The payment method you provided is not attached to a customer so detachment is impossible.",
                    None,
                    None,
                ));
            }
            method["customer"] = Value::Null;
            Ok((200, method.clone()))
        }
        _ => Err(error(
            404,
            json!({"type": "invalid_request_error", "message": format!("Unrecognized request URL ({method} {}).", request.path)}),
            None,
        )),
    }
}
