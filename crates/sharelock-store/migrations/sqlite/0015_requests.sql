-- Requests (docs/protocol.md §4.5): a share through which its recipient fills in a blank record. The server
-- keeps the number of recipient versions after which the share ends, and the sender's instructions sealed
-- under the share key (it cannot read them); both are NULL for an ordinary share. A request that took its
-- last answer ends with `end_reason` 'answered'.
ALTER TABLE shares ADD COLUMN request_max_answers INTEGER;
ALTER TABLE shares ADD COLUMN request_box BLOB;
