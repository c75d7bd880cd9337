-- Login attempts are counted per email, known or not, under a keyed hash of the normalised email
-- (HMAC with the server's pre-login secret): an unknown email is slowed exactly like a known one, and no
-- address anyone typed is stored. The per-account counters this replaces go.

CREATE TABLE login_attempts (
    key       BLOB PRIMARY KEY NOT NULL,
    attempts  INTEGER NOT NULL,
    last_at   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX login_attempts_by_time ON login_attempts (last_at);

ALTER TABLE accounts DROP COLUMN failed_logins;
ALTER TABLE accounts DROP COLUMN last_failed_login;
