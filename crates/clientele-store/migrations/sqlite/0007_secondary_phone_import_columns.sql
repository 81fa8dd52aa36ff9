-- A second phone per customer (home, work), in E.164 like `phone`; and, per import job, where
-- each of the file's columns went (a JSON list of {column, target}). (SQLite dialect of postgres/0007.)
ALTER TABLE customers ADD COLUMN secondary_phone TEXT;
ALTER TABLE import_jobs ADD COLUMN columns TEXT;
