//! What the core needs from the outside to deliver webhooks, implemented over HTTP in
//! `clientele-integrations`: checking that a URL's host may be called, and POSTing a message.

use std::time::Duration;

/// One message to POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// The endpoint's URL.
    pub url: String,
    /// Headers to send (`webhook-id`, `webhook-timestamp`, `webhook-signature`, ...).
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
    /// How long to wait for the whole answer.
    pub timeout: Duration,
}

/// What came of one POST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    /// The receiver's status, if it answered at all.
    pub status: Option<u16>,
    /// How long the attempt took.
    pub latency: Duration,
    /// What went wrong short of an answer (timeout, refused connection, a refused address, ...).
    pub error: Option<String>,
    /// The start of the answer's body, as text (at most 1 KiB).
    pub body: Option<String>,
}

impl WebhookResponse {
    /// A 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Checks hosts and sends messages. Implementations refuse loopback, private, link-local and
/// cloud-metadata addresses unless configured to allow them, both when an endpoint is made and
/// at every delivery (a host may resolve elsewhere by then), never follow redirects, and never
/// read more of an answer than they keep.
#[async_trait::async_trait]
pub trait WebhookTransport: Send + Sync + std::fmt::Debug {
    /// `Ok` when `url`'s host resolves to addresses that may be called; the reason otherwise.
    async fn check_host(&self, url: &url::Url) -> std::result::Result<(), String>;
    /// POSTs one message.
    async fn post(&self, request: &WebhookRequest) -> WebhookResponse;
}
