//! The audit log: `GET /audit`.

use axum::extract::State;
use clientele_core::Error;
use clientele_core::audit::entry::AuditEntry;
use clientele_core::audit::services::{AuditFilter, AuditText};
use clientele_core::paging::Page;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{CurrentUser, Query};
use crate::problem::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

/// Query parameters of `GET /audit`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Platform admins: the tenant whose log to read (required for them, refused for others).
    #[param(value_type = Option<Uuid>)]
    pub tenant_id: Option<String>,
    /// Only entries concerning this customer.
    #[param(value_type = Option<Uuid>)]
    pub customer_id: Option<String>,
    /// Only entries by this user.
    #[param(value_type = Option<Uuid>)]
    pub user_id: Option<String>,
    /// Only this action, e.g. `document.downloaded`.
    pub action: Option<String>,
    /// At or after this instant (RFC 3339) or date (`YYYY-MM-DD`, UTC).
    pub from: Option<String>,
    /// Before this instant (RFC 3339), or on or before this date (`YYYY-MM-DD`, the whole day).
    pub to: Option<String>,
    /// Page size, 1 to 200 (others are refused); default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl AuditParams {
    /// The filter, parsed (`400` naming every bad parameter).
    fn filter(&self) -> Result<AuditFilter, Error> {
        AuditFilter::parse(&AuditText {
            tenant_id: self.tenant_id.as_deref(),
            customer_id: self.customer_id.as_deref(),
            user_id: self.user_id.as_deref(),
            action: self.action.as_deref(),
            from: self.from.as_deref(),
            to: self.to.as_deref(),
            limit: self.limit.as_deref(),
            cursor: self.cursor.as_deref(),
        })
    }
}

/// A page of audit entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Entries, newest first.
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

impl From<Page<AuditEntry>> for AuditPage {
    fn from(page: Page<AuditEntry>) -> Self {
        Self { items: page.items, next_cursor: page.next_cursor }
    }
}

/// The audit log, newest first (tenant admins: their tenant; platform admins: the tenant named).
///
/// Every entry carries its place in the tenant's hash chain (`seq`, `hash`); `clientele audit
/// verify` checks the chain.
#[utoipa::path(
    get,
    path = "/audit",
    tag = "audit",
    params(AuditParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "A platform administrator's `tenant_id` names no tenant", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn audit_log(
    State(state): State<AppState>,
    CurrentUser(actor): CurrentUser,
    Query(params): Query<AuditParams>,
) -> Result<axum::Json<AuditPage>, ApiError> {
    Ok(axum::Json(state.app.audit_log(&actor, &params.filter()?).await?.into()))
}
