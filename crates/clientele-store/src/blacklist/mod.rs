//! Blacklist history, the global list's queries, and records of views and refusals.

use async_trait::async_trait;
use clientele_core::blacklist::record::{BlacklistEntry, GlobalEntry, Pseudonym};
use clientele_core::blacklist::store::{BlacklistStore, GlobalQuery};
use clientele_core::ids::GlobalEntryId;
use clientele_core::ids::{CustomerId, TenantId};
use clientele_core::time::Timestamp;
use clientele_core::{Error, Result};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::SqlStore;
use crate::blacklist::records::{
    BlacklistEntryRecord, GlobalEntryRecord, blacklist_entry_columns, global_entry_columns,
};
use crate::db::{Scope, Ts, db_error, in_transaction, with_reader};

pub(crate) mod records;

#[async_trait]
impl BlacklistStore for SqlStore {
    async fn blacklist_history(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<BlacklistEntry>> {
        let records = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, BlacklistEntryRecord>(concat!(
                "SELECT ",
                blacklist_entry_columns!(),
                " FROM blacklist_entries WHERE tenant_id = $1 AND customer_id = $2 ORDER BY id DESC"
            ))
            .bind(tenant.as_uuid())
            .bind(customer.as_uuid())
            .fetch_all(conn)
            .await
        });
        records.map_err(db_error)?.into_iter().map(BlacklistEntry::try_from).collect()
    }

    async fn find_global_matches(
        &self,
        hashes: &[[u8; 32]],
        key_id: &str,
        now: Timestamp,
        except: (TenantId, CustomerId),
    ) -> Result<Vec<GlobalEntryId>> {
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let ids = with_reader!(self, Scope::Platform, |conn| {
            let mut sql = QueryBuilder::new(
                "SELECT DISTINCT g.id FROM global_blacklist_pseudonyms p JOIN global_blacklist g ON g.id = p.entry_id \
                 WHERE p.hash IN (",
            );
            let mut list = sql.separated(", ");
            for hash in hashes {
                list.push_bind(&hash[..]);
            }
            sql.push(") AND g.key_id = ")
                .push_bind(key_id)
                .push(" AND g.lifted_at IS NULL AND g.expires_at > ")
                .push_bind(Ts(now))
                .push(" AND NOT (g.flagging_tenant_id = ")
                .push_bind(except.0.as_uuid())
                .push(" AND g.flagging_customer_id = ")
                .push_bind(except.1.as_uuid())
                .push(") ORDER BY g.id");
            sql.build_query_scalar::<Uuid>().fetch_all(conn).await
        });
        Ok(ids.map_err(db_error)?.into_iter().map(GlobalEntryId::from_uuid).collect())
    }

    async fn list_global_entries(&self, query: &GlobalQuery) -> Result<Vec<GlobalEntry>> {
        let records = with_reader!(self, Scope::Platform, |conn| {
            let mut sql =
                QueryBuilder::new(concat!("SELECT ", global_entry_columns!(), " FROM global_blacklist WHERE 1 = 1"));
            if !query.include_lifted {
                sql.push(" AND lifted_at IS NULL");
            }
            if let Some(after) = query.after {
                sql.push(" AND id < ").push_bind(after.as_uuid());
            }
            sql.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(query.limit.max(1)));
            sql.build_query_as::<GlobalEntryRecord>().fetch_all(conn).await
        });
        records.map_err(db_error)?.into_iter().map(GlobalEntry::try_from).collect()
    }

    async fn get_global_entry(&self, id: GlobalEntryId) -> Result<Option<GlobalEntry>> {
        let record = with_reader!(self, Scope::Platform, |conn| {
            sqlx::query_as::<_, GlobalEntryRecord>(concat!(
                "SELECT ",
                global_entry_columns!(),
                " FROM global_blacklist WHERE id = $1"
            ))
            .bind(id.as_uuid())
            .fetch_optional(conn)
            .await
        });
        record.map_err(db_error)?.map(GlobalEntry::try_from).transpose()
    }

    async fn replace_pseudonyms(&self, updates: &[(GlobalEntryId, String, Vec<Pseudonym>)]) -> Result<()> {
        in_transaction!(self, Scope::Platform, |tx| {
            for (id, key_id, pseudonyms) in updates {
                let found = sqlx::query("UPDATE global_blacklist SET key_id = $2 WHERE id = $1")
                    .bind((*id).as_uuid())
                    .bind(key_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?
                    .rows_affected();
                if found != 1 {
                    return Err(Error::internal(format!("global entry {id} vanished during key rotation")));
                }
                sqlx::query("DELETE FROM global_blacklist_pseudonyms WHERE entry_id = $1")
                    .bind((*id).as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                for pseudonym in pseudonyms {
                    sqlx::query("INSERT INTO global_blacklist_pseudonyms (hash, entry_id, kind) VALUES ($1, $2, $3)")
                        .bind(&pseudonym.hash[..])
                        .bind((*id).as_uuid())
                        .bind(pseudonym.kind.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
            }
        });
        Ok(())
    }
}
