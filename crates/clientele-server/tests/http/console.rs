//! The console over HTTP, without a browser: log-in and its cookie, CSRF, revocation, the
//! security headers, errors as pages, and the console's absence from the OpenAPI document.
//! (The pages themselves are tested in Chromium: crates/clientele/tests/console.)

use clientele_core::accounts::services::NewUser;
use clientele_core::ids::TenantId;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

use crate::harness::TestApp;

pub(crate) const PASSWORD: &str = "correct horse battery";

/// A browser without a cookie jar: cookies are sent by hand, redirects not followed.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A console page: status, headers, HTML.
pub(crate) struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        let rest = self.html.split("name=\"_csrf\" value=\"").nth(1).expect("a form with a CSRF token");
        rest.split('"').next().unwrap().to_owned()
    }

    /// The value of cookie `name` set by the response, with its attributes.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    pub fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

pub(crate) async fn get(app: &TestApp, path: &str, cookie: &str) -> Page {
    let response = browser()
        .get(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    Page { status, headers, html: response.text().await.unwrap() }
}

pub(crate) async fn post(
    app: &TestApp,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> Page {
    let body = serde_urlencoded::to_string(form).unwrap();
    let mut request = browser()
        .post(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    Page { status, headers, html: response.text().await.unwrap() }
}

/// The cookie pair (`name=value`) of a `Set-Cookie` value.
pub(crate) fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// Logs in through the log-in form; the session cookie's pair.
pub(crate) async fn log_in(
    app: &TestApp,
    email: &str,
    password: &str,
    tenant: Option<&str>,
    headers: &[(&str, &str)],
) -> Page {
    let form = get(app, "/login", "").await;
    let login_cookie = pair(&form.set_cookie("clientele_login").unwrap());
    let csrf = form.csrf();
    let mut fields = vec![("email", email), ("password", password), ("_csrf", csrf.as_str()), ("next", "/customers")];
    if let Some(tenant) = tenant {
        fields.push(("tenant", tenant));
    }
    post(app, "/login", &login_cookie, &fields, headers).await
}

pub(crate) async fn user(app: &TestApp, tenant: TenantId, email: &str, role: &str) {
    let new = NewUser {
        tenant_id: tenant,
        email: email.into(),
        role: role.into(),
        password: PASSWORD.into(),
        partner_id: None,
    };
    app.app.create_user(new).await.unwrap();
}

pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}@example.com", uuid::Uuid::new_v4().simple())
}

http_test! {
    async fn logging_in_sets_an_http_only_lax_cookie_and_logging_out_revokes_the_session(app: &TestApp) {
        let tenant = app.tenant().await;
        let email = unique("op");
        user(app, tenant, &email, "operator").await;

        let page = log_in(app, &email, PASSWORD, None, &[]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), "/customers");
        let cookie = page.set_cookie("clientele_session").unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag: {cookie}");
        let session = pair(&cookie);

        let customers = get(app, "/customers", &session).await;
        assert_eq!(customers.status, StatusCode::OK);
        assert!(customers.html.contains("<h1>Customers</h1>"));
        let csrf = customers.csrf();

        let forged = post(app, "/logout", &session, &[], &[]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "a post without the CSRF token is refused");
        assert_eq!(get(app, "/customers", &session).await.status, StatusCode::OK, "and changed nothing");

        let out = post(app, "/logout", &session, &[("_csrf", &csrf)], &[]).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        assert!(out.set_cookie("clientele_session").unwrap().contains("Max-Age=0"));
        let after = get(app, "/customers", &session).await;
        assert_eq!(after.status, StatusCode::SEE_OTHER, "the old cookie no longer works");
        assert_eq!(after.location(), "/login?next=%2Fcustomers");
    }

    async fn behind_tls_the_session_cookie_is_secure(app: &TestApp) {
        let tenant = app.tenant().await;
        let email = unique("op");
        user(app, tenant, &email, "operator").await;
        let page = log_in(app, &email, PASSWORD, None, &[("x-forwarded-proto", "https")]).await;
        assert!(page.set_cookie("clientele_session").unwrap().contains("; Secure"));
    }

    async fn a_wrong_password_or_a_missing_login_token_logs_nobody_in(app: &TestApp) {
        let tenant = app.tenant().await;
        let email = unique("op");
        user(app, tenant, &email, "operator").await;
        let wrong = log_in(app, &email, "not the password", None, &[]).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(wrong.set_cookie("clientele_session").is_none());
        let forged = post(app, "/login", "", &[("email", &email), ("password", PASSWORD)], &[]).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "a log-in form not from this site is refused");
        assert!(forged.set_cookie("clientele_session").is_none());
    }

    async fn an_email_with_accounts_at_two_companies_needs_the_company_unless_one_password_fits(app: &TestApp) {
        let first = app.app.create_tenant("Noleggi Città", "IT", None).await.unwrap();
        let second = app.app.create_tenant("Noleggi Città", "IT", None).await.unwrap();
        assert_ne!(first.slug, "", "a slug is made from the name");
        let email = unique("both");
        user(app, first.id, &email, "operator").await;
        user(app, second.id, &email, "admin").await;

        let ambiguous = log_in(app, &email, PASSWORD, None, &[]).await;
        assert_eq!(ambiguous.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(ambiguous.html.contains("id=\"tenant\""), "the company field is asked for");

        // The slugs of two tenants of one name differ; each logs in to its own.
        let (one, two) = (app.app.tenant(first.id).await.unwrap().slug, app.app.tenant(second.id).await.unwrap().slug);
        assert!(two.starts_with("noleggi-citta") && one != two, "{one} {two}");
        let chosen = log_in(app, &email, PASSWORD, Some(&two), &[]).await;
        assert_eq!(chosen.status, StatusCode::SEE_OTHER);
        let session = pair(&chosen.set_cookie("clientele_session").unwrap());
        let home = get(app, "/admin/users", &session).await;
        assert_eq!(home.status, StatusCode::OK, "logged in to the second company, as its admin");
    }

    async fn disabling_a_user_ends_their_console_session_at_once(app: &TestApp) {
        let tenant = app.tenant().await;
        let (admin, operator) = (unique("admin"), unique("op"));
        user(app, tenant, &admin, "admin").await;
        user(app, tenant, &operator, "operator").await;
        let admin_session = pair(&log_in(app, &admin, PASSWORD, None, &[]).await.set_cookie("clientele_session").unwrap());
        let operator_session = pair(&log_in(app, &operator, PASSWORD, None, &[]).await.set_cookie("clientele_session").unwrap());
        assert_eq!(get(app, "/customers", &operator_session).await.status, StatusCode::OK);

        let users = get(app, "/admin/users", &admin_session).await;
        let csrf = users.csrf();
        let operator_id = users.html.split(&operator).nth(1).unwrap().split("/admin/users/").nth(1).unwrap()[..36].to_owned();
        let disabled = post(app, &format!("/admin/users/{operator_id}"), &admin_session, &[("_csrf", &csrf), ("disabled", "true")], &[]).await;
        assert_eq!(disabled.status, StatusCode::SEE_OTHER);
        assert_eq!(get(app, "/customers", &operator_session).await.status, StatusCode::SEE_OTHER, "sent to log in");
        let again = log_in(app, &operator, PASSWORD, None, &[]).await;
        assert_eq!(again.status, StatusCode::UNAUTHORIZED, "and cannot log in again");
    }

    async fn pages_carry_a_content_security_policy_without_inline_scripts(app: &TestApp) {
        let page = get(app, "/login", "").await;
        let policy = page.headers["content-security-policy"].to_str().unwrap().to_owned();
        assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), "{policy}");
        assert_eq!(page.headers["x-frame-options"], "DENY");
        assert!(!page.html.contains("<script>"), "no inline script");
        let htmx = page.html.split("src=\"/static/htmx").count() + page.html.split("/static/console.").count();
        assert!(htmx >= 3, "the scripts and styles are our own files");
        let script = page.html.split("src=\"").find(|s| s.starts_with("/static/console.")).unwrap().split('"').next().unwrap().to_owned();
        let asset = browser().get(format!("{}{script}", app.base)).send().await.unwrap();
        assert_eq!(asset.status(), StatusCode::OK);
        assert!(asset.headers()["cache-control"].to_str().unwrap().contains("immutable"));
    }

    async fn a_missing_page_is_a_page_for_a_browser_and_a_problem_for_the_api(app: &TestApp) {
        let tenant = app.tenant().await;
        let email = unique("op");
        user(app, tenant, &email, "operator").await;
        let session = pair(&log_in(app, &email, PASSWORD, None, &[]).await.set_cookie("clientele_session").unwrap());
        let missing = get(app, &format!("/customers/{}", uuid::Uuid::now_v7()), &session).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(missing.headers["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(missing.html.contains("not_found"));
        let unknown = get(app, "/no-such-page", "").await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert!(unknown.html.contains("<h1>Not found</h1>"));
        let api = browser().get(format!("{}/no-such-page", app.base)).send().await.unwrap();
        assert_eq!(api.status(), StatusCode::NOT_FOUND);
        assert_eq!(api.headers()["content-type"], "application/problem+json", "API clients get problem+json as before");
        let italian = browser()
            .get(format!("{}/no-such-page", app.base))
            .header("accept", "text/html")
            .header("accept-language", "it-IT,it;q=0.9")
            .send()
            .await
            .unwrap();
        assert!(italian.text().await.unwrap().contains("<h1>Non trovato</h1>"));
    }

    async fn the_phone_is_shown_as_it_will_be_stored_by_the_cores_own_rule(app: &TestApp) {
        let tenant = app.tenant().await;
        let email = unique("op");
        user(app, tenant, &email, "operator").await;
        let session = pair(&log_in(app, &email, PASSWORD, None, &[]).await.set_cookie("clientele_session").unwrap());
        let preview = get(app, "/customers/phone-preview?phone=333%20123%204567", &session).await;
        assert!(preview.html.contains("+393331234567"), "{}", preview.html);
        let bad = get(app, "/customers/phone-preview?phone=12", &session).await;
        assert!(bad.html.contains("class=\"bad\""), "{}", bad.html);
    }

    async fn a_created_customer_is_the_same_through_the_form_as_through_the_api(app: &TestApp) {
        let tenant = app.tenant().await;
        let email = unique("op");
        user(app, tenant, &email, "operator").await;
        let session = pair(&log_in(app, &email, PASSWORD, None, &[]).await.set_cookie("clientele_session").unwrap());
        let csrf = get(app, "/customers/new", &session).await.csrf();
        let refused = post(app, "/customers", &session, &[("_csrf", &csrf), ("kind", "client"), ("first_name", "Ada")], &[]).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(refused.html.contains("id=\"f-last-name-error\""), "the API's field error, beside its field");
        let created = post(
            app,
            "/customers",
            &session,
            &[("_csrf", &csrf), ("kind", "client"), ("first_name", "Ada"), ("last_name", "Lovelace"), ("phone", "333 123 4567")],
            &[],
        )
        .await;
        assert_eq!(created.status, StatusCode::SEE_OTHER);
        let id = created.location().split('/').nth(2).unwrap().split('?').next().unwrap().to_owned();
        let admin = app.user(tenant, "admin").await;
        let record = app.get(&format!("/api/v1/customers/{id}"), &admin).await.expect(200);
        assert_eq!(record.body["phone"], "+393331234567");
        assert_eq!(record.body["last_name"], "Lovelace");
    }
}

#[test]
fn no_console_page_is_in_the_openapi_document() {
    let document = serde_json::to_value(clientele_server::openapi()).unwrap();
    for path in document["paths"].as_object().unwrap().keys() {
        assert!(path.starts_with("/api/") || path == "/healthz" || path == "/readyz", "{path}");
    }
}
