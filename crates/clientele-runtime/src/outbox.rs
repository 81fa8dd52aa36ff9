//! The outbox dispatcher: leases due webhook deliveries (the head of each customer's queue per
//! endpoint), sends up to `webhooks.concurrency` at once, records what came of them a batch at
//! a time, and purges what is old enough. Several processes on one database share the work: a
//! delivery is leased to one worker at a time, and a success is recorded only by the worker
//! that still holds it.
//!
//! Three parts run side by side: the claimer leases deliveries a few batches ahead and hands each
//! to a free sender, each sender posts one message, and the recorder writes the outcomes that
//! arrived meanwhile in one transaction (a slow receiver holds up only its own deliveries, never
//! others' recording).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clientele_core::App;
use clientele_core::webhooks::dispatch::Delivered;
use clientele_core::webhooks::store::{DueDelivery, FinishedAttempt};
use tokio::sync::{Semaphore, mpsc, watch};
use uuid::Uuid;

/// How often an idle dispatcher looks for due deliveries. Under load it does not wait at all.
const POLL: Duration = Duration::from_millis(100);
/// How often old events are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// The most outcomes recorded in one transaction.
const RECORD_BATCH: usize = 256;

/// Sends due deliveries until `stop` says so; then finishes the ones under way.
pub async fn run_dispatcher(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let worker = Uuid::new_v4();
    let concurrency = app.webhook_concurrency();
    let senders = Arc::new(Semaphore::new(concurrency));
    let (outcomes, received) = mpsc::channel::<FinishedAttempt>(concurrency * 4);
    let recorder = tokio::spawn(record(app.clone(), worker, received));
    let mut purged_at: Option<Instant> = None;
    // Leased deliveries waiting for a sender, with when they were leased: one that waited half
    // its lease is dropped rather than sent (its lease may run out mid-send, and another worker
    // take it), and comes back once the lease has run out.
    let mut queue: VecDeque<(Instant, DueDelivery)> = VecDeque::new();
    let fresh_for = app.webhook_lease() / 2;
    loop {
        if *stop.borrow() {
            break;
        }
        if purged_at.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
            purged_at = Some(Instant::now());
            match app.purge_outbox().await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "purged delivered events past their retention"),
                Err(error) => tracing::error!(%error, "purging the outbox"),
            }
        }
        // Leased a few batches ahead, so that a claim (a write, queued behind every other
        // writer on SQLite) is not paid per delivery.
        if queue.len() < concurrency {
            let want = u32::try_from(concurrency * 4 - queue.len()).unwrap_or(64);
            match app.claim_deliveries(worker, want).await {
                Ok(due) => {
                    let now = Instant::now();
                    queue.extend(due.into_iter().map(|d| (now, d)));
                }
                Err(error) => tracing::error!(%error, "claiming webhook deliveries"),
            }
        }
        let Some((leased, delivery)) = queue.pop_front() else {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
            continue;
        };
        let Ok(permit) = senders.clone().acquire_owned().await else { break };
        if leased.elapsed() > fresh_for {
            continue;
        }
        let (app, outcomes) = (app.clone(), outcomes.clone());
        tokio::spawn(async move {
            match app.send_delivery(&delivery).await {
                Ok(finished) => {
                    let _ = outcomes.send(finished).await;
                }
                Err(error) => tracing::error!(%error, event = %delivery.event_id, "sending a webhook"),
            }
            drop(permit);
        });
    }
    // What was leased and not sent goes back when its lease runs out (another worker, or this
    // one after a restart, sends it then).
    // Let the sends under way finish and be recorded.
    let _ = senders.acquire_many(u32::try_from(concurrency).unwrap_or(1)).await;
    drop(outcomes);
    let _ = recorder.await;
}

/// Records outcomes as they arrive, all those waiting at once.
async fn record(app: Arc<App>, worker: Uuid, mut received: mpsc::Receiver<FinishedAttempt>) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while received.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        match app.record_deliveries(worker, &batch).await {
            Ok(outcomes) => {
                for (finished, outcome) in batch.iter().zip(outcomes) {
                    let (event, endpoint) = (finished.attempt.event_id, finished.attempt.endpoint_id);
                    match outcome {
                        Delivered::LostLease => tracing::warn!(
                            %event, %endpoint,
                            "another worker took this delivery over; its attempt was not recorded"
                        ),
                        Delivered::Failed => tracing::warn!(%event, %endpoint, "a webhook delivery failed for good"),
                        Delivered::Succeeded | Delivered::WillRetry => {}
                    }
                }
            }
            // Not recorded: the leases run out and the deliveries are sent again (at least once).
            Err(error) => tracing::error!(%error, deliveries = batch.len(), "recording webhook deliveries"),
        }
        batch.clear();
    }
}
