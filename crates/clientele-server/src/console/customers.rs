//! Customers: the search-as-you-type list with its badges and filters, the profile (every
//! field, documents, notes, orders, blacklist history, audit trail), the one form for new
//! clients, partners and staff, editing, notes, documents, delete and restore, blacklisting.
//!
//! Everything goes through the services the API calls: forms become `CustomerInput` or a merge
//! patch, and the core's field errors come back beside their fields.

use std::collections::HashMap;
use std::time::Instant;

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use clientele_core::accounts::access::Capability;
use clientele_core::audit::entry::AuditEntry;
use clientele_core::audit::services::{AuditFilter, AuditText};
use clientele_core::blacklist::record::{BlacklistEntry, BlacklistStatus, ReasonCode, Scope};
use clientele_core::blacklist::services::{BlacklistInput, LiftInput};
use clientele_core::customers::input::CustomerInput;
use clientele_core::customers::list::{FilterText, ListRequest};
use clientele_core::customers::notes::{Note, NoteInput};
use clientele_core::customers::patch::CustomerPatch;
use clientele_core::customers::record::{Customer, CustomerKind};
use clientele_core::customers::view::{CustomerContact, CustomerPage, CustomerRead, CustomerView, WarningCode};
use clientele_core::documents::record::Document;
use clientele_core::ids::{CustomerId, DocumentId};
use clientele_core::orders::record::Order;
use clientele_core::paging::Paging;
use clientele_core::values::{PhoneE164, PhoneStatus};
use clientele_core::{Error, ErrorCode};
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::console::errors::{FieldErrors, PageError};
use crate::console::forms::{FieldGroup, FieldMaker, FormField, flatten, json_of, values_of};
use crate::console::i18n::Tr;
use crate::console::session::{Console, ConsoleForm, FormData, check_csrf, is_htmx, render, urlencode};
use crate::console::shell::Shell;

pub(crate) fn routes() -> Router<AppState> {
    let uploads =
        Router::new().route("/customers/{id}/documents", post(upload_document)).layer(DefaultBodyLimit::disable());
    Router::new()
        .route("/customers", get(list).post(create))
        .route("/customers/results", get(results))
        .route("/customers/new", get(new_form))
        .route("/customers/phone-preview", get(phone_preview))
        .route("/customers/{id}", get(profile).post(update))
        .route("/customers/{id}/edit", get(edit_form))
        .route("/customers/{id}/notes", post(add_note))
        .route("/customers/{id}/delete", post(delete))
        .route("/customers/{id}/restore", post(restore))
        .route("/customers/{id}/blacklist", post(blacklist))
        .route("/customers/{id}/blacklist/lift", post(lift_blacklist))
        .route("/documents/{id}/file", get(document_file))
        .merge(uploads)
}

/// A badge: its style class and its text.
#[derive(Debug, Clone)]
pub struct Badge {
    /// `vip`, `bad`, `warn`, `ok` or `muted`.
    pub class: &'static str,
    /// The text.
    pub label: String,
}

/// The badges of a customer, in the order a clerk reads them: risk first.
pub fn badges(tr: Tr, view: &CustomerView) -> Vec<Badge> {
    let mut badges = Vec::new();
    let mut push = |class, key: &str| badges.push(Badge { class, label: tr.t(key).to_owned() });
    match view.blacklist.status {
        BlacklistStatus::Global => push("bad", "badge-blacklist-global"),
        BlacklistStatus::Tenant => push("bad", "badge-blacklist-tenant"),
        BlacklistStatus::None => {}
    }
    if view.deleted {
        push("muted", "badge-deleted");
    }
    if view.customer.vip {
        push("vip", "badge-vip");
    }
    match view.customer.data.kind {
        CustomerKind::Partner => push("muted", "kind-partner"),
        CustomerKind::Staff => push("muted", "kind-staff"),
        CustomerKind::Client => {}
    }
    if let Some(documents) = &view.documents {
        if !documents.complete {
            push("warn", "badge-docs-missing");
        } else if !documents.expiring_soon.is_empty() {
            push("warn", "badge-docs-expiring");
        } else {
            push("ok", "badge-docs-complete");
        }
    }
    if view.customer.phone_status == Some(PhoneStatus::Unverified) {
        push("warn", "badge-phone-review");
    }
    badges
}

/// Required documents as people say them: `passport|id_card` is "Passport or Identity card".
pub fn requirements_text(tr: Tr, names: &[String]) -> String {
    names
        .iter()
        .map(|name| {
            name.split('|').map(|kind| tr.tk("doc-", kind)).collect::<Vec<_>>().join(&format!(" {} ", tr.t("or")))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A blacklist status as the templates name it.
pub fn status_name(status: BlacklistStatus) -> &'static str {
    match status {
        BlacklistStatus::None => "none",
        BlacklistStatus::Tenant => "tenant",
        BlacklistStatus::Global => "global",
    }
}

/// A customer in a list of results.
#[derive(Debug, Clone)]
pub struct ResultRow {
    /// Where it links to.
    pub href: String,
    /// The name.
    pub name: String,
    /// Email and phone.
    pub contact: String,
    /// Licence, tax code, city: what tells two namesakes apart.
    pub detail: String,
    /// The badges.
    pub badges: Vec<Badge>,
}

impl ResultRow {
    fn of(tr: Tr, view: &CustomerView, href: String) -> Self {
        let c = &view.customer;
        let contact = [
            c.data.email.as_ref().map(|e| e.as_str().to_owned()),
            c.data.phone.as_ref().map(|p| p.as_str().to_owned()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
        let detail = [
            c.data.birth_date.map(|d| tr.date(&d)),
            c.data.address.as_ref().and_then(|a| a.city.clone()),
            c.data.tax_code.clone(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
        Self { href, name: c.display_name(), contact, detail, badges: badges(tr, view) }
    }

    fn of_contact(contact: &CustomerContact) -> Self {
        let name = match (&contact.first_name, &contact.last_name, &contact.company_name) {
            (Some(f), Some(l), _) => format!("{f} {l}"),
            (_, _, Some(company)) => company.clone(),
            (Some(n), None, _) | (None, Some(n), _) => n.to_string(),
            _ => String::new(),
        };
        let line = [
            contact.email.as_ref().map(|e| e.as_str().to_owned()),
            contact.phone.as_ref().map(|p| p.as_str().to_owned()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
        Self {
            href: format!("/customers/{}", contact.id),
            name,
            contact: line,
            detail: String::new(),
            badges: Vec::new(),
        }
    }
}

/// The list's query: the search, every filter, the page.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    pub(crate) q: String,
    #[serde(default)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) vip: String,
    #[serde(default)]
    pub(crate) blacklisted: String,
    #[serde(default)]
    pub(crate) partner_id: String,
    #[serde(default)]
    pub(crate) created_from: String,
    #[serde(default)]
    pub(crate) created_to: String,
    #[serde(default)]
    pub(crate) documents: String,
    #[serde(default)]
    pub(crate) phone_status: String,
    #[serde(default)]
    pub(crate) include_deleted: String,
    #[serde(default)]
    pub(crate) cursor: String,
    /// Where a picked result goes: the profile (default) or the order form.
    #[serde(default)]
    pub(crate) pick: String,
}

fn some(text: &str) -> Option<&str> {
    let text = text.trim();
    (!text.is_empty()).then_some(text)
}

impl ListQuery {
    fn request(&self) -> Result<ListRequest, Error> {
        let filters = FilterText {
            kind: some(&self.kind),
            vip: some(&self.vip),
            blacklisted: some(&self.blacklisted),
            phone_status: some(&self.phone_status),
            partner_id: some(&self.partner_id),
            created_from: some(&self.created_from),
            created_to: some(&self.created_to),
            documents: some(&self.documents),
            include_deleted: some(&self.include_deleted),
        };
        ListRequest::parse(&filters, some(&self.q), Some("25"), some(&self.cursor))
    }

    /// The query string of this search without the cursor (for the next page's link).
    fn without_cursor(&self) -> String {
        let pairs = [
            ("q", &self.q),
            ("kind", &self.kind),
            ("vip", &self.vip),
            ("blacklisted", &self.blacklisted),
            ("partner_id", &self.partner_id),
            ("created_from", &self.created_from),
            ("created_to", &self.created_to),
            ("documents", &self.documents),
            ("phone_status", &self.phone_status),
            ("include_deleted", &self.include_deleted),
            ("pick", &self.pick),
        ];
        let kept: Vec<(&str, &String)> = pairs.into_iter().filter(|(_, v)| !v.trim().is_empty()).collect();
        serde_urlencoded::to_string(kept).unwrap_or_default()
    }

    fn filtered(&self) -> bool {
        [
            &self.kind,
            &self.vip,
            &self.blacklisted,
            &self.created_from,
            &self.created_to,
            &self.documents,
            &self.phone_status,
            &self.include_deleted,
        ]
        .iter()
        .any(|v| !v.trim().is_empty())
    }
}

/// One page of results, as both the full page and the htmx partial show it.
#[derive(Debug, Default)]
pub struct Results {
    /// The rows.
    pub rows: Vec<ResultRow>,
    /// The next page's URL, if there is one.
    pub next: String,
    /// Whether a search or filter was given (an empty list then says "nothing found").
    pub searched: bool,
    /// The problem with the query, if any (a bad date), in the reader's language.
    pub problem: String,
    /// The search these are the results of (scripts wait for it).
    pub query: String,
}

/// Runs the list query as the actor, timing searches for the dashboard.
pub(crate) async fn search(state: &AppState, c: &Console, query: &ListQuery) -> Result<Results, PageError> {
    let request = match query.request() {
        Ok(request) => request,
        Err(error) => {
            let problem: Vec<String> =
                FieldErrors::of(&error, c.tr).all().into_iter().map(|(f, m)| format!("{f}: {m}")).collect();
            return Ok(Results { problem: problem.join("; "), ..Results::default() });
        }
    };
    let started = Instant::now();
    let page = state.app.list_customers(&c.actor, &request).await?;
    if request.q.as_deref().is_some_and(|q| !q.trim().is_empty()) {
        state.search_timings.record(started.elapsed());
    }
    let pick_order = query.pick == "order";
    let href = |id: CustomerId| {
        if pick_order { format!("/orders/new?customer={id}") } else { format!("/customers/{id}") }
    };
    let (rows, next_cursor) = match page {
        CustomerPage::Full(page) => {
            (page.items.iter().map(|v| ResultRow::of(c.tr, v, href(v.customer.id))).collect(), page.next_cursor)
        }
        CustomerPage::Contacts(page) => (page.items.iter().map(ResultRow::of_contact).collect(), page.next_cursor),
    };
    let next = next_cursor
        .map(|cursor| {
            let base = query.without_cursor();
            let sep = if base.is_empty() { "" } else { "&" };
            format!("/customers?{base}{sep}cursor={}", urlencode(&cursor))
        })
        .unwrap_or_default();
    let searched = !query.q.trim().is_empty() || query.filtered();
    Ok(Results { rows, next, searched, problem: String::new(), query: query.q.clone() })
}

#[derive(Template)]
#[template(path = "customers/list.html")]
struct ListPage {
    s: Shell,
    t: Tr,
    q: ListQuery,
    results: Results,
    can_create: bool,
    admin: bool,
}

#[derive(Template)]
#[template(path = "customers/results.html")]
struct ResultsPartial {
    t: Tr,
    results: Results,
}

async fn list(
    State(state): State<AppState>,
    c: Console,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let results = search(&state, &c, &query).await?;
    let page = ListPage {
        s: c.shell("customers-title", "customers"),
        t: c.tr,
        can_create: c.can(Capability::CreateCustomer),
        admin: c.can(Capability::RestoreCustomer),
        q: query,
        results,
    };
    Ok(render(&page))
}

/// `GET /customers/results`: the results alone, for search-as-you-type.
async fn results(
    State(state): State<AppState>,
    c: Console,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let results = search(&state, &c, &query).await?;
    Ok(render(&ResultsPartial { t: c.tr, results }))
}

/// What the profile shows of a customer the reader may see in full.
#[derive(Template)]
#[template(path = "customers/profile.html")]
struct ProfilePage {
    s: Shell,
    t: Tr,
    view: CustomerView,
    missing_documents: String,
    expiring_documents: String,
    blacklist_status: &'static str,
    name: String,
    badges: Vec<Badge>,
    facts: Vec<(String, String)>,
    notes: Vec<Note>,
    documents: Option<Vec<Document>>,
    orders: Option<Vec<Order>>,
    blacklist: Option<Vec<BlacklistEntry>>,
    audit: Option<Vec<AuditEntry>>,
    duplicates: Vec<CustomerId>,
    globally_flagged: bool,
    can_edit: bool,
    can_note: bool,
    can_order: bool,
    can_upload: bool,
    can_pay: bool,
    admin: bool,
    note_error: String,
    upload: UploadForm,
    reasons: Vec<(String, String)>,
    global_reasons: Vec<String>,
    blacklist_errors: FieldErrors,
}

/// The document upload form.
#[derive(Debug, Clone, Default)]
pub struct UploadForm {
    /// The fields (kind, number, dates).
    pub fields: Vec<FormField>,
    /// The file's error, if any.
    pub file_error: String,
    /// A refusal that is not a field's.
    pub problem: String,
}

#[derive(Template)]
#[template(path = "customers/contact.html")]
struct ContactPage {
    s: Shell,
    t: Tr,
    contact: CustomerContact,
    name: String,
}

/// The profile's query: what the last action left to say.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ProfileQuery {
    #[serde(default)]
    saved: String,
    /// Other customers with the same email (after a save), comma-separated.
    #[serde(default)]
    duplicates: String,
    /// The global blacklist matched (after a save).
    #[serde(default)]
    global: String,
}

async fn profile(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Query(query): Query<ProfileQuery>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let extra = ProfileExtras {
        notice: notice_of(c.tr, &query.saved),
        duplicates: query.duplicates.split(',').filter_map(|s| s.parse().ok()).collect(),
        globally_flagged: query.global == "1",
        ..ProfileExtras::default()
    };
    profile_page(&state, &c, id, extra, StatusCode::OK).await
}

/// A path id that is not a UUID is a customer that does not exist.
pub(crate) fn parse_id<T: std::str::FromStr>(text: &str) -> Result<T, PageError> {
    text.parse().map_err(|_| PageError(Error::NotFound("customer")))
}

fn notice_of(tr: Tr, saved: &str) -> String {
    match saved {
        "created" => tr.t("notice-created").to_owned(),
        "updated" => tr.t("notice-updated").to_owned(),
        "note" => tr.t("notice-note").to_owned(),
        "document" => tr.t("notice-document").to_owned(),
        "deleted" => tr.t("notice-deleted").to_owned(),
        "restored" => tr.t("notice-restored").to_owned(),
        "blacklisted" => tr.t("notice-blacklisted").to_owned(),
        "lifted" => tr.t("notice-lifted").to_owned(),
        "card-added" => tr.t("notice-card-added").to_owned(),
        "card-not-added" => tr.t("notice-card-not-added").to_owned(),
        "card-default" => tr.t("notice-card-default").to_owned(),
        "card-removed" => tr.t("notice-card-removed").to_owned(),
        _ => String::new(),
    }
}

/// What a profile shows beside the record after an action.
#[derive(Debug, Default)]
struct ProfileExtras {
    notice: String,
    duplicates: Vec<CustomerId>,
    globally_flagged: bool,
    note_error: String,
    upload: Option<UploadForm>,
    blacklist_errors: Option<FieldErrors>,
}

async fn profile_page(
    state: &AppState,
    c: &Console,
    id: CustomerId,
    extra: ProfileExtras,
    status: StatusCode,
) -> Result<Response, PageError> {
    let app = &state.app;
    let detail = match app.customer(&c.actor, id).await? {
        CustomerRead::Full(detail) => detail,
        CustomerRead::Contact(contact) => {
            let row = ResultRow::of_contact(&contact);
            let page = ContactPage { s: c.shell_titled(row.name.clone(), "driver"), t: c.tr, name: row.name, contact };
            return Ok((status, render(&page)).into_response());
        }
    };
    let tr = c.tr;
    let documents =
        if c.can(Capability::ManageOrders) { Some(app.documents(&c.actor, id, false).await?) } else { None };
    let orders = if c.can(Capability::ManageOrders) {
        Some(app.customer_orders(&c.actor, id, Paging { after: None, limit: 50 }).await?.items)
    } else {
        None
    };
    let blacklist =
        if c.can(Capability::ReadBlacklist) { Some(app.blacklist_history(&c.actor, id).await?) } else { None };
    let admin = c.can(Capability::ReadAudit);
    let audit = if admin {
        let text = AuditText { customer_id: Some(&id.to_string()), limit: Some("50"), ..AuditText::default() };
        Some(app.audit_log(&c.actor, &AuditFilter::parse(&text)?).await?.items)
    } else {
        None
    };
    let view = detail.view;
    let name = view.customer.display_name();
    let mut shell = c.shell_titled(name.clone(), "customers");
    shell.notice = extra.notice;
    let upload = extra.upload.unwrap_or_else(|| upload_form(tr, &HashMap::new(), &FieldErrors::none(tr)));
    let page = ProfilePage {
        s: shell,
        t: tr,
        badges: badges(tr, &view),
        facts: facts(tr, &view.customer),
        name,
        notes: detail.notes,
        documents,
        orders,
        blacklist,
        audit,
        duplicates: extra.duplicates,
        globally_flagged: extra.globally_flagged,
        can_edit: c.can(Capability::UpdateCustomer) && !view.deleted,
        can_note: c.can(Capability::AddNote),
        can_order: c.can(Capability::ManageOrders) && !view.deleted,
        can_upload: app.may_upload_documents(&c.actor) && !view.deleted,
        can_pay: c.can(Capability::ManagePaymentMethods),
        admin: c.can(Capability::ManageBlacklist),
        note_error: extra.note_error,
        upload,
        reasons: ReasonCode::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), tr.t(&format!("reason-{}", r.as_str())).to_owned()))
            .collect(),
        global_reasons: ReasonCode::ALL
            .iter()
            .filter(|r| r.allowed_globally())
            .map(|r| r.as_str().to_owned())
            .collect(),
        blacklist_errors: extra.blacklist_errors.unwrap_or_else(|| FieldErrors::none(tr)),
        blacklist_status: status_name(view.blacklist.status),
        missing_documents: view.documents.as_ref().map(|d| requirements_text(tr, &d.missing)).unwrap_or_default(),
        expiring_documents: view
            .documents
            .as_ref()
            .map(|d| requirements_text(tr, &d.expiring_soon))
            .unwrap_or_default(),
        view,
    };
    Ok((status, render(&page)).into_response())
}

/// Every field of the record that has a value, labelled, in form order.
fn facts(tr: Tr, customer: &Customer) -> Vec<(String, String)> {
    let mut facts = Vec::new();
    let values = flatten(&serde_json::to_value(&customer.data).unwrap_or(Value::Null));
    for (name, key) in FIELD_LABELS {
        if let Some(value) = values.get(*name) {
            let shown = match *name {
                "kind" => tr.t(&format!("kind-{value}")).to_owned(),
                "birth_date" | "driver_license.issued_on" | "driver_license.expires_on" | "id_document.expires_on" => {
                    time::Date::parse(value, time::macros::format_description!("[year]-[month]-[day]"))
                        .map(|d| tr.date(&d))
                        .unwrap_or_else(|_| value.clone())
                }
                "id_document.type" => tr.t(&format!("iddoc-{value}")).to_owned(),
                _ => value.clone(),
            };
            facts.push((tr.t(key).to_owned(), shown));
        }
    }
    if let Some(status) = customer.phone_status {
        facts.push((tr.t("field-phone_status").to_owned(), tr.t(&format!("phone-{}", status.as_str())).to_owned()));
    }
    facts.push((tr.t("field-created_at").to_owned(), tr.datetime(&customer.created_at)));
    facts.push((tr.t("field-updated_at").to_owned(), tr.datetime(&customer.updated_at)));
    facts
}

/// A form's error summary: each field's label (its name when it has none), its input's id
/// (to jump to it), and the message.
pub fn summary(tr: Tr, errors: &FieldErrors) -> Vec<(String, String, String)> {
    errors
        .all()
        .into_iter()
        .map(|(field, message)| {
            let key = format!("field-{}", field.replace('.', "-"));
            let label = if tr.t(&key) == key { field.clone() } else { tr.t(&key).to_owned() };
            let id = format!("f-{}", field.replace(['.', '_'], "-"));
            (label, id, message)
        })
        .collect()
}

/// The record's fields, in form order, with their labels' message keys.
const FIELD_LABELS: &[(&str, &str)] = &[
    ("kind", "field-kind"),
    ("first_name", "field-first_name"),
    ("last_name", "field-last_name"),
    ("company_name", "field-company_name"),
    ("vat_number", "field-vat_number"),
    ("email", "field-email"),
    ("phone", "field-phone"),
    ("secondary_phone", "field-secondary_phone"),
    ("birth_date", "field-birth_date"),
    ("birth_place.city", "field-birth_place-city"),
    ("birth_place.country", "field-birth_place-country"),
    ("citizenship", "field-citizenship"),
    ("tax_code", "field-tax_code"),
    ("address.line1", "field-address-line1"),
    ("address.line2", "field-address-line2"),
    ("address.postal_code", "field-address-postal_code"),
    ("address.city", "field-address-city"),
    ("address.region", "field-address-region"),
    ("address.country", "field-address-country"),
    ("language", "field-language"),
    ("driver_license.number", "field-driver_license-number"),
    ("driver_license.country", "field-driver_license-country"),
    ("driver_license.issuing_place", "field-driver_license-issuing_place"),
    ("driver_license.issued_on", "field-driver_license-issued_on"),
    ("driver_license.expires_on", "field-driver_license-expires_on"),
    ("id_document.type", "field-id_document-type"),
    ("id_document.number", "field-id_document-number"),
    ("id_document.issuing_country", "field-id_document-issuing_country"),
    ("id_document.issuing_place", "field-id_document-issuing_place"),
    ("id_document.expires_on", "field-id_document-expires_on"),
    ("external_ref", "field-external_ref"),
];

/// The fields a customer form posts (the API's names), but `vip`, `partner_id` and the first note.
const FORM_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "company_name",
    "vat_number",
    "email",
    "phone",
    "secondary_phone",
    "birth_date",
    "birth_place.city",
    "birth_place.country",
    "citizenship",
    "tax_code",
    "address.line1",
    "address.line2",
    "address.postal_code",
    "address.city",
    "address.region",
    "address.country",
    "language",
    "driver_license.number",
    "driver_license.country",
    "driver_license.issuing_place",
    "driver_license.issued_on",
    "driver_license.expires_on",
    "id_document.type",
    "id_document.number",
    "id_document.issuing_country",
    "id_document.issuing_place",
    "id_document.expires_on",
    "external_ref",
];

#[derive(Template)]
#[template(path = "customers/form.html")]
struct CustomerFormPage {
    s: Shell,
    t: Tr,
    action: String,
    editing: bool,
    kind: String,
    kinds: Vec<(String, String)>,
    groups: Vec<FieldGroup>,
    extra: Vec<FormField>,
    version: i64,
    summary: Vec<(String, String, String)>,
    problem: String,
    cancel: String,
}

/// Builds the customer form's groups.
async fn customer_form(
    state: &AppState,
    c: &Console,
    values: &HashMap<String, String>,
    errors: &FieldErrors,
    editing: bool,
) -> Result<(Vec<FieldGroup>, Vec<FormField>), PageError> {
    let tr = c.tr;
    let make = FieldMaker { tr, values, errors };
    let group = |legend: &str, fields: Vec<FormField>| FieldGroup { legend: tr.t(legend).to_owned(), fields };
    let mut phone = make.field("phone", "field-phone", "tel").autocomplete("tel").help(tr, "help-phone");
    phone.phone_preview = true;
    let mut secondary = make.field("secondary_phone", "field-secondary_phone", "tel");
    secondary.phone_preview = true;
    let licence_number = make.field("driver_license.number", "field-driver_license-number", "text");
    let mut issued = make.field("driver_license.issued_on", "field-driver_license-issued_on", "date");
    issued.required_with = licence_number.id.clone();
    let mut expires = make.field("driver_license.expires_on", "field-driver_license-expires_on", "date");
    expires.required_with = licence_number.id.clone();
    let id_types = [
        ("", "choose"),
        ("passport", "iddoc-passport"),
        ("id_card", "iddoc-id_card"),
        ("residence_permit", "iddoc-residence_permit"),
        ("other", "iddoc-other"),
    ];
    let groups = vec![
        group(
            "group-identity",
            vec![
                make.field("first_name", "field-first_name", "text").autocomplete("given-name").help(tr, "help-names"),
                make.field("last_name", "field-last_name", "text").autocomplete("family-name"),
                make.field("company_name", "field-company_name", "text")
                    .autocomplete("organization")
                    .help(tr, "help-company"),
                make.field("vat_number", "field-vat_number", "text"),
                make.field("birth_date", "field-birth_date", "date"),
                make.field("birth_place.city", "field-birth_place-city", "text"),
                make.field("birth_place.country", "field-birth_place-country", "text").help(tr, "help-country"),
                make.field("citizenship", "field-citizenship", "text"),
                make.field("tax_code", "field-tax_code", "text"),
            ],
        ),
        group(
            "group-contact",
            vec![
                make.field("email", "field-email", "email").autocomplete("email"),
                phone,
                secondary,
                make.field("language", "field-language", "text").help(tr, "help-language"),
            ],
        ),
        group(
            "group-address",
            vec![
                make.field("address.line1", "field-address-line1", "text").autocomplete("address-line1"),
                make.field("address.line2", "field-address-line2", "text").autocomplete("address-line2"),
                make.field("address.postal_code", "field-address-postal_code", "text").autocomplete("postal-code"),
                make.field("address.city", "field-address-city", "text").autocomplete("address-level2"),
                make.field("address.region", "field-address-region", "text"),
                make.field("address.country", "field-address-country", "text"),
            ],
        ),
        group(
            "group-licence",
            vec![
                licence_number,
                make.field("driver_license.country", "field-driver_license-country", "text"),
                make.field("driver_license.issuing_place", "field-driver_license-issuing_place", "text"),
                issued,
                expires,
            ],
        ),
        group(
            "group-id-document",
            vec![
                make.select("id_document.type", "field-id_document-type", &id_types),
                make.field("id_document.number", "field-id_document-number", "text"),
                make.field("id_document.issuing_country", "field-id_document-issuing_country", "text"),
                make.field("id_document.issuing_place", "field-id_document-issuing_place", "text"),
                make.field("id_document.expires_on", "field-id_document-expires_on", "date"),
            ],
        ),
    ];
    let mut extra = vec![make.field("external_ref", "field-external_ref", "text")];
    if c.can(Capability::ManageOrders) {
        // Admins and operators link a client to a partner company; partners' clients are theirs.
        let mut partners = make.field("partner_id", "field-partner_id", "select");
        partners.options = vec![(String::new(), tr.t("none").to_owned())];
        let request = ListRequest::parse(
            &FilterText { kind: Some("partner"), ..FilterText::default() },
            None,
            Some("200"),
            None,
        )?;
        if let CustomerPage::Full(page) = state.app.list_customers(&c.actor, &request).await? {
            partners.options.extend(page.items.iter().map(|v| (v.customer.id.to_string(), v.customer.display_name())));
        }
        extra.push(partners);
    }
    if c.can(Capability::SetVip) {
        extra.push(make.field("vip", "field-vip", "checkbox"));
    }
    if !editing && c.can(Capability::AddNote) {
        extra.push(make.field("note", "field-first-note", "textarea"));
    }
    Ok((groups, extra))
}

fn kinds(tr: Tr) -> Vec<(String, String)> {
    ["client", "partner", "staff"].iter().map(|k| ((*k).to_owned(), tr.t(&format!("kind-{k}")).to_owned())).collect()
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct NewQuery {
    #[serde(default)]
    kind: String,
}

async fn new_form(
    State(state): State<AppState>,
    c: Console,
    Query(query): Query<NewQuery>,
) -> Result<Response, PageError> {
    c.actor.require(Capability::CreateCustomer)?;
    let values = HashMap::new();
    let errors = FieldErrors::none(c.tr);
    let (groups, extra) = customer_form(&state, &c, &values, &errors, false).await?;
    let kind = if query.kind.is_empty() { "client".to_owned() } else { query.kind };
    let page = CustomerFormPage {
        s: c.shell("new-customer-title", "new-customer"),
        t: c.tr,
        action: "/customers".into(),
        editing: false,
        kinds: kinds(c.tr),
        kind,
        groups,
        extra,
        version: 0,
        summary: Vec::new(),
        problem: String::new(),
        cancel: "/customers".into(),
    };
    Ok(render(&page))
}

/// The customer input a create form stands for.
fn input_of(form: &FormData, admin: bool) -> Result<CustomerInput, Error> {
    let mut object = json_of(form, FORM_FIELDS, false);
    super::forms::read_countries(&mut object);
    if let Some(kind) = form.get("kind") {
        object.insert("kind".into(), Value::String(kind.to_owned()));
    }
    if let Some(partner) = form.get("partner_id") {
        object.insert("partner_id".into(), Value::String(partner.to_owned()));
    }
    if admin && form.checked("vip") {
        object.insert("vip".into(), Value::Bool(true));
    }
    if let Some(note) = form.get("note") {
        object.insert("notes".into(), Value::Array(vec![Value::String(note.to_owned())]));
    }
    clientele_core::json::from_value(Value::Object(object))
}

async fn create(State(state): State<AppState>, ConsoleForm { c, form }: ConsoleForm) -> Result<Response, PageError> {
    let input = input_of(&form, c.can(Capability::SetVip));
    let saved = match input {
        Ok(input) => state.app.create_customer(&c.actor, input).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(saved) => {
            Ok(Redirect::to(&saved_location(&saved.view.customer.id, "created", &saved.warnings)).into_response())
        }
        Err(error @ (Error::Invalid(_) | Error::Conflict { .. })) => {
            let values = values_of(&form);
            let errors = FieldErrors::of(&error, c.tr);
            let (groups, extra) = customer_form(&state, &c, &values, &errors, false).await?;
            let problem = if errors.is_empty() { error.to_string() } else { String::new() };
            let page = CustomerFormPage {
                s: c.shell("new-customer-title", "new-customer"),
                t: c.tr,
                action: "/customers".into(),
                editing: false,
                kinds: kinds(c.tr),
                kind: form.text("kind").unwrap_or_else(|| "client".into()),
                groups,
                extra,
                version: 0,
                summary: summary(c.tr, &errors),
                problem,
                cancel: "/customers".into(),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// The profile after a save, carrying its warnings (duplicate emails, a global match).
fn saved_location(id: &CustomerId, what: &str, warnings: &[clientele_core::customers::view::Warning]) -> String {
    let mut url = format!("/customers/{id}?saved={what}");
    for warning in warnings {
        match warning.code {
            WarningCode::DuplicateEmail => {
                let ids: Vec<String> = warning.customer_ids.iter().map(|i| i.to_string()).collect();
                url.push_str(&format!("&duplicates={}", ids.join(",")));
            }
            WarningCode::GloballyBlacklisted => url.push_str("&global=1"),
        }
    }
    url
}

async fn edit_form(State(state): State<AppState>, c: Console, Path(id): Path<String>) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id)?;
    c.actor.require(Capability::UpdateCustomer)?;
    let CustomerRead::Full(detail) = state.app.customer(&c.actor, id).await? else {
        return Err(Error::NotFound("customer").into());
    };
    let customer = detail.view.customer;
    let mut values = flatten(&serde_json::to_value(&customer.data).unwrap_or(Value::Null));
    values.insert("vip".into(), customer.vip.to_string());
    edit_page(&state, &c, &customer, values, FieldErrors::none(c.tr), String::new(), StatusCode::OK).await
}

async fn edit_page(
    state: &AppState,
    c: &Console,
    customer: &Customer,
    values: HashMap<String, String>,
    errors: FieldErrors,
    problem: String,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (groups, extra) = customer_form(state, c, &values, &errors, true).await?;
    let page = CustomerFormPage {
        s: c.shell_titled(format!("{} · {}", c.tr.t("edit-customer-title"), customer.display_name()), "customers"),
        t: c.tr,
        action: format!("/customers/{}", customer.id),
        editing: true,
        kinds: kinds(c.tr),
        kind: customer.data.kind.as_str().to_owned(),
        groups,
        extra,
        version: customer.version,
        summary: summary(c.tr, &errors),
        problem,
        cancel: format!("/customers/{}", customer.id),
    };
    Ok((status, render(&page)).into_response())
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { c, form }: ConsoleForm,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id)?;
    let mut patch = json_of(&form, FORM_FIELDS, true);
    super::forms::read_countries(&mut patch);
    if c.can(Capability::ManageOrders) {
        patch.insert("partner_id".into(), form.text("partner_id").map(Value::String).unwrap_or(Value::Null));
    }
    if c.can(Capability::SetVip) {
        patch.insert("vip".into(), Value::Bool(form.checked("vip")));
    }
    let version: Option<i64> = form.get("version").and_then(|v| v.parse().ok());
    let result = match CustomerPatch::parse(Value::Object(patch)) {
        Ok(patch) => state.app.update_customer(&c.actor, id, patch, version).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(saved) => Ok(Redirect::to(&saved_location(&id, "updated", &saved.warnings)).into_response()),
        Err(error @ (Error::Invalid(_) | Error::Conflict { .. })) => {
            let CustomerRead::Full(detail) = state.app.customer(&c.actor, id).await? else {
                return Err(Error::NotFound("customer").into());
            };
            let mut values = values_of(&form);
            if !values.contains_key("vip") {
                values.insert("vip".into(), "false".into());
            }
            let conflict = matches!(&error, Error::Conflict { code: ErrorCode::VersionConflict, .. });
            let problem = if conflict {
                c.tr.t("edit-conflict").to_owned()
            } else if matches!(error, Error::Conflict { .. }) {
                error.to_string()
            } else {
                String::new()
            };
            let errors = FieldErrors::of(&error, c.tr);
            let mut customer = detail.view.customer;
            if !conflict {
                // Keep the version the form was made from, so that a fixed form still checks it.
                customer.version = version.unwrap_or(customer.version);
            }
            edit_page(&state, &c, &customer, values, errors, problem, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn add_note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { c, form }: ConsoleForm,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id)?;
    let input = NoteInput { body: form.text("body").unwrap_or_default() };
    match state.app.add_note(&c.actor, id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}?saved=note#notes")).into_response()),
        Err(error @ Error::Invalid(_)) => {
            let note_error = FieldErrors::of(&error, c.tr).get("body");
            let extra = ProfileExtras { note_error, ..ProfileExtras::default() };
            profile_page(&state, &c, id, extra, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { c, form }: ConsoleForm,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id)?;
    let version = form.get("version").and_then(|v| v.parse().ok());
    state.app.delete_customer(&c.actor, id, version).await?;
    Ok(Redirect::to(&format!("/customers/{id}?saved=deleted")).into_response())
}

async fn restore(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { c, .. }: ConsoleForm,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id)?;
    state.app.restore_customer(&c.actor, id).await?;
    Ok(Redirect::to(&format!("/customers/{id}?saved=restored")).into_response())
}

async fn blacklist(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { c, form }: ConsoleForm,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id)?;
    let scope = match form.get("scope") {
        Some("global") => Some(Scope::Global),
        Some("tenant") => Some(Scope::Tenant),
        _ => None,
    };
    let input = BlacklistInput { scope, reason_code: form.text("reason_code"), note: form.text("note") };
    match state.app.blacklist_customer(&c.actor, id, &input).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}?saved=blacklisted#blacklist")).into_response()),
        Err(error @ (Error::Invalid(_) | Error::Conflict { .. })) => {
            let mut errors = FieldErrors::of(&error, c.tr);
            if errors.is_empty() {
                errors = FieldErrors::of(
                    &Error::invalid("scope", clientele_core::FieldCode::Invalid, error.to_string()),
                    c.tr,
                );
            }
            let extra = ProfileExtras { blacklist_errors: Some(errors), ..ProfileExtras::default() };
            profile_page(&state, &c, id, extra, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn lift_blacklist(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { c, form }: ConsoleForm,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id)?;
    state.app.lift_blacklist(&c.actor, id, &LiftInput { note: form.text("note") }).await?;
    Ok(Redirect::to(&format!("/customers/{id}?saved=lifted#blacklist")).into_response())
}

/// The upload form's fields.
fn upload_form(tr: Tr, values: &HashMap<String, String>, errors: &FieldErrors) -> UploadForm {
    let make = FieldMaker { tr, values, errors };
    let kinds = [
        ("driver_license", "doc-driver_license"),
        ("id_card", "doc-id_card"),
        ("passport", "doc-passport"),
        ("insurance", "doc-insurance"),
        ("other", "doc-other"),
    ];
    UploadForm {
        fields: vec![
            make.select("kind", "field-doc-kind", &kinds).required(),
            make.field("number", "field-doc-number", "text"),
            make.field("issuing_country", "field-doc-issuing_country", "text"),
            make.field("issued_on", "field-doc-issued_on", "date"),
            make.field("expires_on", "field-doc-expires_on", "date"),
        ],
        file_error: errors.get("file"),
        problem: String::new(),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CsrfQuery {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

async fn upload_document(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<CsrfQuery>,
    c: Console,
    request: Request,
) -> Result<Response, PageError> {
    let id: CustomerId = parse_id(&id)?;
    check_csrf(&c, request.headers(), Some(&query.csrf))?;
    let max = state.app.max_document_bytes();
    let upload = if state.app.may_upload_documents(&c.actor) {
        let limit = max.saturating_add(256 * 1024);
        let (parts, body) = request.into_parts();
        let limited = Body::new(http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX)));
        crate::routes::documents::read_upload(Request::from_parts(parts, limited), &state, max).await
    } else {
        clientele_core::documents::services::Upload::default()
    };
    let meta = upload.meta.clone();
    match state.app.upload_document(&c.actor, id, upload).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}?saved=document#documents")).into_response()),
        Err(error @ (Error::Invalid(_) | Error::BadRequest { .. })) => {
            let values: HashMap<String, String> = flatten(&serde_json::to_value(&meta).unwrap_or(Value::Null));
            let errors = FieldErrors::of(&error, c.tr);
            let mut form = upload_form(c.tr, &values, &errors);
            if errors.is_empty() {
                form.problem = error.to_string();
            }
            let extra = ProfileExtras { upload: Some(form), ..ProfileExtras::default() };
            profile_page(&state, &c, id, extra, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FileQuery {
    #[serde(default)]
    download: String,
}

/// `GET /documents/{id}/file`: the file, shown in the browser or (`download=1`) saved; each
/// access audited by the service.
async fn document_file(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Query(query): Query<FileQuery>,
) -> Result<Response, PageError> {
    let id: DocumentId = id.parse().map_err(|_| PageError(Error::NotFound("document")))?;
    let download = state.app.download_document(&c.actor, id).await?;
    let file = &download.document.file;
    let name = file.name.clone().unwrap_or_else(|| format!("document-{id}"));
    let disposition = if query.download == "1" { "attachment" } else { "inline" };
    let mut response = download.bytes.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&file.content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    let ascii: String = name.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').collect();
    if let Ok(value) =
        HeaderValue::from_str(&format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{}", urlencode(&name)))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PhoneQuery {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    secondary_phone: String,
}

/// `GET /customers/phone-preview`: the phone as it will be stored, read by the core's own rule
/// in the tenant's region, while the clerk types.
async fn phone_preview(
    State(state): State<AppState>,
    c: Console,
    headers: HeaderMap,
    Query(query): Query<PhoneQuery>,
) -> Result<Response, PageError> {
    let typed = if query.phone.is_empty() { &query.secondary_phone } else { &query.phone };
    let tenant = state.app.tenant_of(&c.actor).await?.ok_or(Error::NotFound("tenant"))?;
    let html = if typed.trim().is_empty() {
        String::new()
    } else {
        match PhoneE164::parse(typed, tenant.phone_region) {
            Ok(phone) => {
                format!("<span class=\"ok\">{}</span> {}", escape(c.tr.t("phone-stored-as")), escape(phone.as_str()))
            }
            Err(problem) => format!("<span class=\"bad\">{}</span>", escape(&problem.message)),
        }
    };
    let _ = is_htmx(&headers);
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}
