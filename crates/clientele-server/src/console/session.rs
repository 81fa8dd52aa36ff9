//! Logging in and out, the session cookie, CSRF, and [`Console`]: the extractor every signed-in
//! page takes (the console's counterpart of the API's `CurrentUser`).
//!
//! The cookie holds a random token (HttpOnly, SameSite=Lax, Secure behind TLS); the store keeps
//! its hash, and the user is read again on every request. Every form carries the session's CSRF
//! token (`_csrf`), and every htmx request sends it as `X-CSRF-Token`; [`ConsoleForm`] refuses a
//! post without it. The log-in form, before there is a session, carries a token matched by a
//! cookie of its own.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clientele_core::accounts::auth::{Actor, Principal};
use clientele_core::accounts::services::ConsoleLogin;
use clientele_core::accounts::session::Session;
use clientele_core::{Error, ErrorCode};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::console::errors::{FieldErrors, PageError};
use crate::console::i18n::{Locale, Tr};
use crate::console::shell::{Bare, Nav, Shell};
use crate::extract::origin;

/// The session cookie.
pub const SESSION_COOKIE: &str = "clientele_session";
/// The chosen language, for pages before a session (and after one ends).
pub const LANG_COOKIE: &str = "clientele_lang";
/// The log-in form's CSRF cookie.
pub const LOGIN_COOKIE: &str = "clientele_login";

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// Whether the request reached us over TLS (directly, or through a proxy that says so).
fn behind_tls(headers: &HeaderMap) -> bool {
    let forwarded_proto =
        headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("proto=https"));
    forwarded_proto || forwarded
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, Secure behind TLS; `max_age` in
/// seconds (`Some(0)` deletes it; `None` lasts the browser session).
pub fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    if behind_tls(headers) {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// The reader's language without a session: the language cookie, else the browser's.
pub fn locale_of(headers: &HeaderMap) -> Locale {
    cookie(headers, LANG_COOKIE).and_then(Locale::parse).unwrap_or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(Locale::from_accept_language)
            .unwrap_or_default()
    })
}

/// Whether htmx sent the request.
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

fn random_token() -> String {
    // Two v4 UUIDs: 244 bits from the operating system's generator.
    let bytes: Vec<u8> = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()].iter().flat_map(|u| *u.as_bytes()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A signed-in request: who acts, their session, their language.
#[derive(Debug)]
pub struct Console {
    /// The actor the services are called as.
    pub actor: Actor,
    /// The session.
    pub session: Session,
    /// The language.
    pub tr: Tr,
    email: String,
    tenant: String,
}

impl Console {
    /// The frame of a page titled by the message `title_key`, in navigation section `section`.
    pub fn shell(&self, title_key: &str, section: &'static str) -> Shell {
        self.shell_titled(self.tr.t(title_key).to_owned(), section)
    }

    /// The frame of a page with a title of its own.
    pub fn shell_titled(&self, title: String, section: &'static str) -> Shell {
        let role = match self.actor.principal() {
            Principal::Member(m) => match m.role {
                clientele_core::accounts::user::Role::Admin => "role-admin",
                clientele_core::accounts::user::Role::Operator => "role-operator",
                clientele_core::accounts::user::Role::Driver => "role-driver",
                clientele_core::accounts::user::Role::Partner => "role-partner",
            },
            _ => "role-platform_admin",
        };
        Shell {
            t: self.tr,
            title,
            csrf: self.session.csrf_token.clone(),
            who: self.email.clone(),
            role,
            tenant: self.tenant.clone(),
            nav: Nav::of(&self.actor),
            section,
            notice: String::new(),
        }
    }

    /// Whether the acting user has `capability`.
    pub fn can(&self, capability: clientele_core::accounts::access::Capability) -> bool {
        self.actor.require(capability).is_ok()
    }
}

/// Where a signed-out request is sent: the log-in page, then back.
fn to_login(parts: &Parts) -> Response {
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let target = if parts.method == axum::http::Method::GET && path != "/" {
        format!("/login?next={}", urlencode(path))
    } else {
        "/login".to_owned()
    };
    if is_htmx(&parts.headers) {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        if let Ok(value) = HeaderValue::from_str(&target) {
            response.headers_mut().insert("hx-redirect", value);
        }
        return response;
    }
    Redirect::to(&target).into_response()
}

/// Percent-encodes a query value.
pub fn urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("v", value)]).map(|s| s[2..].to_owned()).unwrap_or_default()
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).map(str::to_owned) else {
            return Err(to_login(parts));
        };
        let (actor, session) = match state.app.session_actor(&token, origin(parts)).await {
            Ok(found) => found,
            Err(Error::Unauthenticated { .. }) => return Err(to_login(parts)),
            Err(other) => return Err(PageError(other).into_response()),
        };
        crate::extract::record_actor(&actor);
        let locale = session.locale.as_deref().and_then(Locale::parse).unwrap_or_else(|| locale_of(&parts.headers));
        let (email, tenant) = match *actor.principal() {
            Principal::Member(member) => {
                let user = state.app.store().get_user(member.tenant_id, member.user_id).await;
                let tenant = state.app.tenant(member.tenant_id).await;
                match (user, tenant) {
                    (Ok(user), Ok(tenant)) => {
                        (user.map(|u| u.email.as_str().to_owned()).unwrap_or_default(), tenant.name)
                    }
                    (Err(e), _) | (_, Err(e)) => return Err(PageError(e).into_response()),
                }
            }
            Principal::PlatformAdmin(id) => match state.app.store().get_platform_admin(id).await {
                Ok(admin) => (admin.map(|a| a.email.as_str().to_owned()).unwrap_or_default(), String::new()),
                Err(e) => return Err(PageError(e).into_response()),
            },
            Principal::CommandLine(_) | Principal::Integration(..) => (String::new(), String::new()),
        };
        Ok(Self { actor, session, tr: Tr::new(locale), email, tenant })
    }
}

/// A posted form of a signed-in page, its CSRF token checked.
#[derive(Debug)]
pub struct ConsoleForm {
    /// The signed-in request.
    pub c: Console,
    /// The form's fields.
    pub form: FormData,
}

/// The fields of a posted form, in order (a name may repeat: checkboxes).
#[derive(Debug, Clone, Default)]
pub struct FormData {
    pairs: Vec<(String, String)>,
}

impl FormData {
    /// Parses `application/x-www-form-urlencoded` (or a query string).
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
            .map(|pairs| Self { pairs })
            .map_err(|e| Error::bad_request(ErrorCode::MalformedForm, format!("the form could not be read: {e}")))
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// The first value of `name` as an owned string, when not blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }

    /// Whether a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v != "false" && v != "0")
    }

    /// The pairs.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

impl FromRequest<AppState> for ConsoleForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let c = Console::from_request_parts(&mut parts, state).await?;
        let header_token = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state).await.map_err(|rejection| {
            PageError(Error::bad_request(
                ErrorCode::PayloadTooLarge,
                format!("the form could not be read: {rejection}"),
            ))
            .into_response()
        })?;
        let form = FormData::parse(&bytes).map_err(|e| PageError(e).into_response())?;
        let sent = header_token.as_deref().or(form.get("_csrf")).unwrap_or_default();
        if !same(sent, &c.session.csrf_token) {
            return Err(PageError(csrf_refused()).into_response());
        }
        Ok(Self { c, form })
    }
}

/// The error for a post without the session's CSRF token.
pub fn csrf_refused() -> Error {
    Error::Forbidden("the form has expired or did not come from this site: reload the page and try again".into())
}

/// Checks a CSRF token sent with a multipart upload (header or `_csrf` query parameter).
pub fn check_csrf(c: &Console, headers: &HeaderMap, query_token: Option<&str>) -> Result<(), Error> {
    let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).or(query_token).unwrap_or_default();
    if same(sent, &c.session.csrf_token) { Ok(()) } else { Err(csrf_refused()) }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    shell: Bare,
    csrf: String,
    email: String,
    tenant: String,
    next: String,
    ask_tenant: bool,
    failed: String,
    errors: FieldErrors,
    languages: Vec<(&'static str, &'static str)>,
}

/// `GET /login`.
#[derive(Debug, Deserialize)]
pub(crate) struct LoginQuery {
    next: Option<String>,
    tenant: Option<String>,
    /// Show the company field straight away.
    company: Option<String>,
}

/// What the log-in form shows again: what was typed, and where to go after.
struct Typed {
    email: String,
    tenant: String,
    next: String,
}

fn login_page(
    headers: &HeaderMap,
    typed: Typed,
    failed: String,
    errors: FieldErrors,
    status: StatusCode,
    ask_tenant: bool,
) -> Response {
    let Typed { email, tenant, next } = typed;
    let tr = Tr::new(locale_of(headers));
    let token = cookie(headers, LOGIN_COOKIE).filter(|t| t.len() >= 16).map(str::to_owned).unwrap_or_else(random_token);
    let ask_tenant = ask_tenant || errors.has("tenant") || !tenant.is_empty();
    let languages = Locale::ALL
        .into_iter()
        .filter(|l| *l != tr.locale)
        .map(|l| (l.code(), if l == Locale::It { "Italiano" } else { "English" }))
        .collect();
    let page = LoginPage {
        shell: Bare::new(tr, tr.t("login-title").to_owned()),
        csrf: token.clone(),
        email,
        tenant,
        next,
        ask_tenant,
        failed,
        errors,
        languages,
    };
    let mut response = (status, render(&page)).into_response();
    response.headers_mut().insert(header::SET_COOKIE, set_cookie(headers, LOGIN_COOKIE, &token, Some(3600)));
    response
}

/// Renders a template to HTML, or the internal-error page.
pub fn render<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => PageError(Error::internal(format!("rendering a page: {e}"))).into_response(),
    }
}

pub(crate) async fn login_form(headers: HeaderMap, Query(query): Query<LoginQuery>) -> Response {
    let tr = Tr::new(locale_of(&headers));
    let typed = Typed {
        email: String::new(),
        tenant: query.tenant.unwrap_or_default(),
        next: safe_next(query.next.as_deref()),
    };
    login_page(&headers, typed, String::new(), FieldErrors::none(tr), StatusCode::OK, query.company.is_some())
}

/// A `next` that stays on this site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n.to_owned(),
        _ => "/".to_owned(),
    }
}

pub(crate) async fn login(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let tr = Tr::new(locale_of(&headers));
    let form = match FormData::parse(&body) {
        Ok(form) => form,
        Err(e) => return PageError(e).into_response(),
    };
    let email = form.text("email").unwrap_or_default();
    let tenant = form.text("tenant").unwrap_or_default();
    let next = safe_next(form.get("next"));
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !same(form.get("_csrf").unwrap_or_default(), expected) {
        let failed = tr.t("login-expired").to_owned();
        return login_page(
            &headers,
            Typed { email, tenant, next },
            failed,
            FieldErrors::none(tr),
            StatusCode::FORBIDDEN,
            false,
        );
    }
    let login = ConsoleLogin {
        email: email.clone(),
        password: form.get("password").unwrap_or_default().to_owned(),
        tenant: (!tenant.is_empty()).then(|| tenant.clone()),
    };
    match state.app.open_session(&login, state.session_lifetime).await {
        Ok(opened) => {
            let mut response = Redirect::to(&next).into_response();
            let lifetime = state.session_lifetime.as_secs();
            let headers_out = response.headers_mut();
            headers_out.append(header::SET_COOKIE, set_cookie(&headers, SESSION_COOKIE, &opened.token, Some(lifetime)));
            headers_out.append(header::SET_COOKIE, set_cookie(&headers, LOGIN_COOKIE, "", Some(0)));
            response
        }
        Err(error @ Error::Invalid(_)) => {
            let errors = FieldErrors::of(&error, tr);
            login_page(
                &headers,
                Typed { email, tenant, next },
                String::new(),
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
                false,
            )
        }
        Err(Error::Unauthenticated { .. }) => {
            let failed = tr.t("login-failed").to_owned();
            login_page(
                &headers,
                Typed { email, tenant, next },
                failed,
                FieldErrors::none(tr),
                StatusCode::UNAUTHORIZED,
                false,
            )
        }
        Err(other) => PageError(other).into_response(),
    }
}

/// `POST /logout`: ends the session here and in the store.
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    ConsoleForm { c, .. }: ConsoleForm,
) -> Result<Response, PageError> {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state.app.close_session(token).await?;
    }
    drop(c);
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(&headers, SESSION_COOKIE, "", Some(0)));
    Ok(response)
}

/// `POST /language`: the user's choice, kept with the session and in a cookie for the log-in page.
pub(crate) async fn set_language(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, PageError> {
    let (mut parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 4096)
        .await
        .map_err(|e| Error::bad_request(ErrorCode::MalformedForm, format!("the form could not be read: {e}")))?;
    let form = FormData::parse(&bytes)?;
    let locale = form.get("lang").and_then(Locale::parse).unwrap_or_default();
    let back = safe_next(form.get("next"));
    match Console::from_request_parts(&mut parts, &state).await {
        Ok(c) => {
            if !same(form.get("_csrf").unwrap_or_default(), &c.session.csrf_token) {
                return Err(csrf_refused().into());
            }
            state.app.set_session_locale(&c.session, locale.code()).await?;
        }
        // Before logging in: the log-in form's token.
        Err(_) => {
            if !same(form.get("_csrf").unwrap_or_default(), cookie(&headers, LOGIN_COOKIE).unwrap_or_default()) {
                return Err(csrf_refused().into());
            }
        }
    }
    let mut response = Redirect::to(&back).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(&headers, LANG_COOKIE, locale.code(), Some(31_536_000)));
    Ok(response)
}
