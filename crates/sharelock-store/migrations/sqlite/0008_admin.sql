-- Administration. An account can be disabled (its sessions end, logins are refused, its shares answer
-- `share_suspended` until it is enabled again); its last login is kept for the operator's account list.
ALTER TABLE accounts ADD COLUMN disabled_at INTEGER;
ALTER TABLE accounts ADD COLUMN last_login_at INTEGER;

-- One-time invitation codes for invite-only sign-ups. A code carries the invitation's id and a secret; only
-- SHA-256 of its secret is kept. Registration uses it up in the account's own transaction.
-- used_by is not a foreign key: an invitation outlives the account it made (as "used"), and deleting
-- that account clears it.
CREATE TABLE invites (
    id          BLOB PRIMARY KEY NOT NULL,
    code_hash   BLOB NOT NULL,
    note        TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    used_by     BLOB,
    revoked_at  INTEGER
) STRICT;
CREATE INDEX invites_created ON invites (created_at);
