// A record's files (docs/protocol.md §6): encrypted and uploaded in parts, downloaded and checked.
import { utf8 } from "../../protocol/bytes";
import { ProtocolError } from "../../protocol/errors";
import { MAX_FILE_NAME_LEN, type FileRef } from "../../protocol/record";
import { blobLength, DEFAULT_CHUNK_SIZE } from "../../protocol/stream";
import { decryptDownload, decryptedStream, uploadFile, type Progress } from "../files";
import type { VersionWritten } from "../owner-api";
import { VaultError } from "./errors";
import type { Records } from "./records";
import { JSON_TYPE, type OwnerTransport } from "./transport";

export type { Progress };

/** A file name the record allows (§3.3): 1–255 bytes, one line, no path separators. */
export function checkFileName(name: string): void {
  const n = utf8(name).length;
  // eslint-disable-next-line no-control-regex
  if (n === 0 || n > MAX_FILE_NAME_LEN || /[/\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name)) {
    throw new VaultError("client.badFileName", { name: name.slice(0, 60) });
  }
}

/** The files of an unlocked vault's records: `session.files`. */
export class Files {
  readonly #t: OwnerTransport;
  readonly #records: Records;

  constructor(transport: OwnerTransport, records: Records) {
    this.#t = transport;
    this.#records = records;
  }

  /** Encrypts a file under a fresh key and uploads it in parts; returns its reference for the body. */
  async upload(recordId: string, file: File, maxFileBytes: number, progress?: Progress): Promise<FileRef> {
    checkFileName(file.name);
    if (blobLength(file.size, DEFAULT_CHUNK_SIZE) > maxFileBytes) throw new VaultError("client.fileTooLarge", { name: file.name });
    return uploadFile(
      file,
      {
        putPart: async (id, part, bytes) => {
          await this.#t.send("PUT", `/records/${recordId}/files/${id}/parts/${part}`, bytes, "application/octet-stream");
        },
        complete: async (id, parts, size) => {
          await this.#t.send("POST", `/records/${recordId}/files/${id}/complete`, JSON.stringify({ parts, size }), JSON_TYPE);
        },
      },
      progress,
    );
  }

  /** Uploads files and adds them to the record as one new version. */
  async attach(recordId: string, files: readonly File[], maxFileBytes: number, progress?: Progress): Promise<VersionWritten> {
    const total = files.reduce((sum, f) => sum + f.size, 0);
    let done = 0;
    const refs: FileRef[] = [];
    for (const file of files) {
      refs.push(await this.upload(recordId, file, maxFileBytes, (n, t) => progress?.(done + Math.min(file.size, Math.round((n / Math.max(t, 1)) * file.size)), total)));
      done += file.size;
    }
    return this.#records.write(recordId, (body) => ({ ...body, files: [...body.files, ...refs] }));
  }

  /**
   * Starts a file's download: its plaintext as a stream, decrypted as it is read, that closes only once
   * H(blob) and the size matched the reference (see `decryptedStream`).
   */
  async downloadStream(recordId: string, file: FileRef, progress?: Progress): Promise<ReadableStream<Uint8Array>> {
    const response = await this.#t.send("GET", `/records/${recordId}/files/${file.id}`);
    return decryptedStream(response, file, progress);
  }

  /** Downloads a file, decrypts it chunk by chunk and checks H(blob) and the size against the reference. */
  async download(recordId: string, file: FileRef, progress?: Progress): Promise<Blob> {
    const response = await this.#t.send("GET", `/records/${recordId}/files/${file.id}`);
    try {
      return await decryptDownload(response, file, progress);
    } catch (e) {
      throw e instanceof ProtocolError ? e : new VaultError("client.downloadFailed", { reason: e instanceof Error ? e.message : String(e) });
    }
  }
}
