//! The audit log: appended as a hash chain per tenant, read with filters, read back in chain
//! order for `clientele audit verify`.

use async_trait::async_trait;
use clientele_core::audit::chain::{CHAIN_START, ChainKey, chain_hash};
use clientele_core::audit::entry::AuditEntry;
use clientele_core::audit::store::{AuditHead, AuditQuery, AuditStore};
use clientele_core::blacklist::record::GlobalMatch;
use clientele_core::ids::TenantId;
use clientele_core::time::Timestamp;
use clientele_core::{Error, Result};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::SqlStore;
use crate::audit::records::{AuditRecord, audit_columns};
use crate::customers::writes::write_events;
use crate::db::{Scope, Ts, db_error, in_transaction, with_reader};

pub(crate) mod records;

/// Set once the entries from before the chain have been chained.
const CHAINED_KEY: &str = "audit_log_chained";

/// The most audit rows per multi-row insert (17 values each).
pub(crate) const AUDIT_ROWS_PER_STATEMENT: usize = 1_000;

/// Claims the chain head of `tenant` inside the transaction (locking it until commit on
/// PostgreSQL; SQLite has one writer anyway): its length and last hash.
pub(crate) const CLAIM_HEAD: &str = "INSERT INTO audit_chain (tenant_id, seq, hash) VALUES ($1, 0, $2) \
    ON CONFLICT (tenant_id) DO UPDATE SET seq = audit_chain.seq RETURNING seq, hash";
pub(crate) const ADVANCE_HEAD: &str = "UPDATE audit_chain SET seq = $2, hash = $3 WHERE tenant_id = $1";

/// The stored hex form of a chain hash.
pub(crate) fn parse_hash(text: &str) -> Result<[u8; 32]> {
    let bytes: Vec<u8> = (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect::<Option<_>>()
        .unwrap_or_default();
    bytes
        .try_into()
        .map_err(|_| Error::internal(format!("audit chain: a stored hash is not 32 bytes of hex: {text:?}")))
}

pub(crate) fn hash_text(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Numbers and hashes `entries` after the chain head `(seq, hash)`, as records to insert,
/// linked with `key` (plain SHA-256 without one).
pub(crate) fn chain_records(
    entries: &[&AuditEntry],
    head: (i64, [u8; 32]),
    key: Option<&ChainKey>,
) -> (Vec<AuditRecord>, (i64, [u8; 32])) {
    let (mut seq, mut previous) = head;
    let records = entries
        .iter()
        .map(|entry| {
            seq += 1;
            previous = chain_hash(&previous, seq, entry, key);
            let mut record = AuditRecord::from(*entry);
            record.seq = Some(seq);
            record.hash = Some(hash_text(&previous));
            record.chain_key = key.map(|k| k.id().to_owned());
            record
        })
        .collect();
    (records, (seq, previous))
}

/// Appends audit entries inside the transaction `$tx`, each tenant's at the end of its chain,
/// linked with `$store`'s chain key.
macro_rules! append_audit {
    ($store:expr, $tx:ident, $entries:expr) => {{
        let entries: &[clientele_core::audit::entry::AuditEntry] = $entries;
        let mut tenants: Vec<clientele_core::ids::TenantId> = Vec::new();
        for entry in entries {
            if !tenants.contains(&entry.tenant_id) {
                tenants.push(entry.tenant_id);
            }
        }
        // One order of taking the heads' locks for every writer.
        tenants.sort();
        for tenant in tenants {
            let (seq, hash): (i64, String) = sqlx::query_as($crate::audit::CLAIM_HEAD)
                .bind(tenant.as_uuid())
                .bind($crate::audit::hash_text(&clientele_core::audit::chain::CHAIN_START))
                .fetch_one(&mut *$tx)
                .await
                .map_err($crate::db::db_error)?;
            let own: Vec<&clientele_core::audit::entry::AuditEntry> =
                entries.iter().filter(|e| e.tenant_id == tenant).collect();
            let (records, head) = $crate::audit::chain_records(
                &own,
                (seq, $crate::audit::parse_hash(&hash)?),
                $store.chain_key.as_deref(),
            );
            for chunk in records.chunks($crate::audit::AUDIT_ROWS_PER_STATEMENT) {
                let mut sql = sqlx::QueryBuilder::new(concat!(
                    "INSERT INTO audit_log (",
                    $crate::audit::records::audit_columns!(),
                    ") "
                ));
                sql.push_values(chunk, |mut b, record| {
                    $crate::audit::records::push_audit_values!(b, record);
                });
                sql.build().execute(&mut *$tx).await.map_err($crate::db::db_error)?;
            }
            sqlx::query($crate::audit::ADVANCE_HEAD)
                .bind(tenant.as_uuid())
                .bind(head.0)
                .bind($crate::audit::hash_text(&head.1))
                .execute(&mut *$tx)
                .await
                .map_err($crate::db::db_error)?;
        }
        // The events the audited changes publish, in the same transaction.
        $crate::webhooks::records::write_outbox!($tx, entries);
    }};
}

impl SqlStore {
    /// Chains the entries written before the log was a chain (in id order, per tenant), once,
    /// when the database is first opened after the migration that added the chain. Never again:
    /// an unchained entry found later was slipped in, and `audit verify` reports it.
    pub(crate) async fn chain_unchained_audit(&self) -> Result<()> {
        let done = with_reader!(self, Scope::Platform, |conn| {
            sqlx::query_scalar::<_, Vec<u8>>("SELECT value FROM platform_settings WHERE key = $1")
                .bind(CHAINED_KEY)
                .fetch_optional(conn)
                .await
        });
        if done.map_err(db_error)?.is_some() {
            return Ok(());
        }
        let tenants = with_reader!(self, Scope::Platform, |conn| {
            sqlx::query_scalar::<_, Uuid>("SELECT id FROM tenants ORDER BY id").fetch_all(conn).await
        });
        for tenant in tenants.map_err(db_error)? {
            // In id order through the primary key, a page per transaction.
            let mut after = Uuid::nil();
            loop {
                let (read, last) = in_transaction!(self, TenantId::from_uuid(tenant), |tx| {
                    let (seq, hash): (i64, String) = sqlx::query_as(CLAIM_HEAD)
                        .bind(tenant)
                        .bind(hash_text(&CHAIN_START))
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    let page: Vec<AuditRecord> = sqlx::query_as(concat!(
                        "SELECT ",
                        audit_columns!(),
                        " FROM audit_log WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT 5000"
                    ))
                    .bind(tenant)
                    .bind(after)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_error)?;
                    let (read, last) = (page.len(), page.last().map(|r| r.id));
                    let entries: Vec<AuditEntry> = page
                        .into_iter()
                        .filter(|r| r.seq.is_none())
                        .map(AuditEntry::try_from)
                        .collect::<Result<_>>()?;
                    let refs: Vec<&AuditEntry> = entries.iter().collect();
                    let (records, head) = chain_records(&refs, (seq, parse_hash(&hash)?), self.chain_key.as_deref());
                    for record in &records {
                        sqlx::query(
                            "UPDATE audit_log SET seq = $3, hash = $4, chain_key = $5 WHERE tenant_id = $1 AND id = $2",
                        )
                        .bind(record.tenant_id)
                        .bind(record.id)
                        .bind(record.seq)
                        .bind(&record.hash)
                        .bind(&record.chain_key)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    }
                    sqlx::query(ADVANCE_HEAD)
                        .bind(tenant)
                        .bind(head.0)
                        .bind(hash_text(&head.1))
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    (read, last)
                });
                match last {
                    Some(last) if read == 5000 => after = last,
                    _ => break,
                }
            }
        }
        in_transaction!(self, Scope::Platform, |tx| {
            sqlx::query("INSERT INTO platform_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(CHAINED_KEY)
                .bind(b"1".as_slice())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        });
        Ok(())
    }
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn count_audit_actions(&self, tenant: TenantId, action: &str, since: Timestamp) -> Result<u64> {
        let count = with_reader!(self, tenant, |conn| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM audit_log WHERE tenant_id = $1 AND action = $2 AND at >= $3",
            )
            .bind(tenant.as_uuid())
            .bind(action)
            .bind(Ts(since))
            .fetch_one(conn)
            .await
        });
        Ok(u64::try_from(count.map_err(db_error)?).unwrap_or(0))
    }

    async fn list_audit(&self, tenant: TenantId, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let records = with_reader!(self, tenant, |conn| {
            let mut sql = QueryBuilder::new(concat!("SELECT ", audit_columns!(), " FROM audit_log WHERE tenant_id = "));
            sql.push_bind(tenant.as_uuid());
            if let Some(customer) = query.customer_id {
                sql.push(" AND customer_id = ").push_bind(customer.as_uuid());
            }
            if let Some(actor) = query.actor_id {
                sql.push(" AND actor_id = ").push_bind(actor);
            }
            if let Some(action) = &query.action {
                sql.push(" AND action = ").push_bind(action.as_str());
            }
            if let Some(from) = query.from {
                sql.push(" AND at >= ").push_bind(Ts(from));
            }
            if let Some(before) = query.before {
                sql.push(" AND at < ").push_bind(Ts(before));
            }
            if let Some(request_id) = &query.request_id {
                sql.push(" AND request_id = ").push_bind(request_id.as_str());
            }
            if let Some(after) = query.after {
                sql.push(" AND id < ").push_bind(after.as_uuid());
            }
            sql.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(query.limit.max(1)));
            sql.build_query_as::<AuditRecord>().fetch_all(conn).await
        });
        records.map_err(db_error)?.into_iter().map(AuditEntry::try_from).collect()
    }

    async fn record(&self, audit: &[AuditEntry], matches: &[GlobalMatch]) -> Result<()> {
        if audit.is_empty() && matches.is_empty() {
            return Ok(());
        }
        in_transaction!(
            self,
            Scope::of(audit.iter().map(|a| a.tenant_id).chain(matches.iter().map(|m| m.tenant_id))),
            |tx| {
                write_events!(self, tx, audit, matches);
            }
        );
        Ok(())
    }

    async fn audit_heads(&self) -> Result<Vec<AuditHead>> {
        let heads = with_reader!(self, Scope::AllTenants, |conn| {
            sqlx::query_as::<_, (Uuid, Option<i64>, Option<String>, i64)>(
                "SELECT t.tenant_id, h.seq, h.hash, \
                 (SELECT count(*) FROM audit_log u WHERE u.tenant_id = t.tenant_id AND u.seq IS NULL) \
                 FROM (SELECT tenant_id FROM audit_chain UNION SELECT tenant_id FROM audit_log) t \
                 LEFT JOIN audit_chain h ON h.tenant_id = t.tenant_id ORDER BY t.tenant_id",
            )
            .fetch_all(conn)
            .await
        });
        Ok(heads
            .map_err(db_error)?
            .into_iter()
            .map(|(tenant, seq, hash, unchained)| AuditHead {
                tenant_id: TenantId::from_uuid(tenant),
                seq: seq.unwrap_or(0),
                hash,
                unchained,
            })
            .collect())
    }

    async fn audit_chain(&self, tenant: TenantId, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>> {
        let records = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, AuditRecord>(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_log WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            ))
            .bind(tenant.as_uuid())
            .bind(after_seq)
            .bind(i64::from(limit.max(1)))
            .fetch_all(conn)
            .await
        });
        records.map_err(db_error)?.into_iter().map(AuditEntry::try_from).collect()
    }
}

pub(crate) use append_audit;
