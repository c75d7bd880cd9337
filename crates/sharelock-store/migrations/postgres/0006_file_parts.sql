-- Part writes. Every write of a part has a blob of its own (files/<record>/<file>/<part>.<write>), so a
-- write racing the file's completion can never change the bytes the file was completed with. A write
-- is reserved (attached = false) before its bytes are stored, so it counts against quotas at once and is
-- found again if its writer dies; attaching it makes it the part's bytes (at most one per part).
-- Reserving, attaching and completing all lock the file's row first, so completion and part writes
-- exclude each other.
CREATE TABLE file_parts (
    record_id  uuid NOT NULL,
    file_id    uuid NOT NULL,
    write_id   uuid NOT NULL,
    part       bigint NOT NULL,
    size       bigint NOT NULL,
    attached   boolean NOT NULL DEFAULT false,
    PRIMARY KEY (record_id, file_id, write_id),
    FOREIGN KEY (record_id, file_id) REFERENCES files (record_id, file_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX file_parts_attached ON file_parts (record_id, file_id, part) WHERE attached;

-- Blobs no row refers to any more: replaced, refused or discarded writes, swept uploads, deleted
-- records. The server's sweeper deletes each blob, then the row; a failed deletion is tried again.
CREATE TABLE blob_garbage (
    record_id  uuid NOT NULL,
    file_id    uuid NOT NULL,
    write_id   uuid NOT NULL,
    part       bigint NOT NULL,
    since      bigint NOT NULL,
    PRIMARY KEY (record_id, file_id, write_id)
);
CREATE INDEX blob_garbage_since ON blob_garbage (since);

-- The sweeper's scan for uploads never completed.
CREATE INDEX files_unfinished ON files (created_at) WHERE NOT complete;
