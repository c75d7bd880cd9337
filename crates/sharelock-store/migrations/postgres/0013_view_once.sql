-- View-once shares: the share ends in the same transaction as the first fetch that shows the record to
-- its bound device (docs/protocol.md §4.4).
ALTER TABLE shares ADD COLUMN view_once boolean NOT NULL DEFAULT false;
-- A view-once share's end is recorded as `viewed`.
ALTER TABLE shares DROP CONSTRAINT shares_end_reason_check;
ALTER TABLE shares ADD CONSTRAINT shares_end_reason_check
    CHECK (end_reason IN ('deleted', 'recipient_done', 'record_deleted', 'expired', 'viewed'));
