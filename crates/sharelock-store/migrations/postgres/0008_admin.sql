-- Administration. An account can be disabled (its sessions end, logins are refused, its shares answer
-- `share_suspended` until it is enabled again); its last login is kept for the operator's account list.
-- Disabling locks the account row and deletes its sessions; a login updates last_login_at under the same
-- row lock, only while disabled_at IS NULL, so no session is created for a disabled account.
ALTER TABLE accounts ADD COLUMN disabled_at bigint;
ALTER TABLE accounts ADD COLUMN last_login_at bigint;

-- One-time invitation codes for invite-only sign-ups. A code carries the invitation's id and a secret; only
-- SHA-256 of its secret is kept. Registration uses it up in the account's own transaction (one
-- conditional update: of racing registrations with one code, one wins).
-- used_by is not a foreign key: an invitation outlives the account it made (as "used"), and deleting
-- that account clears it.
CREATE TABLE invites (
    id          uuid PRIMARY KEY,
    code_hash   bytea NOT NULL,
    note        text,
    created_at  bigint NOT NULL,
    expires_at  bigint NOT NULL,
    used_at     bigint,
    used_by     uuid,
    revoked_at  bigint
);
CREATE INDEX invites_created ON invites (created_at);
