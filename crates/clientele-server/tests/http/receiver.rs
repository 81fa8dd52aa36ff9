//! A webhook receiver on loopback for the tests: it records every request, verifies each one's
//! Standard Webhooks signature with the official `standardwebhooks` crate, and answers by path:
//! `/ok` (and `/also-ok`) 200, `/fail` 500, `/gone` 410, `/redirect` 302 to `/ok`, `/big` 200 with 10 MB,
//! `/endless` 200 with a body that never ends, `/slow` never, and `/fail-for/{text}` 500 to
//! messages whose body contains `text` (until `heal` is called), 200 to the rest.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Bytes,
}

impl Received {
    /// The message's `webhook-id`.
    pub fn id(&self) -> String {
        self.headers["webhook-id"].to_str().unwrap().to_owned()
    }

    /// The event's type.
    pub fn event_type(&self) -> &str {
        self.body["type"].as_str().unwrap_or("")
    }

    /// Whether the official library verifies the message with `secret`.
    pub fn verifies_with(&self, secret: &str) -> bool {
        let Ok(webhook) = standardwebhooks::Webhook::new(secret) else { return false };
        webhook.verify(&self.raw, &self.headers).is_ok()
    }
}

#[derive(Debug, Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    healed: Mutex<bool>,
}

/// A running receiver; stops with the test's runtime.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub base: String,
    shared: Arc<Shared>,
}

impl Receiver {
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let router = axum::Router::new()
            .route("/fail-for/{text}", post(fail_for))
            .route("/{*path}", post(answer))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { base, shared }
    }

    /// The URL of `path` (`/ok`, `/fail`, ...).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything received at `path` so far, in order.
    pub fn at(&self, path: &str) -> Vec<Received> {
        self.shared.received.lock().unwrap().iter().filter(|r| r.path == path).cloned().collect()
    }

    /// From now on, `/fail-for/…` answers 200 to everything.
    pub fn heal(&self) {
        *self.shared.healed.lock().unwrap() = true;
    }

    /// Waits until `done` holds for what arrived at `path`; fails only when nothing new arrived
    /// for a minute (a loaded machine is slow, never stuck).
    pub async fn wait(&self, path: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let (mut seen, mut since) = (0, Instant::now());
        loop {
            let now = self.at(path);
            if done(&now) {
                return now;
            }
            if now.len() != seen {
                (seen, since) = (now.len(), Instant::now());
            }
            assert!(since.elapsed() < Duration::from_secs(60), "{path}: nothing new for a minute; got {}", now.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn record(shared: &Shared, path: String, headers: HeaderMap, raw: Bytes) {
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    shared.received.lock().unwrap().push(Received { path, headers, body, raw });
}

async fn answer(
    State(shared): State<Arc<Shared>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let path = format!("/{path}");
    record(&shared, path.clone(), headers, raw);
    match path.as_str() {
        "/ok" | "/also-ok" => (StatusCode::OK, "thanks").into_response(),
        "/fail" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "/gone" => (StatusCode::GONE, "we moved on").into_response(),
        "/redirect" => (StatusCode::FOUND, [("location", "/ok")], "").into_response(),
        "/big" => (StatusCode::OK, vec![b'x'; 10 * 1024 * 1024]).into_response(),
        "/endless" => {
            let chunks = futures_util::stream::unfold((), |()| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Some((Ok::<_, std::io::Error>(Bytes::from_static(b".")), ()))
            });
            (StatusCode::OK, Body::from_stream(chunks)).into_response()
        }
        "/slow" => {
            std::future::pending::<()>().await;
            StatusCode::OK.into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn fail_for(
    State(shared): State<Arc<Shared>>,
    Path(text): Path<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> Response {
    let failing = !*shared.healed.lock().unwrap() && String::from_utf8_lossy(&raw).contains(&text);
    record(&shared, format!("/fail-for/{text}"), headers, raw);
    if failing { StatusCode::SERVICE_UNAVAILABLE.into_response() } else { StatusCode::OK.into_response() }
}
