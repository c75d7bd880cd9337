// Byte helpers: encodings (hex, strict base64url, base64), big-endian integers, UTF-8 and comparison.
import { ProtocolError } from "./errors";

export type Bytes = Uint8Array<ArrayBuffer>;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of a string. */
export function utf8(text: string): Bytes {
  return encoder.encode(text) as Bytes;
}

/** A string from UTF-8 bytes; invalid UTF-8 is refused (`json`-level callers map the kind). */
export function fromUtf8(bytes: Uint8Array, kind = "utf8"): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new ProtocolError(kind, "invalid UTF-8");
  }
}

/** Concatenates byte strings. */
export function concat(...parts: Uint8Array[]): Bytes {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** `u32(x)`: 4 bytes big-endian. */
export function u32(value: number): Bytes {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError("u32 out of range");
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** `u64(x)`: 8 bytes big-endian. */
export function u64(value: bigint | number): Bytes {
  const big = BigInt(value);
  if (big < 0n || big > 0xffff_ffff_ffff_ffffn) throw new RangeError("u64 out of range");
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, big);
  return out;
}

/** Reads a big-endian u32 at `offset`. */
export function readU32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset);
}

/** Reads a big-endian u64 at `offset`. */
export function readU64(bytes: Uint8Array, offset: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset);
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Bytes from hex (either case); anything else is refused. */
export function fromHex(text: string): Bytes {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw new ProtocolError("hex", "invalid hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64U = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64U_INDEX = new Map([...B64U].map((c, i) => [c, i]));
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

function encode64(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = "";
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[(n >> 18) & 63]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += alphabet[(n >> 18) & 63]! + alphabet[(n >> 12) & 63]! + (pad ? "==" : "");
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += alphabet[(n >> 18) & 63]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? "=" : "");
  }
  return out;
}

function decode64(text: string, index: Map<string, number>, kind: string): Bytes {
  if (text.length % 4 === 1) throw new ProtocolError(kind, "impossible length");
  const full = Math.floor(text.length / 4);
  const rest = text.length % 4;
  const out = new Uint8Array(full * 3 + (rest === 0 ? 0 : rest - 1));
  const value = (c: string): number => {
    const v = index.get(c);
    if (v === undefined) throw new ProtocolError(kind, "character outside the alphabet");
    return v;
  };
  let o = 0;
  let i = 0;
  for (; i + 4 <= text.length; i += 4) {
    const n = (value(text[i]!) << 18) | (value(text[i + 1]!) << 12) | (value(text[i + 2]!) << 6) | value(text[i + 3]!);
    out[o++] = (n >> 16) & 255;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  if (rest === 2) {
    const a = value(text[i]!);
    const b = value(text[i + 1]!);
    if ((b & 15) !== 0) throw new ProtocolError(kind, "non-canonical encoding");
    out[o++] = (a << 2) | (b >> 4);
  } else if (rest === 3) {
    const a = value(text[i]!);
    const b = value(text[i + 1]!);
    const c = value(text[i + 2]!);
    if ((c & 3) !== 0) throw new ProtocolError(kind, "non-canonical encoding");
    out[o++] = (a << 2) | (b >> 4);
    out[o++] = ((b & 15) << 4) | (c >> 2);
  }
  return out;
}

/** `b64u(x)`: base64url without padding. */
export function toB64u(bytes: Uint8Array): string {
  return encode64(bytes, B64U, false);
}

/**
 * Strict base64url decoding (§1): no padding, only the URL-safe alphabet, canonical unused bits.
 * Failures carry `kind` (default `encoding`).
 */
export function fromB64u(text: string, kind = "encoding"): Bytes {
  return decode64(text, B64U_INDEX, kind);
}

/** Standard base64 with padding (RFC 8941 byte sequences). */
export function toB64(bytes: Uint8Array): string {
  return encode64(bytes, B64, true);
}

/** Strict standard base64 with padding. */
export function fromB64(text: string, kind = "encoding"): Bytes {
  if (text.length % 4 !== 0) throw new ProtocolError(kind, "base64 without padding");
  const unpadded = text.replace(/={1,2}$/, "");
  if (unpadded.includes("=")) throw new ProtocolError(kind, "misplaced padding");
  if (text.length - unpadded.length !== (4 - (unpadded.length % 4)) % 4) throw new ProtocolError(kind, "wrong padding");
  return decode64(unpadded, B64_INDEX, kind);
}

/** Compares two byte strings in time that depends only on their lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** `n` bytes from the platform CSPRNG. */
export function randomBytes(n: number): Bytes {
  const out = new Uint8Array(n);
  crypto.getRandomValues(out);
  return out;
}

/** Lowercase hyphenated UUID text to its 16 bytes; anything else is refused with `kind`. */
export function uuidToBytes(text: string, kind = "bad_id"): Bytes {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(text)) {
    throw new ProtocolError(kind, "not a lowercase hyphenated UUID");
  }
  return fromHex(text.replaceAll("-", ""));
}

/** 16 bytes to lowercase hyphenated UUID text. */
export function bytesToUuid(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError("an id is 16 bytes");
  const h = toHex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A fresh random id (16 bytes) as UUID text. */
export function randomId(): string {
  return bytesToUuid(randomBytes(16));
}
