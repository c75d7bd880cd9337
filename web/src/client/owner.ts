// The owner's vault over the API (docs/protocol.md §2, §3, §4, §6, §7): register, log in, change the master
// password, records and their versions, key rotation, shares, files. It mirrors the Rust client
// (crates/sharelock-client).
//
// Keys live in this object only: the data key DK, K_own and the bearer token are never written to any
// storage, so a reload of the page is a logout. Every version read is checked before it is shown or built
// upon (§7.5); one that cannot be attributed is shown as unverified and never resealed.
import { bytesToUuid, constantTimeEqual, fromB64u, randomBytes, randomId, toB64u, utf8, uuidToBytes, type Bytes } from "../protocol/bytes";
import { importHmacKey, importOpenKey, sha256 } from "../protocol/crypto";
import { deviceFingerprint } from "../protocol/device";
import { ProtocolError } from "../protocol/errors";
import {
  checkSummary,
  envelopeHash,
  firstHeader,
  nextHeader,
  openBody,
  openSummary,
  OWNER,
  ownerTag,
  parseEnvelope,
  sealVersion,
  serializeEnvelope,
  type Envelope,
} from "../protocol/envelope";
import {
  accountKeys,
  checkKdfParams,
  DEFAULT_KDF,
  kdfSalt,
  masterKey,
  normalizeSecret,
  ownerKey,
  unwrapDataKey,
  unwrapRecordKey,
  unwrapRecordKeyWith,
  wrapDataKey,
  wrapRecordKey,
  wrapRecordKeyForShare,
  type KdfParams,
} from "../protocol/kdf";
import { formatLink } from "../protocol/link";
import { characters, MIN_MASTER_PASSWORD_CHARS, MIN_SHARE_PASSPHRASE_CHARS } from "../protocol/passphrase";
import { MAX_FILE_NAME_LEN, validateBody, type FileRef, type RecordBody, type Summary } from "../protocol/record";
import { deriveShareKeys, MAX_LABEL_LEN, openLabel, openOwnerSecretOf, sealLabel, sealOwnerSecret, verifyBindTag, type ShareKeys } from "../protocol/share";
import { blobLength, DEFAULT_CHUNK_SIZE } from "../protocol/stream";
import { ApiError, type Api } from "./http";
import {
  isLive,
  type ApiAuthor,
  type ExpiryJson,
  type HistoryJson,
  type ListedRecordJson,
  type LoginResponse,
  type PreloginResponse,
  type RecordJson,
  type RecordList,
  type RotationJson,
  type ShareCreatedJson,
  type ShareInfo,
  type VersionWritten,
} from "./owner-api";
import { decryptDownload, decryptedStream, uploadFile, type Progress } from "./files";
import { isVerified, verifyOwnerVersion, verifyVersion, type Verification } from "./verify";
import { VersionMemory, type KeyValueStore } from "./versions";

/** Writes retried after a conflict before giving up. */
const WRITE_ATTEMPTS = 4;

/** A refusal by this client, before anything was sent; the message is a sentence for people. */
export class VaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VaultError";
  }
}

/** The current master password given to change it does not open the vault; nothing was sent. */
export class WrongPasswordError extends VaultError {
  constructor() {
    super("The current master password is wrong.");
    this.name = "WrongPasswordError";
  }
}

/** The password was changed, but logging in with the new one failed: this session has ended with every other. */
export class PasswordChangedError extends VaultError {
  constructor(readonly reason: unknown) {
    super(`Your master password was changed, but logging in again failed (${reason instanceof Error ? reason.message : String(reason)}). Log in with the new password.`);
    this.name = "PasswordChangedError";
  }
}

/** The record's current version cannot be attributed (§7.5), so it is not built upon. */
export class UnverifiedError extends Error {
  constructor(
    readonly version: number,
    readonly reason: string,
  ) {
    super(`version ${version} cannot be attributed (${reason})`);
    this.name = "UnverifiedError";
  }
}

/** What the login screen shows while it waits. */
export type Stage = "contacting" | "deriving" | "unlocking";
/** Told of each stage; awaited, so the page can paint before Argon2id holds the thread. */
export type StageListener = (stage: Stage) => void | Promise<void>;

/** A record's current version, decrypted and checked. */
export interface OpenedRecord {
  id: string;
  version: number;
  keyGen: number;
  body: RecordBody;
  author: ApiAuthor;
  verification: Verification;
  createdAt: string;
  updatedAt: string;
  rotatePending: boolean;
  /** The sealed summary (the list line) is not this body's: its writer made the list say something else (§3.2). */
  summaryMismatch: boolean;
}

/** One line of the record list. */
export interface RecordListEntry {
  id: string;
  version: number;
  /** The decrypted summary, absent if it could not be read (see `problem`). */
  summary?: Summary;
  problem?: unknown;
  verification: Verification;
  updatedAt: string;
  rotatePending: boolean;
  /** Shares of this record that can still be opened or used. */
  liveShares: number;
}

/** One version of a record's history. */
export interface HistoryEntry {
  version: number;
  keyGen: number;
  createdAt: string;
  author: ApiAuthor;
  verification: Verification;
  body?: RecordBody;
  problem?: string;
}

/** A share as its owner sees it: the server's facts plus what only DK opens. */
export interface ShareEntry {
  info: ShareInfo;
  /** Whether the recipient may edit, as sealed in the owner secret (the server's word for a legacy share). */
  editable: boolean;
  /** The owner secret predates sealed share facts: its recipient's versions are not verified, and the next rotation of its record ends it. */
  legacy: boolean;
  label?: string;
  /** The link again, while nobody has opened it. */
  link?: string;
  /** Computed here from the device key (not taken from the server). */
  fingerprint?: string;
  /** Whether the device's bind tag verifies under the share's secrets. */
  deviceVerified?: boolean;
  /** Why the share's secrets or label did not open. */
  problem?: string;
}

export interface ShareOptions {
  expires: ExpiryJson;
  editable: boolean;
  burnAfterSecs: number | null;
  /** Only the owner reads it; empty for none. */
  label: string;
  /** Empty for none. */
  passphrase: string;
  /** End the share at its first fetch (§4.4); never with `editable`. */
  viewOnce?: boolean;
}

export interface CreatedShare {
  link: string;
  handle: string;
  /** The share id (b64u), which the recipient's requests name. */
  shareId: string;
  expiresAt: string;
  version: number;
  passphrase: boolean;
}

export type { Progress };

interface Current {
  record: RecordJson;
  envelope: Envelope;
  rk: Bytes;
  verification: Verification;
}

/** DK and K_own imported once for the record list. */
interface ListingKeys {
  dk: CryptoKey;
  kOwn: CryptoKey;
}

type ListedCurrent = Current & { hash: Bytes };

/** A list line and, when its version was opened, that version (for the anti-rollback rule). */
interface Listed {
  entry: RecordListEntry;
  current?: ListedCurrent;
}

/** Versions opened together by the record list before it yields to the page. */
const LIST_BATCH = 200;

/**
 * Lets the page paint and handle input between batches of work: a message to itself, which, unlike a
 * timer, browsers do not slow down in a tab in the background.
 */
function yieldToPage(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (): void => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

interface WithBody extends Current {
  body: RecordBody;
  summaryMismatch: boolean;
}

const JSON_TYPE = "application/json";

/** How the password opens the vault, as of this session's login: what checking the current password needs. */
interface Unlock {
  kdf: KdfParams;
  r16: Bytes;
  wrappedDataKey: Bytes;
}

/** `{"alg":"argon2id","m":…,"t":…,"p":…}` exactly, whatever else the object holds. */
function kdfJson(p: KdfParams): KdfParams {
  return { alg: p.alg, m: p.m, t: p.t, p: p.p };
}

/**
 * The parameters for a new master password: the account's current ones, raised to the default where lower,
 * so a password change never weakens the derivation (an account may use more than the default).
 */
export function raisedKdf(current: KdfParams): KdfParams {
  return { alg: "argon2id", m: Math.max(current.m, DEFAULT_KDF.m), t: Math.max(current.t, DEFAULT_KDF.t), p: Math.max(current.p, DEFAULT_KDF.p) };
}

function b64(bytes: Uint8Array): string {
  return toB64u(bytes);
}

/** Derives AK and WK from the password (one Argon2id run, refused for parameters outside §2.1). */
async function deriveAccountKeys(email: string, password: string, r16: Uint8Array, params: KdfParams, stage?: StageListener): Promise<{ ak: Bytes; wk: Bytes }> {
  checkKdfParams(params);
  const salt = await kdfSalt(email, r16);
  await stage?.("deriving");
  const mk = await masterKey(password, salt, params);
  const keys = await accountKeys(mk);
  mk.fill(0);
  return { ak: keys.authKey, wk: keys.wrapKey };
}

/** Creates an account with a fresh r16 and data key, then logs in to it. */
export async function register(
  api: Api,
  email: string,
  password: string,
  store?: KeyValueStore,
  stage?: StageListener,
  invite?: string,
): Promise<OwnerSession> {
  if (characters(password) < MIN_MASTER_PASSWORD_CHARS) throw new VaultError(`Choose a master password of at least ${MIN_MASTER_PASSWORD_CHARS} characters.`);
  const r16 = randomBytes(16);
  const params = kdfJson(DEFAULT_KDF);
  const { ak, wk } = await deriveAccountKeys(email, password, r16, params, stage);
  const dk = randomBytes(32);
  try {
    const wrapped = await wrapDataKey(wk, dk, r16);
    await stage?.("contacting");
    await api.send("/accounts", {
      method: "POST",
      headers: { "Content-Type": JSON_TYPE },
      body: JSON.stringify({ email, kdf: params, kdf_salt: b64(r16), auth_key: b64(ak), wrapped_data_key: b64(wrapped), ...(invite ? { invite } : {}) }),
    });
  } finally {
    dk.fill(0);
  }
  return openSession(api, email, ak, wk, r16, params, store, stage);
}

/** Logs in: pre-login (parameters checked before any work), Argon2id, the login proof, then DK unwrapped. */
export async function login(api: Api, email: string, password: string, store?: KeyValueStore, stage?: StageListener): Promise<OwnerSession> {
  if (password.length === 0) throw new VaultError("Enter your master password.");
  await stage?.("contacting");
  const pre = await api.json<PreloginResponse>("/accounts/prelogin", {
    method: "POST",
    headers: { "Content-Type": JSON_TYPE },
    body: JSON.stringify({ email }),
  });
  const r16 = fromB64u(pre.kdf_salt);
  if (r16.length !== 16) throw new VaultError("The server sent a malformed account salt.");
  const params = kdfJson(pre.kdf);
  const { ak, wk } = await deriveAccountKeys(email, password, r16, params, stage);
  return openSession(api, email, ak, wk, r16, params, store, stage);
}

/** The login proof, then DK unwrapped. `versions` carries an existing anti-rollback memory over (a password change). */
async function openSession(
  api: Api,
  email: string,
  ak: Bytes,
  wk: Bytes,
  r16: Bytes,
  params: KdfParams,
  store: KeyValueStore | undefined,
  stage?: StageListener,
  versions?: VersionMemory,
): Promise<OwnerSession> {
  try {
    await stage?.("unlocking");
    const response = await api.json<LoginResponse>("/sessions", {
      method: "POST",
      headers: { "Content-Type": JSON_TYPE },
      body: JSON.stringify({ email, auth_key: b64(ak) }),
    });
    if (!constantTimeEqual(fromB64u(response.kdf_salt), r16)) throw new VaultError("The server changed the account's salt during login; nothing was unlocked.");
    let dk: Bytes;
    try {
      dk = await unwrapDataKey(wk, fromB64u(response.wrapped_data_key), r16);
    } catch {
      throw new VaultError("The account's data key does not open with this password; nothing was unlocked.");
    }
    const memory = versions ?? new VersionMemory(store, `sharelock:versions:${response.account_id}`);
    const unlock = { kdf: params, r16: r16.slice(), wrappedDataKey: fromB64u(response.wrapped_data_key) };
    return new OwnerSession(api, response.token, response.account_id, email, response.expires_at, dk, await ownerKey(dk), memory, unlock);
  } finally {
    ak.fill(0);
    wk.fill(0);
  }
}

function isCode(e: unknown, ...codes: string[]): e is ApiError {
  return e instanceof ApiError && codes.includes(e.code);
}

/** A file name the record allows (§3.3): 1–255 bytes, one line, no path separators. */
export function checkFileName(name: string): void {
  const n = utf8(name).length;
  // eslint-disable-next-line no-control-regex
  if (n === 0 || n > MAX_FILE_NAME_LEN || /[/\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name)) {
    throw new VaultError(`The file name "${name.slice(0, 60)}" cannot be stored: names are 1 to 255 bytes, on one line, without / or \\. Rename the file and try again.`);
  }
}


/** An unlocked vault. */
export class OwnerSession {
  readonly #token: string;
  readonly #dk: Bytes;
  readonly #kOwn: Bytes;
  readonly #unlock: Unlock;
  #closed = false;
  /** Writes from this page run one at a time, so a live event's rotation never races the user's own write. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The record list being fetched, shared by whoever asks meanwhile (the list and the rotation at unlock). */
  #listing: Promise<RecordList> | undefined;

  constructor(
    readonly api: Api,
    token: string,
    readonly accountId: string,
    readonly email: string,
    readonly expiresAt: string,
    dk: Bytes,
    kOwn: Bytes,
    readonly versions: VersionMemory,
    unlock: Unlock,
  ) {
    this.#token = token;
    this.#dk = dk;
    this.#kOwn = kOwn;
    this.#unlock = unlock;
  }

  /** The bearer token, for the event stream. */
  get token(): string {
    this.#live();
    return this.#token;
  }

  /** The server's time in Unix seconds (one-time codes follow it). */
  serverNow(): number {
    return this.api.serverNow();
  }

  /** Ends the session on the server and forgets the keys here, whatever the server answers. */
  async logout(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#send("DELETE", "/sessions/current");
    } finally {
      this.close();
    }
  }

  /**
   * Changes the master password (§7.1) and logs in with the new one; returns the new session. The current
   * password is checked here first, by opening the account's wrapped data key with it, so a mistyped one
   * never reaches the server (where it would count as a failed login). Then a new r16, the keys of the new
   * password, and the same DK rewrapped. The server ends every session of the account, this one included,
   * so it is closed once the change is accepted. Costs two Argon2id runs.
   */
  async changePassword(current: string, next: string, stage?: StageListener): Promise<OwnerSession> {
    this.#live();
    if (characters(next) < MIN_MASTER_PASSWORD_CHARS) throw new VaultError(`Choose a new master password of at least ${MIN_MASTER_PASSWORD_CHARS} characters.`);
    if (normalizeSecret(next) === normalizeSecret(current)) throw new VaultError("The new master password is the same as the current one.");
    const unlock = this.#unlock;
    const old = await deriveAccountKeys(this.email, current, unlock.r16, unlock.kdf, stage);
    try {
      let opened: Bytes;
      try {
        opened = await unwrapDataKey(old.wk, unlock.wrappedDataKey, unlock.r16);
      } catch {
        throw new WrongPasswordError();
      }
      const same = constantTimeEqual(opened, this.#keys.dk);
      opened.fill(0);
      if (!same) throw new VaultError("The account's data key is not the one this vault holds; nothing was changed.");
      const params = raisedKdf(unlock.kdf);
      const r16 = randomBytes(16);
      const { ak, wk } = await deriveAccountKeys(this.email, next, r16, params, stage);
      const wrapped = await wrapDataKey(wk, this.#keys.dk, r16);
      await stage?.("contacting");
      const body = { current_auth_key: b64(old.ak), kdf: params, kdf_salt: b64(r16), auth_key: b64(ak), wrapped_data_key: b64(wrapped) };
      try {
        await this.#send("POST", "/accounts/password", JSON.stringify(body), JSON_TYPE);
      } catch (e) {
        ak.fill(0);
        wk.fill(0);
        throw e;
      }
      try {
        return await openSession(this.api, this.email, ak, wk, r16, params, undefined, stage, this.versions);
      } catch (e) {
        throw new PasswordChangedError(e);
      } finally {
        // The server has ended this session: forget its keys whatever happens next.
        this.close();
      }
    } finally {
      old.ak.fill(0);
      old.wk.fill(0);
    }
  }

  /** Forgets the keys (after a logout, or when the server says the session ended). */
  close(): void {
    this.#closed = true;
    this.#dk.fill(0);
    this.#kOwn.fill(0);
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---- HTTP

  #live(): void {
    if (this.#closed) throw new ApiError(401, "unauthorized", "logged out");
  }

  async #send(method: string, path: string, body?: BodyInit, contentType?: string, signal?: AbortSignal): Promise<Response> {
    this.#live();
    const headers: Record<string, string> = { Authorization: `Bearer ${this.#token}` };
    if (contentType) headers["Content-Type"] = contentType;
    return this.api.send(path, { method, headers, body: body ?? null, signal: signal ?? null });
  }

  async #json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.#send(method, path, body === undefined ? undefined : JSON.stringify(body), body === undefined ? undefined : JSON_TYPE);
    return (await response.json()) as T;
  }

  /**
   * `GET /records`, one request for callers that ask while it is under way: the answer carries every
   * record's current version, so the list and the rotation at unlock share it rather than fetch it twice.
   */
  #recordList(): Promise<RecordList> {
    if (this.#listing === undefined) {
      const listing = this.#json<RecordList>("GET", "/records");
      this.#listing = listing;
      const done = (): void => {
        if (this.#listing === listing) this.#listing = undefined;
      };
      listing.then(done, done);
    }
    return this.#listing;
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  get #keys(): { dk: Bytes; kOwn: Bytes } {
    this.#live();
    return { dk: this.#dk, kOwn: this.#kOwn };
  }

  // ---- Reading versions

  /** Every share of one record, or of all records (all states). */
  async fetchShares(recordId?: string): Promise<ShareInfo[]> {
    const path = recordId ? `/shares?record=${recordId}` : "/shares";
    return (await this.#json<{ shares: ShareInfo[] }>("GET", path)).shares;
  }

  /**
   * Fetches the current version, checks its header against what the server states (§7.5 step 1), unwraps
   * its key and establishes its author. `shares` saves a request when the caller has them.
   */
  async #current(id: string, shares?: readonly ShareInfo[]): Promise<Current & { hash?: Bytes }> {
    const record = await this.#json<RecordJson>("GET", `/records/${id}`);
    return this.#checked(id, record, shares);
  }

  /**
   * `#current` for a version already at hand (the list carries most): the same checks. `listing` holds DK
   * and K_own imported once, for the list's thousands of versions; it also gives `E` back, computed once.
   */
  async #checked(id: string, record: RecordJson, shares?: readonly ShareInfo[], listing?: ListingKeys): Promise<Current & { hash?: Bytes }> {
    const bytes = fromB64u(record.envelope);
    const envelope = parseEnvelope(bytes);
    if (record.id !== id || bytesToUuid(envelope.recordId) !== id || envelope.k !== BigInt(record.key_gen) || envelope.v !== BigInt(record.version)) {
      throw new VaultError("The server's record does not match its own version; it was not shown.");
    }
    const wrapped = fromB64u(record.wrapped_key);
    const rk = listing ? await unwrapRecordKeyWith(listing.dk, uuidToBytes(id), record.key_gen, wrapped) : await unwrapRecordKey(this.#keys.dk, uuidToBytes(id), record.key_gen, wrapped);
    if (listing && envelope.author.kind === "owner" && record.author.kind === "owner") {
      // A parsed envelope serialises back to exactly its bytes (§3.2), so E is the hash of what was sent.
      const hash = await sha256(bytes);
      return { record, envelope, rk, hash, verification: await verifyOwnerVersion(listing.kOwn, hash, fromB64u(record.proof)) };
    }
    const needShares = envelope.author.kind === "share" && shares === undefined;
    const known = needShares ? await this.fetchShares(id) : (shares ?? []);
    if (envelope.author.kind === "share") this.#observeEnded(known, (r) => (r === id ? record.version : undefined));
    const verification = await this.#verify(id, envelope, fromB64u(record.proof), record.author, known);
    return { record, envelope, rk, verification };
  }

  #verify(id: string, envelope: Envelope, proof: Bytes, author: ApiAuthor, shares: readonly ShareInfo[]): Promise<Verification> {
    return verifyVersion(this.#keys, id, envelope, proof, author, shares, (shareId) => this.versions.endedAfter(shareId));
  }

  /**
   * Remembers every share the server shows ended, at its record's current version as `versionOf` gives it
   * (§7.5): from then on no later version of that share is attributed to its recipient, whatever the server
   * says of the share.
   */
  #observeEnded(shares: readonly ShareInfo[], versionOf: (recordId: string) => number | undefined): void {
    for (const share of shares) {
      if (share.state !== "expired" && share.state !== "deleted") continue;
      const version = versionOf(share.record_id);
      if (version === undefined) continue;
      try {
        this.versions.noteEnded(fromB64u(share.share_id), share.record_id, version);
      } catch {
        // A malformed share id names no share a version could carry.
      }
    }
  }

  async #currentWithBody(id: string, shares?: readonly ShareInfo[]): Promise<WithBody> {
    const current = await this.#current(id, shares);
    const body = await openBody(current.envelope, current.rk);
    const summaryMismatch = await checkSummary(current.envelope, current.rk, body).then(
      () => false,
      () => true,
    );
    return { ...current, body, summaryMismatch };
  }

  /** The anti-rollback rule (§3.2) on a current version: remembered if verified, only checked if not. */
  async #guard(current: Current): Promise<void> {
    if (isVerified(current.verification)) await this.versions.accept(current.envelope);
    else await this.versions.check(current.envelope);
  }

  /** The current version, refused unless its author is verified and it does not go back. */
  async #currentVerified(id: string): Promise<WithBody> {
    const current = await this.#currentWithBody(id);
    if (current.verification.kind === "unverified") throw new UnverifiedError(current.record.version, current.verification.reason);
    await this.versions.accept(current.envelope);
    return current;
  }

  /**
   * The records with their decrypted summaries, most recently changed first, from one list call: it
   * carries each current version (but the largest, fetched one by one), and each is checked as when it is
   * opened alone. Versions are opened in batches, yielding to the page between them, so a vault of
   * thousands of records neither blocks the page nor waits on a request per record.
   */
  async listRecords(): Promise<RecordListEntry[]> {
    const [list, shares] = await Promise.all([this.#recordList(), this.fetchShares()]);
    const versions = new Map(list.records.map((r) => [r.id, r.version]));
    this.#observeEnded(shares, (r) => versions.get(r));
    const live = new Map<string, number>();
    for (const s of shares) if (isLive(s)) live.set(s.record_id, (live.get(s.record_id) ?? 0) + 1);
    const keys = this.#keys;
    const listing: ListingKeys = { dk: await importOpenKey(keys.dk), kOwn: await importHmacKey(keys.kOwn) };
    const entries: RecordListEntry[] = [];
    for (let start = 0; start < list.records.length; start += LIST_BATCH) {
      const batch = list.records.slice(start, start + LIST_BATCH);
      const opened = await Promise.all(batch.map((head) => this.#openListed(head, shares, listing, live.get(head.id) ?? 0)));
      // The anti-rollback rule (§3.2), for the whole batch at once: remembered if verified, only checked if not.
      const guarded = opened.filter((o): o is Listed & { current: ListedCurrent } => o?.current !== undefined);
      const refusals = this.versions.guardAll(guarded.map(({ current }) => ({ env: current.envelope, hash: current.hash, remember: isVerified(current.verification) })));
      guarded.forEach((o, i) => {
        const refusal = refusals[i];
        if (refusal !== undefined) o.entry = { ...o.entry, summary: undefined, problem: refusal, verification: { kind: "unverified", reason: "it could not be read" } };
      });
      for (const o of opened) if (o) entries.push(o.entry);
      if (start + LIST_BATCH < list.records.length) await yieldToPage();
    }
    return entries;
  }

  /** One list line: its current version opened and attributed, or why not (`undefined`: deleted meanwhile). */
  async #openListed(head: ListedRecordJson, shares: readonly ShareInfo[], listing: ListingKeys, liveShares: number): Promise<Listed | undefined> {
    const base = { id: head.id, version: head.version, updatedAt: head.updated_at, rotatePending: head.rotate_pending, liveShares };
    try {
      const { envelope, proof } = head;
      const checked =
        typeof envelope === "string" && typeof proof === "string"
          ? await this.#checked(head.id, { ...head, envelope, proof }, shares, listing)
          : await this.#current(head.id, shares);
      const current: ListedCurrent = { ...checked, hash: checked.hash ?? (await envelopeHash(checked.envelope)) };
      // The list's summary box is sealed with the version header, which only the envelope carries.
      const summary = await openSummary(current.envelope, current.rk);
      return {
        current,
        entry: { ...base, version: current.record.version, updatedAt: current.record.updated_at, summary, verification: current.verification },
      };
    } catch (e) {
      if (isCode(e, "not_found")) return undefined;
      if (e instanceof ApiError && e.code === "unauthorized") throw e;
      return { entry: { ...base, problem: e, verification: { kind: "unverified", reason: "it could not be read" } } };
    }
  }

  /** A record's current version, decrypted, with who wrote it. An unverified version is returned marked. */
  async openRecord(id: string): Promise<OpenedRecord> {
    const current = await this.#currentWithBody(id);
    await this.#guard(current);
    const r = current.record;
    return {
      id,
      version: r.version,
      keyGen: r.key_gen,
      body: current.body,
      author: r.author,
      verification: current.verification,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      rotatePending: r.rotate_pending,
      summaryMismatch: current.summaryMismatch,
    };
  }

  /**
   * Every version of a record, oldest first, each opened under its own key generation and attributed, and
   * the hash chain between them checked. Browsing history is not subject to anti-rollback.
   */
  async history(id: string): Promise<HistoryEntry[]> {
    const history = await this.#json<HistoryJson>("GET", `/records/${id}/history`);
    const shares = history.versions.some((v) => v.author.kind === "share") ? await this.fetchShares(id) : [];
    const last = history.versions.at(-1);
    if (last) this.#observeEnded(shares, (r) => (r === id ? last.version : undefined));
    const keys = new Map(history.keys.map((k) => [k.key_gen, k.wrapped_key]));
    const out: HistoryEntry[] = [];
    let prev: Bytes | undefined;
    let prevK = 0;
    for (const entry of history.versions) {
      const base = { version: entry.version, keyGen: entry.key_gen, createdAt: entry.created_at, author: entry.author };
      const bytes = fromB64u(entry.envelope);
      const expectedPrev = prev;
      prev = await sha256(bytes);
      const keyBefore = prevK;
      prevK = Math.max(prevK, entry.key_gen);
      let envelope: Envelope;
      try {
        envelope = parseEnvelope(bytes);
        if (bytesToUuid(envelope.recordId) !== id || envelope.v !== BigInt(entry.version) || envelope.k !== BigInt(entry.key_gen)) {
          throw new VaultError("the version does not match its place in the history");
        }
        if (expectedPrev === undefined ? entry.version !== 1 : !constantTimeEqual(envelope.prev, expectedPrev)) {
          throw new VaultError(expectedPrev === undefined ? "the history does not start at version 1" : "the version does not follow the one before it");
        }
        // Generations never go back along the chain: a lower one is a write under a key the record had rotated away from.
        if (entry.key_gen < keyBefore) throw new VaultError(`sealed under key generation ${entry.key_gen}, older than generation ${keyBefore} before it`);
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        out.push({ ...base, verification: { kind: "unverified", reason }, problem: reason });
        continue;
      }
      const verification = await this.#verify(id, envelope, fromB64u(entry.proof), entry.author, shares);
      try {
        const wrapped = keys.get(entry.key_gen);
        if (wrapped === undefined) throw new VaultError(`key generation ${entry.key_gen} is missing`);
        const rk = await unwrapRecordKey(this.#keys.dk, uuidToBytes(id), entry.key_gen, fromB64u(wrapped));
        out.push({ ...base, verification, body: await openBody(envelope, rk) });
      } catch (e) {
        out.push({ ...base, verification, problem: e instanceof Error ? e.message : String(e) });
      }
    }
    return out;
  }

  // ---- Writing versions

  /** Creates a record: a random id, a fresh RK_1, version 1 sealed and tagged by the owner. */
  async createRecord(body: RecordBody): Promise<string> {
    validateBody(body);
    return this.#exclusive(async () => {
      const id = randomId();
      const rk = randomBytes(32);
      const envelope = await sealVersion(rk, firstHeader(uuidToBytes(id), OWNER), body);
      const request = {
        id,
        wrapped_key: b64(await wrapRecordKey(this.#keys.dk, uuidToBytes(id), 1, rk)),
        envelope: b64(serializeEnvelope(envelope)),
        proof: b64(await ownerTag(this.#keys.kOwn, envelope)),
      };
      rk.fill(0);
      await this.#json<VersionWritten>("POST", "/records", request);
      await this.versions.accept(envelope);
      return id;
    });
  }

  /**
   * Writes `change(current body)` as the next version. A pending rotation runs first. On a conflict the
   * newest version is fetched, checked, and `change` applied to it again, so only this user's change is
   * re-applied. `replacesBody` (restoring an old version) lets the write go ahead over an unverified
   * current version, since nothing of that version is resealed.
   */
  async writeRecord(id: string, change: (body: RecordBody) => RecordBody, options: { replacesBody?: boolean } = {}): Promise<VersionWritten> {
    return this.#exclusive(async () => {
      for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        const current = await this.#currentWithBody(id);
        const verified = isVerified(current.verification);
        if (!verified && !options.replacesBody) throw new UnverifiedError(current.record.version, reasonOf(current.verification));
        await this.#guard(current);
        const body = change(structuredClone(current.body));
        validateBody(body);
        try {
          if (current.record.rotate_pending) {
            if (verified) {
              // Rotate first (§7.3): the recipient of the ended share never gets the next version's key.
              await this.#rotate(current, current.body);
              continue;
            }
            // An unverified body must not be resealed: the rotation carries the new body instead.
            return await this.#rotate(current, body);
          }
          const envelope = await sealVersion(current.rk, await nextHeader(current.envelope, current.envelope.k, OWNER), body);
          const written = await this.#json<VersionWritten>("PUT", `/records/${id}`, {
            base_version: current.record.version,
            envelope: b64(serializeEnvelope(envelope)),
            proof: b64(await ownerTag(this.#keys.kOwn, envelope)),
          });
          await this.versions.accept(envelope);
          return written;
        } catch (e) {
          // Someone wrote first, or rotated: fetch again, check again, apply the change again.
          if (isCode(e, "version_conflict", "stale_record_key", "share_set_mismatch")) continue;
          throw e;
        }
      }
      throw new VaultError("The record kept changing while saving. Nothing was lost; try again.");
    });
  }

  /** Deletes a record with its history and files; its shares end. */
  async deleteRecord(id: string): Promise<void> {
    await this.#exclusive(() => this.#send("DELETE", `/records/${id}`));
    this.versions.forget(id);
  }

  /**
   * The rotation of §7.3 on `current`: `body` resealed as the next version under a fresh RK_{k+1}, which is
   * wrapped for the owner and for every live share of the record. Retried when the share set changed.
   */
  async #rotate(current: Current, body: RecordBody): Promise<VersionWritten> {
    for (let attempt = 0; ; attempt++) {
      const shares = await this.#rotationShares(current.record.id, current.record.version);
      const { rotation, envelope } = await this.#buildRotation(current, body, shares);
      try {
        const written = await this.#json<VersionWritten>("POST", `/records/${current.record.id}/rotate`, rotation);
        await this.versions.accept(envelope);
        return written;
      } catch (e) {
        if (isCode(e, "share_set_mismatch") && attempt < 2) continue;
        throw e;
      }
    }
  }

  /**
   * The shares of a record (at `version`) for a rotation, after ending every live share whose owner secret
   * predates sealed share facts: nothing binds such a share to its record, so wrapping this record's new key
   * for it could hand the key to another record's recipient (§4.1). Refuses a listing that calls live a share
   * this browser saw end, or that lists a share of another record.
   */
  async #rotationShares(id: string, version: number): Promise<ShareInfo[]> {
    const idBytes = uuidToBytes(id);
    for (let round = 0; round < 2; round++) {
      const shares = await this.fetchShares(id);
      this.#observeEnded(shares, (r) => (r === id ? version : undefined));
      const legacy: string[] = [];
      for (const share of shares.filter((s) => isLive(s) && s.record_id === id)) {
        const shareId = fromB64u(share.share_id);
        if (this.versions.endedAfter(shareId) !== undefined) throw new VaultError("The server lists a share as live that has ended; nothing was written.");
        let facts;
        try {
          facts = (await openOwnerSecretOf(this.#keys.dk, fromB64u(share.owner_secret), shareId, idBytes, share.editable)).facts;
        } catch {
          throw new VaultError("The server lists a share under this record whose sealed facts name another record; nothing was written.");
        }
        if (facts.kind === "legacy") legacy.push(share.handle);
      }
      if (legacy.length === 0) return shares;
      for (const handle of legacy) await this.#endShare(handle);
    }
    throw new VaultError("The server keeps listing ended shares as live; nothing was written.");
  }

  async #buildRotation(current: Current, body: RecordBody, shares: readonly ShareInfo[]): Promise<{ rotation: RotationJson; envelope: Envelope; rk: Bytes }> {
    const id = current.record.id;
    const idBytes = uuidToBytes(id);
    const k = current.envelope.k + 1n;
    const rk = randomBytes(32);
    const envelope = await sealVersion(rk, await nextHeader(current.envelope, k, OWNER), body);
    const shareKeys = [];
    for (const share of shares.filter((s) => isLive(s) && s.record_id === id)) {
      const shareId = fromB64u(share.share_id);
      const opened = await openOwnerSecretOf(this.#keys.dk, fromB64u(share.owner_secret), shareId, idBytes, share.editable);
      if (opened.facts.kind === "legacy") throw new VaultError("A share without sealed facts cannot get a new record key.");
      shareKeys.push({ share: share.handle, wrapped_key: b64(await wrapRecordKeyForShare(opened.keys.shareKey, shareId, idBytes, k, rk)) });
    }
    const rotation: RotationJson = {
      base_version: current.record.version,
      envelope: b64(serializeEnvelope(envelope)),
      proof: b64(await ownerTag(this.#keys.kOwn, envelope)),
      wrapped_key: b64(await wrapRecordKey(this.#keys.dk, idBytes, k, rk)),
      share_keys: shareKeys,
    };
    return { rotation, envelope, rk };
  }

  /**
   * Rotates every record the server marks `rotate_pending` (a share of it ended). A record whose current
   * version cannot be attributed is left alone (its body must not be resealed) and reported.
   */
  async rotatePending(): Promise<{ rotated: string[]; skipped: { id: string; error: unknown }[] }> {
    return this.#exclusive(async () => {
      const list = await this.#recordList();
      const rotated: string[] = [];
      const skipped: { id: string; error: unknown }[] = [];
      for (const head of list.records.filter((h) => h.rotate_pending)) {
        try {
          const current = await this.#currentVerified(head.id);
          if (!current.record.rotate_pending) continue;
          await this.#rotate(current, current.body);
          rotated.push(head.id);
        } catch (e) {
          if (isCode(e, "not_found", "version_conflict", "stale_record_key")) continue;
          if (isCode(e, "unauthorized")) throw e;
          skipped.push({ id: head.id, error: e });
        }
      }
      return { rotated, skipped };
    });
  }

  // ---- Shares

  /**
   * Creates a one-time share (§7.4): a fresh link secret S (and S′ with a passphrase, one Argon2id run),
   * the record key rotated in the same request so the recipient cannot read older versions, the new
   * share's wrapped key, the owner's sealed copy of S ‖ S′ and the sealed label.
   */
  async createShare(recordId: string, options: ShareOptions, stage?: StageListener): Promise<CreatedShare> {
    if (utf8(options.label).length > MAX_LABEL_LEN) throw new VaultError(`The label is longer than ${MAX_LABEL_LEN} bytes; shorten it.`);
    if (options.passphrase !== "" && characters(options.passphrase) < MIN_SHARE_PASSPHRASE_CHARS) {
      throw new VaultError(`A passphrase has at least ${MIN_SHARE_PASSPHRASE_CHARS} characters; a few random words (Generate) are best.`);
    }
    if (options.passphrase) await stage?.("deriving");
    const keys = await deriveShareKeys(randomBytes(32), options.passphrase === "" ? undefined : options.passphrase);
    return this.#exclusive(async () => {
      const idBytes = uuidToBytes(recordId);
      const ownerSecret = b64(await sealOwnerSecret(this.#keys.dk, keys, { recordId: idBytes, editable: options.editable }));
      const label = options.label === "" ? null : b64(await sealLabel(this.#keys.dk, keys.shareId, options.label));
      for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        const current = await this.#currentVerified(recordId);
        const shares = await this.#rotationShares(recordId, current.record.version);
        const { rotation, envelope, rk } = await this.#buildRotation(current, current.body, shares);
        const request = {
          rotation,
          share_id: b64(keys.shareId),
          access_hash: b64(keys.accessHash),
          wrapped_key: b64(await wrapRecordKeyForShare(keys.shareKey, keys.shareId, idBytes, current.envelope.k + 1n, rk)),
          owner_secret: ownerSecret,
          label,
          expires: options.expires,
          editable: options.editable,
          burn_after_secs: options.burnAfterSecs,
          passphrase: keys.hasPassphrase,
          view_once: options.viewOnce ?? false,
        };
        rk.fill(0);
        try {
          const created = await this.#json<ShareCreatedJson>("POST", `/records/${recordId}/shares`, request);
          await this.versions.accept(envelope);
          return {
            link: formatLink(this.api.base, keys.hasPassphrase, keys.secret),
            handle: created.handle,
            shareId: b64(keys.shareId),
            expiresAt: created.expires_at,
            version: created.version,
            passphrase: keys.hasPassphrase,
          };
        } catch (e) {
          // A share ended or the record changed between reading and writing: build the rotation again.
          if (isCode(e, "share_set_mismatch", "version_conflict", "stale_record_key")) continue;
          throw e;
        }
      }
      throw new VaultError("The record kept changing while sharing it; try again.");
    });
  }

  /** The shares of one record (or all), with labels opened and devices checked here. */
  async listShares(recordId?: string): Promise<ShareEntry[]> {
    return Promise.all((await this.fetchShares(recordId)).map((info) => this.shareEntry(info)));
  }

  /**
   * Opens what DK opens of a share: its secrets (for the link and the bind tag) as a share of the record the
   * server lists it under, its sealed facts (editability), and its label.
   */
  async shareEntry(info: ShareInfo): Promise<ShareEntry> {
    const entry: ShareEntry = { info, editable: info.editable, legacy: false };
    try {
      const shareId = fromB64u(info.share_id);
      if (info.device_key !== null) entry.fingerprint = await deviceFingerprint(fromB64u(info.device_key));
      let keys: ShareKeys;
      try {
        const opened = await openOwnerSecretOf(this.#keys.dk, fromB64u(info.owner_secret), shareId, uuidToBytes(info.record_id), info.editable);
        keys = opened.keys;
        if (opened.facts.kind === "legacy") {
          entry.legacy = true;
        } else {
          entry.editable = opened.facts.grant.editable;
          if (entry.editable !== info.editable) {
            entry.problem = `the server says it is ${info.editable ? "editable" : "read-only"}, but it was created ${entry.editable ? "editable" : "read-only"}`;
          }
        }
      } catch {
        entry.problem = "its secrets do not open as a share of this record with this vault's key";
        return entry;
      }
      if (info.state === "active") entry.link = formatLink(this.api.base, keys.hasPassphrase, keys.secret);
      if (info.device_key !== null) {
        entry.deviceVerified =
          info.bind_tag !== null &&
          (await verifyBindTag(keys.bindKey, shareId, fromB64u(info.device_key), fromB64u(info.bind_tag)).then(
            () => true,
            () => false,
          ));
      }
      if (info.label !== null) entry.label = await openLabel(this.#keys.dk, shareId, fromB64u(info.label));
    } catch {
      entry.problem ??= "its secrets or label do not open with this vault's key";
    }
    return entry;
  }

  /** One share by its handle, opened as in the list. */
  async getShare(handle: string): Promise<ShareEntry> {
    return this.shareEntry(await this.#json<ShareInfo>("GET", `/shares/${handle}`));
  }

  /**
   * Ends a share at once; its record is then due for a key rotation. This browser remembers the share as
   * ended from the record's current version on (§7.5).
   */
  async deleteShare(handle: string): Promise<ShareEntry> {
    return this.shareEntry(await this.#endShare(handle));
  }

  async #endShare(handle: string): Promise<ShareInfo> {
    const info = await this.#json<ShareInfo>("DELETE", `/shares/${handle}`);
    try {
      const record = await this.#json<RecordJson>("GET", `/records/${info.record_id}`);
      this.#observeEnded([info], () => record.version);
    } catch (e) {
      // The record is gone: nothing of it can be attributed any more.
      if (!isCode(e, "not_found")) throw e;
    }
    return info;
  }

  // ---- Files

  /** Encrypts a file under a fresh key and uploads it in parts; returns its reference for the body. */
  async uploadFile(recordId: string, file: File, maxFileBytes: number, progress?: Progress): Promise<FileRef> {
    checkFileName(file.name);
    if (blobLength(file.size, DEFAULT_CHUNK_SIZE) > maxFileBytes) throw new VaultError(`${file.name} is larger than this server accepts.`);
    return uploadFile(
      file,
      {
        putPart: async (id, part, bytes) => {
          await this.#send("PUT", `/records/${recordId}/files/${id}/parts/${part}`, bytes, "application/octet-stream");
        },
        complete: async (id, parts, size) => {
          await this.#send("POST", `/records/${recordId}/files/${id}/complete`, JSON.stringify({ parts, size }), JSON_TYPE);
        },
      },
      progress,
    );
  }

  /** Uploads files and adds them to the record as one new version. */
  async attachFiles(recordId: string, files: readonly File[], maxFileBytes: number, progress?: Progress): Promise<VersionWritten> {
    const total = files.reduce((sum, f) => sum + f.size, 0);
    let done = 0;
    const refs: FileRef[] = [];
    for (const file of files) {
      refs.push(await this.uploadFile(recordId, file, maxFileBytes, (n, t) => progress?.(done + Math.min(file.size, Math.round((n / Math.max(t, 1)) * file.size)), total)));
      done += file.size;
    }
    return this.writeRecord(recordId, (body) => ({ ...body, files: [...body.files, ...refs] }));
  }

  /**
   * Starts a file's download: its plaintext as a stream, decrypted as it is read, that closes only once
   * H(blob) and the size matched the reference (see `decryptedStream`).
   */
  async downloadStream(recordId: string, file: FileRef, progress?: Progress): Promise<ReadableStream<Uint8Array>> {
    const response = await this.#send("GET", `/records/${recordId}/files/${file.id}`);
    return decryptedStream(response, file, progress);
  }

  /** Downloads a file, decrypts it chunk by chunk and checks H(blob) and the size against the reference. */
  async downloadFile(recordId: string, file: FileRef, progress?: Progress): Promise<Blob> {
    const response = await this.#send("GET", `/records/${recordId}/files/${file.id}`);
    try {
      return await decryptDownload(response, file, progress);
    } catch (e) {
      throw e instanceof ProtocolError ? e : new VaultError(`${e instanceof Error ? e.message : String(e)}.`);
    }
  }
}

function reasonOf(v: Verification): string {
  return v.kind === "unverified" ? v.reason : "";
}
