//! Customers, their notes, and the audit entries written with them.

use async_trait::async_trait;
use clientele_core::audit::entry::AuditEntry;
use clientele_core::blacklist::record::BlacklistChange;
use clientele_core::customers::notes::Note;
use clientele_core::customers::record::Customer;
use clientele_core::customers::store::{CustomerQuery, CustomerStore, CustomerWrite, NewNote};
use clientele_core::ids::{CustomerId, TenantId};
use clientele_core::search::terms::SearchDocument;
use clientele_core::values::Email;
use clientele_core::{Error, ErrorCode, Result};
use sqlx::QueryBuilder;
use uuid::Uuid;
use writes::{
    CLEAR_STALE_GLOBAL_BADGES, INSERT_BLACKLIST_ENTRY, INSERT_GLOBAL_ENTRY, INSERT_NOTE, INSERT_PSEUDONYM,
    LIFT_BLACKLIST_ENTRY, ROWS_PER_STATEMENT, UPDATE_CUSTOMER, customer_write_error, existing_ids,
    insert_customer_rows, push_customer_filters, stale_write, update_customer_row, write_events, write_side_effects,
};

use crate::SqlStore;
use crate::audit::append_audit;
use crate::customers::records::{CustomerRecord, NoteRecord, bind_customer, customer_columns, push_customer_values};
use crate::db::{Db, Ts, db_error, in_transaction, with_reader};
use crate::search::index_customer;

pub(crate) mod writes;

pub(crate) mod records;

impl SqlStore {
    pub(crate) async fn customers_with_keys(
        &self,
        tenant: TenantId,
        column: KeyColumn,
        keys: &[String],
    ) -> Result<Vec<(String, CustomerId)>> {
        // One reader for every chunk: on PostgreSQL each reader is a transaction of its own.
        let found = with_reader!(self, tenant, |conn| {
            let mut found = Vec::new();
            for chunk in keys.chunks(500) {
                let mut sql = QueryBuilder::new(match column {
                    KeyColumn::ExternalRef => "SELECT external_ref, id FROM customers WHERE tenant_id = ",
                    KeyColumn::Email => "SELECT email, id FROM customers WHERE tenant_id = ",
                });
                sql.push_bind(tenant.as_uuid());
                // The `IS NOT NULL` terms name the partial indexes' predicates, so that PostgreSQL
                // uses them for a long IN list of parameters (it cannot prove them from the list).
                sql.push(match column {
                    KeyColumn::ExternalRef => " AND external_ref IS NOT NULL AND external_ref IN (",
                    KeyColumn::Email => " AND email IS NOT NULL AND deleted_at IS NULL AND email IN (",
                });
                let mut list = sql.separated(", ");
                for key in chunk {
                    list.push_bind(key.as_str());
                }
                sql.push(")");
                let rows = sql.build_query_as::<(String, Uuid)>().fetch_all(&mut *conn).await.map_err(db_error)?;
                found.extend(rows.into_iter().map(|(key, id)| (key, CustomerId::from_uuid(id))));
            }
            found
        });
        Ok(found)
    }

    /// Inserts a batch with multi-row statements: customers, their search documents, and their
    /// audit entries, a few statements per few hundred rows. Notes, matches and blacklist
    /// changes (rare on new customers) go one by one.
    pub(crate) async fn insert_customer_batch(
        &self,
        tenant: TenantId,
        batch: &[(&Customer, &CustomerWrite)],
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let sqlite = self.is_sqlite();
        in_transaction!(self, tenant, |tx| {
            insert_customer_rows!(self, tx, sqlite, tenant, batch);
            let audit: Vec<AuditEntry> = batch.iter().flat_map(|(_, w)| w.audit.iter().cloned()).collect();
            append_audit!(self, tx, &audit);
        });
        Ok(())
    }
}

#[async_trait]
impl CustomerStore for SqlStore {
    /// One new customer: a batch of one, so that there is one way to insert customers.
    async fn insert_customer(&self, customer: &Customer, write: &CustomerWrite) -> Result<()> {
        self.insert_customer_batch(customer.tenant_id, &[(customer, write)]).await
    }

    async fn insert_customers(&self, tenant: TenantId, batch: &[(Customer, CustomerWrite)]) -> Result<()> {
        let batch: Vec<(&Customer, &CustomerWrite)> = batch.iter().map(|(c, w)| (c, w)).collect();
        self.insert_customer_batch(tenant, &batch).await
    }

    async fn get_customer(&self, tenant: TenantId, id: CustomerId) -> Result<Option<Customer>> {
        let record = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, CustomerRecord>(concat!(
                "SELECT ",
                customer_columns!(),
                " FROM customers WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(conn)
            .await
        });
        record.map_err(db_error)?.map(Customer::try_from).transpose()
    }

    async fn update_customer(&self, customer: &Customer, expected_version: i64, write: &CustomerWrite) -> Result<()> {
        let sqlite = self.is_sqlite();
        in_transaction!(self, customer.tenant_id, |tx| {
            update_customer_row!(self, tx, sqlite, customer, expected_version, write);
            append_audit!(self, tx, &write.audit);
        });
        Ok(())
    }

    async fn count_customers(&self, tenant: TenantId, query: &CustomerQuery) -> Result<u64> {
        let count = with_reader!(self, tenant, |conn| {
            let mut sql = QueryBuilder::new("SELECT COUNT(*) FROM customers WHERE tenant_id = ");
            sql.push_bind(tenant.as_uuid());
            push_customer_filters!(sql, tenant, query, "");
            sql.build_query_scalar::<i64>().fetch_one(conn).await
        });
        Ok(u64::try_from(count.map_err(db_error)?).unwrap_or(0))
    }

    async fn list_customers(&self, tenant: TenantId, query: &CustomerQuery) -> Result<Vec<Customer>> {
        let records = with_reader!(self, tenant, |conn| {
            let mut sql =
                QueryBuilder::new(concat!("SELECT ", customer_columns!(), " FROM customers WHERE tenant_id = "));
            sql.push_bind(tenant.as_uuid());
            push_customer_filters!(sql, tenant, query, "");
            if let Some(after) = query.after {
                sql.push(" AND id < ").push_bind(after.as_uuid());
            }
            sql.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(query.limit));
            sql.build_query_as::<CustomerRecord>().fetch_all(conn).await
        });
        records.map_err(db_error)?.into_iter().map(Customer::try_from).collect()
    }

    async fn customers_with_email(
        &self,
        tenant: TenantId,
        email: &Email,
        except: CustomerId,
        partner: Option<CustomerId>,
    ) -> Result<Vec<CustomerId>> {
        let ids = with_reader!(self, tenant, |conn| {
            sqlx::query_scalar::<_, Uuid>(
                "SELECT id FROM customers WHERE tenant_id = $1 AND email = $2 AND id <> $3 \
                 AND deleted_at IS NULL AND ($4 IS NULL OR partner_id = $4) ORDER BY id LIMIT 50",
            )
            .bind(tenant.as_uuid())
            .bind(email.as_str())
            .bind(except.as_uuid())
            .bind(partner.map(|p| p.as_uuid()))
            .fetch_all(conn)
            .await
        });
        Ok(ids.map_err(db_error)?.into_iter().map(CustomerId::from_uuid).collect())
    }

    async fn customer_with_external_ref(&self, tenant: TenantId, external_ref: &str) -> Result<Option<CustomerId>> {
        let id = with_reader!(self, tenant, |conn| {
            sqlx::query_scalar::<_, Uuid>("SELECT id FROM customers WHERE tenant_id = $1 AND external_ref = $2")
                .bind(tenant.as_uuid())
                .bind(external_ref)
                .fetch_optional(conn)
                .await
        });
        Ok(id.map_err(db_error)?.map(CustomerId::from_uuid))
    }

    async fn insert_note(&self, note: &NewNote, audit: &AuditEntry) -> Result<()> {
        in_transaction!(self, note.tenant_id, |tx| {
            sqlx::query(INSERT_NOTE)
                .bind(note.tenant_id.as_uuid())
                .bind(note.id.as_uuid())
                .bind(note.customer_id.as_uuid())
                .bind(note.author_id)
                .bind(&note.body)
                .bind(Ts(note.created_at))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            append_audit!(self, tx, std::slice::from_ref(audit));
        });
        Ok(())
    }

    async fn list_notes(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<Note>> {
        let records = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, NoteRecord>(
                "SELECT n.id, n.customer_id, n.author_id, u.email AS author_email, n.body, n.created_at \
                 FROM customer_notes n \
                 LEFT JOIN users u ON u.tenant_id = n.tenant_id AND u.id = n.author_id \
                 WHERE n.tenant_id = $1 AND n.customer_id = $2 ORDER BY n.id DESC",
            )
            .bind(tenant.as_uuid())
            .bind(customer.as_uuid())
            .fetch_all(conn)
            .await
        });
        Ok(records.map_err(db_error)?.into_iter().map(Note::from).collect())
    }

    async fn customers_in_id_range(
        &self,
        tenant: TenantId,
        low: CustomerId,
        high: CustomerId,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<clientele_core::customers::record::Customer>> {
        let records = with_reader!(self, tenant, |conn| {
            let mut sql = QueryBuilder::new(concat!(
                "SELECT ",
                crate::customers::records::customer_columns!(),
                " FROM customers WHERE tenant_id = "
            ));
            sql.push_bind(tenant.as_uuid())
                .push(" AND id >= ")
                .push_bind(low.as_uuid())
                .push(" AND id <= ")
                .push_bind(high.as_uuid());
            if let Some(after) = after {
                sql.push(" AND id > ").push_bind(after.as_uuid());
            }
            sql.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit.max(1)));
            sql.build_query_as::<crate::customers::records::CustomerRecord>().fetch_all(conn).await
        });
        records.map_err(db_error)?.into_iter().map(clientele_core::customers::record::Customer::try_from).collect()
    }

    async fn refresh_customer_statistics(&self) -> Result<()> {
        match &self.db {
            Db::Postgres(_) => crate::db::as_owner(self, "ANALYZE customers").await,
            // SQLite plans these lookups by its indexes alone.
            Db::Sqlite { .. } => Ok(()),
        }
    }

    async fn existing_customers(&self, tenant: TenantId, ids: &[CustomerId]) -> Result<Vec<CustomerId>> {
        let found = with_reader!(self, tenant, |conn| existing_ids!(&mut *conn, tenant, ids));
        Ok(found.into_iter().map(CustomerId::from_uuid).collect())
    }

    async fn customers_by_external_refs(&self, tenant: TenantId, refs: &[String]) -> Result<Vec<(String, CustomerId)>> {
        self.customers_with_keys(tenant, KeyColumn::ExternalRef, refs).await
    }

    async fn customers_by_emails(&self, tenant: TenantId, emails: &[String]) -> Result<Vec<(String, CustomerId)>> {
        self.customers_with_keys(tenant, KeyColumn::Email, emails).await
    }
}

/// Which key to match customers on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyColumn {
    ExternalRef,
    Email,
}
