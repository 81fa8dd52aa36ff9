//! The operator console: server-rendered HTML at `/`, beside the JSON API at `/api`, for the
//! people at the counter, on the phone, on the road and in the back office.
//!
//! Pages are askama templates (compiled, escaping), made lively with htmx 2 (vendored, embedded,
//! no inline script: the Content-Security-Policy forbids it), in English and Italian. Every form
//! posts to the same services of the core as the API does; there is no second rules engine
//! here, only forms turned into the core's inputs and the core's answers turned into pages.
//! The console's routes are not in the OpenAPI document: they are pages, not API.
//!
//! A folder of concerns: [`session`] (log in, cookies, CSRF, the [`session::Console`]
//! extractor), [`i18n`], [`errors`] (the domain error as a page), [`shell`] (what frames every
//! page), [`assets`], and a module per area: [`home`], [`customers`], [`payments`], [`orders`],
//! [`driver`], [`imports`], [`admin`].

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

use crate::AppState;

pub mod admin;
pub mod assets;
pub mod customers;
pub mod driver;
pub mod errors;
pub mod forms;
pub mod home;
pub mod i18n;
pub mod imports;
pub mod orders;
pub mod payments;
pub mod session;
pub mod shell;

/// The policy every console page is served with: scripts, styles, fonts and images from this
/// site only; no inline script or style, no plugins, no framing, forms posting here only.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; frame-src 'self'; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The console's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/language", post(session::set_language))
        .merge(customers::routes())
        .merge(payments::routes())
        .merge(orders::routes())
        .merge(driver::routes())
        .merge(imports::routes())
        .merge(admin::routes())
        .layer(axum::middleware::from_fn(page_headers))
        .route("/static/{name}", get(assets::serve))
}

/// Renders pending error pages in the reader's language, and sets the security headers of
/// every page.
async fn page_headers(request: Request, next: Next) -> Response {
    let locale = session::locale_of(request.headers());
    let response = next.run(request).await;
    let mut response = errors::render(response, i18n::Tr::new(locale));
    let policy = match response.extensions().get::<payments::ExtraOrigins>() {
        Some(extra) => extra.policy(),
        None => HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(header::VARY, HeaderValue::from_static("Cookie, Accept-Language, HX-Request"));
    response
}
