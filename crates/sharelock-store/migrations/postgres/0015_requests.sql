-- Requests (docs/protocol.md §4.5): a share through which its recipient fills in a blank record. The server
-- keeps the number of recipient versions after which the share ends, and the sender's instructions sealed
-- under the share key (it cannot read them); both are NULL for an ordinary share.
ALTER TABLE shares ADD COLUMN request_max_answers integer;
ALTER TABLE shares ADD COLUMN request_box bytea;
ALTER TABLE shares ADD CONSTRAINT shares_request_check
    CHECK ((request_max_answers IS NULL) = (request_box IS NULL));
-- A request that took its last answer ends as `answered`.
ALTER TABLE shares DROP CONSTRAINT shares_end_reason_check;
ALTER TABLE shares ADD CONSTRAINT shares_end_reason_check
    CHECK (end_reason IN ('deleted', 'recipient_done', 'record_deleted', 'expired', 'viewed', 'answered'));
