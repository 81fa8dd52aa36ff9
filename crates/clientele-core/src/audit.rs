//! The audit log: who did what to which record, when, from where, and what changed.
//!
//! Entries are written by the store in the same transaction as the change they describe, so a
//! change without its entry (or the reverse) cannot exist.

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::auth::Actor;
use crate::ids::{AuditId, CustomerId, TenantId};
use crate::time::Timestamp;

/// What happened. The string form is stable: it is stored and filtered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// A customer was created.
    CustomerCreated,
    /// A customer's fields changed.
    CustomerUpdated,
    /// A customer was soft-deleted.
    CustomerDeleted,
    /// A soft-deleted customer was restored.
    CustomerRestored,
    /// A note was added to a customer's timeline.
    NoteAdded,
    /// VIP status was set.
    VipSet,
    /// VIP status was cleared.
    VipCleared,
    /// A customer was put on the tenant's (and possibly the global) blacklist.
    BlacklistAdded,
    /// A customer's blacklist entry was lifted.
    BlacklistLifted,
    /// A global-blacklist check matched (the entry is not named in the tenant's log).
    GlobalBlacklistMatched,
    /// A platform admin viewed a global entry and the flagging tenant's customer record.
    GlobalEntryViewed,
    /// An order was created.
    OrderCreated,
    /// An operator asked for an override of a blacklist hit.
    OrderOverrideRequested,
    /// An admin overrode a blacklist hit.
    OrderOverridden,
    /// An order's status or drivers changed.
    OrderUpdated,
    /// A document was uploaded.
    DocumentUploaded,
    /// A customer's document metadata was viewed.
    DocumentsViewed,
    /// A document's file was downloaded.
    DocumentDownloaded,
    /// A document's metadata changed.
    DocumentUpdated,
    /// A document was soft-deleted.
    DocumentDeleted,
    /// The tenant's required documents changed.
    RequiredDocumentsChanged,
    /// Customers were exported as CSV.
    CustomersExported,
    /// Everything held on one person was exported.
    PersonalDataExported,
    /// An import job was started.
    ImportStarted,
    /// An import job finished.
    ImportFinished,
    /// An import was undone.
    ImportUndone,
}

impl AuditAction {
    /// The action as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CustomerCreated => "customer.created",
            Self::CustomerUpdated => "customer.updated",
            Self::CustomerDeleted => "customer.deleted",
            Self::CustomerRestored => "customer.restored",
            Self::NoteAdded => "customer.note_added",
            Self::VipSet => "customer.vip_set",
            Self::VipCleared => "customer.vip_cleared",
            Self::BlacklistAdded => "blacklist.added",
            Self::BlacklistLifted => "blacklist.lifted",
            Self::GlobalBlacklistMatched => "blacklist.global_match",
            Self::GlobalEntryViewed => "blacklist.global_entry_viewed",
            Self::OrderCreated => "order.created",
            Self::OrderOverrideRequested => "order.override_requested",
            Self::OrderOverridden => "order.overridden",
            Self::OrderUpdated => "order.updated",
            Self::DocumentUploaded => "document.uploaded",
            Self::DocumentsViewed => "document.viewed",
            Self::DocumentDownloaded => "document.downloaded",
            Self::DocumentUpdated => "document.updated",
            Self::DocumentDeleted => "document.deleted",
            Self::RequiredDocumentsChanged => "settings.required_documents_changed",
            Self::CustomersExported => "customers.exported",
            Self::PersonalDataExported => "customer.personal_data_exported",
            Self::ImportStarted => "import.started",
            Self::ImportFinished => "import.finished",
            Self::ImportUndone => "import.undone",
        }
    }
}

/// Whether the audited attempt was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action was carried out.
    Allowed,
    /// The action was refused.
    Denied,
}

impl Outcome {
    /// The outcome as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
        }
    }
}

/// One audit-log entry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// The entry's place in its tenant's log: 1, 2, 3, ... without gaps (0 until written).
    pub seq: i64,
    /// SHA-256 (hex) of this entry and the previous entry's hash: altering or removing an entry
    /// breaks the chain from there on (`clientele audit verify`). Absent until written.
    pub hash: Option<String>,
    /// The entry's id (time-ordered).
    pub id: AuditId,
    /// The tenant whose data was concerned.
    #[serde(skip)]
    pub tenant_id: TenantId,
    /// When it happened.
    pub at: Timestamp,
    /// The acting user or platform admin (absent for command-line actors).
    pub actor_id: Option<Uuid>,
    /// The actor's role: a tenant role, `platform_admin` or `cli`.
    pub actor_role: String,
    /// What happened.
    pub action: String,
    /// The kind of object acted on (`customer`, `note`, ...).
    pub object_type: String,
    /// The object acted on.
    pub object_id: Uuid,
    /// The customer the entry concerns.
    pub customer_id: Option<CustomerId>,
    /// Allowed or denied.
    pub outcome: Outcome,
    /// Why (for denials and overrides).
    pub reason: Option<String>,
    /// What changed: `{"field": {"from": old, "to": new}}`.
    pub changes: Option<Value>,
    /// Client IP address.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
}

impl AuditEntry {
    /// An allowed action by `actor` on a customer-related object.
    pub fn new(
        actor: &Actor,
        tenant_id: TenantId,
        action: AuditAction,
        object_type: &str,
        object_id: Uuid,
        customer_id: Option<CustomerId>,
    ) -> Self {
        let origin = actor.origin();
        Self {
            seq: 0,
            hash: None,
            id: AuditId::new(),
            tenant_id,
            at: Timestamp::now(),
            actor_id: actor.user_uuid(),
            actor_role: actor.role_label().to_owned(),
            action: action.as_str().to_owned(),
            object_type: object_type.to_owned(),
            object_id,
            customer_id,
            outcome: Outcome::Allowed,
            reason: None,
            changes: None,
            ip: origin.ip.clone(),
            user_agent: origin.user_agent.clone(),
            request_id: origin.request_id.clone(),
        }
    }

    /// The same entry with what changed.
    pub fn with_changes(mut self, changes: Value) -> Self {
        self.changes = Some(changes);
        self
    }

    /// The same entry with a reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// The hash of the first entry's predecessor.
pub const CHAIN_START: [u8; 32] = [0; 32];

/// The chain hash of `entry` as entry number `seq` after an entry hashed `previous`: SHA-256 over
/// the previous hash and a canonical JSON array of every field (JSON objects with sorted keys),
/// so it reads the same from either database.
pub fn chain_hash(previous: &[u8; 32], seq: i64, entry: &AuditEntry) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let fields = serde_json::json!([
        seq,
        entry.tenant_id.to_string(),
        entry.id.to_string(),
        entry.at.to_fixed_string(),
        entry.actor_id.map(|a| a.to_string()),
        entry.actor_role,
        entry.action,
        entry.object_type,
        entry.object_id.to_string(),
        entry.customer_id.map(|c| c.to_string()),
        entry.outcome.as_str(),
        entry.reason,
        entry.changes.as_ref().map(canonical),
        entry.ip,
        entry.user_agent,
        entry.request_id,
    ]);
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(fields.to_string().as_bytes());
    hasher.finalize().into()
}

/// `value` with every object's keys in sorted order (whatever order the map keeps).
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&map[k]))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Where `clientele audit verify` found the chain broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainBreak {
    /// The entry at `seq` does not hash to its stored hash, or its successor does not chain to
    /// it: it (or its stored hash) was altered.
    Altered {
        /// Its tenant.
        tenant_id: TenantId,
        /// Its place.
        seq: i64,
        /// Its id.
        id: AuditId,
    },
    /// The entry at `seq` is gone.
    Missing {
        /// Its tenant.
        tenant_id: TenantId,
        /// Its place.
        seq: i64,
    },
    /// Entries stand outside the chain (inserted around it).
    Unchained {
        /// Their tenant.
        tenant_id: TenantId,
        /// How many.
        count: i64,
    },
    /// An entry at `seq` lies past the chain's recorded end, or the recorded end does not
    /// match the last entry: entries were added around the chain, or its head was altered.
    HeadMismatch {
        /// The tenant.
        tenant_id: TenantId,
        /// Where.
        seq: i64,
    },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Altered { tenant_id, seq, id } => {
                write!(f, "tenant {tenant_id}: audit entry #{seq} ({id}) was altered")
            }
            Self::Missing { tenant_id, seq } => write!(f, "tenant {tenant_id}: audit entry #{seq} is missing"),
            Self::Unchained { tenant_id, count } => {
                write!(f, "tenant {tenant_id}: {count} audit entries stand outside the chain (inserted)")
            }
            Self::HeadMismatch { tenant_id, seq } => {
                write!(f, "tenant {tenant_id}: the chain's recorded end does not match its entries at #{seq}")
            }
        }
    }
}

/// Checks one tenant's entries, read in `seq` order in pages, against the chain. `expected`
/// carries the last good `(seq, hash)` from page to page.
pub fn verify_page(tenant_id: TenantId, expected: &mut (i64, [u8; 32]), page: &[AuditEntry]) -> Result<(), ChainBreak> {
    for entry in page {
        let seq = expected.0 + 1;
        if entry.seq != seq {
            return Err(ChainBreak::Missing { tenant_id, seq });
        }
        let hash = chain_hash(&expected.1, seq, entry);
        if entry.hash.as_deref() != Some(hex::encode(hash).as_str()) {
            return Err(ChainBreak::Altered { tenant_id, seq, id: entry.id });
        }
        *expected = (seq, hash);
    }
    Ok(())
}

/// Field-by-field difference of two JSON objects, with nested objects flattened to dotted
/// paths: `{"address.city": {"from": "Roma", "to": "Milano"}}`. Equal fields are left out.
pub fn diff(before: &Value, after: &Value) -> Value {
    let mut changes = Map::new();
    diff_into(&mut changes, "", before, after);
    Value::Object(changes)
}

fn diff_into(changes: &mut Map<String, Value>, prefix: &str, before: &Value, after: &Value) {
    let empty = Map::new();
    match (before, after) {
        (Value::Object(_), _) | (_, Value::Object(_)) => {
            let b = before.as_object().unwrap_or(&empty);
            let a = after.as_object().unwrap_or(&empty);
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                diff_into(changes, &path, b.get(key).unwrap_or(&Value::Null), a.get(key).unwrap_or(&Value::Null));
            }
        }
        _ if before != after => {
            changes.insert(prefix.to_owned(), serde_json::json!({"from": before, "to": after}));
        }
        _ => {}
    }
}

/// Applies a JSON merge patch (RFC 7396) to `target`: `null` removes a member, objects merge,
/// anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_lists_changed_leaves_by_path() {
        let before = json!({"a": 1, "b": {"c": "x", "d": null}, "e": null});
        let after = json!({"a": 1, "b": {"c": "y", "d": null}, "e": {"f": 2}});
        assert_eq!(diff(&before, &after), json!({"b.c": {"from": "x", "to": "y"}, "e.f": {"from": null, "to": 2}}));
        assert_eq!(diff(&before, &before), json!({}));
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        // The example of RFC 7396 §3.
        let mut target = json!({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
            "tags": ["example", "sample"], "content": "This will be unchanged"});
        let patch = json!({"title": "Hello!", "phoneNumber": "+01-123-456-7890",
            "author": {"familyName": null}, "tags": ["example"]});
        merge_patch(&mut target, &patch);
        assert_eq!(
            target,
            json!({"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
                "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"})
        );
    }
}
