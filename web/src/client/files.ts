// File transfer shared by the owner's vault and the recipient's page (§6, §9.4): encrypt a file as a
// stream under a fresh key, send the blob in parts while hashing it, and on the way back hash, decrypt and
// check a blob against its reference. Memory stays at one part, whatever the file size.
import { createSHA256 } from "hash-wasm";
import { concat, constantTimeEqual, fromB64u, randomBytes, randomId, toB64u, uuidToBytes, type Bytes } from "../protocol/bytes";
import type { FileRef } from "../protocol/record";
import { DEFAULT_CHUNK_SIZE, decryptStream, encryptStream } from "../protocol/stream";

/** Parts of an uploaded blob: 8 MiB keeps each request well under the server's 16 MiB part limit. */
export const UPLOAD_PART = 8 * 1024 * 1024;

/** Progress of a transfer: bytes done of a total. */
export type Progress = (done: number, total: number) => void;

/** Where a blob goes: one request per part, then the completion. */
export interface PartSink {
  putPart(fileId: string, part: number, bytes: Bytes): Promise<void>;
  complete(fileId: string, parts: number, size: number): Promise<void>;
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
    await sink.putPart(id, part, bytes);
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
 * Decrypts a downloaded blob chunk by chunk while hashing it, and checks `H(blob)` and the size against
 * the record's reference before handing the file out.
 */
export async function decryptDownload(response: Response, file: FileRef, progress?: Progress): Promise<Blob> {
  if (!response.body) throw new Error("the download came without a body");
  const total = Number(response.headers.get("content-length") ?? 0);
  const hasher = await createSHA256();
  let done = 0;
  const counted = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hasher.update(chunk);
        done += chunk.length;
        progress?.(done, total);
        controller.enqueue(chunk);
      },
    }),
  );
  const plaintext = await new Response(decryptStream(fromB64u(file.key), uuidToBytes(file.id), counted)).blob();
  if (!constantTimeEqual(hasher.digest("binary"), fromB64u(file.sha256))) {
    throw new Error(`${file.name} does not match the record (its hash differs); it was not saved`);
  }
  if (plaintext.size !== file.size) throw new Error(`${file.name} has another size than the record says; it was not saved`);
  return new Blob([plaintext], { type: file.mime || "application/octet-stream" });
}
