//! Sweeping the document store of orphans: objects that no document row points at.
//!
//! An upload writes the file's object first and its row second, so a crash (or a failed insert
//! whose clean-up failed too) between the two leaves an object nothing refers to: unreadable
//! without its wrapped key, but taking space and holding a person's encrypted document. The sweep
//! lists each tenant's objects and removes those without a row that are older than a grace
//! period, so that an upload still between its two writes is never touched. Soft-deleted
//! documents keep their rows, and so their files.

use std::time::Duration;

use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::error::Result;
use crate::time::Timestamp;

pub use crate::documents::vault::DEFAULT_ORPHAN_GRACE;

/// How many objects are checked against the database at once.
const CHECK_BATCH: usize = 500;

/// What a sweep found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Tenants whose objects were looked at.
    pub tenants: u64,
    /// Objects looked at.
    pub objects: u64,
    /// Objects without a row, older than the grace period: removed.
    pub removed: u64,
    /// Objects without a row, younger than the grace period: kept (an upload may be under way).
    pub young: u64,
}

impl App {
    /// Removes the objects of the document store that no document row points at and that are
    /// older than `grace`, tenant by tenant. Each tenant where something was removed gets an
    /// audit entry with the counts (`document.orphans_removed`, by `cli`: the sweep acts for the
    /// tenant as the command line does). Objects under a tenant this database does not know are
    /// left alone (another deployment's, perhaps), and logged. Without document storage, a sweep
    /// does nothing.
    pub async fn sweep_orphaned_documents(&self, grace: Duration) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        let Some(vault) = self.documents.vault.as_ref() else { return Ok(report) };
        let cutoff = Timestamp::now().sub(grace);
        for tenant in vault.tenants_with_objects().await? {
            if self.store().get_tenant(tenant).await?.is_none() {
                tracing::warn!(%tenant, "the document store holds objects of a tenant this database does not know; left alone");
                continue;
            }
            report.tenants += 1;
            let (mut removed, mut young) = (0u64, 0u64);
            let objects = vault.tenant_objects(tenant).await?;
            report.objects += objects.len() as u64;
            for batch in objects.chunks(CHECK_BATCH) {
                let keys: Vec<String> = batch.iter().map(|o| o.key.clone()).collect();
                let held = self.store().document_objects_held(tenant, &keys).await?;
                for object in batch.iter().filter(|o| !held.contains(&o.key)) {
                    if object.modified > cutoff {
                        young += 1;
                        continue;
                    }
                    vault.remove_object(&object.key).await?;
                    removed += 1;
                }
            }
            report.removed += removed;
            report.young += young;
            if removed > 0 {
                tracing::info!(%tenant, removed, young, "removed orphaned document objects");
                let entry = AuditEntry::new(
                    &Actor::command_line(tenant),
                    tenant,
                    AuditAction::DocumentOrphansRemoved,
                    "document_store",
                    tenant,
                    None,
                )
                .with_changes(serde_json::json!({
                    "removed": removed, "kept_young": young, "grace_seconds": grace.as_secs(),
                }));
                self.store().record(&[entry], &[]).await?;
            }
        }
        Ok(report)
    }

    /// How long an object without a row is left alone by the periodic sweep.
    pub fn document_orphan_grace(&self) -> Duration {
        self.documents.orphan_grace
    }

    /// How often `serve` sweeps the document store (zero: never).
    pub fn document_sweep_every(&self) -> Duration {
        self.documents.sweep_every
    }

    /// Whether documents are stored here at all (a vault is configured).
    pub fn stores_documents(&self) -> bool {
        self.documents.vault.is_some()
    }
}
