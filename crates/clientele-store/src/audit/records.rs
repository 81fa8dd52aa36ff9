//! Audit rows as stored, and their conversion to and from domain types.
//!
//! A record has exactly the columns of its table, in the order of its `*_columns!()` list, with
//! types both backends encode the same way (uuid, text, bool, i64, dates, [`Ts`](crate::db::Ts)).

use clientele_core::audit::entry::{AuditEntry, Outcome};
use clientele_core::ids::{AuditId, CustomerId, TenantId};
use clientele_core::{Error, Result};
use sqlx::types::Json;
use uuid::Uuid;

use crate::db::{Ts, corrupt};

macro_rules! audit_columns {
    () => {
        "tenant_id, id, at, actor_id, actor_role, action, object_type, object_id, customer_id, outcome, reason, \
         changes, ip, user_agent, request_id, seq, hash, chain_key"
    };
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AuditRecord {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub at: Ts,
    pub actor_id: Option<Uuid>,
    pub actor_role: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub outcome: String,
    pub reason: Option<String>,
    pub changes: Option<Json<serde_json::Value>>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub seq: Option<i64>,
    pub hash: Option<String>,
    pub chain_key: Option<String>,
}

impl From<&AuditEntry> for AuditRecord {
    fn from(e: &AuditEntry) -> Self {
        Self {
            tenant_id: e.tenant_id.as_uuid(),
            id: e.id.as_uuid(),
            at: e.at.into(),
            actor_id: e.actor_id,
            actor_role: e.actor_role.clone(),
            action: e.action.clone(),
            object_type: e.object_type.clone(),
            object_id: e.object_id,
            customer_id: e.customer_id.map(|c| c.as_uuid()),
            outcome: e.outcome.as_str().to_owned(),
            reason: e.reason.clone(),
            changes: e.changes.clone().map(Json),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            request_id: e.request_id.clone(),
            seq: Some(e.seq),
            hash: e.hash.clone(),
            chain_key: e.chain_key.clone(),
        }
    }
}

impl TryFrom<AuditRecord> for AuditEntry {
    type Error = Error;
    fn try_from(r: AuditRecord) -> Result<Self> {
        let outcome = match r.outcome.as_str() {
            "allowed" => Outcome::Allowed,
            "denied" => Outcome::Denied,
            other => return Err(corrupt("audit outcome", other)),
        };
        Ok(AuditEntry {
            seq: r.seq.unwrap_or(0),
            hash: r.hash,
            chain_key: r.chain_key,
            id: AuditId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            at: r.at.0,
            actor_id: r.actor_id,
            actor_role: r.actor_role,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            customer_id: r.customer_id.map(CustomerId::from_uuid),
            outcome,
            reason: r.reason,
            changes: r.changes.map(|j| j.0),
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
            event: None,
        })
    }
}

/// Pushes the 18 fields of an [`AuditRecord`] into a `push_values` tuple, in column order.
macro_rules! push_audit_values {
    ($b:ident, $r:expr) => {{
        $b.push_bind($r.tenant_id);
        $b.push_bind($r.id);
        $b.push_bind($r.at);
        $b.push_bind($r.actor_id);
        $b.push_bind(&$r.actor_role);
        $b.push_bind(&$r.action);
        $b.push_bind(&$r.object_type);
        $b.push_bind($r.object_id);
        $b.push_bind($r.customer_id);
        $b.push_bind(&$r.outcome);
        $b.push_bind(&$r.reason);
        $b.push_bind(&$r.changes);
        $b.push_bind(&$r.ip);
        $b.push_bind(&$r.user_agent);
        $b.push_bind(&$r.request_id);
        $b.push_bind($r.seq);
        $b.push_bind(&$r.hash);
        $b.push_bind(&$r.chain_key);
    }};
}

pub(crate) use audit_columns;
pub(crate) use push_audit_values;
