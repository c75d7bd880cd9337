// Who wrote a version, as the owner's client establishes it (docs/protocol.md §7.5), mirroring the Rust core's
// `attribution` module. The server's word counts for nothing by itself: an owner version must carry an HMAC
// only DK's holder can make; a recipient version must be signed by a device whose bind tag only a holder of
// the link's S′ can make, through a share whose owner secret opens as an editable share of this very record
// (the facts sealed at creation), and which this client does not remember as ended before that version.
import { constantTimeEqual, type Bytes } from "./bytes";
import { deviceFingerprint, importDevicePublicKey } from "./device";
import { verifyEdit, verifyOwnerTag, type Envelope } from "./envelope";
import { ProtocolError } from "./errors";
import { ownerKey } from "./kdf";
import { openOwnerSecretOf, verifyBindTag } from "./share";

/** A share as the server lists it to its owner: only what the checks use. */
export interface ListedShare {
  shareId: Bytes;
  ownerSecret: Bytes;
  /** Null before the share was opened. */
  deviceKey: Bytes | null;
  bindTag: Bytes | null;
}

/** Who the server says wrote a version; a share the listing lacks is `share: null`. */
export type ServerAuthor = { kind: "owner" } | { kind: "share"; share: ListedShare | null };

/** An established author. */
export type Attribution = { kind: "owner" } | { kind: "recipient"; fingerprint: string };

/** The reasons, by their stable names (the test vectors use them). */
export type UnattributedKind =
  | "author_mismatch"
  | "owner_tag"
  | "unknown_share"
  | "wrong_share"
  | "share_facts"
  | "legacy_share"
  | "read_only"
  | "share_ended"
  | "not_opened"
  | "bind_tag"
  | "bad_device_key"
  | "edit_signature";

/** Why a version could not be attributed. */
export class Unattributed extends Error {
  constructor(
    readonly kind: UnattributedKind,
    message: string,
  ) {
    super(message);
    this.name = "Unattributed";
  }
}

function refuse(kind: UnattributedKind, message: string): never {
  throw new Unattributed(kind, message);
}

/**
 * Establishes who wrote `envelope` (a version of the record with id bytes `recordId`, with `proof`), in the
 * order of §7.5; throws `Unattributed` with the reason. `endedAfter` is this client's memory for the
 * envelope's share: the record's version when it learnt that the share ended, if it did.
 */
export async function attribute(
  dk: Uint8Array,
  recordId: Uint8Array,
  envelope: Envelope,
  proof: Uint8Array,
  author: ServerAuthor,
  endedAfter: bigint | undefined,
): Promise<Attribution> {
  if (envelope.author.kind === "owner" && author.kind === "owner") {
    const kOwn = await ownerKey(dk);
    try {
      await verifyOwnerTag(kOwn, envelope, proof);
    } catch {
      refuse("owner_tag", "the owner tag does not verify");
    } finally {
      kOwn.fill(0);
    }
    return { kind: "owner" };
  }
  if (envelope.author.kind !== "share" || author.kind !== "share") refuse("author_mismatch", "the server's author does not match the version's");
  const shareId = envelope.author.shareId;
  const share = author.share ?? refuse("unknown_share", "written through a share that is not listed");
  if (!constantTimeEqual(share.shareId, shareId)) refuse("wrong_share", "the version names another share than the server says");
  let opened: Awaited<ReturnType<typeof openOwnerSecretOf>>;
  try {
    opened = await openOwnerSecretOf(dk, share.ownerSecret, shareId, recordId, true);
  } catch {
    return refuse("share_facts", "the share's sealed facts do not make it a share of this record");
  }
  if (opened.facts.kind === "legacy") refuse("legacy_share", "the share was created before its facts were authenticated, so its editability is unproven");
  if (!opened.facts.grant.editable) refuse("read_only", "written through a read-only share");
  if (endedAfter !== undefined && envelope.v > endedAfter) refuse("share_ended", `written through a share that had ended (after version ${endedAfter})`);
  if (share.deviceKey === null || share.bindTag === null) refuse("not_opened", "written through a share no device has opened");
  const deviceKey = share.deviceKey;
  try {
    await verifyBindTag(opened.keys.bindKey, shareId, deviceKey, share.bindTag);
  } catch {
    refuse("bind_tag", "the device's bind tag does not verify");
  }
  try {
    await importDevicePublicKey(deviceKey);
  } catch {
    refuse("bad_device_key", "the device key is not a valid public key");
  }
  try {
    await verifyEdit(deviceKey, envelope, proof);
  } catch (e) {
    if (e instanceof ProtocolError) refuse("edit_signature", "the device signature does not verify");
    throw e;
  }
  return { kind: "recipient", fingerprint: await deviceFingerprint(deviceKey) };
}
