-- Signed webhooks (docs/protocol.md §9.9). An account's endpoints, the event kinds each subscribes to,
-- and the outbox: one delivery row per (endpoint, event), inserted in the same transaction as the event,
-- so an event that committed is delivered even if the node that wrote it dies. The secret signs the
-- deliveries; it is shown once, at creation.
CREATE TABLE webhook_endpoints (
    id          BLOB PRIMARY KEY NOT NULL,
    account_id  BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    secret      BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id, created_at);

-- Kinds are text, not a fixed list: a kind added to the events later is subscribed to the same way.
CREATE TABLE webhook_subscriptions (
    account_id   BLOB NOT NULL,
    kind         TEXT NOT NULL,
    endpoint_id  BLOB NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, kind, endpoint_id)
) STRICT;
CREATE INDEX webhook_subscriptions_endpoint ON webhook_subscriptions (endpoint_id);

-- The event's fields are copied (events are swept after a week; a delivery outlives that while it is
-- retried). `due_at` is when the delivery may next be claimed: the next attempt's time, or while an
-- attempt runs the end of its lease (a node that dies mid-attempt leaves it to another after that).
-- `state`: pending, delivered or failed (attempts used up).
CREATE TABLE webhook_deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint_id  BLOB NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    account_id   BLOB NOT NULL,
    event_id     INTEGER,
    kind         TEXT NOT NULL,
    share        BLOB,
    record       BLOB,
    number       INTEGER,
    at           INTEGER NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    due_at       INTEGER,
    finished_at  INTEGER
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE state <> 'pending';

-- Each attempt, written when it starts (no outcome yet) and given its outcome when it ends: an HTTP
-- status, or an error class (timeout, connect, refused_address, …), and the next attempt's time.
CREATE TABLE webhook_attempts (
    delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    n            INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    status       INTEGER,
    error        TEXT,
    next_at      INTEGER,
    PRIMARY KEY (delivery_id, n)
) STRICT;
