// Signed recipient requests (§5.2): RFC 9421 HTTP Message Signatures in exactly one profile, and RFC 9530
// Content-Digest. The profile admits no choices, so the parser is strict: one label `sl`, one of two
// component lists, exactly the parameters created, nonce, keyid, alg, tag in that order, and both headers in
// RFC 8941 canonical form, so the inner list placed in `@signature-params` is byte for byte the one any
// conforming signer produces. This mirrors the Rust core's `httpsig` (parse, then verify).
import { constantTimeEqual, fromB64u, randomBytes, toB64, toB64u, utf8, type Bytes } from "./bytes";
import { sha256 } from "./crypto";
import { deviceKeyId, ecdsaSign, ecdsaVerify, SIGNATURE_LEN, type DeviceKey } from "./device";
import { ProtocolError } from "./errors";

/** The one signature label. */
export const SIGNATURE_LABEL = "sl";
/** The one algorithm: ECDSA P-256 / SHA-256, signature `r ‖ s`. */
export const SIGNATURE_ALG = "ecdsa-p256-sha256";
/** The application tag, so a signature made for another protocol never verifies here. */
export const SIGNATURE_TAG = "sharelock/v1";
/** Seconds a signature stays acceptable after `created`. */
export const MAX_AGE = 60;
/** Seconds `created` may lie in the future (clock skew). */
export const MAX_SKEW = 10;
/** Random bytes in the `nonce` parameter. */
export const SIGNATURE_NONCE_LEN = 16;

const COMPONENTS = ["@method", "@target-uri", "sharelock-share", "content-digest", "content-type"] as const;
const BODILESS = 3;
const PARAMS = ["created", "nonce", "keyid", "alg", "tag"] as const;

function malformed(what: string, why: string): ProtocolError {
  return new ProtocolError("malformed", `malformed ${what}: ${why}`);
}

// ---------------------------------------------------------------------------------------------------------
// RFC 8941 dictionaries (the parts the two headers and Content-Digest use), matching the `sfv` crate the Rust
// core uses in RFC 8941 mode: no dates or display strings; byte sequences decode leniently (padding optional,
// unused bits ignored), because canonical form is checked separately where it matters.

type BareItem =
  | { type: "integer"; value: number }
  | { type: "decimal"; value: number }
  | { type: "string"; value: string }
  | { type: "token"; value: string }
  | { type: "bytes"; value: Bytes }
  | { type: "boolean"; value: boolean };

interface SfItem {
  kind: "item";
  bare: BareItem;
  params: Map<string, BareItem>;
}

interface SfInnerList {
  kind: "inner";
  items: SfItem[];
  params: Map<string, BareItem>;
}

type SfEntry = SfItem | SfInnerList;

const B64_INDEX = new Map([..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].map((c, i) => [c, i]));

/**
 * Byte-sequence content as the `base64` crate decodes it with padding "indifferent" and trailing bits
 * allowed: complete quads, then a final group of 2–4 symbols whose padding (if any) follows the symbols.
 */
function decodeSfBytes(text: string): Bytes | undefined {
  if (text === "") return new Uint8Array(0);
  const rem = text.length % 4;
  const headLen = text.length - rem - (rem === 0 ? 4 : 0);
  const values: number[] = [];
  for (let i = 0; i < headLen; i++) {
    const v = B64_INDEX.get(text[i]!);
    if (v === undefined) return undefined;
    values.push(v);
  }
  let tail = 0;
  let pads = 0;
  for (let i = headLen; i < text.length; i++) {
    const c = text[i]!;
    if (c === "=") {
      if (i - headLen < 2) return undefined;
      pads++;
      continue;
    }
    if (pads > 0) return undefined;
    const v = B64_INDEX.get(c);
    if (v === undefined) return undefined;
    values.push(v);
    tail++;
  }
  if (tail < 2) return undefined;
  const out = new Uint8Array(Math.floor((values.length * 6) / 8));
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (const v of values) {
    buffer = ((buffer << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  return out;
}

class SfParser {
  private i = 0;

  constructor(
    private readonly input: string,
    private readonly what: string,
  ) {}

  private fail(why: string): never {
    throw malformed(this.what, `not an RFC 8941 dictionary: ${why} at ${this.i}`);
  }

  private peek(): string | undefined {
    return this.input[this.i];
  }

  private skipSp(): void {
    while (this.peek() === " ") this.i++;
  }

  private skipOws(): void {
    while (this.peek() === " " || this.peek() === "\t") this.i++;
  }

  /** RFC 8941 §4.2.2, with the surrounding-space rule of §4.2. */
  dictionary(): Map<string, SfEntry> {
    const dict = new Map<string, SfEntry>();
    this.skipSp();
    while (this.peek() !== undefined) {
      const key = this.key();
      if (this.peek() === "=") {
        this.i++;
        dict.set(key, this.peek() === "(" ? this.innerList() : this.item());
      } else {
        dict.set(key, { kind: "item", bare: { type: "boolean", value: true }, params: this.parameters() });
      }
      this.skipOws();
      if (this.peek() === undefined) break;
      if (this.peek() !== ",") this.fail("trailing characters after a member");
      this.i++;
      this.skipOws();
      if (this.peek() === undefined) this.fail("trailing comma");
    }
    this.skipSp();
    if (this.peek() !== undefined) this.fail("trailing characters");
    return dict;
  }

  private innerList(): SfInnerList {
    this.i++; // "("
    const items: SfItem[] = [];
    while (this.peek() !== undefined) {
      this.skipSp();
      if (this.peek() === ")") {
        this.i++;
        return { kind: "inner", items, params: this.parameters() };
      }
      items.push(this.item());
      const c = this.peek();
      if (c !== undefined && c !== " " && c !== ")") this.fail("expected a space or ')' in an inner list");
    }
    return this.fail("unterminated inner list");
  }

  private item(): SfItem {
    const bare = this.bareItem();
    return { kind: "item", bare, params: this.parameters() };
  }

  private parameters(): Map<string, BareItem> {
    const params = new Map<string, BareItem>();
    while (this.peek() === ";") {
      this.i++;
      this.skipSp();
      const key = this.key();
      let value: BareItem = { type: "boolean", value: true };
      if (this.peek() === "=") {
        this.i++;
        value = this.bareItem();
      }
      params.set(key, value);
    }
    return params;
  }

  private key(): string {
    const start = this.i;
    if (!/[a-z*]/.test(this.peek() ?? "")) this.fail("expected a key");
    this.i++;
    while (/[a-z0-9_\-*.]/.test(this.peek() ?? "")) this.i++;
    return this.input.slice(start, this.i);
  }

  private bareItem(): BareItem {
    const c = this.peek();
    if (c === "?") {
      this.i++;
      const b = this.peek();
      if (b !== "0" && b !== "1") this.fail("expected a boolean");
      this.i++;
      return { type: "boolean", value: b === "1" };
    }
    if (c === '"') return { type: "string", value: this.string() };
    if (c === ":") return { type: "bytes", value: this.bytes() };
    if (c !== undefined && /[A-Za-z*]/.test(c)) {
      const start = this.i;
      this.i++;
      while (/[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/.test(this.peek() ?? "")) this.i++;
      return { type: "token", value: this.input.slice(start, this.i) };
    }
    if (c !== undefined && /[-0-9]/.test(c)) return this.number();
    // Dates (`@`) and display strings (`%`) are RFC 9651 only.
    return this.fail("expected a bare item");
  }

  private string(): string {
    this.i++; // '"'
    let out = "";
    for (;;) {
      const c = this.peek();
      if (c === undefined) return this.fail("unterminated string");
      this.i++;
      if (c === '"') return out;
      const code = c.charCodeAt(0);
      if (code < 0x20 || code >= 0x7f) this.fail("invalid string character");
      if (c === "\\") {
        const e = this.peek();
        if (e !== "\\" && e !== '"') this.fail("invalid escape");
        this.i++;
        out += e;
      } else {
        out += c;
      }
    }
  }

  private bytes(): Bytes {
    this.i++; // ":"
    const end = this.input.indexOf(":", this.i);
    if (end < 0) return this.fail("unterminated byte sequence");
    const decoded = decodeSfBytes(this.input.slice(this.i, end));
    if (decoded === undefined) this.fail("invalid byte sequence");
    this.i = end + 1;
    return decoded;
  }

  private number(): BareItem {
    let sign = 1;
    if (this.peek() === "-") {
      sign = -1;
      this.i++;
    }
    if (!/[0-9]/.test(this.peek() ?? "")) this.fail("expected a digit");
    let text = "";
    let decimal = false;
    for (;;) {
      const c = this.peek();
      if (c !== undefined && /[0-9]/.test(c)) {
        text += c;
        this.i++;
        if (!decimal && text.length > 15) this.fail("too many digits");
        if (decimal && text.length - text.indexOf(".") - 1 > 3) this.fail("too many digits after the decimal point");
      } else if (c === "." && !decimal) {
        if (text.length > 12) this.fail("too many digits before the decimal point");
        decimal = true;
        text += c;
        this.i++;
      } else {
        break;
      }
    }
    if (decimal && text.endsWith(".")) this.fail("trailing decimal point");
    const value = sign * Number(text);
    return decimal ? { type: "decimal", value } : { type: "integer", value };
  }
}

function parseDictionary(what: string, text: string): Map<string, SfEntry> {
  return new SfParser(text, what).dictionary();
}

/** Leading and trailing spaces and tabs, as RFC 9421 §2.1 and the Rust core remove them. */
function trimSpTab(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, "");
}

/** The single `sl` member of a dictionary; any other or extra label is refused. */
function onlyLabel(what: string, dict: Map<string, SfEntry>): SfEntry {
  const entries = [...dict.entries()];
  const first = entries[0];
  if (first === undefined) throw malformed(what, "no signature");
  if (first[0] !== SIGNATURE_LABEL) throw malformed(what, `label must be \`${SIGNATURE_LABEL}\``);
  if (entries.length > 1) throw malformed(what, `only the label \`${SIGNATURE_LABEL}\` is allowed`);
  return first[1];
}

// ---------------------------------------------------------------------------------------------------------
// Content-Digest (RFC 9530)

/** `sha-256=:<b64 H(body)>:`, the Content-Digest header value a sender writes. */
export async function contentDigest(body: Uint8Array): Promise<string> {
  return `sha-256=:${toB64(await sha256(body))}:`;
}

/**
 * Checks a received Content-Digest against the body bytes, in constant time. Only `sha-256` is used and it
 * must be present as a 32-byte byte sequence (`malformed`) and match (`verify`); other algorithms may be
 * listed and are neither trusted nor required to match.
 */
export async function verifyContentDigest(header: string, body: Uint8Array): Promise<void> {
  const expected = contentDigestSha256(header);
  if (!constantTimeEqual(await sha256(body), expected)) throw new ProtocolError("verify", "content digest did not verify");
}

/** The SHA-256 digest a received Content-Digest names, with the rules of `verifyContentDigest` (`malformed`). */
export function contentDigestSha256(header: string): Uint8Array {
  const what = "Content-Digest";
  const entry = parseDictionary(what, trimSpTab(header)).get("sha-256");
  if (entry === undefined) throw malformed(what, "no sha-256 digest");
  if (entry.kind !== "item" || entry.bare.type !== "bytes") throw malformed(what, "sha-256 must be a byte sequence");
  if (entry.bare.value.length !== 32) throw malformed(what, `sha-256 must be 32 bytes, got ${entry.bare.value.length}`);
  return entry.bare.value;
}

// ---------------------------------------------------------------------------------------------------------
// Signature base and parameters

/** The parts of a request a signature covers. `contentDigest` and `contentType` come as a pair (a body) or not at all. */
export interface RequestParts {
  /** Upper case (`GET`, `POST`, `PUT`). */
  method: string;
  /** The server's public URL followed by the path and query exactly as sent. */
  targetUri: string;
  /** The `Sharelock-Share` header value, `b64u(share_id)`. */
  shareHeader: string;
  contentDigest?: string | undefined;
  contentType?: string | undefined;
}

/** The `@signature-params` inputs; the component list depends only on whether there is a body. */
export interface SignatureParamsInput {
  hasBody: boolean;
  /** Unix seconds. */
  created: number;
  /** 16 random bytes. */
  nonce: Uint8Array;
  /** `b64u(H(device_key))`. */
  keyid: string;
}

const REQUEST = "signed request";

function hasBody(parts: RequestParts): boolean {
  const digest = parts.contentDigest !== undefined;
  const type = parts.contentType !== undefined;
  if (digest !== type) throw malformed(REQUEST, "Content-Type and Content-Digest must both be present or both absent");
  return digest;
}

/**
 * A value as placed on one signature-base line: trimmed, non-empty, without control characters (a line
 * break would let one value forge another line) and well-formed (it is signed as UTF-8).
 */
function lineValue(name: string, value: string): string {
  const v = trimSpTab(value);
  if (v === "") throw malformed(REQUEST, `${name} is empty`);
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(v)) throw malformed(REQUEST, `${name} contains control characters`);
  if (/\p{Cs}/u.test(v)) throw malformed(REQUEST, `${name} is not well-formed Unicode`);
  return v;
}

function componentValues(parts: RequestParts): [string, string][] {
  if (!/^[A-Z]+$/.test(parts.method)) throw malformed(REQUEST, "@method must be upper-case ASCII letters");
  const values: [string, string][] = [
    ["@method", parts.method],
    ["@target-uri", lineValue("@target-uri", parts.targetUri)],
    ["sharelock-share", lineValue("sharelock-share", parts.shareHeader)],
  ];
  if (hasBody(parts)) {
    values.push(["content-digest", lineValue("content-digest", parts.contentDigest ?? "")]);
    values.push(["content-type", lineValue("content-type", parts.contentType ?? "")]);
  }
  return values;
}

/**
 * The canonical inner list of Signature-Input (without `sl=`), which is also the `@signature-params` value:
 * `("@method" "@target-uri" "sharelock-share"[ "content-digest" "content-type"]);created=…;nonce="…";keyid="…";alg="ecdsa-p256-sha256";tag="sharelock/v1"`.
 */
export function signatureParams(input: SignatureParamsInput): string {
  const { created, nonce, keyid } = input;
  if (!Number.isSafeInteger(created) || created < 0) throw malformed(REQUEST, "created must be a non-negative integer");
  if (nonce.length !== SIGNATURE_NONCE_LEN) throw malformed(REQUEST, "the nonce is 16 bytes");
  const list = COMPONENTS.slice(0, input.hasBody ? COMPONENTS.length : BODILESS)
    .map((c) => `"${c}"`)
    .join(" ");
  return `(${list});created=${created};nonce="${toB64u(nonce)}";keyid="${keyid}";alg="${SIGNATURE_ALG}";tag="${SIGNATURE_TAG}"`;
}

/**
 * The RFC 9421 §2.5 signature base: `"<name>": <value>` per covered component, then
 * `"@signature-params": <params>`, joined by `\n` with no final newline. Refuses (`malformed`) values that
 * cannot sit on one line, a lower-case method, and body headers that do not come as a pair.
 */
export function signatureBase(parts: RequestParts, params: string): string {
  const lines = componentValues(parts).map(([name, value]) => `"${name}": ${value}`);
  lines.push(`"@signature-params": ${params}`);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// Signing

/** What a recipient client sends; times are Unix seconds. */
export interface SignRequestInput {
  method: string;
  targetUri: string;
  shareHeader: string;
  /** The exact bytes sent; with a body, `contentType` is required. */
  body?: Uint8Array | undefined;
  contentType?: string | undefined;
  /** The signer's idea of the server's time (use the server's `Date` if the local clock is off); now by default. */
  created?: number | undefined;
  /** 16 fresh random bytes by default; given only by tests. */
  nonce?: Uint8Array | undefined;
}

/**
 * The headers of a signed request: always these three, plus `Content-Digest` and `Content-Type` for a request
 * with a body. A plain string record, so it can be handed to `fetch` as it is.
 */
export type SignedHeaders = Record<string, string> & {
  "Sharelock-Share": string;
  "Signature-Input": string;
  Signature: string;
};

/** Signs a recipient request with the device key bound to the share; returns the headers to send. */
export async function signRequest(device: DeviceKey, request: SignRequestInput): Promise<SignedHeaders> {
  const { body, contentType } = request;
  if ((body === undefined) !== (contentType === undefined)) {
    throw malformed(REQUEST, "a body needs a Content-Type, and a Content-Type needs a body");
  }
  const digest = body === undefined ? undefined : await contentDigest(body);
  const parts: RequestParts = {
    method: request.method,
    targetUri: request.targetUri,
    shareHeader: request.shareHeader,
    contentDigest: digest,
    contentType,
  };
  const params = signatureParams({
    hasBody: body !== undefined,
    created: request.created ?? Math.floor(Date.now() / 1000),
    nonce: request.nonce ?? randomBytes(SIGNATURE_NONCE_LEN),
    keyid: await deviceKeyId(device.publicKey),
  });
  const base = signatureBase(parts, params);
  const signature = await ecdsaSign(device.privateKey, utf8(base));
  const headers: SignedHeaders = {
    "Sharelock-Share": request.shareHeader,
    "Signature-Input": `${SIGNATURE_LABEL}=${params}`,
    Signature: `${SIGNATURE_LABEL}=:${toB64(signature)}:`,
  };
  if (digest !== undefined && contentType !== undefined) {
    headers["Content-Digest"] = digest;
    headers["Content-Type"] = contentType;
  }
  return headers;
}

// ---------------------------------------------------------------------------------------------------------
// Parsing and verification

/** A Signature-Input / Signature pair with the exact shape of the profile; not yet verified. */
export interface ParsedSignature {
  /** Whether the signature covers `content-digest` and `content-type`. */
  hasBody: boolean;
  created: number;
  nonce: Bytes;
  keyid: string;
  /** The 64-byte `r ‖ s`. */
  signature: Bytes;
  /** The `@signature-params` value: the inner list exactly as received. */
  params: string;
}

function parseInput(header: string): Omit<ParsedSignature, "signature"> {
  const what = "Signature-Input";
  const bad = (why: string): ProtocolError => malformed(what, why);
  const text = trimSpTab(header);
  const entry = onlyLabel(what, parseDictionary(what, text));
  if (entry.kind !== "inner") throw bad("the member must be an inner list of components");

  entry.items.forEach((item, i) => {
    if (item.bare.type !== "string") throw bad("components must be strings");
    const name = item.bare.value;
    if (item.params.size > 0) throw bad(`component \`${name}\` must have no parameters`);
    const expected: string | undefined = COMPONENTS[i];
    if (expected === name) return;
    if (expected === undefined) throw bad(`extra component \`${name}\``);
    if ((COMPONENTS as readonly string[]).includes(name)) throw bad(`components out of order: expected ${expected}`);
    throw bad(`component \`${name}\` is not allowed`);
  });
  let hasBody: boolean;
  if (entry.items.length === COMPONENTS.length) hasBody = true;
  else if (entry.items.length === BODILESS) hasBody = false;
  else throw bad(`missing component \`${COMPONENTS[entry.items.length] ?? ""}\``);

  [...entry.params.keys()].forEach((key, i) => {
    if (PARAMS[i] === key) return;
    if ((PARAMS as readonly string[]).includes(key)) throw bad(`parameters out of order at \`${key}\``);
    throw bad(`parameter \`${key}\` is not allowed`);
  });
  const missing = PARAMS[entry.params.size];
  if (missing !== undefined) throw bad(`parameter \`${missing}\` is missing`);

  const stringParam = (name: string): string => {
    const v = entry.params.get(name);
    if (v?.type !== "string") throw bad(`parameter \`${name}\` must be a string`);
    return v.value;
  };
  const createdItem = entry.params.get("created");
  if (createdItem?.type !== "integer") throw bad("parameter `created` must be an integer");
  const created = createdItem.value;
  if (created < 0) throw bad("parameter `created` must not be negative");
  const nonce = fromB64u(stringParam("nonce"), "malformed");
  if (nonce.length !== SIGNATURE_NONCE_LEN) throw malformed("signature nonce", `expected 16 bytes, got ${nonce.length}`);
  const keyid = stringParam("keyid");
  if (fromB64u(keyid, "malformed").length !== 32) throw malformed("signature keyid", "expected 32 bytes");
  if (stringParam("alg") !== SIGNATURE_ALG) throw bad(`alg must be "${SIGNATURE_ALG}"`);
  if (stringParam("tag") !== SIGNATURE_TAG) throw bad(`tag must be "${SIGNATURE_TAG}"`);

  const params = signatureParams({ hasBody, created, nonce, keyid });
  if (text !== `${SIGNATURE_LABEL}=${params}`) throw bad("not in canonical form (RFC 8941 §4.1)");
  return { hasBody, created, nonce, keyid, params };
}

function parseSignatureHeader(header: string): Bytes {
  const what = "Signature";
  const text = trimSpTab(header);
  const entry = onlyLabel(what, parseDictionary(what, text));
  if (entry.kind !== "item" || entry.bare.type !== "bytes") throw malformed(what, "the member must be a byte sequence");
  if (entry.params.size > 0) throw malformed(what, "parameters are not allowed");
  const signature = entry.bare.value;
  if (signature.length !== SIGNATURE_LEN) throw malformed(what, `expected ${SIGNATURE_LEN} bytes, got ${signature.length}`);
  if (text !== `${SIGNATURE_LABEL}=:${toB64(signature)}:`) throw malformed(what, "not in canonical form (RFC 8941 §4.1)");
  return signature;
}

/**
 * Parses both header values, refusing (`malformed`) anything outside the profile: another or an extra
 * label, missing, extra, reordered or parameterised components, missing, unknown, reordered or mistyped
 * parameters, another alg or tag, a nonce other than 16 bytes, a keyid other than 32, a signature other
 * than 64, or a header not in canonical form.
 */
export function parseSignature(signatureInput: string, signature: string): ParsedSignature {
  const input = parseInput(signatureInput);
  return { ...input, signature: parseSignatureHeader(signature) };
}

/**
 * Verifies a parsed signature over `parts` with the device key bound to the share, in the Rust core's
 * order: keyid names the key (`verify`); a body exactly when the signature covers one (`malformed`);
 * `created ∈ [now − 60, now + 10]` (`stale`); the ECDSA signature over the rebuilt base (`verify`). The
 * body itself is checked against Content-Digest by `verifyContentDigest`.
 */
export async function verifyParsedSignature(parsed: ParsedSignature, publicKey: Uint8Array, parts: RequestParts, now: number): Promise<void> {
  if ((await deviceKeyId(publicKey)) !== parsed.keyid) throw new ProtocolError("verify", "signature keyid does not name the key");
  if (hasBody(parts) !== parsed.hasBody) {
    throw malformed(
      REQUEST,
      parsed.hasBody ? "the signature covers a body but the request has none" : "the request has a body the signature does not cover",
    );
  }
  const age = now - parsed.created;
  if (!(age >= -MAX_SKEW && age <= MAX_AGE)) throw new ProtocolError("stale", "signature time is outside the accepted window");
  const base = signatureBase(parts, parsed.params);
  try {
    await ecdsaVerify(publicKey, utf8(base), parsed.signature);
  } catch (e) {
    if (e instanceof ProtocolError && e.kind === "verify") throw new ProtocolError("verify", "request signature did not verify");
    throw e;
  }
}

/** A received request as a verifier sees it; times are Unix seconds by the verifier's clock. */
export interface ReceivedRequest extends RequestParts {
  /** The body bytes received, if any; they must match `contentDigest`. */
  body?: Uint8Array | undefined;
  signatureInput: string;
  signature: string;
  /** The device key (65-byte SEC1 point) bound to the share named in `shareHeader`. */
  publicKey: Uint8Array;
  now: number;
}

/**
 * Checks a whole signed request in the server's order (§5.2): both signature headers, the Content-Digest
 * header, the signature with `publicKey` at time `now` (keyid, body coverage, time window, signature), and
 * last the body against Content-Digest. Returns what was verified (the nonce is the replay key, with the
 * share id).
 */
export async function verifyRequest(request: ReceivedRequest): Promise<ParsedSignature> {
  const parsed = parseSignature(request.signatureInput, request.signature);
  if (request.contentDigest !== undefined) contentDigestSha256(request.contentDigest);
  else if (request.body !== undefined) throw malformed(REQUEST, "a body without Content-Digest");
  await verifyParsedSignature(parsed, request.publicKey, request, request.now);
  if (request.body !== undefined && request.contentDigest !== undefined) await verifyContentDigest(request.contentDigest, request.body);
  return parsed;
}
