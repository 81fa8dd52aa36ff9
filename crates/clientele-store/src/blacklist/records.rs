//! Blacklist rows as stored, and their conversion to and from domain types.
//!
//! A record has exactly the columns of its table, in the order of its `*_columns!()` list, with
//! types both backends encode the same way (uuid, text, bool, i64, dates, [`Ts`](crate::db::Ts)).

use clientele_core::blacklist::record::{BlacklistEntry, GlobalEntry, ReasonCode, Scope};
use clientele_core::ids::{BlacklistEntryId, GlobalEntryId};
use clientele_core::ids::{CustomerId, TenantId};
use clientele_core::{Error, Result};
use uuid::Uuid;

use crate::db::{Ts, corrupt};

/// Binds the 15 fields of an [`AuditRecord`] in column order.
macro_rules! blacklist_entry_columns {
    () => {
        "tenant_id, id, customer_id, scope, reason_code, note, created_at, created_by, lifted_at, lifted_by, \
         lift_note, global_entry_id"
    };
}

macro_rules! global_entry_columns {
    () => {
        "id, reason_code, flagging_tenant_id, flagging_customer_id, key_id, created_at, expires_at, lifted_at"
    };
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct BlacklistEntryRecord {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub customer_id: Uuid,
    pub scope: String,
    pub reason_code: String,
    pub note: Option<String>,
    pub created_at: Ts,
    pub created_by: Option<Uuid>,
    pub lifted_at: Option<Ts>,
    pub lifted_by: Option<Uuid>,
    pub lift_note: Option<String>,
    pub global_entry_id: Option<Uuid>,
}

impl TryFrom<BlacklistEntryRecord> for BlacklistEntry {
    type Error = Error;
    fn try_from(r: BlacklistEntryRecord) -> Result<Self> {
        Ok(BlacklistEntry {
            id: BlacklistEntryId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            customer_id: CustomerId::from_uuid(r.customer_id),
            scope: Scope::parse(&r.scope).ok_or_else(|| corrupt("blacklist scope", &r.scope))?,
            reason_code: ReasonCode::parse(&r.reason_code).ok_or_else(|| corrupt("reason code", &r.reason_code))?,
            note: r.note,
            created_at: r.created_at.0,
            created_by: r.created_by,
            lifted_at: r.lifted_at.map(|t| t.0),
            lifted_by: r.lifted_by,
            lift_note: r.lift_note,
            global_entry_id: r.global_entry_id.map(GlobalEntryId::from_uuid),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct GlobalEntryRecord {
    pub id: Uuid,
    pub reason_code: String,
    pub flagging_tenant_id: Uuid,
    pub flagging_customer_id: Uuid,
    pub key_id: String,
    pub created_at: Ts,
    pub expires_at: Ts,
    pub lifted_at: Option<Ts>,
}

impl TryFrom<GlobalEntryRecord> for GlobalEntry {
    type Error = Error;
    fn try_from(r: GlobalEntryRecord) -> Result<Self> {
        Ok(GlobalEntry {
            id: GlobalEntryId::from_uuid(r.id),
            // Pseudonyms are only ever compared in SQL; they are not read back.
            pseudonyms: Vec::new(),
            reason_code: ReasonCode::parse(&r.reason_code).ok_or_else(|| corrupt("reason code", &r.reason_code))?,
            flagging_tenant_id: TenantId::from_uuid(r.flagging_tenant_id),
            flagging_customer_id: CustomerId::from_uuid(r.flagging_customer_id),
            key_id: r.key_id,
            created_at: r.created_at.0,
            expires_at: r.expires_at.0,
            lifted_at: r.lifted_at.map(|t| t.0),
        })
    }
}

pub(crate) use blacklist_entry_columns;
pub(crate) use global_entry_columns;
