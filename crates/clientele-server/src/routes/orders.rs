//! `/orders`, a customer's orders, and the order form's data.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use clientele_core::ids::{CustomerId, OrderId};
use clientele_core::orders::record::{
    ApproveOverride, Order, OrderForm, OrderInput, OrderPatch, OrderRead, OrderStatus, OrderView,
};
use clientele_core::paging::{Page, Paging};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Id, IfMatch, Json, Query, TenantAdmin, TenantMember, etag};
use crate::problem::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_order))
        .routes(routes!(get_order, update_order))
        .routes(routes!(approve_override))
        .routes(routes!(customer_orders))
        .routes(routes!(order_form))
}

/// Query parameters of `GET /customers/{id}/orders`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrderListParams {
    /// Page size, 1 to 200.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Create an order (admins and operators).
///
/// For a blacklisted renter or second driver (tenant or global list) the answer is
/// `409 customer_blacklisted`, with the warnings and the platform's data-protection contact.
/// An admin may send `override: {reason}` (the order is confirmed and the override recorded); an
/// operator may send `request_override: true` (the order waits, `awaiting_override`, for an admin).
/// The answer warns about driving licences that are missing, expired, or expire before the return.
#[utoipa::path(
    post,
    path = "/orders",
    tag = "orders",
    request_body = OrderInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = OrderView, headers(("Location" = String), ("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Customer blacklisted, or deleted", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_order(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Json(input): Json<OrderInput>,
) -> Result<impl IntoResponse, ApiError> {
    let view = state.app.create_order(&actor, &input).await?;
    let location = format!("/api/v1/orders/{}", view.order.id);
    let [etag] = etag(view.order.version);
    Ok((StatusCode::CREATED, [(header::LOCATION, location), etag], axum::Json(view)))
}

/// Get an order (admins and operators; the assigned driver sees where, when, what and who).
#[utoipa::path(
    get,
    path = "/orders/{id}",
    tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrderRead, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_order(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<OrderId>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(match state.app.order(&actor, id).await? {
        OrderRead::Full(view) => (etag(view.order.version), axum::Json(OrderRead::Full(view))).into_response(),
        driver => axum::Json(driver).into_response(),
    })
}

/// Change an order's status or drivers (admins and operators).
///
/// Allowed: `confirmed` → `active` → `completed`; `confirmed` or `awaiting_override` →
/// `cancelled`. Activating checks the renter and second driver against the blacklists again: a
/// hit needs an override recorded earlier, or `override: {reason}` from an admin now.
#[utoipa::path(
    patch,
    path = "/orders/{id}",
    tag = "orders",
    params(
        ("id" = Uuid, Path, description = "Order id"),
        ("If-Match" = Option<String>, Header, description = "The version being changed"),
    ),
    request_body = OrderPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrderView, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Invalid transition, stale version, or customer blacklisted", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_order(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<OrderId>,
    IfMatch(version): IfMatch,
    Json(patch): Json<OrderPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let view = state.app.update_order(&actor, id, &patch, version).await?;
    if view.order.status == OrderStatus::Active {
        // An activation may have queued a Ca.R.G.O.S. check: the worker looks now.
        state.cargos_wake.submission_queued();
    }
    Ok((etag(view.order.version), axum::Json(view)))
}

/// Approve the override an operator asked for (admins): the order is confirmed.
#[utoipa::path(
    post,
    path = "/orders/{id}/approve-override",
    tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = ApproveOverride,
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrderView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not awaiting an override", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn approve_override(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<OrderId>,
    Json(input): Json<ApproveOverride>,
) -> Result<axum::Json<OrderView>, ApiError> {
    Ok(axum::Json(state.app.approve_override(&actor, id, &input).await?))
}

/// A customer's orders, as renter or second driver, newest first (admins and operators).
#[utoipa::path(
    get,
    path = "/customers/{id}/orders",
    tag = "orders",
    params(("id" = Uuid, Path, description = "Customer id"), OrderListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<Order>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn customer_orders(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<CustomerId>,
    Query(params): Query<OrderListParams>,
) -> Result<axum::Json<Page<Order>>, ApiError> {
    Ok(axum::Json(
        state
            .app
            .customer_orders(&actor, id, Paging::parse(params.limit.as_deref(), params.cursor.as_deref())?)
            .await?,
    ))
}

/// Everything the order form needs about a customer in one call: contact details, licence,
/// identity document, badges, documents status and licence warnings (admins and operators).
#[utoipa::path(
    get,
    path = "/customers/{id}/order-form",
    tag = "orders",
    params(("id" = Uuid, Path, description = "Customer id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OrderForm),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn order_form(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<CustomerId>,
) -> Result<axum::Json<OrderForm>, ApiError> {
    Ok(axum::Json(state.app.order_form(&actor, id).await?))
}
