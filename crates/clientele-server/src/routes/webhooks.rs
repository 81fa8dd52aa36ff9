//! Webhooks (admins): endpoints, their signing secrets, their deliveries, replays and tests.

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use clientele_core::ids::{EventId, WebhookId};
use clientele_core::paging::Paging;
use clientele_core::webhooks::record::{Delivery, DeliveryStatus, WebhookEndpoint, WebhookInput};
use clientele_core::webhooks::services::WebhookWithSecret;
use clientele_core::{Error, ErrorCode, FieldCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Id, IfMatch, Json, MaybeJson, Query, TenantAdmin};
use crate::problem::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, update, delete))
        .routes(routes!(rotate_secret))
        .routes(routes!(deliveries))
        .routes(routes!(replay))
        .routes(routes!(test))
}

/// A page of webhook endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookPage {
    /// Endpoints, oldest first.
    pub items: Vec<WebhookEndpoint>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// A page of deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    /// Deliveries, newest first, each with its attempts.
    pub items: Vec<Delivery>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Paging of a list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Paging and a status filter of an endpoint's deliveries.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// `pending`, `succeeded` or `failed`.
    pub status: Option<String>,
    /// Page size, 1 to 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// How long the previous secret keeps signing after a rotation.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateInput {
    /// Seconds the previous secret still signs beside the new one (default: a day; at most 7
    /// days; 0 ends it at once).
    pub overlap_seconds: Option<u64>,
}

/// Add a webhook endpoint (admins). The answer carries its signing secret (`whsec_…`), shown
/// this once.
///
/// The URL must be `https` and must not point at a private network (checked now and at every
/// delivery). `events` lists the event types to send (default `["*"]`, all of them).
#[utoipa::path(
    post,
    path = "/webhooks",
    operation_id = "create_webhook",
    tag = "webhooks",
    request_body = WebhookInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = WebhookWithSecret, headers(("Location" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "This server cannot send webhooks", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Json(input): Json<WebhookInput>,
) -> Result<impl IntoResponse, ApiError> {
    let made = state.app.create_webhook(&actor, &input).await?;
    let location = format!("/api/v1/webhooks/{}", made.endpoint.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], axum::Json(made)))
}

/// The tenant's webhook endpoints (admins).
#[utoipa::path(
    get,
    path = "/webhooks",
    operation_id = "list_webhooks",
    tag = "webhooks",
    params(PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = WebhookPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Query(params): Query<PageParams>,
) -> Result<axum::Json<WebhookPage>, ApiError> {
    let paging = Paging::parse(params.limit.as_deref(), params.cursor.as_deref())?;
    let page = state.app.webhooks(&actor, paging).await?;
    Ok(axum::Json(WebhookPage { items: page.items, next_cursor: page.next_cursor }))
}

/// One webhook endpoint (admins).
#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    operation_id = "get_webhook",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Endpoint id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = WebhookEndpoint),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<WebhookId>,
) -> Result<axum::Json<WebhookEndpoint>, ApiError> {
    Ok(axum::Json(state.app.webhook(&actor, id).await?))
}

/// Change a webhook endpoint (admins): its URL, events, description, or `enabled` (enabling
/// one the system disabled clears the reason). Send the version you read (`version` or
/// `If-Match`).
#[utoipa::path(
    patch,
    path = "/webhooks/{id}",
    operation_id = "update_webhook",
    tag = "webhooks",
    params(
        ("id" = uuid::Uuid, Path, description = "Endpoint id"),
        ("If-Match" = Option<String>, Header, description = "The version being changed, e.g. \"3\""),
    ),
    request_body = WebhookInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = WebhookEndpoint),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<WebhookId>,
    IfMatch(version): IfMatch,
    Json(input): Json<WebhookInput>,
) -> Result<axum::Json<WebhookEndpoint>, ApiError> {
    Ok(axum::Json(state.app.update_webhook(&actor, id, &input, version).await?))
}

/// Delete a webhook endpoint with its deliveries (admins).
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    operation_id = "delete_webhook",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Endpoint id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<WebhookId>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_webhook(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give an endpoint a new signing secret, shown once (admins). The previous one keeps signing
/// beside it for `overlap_seconds` (default a day), so receivers can switch without a gap.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Endpoint id")),
    request_body(content = Option<RotateInput>, description = "Optional"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = WebhookWithSecret),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn rotate_secret(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<WebhookId>,
    MaybeJson(input): MaybeJson<RotateInput>,
) -> Result<axum::Json<WebhookWithSecret>, ApiError> {
    let overlap = input.and_then(|i| i.overlap_seconds).map(Duration::from_secs);
    Ok(axum::Json(state.app.rotate_webhook_secret(&actor, id, overlap).await?))
}

/// An endpoint's deliveries, newest first, each with every attempt (time, status code,
/// latency, error, the start of the answer) (admins).
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Endpoint id"), DeliveryParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DeliveryPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn deliveries(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<WebhookId>,
    Query(params): Query<DeliveryParams>,
) -> Result<axum::Json<DeliveryPage>, ApiError> {
    let status = match params.status.as_deref() {
        None => None,
        Some(text) => Some(DeliveryStatus::parse(text).ok_or_else(|| {
            Error::InvalidQuery(vec![clientele_core::FieldError::new(
                "status",
                FieldCode::Invalid,
                "must be pending, succeeded or failed",
            )])
        })?),
    };
    let paging = Paging::parse(params.limit.as_deref(), params.cursor.as_deref())?;
    let page = state.app.webhook_deliveries(&actor, id, status, paging).await?;
    Ok(axum::Json(DeliveryPage { items: page.items, next_cursor: page.next_cursor }))
}

/// Send a delivery again, now, with a fresh round of retries (admins).
#[utoipa::path(
    post,
    path = "/webhooks/{id}/deliveries/{delivery_id}/replay",
    tag = "webhooks",
    params(
        ("id" = uuid::Uuid, Path, description = "Endpoint id"),
        ("delivery_id" = uuid::Uuid, Path, description = "Delivery id (its event's id)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn replay(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    axum::extract::Path((id, delivery)): axum::extract::Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let bad = |raw: &str| {
        let shown: String = raw.chars().take(60).collect();
        Error::bad_request(ErrorCode::InvalidPathParameter, format!("{shown:?} is not a valid id (a UUID)"))
    };
    let id: WebhookId = id.parse().map_err(|_| bad(&id))?;
    let delivery: EventId = delivery.parse().map_err(|_| bad(&delivery))?;
    state.app.replay_delivery(&actor, id, delivery).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Send a `ping` to an endpoint now and see how it went (admins). The attempt shows among its
/// deliveries too.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/test",
    tag = "webhooks",
    params(("id" = uuid::Uuid, Path, description = "Endpoint id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The test delivery, succeeded or failed", body = Delivery),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "This server cannot send webhooks", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn test(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<WebhookId>,
) -> Result<axum::Json<Delivery>, ApiError> {
    Ok(axum::Json(state.app.test_webhook(&actor, id).await?))
}
