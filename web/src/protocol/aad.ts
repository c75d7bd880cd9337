// Associated data (§1): "sharelock/v1/" ‖ kind ‖ 0x00 ‖ fixed-width binary fields.
import { concat, u64, utf8, type Bytes } from "./bytes";

/** The kinds of associated data, each naming what it seals. */
export type AadKind =
  | "data-key"
  | "record-key"
  | "share-record-key"
  | "share-secret"
  | "share-grant"
  | "share-label"
  | "share-request"
  | "share-preface"
  | "record"
  | "record-summary";

/** `AAD(kind, fields)`. */
export function aad(kind: AadKind, ...fields: Uint8Array[]): Bytes {
  return concat(utf8(`sharelock/v1/${kind}`), new Uint8Array([0]), ...fields);
}

/** AAD of RK_k under DK: `record_id ‖ u64(k)`. */
export function recordKeyAad(recordId: Uint8Array, k: bigint | number): Bytes {
  return aad("record-key", recordId, u64(k));
}

/** AAD of RK_k under SK: `share_id ‖ record_id ‖ u64(k)`. */
export function shareRecordKeyAad(shareId: Uint8Array, recordId: Uint8Array, k: bigint | number): Bytes {
  return aad("share-record-key", shareId, recordId, u64(k));
}

/** AAD of the owner's `S ‖ S′`, binding the share's facts: `share_id ‖ record_id ‖ u8(editable)`. */
export function shareGrantAad(shareId: Uint8Array, recordId: Uint8Array, editable: boolean): Bytes {
  return aad("share-grant", shareId, recordId, new Uint8Array([editable ? 1 : 0]));
}
