//! Blacklists: a customer's entries (`/customers/{id}/blacklist`) and the platform admins' view
//! of the global list (`/blacklist/global`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use clientele_core::Error;
use clientele_core::blacklist::record::BlacklistEntry;
use clientele_core::blacklist::services::{BlacklistInput, GlobalEntryDetail, GlobalEntryView, LiftInput};
use clientele_core::ids::{CustomerId, GlobalEntryId};
use clientele_core::paging::{Page, Paging};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Id, Json, MaybeJson, PlatformAdmin, Query, TenantAdmin, TenantMember};
use crate::problem::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(history, add, lift))
        .routes(routes!(list_global))
        .routes(routes!(get_global, lift_global))
}

/// A customer's blacklist history.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlacklistHistory {
    /// Entries, newest first; at most one is active (`lifted_at` null).
    pub items: Vec<BlacklistEntry>,
}

/// Query parameters of `GET /blacklist/global`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct GlobalListParams {
    /// Include lifted entries.
    #[param(value_type = Option<bool>)]
    pub include_lifted: Option<String>,
    /// Page size, 1 to 200.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl GlobalListParams {
    /// Whether lifted entries are wanted, and the page; `400` naming a bad parameter.
    fn parse(&self) -> Result<(bool, Paging), Error> {
        let paging = Paging::parse(self.limit.as_deref(), self.cursor.as_deref())?;
        match self.include_lifted.as_deref() {
            None | Some("false") => Ok((false, paging)),
            Some("true") => Ok((true, paging)),
            Some(_) => Err(Error::invalid_query("include_lifted", "must be true or false")),
        }
    }
}

/// A customer's blacklist history: added, lifted, by whom, why (admins and operators).
#[utoipa::path(
    get,
    path = "/customers/{id}/blacklist",
    tag = "blacklist",
    params(("id" = Uuid, Path, description = "Customer id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = BlacklistHistory),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn history(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<CustomerId>,
) -> Result<axum::Json<BlacklistHistory>, ApiError> {
    Ok(axum::Json(BlacklistHistory { items: state.app.blacklist_history(&actor, id).await? }))
}

/// Blacklist a customer (admins).
///
/// `scope: global` also puts an anonymous warning on the platform-wide list: it needs the
/// customer's first name, last name and birth date and a contractual reason code, and holds only
/// keyed pseudonyms of the person. The note never leaves the tenant. A tenant entry is upgraded
/// by asking for global scope.
#[utoipa::path(
    post,
    path = "/customers/{id}/blacklist",
    tag = "blacklist",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = BlacklistInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = BlacklistEntry),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already blacklisted, or the customer is deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing or unknown reason code, a tenant-only code with global scope, or a missing name or birth date for global scope", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn add(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<CustomerId>,
    Json(input): Json<BlacklistInput>,
) -> Result<impl IntoResponse, ApiError> {
    let entry = state.app.blacklist_customer(&actor, id, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(entry)))
}

/// Lift a customer's blacklist entry, with a note (admins). Lifts the global entry made with it.
#[utoipa::path(
    delete,
    path = "/customers/{id}/blacklist",
    tag = "blacklist",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = LiftInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The lifted entry", body = BlacklistEntry),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not blacklisted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No note", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn lift(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<CustomerId>,
    MaybeJson(input): MaybeJson<LiftInput>,
) -> Result<axum::Json<BlacklistEntry>, ApiError> {
    let input = input.unwrap_or(LiftInput { note: None });
    Ok(axum::Json(state.app.lift_blacklist(&actor, id, &input).await?))
}

/// The global blacklist, newest first (platform admins).
#[utoipa::path(
    get,
    path = "/blacklist/global",
    tag = "blacklist",
    params(GlobalListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<GlobalEntryView>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_global(
    State(state): State<AppState>,
    PlatformAdmin(actor): PlatformAdmin,
    Query(params): Query<GlobalListParams>,
) -> Result<axum::Json<Page<GlobalEntryView>>, ApiError> {
    let (include_lifted, paging) = params.parse()?;
    Ok(axum::Json(state.app.global_entries(&actor, include_lifted, paging).await?))
}

/// One global entry with the flagging tenant's customer record (platform admins; the view is
/// written to that tenant's audit log).
#[utoipa::path(
    get,
    path = "/blacklist/global/{id}",
    tag = "blacklist",
    params(("id" = Uuid, Path, description = "Global entry id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = GlobalEntryDetail),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_global(
    State(state): State<AppState>,
    PlatformAdmin(actor): PlatformAdmin,
    Id(id): Id<GlobalEntryId>,
) -> Result<axum::Json<GlobalEntryDetail>, ApiError> {
    Ok(axum::Json(state.app.global_entry(&actor, id).await?))
}

/// Lift a global entry (platform admins); the flagging tenant's entry is lifted with it.
#[utoipa::path(
    delete,
    path = "/blacklist/global/{id}",
    tag = "blacklist",
    params(("id" = Uuid, Path, description = "Global entry id")),
    request_body(content = Option<LiftInput>, description = "An optional note"),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Lifted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already lifted", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn lift_global(
    State(state): State<AppState>,
    PlatformAdmin(actor): PlatformAdmin,
    Id(id): Id<GlobalEntryId>,
    MaybeJson(input): MaybeJson<LiftInput>,
) -> Result<StatusCode, ApiError> {
    let input = input.unwrap_or(LiftInput { note: None });
    state.app.lift_global_entry(&actor, id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}
