// Record versions (docs/protocol.md §3.2): the byte envelope, sealing and opening its body and summary, the
// owner's tag, the recipient's edit signature, the server's expectations and the client's anti-rollback memory.
//
// - The envelope is fixed-width binary with length-prefixed boxes and nothing after them, so exactly one byte
//   string describes each version and H(envelope) identifies it. The parser checks every length, the author
//   encoding and the limits before copying anything, in the order of the spec's table.
// - `prev = H(envelope of v − 1)` makes the history a hash chain; body and summary are sealed with AAD over
//   every header field F, so a box cannot be moved to another record, generation, version, predecessor or
//   author.
// - Authorship is proven to the owner: an HMAC under K_own for the owner's own versions, an ECDSA signature
//   by the bound device for a recipient's.
import { aad } from "./aad";
import { concat, constantTimeEqual, readU32, readU64, u32, u64, utf8, type Bytes } from "./bytes";
import { BOX_OVERHEAD, hmacSha256, open, seal, sha256, verifyHmac } from "./crypto";
import { ecdsaSign, ecdsaVerify, editMessage, type DeviceKey } from "./device";
import { ProtocolError } from "./errors";
import {
  bodyFromJson,
  bodyToJson,
  MAX_BODY_PADDED,
  MAX_SUMMARY_PADDED,
  PAD_BLOCK,
  pad256,
  summaryFromJson,
  summaryOf,
  summaryToJson,
  unpad256,
  validateBody,
  type RecordBody,
  type Summary,
} from "./record";

/** The envelope's magic and format version. */
export const MAGIC = utf8("SLV1");
/** Bytes before the body length: magic, record id, k, v, prev, author. */
export const HEADER_LEN = 4 + 16 + 8 + 8 + 32 + 17;
/** Largest body box: 512 KiB of padded plaintext plus nonce and tag (524 316). */
export const MAX_BODY_BOX = MAX_BODY_PADDED + BOX_OVERHEAD;
/** Largest summary box: 1 KiB of padded plaintext plus nonce and tag (1 052). */
export const MAX_SUMMARY_BOX = MAX_SUMMARY_PADDED + BOX_OVERHEAD;

const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** Who wrote a version: the owner, or a recipient through the share with this 16-byte share id. */
export type Author = { kind: "owner" } | { kind: "share"; shareId: Bytes };

/** The header fields of a version (F in the associated data). `k` and `v` are u64, hence bigint. */
export interface VersionHeader {
  /** The record id's 16 bytes (`uuidToBytes` of the id the API states). */
  recordId: Bytes;
  /** Key generation sealing this version (≥ 1). */
  k: bigint;
  /** Version number (≥ 1). */
  v: bigint;
  /** H(envelope of v − 1), or 32 zero bytes for v = 1. */
  prev: Bytes;
  author: Author;
}

/** One version of a record: header and two sealed boxes (ciphertext only). */
export interface Envelope extends VersionHeader {
  /** AEAD(RK_k, pad256(body_json), AAD("record", F)). */
  body: Bytes;
  /** AEAD(RK_k, pad256(summary_json), AAD("record-summary", F)). */
  summary: Bytes;
}

/** The owner as author. */
export const OWNER: Author = Object.freeze({ kind: "owner" });

/** A recipient's share as author. */
export function shareAuthor(shareId: Uint8Array): Author {
  if (shareId.length !== 16) throw new RangeError("a share id is 16 bytes");
  return { kind: "share", shareId: Uint8Array.from(shareId) };
}

/** The 17-byte author encoding: `0x00 ‖ 16 zero bytes` or `0x01 ‖ share_id`. */
export function authorBytes(author: Author): Bytes {
  const out = new Uint8Array(17);
  if (author.kind === "share") {
    if (author.shareId.length !== 16) throw new RangeError("a share id is 16 bytes");
    out[0] = 1;
    out.set(author.shareId, 1);
  }
  return out;
}

/** Whether two authors are the same writer. */
export function sameAuthor(a: Author, b: Author): boolean {
  if (a.kind === "owner" || b.kind === "owner") return a.kind === b.kind;
  return constantTimeEqual(a.shareId, b.shareId);
}

function parseAuthor(bytes: Uint8Array): Author {
  const id = bytes.slice(1, 17);
  if (bytes[0] === 0 && id.every((b) => b === 0)) return OWNER;
  if (bytes[0] === 1) return { kind: "share", shareId: id };
  throw new ProtocolError("bad_author", "envelope author is malformed");
}

/** `F = record_id ‖ u64(k) ‖ u64(v) ‖ prev ‖ author` (81 bytes). */
export function versionFields(h: VersionHeader): Bytes {
  if (h.recordId.length !== 16) throw new RangeError("a record id is 16 bytes");
  if (h.prev.length !== 32) throw new RangeError("prev is 32 bytes");
  return concat(h.recordId, u64(h.k), u64(h.v), h.prev, authorBytes(h.author));
}

/** The header rules every version obeys: k ≥ 1, v ≥ 1, prev zero exactly for v = 1. */
function checkHeader(h: VersionHeader): void {
  if (h.k === 0n) throw new ProtocolError("bad_key_generation", "envelope key generation is 0");
  if (h.v === 0n) throw new ProtocolError("bad_version", "envelope version is 0");
  if ((h.v === 1n) !== h.prev.every((b) => b === 0)) throw new ProtocolError("bad_prev", "envelope predecessor hash does not fit its version number");
}

/** The header of a record's first version: k = 1, v = 1, no predecessor. */
export function firstHeader(recordId: Uint8Array, author: Author): VersionHeader {
  return { recordId: Uint8Array.from(recordId), k: 1n, v: 1n, prev: new Uint8Array(32), author };
}

/** The header of the version after `current`, sealed under generation `k`. */
export async function nextHeader(current: Envelope, k: bigint, author: Author): Promise<VersionHeader> {
  const v = current.v < U64_MAX ? current.v + 1n : current.v;
  return { recordId: Uint8Array.from(current.recordId), k, v, prev: await envelopeHash(current), author };
}

/**
 * Parses an envelope strictly, refusing in the spec's order: `truncated` (anywhere), `bad_magic`,
 * `bad_author`, `bad_key_generation`, `bad_version`, `bad_prev`, then per box `too_large` and `bad_length`,
 * and `trailing_bytes`. Parsing then serialising gives back the same bytes.
 */
export function parseEnvelope(bytes: Uint8Array): Envelope {
  let pos = 0;
  const take = (n: number): Uint8Array => {
    if (bytes.length - pos < n) throw new ProtocolError("truncated", "envelope is truncated");
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  if (!constantTimeEqual(take(4), MAGIC)) throw new ProtocolError("bad_magic", "not a version 1 envelope (bad magic)");
  const recordId = take(16).slice();
  const k = readU64(take(8), 0);
  const v = readU64(take(8), 0);
  const prev = take(32).slice();
  const author = parseAuthor(take(17));
  const header: VersionHeader = { recordId, k, v, prev, author };
  checkHeader(header);
  const box = (part: string, limit: number): Bytes => {
    const len = readU32(take(4), 0);
    if (len > limit) throw new ProtocolError("too_large", `envelope ${part} is too large (${len} bytes, limit ${limit})`);
    if (len < BOX_OVERHEAD + PAD_BLOCK || (len - BOX_OVERHEAD) % PAD_BLOCK !== 0) {
      throw new ProtocolError("bad_length", `envelope ${part} length is not 28 + a positive multiple of 256`);
    }
    return take(len).slice();
  };
  const body = box("body", MAX_BODY_BOX);
  const summary = box("summary", MAX_SUMMARY_BOX);
  if (pos !== bytes.length) throw new ProtocolError("trailing_bytes", "envelope has bytes after its summary");
  return { ...header, body, summary };
}

/** The envelope's bytes. */
export function serializeEnvelope(env: Envelope): Bytes {
  return concat(MAGIC, versionFields(env), u32(env.body.length), env.body, u32(env.summary.length), env.summary);
}

/** `E = H(envelope)`, the version's identity. */
export async function envelopeHash(env: Envelope): Promise<Bytes> {
  return sha256(serializeEnvelope(env));
}

/** Nonces for reproducible sealing (test vectors only; leave them out and fresh random ones are used). */
export interface SealNonces {
  body: Uint8Array;
  summary: Uint8Array;
}

/**
 * Seals `body` (validated and encoded as `body_json`) and its summary as the version `header`, under
 * `rk` = RK_k: `AEAD(RK_k, pad256(json), AAD("record" | "record-summary", F))`.
 */
export async function sealVersion(rk: Uint8Array, header: VersionHeader, body: RecordBody, nonces?: SealNonces): Promise<Envelope> {
  checkHeader(header);
  const f = versionFields(header);
  const bodyJson = bodyToJson(body);
  const summaryJson = summaryToJson(summaryOf(body));
  const padded = pad256(bodyJson);
  const bodyBox = await seal(rk, padded, aad("record", f), nonces?.body);
  padded.fill(0);
  bodyJson.fill(0);
  const summaryBox = await seal(rk, pad256(summaryJson), aad("record-summary", f), nonces?.summary);
  return { ...copyHeader(header), body: bodyBox, summary: summaryBox };
}

function copyHeader(h: VersionHeader): VersionHeader {
  const author: Author = h.author.kind === "owner" ? OWNER : { kind: "share", shareId: Uint8Array.from(h.author.shareId) };
  return { recordId: Uint8Array.from(h.recordId), k: h.k, v: h.v, prev: Uint8Array.from(h.prev), author };
}

/**
 * Opens and validates the body: `decrypt` under a wrong key or after any change to the box or the header,
 * then `padding_length` / `bad_padding`, then every record rule of §3.3.
 */
export async function openBody(env: Envelope, rk: Uint8Array): Promise<RecordBody> {
  const padded = await open(rk, env.body, aad("record", versionFields(env)));
  try {
    const body = bodyFromJson(unpad256(padded));
    validateBody(body);
    return body;
  } finally {
    padded.fill(0);
  }
}

/** Opens and validates the summary (the list view needs no body). */
export async function openSummary(env: Envelope, rk: Uint8Array): Promise<Summary> {
  const padded = await open(rk, env.summary, aad("record-summary", versionFields(env)));
  return summaryFromJson(unpad256(padded));
}

/**
 * Checks that the sealed summary (what the record list shows) is the summary of `body`, this version's
 * opened body: type, title and subtitle compared as values (`summary_mismatch`). The writer chooses both
 * boxes, so a recipient could otherwise keep an old title in the list while changing the body.
 */
export async function checkSummary(env: Envelope, rk: Uint8Array, body: RecordBody): Promise<void> {
  const listed = await openSummary(env, rk);
  const computed = summaryOf(body);
  if (listed.type !== computed.type || listed.title !== computed.title || listed.subtitle !== computed.subtitle) {
    throw new ProtocolError("summary_mismatch", "the version's summary does not match its body");
  }
}

/** `owner_tag = HMAC(K_own, E)`, the proof on a version the owner writes. */
export async function ownerTag(kOwn: Uint8Array, env: Envelope): Promise<Bytes> {
  return hmacSha256(kOwn, await envelopeHash(env));
}

/** Checks an owner tag in constant time (`verify`). */
export async function verifyOwnerTag(kOwn: Uint8Array, env: Envelope, tag: Uint8Array): Promise<void> {
  await verifyHmac(kOwn, await envelopeHash(env), tag);
}

/** The recipient's proof: the bound device's signature over `"sharelock/v1/edit" ‖ E` (64 bytes r ‖ s). */
export async function signEdit(device: DeviceKey, env: Envelope): Promise<Bytes> {
  return ecdsaSign(device.privateKey, editMessage(await envelopeHash(env)));
}

/** Checks a recipient's edit signature by the raw 65-byte device key (`verify`). */
export async function verifyEdit(publicKey: Uint8Array, env: Envelope, signature: Uint8Array): Promise<void> {
  await ecdsaVerify(publicKey, editMessage(await envelopeHash(env)), signature);
}

/** What the server requires of the next version of a record. */
export interface Expected {
  recordId: Uint8Array;
  /** The current generation (the next one for the owner's rotation). */
  k: bigint;
  /** Current version + 1 (1 for a new record). */
  v: bigint;
  /** H(current envelope), or zeros for a new record. */
  prev: Uint8Array;
  /** The writer: the owner on owner endpoints, the request's share on recipient endpoints. */
  author: Author;
}

/** The expectation for a new record's first version. */
export function expectedFirst(recordId: Uint8Array, author: Author): Expected {
  return firstHeader(recordId, author);
}

/** The expectation for the version after `current`, under generation `k`. */
export async function expectedAfter(current: Envelope, k: bigint, author: Author): Promise<Expected> {
  return nextHeader(current, k, author);
}

/**
 * The server's check of a new version against what it stores, in this order: record (`wrong_record`),
 * author (`wrong_author`), key generation (`wrong_key_generation`), version (`wrong_version`), predecessor
 * (`wrong_prev`).
 */
export function checkExpected(env: Envelope, expected: Expected): void {
  if (!constantTimeEqual(env.recordId, expected.recordId)) throw new ProtocolError("wrong_record", "envelope is for another record");
  if (!sameAuthor(env.author, expected.author)) throw new ProtocolError("wrong_author", "envelope author is not the writer");
  if (env.k !== expected.k) throw new ProtocolError("wrong_key_generation", `envelope key generation ${env.k} is not ${expected.k}`);
  if (env.v !== expected.v) throw new ProtocolError("wrong_version", `envelope version ${env.v} is not ${expected.v}`);
  if (!constantTimeEqual(env.prev, expected.prev)) throw new ProtocolError("wrong_prev", "envelope predecessor is not the current version");
}

/** The highest version a client accepted as current, and its hash E. */
export interface SeenVersion {
  v: bigint;
  hash: Bytes;
}

/**
 * The client's anti-rollback memory for one record (§3.2): having seen `(v_s, E_s)` and key generation `k_s`,
 * it refuses `v < v_s` (`rollback`), `v = v_s` with another E, and `v = v_s + 1` whose prev is not E_s (both
 * `fork`), and `k < k_s` (`key_rollback`), so a malicious server cannot replay an old password as current, nor
 * pass off a write under a key the record rotated away from. Persist `highest()` and `keyGen()` and restore
 * them with `VersionGuard.resume`. Browsing history deliberately bypasses it.
 *
 * The checks are synchronous, so a caller cannot forget to await a refusal: pass `E = await
 * envelopeHash(env)` along with the envelope (WebCrypto only hashes asynchronously).
 */
export class VersionGuard {
  #highest: SeenVersion | undefined;
  #keyGen = 0n;

  /** Nothing seen yet. */
  constructor() {}

  /** Resumes from a stored `(v, E)` and key generation (0 when it was not stored: no generation check until the next accepted version). */
  static resume(v: bigint | number, hash: Uint8Array, keyGen: bigint | number = 0n): VersionGuard {
    if (hash.length !== 32) throw new RangeError("E is 32 bytes");
    const guard = new VersionGuard();
    guard.#highest = { v: BigInt(v), hash: Uint8Array.from(hash) };
    guard.#keyGen = BigInt(keyGen);
    return guard;
  }

  /** The highest `(v, E)` accepted, if any. */
  highest(): SeenVersion | undefined {
    return this.#highest && { v: this.#highest.v, hash: Uint8Array.from(this.#highest.hash) };
  }

  /** The highest key generation accepted (0 before any). */
  keyGen(): bigint {
    return this.#keyGen;
  }

  /** Whether `env` (whose hash is `hash`) may be shown as current, without remembering it. */
  check(env: Envelope, hash: Uint8Array): void {
    if (hash.length !== 32) throw new RangeError("E is 32 bytes");
    const seen = this.#highest;
    const v = env.v;
    if (seen !== undefined) {
      if (v < seen.v) throw new ProtocolError("rollback", `version ${v} is older than version ${seen.v} already seen`);
      if ((v === seen.v && !constantTimeEqual(hash, seen.hash)) || (v === seen.v + 1n && !constantTimeEqual(env.prev, seen.hash))) {
        throw new ProtocolError("fork", `version ${v} conflicts with the history already seen`);
      }
    }
    if (env.k < this.#keyGen) throw new ProtocolError("key_rollback", `key generation ${env.k} is older than generation ${this.#keyGen} already seen`);
  }

  /** Checks `env` (whose hash is `hash`) and, if it is newer than anything seen, remembers it (and its key generation, if higher). */
  accept(env: Envelope, hash: Uint8Array): void {
    this.check(env, hash);
    if (this.#highest === undefined || env.v > this.#highest.v) this.#highest = { v: env.v, hash: Uint8Array.from(hash) };
    if (env.k > this.#keyGen) this.#keyGen = env.k;
  }
}
