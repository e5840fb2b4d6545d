-- The tenant setting is a secret looked up, not a seal recomputed.
--
-- Until now each policy checked the setting by recomputing a keyed hash in a SECURITY DEFINER
-- function: a function call, a read of the key and a SHA-256 for every table of every statement,
-- which cost more than the statement itself on a primary-key read. Now each organization has one
-- random scope secret. A tenant transaction's setting is that secret; a policy finds the
-- organization by looking the secret up, in the statement's own plan (one index probe).
--
-- The tenant role may read tenant_scopes, but its own policy shows only the row whose secret the
-- transaction already holds: the setting opens exactly the organization it was issued for, and a
-- setting the tenant writes itself (another organization's id, a guess) opens nothing.
CREATE TABLE tenant_scopes (
    organization_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    secret          text NOT NULL UNIQUE
);
ALTER TABLE tenant_scopes ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON tenant_scopes TO rapport_tenant;
CREATE POLICY own_scope ON tenant_scopes
    USING (secret = pg_catalog.current_setting('rapport.organization_id', true));

-- 244 random bits per organization (gen_random_uuid draws from a strong source).
CREATE FUNCTION rapport_new_scope_secret() RETURNS text
LANGUAGE sql VOLATILE AS $fn$
    SELECT pg_catalog.replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')
$fn$;
REVOKE ALL ON FUNCTION rapport_new_scope_secret() FROM PUBLIC, rapport_tenant;

INSERT INTO tenant_scopes (organization_id, secret)
    SELECT id, rapport_new_scope_secret() FROM organizations;

CREATE FUNCTION rapport_open_tenant_scope() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO public.tenant_scopes (organization_id, secret)
        VALUES (NEW.id, public.rapport_new_scope_secret());
    RETURN NEW;
END
$fn$;
CREATE TRIGGER organizations_tenant_scope AFTER INSERT ON organizations
    FOR EACH ROW EXECUTE FUNCTION rapport_open_tenant_scope();

-- The setting for an organization, for the platform role to issue (the tenant role cannot read
-- other organizations' secrets, so it cannot issue one).
CREATE OR REPLACE FUNCTION rapport_tenant_seal(org uuid) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT secret FROM tenant_scopes WHERE organization_id = org
$fn$;
REVOKE ALL ON FUNCTION rapport_tenant_seal(uuid) FROM PUBLIC, rapport_tenant;

-- The organization of the current tenant transaction, or NULL; kept for the search functions and
-- for any policy that names it (correct, but a function call per statement: new policies use the
-- lookup below).
CREATE OR REPLACE FUNCTION rapport_current_organization() RETURNS uuid
LANGUAGE sql STABLE AS $fn$
    SELECT s.organization_id FROM public.tenant_scopes s
    WHERE s.secret = pg_catalog.current_setting('rapport.organization_id', true)
$fn$;

-- Every tenant policy: the row's organization is the one whose secret the transaction holds.
-- A tenant table's migration writes exactly this:
--   USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s
--          WHERE s.secret = current_setting('rapport.organization_id', true)))
DO $$
DECLARE
    p record;
    called text := '( SELECT rapport_current_organization() AS rapport_current_organization)';
    lookup text := '(SELECT s.organization_id FROM public.tenant_scopes s '
        || 'WHERE s.secret = pg_catalog.current_setting(''rapport.organization_id'', true))';
BEGIN
    FOR p IN SELECT tablename, policyname, qual, with_check FROM pg_policies
             WHERE schemaname = 'public' AND tablename <> 'tenant_scopes' LOOP
        IF strpos(p.qual, called) = 0 THEN
            RAISE EXCEPTION 'policy % on % does not have the expected form: %', p.policyname, p.tablename, p.qual;
        END IF;
        EXECUTE format('ALTER POLICY %I ON public.%I USING (%s)', p.policyname, p.tablename,
                       replace(p.qual, called, lookup));
        IF p.with_check IS NOT NULL THEN
            EXECUTE format('ALTER POLICY %I ON public.%I WITH CHECK (%s)', p.policyname, p.tablename,
                           replace(p.with_check, called, lookup));
        END IF;
    END LOOP;
END
$$;

DROP TABLE tenant_scope_key;
