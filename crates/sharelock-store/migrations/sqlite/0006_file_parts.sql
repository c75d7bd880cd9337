-- Part writes. Every write of a part has a blob of its own (files/<record>/<file>/<part>.<write>), so a
-- write racing the file's completion can never change the bytes the file was completed with. A write
-- is reserved (attached = 0) before its bytes are stored, so it counts against quotas at once and is
-- found again if its writer dies; attaching it makes it the part's bytes (at most one per part).
CREATE TABLE file_parts (
    record_id  BLOB NOT NULL,
    file_id    BLOB NOT NULL,
    write_id   BLOB NOT NULL,
    part       INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    attached   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (record_id, file_id, write_id),
    FOREIGN KEY (record_id, file_id) REFERENCES files (record_id, file_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX file_parts_attached ON file_parts (record_id, file_id, part) WHERE attached = 1;

-- Blobs no row refers to any more: replaced, refused or discarded writes, swept uploads, deleted
-- records. The server's sweeper deletes each blob, then the row; a failed deletion is tried again.
CREATE TABLE blob_garbage (
    record_id  BLOB NOT NULL,
    file_id    BLOB NOT NULL,
    write_id   BLOB NOT NULL,
    part       INTEGER NOT NULL,
    since      INTEGER NOT NULL,
    PRIMARY KEY (record_id, file_id, write_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX blob_garbage_since ON blob_garbage (since);

-- The sweeper's scan for uploads never completed.
CREATE INDEX files_unfinished ON files (created_at) WHERE complete = 0;
