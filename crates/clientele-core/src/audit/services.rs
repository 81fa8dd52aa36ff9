//! Reading the audit log, and checking its chains.

use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::accounts::access::Capability;
use crate::accounts::auth::{Actor, Principal};
use crate::app::App;
use crate::audit::chain::ChainBreak;
use crate::audit::entry::AuditEntry;
use crate::audit::store::AuditQuery;
use crate::error::{Error, Result};
use crate::ids::{AuditId, CustomerId, TenantId};
use crate::paging::{Page, decode_cursor, next_cursor, parse_limit};
use crate::values::instant;

/// Query parameters of `GET /audit`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Platform admins: the tenant whose log to read (required for them, refused for others).
    #[param(value_type = Option<Uuid>)]
    pub tenant_id: Option<String>,
    /// Only entries concerning this customer.
    #[param(value_type = Option<Uuid>)]
    pub customer_id: Option<String>,
    /// Only entries by this user.
    #[param(value_type = Option<Uuid>)]
    pub user_id: Option<String>,
    /// Only this action, e.g. `document.downloaded`.
    pub action: Option<String>,
    /// At or after this instant (RFC 3339) or date (`YYYY-MM-DD`, UTC).
    pub from: Option<String>,
    /// Before this instant (RFC 3339), or on or before this date (`YYYY-MM-DD`, the whole day).
    pub to: Option<String>,
    /// Page size, 1 to 200 (larger values are capped); default 50.
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl App {
    /// Audit entries, newest first: a tenant's admins read their tenant's log, platform admins
    /// any tenant's (naming it).
    pub async fn audit_log(&self, actor: &Actor, params: &AuditParams) -> Result<Page<AuditEntry>> {
        let uuid = |field: &str, value: &Option<String>| -> Result<Option<Uuid>> {
            value
                .as_deref()
                .map(|v| Uuid::parse_str(v.trim()).map_err(|_| Error::invalid_query(field, "must be a UUID")))
                .transpose()
        };
        let tenant = match *actor.principal() {
            Principal::PlatformAdmin(_) => {
                let tenant = uuid("tenant_id", &params.tenant_id)?.ok_or_else(|| {
                    Error::invalid_query("tenant_id", "platform admins name the tenant whose log to read")
                })?;
                self.tenant(TenantId::from_uuid(tenant)).await?.id
            }
            _ => {
                let grant = actor.require(Capability::ReadAudit)?;
                if params.tenant_id.is_some() {
                    return Err(Error::invalid_query("tenant_id", "only platform admins choose the tenant"));
                }
                grant.tenant_id
            }
        };
        let action = params.action.as_deref().map(str::trim).filter(|a| !a.is_empty());
        if action.is_some_and(|a| a.len() > 64 || a.chars().any(char::is_control)) {
            return Err(Error::invalid_query("action", "must be an action name such as document.downloaded"));
        }
        let mut errors = crate::error::FieldErrors::new();
        let limit = parse_limit(&mut errors, params.limit.as_deref());
        let from = params.from.as_deref().and_then(|v| instant(&mut errors, "from", v, false));
        let before = params.to.as_deref().and_then(|v| instant(&mut errors, "to", v, true));
        if !errors.is_empty() {
            return Err(Error::InvalidQuery(errors.into_vec()));
        }
        let mut query = AuditQuery {
            customer_id: uuid("customer_id", &params.customer_id)?.map(CustomerId::from_uuid),
            actor_id: uuid("user_id", &params.user_id)?,
            action: action.map(str::to_owned),
            from,
            before,
            request_id: None,
            after: params.cursor.as_deref().map(decode_cursor).transpose()?.map(AuditId::from_uuid),
            limit: limit + 1,
        };
        let mut items = self.store().list_audit(tenant, &query).await?;
        query.limit = limit;
        let next_cursor = next_cursor(&mut items, limit as usize, |e| e.id.as_uuid());
        Ok(Page { items, next_cursor })
    }

    /// Checks every tenant's audit chain (`clientele audit verify`): the first break, or the
    /// number of entries checked.
    pub async fn verify_audit(&self) -> Result<std::result::Result<u64, ChainBreak>> {
        let mut checked = 0u64;
        for head in self.store().audit_heads().await? {
            let tenant_id = head.tenant_id;
            if head.unchained > 0 {
                return Ok(Err(ChainBreak::Unchained { tenant_id, count: head.unchained }));
            }
            let mut expected = (0i64, crate::audit::chain::CHAIN_START);
            loop {
                let page = self.store().audit_chain(tenant_id, expected.0, 1_000).await?;
                if let Err(broken) = crate::audit::chain::verify_page(tenant_id, &mut expected, &page) {
                    return Ok(Err(broken));
                }
                checked += page.len() as u64;
                if page.len() < 1_000 {
                    break;
                }
            }
            if expected.0 < head.seq {
                return Ok(Err(ChainBreak::Missing { tenant_id, seq: expected.0 + 1 }));
            }
            let last_hash = hex::encode(expected.1);
            if expected.0 > head.seq || (expected.0 > 0 && head.hash.as_deref() != Some(last_hash.as_str())) {
                return Ok(Err(ChainBreak::HeadMismatch { tenant_id, seq: expected.0 }));
            }
        }
        Ok(Ok(checked))
    }
}
