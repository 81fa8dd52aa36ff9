//! [`App`]: the services the HTTP server and the admin commands both call.
//!
//! This module holds tenants, users and authentication; customers live in
//! [`crate::customers`].

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{Actor, Claims, IssuedToken, Member, Origin, Principal, TokenSigner};
use crate::blacklist::PseudonymKey;
use crate::customer::CustomerKind;
use crate::error::{Error, ErrorCode, FieldCode, FieldErrors, Result};
use crate::ids::{CustomerId, PlatformAdminId, TenantId, UserId};
use crate::store::Store;
use crate::tenant::Tenant;
use crate::time::Timestamp;
use crate::user::{PasswordHashString, PlatformAdmin, Role, User};
use crate::values::Email;

/// Settings the services need.
#[derive(Clone)]
pub struct AppConfig {
    /// Token signing key; when absent, a key generated once and kept in the database is used.
    pub token_secret: Option<Vec<u8>>,
    /// Lifetime of tokens issued at login.
    pub token_ttl: Duration,
    /// The global blacklist's pseudonym key (never stored in the database); without it the
    /// global list is unavailable.
    pub blacklist_key: Option<Vec<u8>>,
    /// How long a global entry matches before it expires.
    pub global_entry_months: u32,
    /// Where people turn with data-protection requests; shown with every blacklist refusal.
    pub data_protection_contact: String,
    /// Encrypted document storage; without it, documents are unavailable.
    pub vault: Option<crate::vault::Vault>,
    /// The largest document file accepted, in bytes.
    pub max_document_bytes: u64,
    /// The largest import file accepted, in bytes.
    pub max_import_bytes: u64,
    /// How long an import worker's lease on a job lasts: the worker renews it while it works,
    /// and once it runs out (the worker's process died) another process resumes the job.
    pub import_lease: Duration,
    /// Import jobs one server process runs at once.
    pub import_workers: usize,
    /// Crash tests only: how long each import batch holds its transaction open between its
    /// writes. Zero (the default) in any real use.
    pub import_crash_test_pause: Duration,
}

impl std::fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig")
            .field("token_secret", &self.token_secret.as_ref().map(|_| "[redacted]"))
            .field("token_ttl", &self.token_ttl)
            .field("blacklist_key", &self.blacklist_key.as_ref().map(|_| "[redacted]"))
            .field("global_entry_months", &self.global_entry_months)
            .field("data_protection_contact", &self.data_protection_contact)
            .field("vault", &self.vault)
            .field("max_document_bytes", &self.max_document_bytes)
            .field("max_import_bytes", &self.max_import_bytes)
            .field("import_lease", &self.import_lease)
            .field("import_workers", &self.import_workers)
            .field("import_crash_test_pause", &self.import_crash_test_pause)
            .finish()
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            token_secret: None,
            token_ttl: Duration::from_secs(24 * 3600),
            blacklist_key: None,
            global_entry_months: 36,
            data_protection_contact: DEFAULT_DATA_PROTECTION_CONTACT.to_owned(),
            vault: None,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            max_import_bytes: crate::imports::DEFAULT_MAX_IMPORT_BYTES,
            import_lease: crate::imports::DEFAULT_LEASE,
            import_workers: 2,
            import_crash_test_pause: Duration::ZERO,
        }
    }
}

/// The default largest document file: 20 MiB.
pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 20 * 1024 * 1024;

/// Import jobs, as the services use them.
#[derive(Debug, Clone)]
pub(crate) struct ImportSettings {
    pub max_bytes: u64,
    pub lease: Duration,
    pub workers: usize,
    pub crash_test_pause: Duration,
}

/// Document storage, as the services use it.
#[derive(Debug, Clone)]
pub(crate) struct DocumentSettings {
    pub vault: Option<crate::vault::Vault>,
    pub max_bytes: u64,
}

/// The placeholder contact until one is configured.
pub const DEFAULT_DATA_PROTECTION_CONTACT: &str = "privacy@platform.invalid";

/// The global blacklist's settings, as the services use them.
#[derive(Debug, Clone)]
pub(crate) struct BlacklistSettings {
    pub key: Option<PseudonymKey>,
    pub entry_months: u32,
    pub contact: String,
}

/// The application: services over a [`Store`].
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    tokens: TokenSigner,
    token_ttl: Duration,
    pub(crate) blacklist: BlacklistSettings,
    pub(crate) documents: DocumentSettings,
    pub(crate) imports: ImportSettings,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("backend", &self.store.backend()).finish_non_exhaustive()
    }
}

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
    /// Builds the services. Loads (or creates) the stored token key unless one is configured.
    pub async fn new(store: Arc<dyn Store>, config: AppConfig) -> Result<Self> {
        let key = match config.token_secret {
            Some(key) => key,
            None => store.token_signing_key(&TokenSigner::generate_key()?).await?,
        };
        let pseudonym_key = config.blacklist_key.as_deref().map(PseudonymKey::new).transpose()?;
        let blacklist = BlacklistSettings {
            key: pseudonym_key,
            entry_months: config.global_entry_months.max(1),
            contact: config.data_protection_contact,
        };
        let documents = DocumentSettings { vault: config.vault, max_bytes: config.max_document_bytes.max(1) };
        let imports = ImportSettings {
            max_bytes: config.max_import_bytes.max(1),
            lease: config.import_lease.max(Duration::from_secs(1)),
            workers: config.import_workers.clamp(1, 64),
            crash_test_pause: config.import_crash_test_pause,
        };
        Ok(Self { store, tokens: TokenSigner::new(&key)?, token_ttl: config.token_ttl, blacklist, documents, imports })
    }

    /// The store the services run on.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// Creates a tenant (`clientele tenant create`).
    pub async fn create_tenant(&self, name: &str, country: &str, phone_region: Option<&str>) -> Result<Tenant> {
        let tenant = Tenant::parse_new(name, country, phone_region)?;
        self.store.insert_tenant(&tenant).await?;
        Ok(tenant)
    }

    /// A tenant by id, or `404`.
    pub async fn tenant(&self, id: TenantId) -> Result<Tenant> {
        self.store.get_tenant(id).await?.ok_or(Error::NotFound("tenant"))
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
                let customer = self.store.get_customer(new.tenant_id, partner).await?;
                if !customer.is_some_and(|c| c.data.kind == CustomerKind::Partner && c.deleted_at.is_none()) {
                    errors.push("partner_id", FieldCode::UnknownReference, "must be a partner company of the tenant");
                }
            }
            (Some(_), Some(_)) => errors.push("partner_id", FieldCode::NotAllowed, "only partner users have one"),
            _ => {}
        }
        let password = PasswordHashString::hash(&new.password);
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
            created_at: Timestamp::now(),
        };
        self.store.insert_user(&user).await?;
        Ok(user)
    }

    /// Creates a platform administrator.
    pub async fn create_platform_admin(&self, email: &str, password: &str) -> Result<PlatformAdmin> {
        let email = Email::parse(email).map_err(|p| Error::invalid("email", p.code, p.message))?;
        let admin = PlatformAdmin {
            id: PlatformAdminId::new(),
            email,
            password_hash: PasswordHashString::hash(password)?,
            disabled: false,
            created_at: Timestamp::now(),
        };
        self.store.insert_platform_admin(&admin).await?;
        Ok(admin)
    }

    /// Disables (or re-enables) a user; its tokens stop (or resume) working at once.
    pub async fn set_user_disabled(&self, tenant: TenantId, user: UserId, disabled: bool) -> Result<()> {
        if self.store.set_user_disabled(tenant, user, disabled).await? { Ok(()) } else { Err(Error::NotFound("user")) }
    }

    /// Checks email and password and issues a token. Every failure is the same
    /// `401 invalid_credentials`, and costs the same time, so logins reveal nothing.
    pub async fn login(&self, request: &LoginRequest) -> Result<IssuedToken> {
        let refused = || Error::Unauthenticated {
            code: ErrorCode::InvalidCredentials,
            message: "the email, password or tenant is not correct".into(),
        };
        let email = Email::parse(&request.email).ok();
        let account = match (email, request.tenant) {
            (Some(email), Some(tenant)) => {
                let user = self.store.find_user_by_email(TenantId::from_uuid(tenant), &email).await?;
                user.map(|u| (u.password_hash.clone(), u.disabled, self.claims_for_user(&u, self.token_ttl)))
            }
            (Some(email), None) => {
                let admin = self.store.find_platform_admin_by_email(&email).await?;
                admin.map(|a| (a.password_hash.clone(), a.disabled, self.claims_for_admin(&a, self.token_ttl)))
            }
            (None, _) => None,
        };
        let hash = account.as_ref().map_or(PasswordHashString::decoy(), |(hash, _, _)| hash);
        let password_ok = hash.verify(&request.password);
        match account {
            Some((_, false, claims)) if password_ok => self.sign(&claims),
            _ => Err(refused()),
        }
    }

    /// Issues a token without a password (`clientele token issue`, run with database access).
    pub async fn issue_token(&self, subject: &TokenSubject, ttl: Duration) -> Result<IssuedToken> {
        let parse_email = |email: &str| Email::parse(email).map_err(|p| Error::invalid("email", p.code, p.message));
        let claims = match subject {
            TokenSubject::User(tenant, email) => {
                let user = self.store.find_user_by_email(*tenant, &parse_email(email)?).await?;
                let user = user.filter(|u| !u.disabled).ok_or(Error::NotFound("active user"))?;
                self.claims_for_user(&user, ttl)
            }
            TokenSubject::PlatformAdmin(email) => {
                let admin = self.store.find_platform_admin_by_email(&parse_email(email)?).await?;
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
                let user = self.store.get_user(TenantId::from_uuid(tenant), UserId::from_uuid(claims.sub)).await?;
                let user = user.filter(|u| !u.disabled && u.role.as_str() == claims.role).ok_or_else(revoked)?;
                Principal::Member(Member {
                    tenant_id: user.tenant_id,
                    user_id: user.id,
                    role: user.role,
                    partner_id: user.partner_id,
                })
            }
            None => {
                let admin = self.store.get_platform_admin(PlatformAdminId::from_uuid(claims.sub)).await?;
                let admin = admin.filter(|a| !a.disabled && claims.role == "platform_admin").ok_or_else(revoked)?;
                Principal::PlatformAdmin(admin.id)
            }
        };
        Ok(Actor::new(principal, origin))
    }

    fn claims_for_user(&self, user: &User, ttl: Duration) -> Claims {
        self.claims(user.id.as_uuid(), Some(user.tenant_id.as_uuid()), user.role.as_str(), ttl)
    }

    fn claims_for_admin(&self, admin: &PlatformAdmin, ttl: Duration) -> Claims {
        self.claims(admin.id.as_uuid(), None, "platform_admin", ttl)
    }

    fn claims(&self, sub: Uuid, tid: Option<Uuid>, role: &str, ttl: Duration) -> Claims {
        let now = Timestamp::now().unix_seconds();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        Claims { sub, tid, role: role.to_owned(), iat: now, exp: now.saturating_add(ttl) }
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
