//! The home page: where each role starts. Admins see the orders waiting for their override;
//! operators go straight to the customers, drivers to their orders, platform admins to the
//! global blacklist.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use clientele_core::accounts::access::Capability;
use clientele_core::accounts::auth::Principal;
use clientele_core::accounts::user::Role;
use clientele_core::orders::services::WaitingOrder;

use crate::AppState;
use crate::console::errors::PageError;
use crate::console::i18n::Tr;
use crate::console::session::{Console, render};
use crate::console::shell::Shell;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    s: Shell,
    t: Tr,
    waiting: Vec<WaitingOrder>,
}

pub(crate) async fn home(State(state): State<AppState>, c: Console) -> Result<Response, PageError> {
    match c.actor.principal() {
        Principal::PlatformAdmin(_) => return Ok(Redirect::to("/platform/global-blacklist").into_response()),
        Principal::Member(m) if m.role == Role::Driver => return Ok(Redirect::to("/driver").into_response()),
        Principal::Member(m) if m.role != Role::Admin => return Ok(Redirect::to("/customers").into_response()),
        _ => {}
    }
    let waiting = if c.can(Capability::OverrideBlacklist) {
        state.app.orders_awaiting_override(&c.actor, 50).await?
    } else {
        Vec::new()
    };
    Ok(render(&HomePage { s: c.shell("home-title", "home"), t: c.tr, waiting }))
}
