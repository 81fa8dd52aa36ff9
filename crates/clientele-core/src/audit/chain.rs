//! The audit log as a hash chain per tenant: each entry's hash covers the previous one's, so
//! that an altered, removed or inserted entry breaks the chain where it happened.

use serde_json::Value;

use crate::audit::entry::AuditEntry;
use crate::error::Result;
use crate::ids::{AuditId, TenantId};

/// The hash of the first entry's predecessor.
pub const CHAIN_START: [u8; 32] = [0; 32];

/// The key that links entries with HMAC-SHA-256 (`audit.chain_key` in configuration; never in
/// the database). Without it, someone with write access to the database could rewrite an entry
/// and recompute every hash after it; with it, only the key's holder can.
#[derive(Clone)]
pub struct ChainKey {
    id: String,
    key: Vec<u8>,
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainKey").field("id", &self.id).field("key", &"[redacted]").finish()
    }
}

impl ChainKey {
    /// The shortest key accepted, in bytes.
    pub const MIN_BYTES: usize = 32;

    /// A key from configuration.
    pub fn new(key: &[u8]) -> Result<Self> {
        if key.len() < Self::MIN_BYTES {
            return Err(crate::error::Error::internal(format!(
                "the audit chain key must be at least {} bytes",
                Self::MIN_BYTES
            )));
        }
        let id = hex::encode(&mac(key, b"clientele/audit-chain-key-id/v1")[..8]);
        Ok(Self { id, key: key.to_vec() })
    }

    /// A short public fingerprint of the key, stored with each entry it links.
    pub fn id(&self) -> &str {
        &self.id
    }
}

fn mac(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The chain hash of `entry` as entry number `seq` after an entry hashed `previous`: over the
/// previous hash and a canonical JSON array of every field (JSON objects with sorted keys), so
/// it reads the same from either database. HMAC-SHA-256 under `key` when given (the key's id
/// is then part of what is hashed too, so an entry cannot be moved to another scheme); plain
/// SHA-256 for entries written before the chain was keyed.
pub fn chain_hash(previous: &[u8; 32], seq: i64, entry: &AuditEntry, key: Option<&ChainKey>) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut fields = serde_json::json!([
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
    match key {
        Some(key) => {
            if let Value::Array(items) = &mut fields {
                items.push(Value::String(key.id.clone()));
            }
            let mut data = previous.to_vec();
            data.extend_from_slice(fields.to_string().as_bytes());
            mac(&key.key, &data)
        }
        None => {
            let mut hasher = Sha256::new();
            hasher.update(previous);
            hasher.update(fields.to_string().as_bytes());
            hasher.finalize().into()
        }
    }
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
    /// The entry at `seq` is linked by a key that is not configured here, so it cannot be
    /// checked.
    UnknownKey {
        /// Its tenant.
        tenant_id: TenantId,
        /// Its place.
        seq: i64,
        /// The id of the key it names.
        key_id: String,
    },
    /// The entry at `seq` is linked by plain SHA-256 although an earlier entry of the chain is
    /// keyed: it was rewritten by someone without the key.
    Unkeyed {
        /// Its tenant.
        tenant_id: TenantId,
        /// Its place.
        seq: i64,
    },
    /// The chain is shorter than an exported head said it was: entries from `seq` on are gone.
    Truncated {
        /// The tenant.
        tenant_id: TenantId,
        /// The first entry missing.
        seq: i64,
        /// How long the chain was when its head was exported.
        exported: i64,
    },
    /// The entry at `seq` hashes otherwise than when its head was exported: the chain was
    /// rewritten from there or before.
    Rewritten {
        /// The tenant.
        tenant_id: TenantId,
        /// The exported head's place.
        seq: i64,
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
            Self::UnknownKey { tenant_id, seq, key_id } => {
                write!(f, "tenant {tenant_id}: audit entry #{seq} is linked by key {key_id}, which is not configured")
            }
            Self::Unkeyed { tenant_id, seq } => write!(
                f,
                "tenant {tenant_id}: audit entry #{seq} is linked without the key after keyed entries (rewritten)"
            ),
            Self::Truncated { tenant_id, seq, exported } => write!(
                f,
                "tenant {tenant_id}: the audit chain was truncated: entries from #{seq} on are gone (the exported head \
                 had {exported})"
            ),
            Self::Rewritten { tenant_id, seq } => write!(
                f,
                "tenant {tenant_id}: audit entry #{seq} does not match the exported head: the chain was rewritten"
            ),
            Self::HeadMismatch { tenant_id, seq } => {
                write!(f, "tenant {tenant_id}: the chain's recorded end does not match its entries at #{seq}")
            }
        }
    }
}

/// Where checking one tenant's chain has got to, carried from page to page: the last good
/// `(seq, hash)`, and whether a keyed entry was met (after which every entry must be keyed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainCursor {
    /// The last entry checked.
    pub seq: i64,
    /// Its hash.
    pub hash: [u8; 32],
    /// Whether a keyed entry was met.
    pub keyed: bool,
}

impl Default for ChainCursor {
    fn default() -> Self {
        Self { seq: 0, hash: CHAIN_START, keyed: false }
    }
}

/// Checks one tenant's entries, read in `seq` order in pages, against the chain, with `key`
/// (the configured chain key, if any). Entries linked by plain SHA-256 are accepted only before
/// the first keyed one: those written before the chain was keyed.
pub fn verify_page(
    tenant_id: TenantId,
    cursor: &mut ChainCursor,
    page: &[AuditEntry],
    key: Option<&ChainKey>,
) -> Result<(), ChainBreak> {
    for entry in page {
        let seq = cursor.seq + 1;
        if entry.seq != seq {
            return Err(ChainBreak::Missing { tenant_id, seq });
        }
        let used = match entry.chain_key.as_deref() {
            None if cursor.keyed => return Err(ChainBreak::Unkeyed { tenant_id, seq }),
            None => None,
            Some(id) => match key {
                Some(key) if key.id() == id => Some(key),
                _ => return Err(ChainBreak::UnknownKey { tenant_id, seq, key_id: id.to_owned() }),
            },
        };
        let hash = chain_hash(&cursor.hash, seq, entry, used);
        if entry.hash.as_deref() != Some(hex::encode(hash).as_str()) {
            return Err(ChainBreak::Altered { tenant_id, seq, id: entry.id });
        }
        *cursor = ChainCursor { seq, hash, keyed: cursor.keyed || used.is_some() };
    }
    Ok(())
}

/// A tenant's chain head as exported by `clientele audit heads`: to check the chain against
/// later (`clientele audit verify --heads FILE`), from outside the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExportedHead {
    /// The tenant.
    pub tenant_id: TenantId,
    /// How many entries its chain held.
    pub seq: i64,
    /// The last entry's hash, hex.
    pub hash: String,
}
