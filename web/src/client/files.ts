// File transfer shared by the owner's vault and the recipient's page (§6, §9.4): encrypt a file as a
// stream under a fresh key, send the blob in parts while hashing it, and on the way back hash, decrypt and
// check a blob against its reference. Memory stays at one part, whatever the file size.
import { createSHA256 } from "hash-wasm";
import { concat, constantTimeEqual, fromB64u, randomBytes, randomId, toB64u, uuidToBytes, type Bytes } from "../protocol/bytes";
import type { FileRef } from "../protocol/record";
import { DEFAULT_CHUNK_SIZE, decryptStream, encryptStream } from "../protocol/stream";
import { MessageError } from "../ui/i18n";
import { ApiError } from "./http";

/** Parts of an uploaded blob: 8 MiB keeps each request well under the server's 16 MiB part limit. */
export const UPLOAD_PART = 8 * 1024 * 1024;

/** Progress of a transfer: bytes done of a total. */
export type Progress = (done: number, total: number) => void;

/** Where a blob goes: one request per part, then the completion. */
export interface PartSink {
  putPart(fileId: string, part: number, bytes: Bytes): Promise<void>;
  complete(fileId: string, parts: number, size: number): Promise<void>;
}

/** Times a part is offered again to a server that answered `server_busy` (it read none of it). */
export const BUSY_RETRIES = 5;
/** Longest pause before offering a part again, whatever the server's `Retry-After` says. */
const BUSY_WAIT_CAP_SECS = 30;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `send` (one part request, signed afresh each time) and, while the server answers `server_busy`
 * (its bound on uploads or bytes in flight was reached), runs it again after the server's `Retry-After`,
 * a few times: a busy server slows an upload down instead of failing it.
 */
export async function sendPatiently<T>(send: () => Promise<T>, wait: (ms: number) => Promise<void> = pause): Promise<T> {
  for (let retries = 0; ; retries++) {
    try {
      return await send();
    } catch (e) {
      if (!(e instanceof ApiError) || e.code !== "server_busy" || retries >= BUSY_RETRIES) throw e;
      await wait(Math.min(e.retryAfter ?? 1, BUSY_WAIT_CAP_SECS) * 1000);
    }
  }
}

/** A browser's MIME type as the record allows it (printable ASCII, at most 127 bytes). */
export function cleanMime(mime: string): string {
  return /^[\x20-\x7e]{0,127}$/.test(mime) ? mime : "application/octet-stream";
}

/** Encrypts `file` under a fresh key and file id, uploads it through `sink`, and returns its reference. */
export async function uploadFile(file: File, sink: PartSink, progress?: Progress): Promise<FileRef> {
  const id = randomId();
  const fk = randomBytes(32);
  const reader = encryptStream(fk, uuidToBytes(id), DEFAULT_CHUNK_SIZE, file).getReader();
  const hasher = await createSHA256();
  let pending: Uint8Array[] = [];
  let pendingLen = 0;
  let part = 0;
  let sent = 0;
  const flush = async (): Promise<void> => {
    const bytes = concat(...pending);
    pending = [];
    pendingLen = 0;
    await sendPatiently(() => sink.putPart(id, part, bytes));
    part++;
    sent += bytes.length;
    progress?.(Math.min(sent, file.size), file.size);
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    hasher.update(value);
    pending.push(value);
    pendingLen += value.length;
    if (pendingLen >= UPLOAD_PART) await flush();
  }
  if (pendingLen > 0 || part === 0) await flush();
  await sink.complete(id, part, sent);
  return { id, name: file.name, mime: cleanMime(file.type), size: file.size, key: toB64u(fk), sha256: toB64u(hasher.digest("binary")) };
}

/**
 * The plaintext of a downloaded blob as a stream, hashed and decrypted chunk by chunk as its reader pulls
 * (so a reader that writes to disk keeps memory at one sealed chunk and the pieces in flight, whatever the
 * file's size). The stream closes only after `H(blob)` and the size match the record's reference and
 * errors otherwise, so what was written from it must be kept only when it closed: a browser download fed
 * from it fails, and the browser deletes the partial file.
 */
export function decryptedStream(response: Response, file: FileRef, progress?: Progress): ReadableStream<Uint8Array> {
  if (!response.body) throw new MessageError("download.noBody");
  const total = Number(response.headers.get("content-length") ?? 0);
  const hasher = createSHA256();
  let received = 0;
  const counted = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        (await hasher).update(chunk);
        received += chunk.length;
        progress?.(received, total);
        controller.enqueue(chunk);
      },
    }),
  );
  const plaintext = decryptStream(fromB64u(file.key), uuidToBytes(file.id), counted).getReader();
  let size = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await plaintext.read();
        if (!done) {
          size += value.length;
          if (size > file.size) throw new MessageError("download.tooLong", { name: file.name });
          controller.enqueue(value);
          return;
        }
        if (!constantTimeEqual((await hasher).digest("binary"), fromB64u(file.sha256))) {
          throw new MessageError("download.hash", { name: file.name });
        }
        if (size !== file.size) throw new MessageError("download.size", { name: file.name });
        controller.close();
      },
      cancel(reason) {
        return plaintext.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Decrypts a downloaded blob into one Blob in memory, checking `H(blob)` and the size against the record's
 * reference first (small files, tests, and browsers that cannot stream a download to disk).
 */
export async function decryptDownload(response: Response, file: FileRef, progress?: Progress): Promise<Blob> {
  const plaintext = await new Response(decryptedStream(response, file, progress)).blob();
  return new Blob([plaintext], { type: file.mime || "application/octet-stream" });
}
