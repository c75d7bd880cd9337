// Who wrote a version, as the owner's client establishes it (docs/protocol.md §7.5): the server's listing
// turned into what the protocol's attribution (../protocol/attribution.ts) checks, with this browser's memory
// of ended shares. The server's word on authorship counts for nothing by itself.
import { attribute, Unattributed, type ListedShare, type UnattributedKind } from "../protocol/attribution";
import { fromB64u, uuidToBytes, type Bytes } from "../protocol/bytes";
import { verifyHmacWith } from "../protocol/crypto";
import type { Envelope } from "../protocol/envelope";
import type { ApiAuthor, ShareInfo } from "./owner-api";

/** The outcome for one version. Anything but `owner` or `recipient` is never resealed or built upon. */
export type Verification =
  | { kind: "owner" }
  | { kind: "recipient"; handle: string; fingerprint: string }
  | { kind: "unverified"; reason: string; code?: UnattributedKind };

/** The key the checks need: DK opens owner secrets and gives K_own. */
export interface VerifyKeys {
  dk: Uint8Array;
}

export function isVerified(v: Verification): boolean {
  return v.kind !== "unverified";
}

/** What the attribution checks use of a listed share (null if the server sent malformed values). */
export function listedShare(share: ShareInfo): ListedShare | null {
  try {
    return {
      shareId: fromB64u(share.share_id),
      ownerSecret: fromB64u(share.owner_secret),
      deviceKey: share.device_key === null ? null : fromB64u(share.device_key),
      bindTag: share.bind_tag === null ? null : fromB64u(share.bind_tag),
    };
  } catch {
    return null;
  }
}

/**
 * Establishes who wrote `envelope` (whose header the caller already matched against the server's record
 * id, version and generation). `shares` are the owner's shares (of this record or all); `endedAfter` is
 * this browser's memory of ended shares (the record's version when it saw the share end).
 */
export async function verifyVersion(
  keys: VerifyKeys,
  recordId: string,
  envelope: Envelope,
  proof: Uint8Array,
  author: ApiAuthor,
  shares: readonly ShareInfo[],
  endedAfter: (shareId: Bytes) => bigint | undefined = () => undefined,
): Promise<Verification> {
  const listed = author.kind === "share" ? shares.find((s) => s.handle === author.share) : undefined;
  const server = author.kind === "owner" ? ({ kind: "owner" } as const) : ({ kind: "share", share: listed ? listedShare(listed) : null } as const);
  const ended = envelope.author.kind === "share" ? endedAfter(envelope.author.shareId) : undefined;
  try {
    const result = await attribute(keys.dk, uuidToBytes(recordId), envelope, proof, server, ended);
    if (result.kind === "owner") return result;
    return { kind: "recipient", handle: author.kind === "share" ? author.share : "", fingerprint: result.fingerprint };
  } catch (e) {
    if (e instanceof Unattributed) return { kind: "unverified", reason: e.message, code: e.kind };
    throw e;
  }
}

/**
 * `verifyVersion` for a version that both the server and its envelope say the owner wrote, with K_own
 * imported once (`importHmacKey`) and `E` already computed: attribution's owner rule (an owner tag only
 * DK's holder can make), for the record list, which checks thousands of versions at once.
 */
export async function verifyOwnerVersion(kOwn: CryptoKey, hash: Uint8Array, proof: Uint8Array): Promise<Verification> {
  try {
    await verifyHmacWith(kOwn, hash, proof);
    return { kind: "owner" };
  } catch {
    return { kind: "unverified", reason: "the owner tag does not verify", code: "owner_tag" };
  }
}
