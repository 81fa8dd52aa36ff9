//! Payment methods through Stripe: a customer's methods (`/customers/{id}/payment-methods`),
//! starting a card form (`…/setup`), removing one and choosing the default; the tenant's Stripe
//! settings (`/settings/stripe`); and Stripe's webhook (`/integrations/stripe/webhook`).
//!
//! Payment routes take any tenant member, so that the services can write every refused attempt
//! (drivers, partners) to the audit log before answering `403`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use clientele_core::ids::{CustomerId, TenantId};
use clientele_core::payments::record::{PaymentMethodList, PaymentSetup, StripeId};
use clientele_core::payments::settings::{PaymentSettingsPatch, PaymentSettingsView};
use clientele_core::payments::webhook::{StripeDelivery, StripeEventReceipt};
use clientele_core::{Error, ErrorCode};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{ClientOrigin, Id, Json, Query, TenantAdmin, TenantMember};
use crate::problem::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(setup))
        .routes(routes!(list))
        .routes(routes!(remove))
        .routes(routes!(set_default))
        .routes(routes!(get_settings, update_settings))
        .routes(routes!(webhook))
}

/// The customer id and payment method id of a path.
fn ids(customer: &str, method: &str) -> Result<(CustomerId, StripeId), Error> {
    let shown = |raw: &str| raw.chars().take(60).collect::<String>();
    let customer = customer.parse().map_err(|_| {
        Error::bad_request(ErrorCode::InvalidPathParameter, format!("{:?} is not a valid id (a UUID)", shown(customer)))
    })?;
    let method = method.parse().map_err(|_| {
        Error::bad_request(
            ErrorCode::InvalidPathParameter,
            format!("{:?} is not a Stripe payment method id", shown(method)),
        )
    })?;
    Ok((customer, method))
}

/// Start adding a payment method: a Stripe SetupIntent for Stripe.js (admins, operators).
///
/// Only for an existing, non-deleted customer (`404`, `409 customer_deleted`: Stripe is not
/// called). The customer's Stripe customer is made on first use (name, email, phone and the
/// Clientele id in its metadata; only its id is kept here). The browser then collects the card
/// with Stripe Elements and confirms: `stripe = Stripe(publishable_key, {stripeAccount:
/// stripe_account})`, `stripe.confirmSetup({elements, clientSecret: client_secret})`. The card
/// goes from the browser to Stripe and never through Clientele; Stripe's webhook then tells
/// that the method was added, and it appears in the list.
#[utoipa::path(
    post,
    path = "/customers/{id}/payment-methods/setup",
    tag = "payments",
    params(("id" = uuid::Uuid, Path, description = "Customer id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PaymentSetup),
        (status = 403, description = "Drivers and partners (the attempt is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "customer_deleted, payments_not_configured", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "stripe_unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn setup(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<CustomerId>,
) -> Result<axum::Json<PaymentSetup>, ApiError> {
    Ok(axum::Json(state.app.payment_setup(&actor, id).await?))
}

/// A customer's payment methods, read from Stripe (admins, operators).
///
/// Brand, last four digits, expiry, wallet, issuing country, and which one is the default;
/// never more. Read from Stripe, reused for a few seconds at most.
#[utoipa::path(
    get,
    path = "/customers/{id}/payment-methods",
    operation_id = "list_payment_methods",
    tag = "payments",
    params(("id" = uuid::Uuid, Path, description = "Customer id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PaymentMethodList),
        (status = 403, description = "Drivers and partners (the attempt is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "payments_not_configured", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "stripe_unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<CustomerId>,
) -> Result<axum::Json<PaymentMethodList>, ApiError> {
    Ok(axum::Json(PaymentMethodList { items: state.app.payment_methods(&actor, id).await? }))
}

/// Remove a payment method: detached from the customer in Stripe (admins, operators).
#[utoipa::path(
    delete,
    path = "/customers/{id}/payment-methods/{pm_id}",
    tag = "payments",
    params(
        ("id" = uuid::Uuid, Path, description = "Customer id"),
        ("pm_id" = String, Path, description = "Stripe payment method id (pm_…)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Detached"),
        (status = 403, description = "Drivers and partners (the attempt is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer, or not its payment method", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "payments_not_configured", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "stripe_unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn remove(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    axum::extract::Path((id, method)): axum::extract::Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (id, method) = ids(&id, &method)?;
    state.app.remove_payment_method(&actor, id, &method).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Make a payment method the customer's default (admins, operators); answers the list.
#[utoipa::path(
    post,
    path = "/customers/{id}/payment-methods/{pm_id}/default",
    tag = "payments",
    params(
        ("id" = uuid::Uuid, Path, description = "Customer id"),
        ("pm_id" = String, Path, description = "Stripe payment method id (pm_…)"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PaymentMethodList),
        (status = 403, description = "Drivers and partners (the attempt is audited)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such customer, or not its payment method", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "payments_not_configured", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "stripe_unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn set_default(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    axum::extract::Path((id, method)): axum::extract::Path<(String, String)>,
) -> Result<axum::Json<PaymentMethodList>, ApiError> {
    let (id, method) = ids(&id, &method)?;
    Ok(axum::Json(PaymentMethodList { items: state.app.set_default_payment_method(&actor, id, &method).await? }))
}

/// The tenant's Stripe settings (admins): never a key or secret, only whether each is set.
#[utoipa::path(
    get,
    path = "/settings/stripe",
    operation_id = "get_stripe_settings",
    tag = "payments",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PaymentSettingsView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_settings(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
) -> Result<axum::Json<PaymentSettingsView>, ApiError> {
    Ok(axum::Json(state.app.stripe_settings(&actor).await?))
}

/// Change the tenant's Stripe settings (admins; audited, never with a key).
///
/// `mode`: `connect` (a connected account of the platform, `connect_account_id: "acct_…"`; calls
/// use the platform's key) or `own_key` (`secret_key: "sk_…"` or a restricted `rk_…`, and
/// `publishable_key: "pk_…"`, of the same mode). `webhook_secret: "whsec_…"` is the signing
/// secret of the endpoint registered in Stripe at `webhook_path`. Keys and secrets are sealed
/// with the documents master key and never shown again; `null` removes a member, and
/// `"mode": null` turns Stripe off.
#[utoipa::path(
    patch,
    path = "/settings/stripe",
    operation_id = "update_stripe_settings",
    tag = "payments",
    request_body = PaymentSettingsPatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = PaymentSettingsView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another tenant has this connected account", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_settings(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Json(patch): Json<PaymentSettingsPatch>,
) -> Result<axum::Json<PaymentSettingsView>, ApiError> {
    Ok(axum::Json(state.app.update_stripe_settings(&actor, &patch).await?))
}

/// Query parameters of the Stripe webhook.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookParams {
    /// The tenant whose Stripe account sends the events (its settings show the whole path).
    /// Connect events without it go to the tenant of their `account`.
    #[param(value_type = Option<uuid::Uuid>)]
    pub tenant: Option<String>,
}

/// Stripe's events (called by Stripe, not by people; no bearer token).
///
/// Verified with the tenant's signing secret (`Stripe-Signature`: HMAC-SHA256 of
/// `timestamp.body`, within five minutes, any of several `v1`), for the tenant's own account,
/// then applied once per event id: `setup_intent.succeeded`, `setup_intent.setup_failed`,
/// `payment_method.attached`, `payment_method.detached`,
/// `payment_method.automatically_updated` and `customer.deleted` become outbox events
/// (`customer.payment_method_added`, …, without card data). Others are acknowledged and ignored.
#[utoipa::path(
    post,
    path = "/integrations/stripe/webhook",
    tag = "payments",
    params(WebhookParams, ("Stripe-Signature" = String, Header, description = "t=…,v1=…")),
    request_body(content = Object, description = "A Stripe event, exactly as Stripe sent it"),
    responses(
        (status = 200, body = StripeEventReceipt),
        (status = 400, description = "stripe_signature_invalid, malformed_json", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn webhook(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Query(params): Query<WebhookParams>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::Json<StripeEventReceipt>, ApiError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::bad_request(
                ErrorCode::PayloadTooLarge,
                format!("the body is larger than {}", crate::BODY_LIMIT_TEXT),
            )
        } else {
            Error::bad_request(ErrorCode::MalformedJson, format!("the body could not be read: {rejection}"))
        }
    })?;
    let tenant = match params.tenant.as_deref() {
        None => None,
        Some(text) => {
            Some(text.parse::<TenantId>().map_err(|_| Error::invalid_query("tenant", "must be a tenant id"))?)
        }
    };
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    let delivery = StripeDelivery { tenant, signature, payload: &body, origin };
    Ok(axum::Json(state.app.receive_stripe_event(delivery).await?))
}
