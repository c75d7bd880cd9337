-- A garbage blob whose deletion failed is listed again only from `retry_at` on (0: at once), so blobs
-- the blob store keeps refusing no longer take the whole batch, oldest first, and hold back the newer
-- garbage behind them. The listing reads garbage due now in this index's order.
ALTER TABLE blob_garbage ADD COLUMN retry_at INTEGER NOT NULL DEFAULT 0;
DROP INDEX blob_garbage_since;
CREATE INDEX blob_garbage_due ON blob_garbage (retry_at, since);

-- Share creation counts the account's live shares against its limit. Through `shares_account` that
-- count walked every share of the account, the ended ones kept for `retention` too; this index holds
-- only the shares not ended, by expiry, so the count reads just the live ones.
CREATE INDEX shares_account_open ON shares (account_id, expires_at) WHERE ended_at IS NULL;
