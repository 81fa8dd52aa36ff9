//! What the store keeps of accounts, and the part of the storage contract that is theirs.

use crate::accounts::session::Session;
use crate::accounts::tenant::Tenant;
use crate::accounts::user::{PlatformAdmin, Role, User};
use crate::error::Result;
use crate::ids::{PlatformAdminId, TenantId, UserId};
use crate::values::{Email, PhoneRegion};

/// Tenants, users and platform admins; the token signing key. Part of [`crate::store::Store`]; see its documentation for what every method
/// keeps to.
#[async_trait::async_trait]
pub trait AccountStore: Send + Sync {
    /// The platform's token signing key: the stored one, or `generated` after storing it. Every
    /// process sharing the database therefore signs with the same key.
    async fn token_signing_key(&self, generated: &[u8]) -> Result<Vec<u8>>;
    /// Stores a new tenant.
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<()>;
    /// A tenant by id.
    async fn get_tenant(&self, id: TenantId) -> Result<Option<Tenant>>;
    /// The oldest tenant with exactly this name.
    async fn find_tenant_by_name(&self, name: &str) -> Result<Option<Tenant>>;
    /// Stores a new user; `409 conflict` when the email is taken in the tenant.
    async fn insert_user(&self, user: &User) -> Result<()>;
    /// A user by id.
    async fn get_user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>>;
    /// A user by login email.
    async fn find_user_by_email(&self, tenant: TenantId, email: &Email) -> Result<Option<User>>;
    /// Disables or re-enables a user; false when there is no such user. Disabling also moves the
    /// user's token generation on (as [`AccountStore::revoke_user_tokens`]).
    async fn set_user_disabled(&self, tenant: TenantId, id: UserId, disabled: bool) -> Result<bool>;
    /// Moves a user's token generation on, so that every token issued before stops working;
    /// false when there is no such user in the tenant.
    async fn revoke_user_tokens(&self, tenant: TenantId, id: UserId) -> Result<bool>;
    /// Moves a platform admin's token generation on; false when there is no such admin.
    async fn revoke_platform_admin_tokens(&self, id: PlatformAdminId) -> Result<bool>;
    /// Stores a new platform admin; `409 conflict` when the email is taken.
    async fn insert_platform_admin(&self, admin: &PlatformAdmin) -> Result<()>;
    /// A platform admin by id.
    async fn get_platform_admin(&self, id: PlatformAdminId) -> Result<Option<PlatformAdmin>>;
    /// A platform admin by login email.
    async fn find_platform_admin_by_email(&self, email: &Email) -> Result<Option<PlatformAdmin>>;
    /// A tenant by its slug.
    async fn find_tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>>;
    /// Changes the region phone numbers are read in; false when there is no such tenant.
    async fn set_tenant_phone_region(&self, tenant: TenantId, region: &PhoneRegion) -> Result<bool>;
    /// The users of any tenant with this login email, at most `limit` (logging in by email alone).
    async fn find_users_by_email(&self, email: &Email, limit: u32) -> Result<Vec<User>>;
    /// A tenant's users, by email.
    async fn list_users(&self, tenant: TenantId) -> Result<Vec<User>>;
    /// Changes a user's role; false when there is no such user.
    async fn set_user_role(&self, tenant: TenantId, id: UserId, role: Role) -> Result<bool>;
    /// Stores a new console session (and drops sessions that are over).
    async fn insert_session(&self, session: &Session) -> Result<()>;
    /// A console session by its token's hash.
    async fn get_session(&self, token_hash: &[u8]) -> Result<Option<Session>>;
    /// Ends a console session.
    async fn delete_session(&self, token_hash: &[u8]) -> Result<()>;
    /// Ends every console session of a user or platform admin.
    async fn delete_sessions_of(&self, subject: uuid::Uuid) -> Result<()>;
    /// Remembers the language chosen in a session.
    async fn set_session_locale(&self, token_hash: &[u8], locale: &str) -> Result<()>;
}
