-- The shared records report's counts (docs/protocol.md §9): the opens of a share (its device's fetches of
-- the record, at most one a minute, counted with the last-access time), every refused device and every
-- wrong access token (`failed_attempts` is cleared by a right one; these are never cleared).
ALTER TABLE shares ADD COLUMN open_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shares ADD COLUMN refused_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shares ADD COLUMN failed_total INTEGER NOT NULL DEFAULT 0;
