// Shares (§4.1, §4.3): everything derived from the link secret S (and a passphrase), bind tags, and the
// owner's sealed copies of S ‖ S′ (bound to the share's record and editability) and of the share's label.
import { aad, shareGrantAad } from "./aad";
import { concat, constantTimeEqual, fromUtf8, utf8, type Bytes } from "./bytes";
import { hkdf, hmacSha256, open, seal, sha256, verifyHmac } from "./crypto";
import { ProtocolError } from "./errors";
import { argon2idKey, DEFAULT_KDF, type KdfParams } from "./kdf";

/** The Argon2id cost of a link passphrase is fixed by link version 1: the account default. */
export const LINK_V1_PASSPHRASE_PARAMS: Readonly<KdfParams> = DEFAULT_KDF;
/** The longest share label, in bytes of UTF-8. */
export const MAX_LABEL_LEN = 256;

function checkSecret(s: Uint8Array): void {
  if (s.length !== 32) throw new RangeError("a link secret is 32 bytes");
}

function checkShareId(shareId: Uint8Array): void {
  if (shareId.length !== 16) throw new RangeError("a share id is 16 bytes");
}

/** `share_id = HKDF(S, "sharelock/v1/share-id")[0..16]`: depends on S alone, so the server can count wrong passphrases per share. */
export async function shareIdOf(s: Uint8Array): Promise<Bytes> {
  checkSecret(s);
  return (await hkdf(s, "sharelock/v1/share-id")).slice(0, 16);
}

/** The passphrase's Argon2id salt: `HKDF(S, "sharelock/v1/pass-salt")[0..16]`. */
export async function passphraseSalt(s: Uint8Array): Promise<Bytes> {
  checkSecret(s);
  return (await hkdf(s, "sharelock/v1/pass-salt")).slice(0, 16);
}

/** Every value a client derives from a link (and its passphrase), computed once. */
export interface ShareKeys {
  /** S. */
  secret: Bytes;
  shareId: Bytes;
  /** S′: S itself without a passphrase. */
  root: Bytes;
  /** SK: wraps RK_k for this share. */
  shareKey: Bytes;
  /** T: proves knowledge of S′ to the server. */
  accessToken: Bytes;
  /** H(T): what the server stores. */
  accessHash: Bytes;
  /** BK: the key of bind_tag. */
  bindKey: Bytes;
  /** Whether S′ ≠ S, i.e. the link carries the flag `p`. */
  hasPassphrase: boolean;
}

async function keysFrom(secret: Uint8Array, root: Uint8Array): Promise<ShareKeys> {
  const accessToken = await hkdf(root, "sharelock/v1/share-access");
  return {
    secret: Uint8Array.from(secret),
    shareId: await shareIdOf(secret),
    root: Uint8Array.from(root),
    shareKey: await hkdf(root, "sharelock/v1/share-key"),
    accessToken,
    accessHash: await sha256(accessToken),
    bindKey: await hkdf(root, "sharelock/v1/bind"),
    // Judged from the keys themselves, as the Rust core does, so an opened owner secret answers the same.
    hasPassphrase: !constantTimeEqual(secret, root),
  };
}

/**
 * Derives S′, SK, T, H(T) and BK from S and, for a `p` link, the passphrase (one Argon2id run:
 * `A = Argon2id(NFC(passphrase), pass_salt)`, `S′ = HKDF(ikm = A, salt = S, "sharelock/v1/share-root")`).
 * An empty passphrase is refused (`malformed`): a link marked `p` always needs one.
 */
export async function deriveShareKeys(s: Uint8Array, passphrase?: string): Promise<ShareKeys> {
  checkSecret(s);
  if (passphrase === undefined) return keysFrom(s, s);
  if (passphrase.length === 0) throw new ProtocolError("malformed", "the passphrase is empty");
  const a = await argon2idKey(passphrase, await passphraseSalt(s), LINK_V1_PASSPHRASE_PARAMS);
  const root = await hkdf(a, "sharelock/v1/share-root", s);
  a.fill(0);
  return keysFrom(s, root);
}

/** `bind_tag = HMAC(BK, share_id ‖ device_key)`, device_key the 65-byte SEC1 point. */
export async function bindTag(bk: Uint8Array, shareId: Uint8Array, deviceKey: Uint8Array): Promise<Bytes> {
  checkShareId(shareId);
  return hmacSha256(bk, concat(shareId, deviceKey));
}

/** Verifies a bind tag in constant time (`verify`): proof that the device key was registered by a holder of S′. */
export async function verifyBindTag(bk: Uint8Array, shareId: Uint8Array, deviceKey: Uint8Array, tag: Uint8Array): Promise<void> {
  checkShareId(shareId);
  await verifyHmac(bk, concat(shareId, deviceKey), tag);
}

/** The facts of a share the owner's sealed copy of its secrets authenticates (§4.1). */
export interface ShareGrant {
  /** The shared record's 16 bytes. */
  recordId: Bytes;
  /** Whether the recipient may write the record. */
  editable: boolean;
}

/**
 * What an opened owner secret authenticates: its grant, or nothing (`legacy`: sealed before share facts were
 * authenticated, so its record and editability are only the server's word).
 */
export type ShareFacts = { kind: "granted"; grant: ShareGrant } | { kind: "legacy" };

function checkRecordId(recordId: Uint8Array): void {
  if (recordId.length !== 16) throw new RangeError("a record id is 16 bytes");
}

/**
 * The owner's copy of the share's secrets, bound to its facts:
 * `AEAD(DK, S ‖ S′, AAD("share-grant", share_id ‖ record_id ‖ u8(editable)))` (92 bytes), so the owner can
 * show the link again, verify bind tags and rewrap on rotation without the passphrase, and believes the
 * share's record and editability only from this box.
 */
export async function sealOwnerSecret(dk: Uint8Array, keys: ShareKeys, grant: ShareGrant, nonce?: Uint8Array): Promise<Bytes> {
  checkRecordId(grant.recordId);
  const plain = concat(keys.secret, keys.root);
  try {
    return await seal(dk, plain, shareGrantAad(keys.shareId, grant.recordId, grant.editable), nonce);
  } finally {
    plain.fill(0);
  }
}

async function openSealed(dk: Uint8Array, sealed: Uint8Array, shareId: Uint8Array, ad: Uint8Array): Promise<ShareKeys> {
  const plain = await open(dk, sealed, ad);
  try {
    if (plain.length !== 64) throw new ProtocolError("malformed", "an owner secret is 64 bytes");
    const secret = plain.subarray(0, 32);
    if (!constantTimeEqual(await shareIdOf(secret), shareId)) {
      throw new ProtocolError("malformed", "S does not derive this share id");
    }
    return await keysFrom(secret, plain.subarray(32));
  } finally {
    plain.fill(0);
  }
}

/**
 * Opens the owner's copy sealed with exactly `grant` and rebuilds every derived value. Refuses a box that
 * does not open for `shareId` and `grant` (`decrypt`), and one whose S does not derive `shareId`
 * (`malformed`): a server could otherwise pair another share's secrets with this share.
 */
export async function openOwnerSecret(dk: Uint8Array, sealed: Uint8Array, shareId: Uint8Array, grant: ShareGrant): Promise<ShareKeys> {
  checkShareId(shareId);
  checkRecordId(grant.recordId);
  return openSealed(dk, sealed, shareId, shareGrantAad(shareId, grant.recordId, grant.editable));
}

/** Opens an owner secret sealed before share facts were authenticated (`AAD("share-secret", share_id)`); never written. */
export async function openLegacyOwnerSecret(dk: Uint8Array, sealed: Uint8Array, shareId: Uint8Array): Promise<ShareKeys> {
  checkShareId(shareId);
  return openSealed(dk, sealed, shareId, aad("share-secret", shareId));
}

/**
 * Opens the owner secret of a share the server lists under `recordId` with editability `claimedEditable`, and
 * says what it authenticates: the grant with the claimed editability, then the other one, then the legacy
 * form. A share of another record, or another share's box, opens under none (`decrypt`).
 */
export async function openOwnerSecretOf(
  dk: Uint8Array,
  sealed: Uint8Array,
  shareId: Uint8Array,
  recordId: Uint8Array,
  claimedEditable: boolean,
): Promise<{ keys: ShareKeys; facts: ShareFacts }> {
  for (const editable of [claimedEditable, !claimedEditable]) {
    const grant = { recordId: Uint8Array.from(recordId), editable };
    try {
      return { keys: await openOwnerSecret(dk, sealed, shareId, grant), facts: { kind: "granted", grant } };
    } catch (e) {
      if (!(e instanceof ProtocolError && e.kind === "decrypt")) throw e;
    }
  }
  return { keys: await openLegacyOwnerSecret(dk, sealed, shareId), facts: { kind: "legacy" } };
}

/** The owner's label of a share: `AEAD(DK, UTF-8(label), AAD("share-label", share_id))`, at most 256 bytes (`too_large`). */
export async function sealLabel(dk: Uint8Array, shareId: Uint8Array, label: string, nonce?: Uint8Array): Promise<Bytes> {
  checkShareId(shareId);
  const bytes = utf8(label);
  if (bytes.length > MAX_LABEL_LEN) throw new ProtocolError("too_large", `a share label is at most ${MAX_LABEL_LEN} bytes`);
  return seal(dk, bytes, aad("share-label", shareId), nonce);
}

/** Opens a share label; the length limit is checked again (`too_large`), and the text must be UTF-8 (`malformed`). */
export async function openLabel(dk: Uint8Array, shareId: Uint8Array, sealed: Uint8Array): Promise<string> {
  checkShareId(shareId);
  const plain = await open(dk, sealed, aad("share-label", shareId));
  if (plain.length > MAX_LABEL_LEN) throw new ProtocolError("too_large", `a share label is at most ${MAX_LABEL_LEN} bytes`);
  return fromUtf8(plain, "malformed");
}
