-- Customer search.
-- search_text is written by the application (folded in Rust) in the same transaction as the
-- customer; existing rows are indexed by the store after migrating (search index version).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Kept in step with SQLite, where it partitions the FTS rowids by tenant.
ALTER TABLE tenants ADD COLUMN number bigint;
UPDATE tenants SET number = n FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS n FROM tenants) t
    WHERE t.id = tenants.id;
CREATE UNIQUE INDEX tenants_number ON tenants (number);

ALTER TABLE customers ADD COLUMN search_text text NOT NULL DEFAULT '';
-- Increases with insertion: the recency order of search results.
CREATE SEQUENCE customer_search_rowid_seq;
ALTER TABLE customers ADD COLUMN search_rowid bigint;
UPDATE customers SET search_rowid = n FROM (SELECT tenant_id, id, row_number() OVER (ORDER BY id) AS n FROM customers) c
    WHERE c.tenant_id = customers.tenant_id AND c.id = customers.id;
SELECT setval('customer_search_rowid_seq', COALESCE((SELECT max(search_rowid) FROM customers), 0) + 1, false);
ALTER TABLE customers ALTER COLUMN search_rowid SET DEFAULT nextval('customer_search_rowid_seq');
ALTER TABLE customers ALTER COLUMN search_rowid SET NOT NULL;
CREATE UNIQUE INDEX customers_search_rowid ON customers (tenant_id, search_rowid);
CREATE INDEX customers_search_text ON customers USING gin (search_text gin_trgm_ops);

-- One- and two-letter prefixes (^m, ^ma) and whole short words (=li) of name words.
CREATE TABLE customer_search_prefixes (
    tenant_id    uuid NOT NULL,
    term         text NOT NULL,
    search_rowid bigint NOT NULL,
    PRIMARY KEY (tenant_id, term, search_rowid)
);

-- Name words with their deletion neighbourhoods, for typo tolerance.
CREATE TABLE search_vocabulary (
    tenant_id uuid NOT NULL,
    variant   text NOT NULL,
    word      text NOT NULL,
    PRIMARY KEY (tenant_id, variant, word)
);
