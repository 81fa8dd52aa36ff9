//! Clientele's storage: the core's `Store` trait on SQLite (embedded, the default) and PostgreSQL.
//!
//! The backend is chosen strictly by the URL scheme: `sqlite://path` or `postgres://...`. Any
//! other URL is refused, so a typo never creates a new, empty database somewhere. Migrations live
//! in `migrations/sqlite` and `migrations/postgres`, numbered in lock-step.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use clientele_core::ids::TenantId;
use clientele_core::store::Store;
use clientele_core::{Error, Result};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

use crate::db::{Db, db_error};

pub(crate) mod accounts;
pub(crate) mod audit;
pub(crate) mod blacklist;
pub(crate) mod cargos;
pub(crate) mod customers;
pub(crate) mod db;
pub(crate) mod documents;
pub(crate) mod imports;
pub(crate) mod orders;
pub(crate) mod payments;
pub(crate) mod search;
#[cfg(feature = "testing")]
pub mod testing;
pub(crate) mod webhooks;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// A short fingerprint of both backends' migrations (their versions and checksums): equal
/// fingerprints mean equal schemas.
#[cfg(feature = "testing")]
pub(crate) fn migrations_fingerprint() -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for migration in SQLITE_MIGRATIONS.iter().chain(POSTGRES_MIGRATIONS.iter()) {
        migration.version.hash(&mut hasher);
        migration.checksum.hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

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
    /// What the connections call themselves on PostgreSQL (`application_name`, as
    /// `pg_stat_activity` shows it): which pool a session belongs to.
    pub application_name: &'static str,
}

/// The `application_name` of the service's own connections.
pub const APPLICATION_NAME: &str = "clientele";

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: 8, acquire_timeout: Duration::from_secs(10), application_name: APPLICATION_NAME }
    }
}

/// The store: one implementation of [`Store`] over either backend's pools.
#[derive(Clone)]
pub struct SqlStore {
    db: Db,
    /// The key that links audit entries (HMAC-SHA-256); without one, plain SHA-256.
    chain_key: Option<std::sync::Arc<clientele_core::audit::chain::ChainKey>>,
    /// PostgreSQL: whether transactions switch to [`db::SERVICE_ROLE`] (the connecting role would
    /// pass row-level security by, and may become it). Known once the database is migrated.
    as_service: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Only the backend: the pools' options hold the database's credentials.
impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("backend", &self.backend()).finish_non_exhaustive()
    }
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
                let connect =
                    PgConnectOptions::from_str(url).map_err(failed)?.application_name(options.application_name);
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await
                    .map_err(failed)?;
                Db::Postgres(pool)
            }
        };
        let store = Self { db, chain_key: None, as_service: Default::default() };
        store.check_row_security().await?;
        Ok(store)
    }

    /// The same store, linking the audit entries it appends with `key` (HMAC-SHA-256).
    pub fn with_chain_key(self, key: Option<clientele_core::audit::chain::ChainKey>) -> Self {
        Self { chain_key: key.map(std::sync::Arc::new), ..self }
    }

    /// Applies pending migrations. Safe to run from several processes at once.
    pub async fn migrate(&self) -> Result<()> {
        let result = match &self.db {
            Db::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        };
        result.map_err(|e| Error::internal(format!("migrating the database: {e}")))?;
        self.check_row_security().await?;
        self.chain_unchained_audit().await?;
        self.ensure_search_index().await
    }

    /// The benchmarks' baseline: the naive search a system without a search index would run,
    /// a `LIKE '%q%'` scan over the tenant's live customers (each word of `query` must appear in
    /// the lower-cased names, email, phone, tax code or licence number). Returns how many of at
    /// most `limit` customers it found. Not used by the service.
    pub async fn baseline_like_search(&self, tenant: TenantId, query: &str, limit: u32) -> Result<usize> {
        let haystack = "lower(COALESCE(first_name, '') || ' ' || COALESCE(last_name, '') || ' ' || \
            COALESCE(company_name, '') || ' ' || COALESCE(email, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(secondary_phone, '') || ' ' || \
            COALESCE(tax_code, '') || ' ' || COALESCE(license_number, ''))";
        let words: Vec<String> = query.split_whitespace().map(|w| format!("%{}%", w.to_lowercase())).collect();
        let found = db::with_reader!(self, tenant, |conn| {
            let mut sql = sqlx::QueryBuilder::new("SELECT id FROM customers WHERE tenant_id = ");
            sql.push_bind(tenant.as_uuid()).push(" AND deleted_at IS NULL");
            for word in &words {
                sql.push(format!(" AND {haystack} LIKE ")).push_bind(word.as_str());
            }
            sql.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
            sql.build_query_scalar::<Uuid>().fetch_all(conn).await
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
                // As the owner: the service's own role may not create tables.
                let mut conn = pool.begin_with(self.pg_begin(db::Scope::Owner)).await.map_err(failed)?;
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
                let loaded = sink.finish().await.map_err(failed)?;
                conn.commit().await.map_err(failed)?;
                Ok(loaded)
            }
            Db::Sqlite { write, .. } => {
                let mut tx = write.begin_with(db::SQLITE_BEGIN_WRITE).await.map_err(failed)?;
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
        match &self.db {
            Db::Sqlite { write, .. } => sqlx::query("PRAGMA optimize").execute(write).await.map(drop).map_err(db_error),
            Db::Postgres(_) => db::as_owner(self, "ANALYZE").await,
        }
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
        db::with_reader!(self, db::Scope::Platform, |conn| sqlx::query("SELECT 1")
            .execute(conn)
            .await
            .map(|_| ())
            .map_err(db_error))
    }

    fn pool_stats(&self) -> Vec<clientele_core::store::PoolStats> {
        fn stats<DB: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<DB>) -> clientele_core::store::PoolStats {
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            clientele_core::store::PoolStats {
                pool: name,
                size: pool.size(),
                idle,
                max: pool.options().get_max_connections(),
            }
        }
        match &self.db {
            Db::Sqlite { read, write } => vec![stats("read", read), stats("write", write)],
            Db::Postgres(pool) => vec![stats("main", pool)],
        }
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
