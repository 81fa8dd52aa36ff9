//! The storage contract: [`Store`], the sum of each resource's part (`CustomerStore` in
//! `customers::store`, `BlacklistStore` in `blacklist::store`, ...), implemented for SQLite and
//! PostgreSQL by `clientele-store` and proven on both by one conformance suite.
//!
//! Every method on tenant data is scoped to one tenant: it takes the tenant id first, or a record
//! that carries its tenant (a customer, an order, a note), and every statement it runs filters
//! by that tenant. Each method is one unit of work: it runs in its own transaction, and any audit
//! entry it takes is written in that same transaction.

use async_trait::async_trait;

use crate::accounts::store::AccountStore;
use crate::audit::store::AuditStore;
use crate::blacklist::store::BlacklistStore;
use crate::cargos::store::CargosStore;
use crate::customers::store::CustomerStore;
use crate::documents::store::DocumentStore;
use crate::error::Result;
use crate::imports::store::ImportStore;
use crate::orders::store::OrderStore;
use crate::payments::store::PaymentStore;
use crate::search::store::SearchStore;
use crate::webhooks::store::WebhookStore;

/// Persistence for everything Clientele keeps: the sum of each resource's part. See the module
/// documentation.
#[async_trait]
pub trait Store:
    AccountStore
    + CustomerStore
    + SearchStore
    + BlacklistStore
    + OrderStore
    + DocumentStore
    + AuditStore
    + ImportStore
    + WebhookStore
    + CargosStore
    + PaymentStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Succeeds when the database answers.
    async fn ping(&self) -> Result<()>;
    /// The connection pools' use now, one entry per pool (for metrics). None by default.
    fn pool_stats(&self) -> Vec<PoolStats> {
        Vec::new()
    }
}

/// One connection pool's use at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Which pool: `main` (PostgreSQL), `read` or `write` (SQLite).
    pub pool: &'static str,
    /// Connections open (idle or in use).
    pub size: u32,
    /// Connections open and idle.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}
