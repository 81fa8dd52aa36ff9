//! Admin pages: users (add, role, disable), the tenant's settings (required documents, phone
//! region), the audit log with its filters, the dashboard of the seed's success measures from
//! the tenant's own data; and for platform admins, the global blacklist.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use clientele_core::Error;
use clientele_core::accounts::access::Capability;
use clientele_core::accounts::services::{NewUser, UserChange, UserSummary};
use clientele_core::accounts::user::Role;
use clientele_core::audit::entry::AuditEntry;
use clientele_core::audit::services::{AuditFilter, AuditText};
use clientele_core::blacklist::services::{GlobalEntryView, LiftInput};
use clientele_core::customers::list::{FilterText, ListRequest};
use clientele_core::customers::view::CustomerPage;
use clientele_core::documents::record::DocumentKind;
use clientele_core::documents::requirements::RequiredDocumentsInput;
use clientele_core::ids::{GlobalEntryId, UserId};
use clientele_core::paging::Paging;
use clientele_core::reports::services::TenantFigures;
use serde::Deserialize;

use crate::AppState;
use crate::console::errors::{FieldErrors, PageError};
use crate::console::i18n::Tr;
use crate::console::session::{Console, ConsoleForm, FormData, render, urlencode};
use crate::console::shell::Shell;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(index))
        .route("/admin/users", get(users).post(add_user))
        .route("/admin/users/{id}", post(change_user))
        .route("/admin/settings", get(settings))
        .route("/admin/settings/required-documents", post(set_required))
        .route("/admin/settings/phone-region", post(set_region))
        .route("/admin/audit", get(audit))
        .route("/admin/dashboard", get(dashboard))
        .route("/platform/global-blacklist", get(global_list))
        .route("/platform/global-blacklist/{id}/lift", post(lift_global))
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct IndexPage {
    s: Shell,
    t: Tr,
}

async fn index(c: Console) -> Result<Response, PageError> {
    c.actor.require(Capability::ManageUsers)?;
    Ok(render(&IndexPage { s: c.shell("admin-title", "admin"), t: c.tr }))
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    s: Shell,
    t: Tr,
    users: Vec<UserSummary>,
    me: Option<UserId>,
    partners: Vec<(String, String)>,
    errors: FieldErrors,
    email: String,
    role: String,
    problem: String,
}

impl UsersPage {
    fn is_me(&self, id: &UserId) -> bool {
        self.me == Some(*id)
    }
}

async fn users(State(state): State<AppState>, c: Console) -> Result<Response, PageError> {
    users_page(&state, &c, FieldErrors::none(c.tr), FormData::default(), String::new(), StatusCode::OK).await
}

async fn users_page(
    state: &AppState,
    c: &Console,
    errors: FieldErrors,
    form: FormData,
    problem: String,
    status: StatusCode,
) -> Result<Response, PageError> {
    let users = state.app.tenant_users(&c.actor).await?;
    let request =
        ListRequest::parse(&FilterText { kind: Some("partner"), ..FilterText::default() }, None, Some("200"), None)?;
    let partners = match state.app.list_customers(&c.actor, &request).await? {
        CustomerPage::Full(page) => {
            page.items.iter().map(|v| (v.customer.id.to_string(), v.customer.display_name())).collect()
        }
        CustomerPage::Contacts(_) => Vec::new(),
    };
    let mut shell = c.shell("admin-users", "admin");
    if status == StatusCode::SEE_OTHER {
        shell.notice = c.tr.t("notice-updated").to_owned();
    }
    let page = UsersPage {
        s: shell,
        t: c.tr,
        users,
        me: c.actor.user_id(),
        partners,
        errors,
        email: form.text("email").unwrap_or_default(),
        role: form.text("role").unwrap_or_else(|| "operator".into()),
        problem,
    };
    Ok((status, render(&page)).into_response())
}

async fn add_user(State(state): State<AppState>, ConsoleForm { c, form }: ConsoleForm) -> Result<Response, PageError> {
    let Some(tenant_id) = c.actor.tenant_id() else { return Err(Error::Forbidden("no tenant".into()).into()) };
    let partner_id = form.get("partner_id").filter(|_| form.get("role") == Some("partner"));
    let partner_id = match partner_id.map(str::parse) {
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            return Err(
                Error::invalid("partner_id", clientele_core::FieldCode::Invalid, "must be a partner company").into()
            );
        }
        None => None,
    };
    let new = NewUser {
        tenant_id,
        email: form.text("email").unwrap_or_default(),
        role: form.text("role").unwrap_or_default(),
        password: form.get("password").unwrap_or_default().to_owned(),
        partner_id,
    };
    match state.app.add_user(&c.actor, new).await {
        Ok(_) => Ok(Redirect::to("/admin/users?saved=1").into_response()),
        Err(error @ (Error::Invalid(_) | Error::Conflict { .. })) => {
            let errors = FieldErrors::of(&error, c.tr);
            let problem = if errors.is_empty() { error.to_string() } else { String::new() };
            users_page(&state, &c, errors, form, problem, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn change_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { c, form }: ConsoleForm,
) -> Result<Response, PageError> {
    let id: UserId = id.parse().map_err(|_| PageError(Error::NotFound("user")))?;
    let change = UserChange {
        role: form.get("role").map(Role::parse).transpose().map_err(|p| Error::invalid("role", p.code, p.message))?,
        disabled: form.get("disabled").map(|d| d == "true"),
    };
    match state.app.change_user(&c.actor, id, change).await {
        Ok(_) => Ok(Redirect::to("/admin/users").into_response()),
        Err(error @ (Error::Invalid(_) | Error::Conflict { .. })) => {
            users_page(
                &state,
                &c,
                FieldErrors::none(c.tr),
                FormData::default(),
                error.to_string(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    s: Shell,
    t: Tr,
    required: Vec<String>,
    kinds: Vec<(&'static str, String)>,
    region: String,
    slug: String,
    problem: String,
}

async fn settings(State(state): State<AppState>, c: Console) -> Result<Response, PageError> {
    settings_page(&state, &c, String::new(), StatusCode::OK).await
}

async fn settings_page(
    state: &AppState,
    c: &Console,
    problem: String,
    status: StatusCode,
) -> Result<Response, PageError> {
    let required = state.app.required_documents(&c.actor).await?.required;
    let tenant = state.app.tenant_of(&c.actor).await?.ok_or(Error::NotFound("tenant"))?;
    let kinds = DocumentKind::ALL.iter().map(|k| (k.as_str(), c.tr.tk("doc-", k.as_str()))).collect();
    let page = SettingsPage {
        s: c.shell("admin-settings", "admin"),
        t: c.tr,
        required,
        kinds,
        region: tenant.phone_region.as_str().to_owned(),
        slug: tenant.slug,
        problem,
    };
    Ok((status, render(&page)).into_response())
}

/// Requirements posted as one line each (`passport|id_card`), or as ticked groups.
async fn set_required(
    State(state): State<AppState>,
    ConsoleForm { c, form }: ConsoleForm,
) -> Result<Response, PageError> {
    let required: Vec<String> = form
        .get("required")
        .unwrap_or_default()
        .lines()
        .map(|line| line.split(['|', ',', '/']).map(str::trim).filter(|k| !k.is_empty()).collect::<Vec<_>>().join("|"))
        .filter(|line| !line.is_empty())
        .collect();
    match state.app.set_required_documents(&c.actor, &RequiredDocumentsInput { required }).await {
        Ok(_) => Ok(Redirect::to("/admin/settings").into_response()),
        Err(error @ Error::Invalid(_)) => {
            let text = FieldErrors::of(&error, c.tr)
                .all()
                .into_iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; ");
            settings_page(&state, &c, text, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn set_region(
    State(state): State<AppState>,
    ConsoleForm { c, form }: ConsoleForm,
) -> Result<Response, PageError> {
    match state.app.set_phone_region(&c.actor, form.get("phone_region").unwrap_or_default()).await {
        Ok(_) => Ok(Redirect::to("/admin/settings").into_response()),
        Err(error @ Error::Invalid(_)) => {
            let text = FieldErrors::of(&error, c.tr).get("phone_region");
            settings_page(&state, &c, text, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    s: Shell,
    t: Tr,
    q: AuditQuery,
    entries: Vec<AuditEntry>,
    next: String,
    problem: String,
}

fn some(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()).then_some(text)
}

async fn audit(State(state): State<AppState>, c: Console, Query(q): Query<AuditQuery>) -> Result<Response, PageError> {
    c.actor.require(Capability::ReadAudit)?;
    let text = AuditText {
        tenant_id: None,
        customer_id: some(&q.customer_id),
        user_id: some(&q.user_id),
        action: some(&q.action),
        from: some(&q.from),
        to: some(&q.to),
        limit: Some("50"),
        cursor: some(&q.cursor),
    };
    let (entries, next, problem) = match AuditFilter::parse(&text) {
        Ok(filter) => {
            let page = state.app.audit_log(&c.actor, &filter).await?;
            let next = page
                .next_cursor
                .map(|cursor| {
                    let kept = [
                        ("customer_id", &q.customer_id),
                        ("user_id", &q.user_id),
                        ("action", &q.action),
                        ("from", &q.from),
                        ("to", &q.to),
                    ];
                    let base =
                        serde_urlencoded::to_string(kept.iter().filter(|(_, v)| !v.is_empty()).collect::<Vec<_>>())
                            .unwrap_or_default();
                    format!("/admin/audit?{base}&cursor={}", urlencode(&cursor))
                })
                .unwrap_or_default();
            (page.items, next, String::new())
        }
        Err(error) => {
            let text = FieldErrors::of(&error, c.tr)
                .all()
                .into_iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; ");
            (Vec::new(), String::new(), text)
        }
    };
    Ok(render(&AuditPage { s: c.shell("admin-audit", "admin"), t: c.tr, q, entries, next, problem }))
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardPage {
    s: Shell,
    t: Tr,
    f: TenantFigures,
    searches: usize,
    search_p95: String,
    import_rate: String,
}

async fn dashboard(State(state): State<AppState>, c: Console) -> Result<Response, PageError> {
    let f = state.app.tenant_figures(&c.actor).await?;
    let (searches, p95) = state.search_timings.p95();
    let search_p95 =
        p95.map(|d| format!("{} ms", c.tr.decimal(d.as_secs_f64() * 1000.0, 1))).unwrap_or_else(|| "–".into());
    let import_rate = f.import_rows_per_second.map(|r| c.tr.decimal(r, 0)).unwrap_or_else(|| "–".into());
    Ok(render(&DashboardPage { s: c.shell("admin-dashboard", "admin"), t: c.tr, f, searches, search_p95, import_rate }))
}

#[derive(Template)]
#[template(path = "admin/global.html")]
struct GlobalPage {
    s: Shell,
    t: Tr,
    entries: Vec<GlobalEntryView>,
    next: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct GlobalQuery {
    #[serde(default)]
    cursor: String,
}

async fn global_list(
    State(state): State<AppState>,
    c: Console,
    Query(q): Query<GlobalQuery>,
) -> Result<Response, PageError> {
    let paging = Paging::parse(Some("50"), some(&q.cursor))?;
    let page = state.app.global_entries(&c.actor, true, paging).await?;
    let next = page
        .next_cursor
        .map(|cursor| format!("/platform/global-blacklist?cursor={}", urlencode(&cursor)))
        .unwrap_or_default();
    Ok(render(&GlobalPage { s: c.shell("global-title", "platform"), t: c.tr, entries: page.items, next }))
}

async fn lift_global(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { c, form }: ConsoleForm,
) -> Result<Response, PageError> {
    let id: GlobalEntryId = id.parse().map_err(|_| PageError(Error::NotFound("global entry")))?;
    state.app.lift_global_entry(&c.actor, id, &LiftInput { note: form.text("note") }).await?;
    Ok(Redirect::to("/platform/global-blacklist").into_response())
}
