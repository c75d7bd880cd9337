-- Self-destructing records (docs/protocol.md §4.7): a share made with `destroy_after` (seconds) has, once a
-- device binds it, `destroy_at` = min(bound_at + destroy_after, its expiry); the sweeper deletes the record
-- then, as its owner would. The index keeps the sweeper's look for due records to the shares that have one.
ALTER TABLE shares ADD COLUMN destroy_after bigint CHECK (destroy_after IS NULL OR destroy_after > 0);
ALTER TABLE shares ADD COLUMN destroy_at bigint;
CREATE INDEX shares_destroy_at ON shares (destroy_at) WHERE destroy_at IS NOT NULL;
