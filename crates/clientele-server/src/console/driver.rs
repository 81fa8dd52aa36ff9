//! The driver's view: the confirmed and active orders assigned to them, and the contact
//! details of the people on them; nothing else.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use clientele_core::orders::services::AssignedOrder;

use crate::AppState;
use crate::console::errors::PageError;
use crate::console::i18n::Tr;
use crate::console::session::{Console, render};
use crate::console::shell::Shell;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/driver", get(assigned))
}

#[derive(Template)]
#[template(path = "driver.html")]
struct DriverPage {
    s: Shell,
    t: Tr,
    orders: Vec<AssignedOrder>,
}

async fn assigned(State(state): State<AppState>, c: Console) -> Result<Response, PageError> {
    let orders = state.app.assigned_orders(&c.actor).await?;
    Ok(render(&DriverPage { s: c.shell("driver-title", "driver"), t: c.tr, orders }))
}
