//! Accounts rows as stored, and their conversion to and from domain types.
//!
//! A record has exactly the columns of its table, in the order of its `*_columns!()` list, with
//! types both backends encode the same way (uuid, text, bool, i64, dates, [`Ts`](crate::db::Ts)).

use clientele_core::accounts::session::Session;
use clientele_core::accounts::tenant::Tenant;
use clientele_core::accounts::user::{PasswordHashString, PlatformAdmin, Role, User};
use clientele_core::documents::requirements::RequiredDocuments;
use clientele_core::ids::{CustomerId, PlatformAdminId, TenantId, UserId};
use clientele_core::values::{CountryCode, Email, PhoneRegion};
use clientele_core::{Error, Result};
use uuid::Uuid;

use crate::db::{Ts, corrupt};

macro_rules! tenant_columns {
    () => {
        "id, name, country, phone_region, created_at, required_documents, slug"
    };
}

macro_rules! user_columns {
    () => {
        "tenant_id, id, email, password_hash, role, partner_id, disabled, created_at, token_generation"
    };
}

macro_rules! platform_admin_columns {
    () => {
        "id, email, password_hash, disabled, created_at, token_generation"
    };
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TenantRecord {
    pub id: Uuid,
    pub name: String,
    pub country: String,
    pub phone_region: String,
    pub created_at: Ts,
    pub required_documents: String,
    pub slug: Option<String>,
}

impl From<&Tenant> for TenantRecord {
    fn from(t: &Tenant) -> Self {
        Self {
            id: t.id.as_uuid(),
            name: t.name.clone(),
            country: t.country.as_str().to_owned(),
            phone_region: t.phone_region.as_str().to_owned(),
            created_at: t.created_at.into(),
            required_documents: t.required_documents.to_stored(),
            slug: Some(t.slug.clone()),
        }
    }
}

impl TryFrom<TenantRecord> for Tenant {
    type Error = Error;
    fn try_from(r: TenantRecord) -> Result<Self> {
        Ok(Tenant {
            id: TenantId::from_uuid(r.id),
            country: CountryCode::from_stored(&r.country).ok_or_else(|| corrupt("country", &r.country))?,
            phone_region: PhoneRegion::parse(&r.phone_region).map_err(|_| corrupt("phone region", &r.phone_region))?,
            slug: r.slug.unwrap_or_else(|| r.id.to_string()),
            name: r.name,
            created_at: r.created_at.0,
            required_documents: RequiredDocuments::from_stored(&r.required_documents),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserRecord {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub partner_id: Option<Uuid>,
    pub disabled: bool,
    pub created_at: Ts,
    pub token_generation: i64,
}

impl From<&User> for UserRecord {
    fn from(u: &User) -> Self {
        Self {
            tenant_id: u.tenant_id.as_uuid(),
            id: u.id.as_uuid(),
            email: u.email.as_str().to_owned(),
            password_hash: u.password_hash.as_str().to_owned(),
            role: u.role.as_str().to_owned(),
            partner_id: u.partner_id.map(|p| p.as_uuid()),
            disabled: u.disabled,
            created_at: u.created_at.into(),
            token_generation: u.token_generation,
        }
    }
}

impl TryFrom<UserRecord> for User {
    type Error = Error;
    fn try_from(r: UserRecord) -> Result<Self> {
        Ok(User {
            tenant_id: TenantId::from_uuid(r.tenant_id),
            id: UserId::from_uuid(r.id),
            role: Role::parse(&r.role).map_err(|_| corrupt("role", &r.role))?,
            email: Email::from_stored(r.email),
            partner_id: r.partner_id.map(CustomerId::from_uuid),
            password_hash: PasswordHashString::from_stored(r.password_hash),
            disabled: r.disabled,
            token_generation: r.token_generation,
            created_at: r.created_at.0,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PlatformAdminRecord {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: Ts,
    pub token_generation: i64,
}

impl From<&PlatformAdmin> for PlatformAdminRecord {
    fn from(a: &PlatformAdmin) -> Self {
        Self {
            id: a.id.as_uuid(),
            email: a.email.as_str().to_owned(),
            password_hash: a.password_hash.as_str().to_owned(),
            disabled: a.disabled,
            created_at: a.created_at.into(),
            token_generation: a.token_generation,
        }
    }
}

impl TryFrom<PlatformAdminRecord> for PlatformAdmin {
    type Error = Error;
    fn try_from(r: PlatformAdminRecord) -> Result<Self> {
        Ok(PlatformAdmin {
            id: PlatformAdminId::from_uuid(r.id),
            email: Email::from_stored(r.email),
            password_hash: PasswordHashString::from_stored(r.password_hash),
            disabled: r.disabled,
            token_generation: r.token_generation,
            created_at: r.created_at.0,
        })
    }
}

pub(crate) use platform_admin_columns;
pub(crate) use tenant_columns;
pub(crate) use user_columns;

macro_rules! session_columns {
    () => {
        "token_hash, tenant_id, subject_id, csrf_token, locale, created_at, expires_at"
    };
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionRecord {
    pub token_hash: Vec<u8>,
    pub tenant_id: Option<Uuid>,
    pub subject_id: Uuid,
    pub csrf_token: String,
    pub locale: Option<String>,
    pub created_at: Ts,
    pub expires_at: Ts,
}

impl From<SessionRecord> for Session {
    fn from(r: SessionRecord) -> Self {
        Session {
            token_hash: r.token_hash,
            tenant_id: r.tenant_id.map(TenantId::from_uuid),
            subject_id: r.subject_id,
            csrf_token: r.csrf_token,
            locale: r.locale,
            created_at: r.created_at.0,
            expires_at: r.expires_at.0,
        }
    }
}

pub(crate) use session_columns;
