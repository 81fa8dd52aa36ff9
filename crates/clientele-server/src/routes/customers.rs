//! `/customers`: the customer records, their notes, delete and restore.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use clientele_core::Error;
use clientele_core::customers::input::CustomerInput;
use clientele_core::customers::list::{FilterText, ListRequest};
use clientele_core::customers::notes::{Note, NoteInput};
use clientele_core::customers::patch::CustomerPatch;
use clientele_core::customers::record::CustomerKind;
use clientele_core::customers::view::{CustomerPage, CustomerRead, CustomerView, SavedCustomer};
use clientele_core::ids::CustomerId;
use clientele_core::values::PhoneStatus;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Can, Id, IfMatch, Json, Query, TenantAdmin, TenantMember, etag, needs};
use crate::problem::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_customers, create_customer))
        .routes(routes!(get_customer, update_customer, delete_customer))
        .routes(routes!(restore_customer))
        .routes(routes!(list_notes, add_note))
}

/// A customer's notes, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteList {
    /// The notes.
    pub items: Vec<Note>,
}

/// The list filters of a query struct that has them all as text fields (`ListParams`, and the
/// export's `ExportParams`), as [`FilterText`].
macro_rules! filter_text {
    ($params:expr) => {
        clientele_core::customers::list::FilterText {
            kind: $params.kind.as_deref(),
            vip: $params.vip.as_deref(),
            blacklisted: $params.blacklisted.as_deref(),
            phone_status: $params.phone_status.as_deref(),
            partner_id: $params.partner_id.as_deref(),
            created_from: $params.created_from.as_deref(),
            created_to: $params.created_to.as_deref(),
            documents: $params.documents.as_deref(),
            include_deleted: $params.include_deleted.as_deref(),
        }
    };
}

pub(crate) use filter_text;

/// Query parameters of `GET /customers`. All are optional; unknown ones are refused.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `client`, `partner` or `staff`.
    #[param(value_type = Option<CustomerKind>)]
    pub kind: Option<String>,
    /// `true` for VIPs only, `false` for non-VIPs only.
    #[param(value_type = Option<bool>)]
    pub vip: Option<String>,
    /// `true` for blacklisted customers only (tenant or global badge), `false` for the others.
    #[param(value_type = Option<bool>)]
    pub blacklisted: Option<String>,
    /// `valid`, `verified` or `unverified` (needs review).
    #[param(value_type = Option<PhoneStatus>)]
    pub phone_status: Option<String>,
    /// Search: fragments of names, email, tax code, licence number or phone digits, accent- and
    /// typo-tolerant; results are ranked (exact word, prefix, substring, typo), then newest first.
    pub q: Option<String>,
    /// Only clients of this partner company.
    #[param(value_type = Option<uuid::Uuid>)]
    pub partner_id: Option<String>,
    /// Created on or after this date (`YYYY-MM-DD`, UTC) or instant (RFC 3339).
    #[param(value_type = Option<String>)]
    pub created_from: Option<String>,
    /// Created on or before this date (`YYYY-MM-DD`, the whole day, UTC) or instant (RFC 3339).
    #[param(value_type = Option<String>)]
    pub created_to: Option<String>,
    /// `incomplete`: only customers missing a required document (an expired one counts as
    /// missing); `complete`: only those holding every one.
    pub documents: Option<String>,
    /// Include soft-deleted customers (admins and operators).
    #[param(value_type = Option<bool>)]
    pub include_deleted: Option<String>,
    /// Page size, 1 to 200 (others are refused); default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListParams {
    /// The list's filters as text.
    pub(crate) fn filters(&self) -> FilterText<'_> {
        filter_text!(self)
    }

    /// The request, parsed (`400` naming every bad parameter).
    pub(crate) fn request(&self) -> Result<ListRequest, Error> {
        ListRequest::parse(&self.filters(), self.q.as_deref(), self.limit.as_deref(), self.cursor.as_deref())
    }
}

/// List customers, newest first, with keyset pagination and filters.
///
/// Partner users see only their own clients; drivers see only the contact fields of customers
/// on confirmed or active orders assigned to them.
#[utoipa::path(
    get,
    path = "/customers",
    tag = "customers",
    params(ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CustomerPage),
        (status = 400, description = "Bad parameter or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_customers(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<CustomerPage>, ApiError> {
    let request = params.request()?;
    let started = std::time::Instant::now();
    let page = state.app.list_customers(&actor, &request).await?;
    if request.q.as_deref().is_some_and(|q| !q.trim().is_empty()) {
        state.search_timings.record(started.elapsed());
    }
    Ok(axum::Json(page))
}

/// Create a customer (client, partner company or staff).
///
/// The answer carries `warnings`, e.g. `duplicate_email` with the ids of the other customers
/// that have the same email: a warning, never a refusal.
#[utoipa::path(
    post,
    path = "/customers",
    tag = "customers",
    request_body = CustomerInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = SavedCustomer, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Duplicate external_ref", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_customer(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Json(input): Json<CustomerInput>,
) -> Result<impl IntoResponse, ApiError> {
    let saved = state.app.create_customer(&actor, input).await?;
    let customer = &saved.view.customer;
    let location = format!("/api/v1/customers/{}", customer.id);
    let [etag] = etag(customer.version);
    Ok((StatusCode::CREATED, [(header::LOCATION, location), etag], axum::Json(saved)))
}

/// Get a customer, with its badges and notes timeline (drivers: contact fields only).
#[utoipa::path(
    get,
    path = "/customers/{id}",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "Customer id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CustomerRead, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_customer(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<CustomerId>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(match state.app.customer(&actor, id).await? {
        CustomerRead::Full(detail) => {
            (etag(detail.view.customer.version), axum::Json(CustomerRead::Full(detail))).into_response()
        }
        contact => axum::Json(contact).into_response(),
    })
}

/// Change a customer with a JSON merge patch (RFC 7396).
///
/// Send only the fields to change; `null` clears a field; nested objects merge. Send the
/// version you read as `If-Match: "3"` or as `"version": 3`: a stale version is
/// `409 version_conflict`. Only admins may change `vip`. A patch that changes nothing is not
/// written.
#[utoipa::path(
    patch,
    path = "/customers/{id}",
    tag = "customers",
    params(
        ("id" = uuid::Uuid, Path, description = "Customer id"),
        ("If-Match" = Option<String>, Header, description = "The version being changed, e.g. \"3\""),
    ),
    request_body(content = CustomerInput, content_type = "application/merge-patch+json"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SavedCustomer, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Stale version, deleted customer or duplicate external_ref", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_customer(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<CustomerId>,
    IfMatch(version): IfMatch,
    Json(patch): Json<serde_json::Value>,
) -> Result<impl IntoResponse, ApiError> {
    let saved = state.app.update_customer(&actor, id, CustomerPatch::parse(patch)?, version).await?;
    Ok((etag(saved.view.customer.version), axum::Json(saved)))
}

/// Soft-delete a customer: it leaves lists and search, and keeps its history.
#[utoipa::path(
    delete,
    path = "/customers/{id}",
    tag = "customers",
    params(
        ("id" = uuid::Uuid, Path, description = "Customer id"),
        ("If-Match" = Option<String>, Header, description = "Delete only if still at this version"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted (or already deleted)"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete_customer(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<CustomerId>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.app.delete_customer(&actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Restore a soft-deleted customer (admins).
#[utoipa::path(
    post,
    path = "/customers/{id}/restore",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "Customer id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CustomerView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not deleted", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn restore_customer(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<CustomerId>,
) -> Result<impl IntoResponse, ApiError> {
    let view = state.app.restore_customer(&actor, id).await?;
    Ok((etag(view.customer.version), axum::Json(view)))
}

/// A customer's notes, newest first.
#[utoipa::path(
    get,
    path = "/customers/{id}/notes",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "Customer id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = NoteList),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_notes(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<CustomerId>,
) -> Result<axum::Json<NoteList>, ApiError> {
    Ok(axum::Json(NoteList { items: state.app.notes(&actor, id).await? }))
}

/// Add a note to a customer's timeline.
#[utoipa::path(
    post,
    path = "/customers/{id}/notes",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "Customer id")),
    request_body = NoteInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Note),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn add_note(
    State(state): State<AppState>,
    Can(actor, _): Can<needs::AddNote>,
    Id(id): Id<CustomerId>,
    Json(input): Json<NoteInput>,
) -> Result<impl IntoResponse, ApiError> {
    let note = state.app.add_note(&actor, id, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(note)))
}
