-- The operator console: browser sessions, the tenant's short code people type at login, and the
-- lookups the console's pages make.

-- A tenant's slug: lower-case letters, digits and hyphens, unique. Tenants made before it get
-- `tenant-<number>`; new ones a slug of their name.
ALTER TABLE tenants ADD COLUMN slug text;
UPDATE tenants SET slug = 'tenant-' || number;
CREATE UNIQUE INDEX tenants_slug ON tenants (slug);

-- Logging in by email alone looks the email up across tenants.
CREATE INDEX users_email ON users (email);

-- Orders by status (admins' waiting override requests) and a driver's orders, newest first.
CREATE INDEX orders_status ON orders (tenant_id, status, id);

-- The audit viewer's action filter, and the dashboard's count of refused orders.
CREATE INDEX audit_log_action ON audit_log (tenant_id, action, at);

-- A console session: the cookie holds a random token, the table its SHA-256 only, so a copy of
-- the database logs nobody in. Cross-tenant like platform_admins (a platform admin's session
-- has no tenant); the user is read again on every request, so a disabled user is out at once,
-- and logging out or disabling a user deletes the rows.
CREATE TABLE console_sessions (
    token_hash bytea PRIMARY KEY,
    tenant_id  uuid,
    subject_id uuid NOT NULL,
    csrf_token text NOT NULL,
    locale     text,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_subject ON console_sessions (subject_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
