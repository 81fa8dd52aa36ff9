//! What the store keeps of blacklist, and the part of the storage contract that is theirs.

use crate::blacklist::record::{BlacklistEntry, GlobalEntry, Pseudonym};
use crate::error::Result;
use crate::ids::{CustomerId, GlobalEntryId, TenantId};
use crate::time::Timestamp;

/// Blacklist entries and the platform's global list. Part of [`crate::store::Store`]; see its documentation for what every method
/// keeps to.
#[async_trait::async_trait]
pub trait BlacklistStore: Send + Sync {
    /// A customer's blacklist entries, newest first.
    async fn blacklist_history(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<BlacklistEntry>>;
    /// Active, unexpired global entries with any of `hashes` made under `key_id`, except the one
    /// made from `except` (a customer's own flag).
    async fn find_global_matches(
        &self,
        hashes: &[[u8; 32]],
        key_id: &str,
        now: Timestamp,
        except: (TenantId, CustomerId),
    ) -> Result<Vec<GlobalEntryId>>;
    /// Global entries, newest first.
    async fn list_global_entries(&self, query: &GlobalQuery) -> Result<Vec<GlobalEntry>>;
    /// One global entry.
    async fn get_global_entry(&self, id: GlobalEntryId) -> Result<Option<GlobalEntry>>;
    /// Replaces the pseudonyms of global entries (key rotation), atomically.
    async fn replace_pseudonyms(&self, updates: &[(GlobalEntryId, String, Vec<Pseudonym>)]) -> Result<()>;
}

/// Keyset position for the platform's global list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalQuery {
    /// Include lifted entries.
    pub include_lifted: bool,
    /// Only entries with an id below this one.
    pub after: Option<GlobalEntryId>,
    /// At most this many.
    pub limit: u32,
}
