//! Platform settings, tenants, users and platform admins.

use async_trait::async_trait;
use clientele_core::accounts::session::Session;
use clientele_core::accounts::store::AccountStore;
use clientele_core::accounts::tenant::Tenant;
use clientele_core::accounts::user::{PlatformAdmin, Role, User};
use clientele_core::ids::{PlatformAdminId, TenantId, UserId};
use clientele_core::time::Timestamp;
use clientele_core::values::{Email, PhoneRegion};
use clientele_core::{Error, ErrorCode, Result};

use crate::SqlStore;
use crate::accounts::records::{
    PlatformAdminRecord, SessionRecord, TenantRecord, UserRecord, platform_admin_columns, session_columns,
    tenant_columns, user_columns,
};
use crate::db::{Scope, Ts, db_error, in_transaction, is_unique_violation, with_reader};

pub(crate) mod records;

const TOKEN_KEY: &str = "token_signing_key";

fn email_taken(error: sqlx::Error, message: &str) -> Error {
    if is_unique_violation(&error, "email") { Error::conflict(ErrorCode::Conflict, message) } else { db_error(error) }
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn token_signing_key(&self, generated: &[u8]) -> Result<Vec<u8>> {
        let key = in_transaction!(self, Scope::Platform, |tx| {
            sqlx::query("INSERT INTO platform_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(TOKEN_KEY)
                .bind(generated)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            sqlx::query_scalar::<_, Vec<u8>>("SELECT value FROM platform_settings WHERE key = $1")
                .bind(TOKEN_KEY)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?
        });
        Ok(key)
    }

    async fn insert_tenant(&self, tenant: &Tenant) -> Result<()> {
        let record = TenantRecord::from(tenant);
        in_transaction!(self, Scope::Platform, |tx| {
            let number = sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(number), 0) + 1 FROM tenants")
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
            // A slug another tenant has already gets this tenant's number.
            let slug = record.slug.clone().unwrap_or_else(|| "tenant".to_owned());
            let taken = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM tenants WHERE slug = $1")
                .bind(&slug)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
            let slug = if taken > 0 { format!("{slug}-{number}") } else { slug };
            sqlx::query(
                "INSERT INTO tenants (id, name, country, phone_region, created_at, number, slug) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(record.id)
            .bind(&record.name)
            .bind(&record.country)
            .bind(&record.phone_region)
            .bind(record.created_at)
            .bind(number)
            .bind(slug)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        });
        Ok(())
    }

    async fn get_tenant(&self, id: TenantId) -> Result<Option<Tenant>> {
        let record = with_reader!(self, Scope::Platform, |conn| {
            sqlx::query_as::<_, TenantRecord>(concat!("SELECT ", tenant_columns!(), " FROM tenants WHERE id = $1"))
                .bind(id.as_uuid())
                .fetch_optional(conn)
                .await
        });
        record.map_err(db_error)?.map(Tenant::try_from).transpose()
    }

    async fn find_tenant_by_name(&self, name: &str) -> Result<Option<Tenant>> {
        let record = with_reader!(self, Scope::Platform, |conn| {
            sqlx::query_as::<_, TenantRecord>(concat!(
                "SELECT ",
                tenant_columns!(),
                " FROM tenants WHERE name = $1 ORDER BY created_at, id LIMIT 1"
            ))
            .bind(name)
            .fetch_optional(conn)
            .await
        });
        record.map_err(db_error)?.map(Tenant::try_from).transpose()
    }

    async fn insert_user(&self, user: &User) -> Result<()> {
        let record = UserRecord::from(user);
        in_transaction!(self, user.tenant_id, |tx| {
            sqlx::query(
                "INSERT INTO users (tenant_id, id, email, password_hash, role, partner_id, disabled, created_at, \
                 token_generation) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(record.tenant_id)
            .bind(record.id)
            .bind(&record.email)
            .bind(&record.password_hash)
            .bind(&record.role)
            .bind(record.partner_id)
            .bind(record.disabled)
            .bind(record.created_at)
            .bind(record.token_generation)
            .execute(&mut *tx)
            .await
            .map_err(|e| email_taken(e, "this tenant already has a user with this email"))?;
        });
        Ok(())
    }

    async fn get_user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>> {
        let record = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, UserRecord>(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(conn)
            .await
        });
        record.map_err(db_error)?.map(User::try_from).transpose()
    }

    async fn find_user_by_email(&self, tenant: TenantId, email: &Email) -> Result<Option<User>> {
        let record = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, UserRecord>(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE tenant_id = $1 AND email = $2"
            ))
            .bind(tenant.as_uuid())
            .bind(email.as_str())
            .fetch_optional(conn)
            .await
        });
        record.map_err(db_error)?.map(User::try_from).transpose()
    }

    async fn set_user_disabled(&self, tenant: TenantId, id: UserId, disabled: bool) -> Result<bool> {
        let rows = in_transaction!(self, tenant, |tx| {
            // Disabling also revokes: the user's tokens stay dead once it is enabled again.
            sqlx::query(
                "UPDATE users SET disabled = $3, \
                 token_generation = token_generation + (CASE WHEN $3 THEN 1 ELSE 0 END) \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.as_uuid())
            .bind(id.as_uuid())
            .bind(disabled)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected()
        });
        Ok(rows == 1)
    }

    async fn revoke_user_tokens(&self, tenant: TenantId, id: UserId) -> Result<bool> {
        let rows = in_transaction!(self, tenant, |tx| {
            sqlx::query("UPDATE users SET token_generation = token_generation + 1 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_uuid())
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected()
        });
        Ok(rows == 1)
    }

    async fn revoke_platform_admin_tokens(&self, id: PlatformAdminId) -> Result<bool> {
        let rows = in_transaction!(self, Scope::Platform, |tx| {
            sqlx::query("UPDATE platform_admins SET token_generation = token_generation + 1 WHERE id = $1")
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected()
        });
        Ok(rows == 1)
    }

    async fn insert_platform_admin(&self, admin: &PlatformAdmin) -> Result<()> {
        let record = PlatformAdminRecord::from(admin);
        in_transaction!(self, Scope::Platform, |tx| {
            sqlx::query(
                "INSERT INTO platform_admins (id, email, password_hash, disabled, created_at, token_generation) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(record.id)
            .bind(&record.email)
            .bind(&record.password_hash)
            .bind(record.disabled)
            .bind(record.created_at)
            .bind(record.token_generation)
            .execute(&mut *tx)
            .await
            .map_err(|e| email_taken(e, "a platform admin with this email already exists"))?;
        });
        Ok(())
    }

    async fn get_platform_admin(&self, id: PlatformAdminId) -> Result<Option<PlatformAdmin>> {
        let record = with_reader!(self, Scope::Platform, |conn| {
            sqlx::query_as::<_, PlatformAdminRecord>(concat!(
                "SELECT ",
                platform_admin_columns!(),
                " FROM platform_admins WHERE id = $1"
            ))
            .bind(id.as_uuid())
            .fetch_optional(conn)
            .await
        });
        record.map_err(db_error)?.map(PlatformAdmin::try_from).transpose()
    }

    async fn find_platform_admin_by_email(&self, email: &Email) -> Result<Option<PlatformAdmin>> {
        let record = with_reader!(self, Scope::Platform, |conn| {
            sqlx::query_as::<_, PlatformAdminRecord>(concat!(
                "SELECT ",
                platform_admin_columns!(),
                " FROM platform_admins WHERE email = $1"
            ))
            .bind(email.as_str())
            .fetch_optional(conn)
            .await
        });
        record.map_err(db_error)?.map(PlatformAdmin::try_from).transpose()
    }

    async fn find_tenant_by_slug(&self, slug: &str) -> Result<Option<Tenant>> {
        let record = with_reader!(self, Scope::Platform, |conn| {
            sqlx::query_as::<_, TenantRecord>(concat!("SELECT ", tenant_columns!(), " FROM tenants WHERE slug = $1"))
                .bind(slug)
                .fetch_optional(conn)
                .await
        });
        record.map_err(db_error)?.map(Tenant::try_from).transpose()
    }

    async fn set_tenant_phone_region(&self, tenant: TenantId, region: &PhoneRegion) -> Result<bool> {
        let rows = in_transaction!(self, tenant, |tx| {
            sqlx::query("UPDATE tenants SET phone_region = $2 WHERE id = $1")
                .bind(tenant.as_uuid())
                .bind(region.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected()
        });
        Ok(rows == 1)
    }

    async fn find_users_by_email(&self, email: &Email, limit: u32) -> Result<Vec<User>> {
        let records = with_reader!(self, Scope::AllTenants, |conn| {
            sqlx::query_as::<_, UserRecord>(concat!(
                "/* all tenants */ SELECT ",
                user_columns!(),
                " FROM users WHERE email = $1 ORDER BY created_at, id LIMIT $2"
            ))
            .bind(email.as_str())
            .bind(i64::from(limit.max(1)))
            .fetch_all(conn)
            .await
        });
        records.map_err(db_error)?.into_iter().map(User::try_from).collect()
    }

    async fn list_users(&self, tenant: TenantId) -> Result<Vec<User>> {
        let records = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, UserRecord>(concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE tenant_id = $1 ORDER BY email LIMIT 1000"
            ))
            .bind(tenant.as_uuid())
            .fetch_all(conn)
            .await
        });
        records.map_err(db_error)?.into_iter().map(User::try_from).collect()
    }

    async fn set_user_role(&self, tenant: TenantId, id: UserId, role: Role) -> Result<bool> {
        let rows = in_transaction!(self, tenant, |tx| {
            sqlx::query("UPDATE users SET role = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_uuid())
                .bind(id.as_uuid())
                .bind(role.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected()
        });
        Ok(rows == 1)
    }

    async fn insert_session(&self, session: &Session) -> Result<()> {
        in_transaction!(self, Scope::Platform, |tx| {
            sqlx::query("DELETE FROM console_sessions WHERE expires_at < $1")
                .bind(Ts(Timestamp::now()))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            sqlx::query(concat!(
                "INSERT INTO console_sessions (",
                session_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ))
            .bind(&session.token_hash)
            .bind(session.tenant_id.map(|t| t.as_uuid()))
            .bind(session.subject_id)
            .bind(&session.csrf_token)
            .bind(&session.locale)
            .bind(Ts(session.created_at))
            .bind(Ts(session.expires_at))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        });
        Ok(())
    }

    async fn get_session(&self, token_hash: &[u8]) -> Result<Option<Session>> {
        let record = with_reader!(self, Scope::Platform, |conn| {
            sqlx::query_as::<_, SessionRecord>(concat!(
                "SELECT ",
                session_columns!(),
                " FROM console_sessions WHERE token_hash = $1"
            ))
            .bind(token_hash)
            .fetch_optional(conn)
            .await
        });
        Ok(record.map_err(db_error)?.map(Session::from))
    }

    async fn delete_session(&self, token_hash: &[u8]) -> Result<()> {
        in_transaction!(self, Scope::Platform, |tx| {
            sqlx::query("DELETE FROM console_sessions WHERE token_hash = $1")
                .bind(token_hash)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        });
        Ok(())
    }

    async fn delete_sessions_of(&self, subject: uuid::Uuid) -> Result<()> {
        in_transaction!(self, Scope::Platform, |tx| {
            sqlx::query("DELETE FROM console_sessions WHERE subject_id = $1")
                .bind(subject)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        });
        Ok(())
    }

    async fn set_session_locale(&self, token_hash: &[u8], locale: &str) -> Result<()> {
        in_transaction!(self, Scope::Platform, |tx| {
            sqlx::query("UPDATE console_sessions SET locale = $2 WHERE token_hash = $1")
                .bind(token_hash)
                .bind(locale)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        });
        Ok(())
    }
}
