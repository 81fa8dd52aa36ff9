//! The audit log as a hash chain per tenant: each entry's hash covers the previous one's, so
//! that an altered, removed or inserted entry breaks the chain where it happened.

use serde_json::Value;

use crate::audit::entry::AuditEntry;
use crate::error::Result;
use crate::ids::{AuditId, TenantId};

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
