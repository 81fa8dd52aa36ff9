//! `POST /auth/revoke`: ending every token of a user at once (a lost phone, a leaked token, a
//! person who left), by moving the user's token generation on.

use serde::Deserialize;
use uuid::Uuid;

use crate::accounts::access::Capability;
use crate::accounts::auth::{Actor, Principal};
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::error::{Error, FieldCode, Result};
use crate::ids::{TenantId, UserId};
use crate::values::Email;

/// Whose tokens to revoke: nobody named means the caller's own; admins may name a user of
/// their tenant, by id or by email (one of the two).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// The user whose tokens to revoke.
    pub user_id: Option<Uuid>,
    /// The login email of the user whose tokens to revoke.
    pub email: Option<String>,
}

impl App {
    /// Revokes every token of the user `request` names (the caller, when it names nobody):
    /// they stop working at once, and the user logs in again for new ones. Admins may name any
    /// user of their tenant (`404` for anyone else, as for a user that does not exist); others
    /// only themselves. Audited in the tenant's log.
    pub async fn revoke_tokens(&self, actor: &Actor, request: &RevokeRequest) -> Result<()> {
        if request.user_id.is_some() && request.email.is_some() {
            return Err(Error::invalid(
                "email",
                FieldCode::NotAllowed,
                "name the user by user_id or by email, not both",
            ));
        }
        let (tenant, user) = match *actor.principal() {
            Principal::PlatformAdmin(id) => {
                if request.user_id.is_some() || request.email.is_some() {
                    return Err(Error::Forbidden("platform administrators may revoke only their own tokens".into()));
                }
                if !self.store().revoke_platform_admin_tokens(id).await? {
                    return Err(Error::NotFound("platform admin"));
                }
                tracing::info!(platform_admin = %id, "a platform administrator revoked its tokens");
                return Ok(());
            }
            Principal::Member(member) => {
                let named = self.named_user(member.tenant_id, request).await?;
                match named {
                    None => (member.tenant_id, member.user_id),
                    Some(Some(user)) if user == member.user_id => (member.tenant_id, user),
                    // Others' tokens (or nobody's): only admins may ask, and learn which.
                    Some(other) => {
                        actor.require(Capability::RevokeUserTokens)?;
                        (member.tenant_id, other.ok_or(Error::NotFound("user"))?)
                    }
                }
            }
            Principal::Integration(_, name) => {
                return Err(Error::Forbidden(format!("the {name} integration has no tokens to revoke")));
            }
            Principal::CommandLine(tenant) => match self.named_user(tenant, request).await? {
                Some(Some(user)) => (tenant, user),
                Some(None) => return Err(Error::NotFound("user")),
                None => return Err(Error::invalid("user_id", FieldCode::Required, "name the user")),
            },
        };
        if !self.store().revoke_user_tokens(tenant, user).await? {
            return Err(Error::NotFound("user"));
        }
        let entry = AuditEntry::new(actor, tenant, AuditAction::TokensRevoked, "user", user.as_uuid(), None);
        self.store().record(&[entry], &[]).await
    }

    /// The user `request` names in `tenant`: `None` when it names nobody, `Some(None)` when the
    /// user it names is not of the tenant.
    async fn named_user(&self, tenant: TenantId, request: &RevokeRequest) -> Result<Option<Option<UserId>>> {
        if let Some(id) = request.user_id {
            let user = self.store().get_user(tenant, UserId::from_uuid(id)).await?;
            return Ok(Some(user.map(|u| u.id)));
        }
        if let Some(email) = &request.email {
            let Ok(email) = Email::parse(email) else { return Ok(Some(None)) };
            let user = self.store().find_user_by_email(tenant, &email).await?;
            return Ok(Some(user.map(|u| u.id)));
        }
        Ok(None)
    }
}
