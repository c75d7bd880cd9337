// Encrypted file streams (docs/protocol.md §6): files of any size in constant memory.
//
//   header     = "SLF1" ‖ u32(chunk_size) ‖ salt[32] ‖ commit[32]                          72 bytes
//   stream key = HKDF(ikm = FK, salt, "sharelock/v1/file" ‖ file_id ‖ u32(chunk_size))
//   commit     = HKDF(ikm = FK, salt, "sharelock/v1/file-commit" ‖ file_id)
//   chunk i    = AES-256-GCM(stream key, nonce = u88(i) ‖ last, aad = header)        ciphertext ‖ tag
//   blob       = header ‖ chunk 0 ‖ … ‖ chunk n−1
//
// A fresh salt gives a fresh stream key per upload; file id and chunk size are bound into the key; the
// commitment, checked before any chunk, makes a wrong key fail at once and commits the stream to one key;
// the counter orders the chunks and the last flag marks the end. A reader learns that a chunk is not the
// last only when a byte follows it, so it buffers at most one sealed chunk. The error kinds, and the order
// in which they are decided, are those of the Rust core (crates/sharelock-core/src/stream.rs): `truncated`,
// `decrypt`, `verify` (commitment) and `malformed` (magic, chunk size, bytes after the final chunk, an empty
// chunk that is not the only one).
//
// Plaintext a decryptor hands out is authentic but may belong to a stream that later turns out truncated or
// damaged: keep it only once the stream has ended without error.
import { concat, constantTimeEqual, randomBytes, readU32, u32, utf8, type Bytes } from "./bytes";
import { hkdf } from "./crypto";
import { ProtocolError } from "./errors";

const subtle = globalThis.crypto.subtle;

/** The magic at the start of every stream; also its format version. */
export const MAGIC = utf8("SLF1");
/** Length of the stream header. */
export const HEADER_LEN = 72;
/** AES-GCM tag length, the overhead of each chunk. */
export const TAG_LEN = 16;
/** Smallest allowed chunk size (16 KiB). */
export const MIN_CHUNK_SIZE = 16 * 1024;
/** Largest allowed chunk size (4 MiB). */
export const MAX_CHUNK_SIZE = 4 * 1024 * 1024;
/** The chunk size writers use unless told otherwise; chosen by benchmark (docs/benchmarks.md). */
export const DEFAULT_CHUNK_SIZE = 64 * 1024;

const STREAM_LABEL = utf8("sharelock/v1/file");
const COMMIT_LABEL = utf8("sharelock/v1/file-commit");

function malformed(message: string): ProtocolError {
  return new ProtocolError("malformed", `file stream: ${message}`);
}

/** Refuses (`malformed`) a chunk size that is not a power of two in [16 KiB, 4 MiB]. */
export function checkChunkSize(chunkSize: number): void {
  const ok = Number.isInteger(chunkSize) && chunkSize >= MIN_CHUNK_SIZE && chunkSize <= MAX_CHUNK_SIZE && (chunkSize & (chunkSize - 1)) === 0;
  if (!ok) throw malformed("chunk size must be a power of two from 16 KiB to 4 MiB");
}

/** Bytes of the blob for a plaintext of `plaintextLen` bytes (at least one chunk, even for an empty file). */
export function blobLength(plaintextLen: number, chunkSize: number): number {
  checkChunkSize(chunkSize);
  if (!Number.isSafeInteger(plaintextLen) || plaintextLen < 0) throw new RangeError("plaintext length out of range");
  const chunks = Math.max(1, Math.ceil(plaintextLen / chunkSize));
  return HEADER_LEN + plaintextLen + chunks * TAG_LEN;
}

function checkInputs(fk: Uint8Array, fileId: Uint8Array): void {
  if (fk.length !== 32) throw new RangeError("FK is 32 bytes");
  if (fileId.length !== 16) throw new RangeError("a file id is 16 bytes");
}

/** `commit = HKDF(ikm = FK, salt, "sharelock/v1/file-commit" ‖ file_id)`. */
function commitment(fk: Uint8Array, fileId: Uint8Array, salt: Uint8Array): Promise<Bytes> {
  return hkdf(fk, concat(COMMIT_LABEL, fileId), salt);
}

/** The stream key, imported for one direction only. */
async function streamKey(fk: Uint8Array, fileId: Uint8Array, salt: Uint8Array, chunkSize: number, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  const raw = await hkdf(fk, concat(STREAM_LABEL, fileId, u32(chunkSize)), salt);
  try {
    return await subtle.importKey("raw", raw, "AES-GCM", false, [usage]);
  } finally {
    raw.fill(0);
  }
}

/** `u88(i) ‖ last`: 11-byte big-endian counter and the final-chunk flag. */
function chunkNonce(index: number, last: boolean): Bytes {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(3, BigInt(index));
  n[11] = last ? 1 : 0;
  return n;
}

/** The AES-GCM key schedule of one stream, its header (every chunk's AAD) and the next chunk index. */
class Chunks {
  index = 0;

  constructor(
    private readonly key: CryptoKey,
    readonly header: Bytes,
    readonly chunkSize: number,
  ) {}

  async seal(plain: Uint8Array, last: boolean): Promise<Bytes> {
    const out = await subtle.encrypt(
      { name: "AES-GCM", iv: chunkNonce(this.index, last), additionalData: this.header, tagLength: 128 },
      this.key,
      plain as Bytes,
    );
    this.index++;
    return new Uint8Array(out);
  }

  /** The plaintext of `chunk` (ciphertext ‖ tag) as chunk `index`, or undefined if it does not authenticate. */
  async tryOpen(chunk: Uint8Array, last: boolean): Promise<Bytes | undefined> {
    try {
      const out = await subtle.decrypt(
        { name: "AES-GCM", iv: chunkNonce(this.index, last), additionalData: this.header, tagLength: 128 },
        this.key,
        chunk as Bytes,
      );
      return new Uint8Array(out);
    } catch {
      return undefined;
    }
  }

  /** Opens a chunk known to be followed by more bytes; if it only opens as a final chunk, what follows is appended garbage. */
  async openMiddle(chunk: Uint8Array): Promise<Bytes> {
    const plain = await this.tryOpen(chunk, false);
    if (plain === undefined) {
      if ((await this.tryOpen(chunk, true)) !== undefined) throw malformed("bytes after the final chunk");
      throw new ProtocolError("decrypt", "file stream chunk does not authenticate");
    }
    this.index++;
    return plain;
  }
}

/**
 * Encrypts a stream pushed in pieces of any size. Everything `update` and `finish` return, concatenated, is
 * the blob, header first. Memory use is one chunk whatever the file size. Calls must not overlap.
 */
export class StreamEncryptor {
  #chunks: Chunks;
  #buf: Uint8Array;
  #len = 0;
  #headerSent = false;
  #finished = false;

  private constructor(chunks: Chunks) {
    this.#chunks = chunks;
    this.#buf = new Uint8Array(chunks.chunkSize);
  }

  /**
   * Starts a stream under `fk` for the 16-byte `fileId` with a fresh random salt (or the given one: test
   * vectors only). `chunkSize` must pass `checkChunkSize`.
   */
  static async create(fk: Uint8Array, fileId: Uint8Array, chunkSize: number = DEFAULT_CHUNK_SIZE, salt?: Uint8Array): Promise<StreamEncryptor> {
    checkChunkSize(chunkSize);
    checkInputs(fk, fileId);
    const s = salt ?? randomBytes(32);
    if (s.length !== 32) throw new RangeError("a salt is 32 bytes");
    const header = concat(MAGIC, u32(chunkSize), s, await commitment(fk, fileId, s));
    return new StreamEncryptor(new Chunks(await streamKey(fk, fileId, s, chunkSize, "encrypt"), header, chunkSize));
  }

  /** The stream header (also the start of the first output). */
  get header(): Bytes {
    return this.#chunks.header.slice();
  }

  /** Takes more plaintext; returns the blob pieces now ready (possibly none). */
  async update(data: Uint8Array): Promise<Bytes[]> {
    if (this.#finished) throw new Error("stream already finished");
    const out = this.#sendHeader();
    const cs = this.#chunks.chunkSize;
    let rest = data;
    while (rest.length > 0) {
      if (this.#len === cs) {
        // A byte follows the buffered chunk, so it is not the last.
        out.push(await this.#chunks.seal(this.#buf, false));
        this.#len = 0;
      }
      if (this.#len === 0 && rest.length > cs) {
        // A whole chunk with more after it goes straight from input to output.
        out.push(await this.#chunks.seal(rest.subarray(0, cs), false));
        rest = rest.subarray(cs);
        continue;
      }
      const take = Math.min(cs - this.#len, rest.length);
      this.#buf.set(rest.subarray(0, take), this.#len);
      this.#len += take;
      rest = rest.subarray(take);
    }
    return out;
  }

  /** Seals the final chunk (short, full, or empty when the whole file is empty) and returns the rest of the blob. */
  async finish(): Promise<Bytes[]> {
    if (this.#finished) throw new Error("stream already finished");
    this.#finished = true;
    const out = this.#sendHeader();
    out.push(await this.#chunks.seal(this.#buf.subarray(0, this.#len), true));
    this.#buf.fill(0);
    return out;
  }

  #sendHeader(): Bytes[] {
    if (this.#headerSent) return [];
    this.#headerSent = true;
    return [this.#chunks.header.slice()];
  }
}

/**
 * Decrypts a stream pushed in pieces of any size. The header is checked as soon as it is complete: magic,
 * chunk size (before any chunk buffer exists), then the key commitment. Every chunk is authenticated before
 * its plaintext is returned. Calls must not overlap; after an error the decryptor is unusable.
 */
export class StreamDecryptor {
  #fk: Bytes | undefined;
  #fileId: Bytes;
  #chunks: Chunks | undefined;
  #buf: Uint8Array = new Uint8Array(HEADER_LEN);
  #len = 0;
  #failed: Error | undefined;

  /** Starts reading the stream of the 16-byte `fileId` under `fk` (both from the record's file reference). */
  constructor(fk: Uint8Array, fileId: Uint8Array) {
    checkInputs(fk, fileId);
    this.#fk = Uint8Array.from(fk);
    this.#fileId = Uint8Array.from(fileId);
  }

  /** Takes more blob bytes; returns the plaintext of every chunk now known to be complete and authentic. */
  async push(data: Uint8Array): Promise<Bytes[]> {
    return this.#guard(async () => {
      let rest = data;
      if (this.#chunks === undefined) {
        const take = Math.min(HEADER_LEN - this.#len, rest.length);
        this.#buf.set(rest.subarray(0, take), this.#len);
        this.#len += take;
        rest = rest.subarray(take);
        if (this.#len < HEADER_LEN) return [];
        this.#chunks = await this.#openHeader(this.#buf.slice(0, HEADER_LEN));
        this.#buf = new Uint8Array(this.#chunks.chunkSize + TAG_LEN);
        this.#len = 0;
      }
      const chunks = this.#chunks;
      const sealed = chunks.chunkSize + TAG_LEN;
      const out: Bytes[] = [];
      while (rest.length > 0) {
        if (this.#len === sealed) {
          out.push(await chunks.openMiddle(this.#buf));
          this.#len = 0;
        }
        if (this.#len === 0 && rest.length > sealed) {
          out.push(await chunks.openMiddle(rest.subarray(0, sealed)));
          rest = rest.subarray(sealed);
          continue;
        }
        const take = Math.min(sealed - this.#len, rest.length);
        this.#buf.set(rest.subarray(0, take), this.#len);
        this.#len += take;
        rest = rest.subarray(take);
      }
      return out;
    });
  }

  /**
   * Ends the stream: opens the final chunk and returns its plaintext. A stream that stops before its final
   * chunk (including inside its header) is `truncated`; an empty chunk after others is `malformed`.
   */
  async finish(): Promise<Bytes> {
    return this.#guard(async () => {
      const chunks = this.#chunks;
      if (chunks === undefined) throw new ProtocolError("truncated", "file stream ends inside its header");
      if (this.#len < TAG_LEN) throw new ProtocolError("truncated", "file stream ends before its final chunk");
      if (this.#len === TAG_LEN && chunks.index > 0) throw malformed("an empty chunk is allowed only as the only chunk");
      const last = this.#buf.subarray(0, this.#len);
      const plain = await chunks.tryOpen(last, true);
      if (plain === undefined) {
        // A chunk that opens as a middle chunk means the stream was cut after it.
        if ((await chunks.tryOpen(last, false)) !== undefined) throw new ProtocolError("truncated", "file stream ends before its final chunk");
        throw new ProtocolError("decrypt", "file stream chunk does not authenticate");
      }
      this.#failed = new Error("file stream already finished");
      return plain;
    });
  }

  async #openHeader(header: Bytes): Promise<Chunks> {
    const fk = this.#fk!;
    this.#fk = undefined;
    try {
      if (!constantTimeEqual(header.subarray(0, 4), MAGIC)) throw malformed("not a Sharelock file stream (bad magic)");
      const chunkSize = readU32(header, 4);
      checkChunkSize(chunkSize);
      const salt = header.subarray(8, 40);
      if (!constantTimeEqual(await commitment(fk, this.#fileId, salt), header.subarray(40, 72))) {
        throw new ProtocolError("verify", "file key commitment does not match");
      }
      return new Chunks(await streamKey(fk, this.#fileId, salt, chunkSize, "decrypt"), header, chunkSize);
    } finally {
      fk.fill(0);
    }
  }

  async #guard<T>(step: () => Promise<T>): Promise<T> {
    if (this.#failed) throw this.#failed;
    try {
      return await step();
    } catch (e) {
      this.#failed = e instanceof Error ? e : new Error("file stream failed");
      throw e;
    }
  }
}

/** Anything the encryptor reads plaintext from. */
export type PlaintextSource = ReadableStream<Uint8Array> | Blob | Uint8Array;

/** Pieces of a source, read lazily so a large Uint8Array or Blob is never copied whole. */
function sourceReader(source: PlaintextSource, pieceSize: number): { read(): Promise<Uint8Array | undefined>; cancel(reason: unknown): Promise<void> } {
  if (source instanceof Uint8Array) {
    let pos = 0;
    return {
      read: async () => {
        if (pos >= source.length) return undefined;
        const piece = source.subarray(pos, pos + pieceSize);
        pos += piece.length;
        return piece;
      },
      cancel: async () => {},
    };
  }
  const stream = source instanceof Blob ? (source.stream() as ReadableStream<Uint8Array>) : source;
  const reader = stream.getReader();
  return {
    read: async () => {
      const r = await reader.read();
      return r.done ? undefined : r.value;
    },
    cancel: (reason) => reader.cancel(reason),
  };
}

/**
 * A pull-driven transform: each pull reads source pieces until the step yields output or the source ends,
 * so memory stays at one piece plus one chunk and a slow consumer slows the source down.
 */
function transform(
  source: { read(): Promise<Uint8Array | undefined>; cancel(reason: unknown): Promise<void> },
  step: (piece: Uint8Array) => Promise<Bytes[]>,
  end: () => Promise<Bytes[]>,
): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          if (done) return;
          const piece = await source.read();
          const out = piece === undefined ? await end() : await step(piece);
          if (piece === undefined) done = true;
          for (const chunk of out) if (chunk.length > 0) controller.enqueue(chunk);
          if (done) {
            controller.close();
            return;
          }
          if (out.length > 0) return;
        }
      } catch (e) {
        done = true;
        controller.error(e);
        await source.cancel(e).catch(() => {});
      }
    },
    async cancel(reason) {
      done = true;
      await source.cancel(reason);
    },
  });
}

/** Options of `encryptStream` / `encryptBytes`. */
export interface EncryptOptions {
  /** A fixed salt, only to reproduce test vectors; a fresh random salt is used otherwise. */
  salt?: Uint8Array;
}

/**
 * Encrypts `source` as the blob of file `fileId` (16 bytes) under `fk`: a stream of the header, then the
 * sealed chunks, the last one flagged. Bad arguments throw at once; failures later error the stream.
 */
export function encryptStream(
  fk: Uint8Array,
  fileId: Uint8Array,
  chunkSize: number,
  source: PlaintextSource,
  options: EncryptOptions = {},
): ReadableStream<Uint8Array> {
  checkChunkSize(chunkSize);
  checkInputs(fk, fileId);
  if (options.salt !== undefined && options.salt.length !== 32) throw new RangeError("a salt is 32 bytes");
  const key = Uint8Array.from(fk);
  const id = Uint8Array.from(fileId);
  let encryptor: Promise<StreamEncryptor> | undefined;
  const get = (): Promise<StreamEncryptor> => (encryptor ??= StreamEncryptor.create(key, id, chunkSize, options.salt).finally(() => key.fill(0)));
  return transform(
    sourceReader(source, chunkSize),
    async (piece) => (await get()).update(piece),
    async () => (await get()).finish(),
  );
}

/**
 * Decrypts a blob stream of file `fileId` under `fk` into a plaintext stream. The commitment is checked
 * before the first chunk; a damaged, truncated or extended blob errors the stream with the ProtocolError
 * kinds of the vectors. Discard the plaintext read so far if the stream errors.
 */
export function decryptStream(fk: Uint8Array, fileId: Uint8Array, blob: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const decryptor = new StreamDecryptor(fk, fileId);
  return transform(
    sourceReader(blob, 0),
    (piece) => decryptor.push(piece),
    async () => [await decryptor.finish()],
  );
}

/** The whole blob of a small plaintext (tests, small files). */
export async function encryptBytes(fk: Uint8Array, fileId: Uint8Array, chunkSize: number, plaintext: Uint8Array, options: EncryptOptions = {}): Promise<Bytes> {
  const enc = await StreamEncryptor.create(fk, fileId, chunkSize, options.salt);
  return concat(...(await enc.update(plaintext)), ...(await enc.finish()));
}

/** The whole plaintext of a small blob (tests, small files). */
export async function decryptBytes(fk: Uint8Array, fileId: Uint8Array, blob: Uint8Array): Promise<Bytes> {
  const dec = new StreamDecryptor(fk, fileId);
  return concat(...(await dec.push(blob)), await dec.finish());
}
