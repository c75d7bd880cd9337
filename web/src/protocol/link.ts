// Share links (§4.2): `<public url>/s#1<flags>.<b64u(S)>`, parsed strictly so exactly one text names a share.
import { fromB64u, toB64u, type Bytes } from "./bytes";
import { ProtocolError } from "./errors";

/** A parsed share link. */
export interface ParsedLink {
  /** The server's public URL (origin and optional path prefix), without a trailing slash. */
  base: string;
  /** Whether the share needs a passphrase (flag `p`). */
  passphrase: boolean;
  /** S, 32 bytes. */
  secret: Bytes;
}

/**
 * Checks the part of a link before `/s` (step 5 of §4.2; the scheme again for `formatLink`): a plain
 * `scheme://authority[/prefix]` in printable ASCII, no user info, query, backslash, empty segment or trailing slash.
 */
function checkBase(base: string): void {
  let rest: string;
  if (base.startsWith("https://")) rest = base.slice(8);
  else if (base.startsWith("http://")) rest = base.slice(7);
  else throw new ProtocolError("bad_scheme", "the link's scheme is not http or https");
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) throw new ProtocolError("bad_base", "the link's address is not printable ASCII");
  }
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? "" : rest.slice(slash);
  if (authority === "" || /[@?\\]/.test(authority)) throw new ProtocolError("bad_base", "the link's host is not plain");
  if (/[?\\]/.test(path) || path.endsWith("/") || path.includes("//")) {
    throw new ProtocolError("bad_base", "the link's path prefix is not plain");
  }
}

/**
 * Parses a link, refusing in the order of §4.2 (each step its own kind): fragment, scheme, query, path,
 * base, version, dot, flags, trailing data, secret encoding, secret length.
 */
export function parseLink(text: string): ParsedLink {
  const hash = text.indexOf("#");
  if (hash < 0) throw new ProtocolError("missing_fragment", "the link has no '#' fragment");
  const before = text.slice(0, hash);
  const fragment = text.slice(hash + 1);

  if (!before.startsWith("https://") && !before.startsWith("http://")) {
    throw new ProtocolError("bad_scheme", "the link's scheme is not http or https");
  }
  if (before.includes("?")) throw new ProtocolError("bad_base", "the link's address has a query");
  const afterScheme = before.slice(before.startsWith("https://") ? 8 : 7);
  const slash = afterScheme.indexOf("/");
  const path = slash < 0 ? "" : afterScheme.slice(slash);
  if (!path.endsWith("/s")) throw new ProtocolError("bad_path", "the link's path does not end in /s");
  const base = before.slice(0, -2);
  checkBase(base);

  const digits = /^[0-9]*/.exec(fragment)?.[0].length ?? 0;
  const version = fragment.slice(0, digits);
  const rest = fragment.slice(digits);
  if (version === "") throw new ProtocolError("missing_version", "the link has no version");
  if (version !== "1") throw new ProtocolError("unknown_version", "the link's version is not supported");
  const dot = rest.indexOf(".");
  if (dot < 0) throw new ProtocolError("missing_dot", "the link has no '.' before its secret");
  const flags = rest.slice(0, dot);
  const secretText = rest.slice(dot + 1);
  let passphrase = false;
  for (const c of flags) {
    if (c !== "p") throw new ProtocolError("unknown_flag", "the link has an unknown flag");
    if (passphrase) throw new ProtocolError("repeated_flag", "the link repeats a flag");
    passphrase = true;
  }
  // The secret runs to the end of the fragment; any of these means something was appended to it.
  if (/[#?&]/.test(secretText)) throw new ProtocolError("trailing_data", "the link has data after its secret");
  const secret = fromB64u(secretText, "secret_encoding");
  if (secret.length !== 32) throw new ProtocolError("secret_length", "the link's secret is not 32 bytes");
  return { base, passphrase, secret };
}

/**
 * Writes the link for a share on a server whose public URL is `base` (one trailing slash is dropped). The
 * base is checked as `parseLink` checks it, so every link written here parses back to the same values.
 */
export function formatLink(base: string, passphrase: boolean, secret: Uint8Array): string {
  const trimmed = base.endsWith("/") ? base.slice(0, -1) : base;
  checkBase(trimmed);
  if (secret.length !== 32) throw new ProtocolError("secret_length", "a link secret is 32 bytes");
  return `${trimmed}/s#1${passphrase ? "p" : ""}.${toB64u(secret)}`;
}
