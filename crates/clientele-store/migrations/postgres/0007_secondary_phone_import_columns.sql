-- A second phone per customer (home, work), in E.164 like `phone`; and, per import job, where
-- each of the file's columns went (a JSON list of {column, target}).
ALTER TABLE customers ADD COLUMN secondary_phone text;
ALTER TABLE import_jobs ADD COLUMN columns text;
