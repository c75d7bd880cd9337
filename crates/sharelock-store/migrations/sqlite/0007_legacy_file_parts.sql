-- Files completed before 0006 have no part rows: their parts were stored at the old keys
-- files/<record>/<file>/<part:08>, without a write id. Each such file gets one attached row per part,
-- whose write id is the part number as a UUID (twelve zero bytes, then the part number big-endian;
-- no random write id looks like that), which the blob store maps to the old key. From here on these
-- parts are read, deleted with their file or record, and swept as garbage like any other.
-- Only the file's total size was kept, not each part's: it is counted on part 0. Part sizes are only
-- ever added up (quotas); a completed file's parts are never checked against them again.
-- An upload left unfinished before 0006 cannot be completed any more (its parts have no rows): the
-- sweeper drops its row after upload_ttl; its parts stay at the old keys until its record is deleted,
-- which removes everything under the file's keys.
WITH RECURSIVE legacy (record_id, file_id, part, parts, size) AS (
    SELECT f.record_id, f.file_id, 0, f.parts, f.size FROM files f
    WHERE f.complete = 1 AND f.parts > 0
      AND NOT EXISTS (SELECT 1 FROM file_parts p WHERE p.record_id = f.record_id AND p.file_id = f.file_id)
    UNION ALL
    SELECT record_id, file_id, part + 1, parts, size FROM legacy WHERE part + 1 < parts
)
INSERT INTO file_parts (record_id, file_id, write_id, part, size, attached)
SELECT record_id, file_id, unhex(printf('%032x', part)), part, CASE WHEN part = 0 THEN size ELSE 0 END, 1
FROM legacy;
