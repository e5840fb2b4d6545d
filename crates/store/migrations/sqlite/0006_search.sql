-- Substring search ("contains", any case) served by FTS5 tables with the trigram tokenizer, one
-- per kind of record, kept in step by triggers. The indexed text is the text the queries search
-- (crates/store/src/text.rs); rows are matched by rowid.
CREATE VIRTUAL TABLE contacts_fts USING fts5(text, title, tokenize = 'trigram');
INSERT INTO contacts_fts (rowid, text, title)
    SELECT rowid, name || ' ' || COALESCE(email, '') || ' ' || COALESCE(phone, ''), COALESCE(title, '') FROM contacts;
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts (rowid, text, title)
        VALUES (new.rowid, new.name || ' ' || COALESCE(new.email, '') || ' ' || COALESCE(new.phone, ''), COALESCE(new.title, ''));
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name, email, phone, title ON contacts BEGIN
    UPDATE contacts_fts SET text = new.name || ' ' || COALESCE(new.email, '') || ' ' || COALESCE(new.phone, ''),
        title = COALESCE(new.title, '') WHERE rowid = new.rowid;
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contacts_fts WHERE rowid = old.rowid;
END;

CREATE VIRTUAL TABLE companies_fts USING fts5(text, tokenize = 'trigram');
INSERT INTO companies_fts (rowid, text) SELECT rowid, name || ' ' || COALESCE(domain, '') FROM companies;
CREATE TRIGGER companies_fts_insert AFTER INSERT ON companies BEGIN
    INSERT INTO companies_fts (rowid, text) VALUES (new.rowid, new.name || ' ' || COALESCE(new.domain, ''));
END;
CREATE TRIGGER companies_fts_update AFTER UPDATE OF name, domain ON companies BEGIN
    UPDATE companies_fts SET text = new.name || ' ' || COALESCE(new.domain, '') WHERE rowid = new.rowid;
END;
CREATE TRIGGER companies_fts_delete AFTER DELETE ON companies BEGIN
    DELETE FROM companies_fts WHERE rowid = old.rowid;
END;

CREATE VIRTUAL TABLE leads_fts USING fts5(text, tokenize = 'trigram');
INSERT INTO leads_fts (rowid, text)
    SELECT rowid, name || ' ' || COALESCE(email, '') || ' ' || COALESCE(phone, '') || ' ' || COALESCE(company_name, '') FROM leads;
CREATE TRIGGER leads_fts_insert AFTER INSERT ON leads BEGIN
    INSERT INTO leads_fts (rowid, text)
        VALUES (new.rowid, new.name || ' ' || COALESCE(new.email, '') || ' ' || COALESCE(new.phone, '') || ' ' || COALESCE(new.company_name, ''));
END;
CREATE TRIGGER leads_fts_update AFTER UPDATE OF name, email, phone, company_name ON leads BEGIN
    UPDATE leads_fts SET text = new.name || ' ' || COALESCE(new.email, '') || ' ' || COALESCE(new.phone, '') || ' ' || COALESCE(new.company_name, '')
        WHERE rowid = new.rowid;
END;
CREATE TRIGGER leads_fts_delete AFTER DELETE ON leads BEGIN
    DELETE FROM leads_fts WHERE rowid = old.rowid;
END;

CREATE VIRTUAL TABLE deals_fts USING fts5(text, tokenize = 'trigram');
INSERT INTO deals_fts (rowid, text) SELECT rowid, title FROM deals;
CREATE TRIGGER deals_fts_insert AFTER INSERT ON deals BEGIN
    INSERT INTO deals_fts (rowid, text) VALUES (new.rowid, new.title);
END;
CREATE TRIGGER deals_fts_update AFTER UPDATE OF title ON deals BEGIN
    UPDATE deals_fts SET text = new.title WHERE rowid = new.rowid;
END;
CREATE TRIGGER deals_fts_delete AFTER DELETE ON deals BEGIN
    DELETE FROM deals_fts WHERE rowid = old.rowid;
END;
