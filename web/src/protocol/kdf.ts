// Account keys (§2) and record-key wraps (§3.1): Argon2id master key, AK/WK, the data key and K_own.
import { argon2id } from "hash-wasm";
import { aad, recordKeyAad, shareRecordKeyAad } from "./aad";
import { concat, utf8, type Bytes } from "./bytes";
import { hkdf, openWith, sha256, unwrapKey, wrapKey } from "./crypto";
import { ProtocolError } from "./errors";

/** Argon2id cost parameters as stored per account: `{"alg":"argon2id","m":<KiB>,"t":<passes>,"p":<lanes>}`. */
export interface KdfParams {
  alg: string;
  m: number;
  t: number;
  p: number;
}

/** RFC 9106's second recommended option; also the floor a client accepts and the link-v1 passphrase cost. */
export const DEFAULT_KDF: Readonly<KdfParams> = Object.freeze({ alg: "argon2id", m: 65_536, t: 3, p: 4 });

/** Bounds a client enforces (§2.1): the floor stops a server-side downgrade, the ceiling a memory bomb. */
export const KDF_LIMITS = Object.freeze({ minM: 65_536, maxM: 1_048_576, minT: 3, maxT: 16, minP: 1, maxP: 16 });

/** Refuses (`kdf_params`) parameters weaker than the default or large enough to exhaust the client. */
export function checkKdfParams(params: KdfParams): void {
  const { alg, m, t, p } = params;
  const isU32 = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= 0xffff_ffff;
  if (alg !== "argon2id") throw new ProtocolError("kdf_params", "the only algorithm is argon2id");
  if (!isU32(m) || !isU32(t) || !isU32(p)) throw new ProtocolError("kdf_params", "parameters are 32-bit unsigned integers");
  if (m < KDF_LIMITS.minM) throw new ProtocolError("kdf_params", `memory ${m} KiB is below the minimum`);
  if (m > KDF_LIMITS.maxM) throw new ProtocolError("kdf_params", `memory ${m} KiB is above the maximum`);
  if (t < KDF_LIMITS.minT) throw new ProtocolError("kdf_params", `${t} passes is below the minimum`);
  if (t > KDF_LIMITS.maxT) throw new ProtocolError("kdf_params", `${t} passes is above the maximum`);
  if (p < KDF_LIMITS.minP || p > KDF_LIMITS.maxP) throw new ProtocolError("kdf_params", `${p} lanes is outside 1..=16`);
}

/**
 * `email_n`: NFC, then only ASCII A–Z lowercased. Full Unicode case folding differs between Unicode
 * versions and libraries, so it would make the salt (and the key) depend on the client. Never trimmed.
 */
export function normalizeEmail(email: string): string {
  return email.normalize("NFC").replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** A password or passphrase as it enters Argon2id: NFC, never trimmed (a space is part of it). */
export function normalizeSecret(text: string): string {
  return text.normalize("NFC");
}

/**
 * The account's Argon2id salt: `H("sharelock/v1/kdf-salt" ‖ UTF-8(email_n) ‖ r16)`. The email is
 * normalised here too (idempotent), so every spelling of one address derives the same salt.
 */
export async function kdfSalt(email: string, r16: Uint8Array): Promise<Bytes> {
  if (r16.length !== 16) throw new RangeError("r16 is 16 bytes");
  return sha256(concat(utf8("sharelock/v1/kdf-salt"), utf8(normalizeEmail(email)), r16));
}

/**
 * Argon2id v0x13 with a 32-byte tag over the NFC UTF-8 of `text`, without checking the parameters
 * (callers do: accounts check the server's values, link passphrases use fixed ones).
 */
export async function argon2idKey(text: string, salt: Uint8Array, params: KdfParams): Promise<Bytes> {
  const out = await argon2id({
    password: utf8(normalizeSecret(text)),
    salt,
    iterations: params.t,
    parallelism: params.p,
    memorySize: params.m,
    hashLength: 32,
    outputType: "binary",
  });
  return new Uint8Array(out);
}

/** `MK = Argon2id(NFC(password), salt, m, t, p)`, after refusing parameters a client must not use. */
export async function masterKey(password: string, salt: Uint8Array, params: KdfParams): Promise<Bytes> {
  checkKdfParams(params);
  return argon2idKey(password, salt, params);
}

/** What the master key yields: the login proof AK, its hash (what the server stores) and the wrapping key WK. */
export interface AccountKeys {
  authKey: Bytes;
  wrapKey: Bytes;
  authHash: Bytes;
}

/** `AK = HKDF(MK, "sharelock/v1/auth")`, `WK = HKDF(MK, "sharelock/v1/wrap")`, `H(AK)`: separate outputs, so AK reveals nothing of WK. */
export async function accountKeys(mk: Uint8Array): Promise<AccountKeys> {
  const authKey = await hkdf(mk, "sharelock/v1/auth");
  const wk = await hkdf(mk, "sharelock/v1/wrap");
  return { authKey, wrapKey: wk, authHash: await sha256(authKey) };
}

/** `K_own = HKDF(DK, "sharelock/v1/owner-auth")`: authenticates the owner's versions. */
export async function ownerKey(dk: Uint8Array): Promise<Bytes> {
  return hkdf(dk, "sharelock/v1/owner-auth");
}

function dataKeyAad(r16: Uint8Array): Bytes {
  if (r16.length !== 16) throw new RangeError("r16 is 16 bytes");
  return aad("data-key", r16);
}

function checkId(id: Uint8Array, what: string): void {
  if (id.length !== 16) throw new RangeError(`${what} is 16 bytes`);
}

/** `wrapped_dk = AEAD(WK, DK, AAD("data-key", r16))`. The nonce is random unless given (test vectors). */
export async function wrapDataKey(wk: Uint8Array, dk: Uint8Array, r16: Uint8Array, nonce?: Uint8Array): Promise<Bytes> {
  return wrapKey(wk, dk, dataKeyAad(r16), nonce);
}

/** Opens `wrapped_dk`; a wrong password (WK), another account's r16 or any change fails with `decrypt`. */
export async function unwrapDataKey(wk: Uint8Array, wrapped: Uint8Array, r16: Uint8Array): Promise<Bytes> {
  return unwrapKey(wk, wrapped, dataKeyAad(r16));
}

/** The owner's copy of RK_k: `AEAD(DK, RK_k, AAD("record-key", record_id ‖ u64(k)))`. */
export async function wrapRecordKey(
  dk: Uint8Array,
  recordId: Uint8Array,
  k: bigint | number,
  rk: Uint8Array,
  nonce?: Uint8Array,
): Promise<Bytes> {
  checkId(recordId, "a record id");
  return wrapKey(dk, rk, recordKeyAad(recordId, k), nonce);
}

/** Opens the owner's copy of RK_k (`decrypt` under another key, record or generation). */
export async function unwrapRecordKey(dk: Uint8Array, recordId: Uint8Array, k: bigint | number, wrapped: Uint8Array): Promise<Bytes> {
  checkId(recordId, "a record id");
  return unwrapKey(dk, wrapped, recordKeyAad(recordId, k));
}

/** `unwrapRecordKey` under DK imported once (`importOpenKey`), for opening many records' keys. */
export async function unwrapRecordKeyWith(dk: CryptoKey, recordId: Uint8Array, k: bigint | number, wrapped: Uint8Array): Promise<Bytes> {
  checkId(recordId, "a record id");
  const key = await openWith(dk, wrapped, recordKeyAad(recordId, k));
  if (key.length !== 32) throw new ProtocolError("decrypt", "a wrapped key opens to 32 bytes");
  return key;
}

/** A recipient's copy of RK_k: `AEAD(SK, RK_k, AAD("share-record-key", share_id ‖ record_id ‖ u64(k)))`. */
export async function wrapRecordKeyForShare(
  sk: Uint8Array,
  shareId: Uint8Array,
  recordId: Uint8Array,
  k: bigint | number,
  rk: Uint8Array,
  nonce?: Uint8Array,
): Promise<Bytes> {
  checkId(shareId, "a share id");
  checkId(recordId, "a record id");
  return wrapKey(sk, rk, shareRecordKeyAad(shareId, recordId, k), nonce);
}

/** Opens a recipient's copy of RK_k; the distinct AAD kind keeps it apart from the owner's wrap. */
export async function unwrapRecordKeyForShare(
  sk: Uint8Array,
  shareId: Uint8Array,
  recordId: Uint8Array,
  k: bigint | number,
  wrapped: Uint8Array,
): Promise<Bytes> {
  checkId(shareId, "a share id");
  checkId(recordId, "a record id");
  return unwrapKey(sk, wrapped, shareRecordKeyAad(shareId, recordId, k));
}
