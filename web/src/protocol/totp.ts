// One-time codes for `otp` fields (§8): RFC 6238 TOTP over RFC 4226 HOTP, on WebCrypto HMAC.
// Time is always a parameter, so codes are testable and a client can use the server's clock.
import { fromUtf8, u64, utf8, type Bytes } from "./bytes";
import { ProtocolError } from "./errors";

/** The HMAC hash of a code generator, as named in `otpauth` URIs. */
export type OtpAlgorithm = "SHA1" | "SHA256" | "SHA512";

/** A parsed `otp` field: the shared secret and its parameters. */
export interface Otp {
  secret: Bytes;
  algorithm: OtpAlgorithm;
  digits: number;
  period: number;
}

const HASHES: Record<OtpAlgorithm, string> = { SHA1: "SHA-1", SHA256: "SHA-256", SHA512: "SHA-512" };

/** Every refusal carries this one kind, as the Rust core's `Error::Malformed` does. */
function bad(why: string): ProtocolError {
  return new ProtocolError("malformed", `one-time code: ${why}`);
}

/** ASCII-only lower case: keys and prefixes are matched case-insensitively without Unicode case rules. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** Unicode White_Space, the set Rust's `str::trim` removes (it differs from JS `trim` in U+0085 and U+FEFF). */
const TRIM = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

function checked(secret: Bytes, algorithm: OtpAlgorithm, digits: number, period: number): Otp {
  if (secret.length === 0) throw bad("the secret is empty");
  if (digits < 6 || digits > 8) throw bad("digits must be 6, 7 or 8");
  if (period < 15 || period > 120) throw bad("period must be 15 to 120 seconds");
  return { secret, algorithm, digits, period };
}

/**
 * Parses an `otp` field value: an `otpauth://totp/LABEL?secret=BASE32&…` URI or a bare base32 secret
 * (SHA1, 6 digits, 30 s). URI parameter names and algorithm values are case-insensitive; unknown parameters
 * are ignored, a repeated known one is refused. Base32 is case-insensitive and ignores spaces and `=`.
 * Refusals are `malformed` and never echo the secret.
 */
export function parseOtp(value: string): Otp {
  const text = value.replace(TRIM, "");
  if (asciiLower(text.slice(0, 8)) !== "otpauth:") return checked(decodeBase32(text), "SHA1", 6, 30);
  const afterScheme = text.slice(8);
  const prefix = asciiLower(afterScheme.slice(0, 7));
  if (prefix !== "//totp/") {
    throw bad(prefix === "//hotp/" ? "only time-based (totp) codes are supported" : "expected otpauth://totp/");
  }
  let rest = afterScheme.slice(7);
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  const question = rest.indexOf("?");
  const query = question < 0 ? "" : rest.slice(question + 1);

  let secret: string | undefined;
  let algorithm: OtpAlgorithm | undefined;
  let digits: number | undefined;
  let period: number | undefined;
  for (const pair of query.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const key = asciiLower(percentDecode(eq < 0 ? pair : pair.slice(0, eq)));
    const raw = percentDecode(eq < 0 ? "" : pair.slice(eq + 1));
    let repeated = false;
    switch (key) {
      case "secret":
        repeated = secret !== undefined;
        secret = raw;
        break;
      case "algorithm":
        repeated = algorithm !== undefined;
        algorithm = parseAlgorithm(raw);
        break;
      case "digits":
        repeated = digits !== undefined;
        digits = parseNumber("digits", raw);
        break;
      case "period":
        repeated = period !== undefined;
        period = parseNumber("period", raw);
        break;
    }
    if (repeated) throw bad(`parameter \`${key}\` is repeated`);
  }
  if (secret === undefined) throw bad("the URI has no secret");
  return checked(decodeBase32(secret), algorithm ?? "SHA1", digits ?? 6, period ?? 30);
}

function parseAlgorithm(value: string): OtpAlgorithm {
  switch (asciiLower(value)) {
    case "sha1":
      return "SHA1";
    case "sha256":
      return "SHA256";
    case "sha512":
      return "SHA512";
    default:
      throw bad("algorithm must be SHA1, SHA256 or SHA512");
  }
}

/** 1–4 ASCII digits: no sign, no spaces, nothing a lenient `Number()` would also take. */
function parseNumber(name: string, value: string): number {
  if (!/^[0-9]{1,4}$/.test(value)) throw bad(`${name} must be a small decimal number`);
  return Number.parseInt(value, 10);
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * RFC 4648 base32 without required padding: case-insensitive, spaces and `=` ignored. Unused low bits of
 * the last character need not be zero, as authenticator apps accept such secrets.
 */
function decodeBase32(text: string): Bytes {
  const cleaned = text.replace(/[ =]/g, "").replace(/[a-z]/g, (c) => c.toUpperCase());
  if (cleaned === "") throw bad("the secret is empty");
  if (![0, 2, 4, 5, 7].includes(cleaned.length % 8)) throw bad("the secret has an impossible base32 length");
  const out = new Uint8Array(Math.floor((cleaned.length * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (const c of cleaned) {
    const v = BASE32.indexOf(c);
    if (v < 0) throw bad("the secret is not base32 (letters A–Z and digits 2–7)");
    buffer = ((buffer << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  return out;
}

/**
 * Percent-decoding of one query component (RFC 3986 §2.1) with `+` as a space (form encoding, which
 * generators of otpauth URIs also use); `%` needs two hex digits and the result must be UTF-8.
 */
function percentDecode(text: string): string {
  const bytes = utf8(text);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x25) {
      if (i + 2 >= bytes.length) throw bad("a `%` escape is cut short");
      const hi = hexValue(bytes[i + 1]!);
      const lo = hexValue(bytes[i + 2]!);
      if (hi < 0 || lo < 0) throw bad("a `%` escape is not hexadecimal");
      out.push((hi << 4) | lo);
      i += 2;
    } else {
      out.push(b === 0x2b ? 0x20 : b);
    }
  }
  return fromUtf8(new Uint8Array(out), "malformed");
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x61 + 10;
  if (b >= 0x41 && b <= 0x46) return b - 0x41 + 10;
  return -1;
}

/** Whole seconds since 1970; a fractional time is floored, a negative one refused (`malformed`). */
function seconds(unixSeconds: number): number {
  if (!Number.isFinite(unixSeconds) || unixSeconds < 0) throw bad("time before 1970");
  return Math.floor(unixSeconds);
}

/** RFC 4226 HOTP: HMAC over the 8-byte big-endian counter, dynamic truncation, `digits` decimal digits. */
async function hotp(otp: Otp, counter: number): Promise<string> {
  const subtle = globalThis.crypto.subtle;
  const key = await subtle.importKey("raw", otp.secret, { name: "HMAC", hash: HASHES[otp.algorithm] }, false, ["sign"]);
  const mac = new Uint8Array(await subtle.sign("HMAC", key, u64(counter)));
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(bin % 10 ** otp.digits).padStart(otp.digits, "0");
}

/** The code at `unixSeconds`: HOTP with the counter `floor(t / period)` (RFC 6238). */
export async function totpCode(otp: Otp, unixSeconds: number): Promise<string> {
  return hotp(otp, Math.floor(seconds(unixSeconds) / otp.period));
}

/** Seconds until the next period starts (1 to the period), for a countdown next to the code. */
export function totpRemaining(otp: Otp, unixSeconds: number): number {
  return otp.period - (seconds(unixSeconds) % otp.period);
}
