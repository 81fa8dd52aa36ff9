//! What the store keeps of orders, and the part of the storage contract that is theirs.

use crate::audit::entry::AuditEntry;
use crate::blacklist::record::GlobalMatch;
use crate::cargos::submissions::Submission;
use crate::error::Result;
use crate::ids::{CustomerId, OrderId, TenantId, UserId};
use crate::orders::record::Order;

/// Orders. Part of [`crate::store::Store`]; see its documentation for what every method
/// keeps to.
#[async_trait::async_trait]
pub trait OrderStore: Send + Sync {
    /// Stores a new order with its audit entries and global matches, atomically.
    async fn insert_order(&self, order: &Order, audit: &[AuditEntry], matches: &[GlobalMatch]) -> Result<()>;
    /// An order by id.
    async fn get_order(&self, tenant: TenantId, id: OrderId) -> Result<Option<Order>>;
    /// Replaces an order if still at `expected_version` (`409 version_conflict` otherwise),
    /// with its audit entries, global matches and, when the change queues one, a Ca.R.G.O.S.
    /// submission, atomically.
    async fn update_order(
        &self,
        order: &Order,
        expected_version: i64,
        audit: &[AuditEntry],
        matches: &[GlobalMatch],
        queued: Option<&Submission>,
    ) -> Result<()>;
    /// A customer's orders (as renter or second driver), newest first.
    async fn list_customer_orders(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<Order>>;
    /// Whether `customer` is the renter or second driver of a confirmed or active order
    /// assigned to `driver`.
    async fn is_assigned_to_driver(&self, tenant: TenantId, driver: UserId, customer: CustomerId) -> Result<bool>;
}
