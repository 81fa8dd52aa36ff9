//! What the store keeps of orders, and the part of the storage contract that is theirs.

use crate::audit::entry::AuditEntry;
use crate::blacklist::record::GlobalMatch;
use crate::cargos::submissions::Submission;
use crate::error::Result;
use crate::ids::{CustomerId, OrderId, TenantId, UserId};
use crate::orders::record::{Order, OrderStatus};
use crate::time::Timestamp;

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
    /// The tenant's orders matching `query`, newest first.
    async fn list_orders(&self, tenant: TenantId, query: &OrderQuery) -> Result<Vec<Order>>;
    /// Figures on the tenant's orders since `since`, for the admins' dashboard.
    async fn order_figures(&self, tenant: TenantId, since: Timestamp) -> Result<OrderFigures>;
    /// Whether `customer` is the renter or second driver of a confirmed or active order
    /// assigned to `driver`.
    async fn is_assigned_to_driver(&self, tenant: TenantId, driver: UserId, customer: CustomerId) -> Result<bool>;
}

/// Which orders to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderQuery {
    /// Only orders in one of these statuses (all when empty).
    pub statuses: Vec<OrderStatus>,
    /// Only orders assigned to this driver.
    pub driver: Option<UserId>,
    /// Keyset position: only orders with an id below this one.
    pub after: Option<OrderId>,
    /// At most this many.
    pub limit: u32,
}

/// Counts over a tenant's orders since a date, for the dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderFigures {
    /// Orders created.
    pub orders: u64,
    /// Orders created for a blacklisted person and confirmed by an admin's override.
    pub overridden: u64,
    /// Orders waiting for an admin's override now.
    pub awaiting_override: u64,
    /// Live VIP customers.
    pub vips: u64,
    /// Live VIP customers with two or more orders (as renter) since the date.
    pub vips_repeat: u64,
    /// Live non-VIP clients with at least one order since the date.
    pub others_ordering: u64,
    /// Live non-VIP clients with two or more orders since the date.
    pub others_repeat: u64,
    /// Live VIP customers with at least one order since the date.
    pub vips_ordering: u64,
}
