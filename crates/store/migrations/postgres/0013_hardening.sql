-- Sign-in throttling per client address, whatever the emails tried.
CREATE INDEX login_failures_ip ON login_failures (ip, attempted_at);

-- Least privilege for the tenant role. Tenant transactions run as rapport_tenant; it reaches the
-- tenant tables (each under row-level security) and nothing else.
--
-- 1. Platform tables are the platform role's alone. New tables are no longer granted to the
--    tenant role by default: a tenant table's migration grants it explicitly, next to its policy.
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM rapport_tenant;
REVOKE ALL ON users, refresh_tokens, sessions, password_resets, login_failures, email_outbox,
    job_schedules, notification_preferences, _sqlx_migrations FROM rapport_tenant;
-- Records show who owns them, who is assigned, who wrote a comment: names and emails of people,
-- never their password hashes or instance-administrator flag.
GRANT SELECT (id, email, name, time_zone, created_at, updated_at) ON users TO rapport_tenant;

-- 2. The tenant setting is sealed. A tenant transaction's setting is the organization id and a
--    keyed hash of it, made by a function the tenant role cannot run with a key it cannot read.
--    The policies accept only a setting whose seal holds, so a tenant transaction that sets the
--    value itself (to another organization's id, say) sees no rows at all.
CREATE TABLE tenant_scope_key (
    id  boolean PRIMARY KEY DEFAULT true CHECK (id),
    key text NOT NULL
);
INSERT INTO tenant_scope_key (key)
    VALUES (replace(gen_random_uuid()::text || gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));
REVOKE ALL ON tenant_scope_key FROM PUBLIC, rapport_tenant;

CREATE FUNCTION rapport_tenant_seal(org uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT org::text || '.' || encode(sha256(convert_to(k.key || ':' || org::text, 'UTF8')), 'hex')
    FROM tenant_scope_key k
$fn$;
REVOKE ALL ON FUNCTION rapport_tenant_seal(uuid) FROM PUBLIC, rapport_tenant;

-- The organization of the current tenant transaction, if its setting is sealed; else NULL.
CREATE OR REPLACE FUNCTION rapport_current_organization() RETURNS uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    sealed text := current_setting('rapport.organization_id', true);
    org uuid;
BEGIN
    IF sealed IS NULL
       OR sealed !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[0-9a-f]{64}$' THEN
        RETURN NULL;
    END IF;
    org := substr(sealed, 1, 36)::uuid;
    IF rapport_tenant_seal(org) = sealed THEN
        RETURN org;
    END IF;
    RETURN NULL;
END
$fn$;

-- 3. Checking the seal costs a little, so every policy asks once per statement (a subquery the
--    planner runs once), not once per row.
DO $$
DECLARE
    p record;
    once text := '(SELECT rapport_current_organization())';
BEGIN
    FOR p IN SELECT tablename, policyname, qual, with_check FROM pg_policies WHERE schemaname = 'public' LOOP
        EXECUTE format('ALTER POLICY %I ON public.%I USING (%s)', p.policyname, p.tablename,
                       replace(p.qual, 'rapport_current_organization()', once));
        IF p.with_check IS NOT NULL THEN
            EXECUTE format('ALTER POLICY %I ON public.%I WITH CHECK (%s)', p.policyname, p.tablename,
                           replace(p.with_check, 'rapport_current_organization()', once));
        END IF;
    END LOOP;
END
$$;
