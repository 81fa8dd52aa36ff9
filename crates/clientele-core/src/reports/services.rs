//! The dashboard's figures.

use std::time::Duration;

use crate::accounts::access::{Capability, CustomerScope};
use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::AuditAction;
use crate::customers::record::CustomerKind;
use crate::customers::store::CustomerQuery;
use crate::documents::requirements::DocumentsFilter;
use crate::error::Result;
use crate::imports::job::ImportStatus;
use crate::orders::store::OrderFigures;
use crate::paging::Paging;
use crate::time::Timestamp;

/// The window the order figures cover: the last twelve months.
pub const ORDER_WINDOW: Duration = Duration::from_secs(365 * 24 * 3600);

/// What the dashboard shows, all from the tenant's own data.
#[derive(Debug, Clone, Default)]
pub struct TenantFigures {
    /// Live clients.
    pub clients: u64,
    /// Live clients holding every required document (an expired one counts as missing).
    pub clients_complete: u64,
    /// Order counts over [`ORDER_WINDOW`].
    pub orders: OrderFigures,
    /// Orders refused for a blacklisted person over [`ORDER_WINDOW`].
    pub refused: u64,
    /// Finished imports (not dry runs) among the latest 200 jobs.
    pub imports: u64,
    /// Rows those imports read.
    pub import_rows: u64,
    /// Rows per second over those imports' running time, when there is one.
    pub import_rows_per_second: Option<f64>,
}

impl App {
    /// The dashboard's figures (admins).
    pub async fn tenant_figures(&self, actor: &Actor) -> Result<TenantFigures> {
        let grant = actor.require(Capability::ReadAudit)?;
        let tenant = self.tenant(grant.tenant_id).await?;
        let now = Timestamp::now();
        let since = now.sub(ORDER_WINDOW);
        let mut query = CustomerQuery::all(CustomerScope::All, 1);
        query.kind = Some(CustomerKind::Client);
        let clients = self.store().count_customers(grant.tenant_id, &query).await?;
        query.documents =
            Some(DocumentsFilter { complete: true, required: tenant.required_documents.clone(), today: now.date() });
        let clients_complete = self.store().count_customers(grant.tenant_id, &query).await?;
        let orders = self.store().order_figures(grant.tenant_id, since).await?;
        let refused =
            self.store().count_audit_actions(grant.tenant_id, AuditAction::OrderRefused.as_str(), since).await?;
        let jobs = self.import_jobs(actor, Paging { after: None, limit: 200 }).await?.items;
        let finished: Vec<_> =
            jobs.iter().filter(|j| j.status == ImportStatus::Succeeded && !j.dry_run && j.undo.is_none()).collect();
        let import_rows: i64 = finished.iter().map(|j| j.rows_read).sum();
        let seconds: f64 = finished
            .iter()
            .filter_map(|j| Some((j.finished_at?.as_datetime() - j.started_at?.as_datetime()).as_seconds_f64()))
            .sum();
        Ok(TenantFigures {
            clients,
            clients_complete,
            orders,
            refused,
            imports: finished.len() as u64,
            import_rows: u64::try_from(import_rows).unwrap_or(0),
            import_rows_per_second: (seconds > 0.0).then(|| import_rows as f64 / seconds),
        })
    }
}
