//! What the store answers searches with.

use crate::customers::record::Customer;
use crate::customers::store::CustomerQuery;
use crate::error::Result;
use crate::ids::TenantId;

/// A search match before the customer is read: its place in recency order and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchMatch {
    /// The search rowid: increases with creation within a tenant.
    pub rowid: i64,
    /// The folded text that matched.
    pub text: String,
}

/// Search over customers, tier by tier. Part of [`crate::store::Store`]; see its documentation for what every method
/// keeps to.
#[async_trait::async_trait]
pub trait SearchStore: Send + Sync {
    /// The customers matching `terms` at `tier` and the filters of `query`, newest first, after
    /// the search rowid `after`, at most `query.limit`: their search rowids and texts. With
    /// `exclusive`, only those matching no better tier; without, every match at `tier` or better.
    async fn search_matches(
        &self,
        tenant: TenantId,
        terms: &crate::search::terms::SearchTerms,
        tier: crate::search::terms::Tier,
        exclusive: bool,
        query: &CustomerQuery,
        after: Option<i64>,
    ) -> Result<Vec<SearchMatch>>;
    /// The customers with these search rowids, in the order given.
    async fn customers_by_search_rowid(&self, tenant: TenantId, rowids: &[i64]) -> Result<Vec<Customer>>;
    /// Words of the tenant's search vocabulary that have any of `variants` in their deletion
    /// neighbourhood (typo candidates).
    async fn search_vocabulary(&self, tenant: TenantId, variants: &[String]) -> Result<Vec<String>>;
}
