-- Substring search ("contains", any case) served by trigram indexes. The indexed expressions are
-- the ones the queries use (crates/store/src/text.rs).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX contacts_text ON contacts USING gin ((name || ' ' || COALESCE(email, '') || ' ' || COALESCE(phone, '')) gin_trgm_ops);
CREATE INDEX contacts_title_text ON contacts USING gin ((COALESCE(title, '')) gin_trgm_ops);
CREATE INDEX companies_text ON companies USING gin ((name || ' ' || COALESCE(domain, '')) gin_trgm_ops);
CREATE INDEX leads_text ON leads USING gin ((name || ' ' || COALESCE(email, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(company_name, '')) gin_trgm_ops);
CREATE INDEX deals_title_text ON deals USING gin (title gin_trgm_ops);

-- Row-level security keeps non-leakproof conditions such as ILIKE from using an index, so under
-- the tenant role every search would read the whole table. These functions search with the
-- indexes, as the tables' owner, and only ever within the transaction's organization
-- (rapport_current_organization()); the caller's query then reads the rows under the policies.

-- The query finding a kind of record whose text contains a pattern (format placeholders: the
-- organization, the pattern).
CREATE FUNCTION rapport_text_query(kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT CASE kind
        WHEN 'contact' THEN 'SELECT id FROM contacts WHERE organization_id = %L AND (name || '' '' || COALESCE(email, '''') || '' '' || COALESCE(phone, '''')) ILIKE %L'
        WHEN 'contact_title' THEN 'SELECT id FROM contacts WHERE organization_id = %L AND COALESCE(title, '''') ILIKE %L'
        WHEN 'company' THEN 'SELECT id FROM companies WHERE organization_id = %L AND (name || '' '' || COALESCE(domain, '''')) ILIKE %L'
        WHEN 'lead' THEN 'SELECT id FROM leads WHERE organization_id = %L AND (name || '' '' || COALESCE(email, '''') || '' '' || COALESCE(phone, '''') || '' '' || COALESCE(company_name, '''')) ILIKE %L'
        WHEN 'deal' THEN 'SELECT id FROM deals WHERE organization_id = %L AND title ILIKE %L'
    END
$fn$;

-- The ids of the organization's records of a kind whose text contains the pattern.
CREATE FUNCTION rapport_text_matches(kind text, pattern text) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    org uuid := rapport_current_organization();
    q text := rapport_text_query(kind);
BEGIN
    IF org IS NULL OR q IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format(q, org, pattern);
END
$fn$;
REVOKE ALL ON FUNCTION rapport_text_matches(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rapport_text_matches(text, text) TO rapport_tenant;

-- How many of them there are, counting at most `cap`: tells a rare text (worth the index) from a
-- common one (faster read row by row in the list's order).
CREATE FUNCTION rapport_text_count(kind text, pattern text, cap bigint) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    org uuid := rapport_current_organization();
    q text := rapport_text_query(kind);
    n bigint;
BEGIN
    IF org IS NULL OR q IS NULL THEN
        RETURN 0;
    END IF;
    EXECUTE format('SELECT count(*) FROM (' || q || ' LIMIT %s) AS capped', org, pattern, cap) INTO n;
    RETURN n;
END
$fn$;
REVOKE ALL ON FUNCTION rapport_text_count(text, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rapport_text_count(text, text, bigint) TO rapport_tenant;
