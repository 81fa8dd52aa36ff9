//! Orders: pick a customer by search (or arrive from the profile), the form filled from the
//! customer and their last order, licence and document warnings, and for a blacklisted customer
//! a warning that blocks confirmation: an admin confirms with a reason, an operator requests an
//! override, and the admin approves it from the order's page (linked from the home page).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use clientele_core::accounts::access::Capability;
use clientele_core::customers::view::CustomerView;
use clientele_core::documents::requirements::DocumentsStatus;
use clientele_core::ids::{CustomerId, OrderId};
use clientele_core::orders::record::{
    ApproveOverride, OrderInput, OrderPatch, OrderRead, OrderStatus, OrderView, OrderWarning,
};
use clientele_core::paging::Paging;
use clientele_core::time::Timestamp;
use clientele_core::{Error, ErrorCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::console::customers::{Badge, ListQuery, Results, badges, requirements_text, search, status_name};
use crate::console::errors::{FieldErrors, PageError};
use crate::console::forms::{FieldMaker, FormField, values_of};
use crate::console::i18n::{Tr, datetime_local_value, parse_datetime_local};
use crate::console::session::{Console, ConsoleForm, render};
use crate::console::shell::Shell;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/orders/new", get(new_order))
        .route("/orders", post(create))
        .route("/orders/{id}", get(show))
        .route("/orders/{id}/approve", post(approve))
        .route("/orders/{id}/status", post(change_status))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct NewOrderQuery {
    #[serde(default)]
    customer: String,
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "orders/pick.html")]
struct PickPage {
    s: Shell,
    t: Tr,
    q: String,
    results: Results,
}

#[derive(Template)]
#[template(path = "orders/form.html")]
struct OrderFormPage {
    s: Shell,
    t: Tr,
    customer: CustomerView,
    name: String,
    badges: Vec<Badge>,
    blacklist_status: &'static str,
    documents: DocumentsStatus,
    warnings: Vec<String>,
    fields: Vec<FormField>,
    summary: Vec<(String, String, String)>,
    problem: String,
    admin: bool,
    override_error: String,
    data_protection_contact: String,
}

async fn new_order(
    State(state): State<AppState>,
    c: Console,
    Query(query): Query<NewOrderQuery>,
) -> Result<Response, PageError> {
    c.actor.require(Capability::ManageOrders)?;
    let Ok(customer) = query.customer.parse::<CustomerId>() else {
        // No customer yet: find one.
        let list = ListQuery { pick: "order".into(), q: query.q.clone(), ..ListQuery::default() };
        let results = if query.q.trim().is_empty() { Results::default() } else { search(&state, &c, &list).await? };
        let page = PickPage { s: c.shell("order-new-title", "orders"), t: c.tr, q: query.q, results };
        return Ok(render(&page));
    };
    let values = prefill(&state, &c, customer).await?;
    order_page(&state, &c, customer, values, FieldErrors::none(c.tr), String::new(), StatusCode::OK).await
}

/// The form's first values: times from the next full hour for three days, and for a returning
/// customer the places, vehicle and payment of their last order.
async fn prefill(state: &AppState, c: &Console, customer: CustomerId) -> Result<HashMap<String, String>, PageError> {
    let mut values = HashMap::new();
    let now = Timestamp::now().as_datetime();
    let next_hour = now.replace_minute(0).and_then(|t| t.replace_second(0)).and_then(|t| t.replace_nanosecond(0));
    let pickup = next_hour.map(|t| t + time::Duration::hours(1)).unwrap_or(now);
    let mut length = time::Duration::days(3);
    let last = state.app.customer_orders(&c.actor, customer, Paging { after: None, limit: 1 }).await?.items;
    if let Some(last) = last.first() {
        values.insert("pickup_place".into(), last.pickup_place.clone());
        values.insert("return_place".into(), last.return_place.clone());
        values.insert("vehicle.plate".into(), last.vehicle.plate.clone());
        values.insert("vehicle.make".into(), last.vehicle.make.clone().unwrap_or_default());
        values.insert("vehicle.model".into(), last.vehicle.model.clone().unwrap_or_default());
        values.insert("vehicle.type".into(), last.vehicle.vehicle_type.as_str().to_owned());
        values.insert("vehicle.colour".into(), last.vehicle.colour.clone().unwrap_or_default());
        values.insert("payment_type".into(), last.payment_type.as_str().to_owned());
        length = last.return_at.as_datetime() - last.pickup_at.as_datetime();
    }
    let pickup = Timestamp::from_datetime(pickup);
    let ret = Timestamp::from_datetime(pickup.as_datetime() + length);
    values.insert("pickup_at".into(), datetime_local_value(&pickup));
    values.insert("return_at".into(), datetime_local_value(&ret));
    Ok(values)
}

#[allow(clippy::too_many_arguments)]
async fn order_page(
    state: &AppState,
    c: &Console,
    customer: CustomerId,
    values: HashMap<String, String>,
    errors: FieldErrors,
    problem: String,
    status: StatusCode,
) -> Result<Response, PageError> {
    let tr = c.tr;
    let form = state.app.order_form(&c.actor, customer).await?;
    let make = FieldMaker { tr, values: &values, errors: &errors };
    let vehicle_types: Vec<(String, String)> = ["car", "van", "bus", "truck", "camper"]
        .iter()
        .map(|v| ((*v).to_owned(), tr.t(&format!("vehicle-{v}")).to_owned()))
        .collect();
    let payments: Vec<(String, String)> =
        ["credit_card", "debit_card", "cash", "bank_transfer", "direct_debit", "other"]
            .iter()
            .map(|v| ((*v).to_owned(), tr.t(&format!("payment-{v}")).to_owned()))
            .collect();
    let mut vehicle_type = make.field("vehicle.type", "field-vehicle-type", "select");
    vehicle_type.options = vehicle_types;
    let mut payment = make.field("payment_type", "field-payment_type", "select").required();
    payment.options = payments;
    let mut driver = make.field("driver_id", "field-driver_id", "select");
    driver.options = vec![(String::new(), tr.t("none").to_owned())];
    driver.options.extend(
        state.app.tenant_drivers(&c.actor).await?.into_iter().map(|u| (u.id.to_string(), u.email.as_str().to_owned())),
    );
    let fields = vec![
        make.field("pickup_at", "field-pickup_at", "datetime-local").required(),
        make.field("pickup_place", "field-pickup_place", "text").required(),
        make.field("return_at", "field-return_at", "datetime-local").required(),
        make.field("return_place", "field-return_place", "text").required(),
        make.field("vehicle.plate", "field-vehicle-plate", "text").required(),
        make.field("vehicle.make", "field-vehicle-make", "text"),
        make.field("vehicle.model", "field-vehicle-model", "text"),
        vehicle_type,
        make.field("vehicle.colour", "field-vehicle-colour", "text"),
        payment,
        driver,
    ];
    let mut warnings: Vec<String> = form.warnings.iter().map(|w| warning_text(tr, w)).collect();
    if !form.documents.complete {
        warnings.push(format!("{}: {}", tr.t("docs-missing"), requirements_text(tr, &form.documents.missing)));
    }
    let name = form.customer.customer.display_name();
    let page = OrderFormPage {
        s: c.shell_titled(format!("{} · {name}", tr.t("order-new-title")), "orders"),
        t: tr,
        badges: badges(tr, &form.customer),
        blacklist_status: status_name(form.customer.blacklist.status),
        documents: form.documents,
        name,
        warnings,
        summary: crate::console::customers::summary(tr, &errors)
            .into_iter()
            .filter(|(_, id, _)| id != "f-override-reason")
            .collect(),
        override_error: errors.get("override.reason"),
        fields,
        problem,
        admin: c.can(Capability::OverrideBlacklist),
        data_protection_contact: state.app.data_protection_contact().to_owned(),
        customer: form.customer,
    };
    Ok((status, render(&page)).into_response())
}

/// A warning in the reader's language.
fn warning_text(tr: Tr, warning: &OrderWarning) -> String {
    let code = serde_json::to_value(warning.code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let key = format!("order-warning-{code}");
    if tr.t(&key) == key { warning.message.clone() } else { tr.t(&key).to_owned() }
}

/// The order input a form stands for: wall-clock times read in the tenants' zone.
fn order_input(form: &crate::console::session::FormData, customer: CustomerId) -> Result<OrderInput, Error> {
    let mut object = Map::new();
    object.insert("customer_id".into(), json!(customer.to_string()));
    for name in ["pickup_at", "return_at"] {
        if let Some(text) = form.get(name) {
            // An unreadable time goes to the core as typed, which names the field.
            let value = parse_datetime_local(text).map(|t| t.to_string()).unwrap_or_else(|| text.to_owned());
            object.insert(name.into(), json!(value));
        }
    }
    for name in ["pickup_place", "return_place", "payment_type", "driver_id"] {
        if let Some(text) = form.get(name) {
            object.insert(name.into(), json!(text));
        }
    }
    let mut vehicle = Map::new();
    vehicle.insert("plate".into(), json!(form.get("vehicle.plate").unwrap_or_default()));
    for (field, key) in
        [("vehicle.make", "make"), ("vehicle.model", "model"), ("vehicle.type", "type"), ("vehicle.colour", "colour")]
    {
        if let Some(text) = form.get(field) {
            vehicle.insert(key.into(), json!(text));
        }
    }
    object.insert("vehicle".into(), Value::Object(vehicle));
    match form.get("action") {
        Some("override") => {
            object.insert("override".into(), json!({"reason": form.get("override_reason").unwrap_or_default()}));
        }
        Some("request") => {
            object.insert("request_override".into(), json!(true));
        }
        _ => {}
    }
    clientele_core::json::from_value(Value::Object(object))
}

async fn create(State(state): State<AppState>, ConsoleForm { c, form }: ConsoleForm) -> Result<Response, PageError> {
    let customer: CustomerId =
        form.get("customer_id").and_then(|id| id.parse().ok()).ok_or(PageError(Error::NotFound("customer")))?;
    let result = match order_input(&form, customer) {
        Ok(input) => state.app.create_order(&c.actor, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(view) => {
            let saved = if view.order.status == OrderStatus::AwaitingOverride { "requested" } else { "created" };
            Ok(Redirect::to(&format!("/orders/{}?saved={saved}", view.order.id)).into_response())
        }
        Err(error @ (Error::Invalid(_) | Error::Conflict { .. })) => {
            let values = values_of(&form);
            let mut errors = FieldErrors::of(&error, c.tr);
            let problem = match &error {
                Error::Conflict { code: ErrorCode::CustomerBlacklisted, .. } => {
                    c.tr.t("order-blacklisted-refused").to_owned()
                }
                Error::Conflict { .. } => error.to_string(),
                _ => String::new(),
            };
            if errors.is_empty() && problem.is_empty() {
                errors = FieldErrors::none(c.tr);
            }
            order_page(&state, &c, customer, values, errors, problem, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "orders/show.html")]
struct OrderPage {
    s: Shell,
    t: Tr,
    view: OrderView,
    customer_name: String,
    warnings: Vec<String>,
    admin: bool,
    can_change: bool,
    approve_error: String,
    next_statuses: Vec<(&'static str, String)>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ShowQuery {
    #[serde(default)]
    saved: String,
}

async fn show(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Result<Response, PageError> {
    let id: OrderId = id.parse().map_err(|_| PageError(Error::NotFound("order")))?;
    order_view_page(&state, &c, id, &query.saved, String::new(), StatusCode::OK).await
}

async fn order_view_page(
    state: &AppState,
    c: &Console,
    id: OrderId,
    saved: &str,
    approve_error: String,
    status: StatusCode,
) -> Result<Response, PageError> {
    let tr = c.tr;
    let view = match state.app.order(&c.actor, id).await? {
        OrderRead::Full(view) => *view,
        // Drivers see their orders on their own page.
        OrderRead::Driver(_) => return Ok(Redirect::to("/driver").into_response()),
    };
    let customer_name = match state.app.customer(&c.actor, view.order.customer_id).await? {
        clientele_core::customers::view::CustomerRead::Full(detail) => detail.view.customer.display_name(),
        clientele_core::customers::view::CustomerRead::Contact(_) => String::new(),
    };
    let mut shell = c.shell_titled(format!("{} · {customer_name}", tr.t("order-title")), "orders");
    shell.notice = match saved {
        "created" => tr.t("notice-order-created").to_owned(),
        "requested" => tr.t("notice-order-requested").to_owned(),
        "approved" => tr.t("notice-order-approved").to_owned(),
        "status" => tr.t("notice-updated").to_owned(),
        _ => String::new(),
    };
    let next_statuses = OrderStatus::ALL
        .into_iter()
        .filter(|next| view.order.status.can_become(*next))
        .map(|next| (next.as_str(), tr.t(&format!("status-action-{}", next.as_str())).to_owned()))
        .collect();
    let page = OrderPage {
        s: shell,
        t: tr,
        warnings: view.warnings.iter().map(|w| warning_text(tr, w)).collect(),
        customer_name,
        admin: c.can(Capability::OverrideBlacklist),
        can_change: c.can(Capability::ManageOrders),
        approve_error,
        next_statuses,
        view,
    };
    Ok((status, render(&page)).into_response())
}

async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { c, form }: ConsoleForm,
) -> Result<Response, PageError> {
    let id: OrderId = id.parse().map_err(|_| PageError(Error::NotFound("order")))?;
    match state.app.approve_override(&c.actor, id, &ApproveOverride { reason: form.text("reason") }).await {
        Ok(_) => Ok(Redirect::to(&format!("/orders/{id}?saved=approved")).into_response()),
        Err(error @ Error::Invalid(_)) => {
            let message = FieldErrors::of(&error, c.tr).get("reason");
            order_view_page(&state, &c, id, "", message, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn change_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { c, form }: ConsoleForm,
) -> Result<Response, PageError> {
    let id: OrderId = id.parse().map_err(|_| PageError(Error::NotFound("order")))?;
    let status = form.get("status").and_then(OrderStatus::parse);
    let patch =
        OrderPatch { status, version: form.get("version").and_then(|v| v.parse().ok()), ..OrderPatch::default() };
    state.app.update_order(&c.actor, id, &patch, None).await?;
    Ok(Redirect::to(&format!("/orders/{id}?saved=status")).into_response())
}
