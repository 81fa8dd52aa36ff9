//! Ca.R.G.O.S., the police contract report: places by name (`/cargos/places`), the tenant's
//! agencies (`/cargos/agencies`), its settings (`/cargos/settings`), the submissions list
//! (`/cargos/submissions`), and an order's record, check and send (`/orders/{id}/cargos`).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use clientele_core::cargos::agencies::{AgencyInput, AgencyView, PlaceKindView, PlaceView};
use clientele_core::cargos::services::OrderReport;
use clientele_core::cargos::settings::{CargosSettingsPatch, CargosSettingsView};
use clientele_core::cargos::setup::PlaceQuery;
use clientele_core::cargos::submissions::{Submission, SubmissionFilter, SubmissionStatus};
use clientele_core::ids::{AgencyId, OrderId};
use clientele_core::paging::{Page, Paging};
use clientele_core::{Error, FieldCode, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Can, Id, IfMatch, Json, Query, TenantAdmin, TenantMember, etag, needs};
use crate::problem::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(places))
        .routes(routes!(list_agencies, create_agency))
        .routes(routes!(get_agency, update_agency, delete_agency))
        .routes(routes!(get_settings, update_settings))
        .routes(routes!(submissions))
        .routes(routes!(order_report))
        .routes(routes!(check_order))
        .routes(routes!(send_order))
}

/// Query parameters of `GET /cargos/places`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PlaceParams {
    /// A name or part of one (accents, case and punctuation ignored: `forlì` finds `FORLI'`),
    /// or a nine-digit code.
    pub q: Option<String>,
    /// The day the places must be valid on, `YYYY-MM-DD` (a birth date for a birth place);
    /// default today.
    #[param(value_type = Option<String>, format = Date)]
    pub on: Option<String>,
    /// `comune`, or `state` (foreign states, ITALIA and APOLIDE: citizenships, births abroad).
    #[param(value_type = Option<PlaceKindView>)]
    pub kind: Option<String>,
    /// At most this many, 1 to 50 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 50)]
    pub limit: Option<String>,
}

/// Places found.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceList {
    /// Best first.
    pub items: Vec<PlaceView>,
}

/// Agencies.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgencyList {
    /// By code.
    pub items: Vec<AgencyView>,
}

/// Query parameters of `GET /cargos/agencies`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AgencyParams {
    /// Include deleted agencies.
    #[param(value_type = Option<bool>)]
    pub include_deleted: Option<String>,
}

/// Query parameters of `GET /cargos/submissions`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SubmissionParams {
    /// Only this status: `pending`, `running`, `checked`, `accepted` or `failed`.
    #[param(value_type = Option<SubmissionStatus>)]
    pub status: Option<String>,
    /// Only this order's.
    #[param(value_type = Option<uuid::Uuid>)]
    pub order_id: Option<String>,
    /// Page size, 1 to 200.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn bad_query(field: &str, message: &str) -> Error {
    Error::InvalidQuery(vec![FieldError::new(field, FieldCode::Invalid, message)])
}

impl PlaceParams {
    fn parse(self) -> Result<PlaceQuery, Error> {
        let q = self.q.unwrap_or_default();
        if q.trim().is_empty() {
            return Err(Error::InvalidQuery(vec![FieldError::new("q", FieldCode::Required, "give a name to search")]));
        }
        let on = match self.on.as_deref() {
            None => None,
            Some(text) => Some(
                clientele_core::values::parse_date(text).map_err(|_| bad_query("on", "must be a date, YYYY-MM-DD"))?,
            ),
        };
        let kind = match self.kind.as_deref() {
            None => None,
            Some("comune") => Some(PlaceKindView::Comune),
            Some("state") => Some(PlaceKindView::State),
            Some(_) => return Err(bad_query("kind", "must be comune or state")),
        };
        let limit = match self.limit.as_deref().map(str::parse::<usize>) {
            None => 20,
            Some(Ok(n)) if (1..=50).contains(&n) => n,
            Some(_) => return Err(bad_query("limit", "must be a whole number from 1 to 50")),
        };
        Ok(PlaceQuery { q, on, kind, limit })
    }
}

/// Search Ca.R.G.O.S. places by name: comuni and states valid on a date (admins and operators).
///
/// How operators pick a place code without typing it: for a birth place, search as of the
/// birth date (`on=1950-05-01`), because comuni merge and a person keeps the code of the comune
/// they were born in. Names are matched ignoring accents, case and punctuation; homonyms are
/// told apart by their province (`CASTRO (BG)`, `CASTRO (LE)`).
#[utoipa::path(
    get,
    path = "/cargos/places",
    tag = "cargos",
    params(PlaceParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PlaceList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn places(
    State(state): State<AppState>,
    Can(actor, _): Can<needs::ReportCargos>,
    Query(params): Query<PlaceParams>,
) -> Result<axum::Json<PlaceList>, ApiError> {
    let items = state.app.search_places(&actor, &params.parse()?)?;
    Ok(axum::Json(PlaceList { items }))
}

/// The tenant's agencies (admins and operators, who pick one on an order).
#[utoipa::path(
    get,
    path = "/cargos/agencies",
    tag = "cargos",
    params(AgencyParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AgencyList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_agencies(
    State(state): State<AppState>,
    Can(actor, _): Can<needs::ReportCargos>,
    Query(params): Query<AgencyParams>,
) -> Result<axum::Json<AgencyList>, ApiError> {
    let include_deleted = match params.include_deleted.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(bad_query("include_deleted", "must be true or false").into()),
    };
    Ok(axum::Json(AgencyList { items: state.app.agencies(&actor, include_deleted).await? }))
}

/// Create an agency as registered on the police portal (admins).
///
/// Every field is checked as the record checks it: the agency id (`code`, AGENZIA_ID) and name
/// in the police's character set, the place a comune of the table valid today, the address and
/// phone long enough.
#[utoipa::path(
    post,
    path = "/cargos/agencies",
    tag = "cargos",
    request_body = AgencyInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = AgencyView, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another agency has this code", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_agency(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Json(input): Json<AgencyInput>,
) -> Result<impl IntoResponse, ApiError> {
    let view = state.app.create_agency(&actor, &input).await?;
    let location = format!("/api/v1/cargos/agencies/{}", view.agency.id);
    let [etag] = etag(view.agency.version);
    Ok((StatusCode::CREATED, [(header::LOCATION, location), etag], axum::Json(view)))
}

/// One agency, deleted or not (admins and operators).
#[utoipa::path(
    get,
    path = "/cargos/agencies/{id}",
    tag = "cargos",
    params(("id" = Uuid, Path, description = "Agency id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AgencyView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_agency(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<AgencyId>,
) -> Result<impl IntoResponse, ApiError> {
    let view = state.app.agency(&actor, id).await?;
    Ok((etag(view.agency.version), axum::Json(view)))
}

/// Change an agency (admins): send the fields that change; `If-Match` or `version` makes it
/// conditional. Orders not yet sent report the agency as it is now.
#[utoipa::path(
    patch,
    path = "/cargos/agencies/{id}",
    tag = "cargos",
    params(
        ("id" = Uuid, Path, description = "Agency id"),
        ("If-Match" = Option<String>, Header, description = "The version being changed"),
    ),
    request_body = AgencyInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = AgencyView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_agency(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<AgencyId>,
    IfMatch(version): IfMatch,
    Json(input): Json<AgencyInput>,
) -> Result<impl IntoResponse, ApiError> {
    let view = state.app.update_agency(&actor, id, &input, version).await?;
    Ok((etag(view.agency.version), axum::Json(view)))
}

/// Delete an agency (admins): it can no longer be picked; orders made at it keep it.
#[utoipa::path(
    delete,
    path = "/cargos/agencies/{id}",
    tag = "cargos",
    params(
        ("id" = Uuid, Path, description = "Agency id"),
        ("If-Match" = Option<String>, Header, description = "The version being deleted"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete_agency(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<AgencyId>,
    IfMatch(version): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.app.delete_agency(&actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's Ca.R.G.O.S. settings (admins): whether credentials are set (never the
/// credentials themselves), what happens when an order becomes active, the tables in use.
#[utoipa::path(
    get,
    path = "/cargos/settings",
    operation_id = "get_cargos_settings",
    tag = "cargos",
    security(("bearer" = [])),
    responses(
        (status = 200, body = CargosSettingsView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_settings(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
) -> Result<axum::Json<CargosSettingsView>, ApiError> {
    Ok(axum::Json(state.app.cargos_settings(&actor).await?))
}

/// Change the tenant's Ca.R.G.O.S. settings (admins; audited, never with the credentials).
///
/// `credentials: {username, password, api_key}` (from the police portal) are sealed with the
/// documents master key and never shown again; `credentials: null` removes them.
/// `on_activation`: `off`, `check` (the record is checked in the background when an order
/// becomes active) or `check_and_send` (and sent when the check passes).
#[utoipa::path(
    patch,
    path = "/cargos/settings",
    operation_id = "update_cargos_settings",
    tag = "cargos",
    request_body = CargosSettingsPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CargosSettingsView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_settings(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Json(patch): Json<CargosSettingsPatch>,
) -> Result<axum::Json<CargosSettingsView>, ApiError> {
    Ok(axum::Json(state.app.update_cargos_settings(&actor, &patch).await?))
}

/// Checks and sends, newest first (admins and operators): `status=failed` lists what did not go
/// through (refused by the police, or not done), automatic ones included.
#[utoipa::path(
    get,
    path = "/cargos/submissions",
    tag = "cargos",
    params(SubmissionParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<Submission>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn submissions(
    State(state): State<AppState>,
    Can(actor, _): Can<needs::ReportCargos>,
    Query(params): Query<SubmissionParams>,
) -> Result<axum::Json<Page<Submission>>, ApiError> {
    let status = match params.status.as_deref() {
        None => None,
        Some(text) => Some(
            SubmissionStatus::parse(text)
                .ok_or_else(|| bad_query("status", "must be pending, running, checked, accepted or failed"))?,
        ),
    };
    let order_id = match params.order_id.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<OrderId>().map_err(|_| bad_query("order_id", "must be an order id (UUID)"))?),
    };
    let paging = Paging::parse(params.limit.as_deref(), params.cursor.as_deref())?;
    let filter = SubmissionFilter { status, order_id };
    Ok(axum::Json(state.app.cargos_submissions(&actor, &filter, paging).await?))
}

/// An order's Ca.R.G.O.S. record (admins and operators): the 1505 characters it would send now
/// and their 46 fields, or every problem that stops it (each naming our field, the police's
/// column, and where to fix it: the order, a customer or an agency); whether this record passed
/// a check; the receipt; every check and send.
#[utoipa::path(
    get,
    path = "/orders/{id}/cargos",
    tag = "cargos",
    params(("id" = Uuid, Path, description = "Order id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrderReport),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The order awaits an override or is cancelled", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn order_report(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<OrderId>,
) -> Result<axum::Json<OrderReport>, ApiError> {
    Ok(axum::Json(state.app.order_report(&actor, id).await?))
}

/// Check an order's record with the police (admins and operators).
///
/// The answer is the submission: `checked`, or `failed` with the police's reasons on our
/// fields. `409 cargos_record_invalid` (with `problems`) when the record has problems of its
/// own; `409 cargos_not_configured` without credentials; `409 cargos_credentials_refused`;
/// `503 cargos_unavailable` on a timeout or a failing service.
#[utoipa::path(
    post,
    path = "/orders/{id}/cargos/check",
    tag = "cargos",
    params(("id" = Uuid, Path, description = "Order id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Submission),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn check_order(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<OrderId>,
) -> Result<axum::Json<Submission>, ApiError> {
    Ok(axum::Json(state.app.check_order(&actor, id).await?))
}

/// Send an order's contract to the police (admins and operators): once, after a check.
///
/// Only a record that passed a check exactly as it is now is sent (`409 cargos_not_checked`
/// otherwise); a contract the police accepted is never sent again (`409 cargos_already_sent`,
/// with its `transaction_id`). An accepted send's `transaction_id` is the receipt.
#[utoipa::path(
    post,
    path = "/orders/{id}/cargos/send",
    tag = "cargos",
    params(("id" = Uuid, Path, description = "Order id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Submission),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn send_order(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<OrderId>,
) -> Result<axum::Json<Submission>, ApiError> {
    Ok(axum::Json(state.app.send_order(&actor, id).await?))
}
