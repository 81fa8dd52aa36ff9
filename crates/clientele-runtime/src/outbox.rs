//! The outbox dispatcher: leases due webhook deliveries (the head of each customer's queue per
//! endpoint), sends them a few at a time, records what came of each, and purges what is old
//! enough. Several processes on one database share the work: a delivery is leased to one
//! worker at a time, and a success is recorded only by the worker that still holds it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clientele_core::App;
use clientele_core::webhooks::dispatch::Delivered;
use futures_util::StreamExt;
use tokio::sync::watch;
use uuid::Uuid;

/// How often an idle dispatcher looks for due deliveries. Under load it does not wait at all.
const POLL: Duration = Duration::from_millis(200);
/// How often old events are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// Sends due deliveries until `stop` says so.
pub async fn run_dispatcher(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let worker = Uuid::new_v4();
    let concurrency = app.webhook_concurrency();
    let batch = u32::try_from(concurrency * 4).unwrap_or(64);
    let mut purged_at: Option<Instant> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        if purged_at.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
            purged_at = Some(Instant::now());
            match app.purge_outbox().await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "purged delivered events past their retention"),
                Err(error) => tracing::error!(%error, "purging the outbox"),
            }
        }
        let due = match app.claim_deliveries(worker, batch).await {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "claiming webhook deliveries");
                Vec::new()
            }
        };
        if due.is_empty() {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        futures_util::stream::iter(due)
            .for_each_concurrent(concurrency, |delivery| {
                let app = app.clone();
                async move {
                    match app.deliver(worker, &delivery).await {
                        Ok(Delivered::LostLease) => tracing::warn!(
                            event = %delivery.event_id, endpoint = %delivery.endpoint_id,
                            "another worker took this delivery over; its attempt was not recorded"
                        ),
                        Ok(Delivered::Failed) => tracing::warn!(
                            event = %delivery.event_id, endpoint = %delivery.endpoint_id,
                            "a webhook delivery failed for good"
                        ),
                        Ok(_) => {}
                        Err(error) => {
                            tracing::error!(%error, event = %delivery.event_id, "recording a webhook delivery")
                        }
                    }
                }
            })
            .await;
    }
}
