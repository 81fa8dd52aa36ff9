-- Token revocation: every token carries its user's token generation at issue, and is accepted only
-- while the user's generation is still that one. Revoking a user's tokens (and disabling the
-- user) moves its generation on, so every token issued before stops working for good, even once
-- the user is enabled again. Existing tokens carry none, read as 0, and keep working until then.
-- (Number 0007 is another change's.)
ALTER TABLE users ADD COLUMN token_generation bigint NOT NULL DEFAULT 0;
ALTER TABLE platform_admins ADD COLUMN token_generation bigint NOT NULL DEFAULT 0;
