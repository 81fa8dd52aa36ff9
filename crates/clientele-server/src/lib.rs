//! Clientele's HTTP server: the JSON API under `/api/v1`, its OpenAPI document at
//! `/api/openapi.json` (generated from the router itself) with a docs page at `/api/docs`, and
//! the `/healthz` and `/readyz` probes, and `/metrics` (see [`metrics`]).
//!
//! [`serve`] is the one entry point: the binary and the tests both call it with a bound listener
//! ([`serve_metrics`] serves `/metrics` on a listen address of its own, when configured).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::response::{IntoResponse, Response};
use clientele_core::{App, Error, ErrorCode};
use clientele_runtime::cargos::CargosWake;
use clientele_runtime::imports::ImportWake;
use tokio::net::TcpListener;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

mod connections;
pub mod console;
mod extract;
pub mod metrics;
mod passwords;
mod problem;
mod routes;
pub mod timings;

pub use metrics::{Metrics, MetricsOptions};
pub use passwords::BlockingPasswordPool;
pub use problem::{ApiError, Problem};

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;
pub(crate) const BODY_LIMIT_TEXT: &str = "1 MiB";
/// Longest a request may take before it is answered `408`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest an upload (an import file, a document) may take: large files on slow links.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(3600);

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The services.
    pub app: Arc<App>,
    /// The services the import workers run on: [`AppState::app`] unless
    /// [`AppState::with_import_app`] gave them connections of their own.
    pub import_app: Arc<App>,
    /// Wakes this process's import workers when an upload queues a job.
    pub import_wake: ImportWake,
    /// How connections are served.
    pub http: HttpOptions,
    /// Wakes this process's Ca.R.G.O.S. worker when an order becomes active.
    pub cargos_wake: CargosWake,
    /// How long a console session lasts.
    pub session_lifetime: Duration,
    /// This process's search timings (for the dashboard's p95).
    pub search_timings: Arc<timings::SearchTimings>,
    /// Line counts of the files of imports started from the console here: their progress bars'
    /// estimate of the rows to come.
    pub import_lines: Arc<std::sync::Mutex<std::collections::HashMap<clientele_core::ids::ImportJobId, u64>>>,
    /// This server's metrics: the App's own when it reports to [`Metrics`] (its
    /// `AppConfig::telemetry`), else new ones (without the services' search, import and
    /// webhook figures).
    pub metrics: Metrics,
    /// Who may read `/metrics`.
    pub metrics_options: MetricsOptions,
}

/// The default lifetime of a console session: a working day and then some.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

impl AppState {
    /// State over `app`, served with the default [`HttpOptions`].
    pub fn new(app: App) -> Self {
        let metrics = Metrics::of(&app).unwrap_or_default();
        let app = Arc::new(app);
        Self {
            metrics,
            metrics_options: MetricsOptions::default(),
            import_app: app.clone(),
            app,
            import_wake: ImportWake::default(),
            cargos_wake: CargosWake::default(),
            http: HttpOptions::default(),
            session_lifetime: DEFAULT_SESSION_LIFETIME,
            search_timings: Arc::default(),
            import_lines: Arc::default(),
        }
    }

    /// The same state, with the import workers on `app` (the same services over a pool of
    /// their own: [`App::with_store`]).
    #[must_use]
    pub fn with_import_app(self, app: App) -> Self {
        Self { import_app: Arc::new(app), ..self }
    }

    /// The same state, served with `http`.
    pub fn with_http(self, http: HttpOptions) -> Self {
        Self { http, ..self }
    }

    /// The same state, with `/metrics` readable as `options` say.
    pub fn with_metrics_options(self, options: MetricsOptions) -> Self {
        Self { metrics_options: options, ..self }
    }

    /// The same state with console sessions lasting `lifetime`.
    pub fn with_session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime.max(Duration::from_secs(60));
        self
    }
}

/// How connections are served (configuration's `http` section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpOptions {
    /// Longest a client may take to send a request's line and headers, counted from when the
    /// server starts reading them (on a kept-alive connection: from the end of the previous
    /// answer); then the connection is closed. Slow clients that trickle headers in ("slowloris")
    /// cannot hold connections open.
    pub header_read_timeout: Duration,
    /// Most connections open at once from one client address; more are closed as soon as they
    /// are accepted. 0: no limit.
    pub max_connections_per_ip: usize,
    /// Clients reach the server over HTTPS only (through a TLS-terminating proxy): every answer
    /// carries `Strict-Transport-Security`, so browsers never use plain HTTP for it again.
    pub behind_tls: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self { header_read_timeout: Duration::from_secs(10), max_connections_per_ip: 256, behind_tls: false }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Clientele",
        description = "Customer management for vehicle-rental companies. Errors are \
            `application/problem+json` (RFC 9457) with a stable `code`.",
    ),
    tags(
        (name = "auth", description = "Bearer tokens"),
        (name = "customers", description = "Customer records, notes, delete and restore"),
        (name = "blacklist", description = "Tenant and global blacklists"),
        (name = "orders", description = "Orders, blacklist overrides and the order form"),
        (name = "documents", description = "Identity, licence and insurance documents, encrypted at rest; every access logged"),
        (name = "audit", description = "The tamper-evident audit log"),
        (name = "exports", description = "Customer lists as CSV; one person's data as JSON"),
        (name = "imports", description = "Customer imports from CSV, as background jobs"),
        (name = "payments", description = "Payment methods kept in Stripe (never here): card setup with Stripe.js, list, remove, default; Stripe settings and webhook"),
        (name = "cargos", description = "Ca.R.G.O.S., the police contract report: places, agencies, settings, an order's record, check and send"),
        (name = "health", description = "Probes"),
    ),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

fn api() -> OpenApiRouter<AppState> {
    let v1 = OpenApiRouter::new()
        .merge(routes::auth::routes())
        .merge(routes::customers::routes())
        .merge(routes::blacklist::routes())
        .merge(routes::orders::routes())
        .merge(routes::documents::routes())
        .merge(routes::audit::routes())
        .merge(routes::exports::routes())
        .merge(routes::imports::routes())
        .merge(routes::webhooks::routes())
        .merge(routes::cargos::routes())
        .merge(routes::payments::routes());
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", v1).merge(routes::health::routes())
}

/// The OpenAPI document of the router.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = api().into_openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    complete_document(&mut doc);
    doc
}

/// Schemas of the narrow views a reader may get instead of the full one: closed, so that a full
/// response never also matches them (`oneOf` means exactly one).
const NARROW_VIEWS: [&str; 2] = ["CustomerContact", "DriverOrder"];
/// Pages that may hold either view: an empty page is both, so `anyOf`.
const EITHER_PAGES: [&str; 1] = ["CustomerPage"];

/// What every operation may answer besides what its own annotation lists, written once here:
/// `400` (a malformed id, query, header or body, refused before the service), `401` and `403`
/// when it needs a token (every secured operation refuses some role: platform admins see no
/// tenant's data, tenant users none of the platform's), `404` when its path names a resource,
/// `413`, `415` and `422` when it takes a body (a body of the wrong shape is `422
/// validation_failed`), and `503` (the database busy past its wait, or a service behind it
/// unavailable; `Retry-After` says when to try again). And the narrow views closed, the pages
/// of either view `anyOf`.
fn complete_document(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{AdditionalProperties, AnyOf, Schema};
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let problem = |description: &str| {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
        RefOr::T(ResponseBuilder::new().description(description).content("application/problem+json", content).build())
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let names_a_resource = path.contains('{');
        let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in operations.into_iter().flatten() {
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let body = operation.request_body.is_some();
            let responses = &mut operation.responses.responses;
            let mut add = |code: &str, description: &str| {
                responses.entry(code.to_owned()).or_insert_with(|| problem(description));
            };
            add("400", "A malformed path id, query parameter, header or body (`invalid_query`, `invalid_json`, ...)");
            if secured {
                add("401", "No bearer token, or one that is invalid, expired or revoked");
                add("403", "The token's role may not do this (`forbidden`; see the roles table)");
            }
            if names_a_resource {
                add("404", "No such resource, or one the token may not see (`not_found`)");
            }
            if body {
                add("413", "The body is larger than this operation accepts");
                add("415", "The body's content type is not one this operation reads");
                add("422", "The body does not hold what this operation takes (`validation_failed`, naming each field)");
            }
            add(
                "503",
                "The database stayed busy past its wait (`database_busy`) or cannot be reached \
                 (`service_unavailable`), or a service behind this one is unavailable; see `Retry-After`",
            );
        }
    }
    let Some(components) = doc.components.as_mut() else { return };
    for name in NARROW_VIEWS {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(name) {
            object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
        }
    }
    for name in EITHER_PAGES {
        if let Some(RefOr::T(schema)) = components.schemas.get_mut(name)
            && let Schema::OneOf(one_of) = schema
        {
            let mut any_of = AnyOf::new();
            any_of.items = std::mem::take(&mut one_of.items);
            any_of.description = one_of.description.take();
            *schema = Schema::AnyOf(any_of);
        }
    }
}

/// The whole application: API, docs, probes, and the middleware every request goes through.
pub fn router(state: AppState) -> Router {
    let (api, _) = api().split_for_parts();
    let behind_tls = state.http.behind_tls;
    let metrics = state.metrics.clone();
    Router::new()
        .merge(api)
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", openapi()))
        .merge(console::routes())
        .route("/metrics", axum::routing::get(metrics::public_metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(deadline))
        .layer(axum::middleware::from_fn(move |request, next| security_headers(behind_tls, request, next)))
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::record_request))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO).latency_unit(LatencyUnit::Micros)),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::map_request(drop_unfit_request_id))
        .with_state(state)
}

/// The span every request is handled in, so that every line logged meanwhile says which request
/// it belongs to: the request id, the method, the route template and the path (never the query
/// string, which may hold a search for a person's name), and, once the request is authenticated,
/// the tenant and user ids ([`extract`] records them).
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
    let route = request.extensions().get::<axum::extract::MatchedPath>().map_or("unmatched", |p| p.as_str());
    tracing::info_span!(
        "request",
        request_id,
        method = %request.method(),
        route,
        path = request.uri().path(),
        tenant_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
    )
}

/// `/metrics` alone, for a listen address of its own (the token still applies when set).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(metrics::own_metrics))
        .fallback(not_found)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Serves [`metrics_router`] on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, metrics_router(state)).with_graceful_shutdown(shutdown).await
}

/// Serves until `shutdown` completes, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Import jobs run beside the requests, in this process and any other on the same database.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..state.import_app.import_workers() {
        let worker = clientele_runtime::imports::run_worker(
            state.import_app.clone(),
            state.import_wake.clone(),
            stopped.clone(),
        );
        workers.spawn(worker);
    }
    // So does the outbox's dispatcher, where this process can send webhooks.
    if state.app.sends_webhooks() {
        workers.spawn(clientele_runtime::outbox::run_dispatcher(state.app.clone(), stopped.clone()));
    }
    // And the checks (and sends) queued when orders become active.
    workers.spawn(clientele_runtime::cargos::run_worker(state.app.clone(), state.cargos_wake.clone(), stopped.clone()));
    // And the sweep of document files that no document points at (after a crash mid-upload).
    workers.spawn(clientele_runtime::documents::run_sweeper(state.app.clone(), stopped.clone()));
    let http = state.http.clone();
    let served = connections::serve_connections(listener, router(state), &http, shutdown).await;
    // A job under way is left to finish for a moment; then it stops between two statements
    // (its batch rolls back) and this or another process resumes it from its last saved batch.
    let _ = stop.send(true);
    let finished = async { while workers.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(5), finished).await.is_err() {
        workers.abort_all();
    }
    served
}

/// The policy of HTML pages (the docs page): only the server's own scripts, styles, images and
/// data; never inside a frame. Swagger UI sets styles from its script, hence `'unsafe-inline'`
/// for styles (not for scripts); its icons are `data:` images.
const HTML_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Security headers on every answer, errors included: no content-type sniffing, no referrer
/// leaving with links, no caching of API answers (they carry personal data), a content security
/// policy that also forbids framing on HTML, and HSTS when the server is reached over HTTPS only.
async fn security_headers(behind_tls: bool, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::http::{HeaderValue, header};
    let api = request.uri().path().starts_with("/api/v1/");
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // A page that states its own policy (the console's, stricter: no inline styles) keeps it.
    if html && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(HTML_CONTENT_SECURITY_POLICY));
    }
    if html {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if behind_tls {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    response
}

/// Removes a client's `x-request-id` unless it is 1 to 64 characters of `A-Z a-z 0-9 . _ -`, so
/// that a fresh one is made instead: the id goes into logs, the audit log and the answer, where
/// anything else (very long ids, markup, control or look-alike characters) has no business.
async fn drop_unfit_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    let fit = |value: &axum::http::HeaderValue| {
        let bytes = value.as_bytes();
        (1..=64).contains(&bytes.len()) && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
    };
    let headers = request.headers_mut();
    let all: Vec<_> = headers.get_all("x-request-id").iter().collect();
    if !(all.len() == 1 && all.iter().all(|v| fit(v))) {
        headers.remove("x-request-id");
    }
    request
}

/// Answers `408 request_timeout` (problem+json, like every error) when a request takes longer
/// than its deadline: [`REQUEST_TIMEOUT`], or [`UPLOAD_TIMEOUT`] for uploads, whose handlers
/// abandon a half-received file themselves.
async fn deadline(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = request.uri().path();
    // The API's uploads and the console's (the same paths without `/api/v1`).
    let console_path = path.strip_prefix("/api/v1").unwrap_or(path);
    let upload = request.method() == axum::http::Method::POST
        && (console_path == "/imports"
            || (console_path.starts_with("/customers/") && console_path.ends_with("/documents")));
    let limit = if upload { UPLOAD_TIMEOUT } else { REQUEST_TIMEOUT };
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => timed_out(limit),
    }
}

/// The answer to a request that ran out of time.
fn timed_out(limit: Duration) -> Response {
    let message = format!("the request took longer than the {} s this server allows", limit.as_secs());
    ApiError(Error::bad_request(ErrorCode::RequestTimeout, message)).into_response()
}

/// Unknown paths: a problem document, or for a browser asking for a page outside the API, the
/// console's not-found page.
async fn not_found(headers: axum::http::HeaderMap, uri: axum::http::Uri) -> Response {
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !uri.path().starts_with("/api") {
        let response = console::errors::PageError(Error::NotFound("page")).into_response();
        return console::errors::render(response, console::i18n::Tr::new(console::session::locale_of(&headers)));
    }
    ApiError(Error::NotFound("resource")).into_response()
}

async fn method_not_allowed() -> ApiError {
    Error::bad_request(ErrorCode::MethodNotAllowed, "this method is not allowed on this resource").into()
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError(Error::internal("a request handler panicked")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_out_of_time_is_a_problem_like_any_other() {
        let response = timed_out(REQUEST_TIMEOUT);
        assert_eq!(response.status(), axum::http::StatusCode::REQUEST_TIMEOUT);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
    }
}
