//! Clientele's storage: the core's `Store` trait on SQLite (embedded, the default) and PostgreSQL.
//!
//! The backend is chosen strictly by the URL scheme: `sqlite://path` or `postgres://...`. Any
//! other URL is refused, so a typo never creates a new, empty database somewhere. Migrations live
//! in `migrations/sqlite` and `migrations/postgres`, numbered in lock-step.

mod accounts;
mod audit;
mod customers;
mod db;
mod documents;
mod imports;
mod orders;
mod records;
mod risk;
mod search;
#[cfg(feature = "testing")]
pub mod testing;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use clientele_core::accounts::tenant::Tenant;
use clientele_core::accounts::user::PlatformAdmin;
use clientele_core::accounts::user::User;
use clientele_core::audit::entry::AuditEntry;
use clientele_core::audit::store::AuditHead;
use clientele_core::audit::store::AuditQuery;
use clientele_core::blacklist::record::BlacklistEntry;
use clientele_core::blacklist::record::GlobalEntry;
use clientele_core::blacklist::record::GlobalMatch;
use clientele_core::blacklist::record::GlobalQuery;
use clientele_core::blacklist::record::Pseudonym;
use clientele_core::customers::notes::Note;
use clientele_core::customers::record::Customer;
use clientele_core::customers::store::CustomerQuery;
use clientele_core::customers::store::CustomerWrite;
use clientele_core::customers::store::NewNote;
use clientele_core::documents::record::Document;
use clientele_core::documents::record::DocumentKind;
use clientele_core::documents::record::SealedFile;
use clientele_core::documents::requirements::RequiredDocuments;
use clientele_core::ids::CustomerId;
use clientele_core::ids::PlatformAdminId;
use clientele_core::ids::TenantId;
use clientele_core::ids::UserId;
use clientele_core::imports::job::ImportJob;
use clientele_core::imports::job::ImportLease;
use clientele_core::imports::job::ImportRowError;
use clientele_core::imports::store::ImportBatch;
use clientele_core::orders::record::Order;
use clientele_core::search::store::SearchMatch;
use clientele_core::search::terms::SearchTerms;
use clientele_core::search::terms::Tier;
use clientele_core::store::Store;
use clientele_core::time::Timestamp;
use clientele_core::values::Email;
use clientele_core::{Error, Result};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

use crate::db::{Db, db_error};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://path/to/file.db` (or `sqlite:path`).
    Sqlite,
    /// `postgres://...` or `postgresql://...`.
    Postgres,
}

impl Backend {
    /// The backend named by `url`'s scheme, or an error that says what is accepted.
    pub fn from_url(url: &str) -> Result<Self> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("sqlite") => Ok(Self::Sqlite),
            Some("postgres" | "postgresql") => Ok(Self::Postgres),
            _ => Err(Error::internal(format!(
                "unsupported database URL {:?}: use sqlite://path/to/clientele.db or postgres://user@host/db",
                redact(url)
            ))),
        }
    }
}

/// Pool sizes and timeouts.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections for reading (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
    /// How long to wait for a connection (and, on SQLite, for a lock).
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: 8, acquire_timeout: Duration::from_secs(10) }
    }
}

/// The store: one implementation of [`Store`] over either backend's pools.
#[derive(Debug, Clone)]
pub struct SqlStore {
    db: Db,
}

impl SqlStore {
    /// Connects to the database named by `url`. Does not migrate: call [`SqlStore::migrate`].
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self> {
        let failed = |e: sqlx::Error| Error::internal(format!("cannot open the database {}: {e}", redact(url)));
        let db = match Backend::from_url(url)? {
            Backend::Sqlite => {
                if url.contains(":memory:") || url.contains("mode=memory") {
                    return Err(Error::internal("in-memory SQLite is not supported: name a database file"));
                }
                let connect = SqliteConnectOptions::from_str(url)
                    .map_err(failed)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(options.acquire_timeout);
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect.clone())
                    .await
                    .map_err(failed)?;
                let read = SqlitePoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect.read_only(true))
                    .await
                    .map_err(failed)?;
                Db::Sqlite { read, write }
            }
            Backend::Postgres => {
                let connect = PgConnectOptions::from_str(url).map_err(failed)?;
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await
                    .map_err(failed)?;
                Db::Postgres(pool)
            }
        };
        Ok(Self { db })
    }

    /// Applies pending migrations. Safe to run from several processes at once.
    pub async fn migrate(&self) -> Result<()> {
        let result = match &self.db {
            Db::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        };
        result.map_err(|e| Error::internal(format!("migrating the database: {e}")))?;
        self.chain_unchained_audit().await?;
        self.ensure_search_index().await
    }

    /// The benchmarks' baseline: the naive search a system without a search index would run,
    /// a `LIKE '%q%'` scan over the tenant's live customers (each word of `query` must appear in
    /// the lower-cased names, email, phone, tax code or licence number). Returns how many of at
    /// most `limit` customers it found. Not used by the service.
    pub async fn baseline_like_search(&self, tenant: TenantId, query: &str, limit: u32) -> Result<usize> {
        let haystack = "lower(COALESCE(first_name, '') || ' ' || COALESCE(last_name, '') || ' ' || \
            COALESCE(company_name, '') || ' ' || COALESCE(email, '') || ' ' || COALESCE(phone, '') || ' ' || \
            COALESCE(tax_code, '') || ' ' || COALESCE(license_number, ''))";
        let words: Vec<String> = query.split_whitespace().map(|w| format!("%{}%", w.to_lowercase())).collect();
        let found = db::with_reader!(self, |pool| {
            let mut sql = sqlx::QueryBuilder::new("SELECT id FROM customers WHERE tenant_id = ");
            sql.push_bind(tenant.as_uuid()).push(" AND deleted_at IS NULL");
            for word in &words {
                sql.push(format!(" AND {haystack} LIKE ")).push_bind(word.as_str());
            }
            sql.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
            sql.build_query_scalar::<Uuid>().fetch_all(pool).await
        });
        Ok(found.map_err(db_error)?.len())
    }

    /// The import benchmark's baseline: the database's own bulk loader on the same CSV file, into
    /// a plain table of text columns (`bench_import_raw`, made afresh): PostgreSQL `COPY … FROM
    /// STDIN`; on SQLite, what its shell's `.import` does (one prepared multi-row insert after
    /// another, in one transaction). `delimiter` and the file's header row as given. Returns the
    /// rows loaded. Not used by the service.
    pub async fn baseline_bulk_load(&self, path: &std::path::Path, delimiter: u8, columns: usize) -> Result<u64> {
        let failed = |e: sqlx::Error| Error::internal(format!("baseline load: {e}"));
        let io = |e: std::io::Error| Error::internal(format!("baseline load: {e}"));
        let names: Vec<String> = (0..columns).map(|i| format!("c{i}")).collect();
        let create = format!(
            "CREATE TABLE bench_import_raw ({})",
            names.iter().map(|n| format!("{n} TEXT")).collect::<Vec<_>>().join(", ")
        );
        match &self.db {
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await.map_err(failed)?;
                sqlx::query("DROP TABLE IF EXISTS bench_import_raw").execute(&mut *conn).await.map_err(failed)?;
                sqlx::query(sqlx::AssertSqlSafe(create)).execute(&mut *conn).await.map_err(failed)?;
                let delimiter = char::from(delimiter);
                let copy =
                    format!("COPY bench_import_raw FROM STDIN (FORMAT csv, HEADER true, DELIMITER '{delimiter}')");
                let mut sink = conn.copy_in_raw(&copy).await.map_err(failed)?;
                let mut file = std::fs::File::open(path).map_err(io)?;
                let mut buffer = vec![0u8; 1 << 20];
                loop {
                    let n = std::io::Read::read(&mut file, &mut buffer).map_err(io)?;
                    if n == 0 {
                        break;
                    }
                    sink.send(&buffer[..n]).await.map_err(failed)?;
                }
                sink.finish().await.map_err(failed)
            }
            Db::Sqlite { write, .. } => {
                let mut tx = write.begin().await.map_err(failed)?;
                sqlx::query("DROP TABLE IF EXISTS bench_import_raw").execute(&mut *tx).await.map_err(failed)?;
                sqlx::query(sqlx::AssertSqlSafe(create)).execute(&mut *tx).await.map_err(failed)?;
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .flexible(true)
                    .from_path(path)
                    .map_err(|e| Error::internal(format!("baseline load: {e}")))?;
                let per_statement = (32_000 / columns.max(1)).clamp(1, 500);
                let mut rows: Vec<csv::StringRecord> = Vec::with_capacity(per_statement);
                let mut loaded = 0u64;
                let mut records = reader.records();
                loop {
                    rows.clear();
                    for record in records.by_ref().take(per_statement) {
                        rows.push(record.map_err(|e| Error::internal(format!("baseline load: {e}")))?);
                    }
                    if rows.is_empty() {
                        break;
                    }
                    let mut sql = sqlx::QueryBuilder::new("INSERT INTO bench_import_raw ");
                    sql.push_values(&rows, |mut b, row| {
                        for i in 0..columns {
                            b.push_bind(row.get(i).unwrap_or_default().to_owned());
                        }
                    });
                    sql.build().execute(&mut *tx).await.map_err(failed)?;
                    loaded += rows.len() as u64;
                }
                tx.commit().await.map_err(failed)?;
                Ok(loaded)
            }
        }
    }

    /// Refreshes the planner's statistics (PostgreSQL `ANALYZE`, SQLite `PRAGMA optimize`). Worth
    /// calling early in and after a bulk load into empty tables: until then PostgreSQL keeps
    /// planning for empty tables, foreign-key checks included, and loads slow down several-fold.
    pub async fn refresh_statistics(&self) -> Result<()> {
        let result = match &self.db {
            Db::Sqlite { write, .. } => sqlx::query("PRAGMA optimize").execute(write).await.map(drop),
            Db::Postgres(pool) => sqlx::query("ANALYZE").execute(pool).await.map(drop),
        };
        result.map_err(db_error)
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    async fn ping(&self) -> Result<()> {
        db::with_reader!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|_| ()).map_err(db_error))
    }

    async fn token_signing_key(&self, generated: &[u8]) -> Result<Vec<u8>> {
        self.signing_key(generated).await
    }

    async fn insert_tenant(&self, tenant: &Tenant) -> Result<()> {
        self.insert_tenant_row(tenant).await
    }

    async fn get_tenant(&self, id: TenantId) -> Result<Option<Tenant>> {
        self.tenant_by_id(id).await
    }

    async fn set_required_documents(
        &self,
        tenant: TenantId,
        required: &RequiredDocuments,
        audit: &AuditEntry,
    ) -> Result<()> {
        self.set_required_documents_row(tenant, required, audit).await
    }

    async fn find_tenant_by_name(&self, name: &str) -> Result<Option<Tenant>> {
        self.tenant_by_name(name).await
    }

    async fn insert_user(&self, user: &User) -> Result<()> {
        self.insert_user_row(user).await
    }

    async fn get_user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>> {
        self.user_by_id(tenant, id).await
    }

    async fn find_user_by_email(&self, tenant: TenantId, email: &Email) -> Result<Option<User>> {
        self.user_by_email(tenant, email).await
    }

    async fn set_user_disabled(&self, tenant: TenantId, id: UserId, disabled: bool) -> Result<bool> {
        self.update_user_disabled(tenant, id, disabled).await
    }

    async fn insert_platform_admin(&self, admin: &PlatformAdmin) -> Result<()> {
        self.insert_platform_admin_row(admin).await
    }

    async fn get_platform_admin(&self, id: PlatformAdminId) -> Result<Option<PlatformAdmin>> {
        self.platform_admin_by_id(id).await
    }

    async fn find_platform_admin_by_email(&self, email: &Email) -> Result<Option<PlatformAdmin>> {
        self.platform_admin_by_email(email).await
    }

    async fn insert_customer(&self, customer: &Customer, write: &CustomerWrite) -> Result<()> {
        self.insert_customer_rows(customer, write).await
    }

    async fn insert_customers(&self, tenant: TenantId, batch: &[(Customer, CustomerWrite)]) -> Result<()> {
        let batch: Vec<(&Customer, &CustomerWrite)> = batch.iter().map(|(c, w)| (c, w)).collect();
        self.insert_customer_batch(tenant, &batch).await
    }

    async fn get_customer(&self, tenant: TenantId, id: CustomerId) -> Result<Option<Customer>> {
        self.customer_by_id(tenant, id).await
    }

    async fn update_customer(&self, customer: &Customer, expected_version: i64, write: &CustomerWrite) -> Result<()> {
        self.update_customer_in_place(customer, expected_version, write).await
    }

    async fn list_customers(&self, tenant: TenantId, query: &CustomerQuery) -> Result<Vec<Customer>> {
        self.query_customers(tenant, query).await
    }

    async fn customers_with_email(
        &self,
        tenant: TenantId,
        email: &Email,
        except: CustomerId,
        partner: Option<CustomerId>,
    ) -> Result<Vec<CustomerId>> {
        self.customer_ids_with_email(tenant, email, except, partner).await
    }

    async fn customer_with_external_ref(&self, tenant: TenantId, external_ref: &str) -> Result<Option<CustomerId>> {
        self.customer_id_with_external_ref(tenant, external_ref).await
    }

    async fn insert_note(&self, note: &NewNote, audit: &AuditEntry) -> Result<()> {
        self.insert_note_row(note, audit).await
    }

    async fn list_notes(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<Note>> {
        self.notes_of(tenant, customer).await
    }

    async fn list_audit(&self, tenant: TenantId, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        self.audit_entries(tenant, query).await
    }

    async fn record(&self, audit: &[AuditEntry], matches: &[GlobalMatch]) -> Result<()> {
        self.record_events(audit, matches).await
    }

    async fn audit_heads(&self) -> Result<Vec<AuditHead>> {
        self.audit_chain_heads().await
    }

    async fn audit_chain(&self, tenant: TenantId, after_seq: i64, limit: u32) -> Result<Vec<AuditEntry>> {
        self.audit_chain_page(tenant, after_seq, limit).await
    }

    async fn insert_import_job(&self, job: &ImportJob, audit: &AuditEntry) -> Result<()> {
        self.insert_import_job_row(job, audit).await
    }

    async fn add_import_chunk(&self, tenant: TenantId, job: Uuid, chunk: i64, bytes: &[u8]) -> Result<()> {
        self.add_import_chunk_row(tenant, job, chunk, bytes).await
    }

    async fn import_file_chunk(&self, tenant: TenantId, job: Uuid, chunk: i64) -> Result<Option<Vec<u8>>> {
        self.import_file_piece(tenant, job, chunk).await
    }

    async fn save_import_job(&self, job: &ImportJob, lease: Option<&ImportLease>) -> Result<bool> {
        self.save_import_job_row(job, lease).await
    }

    async fn renew_import_lease(&self, tenant: TenantId, job: Uuid, lease: &ImportLease) -> Result<bool> {
        self.renew_lease(tenant, job, lease).await
    }

    async fn commit_import_batch(&self, batch: &ImportBatch) -> Result<bool> {
        self.commit_batch(batch).await
    }

    async fn end_import_job(&self, job: &ImportJob, lease: Option<&ImportLease>, audit: &[AuditEntry]) -> Result<bool> {
        self.end_job(job, lease, audit).await
    }

    async fn get_import_job(&self, tenant: TenantId, id: Uuid) -> Result<Option<ImportJob>> {
        self.import_job_by_id(tenant, id).await
    }

    async fn list_import_jobs(&self, tenant: TenantId, after: Option<Uuid>, limit: u32) -> Result<Vec<ImportJob>> {
        self.import_jobs_of(tenant, after, limit).await
    }

    async fn claim_import_job(
        &self,
        lease: &ImportLease,
        now: Timestamp,
        only: Option<(TenantId, Uuid)>,
    ) -> Result<Option<ImportJob>> {
        self.claim_import_job_row(lease, now, only).await
    }

    async fn abandon_stale_uploads(&self, before: Timestamp, now: Timestamp) -> Result<u64> {
        self.abandon_stale_upload_rows(before, now).await
    }

    async fn set_import_headers(&self, tenant: TenantId, job: Uuid, headers: &[String]) -> Result<()> {
        self.set_import_headers_row(tenant, job, headers).await
    }

    async fn import_headers(&self, tenant: TenantId, job: Uuid) -> Result<Vec<String>> {
        self.import_headers_of(tenant, job).await
    }

    async fn import_errors(
        &self,
        tenant: TenantId,
        job: Uuid,
        after_row: i64,
        limit: u32,
    ) -> Result<Vec<ImportRowError>> {
        self.import_error_rows(tenant, job, after_row, limit).await
    }

    async fn customers_in_id_range(
        &self,
        tenant: TenantId,
        low: CustomerId,
        high: CustomerId,
        after: Option<CustomerId>,
        limit: u32,
    ) -> Result<Vec<Customer>> {
        self.customers_in_range(tenant, low, high, after, limit).await
    }

    async fn refresh_customer_statistics(&self) -> Result<()> {
        match &self.db {
            Db::Postgres(pool) => sqlx::query("ANALYZE customers").execute(pool).await.map(drop).map_err(db_error),
            // SQLite plans these lookups by its indexes alone.
            Db::Sqlite { .. } => Ok(()),
        }
    }

    async fn existing_customers(&self, tenant: TenantId, ids: &[CustomerId]) -> Result<Vec<CustomerId>> {
        self.existing_customer_ids(tenant, ids).await
    }

    async fn customers_by_external_refs(&self, tenant: TenantId, refs: &[String]) -> Result<Vec<(String, CustomerId)>> {
        self.customers_with_keys(tenant, imports::KeyColumn::ExternalRef, refs).await
    }

    async fn customers_by_emails(&self, tenant: TenantId, emails: &[String]) -> Result<Vec<(String, CustomerId)>> {
        self.customers_with_keys(tenant, imports::KeyColumn::Email, emails).await
    }

    async fn insert_document(&self, document: &Document, audit: &AuditEntry) -> Result<()> {
        self.insert_document_row(document, audit).await
    }

    async fn get_document(&self, tenant: TenantId, id: Uuid) -> Result<Option<Document>> {
        self.document_by_id(tenant, id).await
    }

    async fn list_documents(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        include_deleted: bool,
    ) -> Result<Vec<Document>> {
        self.documents_of(tenant, customer, include_deleted).await
    }

    async fn update_document(&self, document: &Document, expected_version: i64, audit: &AuditEntry) -> Result<()> {
        self.update_document_row(document, expected_version, audit).await
    }

    async fn documents_held(
        &self,
        tenant: TenantId,
        customers: &[CustomerId],
    ) -> Result<Vec<(CustomerId, DocumentKind, Option<time::Date>)>> {
        self.documents_held_by(tenant, customers).await
    }

    async fn documents_to_rewrap(
        &self,
        key_id: &str,
        after: Option<(TenantId, Uuid)>,
        limit: u32,
    ) -> Result<Vec<Document>> {
        self.documents_wrapped_by_other_keys(key_id, after, limit).await
    }

    async fn set_document_key(&self, document: &Document, old_key_id: &str, sealed: &SealedFile) -> Result<bool> {
        self.replace_document_key(document, old_key_id, sealed).await
    }

    async fn blacklist_history(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<BlacklistEntry>> {
        self.blacklist_entries(tenant, customer).await
    }

    async fn find_global_matches(
        &self,
        hashes: &[[u8; 32]],
        key_id: &str,
        now: Timestamp,
        except: (TenantId, CustomerId),
    ) -> Result<Vec<Uuid>> {
        self.global_matches(hashes, key_id, now, except).await
    }

    async fn list_global_entries(&self, query: &GlobalQuery) -> Result<Vec<GlobalEntry>> {
        self.global_entries(query).await
    }

    async fn get_global_entry(&self, id: Uuid) -> Result<Option<GlobalEntry>> {
        self.global_entry_by_id(id).await
    }

    async fn replace_pseudonyms(&self, updates: &[(Uuid, String, Vec<Pseudonym>)]) -> Result<()> {
        self.rekey(updates).await
    }

    async fn insert_order(&self, order: &Order, audit: &[AuditEntry], matches: &[GlobalMatch]) -> Result<()> {
        self.insert_order_row(order, audit, matches).await
    }

    async fn get_order(&self, tenant: TenantId, id: Uuid) -> Result<Option<Order>> {
        self.order_by_id(tenant, id).await
    }

    async fn update_order(
        &self,
        order: &Order,
        expected_version: i64,
        audit: &[AuditEntry],
        matches: &[GlobalMatch],
    ) -> Result<()> {
        self.update_order_row(order, expected_version, audit, matches).await
    }

    async fn list_customer_orders(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Order>> {
        self.orders_of(tenant, customer, after, limit).await
    }

    async fn is_assigned_to_driver(&self, tenant: TenantId, driver: UserId, customer: CustomerId) -> Result<bool> {
        self.driver_has_customer(tenant, driver, customer).await
    }

    async fn search_matches(
        &self,
        tenant: TenantId,
        terms: &SearchTerms,
        tier: Tier,
        exclusive: bool,
        query: &CustomerQuery,
        after: Option<i64>,
    ) -> Result<Vec<SearchMatch>> {
        self.search_tier(tenant, terms, tier, exclusive, query, after).await
    }

    async fn customers_by_search_rowid(&self, tenant: TenantId, rowids: &[i64]) -> Result<Vec<Customer>> {
        self.customers_by_rowid(tenant, rowids).await
    }

    async fn search_vocabulary(&self, tenant: TenantId, variants: &[String]) -> Result<Vec<String>> {
        self.vocabulary_words(tenant, variants).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_chosen_by_scheme_only() {
        assert_eq!(Backend::from_url("sqlite://clientele.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("sqlite:data/c.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::from_url("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert_eq!(Backend::from_url("PostgreSQL://u@h/db").unwrap(), Backend::Postgres);
        for bad in ["clientele.db", "sqlit://x.db", "mysql://u@h/db", "", "file:x.db"] {
            assert!(Backend::from_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact("postgres://app:s3cret@db:5432/c"), "postgres://app:***@db:5432/c");
        assert_eq!(redact("postgres://app@db/c"), "postgres://app@db/c");
        assert_eq!(redact("sqlite://c.db"), "sqlite://c.db");
    }

    /// Migrations are numbered in lock-step: every version exists for both backends.
    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |dir: &str| {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        let root = env!("CARGO_MANIFEST_DIR");
        let sqlite = names(&format!("{root}/migrations/sqlite"));
        let postgres = names(&format!("{root}/migrations/postgres"));
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, postgres);
        let versions: Vec<i64> = SQLITE_MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, POSTGRES_MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>());
    }
}
