//! The Ca.R.G.O.S. worker: runs the checks (and sends) queued when orders become active, one at
//! a time, in every `clientele serve` process. A queued check is leased to one worker; a worker
//! that dies leaves it to another once its lease runs out, and a send it left under way is
//! marked failed (its outcome unknown) rather than ever sent twice. The police calls and what
//! their answers mean are the core's ([`App::run_queued_submission`]); this is the waiting.

use std::sync::Arc;
use std::time::Duration;

use clientele_core::App;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

/// How often an idle worker looks for checks queued by other processes.
const POLL: Duration = Duration::from_secs(5);

/// Wakes this process's worker when an order activated here may have queued a check (ones
/// queued by other processes are found within [`POLL`]).
#[derive(Debug, Clone, Default)]
pub struct CargosWake(Arc<Notify>);

impl CargosWake {
    /// An order became active.
    pub fn submission_queued(&self) {
        self.0.notify_one();
    }
}

/// Runs queued checks until `stop` turns true.
pub async fn run_worker(app: Arc<App>, wake: CargosWake, mut stop: watch::Receiver<bool>) {
    let worker = Uuid::new_v4();
    loop {
        if *stop.borrow() {
            return;
        }
        match app.run_queued_submission(worker).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(error) => tracing::error!(%error, "Ca.R.G.O.S. worker"),
        }
        tokio::select! {
            () = wake.0.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {}
        }
    }
}
