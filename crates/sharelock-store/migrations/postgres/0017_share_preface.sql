-- The share preface: the sender's display name and the record type, sealed under a key of the link, which
-- the recipient reads before Click to Open (docs/protocol.md §4.6). Opaque to the server; at most 540 bytes.
ALTER TABLE shares ADD COLUMN preface bytea CHECK (preface IS NULL OR octet_length(preface) <= 540);
