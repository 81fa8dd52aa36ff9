//! [`FakeCargos`], a local stand-in for the Ca.R.G.O.S. police
//! API that speaks its wire format (`shared/specs/cargos.md` §4): `api/Token` with HTTP Basic
//! authentication, `api/Check`, `api/Send` and `api/Tabella` with the token encrypted under the
//! API key as the bearer and the username as `Organization`; one `{esito, transactionid, errore}`
//! per record; error objects as the service writes them. Tests script its refusals and its
//! failures (wrong credentials, a server error, no answer at all) and read what it received.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clientele_core::cargos::CargosApiKey;
use clientele_core::cargos::tables::BUILTIN_TEXTS;
use serde_json::{Value, json};

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeMode {
    /// As the service does.
    Normal,
    /// Never answers (until the fake is dropped): the client's timeout is what ends the call.
    Silent,
    /// Answers every call with HTTP 500.
    ServerError,
}

/// What the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCall {
    /// `token`, `check`, `send` or `tabella`.
    pub endpoint: &'static str,
    /// The records of a check or send.
    pub records: Vec<String>,
}

struct Shared {
    username: String,
    password: String,
    api_key: CargosApiKey,
    mode: Mutex<FakeMode>,
    refusals: Mutex<HashMap<String, String>>,
    calls: Mutex<Vec<FakeCall>>,
    bearers: Mutex<Vec<String>>,
    tables: Mutex<[String; 4]>,
    issued: AtomicU64,
    receipts: AtomicU64,
    progress: tokio::sync::Notify,
}

/// A fake police API on `127.0.0.1`, serving until dropped.
pub struct FakeCargos {
    /// The API's root, to configure a client with.
    pub base_url: String,
    shared: Arc<Shared>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl std::fmt::Debug for FakeCargos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCargos").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// The credentials the fake accepts by default.
pub const USERNAME: &str = "agenzia.test";
/// The password the fake accepts by default.
pub const PASSWORD: &str = "correct horse battery";
/// The API key the fake accepts by default (48 characters).
pub const API_KEY: &str = "12345678901234567890123456789012abcdefghijklmnop";

impl FakeCargos {
    /// Starts a fake accepting [`USERNAME`], [`PASSWORD`] and [`API_KEY`], serving the built-in
    /// tables as the live service writes them (`#`-separated).
    pub async fn start() -> Self {
        Self::start_with(USERNAME, PASSWORD, API_KEY).await
    }

    /// Starts a fake accepting these credentials.
    pub async fn start_with(username: &str, password: &str, api_key: &str) -> Self {
        let hashed = |text: &str| text.replace(',', "#");
        let shared = Arc::new(Shared {
            username: username.to_owned(),
            password: password.to_owned(),
            api_key: CargosApiKey::parse(api_key).expect("a usable API key"),
            mode: Mutex::new(FakeMode::Normal),
            refusals: Mutex::default(),
            calls: Mutex::default(),
            bearers: Mutex::default(),
            tables: Mutex::new([
                hashed(BUILTIN_TEXTS.payment_types),
                hashed(BUILTIN_TEXTS.places),
                hashed(BUILTIN_TEXTS.vehicle_types),
                hashed(BUILTIN_TEXTS.document_types),
            ]),
            issued: AtomicU64::new(0),
            receipts: AtomicU64::new(0),
            progress: tokio::sync::Notify::new(),
        });
        let router = axum::Router::new()
            .route("/CARGOS_API/api/Token", get(token))
            .route("/CARGOS_API/api/Check", post(check))
            .route("/CARGOS_API/api/Send", post(send))
            .route("/CARGOS_API/api/Tabella", get(tabella))
            .with_state(shared.clone());
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
        Self { base_url: format!("http://{address}/CARGOS_API/"), shared, _shutdown: shutdown }
    }

    /// Changes how the fake answers from now on.
    pub fn set_mode(&self, mode: FakeMode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// Makes check and send refuse the record of contract `contract_id` with `description`
    /// (`Campo: CONTRATTO_DATA - Data non valida`), error code 4, as the service does.
    pub fn refuse(&self, contract_id: &str, description: &str) {
        self.shared.refusals.lock().unwrap().insert(contract_id.to_owned(), description.to_owned());
    }

    /// Stops refusing every record.
    pub fn accept_all(&self) {
        self.shared.refusals.lock().unwrap().clear();
    }

    /// Serves these texts (`#`- or `,`-separated CSV with a header) as the four tables.
    pub fn set_tables(&self, payment_types: &str, places: &str, vehicle_types: &str, document_types: &str) {
        *self.shared.tables.lock().unwrap() =
            [payment_types.to_owned(), places.to_owned(), vehicle_types.to_owned(), document_types.to_owned()];
    }

    /// Every call received so far, in order.
    pub fn calls(&self) -> Vec<FakeCall> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// The records received by `endpoint` (`check` or `send`), in order.
    pub fn records(&self, endpoint: &str) -> Vec<String> {
        self.calls().into_iter().filter(|c| c.endpoint == endpoint).flat_map(|c| c.records).collect()
    }

    /// Waits until the fake has received `count` calls to `endpoint`: each call wakes the waiter,
    /// so this ends as soon as the last one arrives.
    pub async fn wait_for_calls(&self, endpoint: &str, count: usize) {
        loop {
            let notified = self.shared.progress.notified();
            if self.calls().iter().filter(|c| c.endpoint == endpoint).count() >= count {
                return;
            }
            notified.await;
        }
    }
}

impl Shared {
    fn record(&self, endpoint: &'static str, records: Vec<String>) {
        self.calls.lock().unwrap().push(FakeCall { endpoint, records });
        self.progress.notify_waiters();
    }

    /// Answers by the mode: `None` to go on normally.
    async fn misbehave(&self) -> Option<Response> {
        let mode = *self.mode.lock().unwrap();
        match mode {
            FakeMode::Normal => None,
            FakeMode::Silent => std::future::pending().await,
            FakeMode::ServerError => {
                Some((StatusCode::INTERNAL_SERVER_ERROR, "Errore interno del server").into_response())
            }
        }
    }

    /// Whether the request carries a token this fake issued, encrypted with the API key, and
    /// the username as `Organization`.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let bearer = header("authorization");
        let bearer = bearer.strip_prefix("Bearer ").unwrap_or_default();
        header("organization") == self.username && self.bearers.lock().unwrap().iter().any(|b| b == bearer)
    }
}

fn error_object(error: &str, description: &str, code: i64) -> Value {
    json!({
        "error": error,
        "error_description": description,
        "error_code": code,
        "timestamp": "2026-11-24T10:00:04.4160418+01:00",
    })
}

fn invalid_token() -> Response {
    let body = json!({"errore": error_object("InvalidToken", "Token non valido o scaduto", 1)});
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.record("token", Vec::new());
    if let Some(response) = shared.misbehave().await {
        return response;
    }
    let expected = format!("Basic {}", STANDARD.encode(format!("{}:{}", shared.username, shared.password)));
    let given = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if given != expected {
        // As the service does: an error object with HTTP 200, nested under `errore`.
        let body = json!({"errore": error_object("invalid_grant", "Nome utente o password non validi", 1)});
        return Json(body).into_response();
    }
    let number = shared.issued.fetch_add(1, Ordering::Relaxed) + 1;
    let access_token = format!("fake-access-token-{number}");
    shared.bearers.lock().unwrap().push(shared.api_key.encrypt_token(&access_token));
    Json(json!({
        "token_type": "Bearer",
        "expires_date": "2099-03-11T14:53:49.6734189+01:00",
        "access_token": access_token,
    }))
    .into_response()
}

async fn records(shared: &Shared, endpoint: &'static str, headers: &HeaderMap, body: Value) -> Response {
    let records: Vec<String> = match &body {
        Value::Array(items) => items.iter().map(|r| r.as_str().unwrap_or_default().to_owned()).collect(),
        _ => Vec::new(),
    };
    shared.record(endpoint, records.clone());
    if let Some(response) = shared.misbehave().await {
        return response;
    }
    if !shared.authorized(headers) {
        return invalid_token();
    }
    if !body.is_array() || records.is_empty() || records.len() > 100 {
        return Json(
            json!({"errore": error_object("RichiestaErrata", "Il blocco deve contenere da 1 a 100 contratti", 3)}),
        )
        .into_response();
    }
    let refusals = shared.refusals.lock().unwrap().clone();
    let answers: Vec<Value> = records
        .iter()
        .map(|record| {
            let contract: String = record.chars().take(50).collect();
            let refusal = if record.chars().count() != 1505 {
                Some("Campo: CONTRATTO_ID - Lunghezza del tracciato non valida".to_owned())
            } else {
                refusals.get(contract.trim()).cloned()
            };
            match refusal {
                Some(description) => json!({
                    "esito": false,
                    "transactionid": null,
                    "errore": error_object("TracciatoErrato", &description, 4),
                }),
                None if endpoint == "send" => {
                    let receipt = shared.receipts.fetch_add(1, Ordering::Relaxed) + 1;
                    json!({"esito": true, "transactionid": format!("2026/FK/{receipt}"), "errore": null})
                }
                None => json!({"esito": true, "transactionid": null, "errore": null}),
            }
        })
        .collect();
    Json(Value::Array(answers)).into_response()
}

async fn check(State(shared): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    records(&shared, "check", &headers, body).await
}

async fn send(State(shared): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    records(&shared, "send", &headers, body).await
}

async fn tabella(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    shared.record("tabella", Vec::new());
    if let Some(response) = shared.misbehave().await {
        return response;
    }
    if !shared.authorized(&headers) {
        return invalid_token();
    }
    let id: Option<usize> = query.get("TabellaIdentificativo").and_then(|id| id.parse().ok());
    let names = ["TIPO_PAGAMENTO.dat", "V_COMUNI_STATI.dat", "TIPO_VEICOLO.dat", "TIPO_DOCUMENTO.dat"];
    match id.filter(|id| *id < 4) {
        Some(id) => {
            let text = shared.tables.lock().unwrap()[id].clone();
            Json(json!({"esito": true, "errore": null, "filename": names[id], "file": STANDARD.encode(text)}))
                .into_response()
        }
        None => Json(json!({
            "esito": false,
            "errore": error_object("TabellaNonValida", "Identificativo tabella non valido", 3),
            "filename": null,
            "file": null,
        }))
        .into_response(),
    }
}
