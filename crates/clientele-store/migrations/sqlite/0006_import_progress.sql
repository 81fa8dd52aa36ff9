-- Import jobs give up after attempts that made no progress, not after attempts of any kind: a
-- job that a restart interrupts again and again, saving progress each time, still finishes.
-- `claimed_row` is the job's `next_row` when it was last claimed. (SQLite dialect of postgres/0006.)
ALTER TABLE import_jobs ADD COLUMN stalled_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_jobs ADD COLUMN claimed_row INTEGER;
