//! Webhooks: tenants' endpoints that hear of every change they subscribe to, signed per the
//! Standard Webhooks convention, delivered at least once and in order per customer from the
//! outbox, retried with backoff, every attempt kept and replayable.

use std::sync::Arc;
use std::time::Duration;

pub mod dispatch;
pub mod record;
pub mod services;
pub mod signing;
pub mod store;
pub mod transport;

/// How webhooks are made and delivered.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Sends messages and checks hosts; without it, webhooks can be listed but not made or sent.
    pub transport: Option<Arc<dyn transport::WebhookTransport>>,
    /// How long a receiver has to answer.
    pub timeout: Duration,
    /// The waits before each retry: as many retries as entries (the default: 30 s, 5 min, 30
    /// min), each with up to a fifth more or less of jitter.
    pub retries: Vec<Duration>,
    /// Plain `http` endpoints allowed (tests, private networks).
    pub allow_http: bool,
    /// An endpoint whose every delivery failed for this long is disabled.
    pub disable_after: Duration,
    /// How long delivered events are kept.
    pub retention: Duration,
    /// How long the previous signing secret still signs after a rotation, by default.
    pub secret_overlap: Duration,
    /// Deliveries one server process sends at once.
    pub concurrency: usize,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            transport: None,
            timeout: Duration::from_secs(10),
            retries: vec![Duration::from_secs(30), Duration::from_secs(300), Duration::from_secs(1800)],
            allow_http: false,
            disable_after: Duration::from_secs(3 * 24 * 3600),
            retention: Duration::from_secs(30 * 24 * 3600),
            secret_overlap: Duration::from_secs(24 * 3600),
            concurrency: 16,
        }
    }
}

impl WebhookSettings {
    /// A worker's lease on a delivery: long enough for the attempt and recording it, so that no
    /// other worker sends it meanwhile.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(10)
    }
}
