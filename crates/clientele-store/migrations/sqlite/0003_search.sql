-- Customer search. (SQLite dialect of postgres/0003.)
-- search_text is written by the application (folded in Rust) in the same transaction as the
-- customer; existing rows are indexed by the store after migrating (search index version).

-- Each tenant's customers get FTS rowids in their own range, number << 40, so that a search
-- scans only its tenant's part of the trigram index.
ALTER TABLE tenants ADD COLUMN number INTEGER;
UPDATE tenants SET number = (SELECT COUNT(*) FROM tenants t2
    WHERE t2.created_at < tenants.created_at OR (t2.created_at = tenants.created_at AND t2.id <= tenants.id));
CREATE UNIQUE INDEX tenants_number ON tenants (number);

ALTER TABLE customers ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
-- Increases with insertion within a tenant: the recency order of search results.
ALTER TABLE customers ADD COLUMN search_rowid INTEGER;
UPDATE customers SET search_rowid = (SELECT number FROM tenants WHERE id = customers.tenant_id) * 1099511627776
    + (SELECT COUNT(*) FROM customers c2 WHERE c2.tenant_id = customers.tenant_id AND c2.id <= customers.id);
-- Every lookup by search rowid also names the tenant (a search's join, a page's fetch).
CREATE UNIQUE INDEX customers_search_rowid ON customers (tenant_id, search_rowid);

CREATE VIRTUAL TABLE customer_search USING fts5(search_text, content = '', contentless_delete = 1, tokenize = 'trigram');

-- One- and two-letter prefixes (^m, ^ma) and whole short words (=li) of name words.
CREATE TABLE customer_search_prefixes (
    tenant_id    BLOB NOT NULL,
    term         TEXT NOT NULL,
    search_rowid INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, term, search_rowid)
) STRICT, WITHOUT ROWID;

-- Name words with their deletion neighbourhoods, for typo tolerance.
CREATE TABLE search_vocabulary (
    tenant_id BLOB NOT NULL,
    variant   TEXT NOT NULL,
    word      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, variant, word)
) STRICT, WITHOUT ROWID;
