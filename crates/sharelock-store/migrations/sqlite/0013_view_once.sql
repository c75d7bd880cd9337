-- View-once shares: the share ends in the same transaction as the first fetch that shows the record to
-- its bound device (docs/protocol.md §4.4).
ALTER TABLE shares ADD COLUMN view_once INTEGER NOT NULL DEFAULT 0;
