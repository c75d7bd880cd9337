-- The sweeper's shred step looks for ended shares that still hold a wrapped key. Ending a share drops
-- its key in the same statement, so there are normally none; without this index the step still walked
-- every ended share kept for `retention` (a million after a busy month) on every pass, inside a write
-- transaction. PostgreSQL has had the same index since its first migration.
CREATE INDEX shares_unshredded ON shares (handle) WHERE ended_at IS NOT NULL AND wrapped_key IS NOT NULL;
