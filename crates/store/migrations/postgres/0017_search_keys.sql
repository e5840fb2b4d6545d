-- The searchable text of contacts, companies and leads, stored lowercased: a search that reads
-- an organization's rows compares with LIKE against it, about twice as fast as ILIKE over the
-- concatenation computed row by row. Deals already have title_key (migration 0014).
ALTER TABLE contacts ADD COLUMN search_key text GENERATED ALWAYS AS
    (lower(name || ' ' || COALESCE(email, '') || ' ' || COALESCE(phone, ''))) STORED;
ALTER TABLE companies ADD COLUMN search_key text GENERATED ALWAYS AS
    (lower(name || ' ' || COALESCE(domain, ''))) STORED;
ALTER TABLE leads ADD COLUMN search_key text GENERATED ALWAYS AS
    (lower(name || ' ' || COALESCE(email, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(company_name, ''))) STORED;
