// Requests (§4.5): the sender's instructions sealed under the share key, with the number of answers the
// server lets through bound into the associated data.
import { aad } from "./aad";
import { u32, utf8, fromUtf8, type Bytes } from "./bytes";
import { open, seal } from "./crypto";
import { ProtocolError } from "./errors";
import { hasForbiddenControl, pad256, RECORD_TYPES, standardKind, unpad256, validateBody, type RecordBody, type RecordType } from "./record";

/** The longest instructions, in bytes of UTF-8. */
export const MAX_INSTRUCTIONS_LEN = 4096;
/** The most answers a request may take. */
export const MAX_ANSWERS = 100;

/** `AAD("share-request", share_id ‖ u32(max_answers))`. */
export function requestAad(shareId: Uint8Array, maxAnswers: number): Bytes {
  return aad("share-request", shareId, u32(maxAnswers));
}

/** Whether a server accepts a request box of `len` bytes: `28 + 256·n`, 1 ≤ n ≤ 17. */
export function isBoxLen(len: number): boolean {
  return len >= 28 + 256 && len <= 28 + 256 * 17 && (len - 28) % 256 === 0;
}

function checkMaxAnswers(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_ANSWERS) throw new ProtocolError("malformed", `a request takes 1 to ${MAX_ANSWERS} answers`);
}

/** The rules of a record's notes: at most 4 096 bytes (`too_large`), no control character other than TAB, CR, LF (`notes_control`). */
export function checkInstructions(text: string): void {
  if (utf8(text).length > MAX_INSTRUCTIONS_LEN) throw new ProtocolError("too_large", `instructions are at most ${MAX_INSTRUCTIONS_LEN} bytes`);
  if (hasForbiddenControl(text)) throw new ProtocolError("notes_control", "the instructions contain a control character");
}

/** `AEAD(SK, pad256(UTF-8(instructions)), AAD("share-request", share_id ‖ u32(max_answers)))`. */
export async function sealRequest(sk: Uint8Array, shareId: Uint8Array, maxAnswers: number, instructions: string, nonce?: Uint8Array): Promise<Bytes> {
  checkMaxAnswers(maxAnswers);
  checkInstructions(instructions);
  return seal(sk, pad256(utf8(instructions)), requestAad(shareId, maxAnswers), nonce);
}

/** Opens a request box with the number of answers the server states; the text is checked as when sealing. */
export async function openRequest(sk: Uint8Array, shareId: Uint8Array, maxAnswers: number, sealed: Uint8Array): Promise<string> {
  checkMaxAnswers(maxAnswers);
  const padded = await open(sk, sealed, requestAad(shareId, maxAnswers));
  const text = fromUtf8(unpad256(padded), "malformed");
  checkInstructions(text);
  return text;
}

/** The blank record a request asks to have filled in: the named fields (standard names take their kind, others `text`), or the type's standard fields. */
export function blankBody(type: RecordType, title: string, fields: readonly string[] = []): RecordBody {
  const template = RECORD_TYPES.find((t) => t.type === type)?.fields ?? [];
  const names = fields.length > 0 ? fields : template.map((f) => f.name);
  const seen = new Set<string>();
  const body: RecordBody = { type, title, fields: [], notes: "", files: [] };
  for (const name of names) {
    if (seen.has(name)) throw new ProtocolError("duplicate_field", `the field ${name} is named twice`);
    seen.add(name);
    body.fields.push({ name, kind: standardKind(type, name) ?? "text", value: "" });
  }
  validateBody(body);
  return body;
}
