// The recipient's device key (§4.3): ECDSA P-256, signatures as WebCrypto's 64-byte r ‖ s.
import { concat, toB64u, utf8, type Bytes } from "./bytes";
import { sha256 } from "./crypto";
import { ProtocolError } from "./errors";

const subtle = globalThis.crypto.subtle;
const P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;

/** Length of an uncompressed SEC1 P-256 point. */
export const DEVICE_KEY_LEN = 65;
/** Length of an r ‖ s signature. */
export const SIGNATURE_LEN = 64;

/** A device key pair: the private half is non-extractable, the public half is known as raw SEC1 bytes. */
export interface DeviceKey {
  privateKey: CryptoKey;
  publicKey: Bytes;
}

/** Makes a fresh device key pair whose private key can never leave WebCrypto. */
export async function generateDeviceKey(): Promise<DeviceKey> {
  const pair = await subtle.generateKey(P256, false, ["sign", "verify"]);
  const publicKey = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey };
}

/** Imports a 65-byte uncompressed P-256 point; anything else is refused (`bad_device_key`). */
export async function importDevicePublicKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== DEVICE_KEY_LEN || raw[0] !== 0x04) throw new ProtocolError("bad_device_key", "not an uncompressed P-256 point");
  try {
    return await subtle.importKey("raw", raw as Bytes, P256, true, ["verify"]);
  } catch {
    throw new ProtocolError("bad_device_key", "not a point on P-256");
  }
}

/** Signs `message` with ECDSA P-256 / SHA-256: 64 bytes r ‖ s. */
export async function ecdsaSign(privateKey: CryptoKey, message: Uint8Array): Promise<Bytes> {
  return new Uint8Array(await subtle.sign(SIGN, privateKey, message as Bytes));
}

/** Verifies a 64-byte r ‖ s signature by the raw public key; refuses with `verify`. */
export async function ecdsaVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<void> {
  if (signature.length !== SIGNATURE_LEN) throw new ProtocolError("verify", "a signature is 64 bytes");
  const key = await importDevicePublicKey(publicKey);
  const ok = await subtle.verify(SIGN, key, signature as Bytes, message as Bytes);
  if (!ok) throw new ProtocolError("verify", "signature does not verify");
}

/** `keyid = b64u(H(device_key))`. */
export async function deviceKeyId(publicKey: Uint8Array): Promise<string> {
  return toB64u(await sha256(publicKey));
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** The fingerprint people compare by voice: 80 bits of H(device_key) as `xxxx-xxxx-xxxx-xxxx` base32. */
export async function deviceFingerprint(publicKey: Uint8Array): Promise<string> {
  const digest = await sha256(publicKey);
  let bits = 0n;
  for (const byte of digest.subarray(0, 10)) bits = (bits << 8n) | BigInt(byte);
  let text = "";
  for (let i = 15; i >= 0; i--) text += BASE32[Number((bits >> BigInt(i * 5)) & 31n)];
  return `${text.slice(0, 4)}-${text.slice(4, 8)}-${text.slice(8, 12)}-${text.slice(12)}`;
}

/** The message a recipient's device signs for a version: `"sharelock/v1/edit" ‖ E`. */
export function editMessage(envelopeHash: Uint8Array): Bytes {
  return concat(utf8("sharelock/v1/edit"), envelopeHash);
}
