-- Sharelock schema, PostgreSQL. Ids are uuid, S-derived share ids, hashes and ciphertext bytea, times
-- bigint unix seconds, versions and key generations bigint. Every column holds ciphertext or metadata,
-- never a secret in the clear. The tables and their meaning match migrations/sqlite/ one to one.

CREATE TABLE accounts (
    id                 uuid PRIMARY KEY,
    email              text NOT NULL UNIQUE,
    kdf_m              bigint NOT NULL,
    kdf_t              bigint NOT NULL,
    kdf_p              bigint NOT NULL,
    kdf_salt           bytea NOT NULL,
    auth_hash          bytea NOT NULL,
    wrapped_data_key   bytea NOT NULL,
    created_at         bigint NOT NULL,
    failed_logins      bigint NOT NULL DEFAULT 0,
    last_failed_login  bigint
);

CREATE TABLE sessions (
    token_hash  bytea PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  bigint NOT NULL,
    expires_at  bigint NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- The record row names its current version and key generation; the content lives in `versions`.
-- Every write that depends on a record's head or on its set of live shares locks this row first
-- (SELECT … FOR NO KEY UPDATE), see src/postgres/mod.rs.
CREATE TABLE records (
    id              uuid PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version         bigint NOT NULL,
    key_gen         bigint NOT NULL,
    created_at      bigint NOT NULL,
    updated_at      bigint NOT NULL,
    rotate_pending  boolean NOT NULL DEFAULT false
);
CREATE INDEX records_account ON records (account_id);

-- RK_k wrapped by the data key, every generation (history stays readable to the owner).
CREATE TABLE record_keys (
    record_id    uuid NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    key_gen      bigint NOT NULL,
    wrapped_key  bytea NOT NULL,
    PRIMARY KEY (record_id, key_gen)
);

-- author_share is the writing share's handle, NULL for the owner. It is deliberately not a foreign
-- key: a version keeps naming its author after the share is purged.
CREATE TABLE versions (
    record_id     uuid NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    version       bigint NOT NULL,
    key_gen       bigint NOT NULL,
    envelope      bytea NOT NULL,
    summary       bytea NOT NULL,
    proof         bytea NOT NULL,
    author_share  uuid,
    created_at    bigint NOT NULL,
    PRIMARY KEY (record_id, version)
);

-- record_id is not a foreign key: a share outlives its record's deletion (ended, listed as such)
-- until it is purged. `seq` orders shares created in the same second (SQLite uses its rowid).
CREATE TABLE shares (
    handle          uuid PRIMARY KEY,
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    share_id        bytea NOT NULL UNIQUE,
    account_id      uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    record_id       uuid NOT NULL,
    token_hash      bytea NOT NULL,
    wrapped_key     bytea,
    key_gen         bigint NOT NULL,
    owner_secret    bytea NOT NULL,
    label           bytea,
    editable        boolean NOT NULL,
    burn_after      bigint,
    passphrase      boolean NOT NULL,
    created_at      bigint NOT NULL,
    expires_at      bigint NOT NULL,
    bound_at        bigint,
    device_key      bytea,
    bind_tag        bytea,
    ended_at        bigint,
    end_reason      text CHECK (end_reason IN ('deleted', 'recipient_done', 'record_deleted', 'expired')),
    last_access_at  bigint,
    edit_count      bigint NOT NULL DEFAULT 0,
    failed_attempts bigint NOT NULL DEFAULT 0,
    last_failed_at  bigint
);
CREATE INDEX shares_account ON shares (account_id, created_at, seq);
CREATE INDEX shares_record ON shares (record_id);
-- The sweeper's two scans: live shares by expiry, ended shares by end time.
CREATE INDEX shares_live_expiry ON shares (expires_at) WHERE ended_at IS NULL;
CREATE INDEX shares_ended ON shares (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX shares_unshredded ON shares (handle) WHERE ended_at IS NOT NULL AND wrapped_key IS NOT NULL;

-- Replay protection for signed recipient requests: (share id, nonce) is unique.
CREATE TABLE nonces (
    share_id  bytea NOT NULL,
    nonce     bytea NOT NULL,
    at        bigint NOT NULL,
    PRIMARY KEY (share_id, nonce)
);
CREATE INDEX nonces_at ON nonces (at);

CREATE TABLE files (
    record_id    uuid NOT NULL REFERENCES records (id) ON DELETE CASCADE,
    file_id      uuid NOT NULL,
    size         bigint NOT NULL DEFAULT 0,
    parts        bigint NOT NULL DEFAULT 0,
    uploaded_by  uuid,
    complete     boolean NOT NULL DEFAULT false,
    created_at   bigint NOT NULL,
    PRIMARY KEY (record_id, file_id)
);

-- Ids come from one sequence and are never reused. Per account they increase in commit order: every
-- transaction that inserts events takes the account's event lock (a transaction-scoped advisory lock)
-- just before its inserts and holds it until it commits, so a reader that resumes after the newest id
-- it saw never skips an event that commits later with a lower id.
CREATE TABLE events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  uuid NOT NULL,
    kind        text NOT NULL,
    share       uuid,
    record      uuid,
    number      bigint,
    at          bigint NOT NULL
);
CREATE INDEX events_account ON events (account_id, id);
CREATE INDEX events_at ON events (at);

-- Every node's event streams are woken through LISTEN sharelock_events. NOTIFY is transactional: the
-- notification is delivered when the inserting transaction commits, never before, never if it aborts.
-- The payload is the account id; notifications repeated within one transaction are folded into one.
CREATE FUNCTION notify_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sharelock_events', NEW.account_id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION notify_event();
