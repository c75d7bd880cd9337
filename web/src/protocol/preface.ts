// The share preface (§4.6): the sender's chosen display name and the record's type, sealed under
// PK = HKDF(S′, "sharelock/v1/share-preface") with AAD("share-preface", share_id), so the recipient reads it
// with the link's keys before Click to Open and the server holds only opaque bytes.
import { aad } from "./aad";
import { utf8, type Bytes } from "./bytes";
import { BOX_OVERHEAD, hkdf, open, seal } from "./crypto";
import { ProtocolError } from "./errors";
import { isRecordType, pad256, PAD_BLOCK, stringObjectFromJson, unpad256, type RecordType } from "./record";

/** The longest display name, in bytes of UTF-8. */
export const MAX_FROM_LEN = 128;
/** The longest `preface_json`, in bytes. */
export const MAX_PREFACE_JSON = 2 * PAD_BLOCK - 1;
/** The two lengths a sealed preface may have. */
export const SEALED_PREFACE_LENS: readonly number[] = [PAD_BLOCK + BOX_OVERHEAD, 2 * PAD_BLOCK + BOX_OVERHEAD];

/** What the Click to Open page shows. */
export interface SharePreface {
  /** The sender's display name; "" when they gave none. */
  from: string;
  type: RecordType;
}

/** `PK = HKDF(S′, "sharelock/v1/share-preface")`. */
export function prefaceKey(root: Uint8Array): Promise<Bytes> {
  if (root.length !== 32) throw new RangeError("S′ is 32 bytes");
  return hkdf(root, "sharelock/v1/share-preface");
}

/**
 * Characters a name may not hold: Unicode Cc, LINE and PARAGRAPH SEPARATOR, and the bidirectional marks,
 * embeddings, overrides and isolates, which could make the sentence around the name read otherwise.
 */
function isForbidden(cp: number): boolean {
  return (
    cp <= 0x1f ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x061c ||
    cp === 0x200e ||
    cp === 0x200f ||
    (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069)
  );
}

/** A display name: at most 128 bytes (`from_length`), one line of plain text (`from_control`). */
export function checkFrom(from: string): void {
  if (/\p{Cs}/u.test(from)) throw new ProtocolError("json", "text with a lone surrogate has no UTF-8 form");
  if (utf8(from).length > MAX_FROM_LEN) throw new ProtocolError("from_length", `the sender's name is longer than ${MAX_FROM_LEN} bytes`);
  for (const ch of from) {
    if (isForbidden(ch.codePointAt(0)!)) throw new ProtocolError("from_control", "the sender's name contains a control or formatting character");
  }
}

/** Whether `from` passes `checkFrom` (for form state). */
export function isValidFrom(from: string): boolean {
  try {
    checkFrom(from);
    return true;
  } catch (e) {
    if (e instanceof ProtocolError) return false;
    throw e;
  }
}

/** Validates and encodes `preface_json`: `{"from":…,"type":…}` without white space. */
export function prefaceToJson(preface: SharePreface): Bytes {
  checkFrom(preface.from);
  if (!isRecordType(preface.type)) throw new ProtocolError("unknown_type", "unknown record type");
  const json = utf8(`{"from":${JSON.stringify(preface.from)},"type":${JSON.stringify(preface.type)}}`);
  if (json.length > MAX_PREFACE_JSON) throw new ProtocolError("too_large", `encoded preface is ${json.length} bytes, limit ${MAX_PREFACE_JSON}`);
  return json;
}

/** Decodes `preface_json`: size (`too_large`), strict JSON (`json`), type (`unknown_type`), then the name's rules. */
export function prefaceFromJson(json: Uint8Array): SharePreface {
  if (json.length > MAX_PREFACE_JSON) throw new ProtocolError("too_large", `encoded preface is ${json.length} bytes, limit ${MAX_PREFACE_JSON}`);
  const root = stringObjectFromJson(json, ["from", "type"]);
  const type = root.get("type")!;
  if (!isRecordType(type)) throw new ProtocolError("unknown_type", "unknown record type");
  const from = root.get("from")!;
  checkFrom(from);
  return { from, type };
}

/** `AEAD(PK, pad256(preface_json), AAD("share-preface", share_id))`: 284 bytes for every name a writer makes. */
export async function sealPreface(pk: Uint8Array, shareId: Uint8Array, preface: SharePreface, nonce?: Uint8Array): Promise<Bytes> {
  if (shareId.length !== 16) throw new RangeError("a share id is 16 bytes");
  return seal(pk, pad256(prefaceToJson(preface)), aad("share-preface", shareId), nonce);
}

/** Opens a sealed preface: its length (`bad_length`), the box (`decrypt`), the padding, then `prefaceFromJson`. */
export async function openPreface(pk: Uint8Array, shareId: Uint8Array, sealed: Uint8Array): Promise<SharePreface> {
  if (shareId.length !== 16) throw new RangeError("a share id is 16 bytes");
  if (!SEALED_PREFACE_LENS.includes(sealed.length)) throw new ProtocolError("bad_length", "a sealed preface is 284 or 540 bytes");
  const padded = await open(pk, sealed, aad("share-preface", shareId));
  return prefaceFromJson(unpad256(padded));
}
