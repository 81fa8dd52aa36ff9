-- Audit entries name the key that links them into the chain (HMAC-SHA-256, audit.chain_key);
-- NULL: plain SHA-256, as every entry was before the chain was keyed.
ALTER TABLE audit_log ADD COLUMN chain_key TEXT;
