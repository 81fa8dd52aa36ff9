//! Account services: tenants, users, platform admins, logins and tokens.

use std::time::{Duration, Instant};

use serde::Deserialize;
use uuid::Uuid;

use crate::accounts::auth::{Actor, Claims, IssuedToken, Member, Origin, Principal};
use crate::accounts::passwords::{PasswordJob, PasswordOutcome};
use crate::accounts::tenant::Tenant;
use crate::accounts::throttle::{Lockout, LoginKey};
use crate::accounts::user::{PasswordHashString, PlatformAdmin, Role, User};
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::customers::record::CustomerKind;
use crate::error::{Error, ErrorCode, FieldCode, FieldErrors, Result};
use crate::ids::{CustomerId, PlatformAdminId, TenantId, UserId};
use crate::time::Timestamp;
use crate::values::Email;

/// `POST /auth/token`: log in with email and password.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login email.
    pub email: String,
    /// Password.
    pub password: String,
    /// Tenant id; omit to log in as a platform administrator.
    pub tenant: Option<Uuid>,
}

/// Whose token the admin command `token issue` makes.
#[derive(Debug, Clone)]
pub enum TokenSubject {
    /// A tenant user, by email.
    User(TenantId, String),
    /// A platform admin, by email.
    PlatformAdmin(String),
}

/// A new tenant user, as typed at the command line.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Login email.
    pub email: String,
    /// Role name.
    pub role: String,
    /// Initial password.
    pub password: String,
    /// For partner users: the partner company.
    pub partner_id: Option<CustomerId>,
}

impl App {
    /// Creates a tenant (`clientele tenant create`).
    pub async fn create_tenant(&self, name: &str, country: &str, phone_region: Option<&str>) -> Result<Tenant> {
        let tenant = Tenant::parse_new(name, country, phone_region)?;
        self.store().insert_tenant(&tenant).await?;
        Ok(tenant)
    }

    /// A tenant by id, or `404`.
    pub async fn tenant(&self, id: TenantId) -> Result<Tenant> {
        self.store().get_tenant(id).await?.ok_or(Error::NotFound("tenant"))
    }

    /// Creates a tenant user (`clientele user create`).
    pub async fn create_user(&self, new: NewUser) -> Result<User> {
        self.tenant(new.tenant_id).await?;
        let mut errors = FieldErrors::new();
        let email = errors.take("email", Email::parse(&new.email));
        let role = errors.take("role", Role::parse(&new.role));
        match (role, new.partner_id) {
            (Some(Role::Partner), None) => {
                errors.push("partner_id", FieldCode::Required, "is required for partner users")
            }
            (Some(Role::Partner), Some(partner)) => {
                let customer = self.store().get_customer(new.tenant_id, partner).await?;
                if !customer.is_some_and(|c| c.data.kind == CustomerKind::Partner && c.deleted_at.is_none()) {
                    errors.push("partner_id", FieldCode::UnknownReference, "must be a partner company of the tenant");
                }
            }
            (Some(_), Some(_)) => errors.push("partner_id", FieldCode::NotAllowed, "only partner users have one"),
            _ => {}
        }
        let password = self.hash_password(&new.password).await;
        let (Some(email), Some(role)) = (email, role) else {
            return Err(errors.into_error());
        };
        if !errors.is_empty() {
            return Err(errors.into_error());
        }
        let user = User {
            tenant_id: new.tenant_id,
            id: UserId::new(),
            email,
            role,
            partner_id: new.partner_id,
            password_hash: password?,
            disabled: false,
            token_generation: 0,
            created_at: Timestamp::now(),
        };
        self.store().insert_user(&user).await?;
        Ok(user)
    }

    /// Creates a platform administrator.
    pub async fn create_platform_admin(&self, email: &str, password: &str) -> Result<PlatformAdmin> {
        let email = Email::parse(email).map_err(|p| Error::invalid("email", p.code, p.message))?;
        let admin = PlatformAdmin {
            id: PlatformAdminId::new(),
            email,
            password_hash: self.hash_password(password).await?,
            disabled: false,
            token_generation: 0,
            created_at: Timestamp::now(),
        };
        self.store().insert_platform_admin(&admin).await?;
        Ok(admin)
    }

    /// Disables (or re-enables) a user. Disabling revokes its tokens, at once and for good:
    /// once enabled again, the user logs in afresh.
    pub async fn set_user_disabled(&self, tenant: TenantId, user: UserId, disabled: bool) -> Result<()> {
        if self.store().set_user_disabled(tenant, user, disabled).await? {
            Ok(())
        } else {
            Err(Error::NotFound("user"))
        }
    }

    /// Checks email and password and issues a token. Every failure is the same
    /// `401 invalid_credentials`, and costs the same work (one password check, against a decoy
    /// hash when there is no such user), so logins reveal nothing. Too many failures for the
    /// account or from the address lock them out for a while: `429 too_many_requests`, without
    /// a look at the password (see [`crate::accounts::throttle`]); every lockout is audited.
    pub async fn login(&self, request: &LoginRequest, origin: &Origin) -> Result<IssuedToken> {
        let refused = || Error::Unauthenticated {
            code: ErrorCode::InvalidCredentials,
            message: "the email, password or tenant is not correct".into(),
        };
        let mut keys = vec![LoginKey::account(request.tenant, &request.email)];
        keys.extend(origin.ip.clone().map(LoginKey::Address));
        let attempt = self.logins.begin(keys, Instant::now()).map_err(|wait| {
            Error::retry_later(
                ErrorCode::TooManyRequests,
                "too many failed logins for this account or from this address; try again later",
                wait,
            )
        })?;
        let email = Email::parse(&request.email).ok();
        let account = match (email, request.tenant) {
            (Some(email), Some(tenant)) => {
                let user = self.store().find_user_by_email(TenantId::from_uuid(tenant), &email).await?;
                user.map(|u| (u.password_hash.clone(), u.disabled, self.claims_for_user(&u, self.token_ttl)))
            }
            (Some(email), None) => {
                let admin = self.store().find_platform_admin_by_email(&email).await?;
                admin.map(|a| (a.password_hash.clone(), a.disabled, self.claims_for_admin(&a, self.token_ttl)))
            }
            (None, _) => None,
        };
        let hash = account.as_ref().map_or(PasswordHashString::decoy(), |(hash, _, _)| hash);
        let password_ok = self.verify_password(hash, &request.password).await?;
        match account {
            Some((_, false, claims)) if password_ok => {
                attempt.succeeded();
                self.sign(&claims)
            }
            account => {
                let user = account.and_then(|(_, _, claims)| claims.tid.map(|_| claims.sub));
                for lockout in attempt.failed(Instant::now()) {
                    self.audit_lockout(request, origin, user, &lockout).await;
                }
                Err(refused())
            }
        }
    }

    /// Records a lockout in the server log and, when the login named an existing tenant, in
    /// that tenant's audit log (platform admins' logins have no tenant log). A lockout the audit
    /// log could not take is logged as an error; the login is refused all the same.
    async fn audit_lockout(&self, request: &LoginRequest, origin: &Origin, user: Option<Uuid>, lockout: &Lockout) {
        let (scope, subject) = match &lockout.key {
            LoginKey::Account(_, email) => ("account", email.clone()),
            LoginKey::Address(address) => ("address", address.clone()),
        };
        let seconds = lockout.duration.as_secs();
        tracing::warn!(
            target: "clientele::audit",
            scope,
            subject = %subject,
            tenant = ?request.tenant,
            ip = ?origin.ip,
            failures = lockout.failures,
            lockouts = lockout.lockouts,
            seconds,
            "login lockout"
        );
        let Some(tenant) = request.tenant.map(TenantId::from_uuid) else { return };
        let recorded = async {
            if self.store().get_tenant(tenant).await?.is_none() {
                return Ok(());
            }
            let object = match (&lockout.key, user) {
                (LoginKey::Account(..), Some(user)) => user,
                _ => Uuid::nil(),
            };
            let reason = format!(
                "{} failed logins in a row for the {scope} {subject}: locked out for {seconds} s",
                lockout.failures
            );
            let changes = serde_json::json!({
                "scope": scope, "subject": subject, "seconds": seconds, "lockouts": lockout.lockouts,
            });
            let entry = AuditEntry::anonymous(origin, tenant, AuditAction::LoginLockedOut, "login", object)
                .with_reason(reason)
                .with_changes(changes);
            self.store().record(&[entry], &[]).await
        };
        if let Err(error) = recorded.await {
            tracing::error!(%error, "a login lockout could not be written to the audit log");
        }
    }

    /// Hashes a new password on the password pool.
    pub(crate) async fn hash_password(&self, password: &str) -> Result<PasswordHashString> {
        match self.passwords.run(PasswordJob::Hash(password.to_owned())).await? {
            PasswordOutcome::Hashed(hash) => hash,
            PasswordOutcome::Verified(_) => Err(Error::internal("the password pool answered a hash with a check")),
        }
    }

    /// Checks a password against a hash on the password pool.
    async fn verify_password(&self, hash: &PasswordHashString, password: &str) -> Result<bool> {
        match self.passwords.run(PasswordJob::Verify(hash.clone(), password.to_owned())).await? {
            PasswordOutcome::Verified(ok) => Ok(ok),
            PasswordOutcome::Hashed(_) => Err(Error::internal("the password pool answered a check with a hash")),
        }
    }

    /// Issues a token without a password (`clientele token issue`, run with database access).
    pub async fn issue_token(&self, subject: &TokenSubject, ttl: Duration) -> Result<IssuedToken> {
        let parse_email = |email: &str| Email::parse(email).map_err(|p| Error::invalid("email", p.code, p.message));
        let claims = match subject {
            TokenSubject::User(tenant, email) => {
                let user = self.store().find_user_by_email(*tenant, &parse_email(email)?).await?;
                let user = user.filter(|u| !u.disabled).ok_or(Error::NotFound("active user"))?;
                self.claims_for_user(&user, ttl)
            }
            TokenSubject::PlatformAdmin(email) => {
                let admin = self.store().find_platform_admin_by_email(&parse_email(email)?).await?;
                let admin = admin.filter(|a| !a.disabled).ok_or(Error::NotFound("active platform admin"))?;
                self.claims_for_admin(&admin, ttl)
            }
        };
        self.sign(&claims)
    }

    /// Verifies a bearer token and builds the actor, reading the user again so that a disabled
    /// user, or one whose role changed since the token was issued, is refused.
    pub async fn authenticate(&self, token: &str, origin: Origin) -> Result<Actor> {
        let claims = self.tokens.verify(token, Timestamp::now())?;
        let revoked = || Error::unauthenticated("the token is no longer valid");
        let principal = match claims.tid {
            Some(tenant) => {
                let user = self.store().get_user(TenantId::from_uuid(tenant), UserId::from_uuid(claims.sub)).await?;
                let user = user
                    .filter(|u| {
                        !u.disabled && u.role.as_str() == claims.role && u.token_generation == claims.generation
                    })
                    .ok_or_else(revoked)?;
                Principal::Member(Member {
                    tenant_id: user.tenant_id,
                    user_id: user.id,
                    role: user.role,
                    partner_id: user.partner_id,
                })
            }
            None => {
                let admin = self.store().get_platform_admin(PlatformAdminId::from_uuid(claims.sub)).await?;
                let admin = admin
                    .filter(|a| {
                        !a.disabled && claims.role == "platform_admin" && a.token_generation == claims.generation
                    })
                    .ok_or_else(revoked)?;
                Principal::PlatformAdmin(admin.id)
            }
        };
        Ok(Actor::new(principal, origin))
    }

    fn claims_for_user(&self, user: &User, ttl: Duration) -> Claims {
        let mut claims = self.claims(user.id.as_uuid(), Some(user.tenant_id.as_uuid()), user.role.as_str(), ttl);
        claims.generation = user.token_generation;
        claims
    }

    fn claims_for_admin(&self, admin: &PlatformAdmin, ttl: Duration) -> Claims {
        let mut claims = self.claims(admin.id.as_uuid(), None, "platform_admin", ttl);
        claims.generation = admin.token_generation;
        claims
    }

    fn claims(&self, sub: Uuid, tid: Option<Uuid>, role: &str, ttl: Duration) -> Claims {
        let now = Timestamp::now().unix_seconds();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        Claims { sub, tid, role: role.to_owned(), iat: now, exp: now.saturating_add(ttl), generation: 0 }
    }

    fn sign(&self, claims: &Claims) -> Result<IssuedToken> {
        let expires_at = time::OffsetDateTime::from_unix_timestamp(claims.exp)
            .map(Timestamp::from_datetime)
            .map_err(|_| Error::invalid("ttl", FieldCode::OutOfRange, "is too long"))?;
        Ok(IssuedToken {
            access_token: self.tokens.sign(claims)?,
            token_type: "Bearer",
            expires_in: claims.exp - claims.iat,
            expires_at,
        })
    }
}
