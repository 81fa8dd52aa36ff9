//! The document store's sweeper: every `documents.sweep_every`, removes the objects no document
//! row points at that are older than `documents.orphan_grace` (see
//! [`App::sweep_orphaned_documents`]). Several processes may sweep at once: removing an object
//! twice is harmless.

use std::sync::Arc;

use clientele_core::App;
use tokio::sync::watch;

/// Sweeps every [`App::document_sweep_every`] until `stop` turns true (the first sweep after
/// one interval: a process that restarts often does not sweep on each start).
pub async fn run_sweeper(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let every = app.document_sweep_every();
    if every.is_zero() || !app.stores_documents() {
        return;
    }
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        match app.sweep_orphaned_documents(app.document_orphan_grace()).await {
            Ok(report) => tracing::info!(?report, "swept the document store"),
            Err(error) => tracing::error!(%error, "sweeping the document store"),
        }
    }
}
