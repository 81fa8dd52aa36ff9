//! Account services: tenants, users, platform admins, logins and tokens.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use uuid::Uuid;

use crate::accounts::auth::{Actor, Claims, IssuedToken, Member, Origin, Principal};
use crate::accounts::passwords::{PasswordJob, PasswordOutcome};
use crate::accounts::session::{Session, token_hash};
use crate::accounts::tenant::{Tenant, normalise_slug};
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
        let actor = match claims.tid {
            Some(tenant) => {
                let user = self.store().get_user(TenantId::from_uuid(tenant), UserId::from_uuid(claims.sub)).await?;
                user.filter(|u| {
                    !u.disabled && u.role.as_str() == claims.role && u.token_generation == claims.generation
                })
                .map(|user| {
                    let member = Member {
                        tenant_id: user.tenant_id,
                        user_id: user.id,
                        role: user.role,
                        partner_id: user.partner_id,
                    };
                    Actor::new(Principal::Member(member), origin)
                })
            }
            None if claims.role == "platform_admin" => {
                let admin = self.store().get_platform_admin(PlatformAdminId::from_uuid(claims.sub)).await?;
                admin
                    .filter(|a| !a.disabled && a.token_generation == claims.generation)
                    .map(|admin| Actor::new(Principal::PlatformAdmin(admin.id), origin))
            }
            None => None,
        };
        actor.ok_or_else(revoked)
    }

    /// The actor of an enabled tenant user, as the user is now; `None` when disabled or gone.
    pub(crate) async fn member_actor(&self, tenant: TenantId, user: UserId, origin: Origin) -> Result<Option<Actor>> {
        let user = self.store().get_user(tenant, user).await?.filter(|u| !u.disabled);
        Ok(user.map(|user| {
            let member =
                Member { tenant_id: user.tenant_id, user_id: user.id, role: user.role, partner_id: user.partner_id };
            Actor::new(Principal::Member(member), origin)
        }))
    }

    /// The actor of an enabled platform admin; `None` when disabled or gone.
    pub(crate) async fn admin_actor(&self, id: PlatformAdminId, origin: Origin) -> Result<Option<Actor>> {
        let admin = self.store().get_platform_admin(id).await?.filter(|a| !a.disabled);
        Ok(admin.map(|admin| Actor::new(Principal::PlatformAdmin(admin.id), origin)))
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

/// A user as the tenant's admins see it in the console: no password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    /// The user's id.
    pub id: UserId,
    /// Login email.
    pub email: Email,
    /// Role.
    pub role: Role,
    /// For partner users: their company.
    pub partner_id: Option<CustomerId>,
    /// Whether the user is disabled.
    pub disabled: bool,
    /// When the user was created.
    pub created_at: Timestamp,
}

impl From<User> for UserSummary {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            role: u.role,
            partner_id: u.partner_id,
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

/// A change an admin makes to a user.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserChange {
    /// A new role (not to or from `partner`, whose company is chosen when the user is made).
    pub role: Option<Role>,
    /// Disable (`true`) or enable (`false`).
    pub disabled: Option<bool>,
}

impl App {
    /// The tenant's users, by email (admins).
    pub async fn tenant_users(&self, actor: &Actor) -> Result<Vec<UserSummary>> {
        let grant = actor.require(crate::accounts::access::Capability::ManageUsers)?;
        Ok(self.store().list_users(grant.tenant_id).await?.into_iter().map(UserSummary::from).collect())
    }

    /// The tenant's active drivers (whom orders are assigned to), for admins and operators.
    pub async fn tenant_drivers(&self, actor: &Actor) -> Result<Vec<UserSummary>> {
        let grant = actor.require(crate::accounts::access::Capability::ManageOrders)?;
        let users = self.store().list_users(grant.tenant_id).await?;
        Ok(users.into_iter().filter(|u| u.role == Role::Driver && !u.disabled).map(UserSummary::from).collect())
    }

    /// An admin adds a user to the tenant (with a first password to hand over); audited.
    pub async fn add_user(&self, actor: &Actor, mut new: NewUser) -> Result<UserSummary> {
        let grant = actor.require(crate::accounts::access::Capability::ManageUsers)?;
        new.tenant_id = grant.tenant_id;
        let user = self.create_user(new).await?;
        let entry = crate::audit::entry::AuditEntry::new(
            actor,
            grant.tenant_id,
            crate::audit::entry::AuditAction::UserCreated,
            "user",
            user.id.as_uuid(),
            None,
        )
        .with_changes(serde_json::json!({"email": user.email.as_str(), "role": user.role.as_str()}));
        self.store().record(&[entry], &[]).await?;
        Ok(user.into())
    }

    /// An admin changes a user's role or disables (enables) it. Disabling ends the user's
    /// console sessions at once (its tokens already stop working). An admin cannot disable or
    /// demote themselves, so a tenant never locks its last admin out by a slip.
    pub async fn change_user(&self, actor: &Actor, id: UserId, change: UserChange) -> Result<UserSummary> {
        let grant = actor.require(crate::accounts::access::Capability::ManageUsers)?;
        let user = self.store().get_user(grant.tenant_id, id).await?.ok_or(Error::NotFound("user"))?;
        if actor.user_id() == Some(id) && (change.disabled == Some(true) || change.role.is_some_and(|r| r != user.role))
        {
            return Err(Error::conflict(ErrorCode::Conflict, "you cannot disable yourself or change your own role"));
        }
        if let Some(role) = change.role
            && role != user.role
            && (role == Role::Partner || user.role == Role::Partner)
        {
            return Err(Error::invalid(
                "role",
                FieldCode::NotAllowed,
                "a partner user stays a partner user: make a new user instead",
            ));
        }
        let mut changes = serde_json::Map::new();
        if let Some(role) = change.role.filter(|r| *r != user.role) {
            self.store().set_user_role(grant.tenant_id, id, role).await?;
            changes.insert("role".into(), serde_json::json!({"from": user.role.as_str(), "to": role.as_str()}));
        }
        if let Some(disabled) = change.disabled.filter(|d| *d != user.disabled) {
            self.store().set_user_disabled(grant.tenant_id, id, disabled).await?;
            if disabled {
                self.store().delete_sessions_of(id.as_uuid()).await?;
            }
            changes.insert("disabled".into(), serde_json::json!({"from": user.disabled, "to": disabled}));
        }
        if !changes.is_empty() {
            let entry = crate::audit::entry::AuditEntry::new(
                actor,
                grant.tenant_id,
                crate::audit::entry::AuditAction::UserUpdated,
                "user",
                id.as_uuid(),
                None,
            )
            .with_changes(serde_json::Value::Object(changes));
            self.store().record(&[entry], &[]).await?;
        }
        let user = self.store().get_user(grant.tenant_id, id).await?.ok_or(Error::NotFound("user"))?;
        Ok(user.into())
    }

    /// A tenant's slug, for the console to show who is logged in where.
    pub async fn tenant_of(&self, actor: &Actor) -> Result<Option<Tenant>> {
        match actor.tenant_id() {
            Some(id) => Ok(Some(self.tenant(id).await?)),
            None => Ok(None),
        }
    }

    /// An admin changes the region phone numbers without a country prefix are read in; audited.
    pub async fn set_phone_region(&self, actor: &Actor, region: &str) -> Result<Tenant> {
        let grant = actor.require(crate::accounts::access::Capability::ManageSettings)?;
        let parsed =
            crate::values::PhoneRegion::parse(region).map_err(|p| Error::invalid("phone_region", p.code, p.message))?;
        let tenant = self.tenant(grant.tenant_id).await?;
        if tenant.phone_region != parsed {
            self.store().set_tenant_phone_region(grant.tenant_id, &parsed).await?;
            let entry = crate::audit::entry::AuditEntry::new(
                actor,
                grant.tenant_id,
                crate::audit::entry::AuditAction::PhoneRegionChanged,
                "tenant",
                grant.tenant_id.as_uuid(),
                None,
            )
            .with_changes(
                serde_json::json!({"phone_region": {"from": tenant.phone_region.as_str(), "to": parsed.as_str()}}),
            );
            self.store().record(&[entry], &[]).await?;
        }
        self.tenant(grant.tenant_id).await
    }
}

// Console sessions: log in by email (the tenant found from it, or named by its slug), the
// session's actor on every request, log out. The user is read again on every request (as for
// bearer tokens), so a disabled user, or one whose role changed, acts as what they are now.

/// Most accounts one email may hold across tenants before the login asks for the tenant: each
/// costs a password check.
const MAX_CANDIDATES: usize = 5;

/// A login form as typed.
#[derive(Debug, Clone, Default)]
pub struct ConsoleLogin {
    /// Login email.
    pub email: String,
    /// Password.
    pub password: String,
    /// The tenant's slug, when the person gave one.
    pub tenant: Option<String>,
}

/// A session just opened: the token for the cookie, and the session.
#[derive(Debug, Clone)]
pub struct OpenedSession {
    /// The random token (for the cookie only; never stored).
    pub token: String,
    /// The stored session.
    pub session: Session,
}

/// An account that answered to a login's email.
enum Candidate {
    User(crate::accounts::user::User),
    Admin(crate::accounts::user::PlatformAdmin),
}

impl Candidate {
    fn hash(&self) -> &PasswordHashString {
        match self {
            Self::User(u) => &u.password_hash,
            Self::Admin(a) => &a.password_hash,
        }
    }

    fn disabled(&self) -> bool {
        match self {
            Self::User(u) => u.disabled,
            Self::Admin(a) => a.disabled,
        }
    }
}

fn random_token() -> Result<String> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::internal(format!("reading random bytes: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

impl App {
    /// Logs a person in to the console. The tenant is the one named by `login.tenant` (its
    /// slug), or else the only account with this email whose password matches; when several
    /// match, the person is asked for the tenant (`422` on `tenant`). Every other failure is the
    /// one `401 invalid_credentials`, as for tokens.
    pub async fn open_session(&self, login: &ConsoleLogin, lifetime: Duration) -> Result<OpenedSession> {
        let refused = || Error::Unauthenticated {
            code: ErrorCode::InvalidCredentials,
            message: "the email, password or company is not correct".into(),
        };
        let email = Email::parse(&login.email).ok();
        let slug = login.tenant.as_deref().map(normalise_slug).filter(|s| !s.is_empty() && s != "tenant");
        let mut candidates = Vec::new();
        if let Some(email) = &email {
            match &slug {
                Some(slug) => {
                    if let Some(tenant) = self.store().find_tenant_by_slug(slug).await?
                        && let Some(user) = self.store().find_user_by_email(tenant.id, email).await?
                    {
                        candidates.push(Candidate::User(user));
                    }
                }
                None => {
                    let users = self.store().find_users_by_email(email, MAX_CANDIDATES as u32 + 1).await?;
                    candidates.extend(users.into_iter().map(Candidate::User));
                    if let Some(admin) = self.store().find_platform_admin_by_email(email).await? {
                        candidates.push(Candidate::Admin(admin));
                    }
                }
            }
        }
        if candidates.len() > MAX_CANDIDATES {
            return Err(tenant_needed());
        }
        let mut matching: Vec<Candidate> = Vec::new();
        if candidates.is_empty() {
            // The same work as a real check, so that a missing account is not told by the time.
            PasswordHashString::decoy().verify(&login.password);
        }
        for candidate in candidates {
            if candidate.hash().verify(&login.password) && !candidate.disabled() {
                matching.push(candidate);
            }
        }
        let chosen = match matching.len() {
            0 => return Err(refused()),
            1 => matching.remove(0),
            _ => return Err(tenant_needed()),
        };
        let (tenant_id, subject_id) = match &chosen {
            Candidate::User(u) => (Some(u.tenant_id), u.id.as_uuid()),
            Candidate::Admin(a) => (None, a.id.as_uuid()),
        };
        let token = random_token()?;
        let now = Timestamp::now();
        let session = Session {
            token_hash: token_hash(&token),
            tenant_id,
            subject_id,
            csrf_token: random_token()?,
            locale: None,
            created_at: now,
            expires_at: now.add(lifetime),
        };
        self.store().insert_session(&session).await?;
        Ok(OpenedSession { token, session })
    }

    /// The session of a cookie's token and the actor it acts as; `401` when the session is
    /// unknown, over, or its user is disabled.
    pub async fn session_actor(&self, token: &str, origin: Origin) -> Result<(Actor, Session)> {
        let gone = || Error::unauthenticated("the session has ended: log in again");
        let session = self.store().get_session(&token_hash(token)).await?.ok_or_else(gone)?;
        if session.expires_at <= Timestamp::now() {
            self.store().delete_session(&session.token_hash).await?;
            return Err(gone());
        }
        let actor = match session.tenant_id {
            Some(tenant) => self.member_actor(tenant, UserId::from_uuid(session.subject_id), origin).await?,
            None => self.admin_actor(PlatformAdminId::from_uuid(session.subject_id), origin).await?,
        };
        Ok((actor.ok_or_else(gone)?, session))
    }

    /// Ends a session (log out); unknown tokens are ignored.
    pub async fn close_session(&self, token: &str) -> Result<()> {
        self.store().delete_session(&token_hash(token)).await
    }

    /// Remembers the language a session's user chose.
    pub async fn set_session_locale(&self, session: &Session, locale: &str) -> Result<()> {
        self.store().set_session_locale(&session.token_hash, locale).await
    }
}

fn tenant_needed() -> Error {
    Error::invalid(
        "tenant",
        FieldCode::Required,
        "this email has accounts with several companies: type your company's code",
    )
}
