//! The two connection pools and what lets one SQL text run on both.
//!
//! Most statements are identical on SQLite and PostgreSQL (sqlx-sqlite binds `$N` by number), so
//! each store method is written once and run on whichever pool this store has: [`with_reader!`] runs a
//! block on a reading connection, [`in_transaction!`] runs it inside a write transaction and commits,
//! both in a [`Scope`] (whose rows the block may touch: PostgreSQL's row-level security holds it).
//! The block is expanded once per backend, so each expansion is checked against that backend's types.
//! Where the dialects differ, the method matches on [`Db`] itself, in plain sight.
//!
//! SQLite gets a single-connection writer pool beside its reader pool: writes queue in the pool
//! instead of failing with `SQLITE_BUSY`, and WAL lets readers go on meanwhile. Other processes
//! on the same file have writers of their own, so a write transaction begins as a writer
//! (`BEGIN IMMEDIATE`): it waits for the file's write lock up to the busy timeout before doing
//! anything. A deferred transaction would take its snapshot at its first read and fail at once
//! with `SQLITE_BUSY` when it tries to write after another process committed, whatever the
//! timeout. A wait that runs out is [`ErrorCode::DatabaseBusy`] (`503` with `Retry-After`).

use std::time::Duration;

use clientele_core::ids::TenantId;
use clientele_core::time::Timestamp;
use clientele_core::{Error, ErrorCode};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, PgPool, Postgres, Sqlite, SqlitePool, Type};
use time::OffsetDateTime;

/// The pools of one store.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    /// Readers, and one writer connection.
    Sqlite { read: SqlitePool, write: SqlitePool },
    /// One pool for everything.
    Postgres(PgPool),
}

/// Whose rows the statements of one [`with_reader!`] or [`in_transaction!`] block may see.
///
/// On PostgreSQL every tenant table has a row-level security policy (migration 0014): a
/// transaction sees and writes the rows of the tenant it names in `app.tenant_id` (`SET LOCAL`,
/// through `set_config(…, true)`), every tenant's with `*`, and none without it. The SQL names
/// the tenant too (`tenant_id = $1`): the policy is the second wall, for a statement that forgot.
/// SQLite has no such policies; the scope is still stated, so that each block says what it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// One tenant's rows.
    Tenant(TenantId),
    /// Every tenant's rows: the workers' and maintenance statements (`/* all tenants */`).
    AllTenants,
    /// No tenant's rows: statements on the platform's own tables (tenants, platform admins, the
    /// global blacklist, console sessions).
    Platform,
    /// As the role that connected, not the service's role (see [`crate::SqlStore::connect`]):
    /// maintenance only a table's owner may do (`ANALYZE`), and tests that look at or tamper
    /// with the data as the database's owner could. Every tenant's rows.
    Owner,
}

impl From<TenantId> for Scope {
    fn from(tenant: TenantId) -> Self {
        Self::Tenant(tenant)
    }
}

impl Scope {
    /// The scope of a write of rows of `tenants`: the one tenant they all belong to, else every
    /// tenant (a platform admin's change that reaches several).
    pub(crate) fn of(tenants: impl IntoIterator<Item = TenantId>) -> Self {
        let mut tenants = tenants.into_iter();
        match tenants.next() {
            None => Self::Platform,
            Some(first) if tenants.all(|t| t == first) => Self::Tenant(first),
            Some(_) => Self::AllTenants,
        }
    }

    /// The value of `app.tenant_id` for this scope.
    fn setting(self) -> String {
        match self {
            Self::Tenant(tenant) => tenant.as_uuid().to_string(),
            Self::AllTenants | Self::Owner => "*".to_owned(),
            Self::Platform => String::new(),
        }
    }
}

/// The role the service's statements run as on PostgreSQL when the role it connected as would
/// pass the policies by (a superuser, or a role with `BYPASSRLS`). Made by migration 0014.
pub(crate) const SERVICE_ROLE: &str = "clientele_app";

impl crate::SqlStore {
    /// How a PostgreSQL transaction in `scope` begins, in one round trip (the simple query
    /// protocol runs each statement): as the service's role when the connecting one would pass
    /// the policies by, then `app.tenant_id` for this transaction alone. The setting is a UUID,
    /// `*` or empty: nothing to escape.
    pub(crate) fn pg_begin(&self, scope: Scope) -> sqlx::AssertSqlSafe<String> {
        let role = match scope {
            Scope::Owner => " SET LOCAL ROLE NONE;".to_owned(),
            _ if self.as_service.load(std::sync::atomic::Ordering::Relaxed) => {
                format!(" SET LOCAL ROLE {SERVICE_ROLE};")
            }
            _ => String::new(),
        };
        sqlx::AssertSqlSafe(format!("BEGIN;{role} SELECT set_config('app.tenant_id', '{}', true)", scope.setting()))
    }

    /// Finds out, on PostgreSQL, whether row-level security holds for this service's statements
    /// and how: the connecting role is held by the policies itself, or it passes them by and
    /// becomes [`SERVICE_ROLE`] per transaction. Warns when they cannot hold, and when `LIKE`
    /// is not `LEAKPROOF` (the search could not use its trigram index under the policies).
    pub(crate) async fn check_row_security(&self) -> Result<(), Error> {
        let Db::Postgres(pool) = &self.db else { return Ok(()) };
        let (user, bypasses, can_become, policies, like_leakproof): (String, bool, bool, bool, bool) = sqlx::query_as(
            "SELECT current_user::text, r.rolsuper OR r.rolbypassrls, \
             CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) \
                  THEN pg_has_role(current_user, $1, 'MEMBER') ELSE false END, \
             EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = current_schema() AND policyname = 'tenant_scope'), \
             (SELECT proleakproof FROM pg_proc WHERE oid = 'textlike(text, text)'::regprocedure) \
             FROM pg_roles r WHERE r.rolname = current_user",
        )
        .bind(SERVICE_ROLE)
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
        if !policies {
            // Not migrated yet: `migrate` asks again.
            return Ok(());
        }
        let as_service = bypasses && can_become;
        self.as_service.store(as_service, std::sync::atomic::Ordering::Relaxed);
        if bypasses && !can_become {
            tracing::warn!(
                user,
                "row-level security does not hold: the database role passes it by (superuser or BYPASSRLS) \
                 and cannot become {SERVICE_ROLE}; connect as an ordinary role that owns the tables"
            );
        }
        if !like_leakproof {
            tracing::warn!(
                "LIKE is not LEAKPROOF in this database, so under row-level security searches cannot use \
                 their trigram index and get slow; a superuser can run: ALTER FUNCTION textlike(text, text) LEAKPROOF"
            );
        }
        Ok(())
    }
}

/// Runs `$body` with `$conn` bound to a connection to read from (`&mut` it: `&mut *$conn` where
/// the block runs more than one statement), in `$scope` ([`Scope`], or a `TenantId`). On
/// PostgreSQL the block is a transaction of its own, which `SET LOCAL`s the scope.
macro_rules! with_reader {
    ($store:expr, $scope:expr, |$conn:ident| $body:expr) => {
        match &$store.db {
            $crate::db::Db::Sqlite { read, .. } => {
                let _scope: $crate::db::Scope = ::std::convert::Into::into($scope);
                let mut connection = read.acquire().await.map_err($crate::db::db_error)?;
                let $conn = &mut *connection;
                $body
            }
            $crate::db::Db::Postgres(pool) => {
                let scope: $crate::db::Scope = ::std::convert::Into::into($scope);
                let mut tx = pool.begin_with($store.pg_begin(scope)).await.map_err($crate::db::db_error)?;
                let out = {
                    let $conn = &mut *tx;
                    $body
                };
                tx.commit().await.map_err($crate::db::db_error)?;
                out
            }
        }
    };
}

/// Runs `$body` in a transaction `$tx` in `$scope` ([`Scope`], or a `TenantId`) and commits it if
/// `$body` did not return early with `?`.
macro_rules! in_transaction {
    ($store:expr, $scope:expr, |$tx:ident| $body:expr) => {
        match &$store.db {
            $crate::db::Db::Sqlite { write: pool, .. } => {
                let _scope: $crate::db::Scope = ::std::convert::Into::into($scope);
                let mut $tx = pool.begin_with($crate::db::SQLITE_BEGIN_WRITE).await.map_err($crate::db::db_error)?;
                let out = $body;
                $tx.commit().await.map_err($crate::db::db_error)?;
                out
            }
            $crate::db::Db::Postgres(pool) => {
                let scope: $crate::db::Scope = ::std::convert::Into::into($scope);
                let mut $tx = pool.begin_with($store.pg_begin(scope)).await.map_err($crate::db::db_error)?;
                let out = $body;
                $tx.commit().await.map_err($crate::db::db_error)?;
                out
            }
        }
    };
}

/// A connection whose transaction's [`Scope`] can change midway: for the rare statement of a
/// tenant's write that reaches other tenants by design (lifting a global blacklist entry clears
/// the badges it caused everywhere). A no-op on SQLite.
pub(crate) trait SwitchScope {
    /// Sets the scope for the rest of this transaction.
    async fn switch_scope(&mut self, scope: Scope) -> Result<(), Error>;
}

impl SwitchScope for sqlx::SqliteConnection {
    async fn switch_scope(&mut self, _scope: Scope) -> Result<(), Error> {
        Ok(())
    }
}

impl SwitchScope for sqlx::PgConnection {
    async fn switch_scope(&mut self, scope: Scope) -> Result<(), Error> {
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(scope.setting())
            .execute(self)
            .await
            .map(drop)
            .map_err(db_error)
    }
}

/// Runs one maintenance statement on PostgreSQL as the role that connected ([`Scope::Owner`]):
/// only a table's owner may `ANALYZE` it. Nothing on SQLite.
pub(crate) async fn as_owner(store: &crate::SqlStore, statement: &'static str) -> Result<(), Error> {
    let Db::Postgres(pool) = &store.db else { return Ok(()) };
    let mut tx = pool.begin_with(store.pg_begin(Scope::Owner)).await.map_err(db_error)?;
    sqlx::query(statement).execute(&mut *tx).await.map_err(db_error)?;
    tx.commit().await.map_err(db_error)
}

/// How SQLite write transactions begin: as writers, waiting for the write lock (module docs).
pub(crate) const SQLITE_BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// How long a client is asked to wait before retrying a write that found the database busy.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A database failure as the domain sees it: `503 service_unavailable` when the database cannot
/// be reached, `503 database_busy` when it was too busy to answer in time (a lock or a connection
/// not had within the timeout, a deadlock), both to be retried; otherwise internal, with context
/// for the log.
pub(crate) fn db_error(error: sqlx::Error) -> Error {
    if is_unreachable(&error) {
        tracing::warn!(%error, "the database cannot be reached");
        return Error::retry_later(
            ErrorCode::ServiceUnavailable,
            "the database cannot be reached; try again shortly",
            BUSY_RETRY_AFTER,
        );
    }
    if is_busy(&error) {
        tracing::warn!(%error, "the database is busy");
        return Error::retry_later(
            ErrorCode::DatabaseBusy,
            "the database is busy with other writes; try again shortly",
            BUSY_RETRY_AFTER,
        );
    }
    Error::internal(format!("database: {error}"))
}

/// True when the connection to the database failed or was cut (a PostgreSQL restarting, a network
/// gone): the pool replaces the connection, so the request may be retried as it is. Nothing was
/// committed: a transaction whose connection broke is rolled back by the server.
fn is_unreachable(error: &sqlx::Error) -> bool {
    match error {
        // A protocol error is what a connection accepted and closed at once gives (a proxy or a
        // pooler in front of a database that is down): the connection is not used again.
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) if db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() => {
            // Class 08 (connection exception); 57P01-57P03: shut down or starting up.
            db.code().is_some_and(|code| code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

/// True for failures that go away by themselves: SQLite's `SQLITE_BUSY` and `SQLITE_LOCKED`
/// (with any extended code), PostgreSQL's serialization failures, deadlocks and lock timeouts,
/// and a pool with no connection free in time.
fn is_busy(error: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    match error {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else { return false };
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // The extended result code: its low byte is the primary code.
                code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, SQLITE_BUSY | SQLITE_LOCKED))
            } else {
                matches!(code.as_ref(), "40001" | "40P01" | "55P03")
            }
        }
        _ => false,
    }
}

/// True when `error` is a unique violation on a constraint or index that mentions `column`.
pub(crate) fn is_unique_violation(error: &sqlx::Error, column: &str) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                && (db.constraint().is_some_and(|c| c.contains(column)) || db.message().contains(column))
        }
        _ => false,
    }
}

/// An instant in the database: `timestamptz` on PostgreSQL, fixed-width RFC 3339 text on SQLite
/// (so that text comparison is time comparison).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ts(pub Timestamp);

impl From<Timestamp> for Ts {
    fn from(value: Timestamp) -> Self {
        Self(value)
    }
}

impl Type<Sqlite> for Ts {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for Ts {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(self.0.to_fixed_string(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Ts {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Timestamp::parse(text).map(Self).ok_or_else(|| format!("not an RFC 3339 instant: {text}").into())
    }
}

impl Type<Postgres> for Ts {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <OffsetDateTime as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for Ts {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <OffsetDateTime as Encode<Postgres>>::encode(self.0.as_datetime(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for Ts {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <OffsetDateTime as Decode<Postgres>>::decode(value).map(|t| Self(Timestamp::from_datetime(t)))
    }
}

pub(crate) fn corrupt(what: &str, value: &str) -> Error {
    Error::internal(format!("stored {what} is not valid: {value:?}"))
}

pub(crate) use in_transaction;
pub(crate) use with_reader;
