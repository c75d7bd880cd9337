-- When the last `device_refused` event of a share was raised: a refused second device raises one at
-- most once a minute per share, decided by one conditional update of this column.
ALTER TABLE shares ADD COLUMN refused_event_at INTEGER;
