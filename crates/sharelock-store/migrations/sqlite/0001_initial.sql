-- Sharelock schema, SQLite. Ids are 16-byte BLOBs, times INTEGER unix seconds, versions and key
-- generations INTEGER. Every column holds ciphertext or metadata, never a secret in the clear.

CREATE TABLE accounts (
    id                 BLOB PRIMARY KEY NOT NULL,
    email              TEXT NOT NULL UNIQUE,
    kdf_m              INTEGER NOT NULL,
    kdf_t              INTEGER NOT NULL,
    kdf_p              INTEGER NOT NULL,
    kdf_salt           BLOB NOT NULL,
    auth_hash          BLOB NOT NULL,
    wrapped_data_key   BLOB NOT NULL,
    created_at         INTEGER NOT NULL,
    failed_logins      INTEGER NOT NULL DEFAULT 0,
    last_failed_login  INTEGER
) STRICT;

CREATE TABLE sessions (
    token_hash  BLOB PRIMARY KEY NOT NULL,
    account_id  BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- The record row names its current version and key generation; the content lives in `versions`.
CREATE TABLE records (
    id              BLOB PRIMARY KEY NOT NULL,
    account_id      BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version         INTEGER NOT NULL,
    key_gen         INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    rotate_pending  INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX records_account ON records (account_id);

-- RK_k wrapped by the data key, every generation (history stays readable to the owner).
CREATE TABLE record_keys (
    record_id    BLOB NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    key_gen      INTEGER NOT NULL,
    wrapped_key  BLOB NOT NULL,
    PRIMARY KEY (record_id, key_gen)
) STRICT, WITHOUT ROWID;

-- A rowid table: envelopes run to half a MiB, too large for a WITHOUT ROWID b-tree.
-- author_share is the writing share's handle, NULL for the owner. It is deliberately not a foreign
-- key: a version keeps naming its author after the share is purged.
CREATE TABLE versions (
    record_id     BLOB NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    version       INTEGER NOT NULL,
    key_gen       INTEGER NOT NULL,
    envelope      BLOB NOT NULL,
    summary       BLOB NOT NULL,
    proof         BLOB NOT NULL,
    author_share  BLOB,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (record_id, version)
) STRICT;

-- record_id is not a foreign key: a share outlives its record's deletion (ended, listed as such)
-- until it is purged.
CREATE TABLE shares (
    handle          BLOB PRIMARY KEY NOT NULL,
    share_id        BLOB NOT NULL UNIQUE,
    account_id      BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    record_id       BLOB NOT NULL,
    token_hash      BLOB NOT NULL,
    wrapped_key     BLOB,
    key_gen         INTEGER NOT NULL,
    owner_secret    BLOB NOT NULL,
    label           BLOB,
    editable        INTEGER NOT NULL,
    burn_after      INTEGER,
    passphrase      INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    bound_at        INTEGER,
    device_key      BLOB,
    bind_tag        BLOB,
    ended_at        INTEGER,
    end_reason      TEXT,
    last_access_at  INTEGER,
    edit_count      INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    last_failed_at  INTEGER
) STRICT;
CREATE INDEX shares_account ON shares (account_id, created_at);
CREATE INDEX shares_record ON shares (record_id);
-- The sweeper's two scans: live shares by expiry, ended shares by end time.
CREATE INDEX shares_live_expiry ON shares (expires_at) WHERE ended_at IS NULL;
CREATE INDEX shares_ended ON shares (ended_at) WHERE ended_at IS NOT NULL;

-- Replay protection for signed recipient requests: (share id, nonce) is unique.
CREATE TABLE nonces (
    share_id  BLOB NOT NULL,
    nonce     BLOB NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (share_id, nonce)
) STRICT, WITHOUT ROWID;
CREATE INDEX nonces_at ON nonces (at);

CREATE TABLE files (
    record_id    BLOB NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    file_id      BLOB NOT NULL,
    size         INTEGER NOT NULL DEFAULT 0,
    parts        INTEGER NOT NULL DEFAULT 0,
    uploaded_by  BLOB,
    complete     INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (record_id, file_id)
) STRICT;

-- AUTOINCREMENT: an event id is never reused, even after the sweeper deletes the newest events, so a
-- client resuming with Last-Event-ID never skips a new event.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  BLOB NOT NULL,
    kind        TEXT NOT NULL,
    share       BLOB,
    record      BLOB,
    number      INTEGER,
    at          INTEGER NOT NULL
) STRICT;
CREATE INDEX events_account ON events (account_id, id);
CREATE INDEX events_at ON events (at);
