// Who wrote a version, as the owner's client establishes it (docs/protocol.md §7.5). The server's word on
// authorship counts for nothing by itself: the owner's versions carry an HMAC only DK's holder can make, a
// recipient's carry the signature of a device whose bind tag only a holder of the link's S′ can make.
import { constantTimeEqual, fromB64u } from "../protocol/bytes";
import { deviceFingerprint } from "../protocol/device";
import { verifyEdit, verifyOwnerTag, type Envelope } from "../protocol/envelope";
import { ProtocolError } from "../protocol/errors";
import { openOwnerSecret, verifyBindTag } from "../protocol/share";
import type { ApiAuthor, ShareInfo } from "./owner-api";

/** The outcome for one version. Anything but `owner` or `recipient` is never resealed or built upon. */
export type Verification =
  | { kind: "owner" }
  | { kind: "recipient"; handle: string; fingerprint: string }
  | { kind: "unverified"; reason: string };

/** The keys the checks need: DK opens owner secrets, K_own checks owner tags. */
export interface VerifyKeys {
  dk: Uint8Array;
  kOwn: Uint8Array;
}

export function isVerified(v: Verification): boolean {
  return v.kind !== "unverified";
}

/** Refusals carry a reason for people; the throw keeps each check one line. */
class Refused extends Error {}

function refuse(reason: string): never {
  throw new Refused(reason);
}

/**
 * Establishes who wrote `envelope` (whose header the caller already matched against the server's record
 * id, version and generation). `shares` are the owner's shares (of this record or all); a recipient's
 * version is attributed only through an editable share of this very record whose device verifies.
 */
export async function verifyVersion(
  keys: VerifyKeys,
  recordId: string,
  envelope: Envelope,
  proof: Uint8Array,
  author: ApiAuthor,
  shares: readonly ShareInfo[],
): Promise<Verification> {
  try {
    if (envelope.author.kind === "owner" && author.kind === "owner") {
      await verifyOwnerTag(keys.kOwn, envelope, proof).catch(() => refuse("the owner tag does not verify"));
      return { kind: "owner" };
    }
    if (envelope.author.kind === "share" && author.kind === "share") {
      const shareId = envelope.author.shareId;
      const share = shares.find((s) => s.handle === author.share) ?? refuse("written through a share that is no longer listed");
      if (share.record_id !== recordId) refuse("written through a share of another record");
      if (!share.editable) refuse("written through a read-only share");
      if (!constantTimeEqual(decode(share.share_id), shareId)) refuse("the version names another share than the server says");
      if (share.device_key === null || share.bind_tag === null) refuse("written through a share no device has opened");
      const deviceKey = decode(share.device_key);
      const shareKeys = await openOwnerSecret(keys.dk, decode(share.owner_secret), shareId).catch(() =>
        refuse("the share's secrets do not open for this version's share"),
      );
      await verifyBindTag(shareKeys.bindKey, shareId, deviceKey, decode(share.bind_tag)).catch(() => refuse("the device's bind tag does not verify"));
      await verifyEdit(deviceKey, envelope, proof).catch(() => refuse("the device signature does not verify"));
      return { kind: "recipient", handle: share.handle, fingerprint: await deviceFingerprint(deviceKey) };
    }
    return { kind: "unverified", reason: "the server's author does not match the version's" };
  } catch (e) {
    if (e instanceof Refused) return { kind: "unverified", reason: e.message };
    if (e instanceof ProtocolError) return { kind: "unverified", reason: `a value failed a check (${e.kind})` };
    throw e;
  }
}

function decode(text: string): Uint8Array {
  try {
    return fromB64u(text);
  } catch {
    return refuse("the server sent a malformed value");
  }
}
