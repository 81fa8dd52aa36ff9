-- Row-level security: the second wall between tenants. Every statement of the service names its
-- tenant (`tenant_id = $1`); each transaction also says whose rows it may touch, with
-- set_config('app.tenant_id', <tenant id>, true) (SET LOCAL): a tenant's id, '*' for the
-- workers that serve every tenant, or nothing, which shows no tenant's rows. A statement that
-- forgot its tenant filter then reads and writes only that tenant's rows, or none.
--
-- FORCE: the tables' owner is held by the policies too. Superusers and BYPASSRLS roles are not:
-- a service that connects as one switches, per transaction, to the role clientele_app (below),
-- which the policies do hold. Future migrations that change tenant data must first
-- SET LOCAL app.tenant_id = '*'.

CREATE FUNCTION clientele_tenant_visible(tenant uuid) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT CASE current_setting('app.tenant_id', true)
            WHEN '*' THEN true
            WHEN '' THEN false
            ELSE tenant = current_setting('app.tenant_id', true)::uuid
        END
    $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'audit_chain', 'audit_log', 'blacklist_entries', 'cargos_agencies', 'cargos_settings',
        'cargos_submissions', 'customer_notes', 'customer_search_prefixes', 'customers', 'documents',
        'global_blacklist_matches', 'import_errors', 'import_files', 'import_jobs', 'orders',
        'outbox_events', 'search_vocabulary', 'stripe_customers', 'stripe_events', 'stripe_settings',
        'users', 'webhook_attempts', 'webhook_deliveries', 'webhook_endpoints', 'webhook_subscriptions'
    ] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_scope ON %I USING (clientele_tenant_visible(tenant_id))', t);
    END LOOP;
END
$$;

-- The service's role, for a service that connects as a superuser (as the test suites do, and
-- small installations often): made when the migrating role may make roles, shared by every
-- database of the server (each grants it its own tables).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clientele_app') THEN
        IF (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
            BEGIN
                CREATE ROLE clientele_app NOLOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- another database's migration made it meanwhile
            END;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'clientele_app') THEN
        GRANT USAGE ON SCHEMA public TO clientele_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO clientele_app;
        GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO clientele_app;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO clientele_app;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO clientele_app;
    END IF;
END
$$;

-- Under the policies, PostgreSQL uses a condition in an index only if its functions are
-- LEAKPROOF (they cannot reveal the rows the policy hides through an error). LIKE is not
-- marked so, which would keep the search's `search_text LIKE '%…%'` off its trigram index. It
-- raises errors only for a malformed pattern, never because of a row's value, so it is marked
-- here when the migrating role may (a superuser); otherwise `serve` warns and says how.
DO $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        ALTER FUNCTION textlike(text, text) LEAKPROOF;
    END IF;
END
$$;
