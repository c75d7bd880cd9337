// stream.json (docs/protocol.md §6), every case, as crates/sharelock-core/tests/vectors/stream.rs checks it.
// Each case gives the writer's inputs (fk, file_id, salt, chunk_size, and the plaintext as hex or as a length
// of the pattern byte i = i mod 251). Positive cases: the blob this code writes has the stated header, length,
// digest, chunk tags (and bytes, for small ones); stream key and commitment recomputed from the formulas open
// every chunk; the reader gives the plaintext back. Negative cases: the stated mutation of that blob, read
// (with `reader_fk` / `reader_file_id` when given), errors the stream with the stated kind.
import { describe, expect, it } from "vitest";
import { concat, fromHex, toHex, u32, utf8, uuidToBytes, type Bytes } from "../src/protocol/bytes";
import { hkdf, sha256 } from "../src/protocol/crypto";
import { ProtocolError } from "../src/protocol/errors";
import {
  blobLength,
  checkChunkSize,
  DEFAULT_CHUNK_SIZE,
  decryptBytes,
  decryptStream,
  encryptBytes,
  encryptStream,
  HEADER_LEN,
  StreamDecryptor,
  StreamEncryptor,
  TAG_LEN,
} from "../src/protocol/stream";
import { hex, loadVectors, num, str, type VectorCase } from "./vectors";

const subtle = globalThis.crypto.subtle;
const cases = loadVectors("stream");
const checked = { valid: 0, invalid: 0 };


function pattern(len: number): Bytes {
  return Uint8Array.from({ length: len }, (_, i) => i % 251);
}

function plaintextOf(c: VectorCase): Bytes {
  return c.plaintext !== undefined ? hex(c, "plaintext") : pattern(num(c, "plaintext_len"));
}

/** A stream yielding `data` in pieces whose sizes cycle through `sizes` (odd sizes prove reassembly). */
function piecewise(data: Uint8Array, sizes: readonly number[]): ReadableStream<Uint8Array> {
  let pos = 0;
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pos >= data.length) {
        controller.close();
        return;
      }
      const n = sizes[i++ % sizes.length]!;
      controller.enqueue(data.slice(pos, pos + n));
      pos += n;
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Bytes> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concat(...parts);
    parts.push(value);
  }
}

/** The ProtocolError kind an async step fails with (fails the test if it succeeds). */
async function kindOf(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
  } catch (e) {
    if (e instanceof ProtocolError) return e.kind;
    throw e;
  }
  throw new Error("expected a ProtocolError, got a result");
}

/** The stream key and commitment from the formulas of §6, not from the stream module. */
async function formulaKeys(fk: Uint8Array, id: Uint8Array, salt: Uint8Array, cs: number): Promise<{ key: Bytes; commit: Bytes }> {
  const key = await hkdf(fk, concat(utf8("sharelock/v1/file"), id, u32(cs)), salt);
  const commit = await hkdf(fk, concat(utf8("sharelock/v1/file-commit"), id), salt);
  return { key, commit };
}

function nonce(i: number, last: boolean): Bytes {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(3, BigInt(i));
  n[11] = last ? 1 : 0;
  return n;
}

/** The chunks of a blob by the framing rules: all but the last are chunk_size + 16 bytes. */
function chunksOf(blob: Uint8Array, cs: number): Bytes[] {
  const body = blob.subarray(HEADER_LEN);
  const sealed = cs + TAG_LEN;
  const n = Math.max(1, Math.ceil(body.length / sealed));
  return Array.from({ length: n }, (_, i) => body.slice(i * sealed, Math.min((i + 1) * sealed, body.length)));
}

async function aesKey(raw: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  return subtle.importKey("raw", raw as Bytes, "AES-GCM", false, [usage]);
}

/** The mutations of stream.rs's `mutate`. */
async function mutate(blob: Bytes, c: VectorCase): Promise<Bytes> {
  const m = c.mutation as { op: string; len?: number; a?: number; b?: number; chunk?: number; offset?: number; bit?: number; hex?: string };
  const field = (k: "len" | "a" | "b" | "chunk" | "offset" | "bit"): number => {
    const v = m[k];
    if (typeof v !== "number") throw new Error(`mutation needs ${k}`);
    return v;
  };
  const cs = num(c, "chunk_size");
  const head = blob.subarray(0, HEADER_LEN);
  const parts = chunksOf(blob, cs);
  const join = (list: Uint8Array[]): Bytes => concat(head, ...list);
  switch (m.op) {
    case "none":
      return blob.slice();
    case "truncate":
      return blob.slice(0, field("len"));
    case "swap": {
      const p = [...parts];
      [p[field("a")], p[field("b")]] = [p[field("b")]!, p[field("a")]!];
      return join(p);
    }
    case "duplicate": {
      const p = [...parts];
      p.splice(field("chunk") + 1, 0, parts[field("chunk")]!);
      return join(p);
    }
    case "drop": {
      const p = [...parts];
      p.splice(field("chunk"), 1);
      return join(p);
    }
    case "flip": {
      const b = blob.slice();
      b[field("offset")]! ^= 1 << field("bit");
      return b;
    }
    case "append":
      return concat(blob, fromHex(m.hex!));
    case "set": {
      const b = blob.slice();
      b.set(fromHex(m.hex!), field("offset"));
      return b;
    }
    case "empty_final_chunk": {
      const { key } = await formulaKeys(hex(c, "fk"), uuidToBytes(str(c, "file_id")), hex(c, "salt"), cs);
      const tag = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv: nonce(1, true), additionalData: head }, await aesKey(key, "encrypt"), new Uint8Array(0)));
      return join([parts[0]!, tag]);
    }
    default:
      throw new Error(`unknown mutation ${m.op}`);
  }
}

/** Writes the case's blob: whole, and through the stream encryptor fed in uneven pieces (which must agree). */
async function writeBlob(c: VectorCase): Promise<Bytes> {
  const fk = hex(c, "fk");
  const id = uuidToBytes(str(c, "file_id"));
  const salt = hex(c, "salt");
  const cs = num(c, "chunk_size");
  const plain = plaintextOf(c);
  const blob = await encryptBytes(fk, id, cs, plain, { salt });
  const streamed = await collect(encryptStream(fk, id, cs, piecewise(plain, [5000, 1, 16_401, 7]), { salt }));
  expect(toHex(streamed)).toBe(toHex(blob));
  return blob;
}

async function checkValid(c: VectorCase): Promise<void> {
  const fk = hex(c, "fk");
  const id = uuidToBytes(str(c, "file_id"));
  const salt = hex(c, "salt");
  const cs = num(c, "chunk_size");
  const plain = plaintextOf(c);
  const blob = await writeBlob(c);

  expect(toHex(blob.subarray(0, HEADER_LEN))).toBe(str(c, "header"));
  expect(blob.length).toBe(num(c, "blob_len"));
  expect(blobLength(plain.length, cs)).toBe(num(c, "blob_len"));
  expect(toHex(await sha256(blob))).toBe(str(c, "blob_sha256"));
  if (c.blob !== undefined) expect(toHex(blob)).toBe(str(c, "blob"));

  // The header, spelled out.
  const { key, commit } = await formulaKeys(fk, id, salt, cs);
  expect(toHex(key)).toBe(str(c, "stream_key"));
  expect(toHex(commit)).toBe(str(c, "commit"));
  expect(toHex(blob.subarray(0, 4))).toBe(toHex(utf8("SLF1")));
  expect(toHex(blob.subarray(4, 8))).toBe(toHex(u32(cs)));
  expect(toHex(blob.subarray(8, 40))).toBe(toHex(salt));
  expect(toHex(blob.subarray(40, 72))).toBe(toHex(commit));

  // Every chunk opens with the formula's key and nonce, the header as associated data.
  const parts = chunksOf(blob, cs);
  expect(parts.map((p) => toHex(p.subarray(p.length - TAG_LEN)))).toEqual(c.tags);
  const aes = await aesKey(key, "decrypt");
  const opened: Uint8Array[] = [];
  for (const [i, p] of parts.entries()) {
    const last = i + 1 === parts.length;
    opened.push(new Uint8Array(await subtle.decrypt({ name: "AES-GCM", iv: nonce(i, last), additionalData: blob.subarray(0, HEADER_LEN) }, aes, p)));
  }
  expect(toHex(concat(...opened))).toBe(toHex(plain));

  // And through the readers: whole, and as a stream in odd pieces that straddle every boundary.
  expect(toHex(await decryptBytes(fk, id, blob))).toBe(toHex(plain));
  for (const sizes of [[blob.length], [1], [7000], [71, 1, 16_399, 3], [16_400, 16_401, 5]]) {
    const out = await collect(decryptStream(fk, id, piecewise(blob, sizes)));
    expect(toHex(out), `pieces ${sizes.join(",")}`).toBe(toHex(plain));
  }
}

async function checkInvalid(c: VectorCase): Promise<void> {
  const blob = await mutate(await writeBlob(c), c);
  const fk = c.reader_fk !== undefined ? hex(c, "reader_fk") : hex(c, "fk");
  const id = uuidToBytes(c.reader_file_id !== undefined ? str(c, "reader_file_id") : str(c, "file_id"));
  // The kind must not depend on how the bytes arrive.
  expect(await kindOf(() => decryptBytes(fk, id, blob))).toBe(c.error);
  for (const sizes of [[7000], [1, 71, 16_399], [blob.length]]) {
    expect(await kindOf(() => collect(decryptStream(fk, id, piecewise(blob, sizes)))), `pieces ${sizes.join(",")}`).toBe(c.error);
  }
}

describe("stream.json", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_, c) => {
    expect(c.op).toBeUndefined();
    if (c.valid) {
      await checkValid(c);
      checked.valid++;
    } else {
      expect(typeof c.error).toBe("string");
      await checkInvalid(c);
      checked.invalid++;
    }
  });

  it("checked every case", () => {
    expect(checked.valid).toBe(cases.filter((c) => c.valid).length);
    expect(checked.invalid).toBe(cases.filter((c) => !c.valid).length);
    expect(checked.valid + checked.invalid).toBe(cases.length);
  });
});

describe("file streams beyond the vectors", () => {
  const fk = new Uint8Array(32).fill(0x42);
  const id = new Uint8Array(16).fill(0x11);
  const CS = 16 * 1024;

  it("round-trips at every chunk boundary, with fresh salts", async () => {
    for (const len of [0, 1, CS - 1, CS, CS + 1, 2 * CS, 3 * CS - 5]) {
      const plain = pattern(len);
      const blob = await collect(encryptStream(fk, id, CS, plain));
      expect(blob.length, `len ${len}`).toBe(blobLength(len, CS));
      expect(await decryptBytes(fk, id, blob)).toEqual(plain);
      const again = await encryptBytes(fk, id, CS, plain);
      expect(toHex(again.subarray(8, 40))).not.toBe(toHex(blob.subarray(8, 40)));
    }
    expect((await encryptBytes(fk, id, CS, pattern(2 * CS))).length).toBe(HEADER_LEN + 2 * (CS + TAG_LEN));
  });

  it("encrypts from a Blob and by pushing pieces, with the default chunk size", async () => {
    const plain = pattern(200_000);
    const salt = new Uint8Array(32).fill(5);
    const fromBlob = await collect(encryptStream(fk, id, DEFAULT_CHUNK_SIZE, new Blob([plain]), { salt }));
    const enc = await StreamEncryptor.create(fk, id, DEFAULT_CHUNK_SIZE, salt);
    const pieces: Uint8Array[] = [];
    for (let pos = 0; pos < plain.length; pos += 999) pieces.push(...(await enc.update(plain.subarray(pos, pos + 999))));
    pieces.push(...(await enc.finish()));
    expect(toHex(concat(...pieces))).toBe(toHex(fromBlob));
    expect(fromBlob.length).toBe(blobLength(plain.length, DEFAULT_CHUNK_SIZE));
    expect(toHex(await collect(decryptStream(fk, id, new Blob([fromBlob]).stream())))).toBe(toHex(plain));
  });

  it("checks the header before any chunk, and stays failed", async () => {
    const blob = await encryptBytes(fk, id, CS, utf8("hello"));
    const dec = new StreamDecryptor(new Uint8Array(32).fill(0x43), id);
    expect(await kindOf(() => dec.push(blob.subarray(0, HEADER_LEN)))).toBe("verify");
    expect(await kindOf(() => dec.push(blob.subarray(HEADER_LEN)))).toBe("verify");
    expect(await kindOf(() => decryptBytes(fk, new Uint8Array(16).fill(0x12), blob))).toBe("verify");
    for (const cs of [0, 1, 8192, CS + 1, 3 * CS, 8 * 1024 * 1024, 0xffff_ffff]) {
      const b = blob.slice();
      b.set(u32(cs), 4);
      expect(await kindOf(() => decryptBytes(fk, id, b)), `chunk size ${cs}`).toBe("malformed");
      expect(() => checkChunkSize(cs)).toThrow(ProtocolError);
      expect(() => encryptStream(fk, id, cs, blob)).toThrow(ProtocolError);
    }
    expect(await kindOf(() => decryptBytes(fk, id, new Uint8Array(0)))).toBe("truncated");
  });

  it("errors the plaintext stream, and cancels the source, on a damaged blob", async () => {
    const blob = await encryptBytes(fk, id, CS, pattern(3 * CS));
    blob[HEADER_LEN + CS + TAG_LEN + 5]! ^= 1;
    let cancelled: unknown;
    let pos = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pos >= blob.length) return controller.close();
        controller.enqueue(blob.slice(pos, pos + 4096));
        pos += 4096;
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const reader = decryptStream(fk, id, source).getReader();
    const first = await reader.read();
    expect(first.value).toEqual(pattern(CS));
    const failure = await reader.read().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(ProtocolError);
    expect((failure as ProtocolError).kind).toBe("decrypt");
    expect(cancelled).toBe(failure);
    expect(pos).toBeLessThan(blob.length);
  });
});
