//! A fresh, migrated database per test, on either backend (feature `testing`).
//!
//! SQLite databases live in a temporary directory. PostgreSQL databases are cloned from a
//! migrated template on the server named by `CLIENTELE_TEST_POSTGRES_URL` and dropped when the
//! [`TestDatabase`] is dropped; when the variable is not set, the PostgreSQL twins return at
//! once and [`postgres_half_runs_or_is_reported_skipped`] says so (CI always sets it).

use std::sync::Arc;

use clientele_core::ids::TenantId;
use clientele_core::store::Store;

use crate::db::Scope;
use crate::{SqlStore, StoreOptions};

pub mod statements;

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "CLIENTELE_TEST_POSTGRES_URL";

/// The check each suite runs once (as its own test): with [`POSTGRES_URL_VAR`] set, the
/// PostgreSQL twins of its tests run; without it, they return at once, and this says so on the
/// terminal (not captured like a test's output), or fails when `CI` is set: CI must run them.
pub fn postgres_half_runs_or_is_reported_skipped(suite: &str) {
    if std::env::var_os(POSTGRES_URL_VAR).is_some() {
        return;
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(!ci, "CI is set but {POSTGRES_URL_VAR} is not: the PostgreSQL half of the {suite} suite would not run");
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "note: the PostgreSQL half of the {suite} suite was SKIPPED (its tests passed without running): \
         set {POSTGRES_URL_VAR} to run it"
    );
}

/// A migrated database that lives as long as this value.
pub struct TestDatabase {
    store: Arc<SqlStore>,
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase").field("url", &self.url).finish()
    }
}

impl TestDatabase {
    /// A new SQLite database in a temporary directory.
    pub async fn sqlite() -> Self {
        statements::watch();
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("creating a temporary directory: {e}"));
        let url = format!("sqlite://{}", dir.path().join("clientele.db").display());
        let store = open(&url).await;
        Self { store, url, cleanup: Cleanup::Sqlite(dir) }
    }

    /// A new PostgreSQL database, or `None` (with a message) when no test server is configured.
    pub async fn postgres() -> Option<Self> {
        statements::watch();
        // Skipped without a word: `postgres_half_runs_or_is_reported_skipped` says it once.
        let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else { return None };
        let name = format!("clientele_test_{}", uuid::Uuid::new_v4().simple());
        let admin = SqlStore::connect(&admin_url, &small())
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VAR} is set but PostgreSQL is unreachable: {e}"));
        let template = postgres_template(&admin, &admin_url).await;
        admin.execute_admin(&format!("CREATE DATABASE {name} TEMPLATE {template}")).await;
        admin.close().await;
        let url = with_database(&admin_url, &name);
        let store = open(&url).await;
        Some(Self { store, url, cleanup: Cleanup::Postgres { admin_url, name } })
    }

    /// The store on this database.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The concrete store (for closing it, or for backend-specific checks).
    pub fn sql_store(&self) -> &SqlStore {
        &self.store
    }

    /// The database URL (for starting a server process on it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs one SQL statement (for tests that need to set up a state the service never makes).
    pub async fn execute(&self, statement: &str) {
        self.try_execute(statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    /// Runs one SQL statement; the database's refusal as text.
    pub async fn try_execute(&self, statement: &str) -> Result<(), String> {
        let sql = sqlx::AssertSqlSafe(format!("{} {statement}", statements::TEST_STATEMENT));
        let done: crate::Result<()> = async {
            crate::db::in_transaction!(self.store, Scope::Owner, |tx| {
                sqlx::query(sql).execute(&mut *tx).await.map_err(crate::db::db_error)?;
            });
            Ok(())
        }
        .await;
        done.map_err(|e| e.to_string())
    }

    /// Runs `query` as the service runs its statements, in the scope of `tenant` (or of no
    /// tenant), and returns its one text column: for tests of the row-level security policies
    /// (PostgreSQL), with statements that forgot their tenant filter on purpose.
    pub async fn texts_as_service(&self, tenant: Option<TenantId>, query: &str) -> Result<Vec<String>, String> {
        let scope = tenant.map_or(Scope::Platform, Scope::Tenant);
        let sql = sqlx::AssertSqlSafe(format!("{} {query}", statements::TEST_STATEMENT));
        let rows: crate::Result<Vec<String>> = async {
            let rows = crate::db::in_transaction!(self.store, scope, |tx| {
                sqlx::query_scalar(sql).fetch_all(&mut *tx).await.map_err(crate::db::db_error)?
            });
            Ok(rows)
        }
        .await;
        rows.map_err(|e| e.to_string())
    }

    /// Removes the database's own guard on the audit log, as someone with full access to the
    /// database could: for tests of what `audit verify` then finds.
    pub async fn allow_audit_tampering(&self) {
        match &self.store.db {
            crate::db::Db::Sqlite { .. } => {
                self.execute("DROP TRIGGER audit_log_no_update").await;
                self.execute("DROP TRIGGER audit_log_no_delete").await;
            }
            crate::db::Db::Postgres(_) => self.execute("DROP TRIGGER audit_log_append_only ON audit_log").await,
        }
    }

    /// A query's one text column, every row (for tests that look at what was stored).
    pub async fn texts(&self, query: &str) -> Vec<String> {
        let sql = sqlx::AssertSqlSafe(format!("{} {query}", statements::TEST_STATEMENT));
        let rows: crate::Result<Vec<String>> = async {
            crate::db::with_reader!(self.store, Scope::Owner, |conn| sqlx::query_scalar(sql).fetch_all(conn).await)
                .map_err(crate::db::db_error)
        }
        .await;
        rows.unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    /// Everything the database holds, as text someone with a copy of it could read: on SQLite
    /// the database and WAL files' bytes; on PostgreSQL every row of every table, with binary
    /// values decoded from their hex too.
    pub async fn dump_all_text(&self) -> String {
        match &self.store.db {
            crate::db::Db::Sqlite { .. } => {
                let path = self.url.trim_start_matches("sqlite://").to_owned();
                let mut bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
                bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
                String::from_utf8_lossy(&bytes).into_owned()
            }
            crate::db::Db::Postgres(_) => {
                let tables =
                    self.texts("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").await;
                let mut text = String::new();
                for table in tables {
                    for row in self.texts(&format!("SELECT t::text FROM {table} t")).await {
                        text.push_str(&row);
                        text.push('\n');
                        // bytea shows as \x<hex>: its bytes as text too.
                        for hex in row.split("\\x").skip(1) {
                            let digits: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
                            let bytes: Vec<u8> = (0..digits.len() / 2)
                                .filter_map(|i| u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).ok())
                                .collect();
                            text.push_str(&String::from_utf8_lossy(&bytes));
                            text.push('\n');
                        }
                    }
                }
                text
            }
        }
    }

    /// Every row of the global blacklist's tables as text, binary values in hex: what someone
    /// holding a copy of the database (but not the key) would see.
    pub async fn dump_global_list(&self) -> Vec<String> {
        let mut rows = Vec::new();
        for (table, columns) in GLOBAL_TABLES {
            let sql = match &self.store.db {
                // `quote` renders blobs as X'..' hex and text as '..'.
                crate::db::Db::Sqlite { .. } => {
                    let quoted: Vec<String> = columns.split(", ").map(|c| format!("quote({c})")).collect();
                    format!("SELECT {} FROM {table}", quoted.join(" || ',' || "))
                }
                // A row cast to text renders bytea as \x.. hex.
                crate::db::Db::Postgres(_) => format!("SELECT t::text FROM (SELECT {columns} FROM {table}) t"),
            };
            let sql = sqlx::AssertSqlSafe(format!("{} {sql}", statements::TEST_STATEMENT));
            let dumped: crate::Result<Vec<String>> = async {
                crate::db::with_reader!(self.store, Scope::Owner, |conn| sqlx::query_scalar(sql).fetch_all(conn).await)
                    .map_err(crate::db::db_error)
            }
            .await;
            let dumped = dumped.unwrap_or_else(|e| panic!("dumping {table}: {e}"));
            rows.extend(dumped.into_iter().map(|row| format!("{table}: {row}")));
        }
        rows
    }
}

/// Another process's write lock on a SQLite database (`BEGIN IMMEDIATE` on a connection of its
/// own), held until [`SqliteWriteLock::release`]: writers of the store wait for it, up to their
/// busy timeout.
pub struct SqliteWriteLock(sqlx::SqliteConnection);

impl std::fmt::Debug for SqliteWriteLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteWriteLock")
    }
}

impl SqliteWriteLock {
    /// Takes the write lock of the SQLite database at `url`.
    pub async fn take(url: &str) -> Self {
        use sqlx::Connection;
        let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(url)
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let mut connection =
            sqlx::SqliteConnection::connect_with(&options).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
        sqlx::query("BEGIN IMMEDIATE").execute(&mut connection).await.unwrap_or_else(|e| panic!("locking {url}: {e}"));
        Self(connection)
    }

    /// Lets the writers go on.
    pub async fn release(mut self) {
        use sqlx::Connection;
        sqlx::query("ROLLBACK").execute(&mut self.0).await.unwrap_or_else(|e| panic!("unlocking: {e}"));
        let _ = self.0.close().await;
    }
}

const GLOBAL_TABLES: [(&str, &str); 3] = [
    (
        "global_blacklist",
        "id, reason_code, flagging_tenant_id, flagging_customer_id, key_id, created_at, expires_at, lifted_at",
    ),
    ("global_blacklist_pseudonyms", "hash, entry_id, kind"),
    ("global_blacklist_matches", "entry_id, tenant_id, customer_id, context, matched_at"),
];

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            // Drop runs inside the test's runtime, which cannot block on async work: use a thread
            // with a runtime of its own. FORCE ends the connections the test's pool still holds.
            let (admin_url, drop_sql) = (admin_url.clone(), format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                runtime.block_on(async {
                    let admin = SqlStore::connect(&admin_url, &small()).await.ok()?;
                    admin.execute_admin(&drop_sql).await;
                    admin.close().await;
                    Some(())
                })
            })
            .join();
            if !matches!(dropped, Ok(Some(()))) {
                eprintln!("warning: could not drop test database {name}");
            }
        }
    }
}

/// The name of a PostgreSQL database migrated to this build's migrations, made once and then
/// cloned for each test: cloning a database is several times faster than migrating a new one.
/// Its name carries a fingerprint of the migrations, so a changed migration makes a new one; it
/// is renamed into place only once migrated, so a run killed halfway leaves no broken template.
async fn postgres_template(admin: &SqlStore, admin_url: &str) -> String {
    static TEMPLATE: tokio::sync::Mutex<Option<String>> = tokio::sync::Mutex::const_new(None);
    let mut known = TEMPLATE.lock().await;
    if let Some(name) = known.as_ref() {
        return name.clone();
    }
    let name = format!("clientele_template_{}", crate::migrations_fingerprint());
    let exists = admin.admin_scalar(&format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'")).await > 0;
    if !exists {
        let building = format!("{name}_{}", uuid::Uuid::new_v4().simple());
        admin.execute_admin(&format!("CREATE DATABASE {building}")).await;
        open(&with_database(admin_url, &building)).await.close().await;
        // Another process may have made it meanwhile: then ours is dropped.
        if admin.try_execute_admin(&format!("ALTER DATABASE {building} RENAME TO {name}")).await.is_err() {
            admin.execute_admin(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)")).await;
        }
    }
    *known = Some(name.clone());
    name
}

async fn open(url: &str) -> Arc<SqlStore> {
    let store = SqlStore::connect(url, &small()).await.unwrap_or_else(|e| panic!("opening {url}: {e}"));
    store.migrate().await.unwrap_or_else(|e| panic!("migrating {url}: {e}"));
    Arc::new(store)
}

fn small() -> StoreOptions {
    StoreOptions { max_connections: 4, ..StoreOptions::default() }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

impl SqlStore {
    async fn execute_admin(&self, statement: &str) {
        self.try_execute_admin(statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    async fn try_execute_admin(&self, statement: &str) -> Result<(), sqlx::Error> {
        match &self.db {
            crate::db::Db::Postgres(pool) => {
                sqlx::query(sqlx::AssertSqlSafe(statement.to_owned())).execute(pool).await.map(drop)
            }
            crate::db::Db::Sqlite { .. } => Ok(()),
        }
    }

    async fn admin_scalar(&self, statement: &str) -> i64 {
        match &self.db {
            crate::db::Db::Postgres(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(statement.to_owned()))
                .fetch_one(pool)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}")),
            crate::db::Db::Sqlite { .. } => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_names_are_replaced_in_urls() {
        assert_eq!(super::with_database("postgres://u@h:5432/postgres", "t1"), "postgres://u@h:5432/t1");
        assert_eq!(super::with_database("postgres://u@h", "t1"), "postgres://u@h/t1");
        assert_eq!(super::with_database("postgres://u@h/x?sslmode=disable", "t1"), "postgres://u@h/t1?sslmode=disable");
    }
}
