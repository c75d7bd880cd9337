// The primitives of §1 on WebCrypto: SHA-256, HMAC-SHA256, HKDF-SHA256, AES-256-GCM sealed boxes.
import { concat, constantTimeEqual, randomBytes, type Bytes } from "./bytes";
import { ProtocolError } from "./errors";

const subtle = globalThis.crypto.subtle;

/** Overhead of a sealed box: 12-byte nonce and 16-byte tag. */
export const BOX_OVERHEAD = 28;
/** AES-GCM nonce length. */
export const NONCE_LEN = 12;

/** `H(x)`: SHA-256. */
export async function sha256(data: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await subtle.digest("SHA-256", data as Bytes));
}

/** `HMAC(k, x)`: HMAC-SHA256. */
export async function hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Bytes> {
  const k = await subtle.importKey("raw", key as Bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", k, data as Bytes));
}

/** An HMAC-SHA256 key imported once to check many tags with `verifyHmacWith`. */
export function importHmacKey(key: Uint8Array): Promise<CryptoKey> {
  return subtle.importKey("raw", key as Bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/** `verifyHmac` under a key from `importHmacKey`. */
export async function verifyHmacWith(k: CryptoKey, data: Uint8Array, tag: Uint8Array): Promise<void> {
  const expected = new Uint8Array(await subtle.sign("HMAC", k, data as Bytes));
  if (!constantTimeEqual(expected, tag)) throw new ProtocolError("verify", "tag does not verify");
}

/** Verifies an HMAC-SHA256 tag in constant time; refuses with `verify`. */
export async function verifyHmac(key: Uint8Array, data: Uint8Array, tag: Uint8Array): Promise<void> {
  const expected = await hmacSha256(key, data);
  if (!constantTimeEqual(expected, tag)) throw new ProtocolError("verify", "tag does not verify");
}

/**
 * `HKDF(ikm, info)` or, with `salt`, `HKDF(ikm, salt, info)`: HKDF-SHA256 to `length` bytes (32 unless
 * told). An empty salt is the same as 32 zero bytes (HMAC pads its key with zeros).
 */
export async function hkdf(ikm: Uint8Array, info: Uint8Array | string, salt?: Uint8Array, length = 32): Promise<Bytes> {
  const key = await subtle.importKey("raw", ikm as Bytes, "HKDF", false, ["deriveBits"]);
  const infoBytes = typeof info === "string" ? new TextEncoder().encode(info) : info;
  const bits = await subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: (salt ?? new Uint8Array(0)) as Bytes, info: infoBytes as Bytes },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

async function aesKey(key: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  if (key.length !== 32) throw new ProtocolError("key_length", "AES-256 keys are 32 bytes");
  return subtle.importKey("raw", key as Bytes, "AES-GCM", false, [usage]);
}

/** `AEAD(k, pt, aad)`: `nonce ‖ ciphertext ‖ tag`. The nonce is random unless given (test vectors). */
export async function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, nonce?: Uint8Array): Promise<Bytes> {
  const iv = nonce ?? randomBytes(NONCE_LEN);
  if (iv.length !== NONCE_LEN) throw new RangeError("a nonce is 12 bytes");
  const k = await aesKey(key, "encrypt");
  const sealed = await subtle.encrypt(
    { name: "AES-GCM", iv: iv as Bytes, additionalData: aad as Bytes, tagLength: 128 },
    k,
    plaintext as Bytes,
  );
  return concat(iv, new Uint8Array(sealed));
}

/** Opens a sealed box; a short box or one that does not authenticate is refused with `decrypt`. */
export async function open(key: Uint8Array, box: Uint8Array, aad: Uint8Array): Promise<Bytes> {
  if (box.length < BOX_OVERHEAD) throw new ProtocolError("decrypt", "sealed box too short");
  return openWith(await aesKey(key, "decrypt"), box, aad);
}

/**
 * An AES-256-GCM key imported once to open many boxes with `openWith` (the record list opens a wrapped
 * key per record under DK): one import instead of one per box.
 */
export function importOpenKey(key: Uint8Array): Promise<CryptoKey> {
  return aesKey(key, "decrypt");
}

/** `open` under a key from `importOpenKey`. */
export async function openWith(k: CryptoKey, box: Uint8Array, aad: Uint8Array): Promise<Bytes> {
  if (box.length < BOX_OVERHEAD) throw new ProtocolError("decrypt", "sealed box too short");
  try {
    const plain = await subtle.decrypt(
      { name: "AES-GCM", iv: box.subarray(0, NONCE_LEN) as Bytes, additionalData: aad as Bytes, tagLength: 128 },
      k,
      box.subarray(NONCE_LEN) as Bytes,
    );
    return new Uint8Array(plain);
  } catch {
    throw new ProtocolError("decrypt", "sealed box does not open");
  }
}

/** A wrapped key: `AEAD(k, key, aad)` of a 32-byte key (a 60-byte box). */
export async function wrapKey(wrappingKey: Uint8Array, key: Uint8Array, aad: Uint8Array, nonce?: Uint8Array): Promise<Bytes> {
  if (key.length !== 32) throw new RangeError("wrapped keys are 32 bytes");
  return seal(wrappingKey, key, aad, nonce);
}

/** Opens a wrapped key; a box that opens to anything but 32 bytes is refused (`decrypt`). */
export async function unwrapKey(wrappingKey: Uint8Array, box: Uint8Array, aad: Uint8Array): Promise<Bytes> {
  const key = await open(wrappingKey, box, aad);
  if (key.length !== 32) throw new ProtocolError("decrypt", "a wrapped key opens to 32 bytes");
  return key;
}
