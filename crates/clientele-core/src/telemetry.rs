//! What the services tell whoever measures them: how long a search took and which tier answered
//! it, how many import rows were processed, how webhook delivery attempts came out. The server
//! turns these into Prometheus metrics; without it (admin commands, most tests) nothing is kept.
//!
//! This is a trait rather than a metrics library so that the core names no exposition format and
//! keeps no global state: every [`App`](crate::App) has its own, given in its configuration.

use std::time::Duration;

/// Receives the services' measurements. Every method must be cheap: it runs on the request path.
pub trait Telemetry: std::any::Any + Send + Sync + std::fmt::Debug {
    /// A search was answered in `took`. `tier` names the deepest tier it had to ask before its
    /// page was full (`exact`, `prefix`, `substring`, `typo`), or `none` for a query with nothing
    /// searchable in it.
    fn search_answered(&self, tier: &'static str, took: Duration) {
        let _ = (tier, took);
    }

    /// An import batch of `rows` rows (valid or refused) was committed, or checked in a dry run.
    fn import_rows_processed(&self, rows: u64) {
        let _ = rows;
    }

    /// A webhook delivery attempt ended: `succeeded`, `retrying` (failed, tried again later) or
    /// `failed` (failed for good).
    fn delivery_attempted(&self, outcome: &'static str) {
        let _ = outcome;
    }
}

/// Keeps nothing: the default.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTelemetry;

impl Telemetry for NoTelemetry {}
