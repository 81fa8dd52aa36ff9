//! Reading the audit log, and checking its chains.

use crate::FieldCode;
use crate::error::FieldErrors;
use crate::time::Timestamp;

use uuid::Uuid;

use crate::accounts::access::Capability;
use crate::accounts::auth::{Actor, Principal};
use crate::app::App;
use crate::audit::chain::{ChainBreak, ChainCursor, ExportedHead, verify_page};
use crate::audit::entry::AuditEntry;
use crate::audit::store::AuditQuery;
use crate::error::{Error, Result};
use crate::ids::{AuditId, CustomerId, TenantId};
use crate::paging::{Page, decode_cursor, next_cursor, parse_limit};
use crate::values::instant;

/// Which audit entries to read, typed: what the server's query parameters parse into
/// ([`AuditFilter::parse`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Platform admins: the tenant whose log to read (required for them, refused for others).
    pub tenant_id: Option<TenantId>,
    /// Only entries concerning this customer.
    pub customer_id: Option<CustomerId>,
    /// Only entries by this user or platform admin.
    pub user_id: Option<Uuid>,
    /// Only this action, e.g. `document.downloaded`.
    pub action: Option<String>,
    /// At or after this instant.
    pub from: Option<Timestamp>,
    /// Before this instant.
    pub before: Option<Timestamp>,
    /// Page size (1 to 200).
    pub limit: u32,
    /// Only entries older than this one (the last of the previous page).
    pub after: Option<AuditId>,
}

/// The audit filter's text, as the query parameters have it.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditText<'a> {
    /// A tenant id.
    pub tenant_id: Option<&'a str>,
    /// A customer id.
    pub customer_id: Option<&'a str>,
    /// A user id.
    pub user_id: Option<&'a str>,
    /// An action name.
    pub action: Option<&'a str>,
    /// A date (from its start) or an RFC 3339 instant.
    pub from: Option<&'a str>,
    /// A date (the whole day) or an RFC 3339 instant.
    pub to: Option<&'a str>,
    /// The page size.
    pub limit: Option<&'a str>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<&'a str>,
}

impl AuditFilter {
    /// Parses the filter's text, naming every bad parameter at once (`400 invalid_query`).
    pub fn parse(text: &AuditText<'_>) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let mut uuid = |field: &str, value: Option<&str>| -> Option<Uuid> {
            let value = value?;
            Uuid::parse_str(value.trim()).map_err(|_| errors.push(field, FieldCode::Invalid, "must be a UUID")).ok()
        };
        let tenant_id = uuid("tenant_id", text.tenant_id).map(TenantId::from_uuid);
        let customer_id = uuid("customer_id", text.customer_id).map(CustomerId::from_uuid);
        let user_id = uuid("user_id", text.user_id);
        let action = text.action.map(str::trim).filter(|a| !a.is_empty());
        if action.is_some_and(|a| a.len() > 64 || a.chars().any(char::is_control)) {
            errors.push("action", FieldCode::Invalid, "must be an action name such as document.downloaded");
        }
        let limit = parse_limit(&mut errors, text.limit);
        let from = text.from.and_then(|v| instant(&mut errors, "from", v, false));
        let before = text.to.and_then(|v| instant(&mut errors, "to", v, true));
        if !errors.is_empty() {
            return Err(Error::InvalidQuery(errors.into_vec()));
        }
        let after = text.cursor.map(decode_cursor).transpose()?.map(AuditId::from_uuid);
        Ok(Self { tenant_id, customer_id, user_id, action: action.map(str::to_owned), from, before, limit, after })
    }
}

impl App {
    /// Audit entries, newest first: a tenant's admins read their tenant's log, platform admins
    /// any tenant's (naming it).
    pub async fn audit_log(&self, actor: &Actor, filter: &AuditFilter) -> Result<Page<AuditEntry>> {
        let tenant = match *actor.principal() {
            Principal::PlatformAdmin(_) => {
                let tenant = filter.tenant_id.ok_or_else(|| {
                    Error::invalid_query("tenant_id", "platform admins name the tenant whose log to read")
                })?;
                self.tenant(tenant).await?.id
            }
            _ => {
                let grant = actor.require(Capability::ReadAudit)?;
                if filter.tenant_id.is_some() {
                    return Err(Error::invalid_query("tenant_id", "only platform admins choose the tenant"));
                }
                grant.tenant_id
            }
        };
        let limit = filter.limit;
        let query = AuditQuery {
            customer_id: filter.customer_id,
            actor_id: filter.user_id,
            action: filter.action.clone(),
            from: filter.from,
            before: filter.before,
            request_id: None,
            after: filter.after,
            limit: limit + 1,
        };
        let mut items = self.store().list_audit(tenant, &query).await?;
        let next_cursor = next_cursor(&mut items, limit as usize, |e| e.id.as_uuid());
        Ok(Page { items, next_cursor })
    }

    /// Checks every tenant's audit chain (`clientele audit verify`): the first break, or the
    /// number of entries checked.
    pub async fn verify_audit(&self) -> Result<std::result::Result<u64, ChainBreak>> {
        self.verify_audit_against(&[]).await
    }

    /// Each tenant's chain head as it is now, to keep outside the database (`clientele audit
    /// heads`) and check the chains against later ([`App::verify_audit_against`]).
    pub async fn export_audit_heads(&self) -> Result<Vec<ExportedHead>> {
        Ok(self
            .store()
            .audit_heads()
            .await?
            .into_iter()
            .filter_map(|head| head.hash.map(|hash| ExportedHead { tenant_id: head.tenant_id, seq: head.seq, hash }))
            .filter(|head| head.seq > 0)
            .collect())
    }

    /// Checks every tenant's audit chain, and that each chain still holds the head `exported`
    /// earlier names at its place, unchanged: an attacker with database access but without the
    /// chain key can remove the end of a chain (and move its recorded head back) unseen by the
    /// chain itself, but not past a head kept elsewhere. The first break, or the number of
    /// entries checked.
    pub async fn verify_audit_against(
        &self,
        exported: &[ExportedHead],
    ) -> Result<std::result::Result<u64, ChainBreak>> {
        let key = self.audit_chain_key.as_ref();
        let mut checked = 0u64;
        let heads = self.store().audit_heads().await?;
        // A tenant whose whole chain is gone has no head to check: it was truncated to nothing.
        if let Some(gone) = exported.iter().find(|e| e.seq > 0 && !heads.iter().any(|h| h.tenant_id == e.tenant_id)) {
            return Ok(Err(ChainBreak::Truncated { tenant_id: gone.tenant_id, seq: 1, exported: gone.seq }));
        }
        for head in heads {
            let tenant_id = head.tenant_id;
            if head.unchained > 0 {
                return Ok(Err(ChainBreak::Unchained { tenant_id, count: head.unchained }));
            }
            let mark = exported.iter().find(|e| e.tenant_id == tenant_id);
            let mut cursor = ChainCursor::default();
            loop {
                let page = self.store().audit_chain(tenant_id, cursor.seq, 1_000).await?;
                let before = cursor.seq;
                if let Err(broken) = verify_page(tenant_id, &mut cursor, &page, key) {
                    return Ok(Err(broken));
                }
                // The exported head's entry, if it was in this page: the same hash as then.
                if let Some(mark) = mark.filter(|m| m.seq > before && m.seq <= cursor.seq) {
                    let at = page.iter().find(|e| e.seq == mark.seq).and_then(|e| e.hash.as_deref());
                    if at != Some(mark.hash.as_str()) {
                        return Ok(Err(ChainBreak::Rewritten { tenant_id, seq: mark.seq }));
                    }
                }
                checked += page.len() as u64;
                if page.len() < 1_000 {
                    break;
                }
            }
            if cursor.seq < head.seq {
                return Ok(Err(ChainBreak::Missing { tenant_id, seq: cursor.seq + 1 }));
            }
            let last_hash = hex::encode(cursor.hash);
            if cursor.seq > head.seq || (cursor.seq > 0 && head.hash.as_deref() != Some(last_hash.as_str())) {
                return Ok(Err(ChainBreak::HeadMismatch { tenant_id, seq: cursor.seq }));
            }
            if let Some(mark) = mark.filter(|m| m.seq > cursor.seq) {
                return Ok(Err(ChainBreak::Truncated { tenant_id, seq: cursor.seq + 1, exported: mark.seq }));
            }
        }
        Ok(Ok(checked))
    }
}
