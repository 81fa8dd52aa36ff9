//! Undoing a finished import as a whole, except what changed since.

use crate::customers::patch::CustomerPatch;

use crate::ids::ImportJobId;
use serde_json::{Map, Value};

use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::audit::store::AuditQuery;
use crate::error::{Error, ErrorCode, Result};
use crate::ids::{CustomerId, TenantId};
use crate::imports::job::{ImportJob, ImportStatus, ImportUndo, customer_id_for_row};
use crate::time::Timestamp;

impl App {
    /// Undoes a finished import (admins): the customers it created are soft-deleted and the
    /// fields it updated restored, each only if nobody changed it since; every change is audited
    /// like any other, and the undo itself too. The undo is claimed first, atomically: of two
    /// undos at once, one runs and the other is refused.
    pub async fn undo_import(&self, actor: &Actor, id: ImportJobId) -> Result<ImportJob> {
        let mut job = self.import_job(actor, id).await?;
        let tenant = job.tenant_id;
        let not_undoable = || {
            Error::conflict(
                ErrorCode::ImportNotUndoable,
                "only a finished import that was not a dry run, and not undone yet, can be undone",
            )
        };
        if job.status != ImportStatus::Succeeded || job.dry_run || job.undo.is_some() {
            return Err(not_undoable());
        }
        let mut undo = ImportUndo { at: Timestamp::now(), deleted: 0, restored: 0, kept: 0 };
        if !self.store().claim_import_undo(tenant, job.id, &undo).await? {
            return Err(not_undoable());
        }
        // Created: the ids derived from the job's rows.
        let (low, high) = (customer_id_for_row(job.id, 0), customer_id_for_row(job.id, i64::from(u32::MAX)));
        let mut after = None;
        loop {
            let page = self.store().customers_in_id_range(tenant, low, high, after, 500).await?;
            after = page.last().map(|c| c.id);
            for customer in &page {
                if customer.deleted_at.is_some() || customer.version != 1 {
                    undo.kept += 1;
                    continue;
                }
                match self.delete_customer(actor, customer.id, Some(1)).await {
                    Ok(()) => undo.deleted += 1,
                    Err(Error::Conflict { code: ErrorCode::VersionConflict, .. }) => undo.kept += 1,
                    Err(other) => return Err(other),
                }
            }
            if page.len() < 500 {
                break;
            }
        }
        // Updated: each update's audit entry says what it changed, from what.
        let mut query = AuditQuery {
            action: Some(AuditAction::CustomerUpdated.as_str().to_owned()),
            request_id: Some(format!("import:{}", job.id)),
            limit: 500,
            ..AuditQuery::default()
        };
        loop {
            let page = self.store().list_audit(tenant, &query).await?;
            query.after = page.last().map(|e| e.id);
            for entry in &page {
                let (Some(customer), Some(changes)) = (entry.customer_id, entry.changes.as_ref()) else { continue };
                match self.restore_fields(actor, tenant, customer, changes).await? {
                    true => undo.restored += 1,
                    false => undo.kept += 1,
                }
            }
            if page.len() < 500 {
                break;
            }
        }
        job.undo = Some(undo.clone());
        self.store().save_import_job(&job, None).await?;
        let entry = AuditEntry::new(actor, tenant, AuditAction::ImportUndone, "import", job.id, None)
            .with_changes(serde_json::to_value(&undo).map_err(Error::internal)?);
        self.store().record(&[entry], &[]).await?;
        Ok(job)
    }

    /// Puts back the `from` values of an update's `changes` if the customer still holds its
    /// `to` values; false when it changed since (or is gone).
    async fn restore_fields(&self, actor: &Actor, tenant: TenantId, id: CustomerId, changes: &Value) -> Result<bool> {
        let Some(current) = self.store().get_customer(tenant, id).await? else { return Ok(false) };
        if current.deleted_at.is_some() {
            return Ok(false);
        }
        let now = serde_json::to_value(&current.data).map_err(Error::internal)?;
        let Value::Object(changes) = changes else { return Ok(false) };
        let mut patch = Map::new();
        for (path, change) in changes {
            let at = path.split('.').try_fold(&now, |value, key| value.get(key));
            if at.unwrap_or(&Value::Null) != change.get("to").unwrap_or(&Value::Null) {
                return Ok(false);
            }
            let mut target = &mut patch;
            let mut keys = path.split('.').peekable();
            while let Some(key) = keys.next() {
                if keys.peek().is_none() {
                    target.insert(key.to_owned(), change.get("from").cloned().unwrap_or(Value::Null));
                } else {
                    let inner = target.entry(key.to_owned()).or_insert_with(|| Value::Object(Map::new()));
                    let Value::Object(inner) = inner else { return Ok(false) };
                    target = inner;
                }
            }
        }
        match self.update_customer(actor, id, CustomerPatch::of_data(patch), Some(current.version)).await {
            Ok(_) => Ok(true),
            Err(Error::Conflict { code: ErrorCode::VersionConflict, .. } | Error::Invalid(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }
}
