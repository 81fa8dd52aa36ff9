//! `/metrics` in the Prometheus text format (0.0.4): request latency per route template and
//! status, search latency per answering tier, import rows, webhook delivery attempts, the
//! outbox's lag and the database pools' use.
//!
//! Each server has its own registry (no global recorder), so two servers in one process (the
//! tests) never mix their figures. Labels are only ever route templates (`/api/v1/customers/{id}`),
//! methods, statuses, tier names, outcomes and pool names: never a raw path, an id or anything a
//! client typed.
//!
//! Who may read it: nobody unless configured. With a token, `/metrics` on the public port asks for
//! `Authorization: Bearer <token>`; with a listen address of its own, it is served there only
//! (and asks for the token too when one is set); with neither, `/metrics` is not found.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientele_core::{App, Error};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::{AppState, problem::ApiError};

/// Request latency buckets, in seconds: a millisecond to the 30 s request deadline.
const HTTP_BUCKETS: [f64; 14] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
/// Search latency buckets, in seconds: finer at the bottom, where the 10 ms target is.
const SEARCH_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.002, 0.004, 0.006, 0.008, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0];

/// Who may read `/metrics` (the configuration's `[metrics]`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct MetricsOptions {
    /// The bearer token a scraper sends; required wherever `/metrics` is served when set.
    pub token: Option<String>,
    /// `/metrics` is served on a listen address of its own ([`crate::serve_metrics`]), and not on
    /// the public port.
    pub separate_listener: bool,
}

impl std::fmt::Debug for MetricsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsOptions")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("separate_listener", &self.separate_listener)
            .finish()
    }
}

impl MetricsOptions {
    /// Whether the public port serves `/metrics`.
    fn public(&self) -> bool {
        self.token.is_some() && !self.separate_listener
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TierLabels {
    tier: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
}

fn http_histogram() -> Histogram {
    Histogram::new(HTTP_BUCKETS)
}

fn search_histogram() -> Histogram {
    Histogram::new(SEARCH_BUCKETS)
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// One server's metrics. Cheap to clone (every metric is shared).
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    http: HistogramFamily<HttpLabels>,
    search: HistogramFamily<TierLabels>,
    import_rows: Counter,
    deliveries: Family<OutcomeLabels, Counter>,
    outbox_pending: Gauge,
    outbox_lag: Gauge<f64, AtomicU64>,
    outbox_failed_last_day: Gauge,
    pool_size: Family<PoolLabels, Gauge>,
    pool_idle: Family<PoolLabels, Gauge>,
    pool_max: Family<PoolLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A new, empty registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let http = HistogramFamily::<HttpLabels>::new_with_constructor(http_histogram as fn() -> Histogram);
        registry.register(
            "clientele_http_request_duration_seconds",
            "Time to answer a request, by method, route template and status",
            http.clone(),
        );
        let search = HistogramFamily::<TierLabels>::new_with_constructor(search_histogram as fn() -> Histogram);
        registry.register(
            "clientele_search_duration_seconds",
            "Time a customer search took in the services, by the deepest tier it asked (exact, prefix, substring, typo; none: nothing searchable)",
            search.clone(),
        );
        let import_rows = Counter::default();
        registry.register(
            "clientele_import_rows_processed",
            "Import rows processed (created, updated or refused; dry runs included)",
            import_rows.clone(),
        );
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "clientele_webhook_delivery_attempts",
            "Webhook delivery attempts made by this process, by outcome (succeeded, retrying, failed)",
            deliveries.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "clientele_outbox_pending_deliveries",
            "Webhook deliveries waiting for an attempt, across tenants",
            outbox_pending.clone(),
        );
        let outbox_lag = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "clientele_outbox_lag_seconds",
            "Age of the oldest pending delivery's event (0 when none is pending)",
            outbox_lag.clone(),
        );
        let outbox_failed_last_day = Gauge::default();
        registry.register(
            "clientele_outbox_failed_deliveries_last_day",
            "Webhook deliveries that failed for good in the last 24 hours, across tenants",
            outbox_failed_last_day.clone(),
        );
        let pool_size = Family::<PoolLabels, Gauge>::default();
        registry.register("clientele_db_pool_connections", "Database connections open, by pool", pool_size.clone());
        let pool_idle = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "clientele_db_pool_idle_connections",
            "Database connections open and idle, by pool",
            pool_idle.clone(),
        );
        let pool_max = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "clientele_db_pool_max_connections",
            "The most connections a pool opens, by pool",
            pool_max.clone(),
        );
        let inner = Inner {
            registry,
            http,
            search,
            import_rows,
            deliveries,
            outbox_pending,
            outbox_lag,
            outbox_failed_last_day,
            pool_size,
            pool_idle,
            pool_max,
        };
        Self { inner: Arc::new(inner) }
    }

    /// The metrics an App reports to, if it reports to server metrics at all.
    pub(crate) fn of(app: &App) -> Option<Self> {
        let telemetry: &dyn std::any::Any = &**app.telemetry();
        telemetry.downcast_ref::<Metrics>().cloned()
    }

    /// Records one answered request.
    fn observe_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let labels = HttpLabels { method: method.to_owned(), route: route.to_owned(), status };
        self.inner.http.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// The exposition: the gauges read now (the outbox from the database, the pools from the
    /// store), then every metric as Prometheus text.
    pub async fn render(&self, app: &App) -> String {
        let inner = &self.inner;
        match app.outbox_status().await {
            Ok(status) => {
                inner.outbox_pending.set(status.pending);
                inner.outbox_failed_last_day.set(status.failed_last_day);
                let lag = status
                    .oldest_pending_at
                    .map(|at| clientele_core::time::Timestamp::now().duration_since(at).as_secs_f64())
                    .unwrap_or(0.0);
                inner.outbox_lag.set(lag);
            }
            // The rest is still worth serving; the outbox gauges keep their last value.
            Err(error) => tracing::warn!(%error, "metrics: reading the outbox's status"),
        }
        for pool in app.store().pool_stats() {
            let labels = PoolLabels { pool: pool.pool };
            inner.pool_size.get_or_create(&labels).set(i64::from(pool.size));
            inner.pool_idle.get_or_create(&labels).set(i64::from(pool.idle));
            inner.pool_max.get_or_create(&labels).set(i64::from(pool.max));
        }
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::prometheus_text::encode(&mut text, &inner.registry) {
            tracing::error!(%error, "metrics: encoding");
        }
        text
    }
}

impl clientele_core::telemetry::Telemetry for Metrics {
    fn search_answered(&self, tier: &'static str, took: Duration) {
        self.inner.search.get_or_create(&TierLabels { tier }).observe(took.as_secs_f64());
    }

    fn import_rows_processed(&self, rows: u64) {
        self.inner.import_rows.inc_by(rows);
    }

    fn delivery_attempted(&self, outcome: &'static str) {
        self.inner.deliveries.get_or_create(&OutcomeLabels { outcome }).inc();
    }
}

/// Middleware: times every request and records it under its route template (`unmatched` for
/// paths no route matched), never its raw path.
pub(crate) async fn record_request(
    State(metrics): State<Metrics>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    // A client may send any method name: only the standard ones become labels, so that made-up
    // methods cannot grow the series without bound.
    let method = match method.as_str() {
        known @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => known,
        _ => "other",
    };
    metrics.observe_request(method, route, response.status().as_u16(), started.elapsed());
    response
}

/// `/metrics` on the public port: not found unless a token is configured and no listen address
/// of its own is.
pub(crate) async fn public_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.metrics_options.public() {
        return ApiError(Error::NotFound("resource")).into_response();
    }
    exposition(&state, &headers).await
}

/// `/metrics` on its own listen address.
pub(crate) async fn own_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    exposition(&state, &headers).await
}

async fn exposition(state: &AppState, headers: &HeaderMap) -> Response {
    if let Some(token) = &state.metrics_options.token
        && !bearer_matches(headers, token)
    {
        // 401 answers carry `WWW-Authenticate: Bearer`.
        return ApiError(Error::unauthenticated("send the metrics token: Authorization: Bearer <token>"))
            .into_response();
    }
    let text = state.metrics.render(&state.app).await;
    let content_type = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], text).into_response()
}

/// Whether the request carries `Authorization: Bearer <token>`, compared in constant time.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    use sha2::Digest;
    use subtle::ConstantTimeEq;
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, given)| given.trim())
    else {
        return false;
    };
    // Hashed first, so that the comparison takes as long whatever the lengths.
    let (given, expected) = (sha2::Sha256::digest(given.as_bytes()), sha2::Sha256::digest(token.as_bytes()));
    bool::from(given.as_slice().ct_eq(expected.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_token_is_compared_whole() {
        let mut headers = HeaderMap::new();
        assert!(!bearer_matches(&headers, "s3cret-token"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer s3cret"));
        assert!(!bearer_matches(&headers, "s3cret-token"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer s3cret-token"));
        assert!(bearer_matches(&headers, "s3cret-token"));
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let options = MetricsOptions { token: Some("s3cret-token".into()), separate_listener: false };
        assert!(!format!("{options:?}").contains("s3cret"));
    }
}
