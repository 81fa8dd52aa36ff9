//! The two connection pools and what lets one SQL text run on both.
//!
//! Most statements are identical on SQLite and PostgreSQL (sqlx-sqlite binds `$N` by number), so
//! each store method is written once and run on whichever pool this store has: [`with_reader!`] runs a
//! block against a read pool, [`in_transaction!`] runs it inside a write transaction and commits. The
//! block is expanded once per backend, so each expansion is checked against that backend's types.
//! Where the dialects differ, the method matches on [`Db`] itself, in plain sight.
//!
//! SQLite gets a single-connection writer pool beside its reader pool: writes queue in the pool
//! instead of failing with `SQLITE_BUSY`, and WAL lets readers go on meanwhile.

use clientele_core::Error;
use clientele_core::time::Timestamp;
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
                let mut $tx = pool.begin().await.map_err($crate::db::db_error)?;
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

/// A database failure as the domain sees it: internal, with context for the log.
pub(crate) fn db_error(error: sqlx::Error) -> Error {
    Error::internal(format!("database: {error}"))
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
