-- Self-destructing records (docs/protocol.md §4.7): a share made with `destroy_after` (seconds) has, once a
-- device binds it, `destroy_at` = min(bound_at + destroy_after, its expiry); the sweeper deletes the record
-- then, as its owner would. The index keeps the sweeper's look for due records to the shares that have one.
ALTER TABLE shares ADD COLUMN destroy_after INTEGER;
ALTER TABLE shares ADD COLUMN destroy_at INTEGER;
CREATE INDEX shares_destroy_at ON shares (destroy_at) WHERE destroy_at IS NOT NULL;
