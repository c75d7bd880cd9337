-- Login attempts are counted per email, known or not, under a keyed hash of the normalised email
-- (HMAC with the server's pre-login secret): an unknown email is slowed exactly like a known one, and no
-- address anyone typed is stored. The per-account counters this replaces go.

CREATE TABLE login_attempts (
    key       bytea PRIMARY KEY,
    attempts  bigint NOT NULL,
    last_at   bigint NOT NULL
);

CREATE INDEX login_attempts_by_time ON login_attempts (last_at);

ALTER TABLE accounts DROP COLUMN failed_logins;
ALTER TABLE accounts DROP COLUMN last_failed_login;
