//! The two connection pools and what lets one SQL text run on both.
//!
//! Most statements are identical on SQLite and PostgreSQL (sqlx-sqlite binds `$N` by number), so
//! each store method is written once and run on whichever pool this store has: [`with_reader!`] runs a
//! block against a read pool, [`in_transaction!`] runs it inside a write transaction and commits. The
//! block is expanded once per backend, so each expansion is checked against that backend's types.
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

/// Runs `$body` with `$pool` bound to a pool to read from.
macro_rules! with_reader {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::db::Db::Sqlite { read: $pool, .. } => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` in a transaction `$tx` and commits it if `$body` did not return early with `?`.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:expr) => {
        match &$store.db {
            $crate::db::Db::Sqlite { write: pool, .. } => {
                let mut $tx = pool.begin_with($crate::db::SQLITE_BEGIN_WRITE).await.map_err($crate::db::db_error)?;
                let out = $body;
                $tx.commit().await.map_err($crate::db::db_error)?;
                out
            }
            $crate::db::Db::Postgres(pool) => {
                let mut $tx = pool.begin().await.map_err($crate::db::db_error)?;
                let out = $body;
                $tx.commit().await.map_err($crate::db::db_error)?;
                out
            }
        }
    };
}

/// How SQLite write transactions begin: as writers, waiting for the write lock (module docs).
pub(crate) const SQLITE_BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// How long a client is asked to wait before retrying a write that found the database busy.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A database failure as the domain sees it: `503 database_busy` when the database was too
/// busy to answer in time (a lock or a connection not had within the timeout, a deadlock), to
/// be retried; otherwise internal, with context for the log.
pub(crate) fn db_error(error: sqlx::Error) -> Error {
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
