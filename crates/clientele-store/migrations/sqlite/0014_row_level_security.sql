-- PostgreSQL's 0014 adds row-level security; SQLite has none (and one process's file holds one
-- service): every statement's own tenant filter is the wall there. Numbered in lock-step.
SELECT 1;
