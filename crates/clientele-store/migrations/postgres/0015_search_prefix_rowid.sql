-- A customer's prefix terms by its search rowid: re-indexing an updated customer deletes them by
-- rowid, which the primary key (tenant, term, rowid) cannot find without reading every prefix
-- of the tenant (10 ms a customer at 100,000 customers, and growing with the tenant).
CREATE INDEX customer_search_prefixes_rowid ON customer_search_prefixes (tenant_id, search_rowid);
