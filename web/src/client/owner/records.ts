// A vault's records (docs/protocol.md §3, §7.2, §7.3, §7.5): the list, one record, its history, writing
// versions and the key rotation. Every version read is checked before it is shown or built upon (§7.5);
// one that cannot be attributed is shown as unverified and never resealed.
import { bytesToUuid, constantTimeEqual, fromB64u, randomBytes, randomId, uuidToBytes, type Bytes } from "../../protocol/bytes";
import { importHmacKey, importOpenKey, sha256 } from "../../protocol/crypto";
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
} from "../../protocol/envelope";
import { unwrapRecordKey, unwrapRecordKeyWith, wrapRecordKey, wrapRecordKeyForShare } from "../../protocol/kdf";
import { validateBody, type RecordBody, type Summary } from "../../protocol/record";
import { openOwnerSecretOf } from "../../protocol/share";
import { ApiError } from "../http";
import { isLive, type ApiAuthor, type HistoryJson, type ListedRecordJson, type RecordJson, type RecordList, type RotationJson, type ShareInfo, type VersionWritten } from "../owner-api";
import { isVerified, verifyOwnerVersion, verifyVersion, type Verification } from "../verify";
import type { ExportSource } from "../export";
import { UnverifiedError, VaultError } from "./errors";
import { b64, isCode, WRITE_ATTEMPTS, type OwnerTransport } from "./transport";

/**
 * What became of one record of `Records.createRecords`: stored; failed (`maybeStored` when the request got
 * no answer, so the record may have been stored); or not sent, because an earlier one failed.
 */
export type CreateOutcome =
  | { id: string; outcome: "created" }
  | { id: string; outcome: "failed"; error: unknown; maybeStored: boolean }
  | { id: string; outcome: "not_sent" };

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
  /** Why this version cannot be read, or does not fit in the history (an error to explain). */
  problem?: unknown;
}

export interface Current {
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

/** Live shares per record. */
function liveCounts(shares: readonly ShareInfo[]): Map<string, number> {
  const live = new Map<string, number>();
  for (const s of shares) if (isLive(s)) live.set(s.record_id, (live.get(s.record_id) ?? 0) + 1);
  return live;
}

/** Versions opened together by the record list before it yields to the page. */
const LIST_BATCH = 200;
/** The list's first batch: about a screenful, handed over first so the list appears at once. */
const FIRST_BATCH = 50;

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

export interface WithBody extends Current {
  body: RecordBody;
  summaryMismatch: boolean;
}

/** The records of an unlocked vault: `session.records`. */
export class Records {
  readonly #t: OwnerTransport;
  /** The record list being fetched, shared by whoever asks meanwhile (the list and the rotation at unlock). */
  #listing: Promise<RecordList> | undefined;

  constructor(transport: OwnerTransport) {
    this.#t = transport;
  }

  /**
   * `GET /records`, one request for callers that ask while it is under way: the answer carries every
   * record's current version, so the list and the rotation at unlock share it rather than fetch it twice.
   */
  #recordList(): Promise<RecordList> {
    if (this.#listing === undefined) {
      const listing = this.#t.json<RecordList>("GET", "/records");
      this.#listing = listing;
      const done = (): void => {
        if (this.#listing === listing) this.#listing = undefined;
      };
      listing.then(done, done);
    }
    return this.#listing;
  }

  /**
   * Fetches the current version, checks its header against what the server states (§7.5 step 1), unwraps
   * its key and establishes its author. `shares` saves a request when the caller has them.
   */
  async #current(id: string, shares?: readonly ShareInfo[]): Promise<Current & { hash?: Bytes }> {
    const record = await this.#t.json<RecordJson>("GET", `/records/${id}`);
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
      throw new VaultError("client.recordMismatch");
    }
    const wrapped = fromB64u(record.wrapped_key);
    const rk = listing ? await unwrapRecordKeyWith(listing.dk, uuidToBytes(id), record.key_gen, wrapped) : await unwrapRecordKey(this.#t.keys.dk, uuidToBytes(id), record.key_gen, wrapped);
    if (listing && envelope.author.kind === "owner" && record.author.kind === "owner") {
      // A parsed envelope serialises back to exactly its bytes (§3.2), so E is the hash of what was sent.
      const hash = await sha256(bytes);
      return { record, envelope, rk, hash, verification: await verifyOwnerVersion(listing.kOwn, hash, fromB64u(record.proof)) };
    }
    const needShares = envelope.author.kind === "share" && shares === undefined;
    const known = needShares ? await this.#t.fetchShares(id) : (shares ?? []);
    if (envelope.author.kind === "share") this.#t.observeEnded(known, (r) => (r === id ? record.version : undefined));
    const verification = await this.#verify(id, envelope, fromB64u(record.proof), record.author, known);
    return { record, envelope, rk, verification };
  }

  #verify(id: string, envelope: Envelope, proof: Bytes, author: ApiAuthor, shares: readonly ShareInfo[]): Promise<Verification> {
    return verifyVersion(this.#t.keys, id, envelope, proof, author, shares, (shareId) => this.#t.versions.endedAfter(shareId));
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
    if (isVerified(current.verification)) await this.#t.versions.accept(current.envelope);
    else await this.#t.versions.check(current.envelope);
  }

  /**
   * The current version, refused unless its author is verified and it does not go back. Also used by
   * `Shares.create`, whose request carries a rotation (as are `rotationShares` and `buildRotation`).
   */
  async currentVerified(id: string): Promise<WithBody> {
    const current = await this.#currentWithBody(id);
    if (current.verification.kind === "unverified") throw new UnverifiedError(current.record.version, current.verification.reason, current.verification.code);
    await this.#t.versions.accept(current.envelope);
    return current;
  }

  /**
   * The records with their decrypted summaries, most recently changed first, from one list call: it
   * carries each current version (but the largest, fetched one by one), and each is checked as when it is
   * opened alone. Versions are opened in batches, yielding to the page between them, so a vault of

   * thousands of records neither blocks the page nor waits on a request per record. `onBatch` gets each
   * batch's lines as soon as they are open, the first batch about a screenful.
   */
  async list(onBatch?: (entries: readonly RecordListEntry[]) => void): Promise<RecordListEntry[]> {
    const [list, shares] = await Promise.all([this.#recordList(), this.#t.fetchShares()]);
    const versions = new Map(list.records.map((r) => [r.id, r.version]));
    this.#t.observeEnded(shares, (r) => versions.get(r));
    const live = liveCounts(shares);
    const listing = await this.#listingKeys();
    const entries: RecordListEntry[] = [];
    for (let start = 0; start < list.records.length; ) {
      // A first screenful alone, so that `onBatch` can draw it before the rest is opened.
      const end = start + (start === 0 ? FIRST_BATCH : LIST_BATCH);
      const batch = await this.#openBatch(list.records.slice(start, end), shares, listing, live);
      entries.push(...batch);
      onBatch?.(batch);
      start = end;
      if (start < list.records.length) await yieldToPage();
    }
    return entries;
  }

  /**
   * One record's list line, fresh from the server (a live event changed it), checked as the list checks
   * its lines; `undefined` if the record is gone. A share of it that ended with the record (`record_deleted`:
   * the owner deleted it, or it destroyed itself, §4.7) says so without asking for the record.
   */
  async entry(id: string): Promise<RecordListEntry | undefined> {
    const shares = await this.#t.fetchShares(id);
    if (shares.some((s) => s.end_reason === "record_deleted")) return undefined;
    let head: RecordJson;
    try {
      head = await this.#t.json<RecordJson>("GET", `/records/${id}`);
    } catch (e) {
      if (isCode(e, "not_found")) return undefined;
      throw e;
    }
    const [entry] = await this.#openBatch([head], shares, await this.#listingKeys(), liveCounts(shares));
    return entry;
  }

  async #listingKeys(): Promise<ListingKeys> {
    const keys = this.#t.keys;
    return { dk: await importOpenKey(keys.dk), kOwn: await importHmacKey(keys.kOwn) };
  }

  /** List lines of `heads`, opened together, the anti-rollback rule (§3.2) applied to them at once. */
  async #openBatch(heads: readonly ListedRecordJson[], shares: readonly ShareInfo[], listing: ListingKeys, live: ReadonlyMap<string, number>): Promise<RecordListEntry[]> {
    const opened = await Promise.all(heads.map((head) => this.#openListed(head, shares, listing, live.get(head.id) ?? 0)));
    // Remembered if verified, only checked if not.
    const guarded = opened.filter((o): o is Listed & { current: ListedCurrent } => o?.current !== undefined);
    const refusals = this.#t.versions.guardAll(guarded.map(({ current }) => ({ env: current.envelope, hash: current.hash, remember: isVerified(current.verification) })));
    guarded.forEach((o, i) => {
      const refusal = refusals[i];
      if (refusal !== undefined) o.entry = { ...o.entry, summary: undefined, problem: refusal, verification: { kind: "unverified", reason: "it could not be read" } };
    });
    return opened.filter((o): o is Listed => o !== undefined).map((o) => o.entry);
  }

  /**
   * Every record's current version with its body, for an export (docs/export.md): opened and attributed as
   * `list` does, from the same one list call, in batches. A version whose author cannot be verified, or
   * that goes back, is left out with the reason: it is never handed on as the owner's.
   */
  async exportAll(): Promise<{ records: ExportSource[]; leftOut: { id: string; reason: string }[] }> {
    const [list, shares] = await Promise.all([this.#recordList(), this.#t.fetchShares()]);
    const versions = new Map(list.records.map((r) => [r.id, r.version]));
    this.#t.observeEnded(shares, (r) => versions.get(r));
    const listing = await this.#listingKeys();
    const records: ExportSource[] = [];
    const leftOut: { id: string; reason: string }[] = [];
    for (let start = 0; start < list.records.length; start += LIST_BATCH) {
      const batch = list.records.slice(start, start + LIST_BATCH);
      const opened = await Promise.all(
        batch.map(async (head): Promise<{ current: ListedCurrent; body: RecordBody } | { id: string; reason: string } | undefined> => {
          try {
            const { envelope, proof } = head;
            const checked =
              typeof envelope === "string" && typeof proof === "string"
                ? await this.#checked(head.id, { ...head, envelope, proof }, shares, listing)
                : await this.#current(head.id, shares);
            if (checked.verification.kind === "unverified") return { id: head.id, reason: checked.verification.reason };
            const current: ListedCurrent = { ...checked, hash: checked.hash ?? (await envelopeHash(checked.envelope)) };
            return { current, body: await openBody(current.envelope, current.rk) };
          } catch (e) {
            if (isCode(e, "not_found")) return undefined;
            if (e instanceof ApiError && e.code === "unauthorized") throw e;
            return { id: head.id, reason: e instanceof Error ? e.message : String(e) };
          }
        }),
      );
      const good = opened.filter((o): o is { current: ListedCurrent; body: RecordBody } => o !== undefined && "current" in o);
      const refusals = this.#t.versions.guardAll(good.map(({ current }) => ({ env: current.envelope, hash: current.hash, remember: true })));
      for (const o of opened) {
        if (o === undefined) continue;
        if (!("current" in o)) {
          leftOut.push(o);
          continue;
        }
        const refusal = refusals[good.indexOf(o)];
        const r = o.current.record;
        if (refusal !== undefined) leftOut.push({ id: r.id, reason: refusal.message });
        else records.push({ id: r.id, version: r.version, updatedAt: r.updated_at, body: o.body });
      }
      if (start + LIST_BATCH < list.records.length) await yieldToPage();
    }
    return { records, leftOut };
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
  async open(id: string): Promise<OpenedRecord> {
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
    const history = await this.#t.json<HistoryJson>("GET", `/records/${id}/history`);
    const shares = history.versions.some((v) => v.author.kind === "share") ? await this.#t.fetchShares(id) : [];
    const last = history.versions.at(-1);
    if (last) this.#t.observeEnded(shares, (r) => (r === id ? last.version : undefined));
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
          throw new VaultError("client.history.misplaced");
        }
        if (expectedPrev === undefined ? entry.version !== 1 : !constantTimeEqual(envelope.prev, expectedPrev)) {
          throw new VaultError(expectedPrev === undefined ? "client.history.start" : "client.history.chain");
        }
        // Generations never go back along the chain: a lower one is a write under a key the record had rotated away from.
        if (entry.key_gen < keyBefore) throw new VaultError("client.history.oldKey", { k: entry.key_gen, before: keyBefore });
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        out.push({ ...base, verification: { kind: "unverified", reason }, problem: e });
        continue;
      }
      const verification = await this.#verify(id, envelope, fromB64u(entry.proof), entry.author, shares);
      try {
        const wrapped = keys.get(entry.key_gen);
        if (wrapped === undefined) throw new VaultError("client.history.noKey", { k: entry.key_gen });
        const rk = await unwrapRecordKey(this.#t.keys.dk, uuidToBytes(id), entry.key_gen, fromB64u(wrapped));
        out.push({ ...base, verification, body: await openBody(envelope, rk) });
      } catch (e) {
        out.push({ ...base, verification, problem: e });
      }
    }
    return out;
  }

  // ---- Writing versions

  /** Creates a record: a random id, a fresh RK_1, version 1 sealed and tagged by the owner. */
  async create(body: RecordBody): Promise<string> {
    validateBody(body);
    return this.#t.exclusive(async () => {
      const id = randomId();
      const rk = randomBytes(32);
      const envelope = await sealVersion(rk, firstHeader(uuidToBytes(id), OWNER), body);
      const request = {
        id,
        wrapped_key: b64(await wrapRecordKey(this.#t.keys.dk, uuidToBytes(id), 1, rk)),
        envelope: b64(serializeEnvelope(envelope)),
        proof: b64(await ownerTag(this.#t.keys.kOwn, envelope)),
      };
      rk.fill(0);
      await this.#t.json<VersionWritten>("POST", "/records", request);
      await this.#t.versions.accept(envelope);
      return id;
    });
  }

  /**
   * Creates many records (an import, docs/import.md): every body is checked first (nothing is sent if one
   * breaks a rule), then each is sealed with a fresh id and key and sent, `inFlight` requests at a time.
   * After the first failure no new request starts. The answer holds one outcome per body, in order:
   * `created`; `failed` with the error (`maybeStored` when the request got no answer: the record may
   * exist, and `ids()` tells); `not_sent`. `onSettled` is told
   * each time a request ends. Requests run outside the page's write queue: a new record cannot race a
   * rotation or an edit of another.
   */
  async createRecords(bodies: readonly RecordBody[], inFlight: number, onSettled?: (settled: number) => void): Promise<CreateOutcome[]> {
    for (const body of bodies) validateBody(body);
    const outcomes: CreateOutcome[] = bodies.map(() => ({ id: randomId(), outcome: "not_sent" }));
    let next = 0;
    let settled = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (!failed && next < bodies.length) {
        const i = next++;
        const id = outcomes[i]!.id;
        try {
          const rk = randomBytes(32);
          const envelope = await sealVersion(rk, firstHeader(uuidToBytes(id), OWNER), bodies[i]!);
          const { dk, kOwn } = this.#t.keys;
          const request = {
            id,
            wrapped_key: b64(await wrapRecordKey(dk, uuidToBytes(id), 1, rk)),
            envelope: b64(serializeEnvelope(envelope)),
            proof: b64(await ownerTag(kOwn, envelope)),
          };
          rk.fill(0);
          // A failure before this point sent nothing: the record certainly does not exist.
          if (failed) break;
          try {
            await this.#t.json<VersionWritten>("POST", "/records", request);
          } catch (e) {
            failed = true;
            outcomes[i] = { id, outcome: "failed", error: e, maybeStored: !(e instanceof ApiError) };
            continue;
          }
          outcomes[i] = { id, outcome: "created" };
          await this.#t.versions.accept(envelope);
        } catch (e) {
          failed = true;
          if (outcomes[i]!.outcome === "not_sent") outcomes[i] = { id, outcome: "failed", error: e, maybeStored: false };
        } finally {
          if (outcomes[i]!.outcome !== "not_sent") onSettled?.(++settled);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(inFlight, bodies.length)) }, worker));
    return outcomes;
  }

  /** The ids of every record of the vault, from a fresh record list (nothing is opened). */
  async ids(): Promise<Set<string>> {
    const list = await this.#t.json<RecordList>("GET", "/records");
    return new Set(list.records.map((r) => r.id));
  }

  /**
   * Writes `change(current body)` as the next version. A pending rotation runs first. On a conflict the
   * newest version is fetched, checked, and `change` applied to it again, so only this user's change is
   * re-applied. `replacesBody` (restoring an old version) lets the write go ahead over an unverified
   * current version, since nothing of that version is resealed.
   */
  async write(id: string, change: (body: RecordBody) => RecordBody, options: { replacesBody?: boolean } = {}): Promise<VersionWritten> {
    return this.#t.exclusive(async () => {
      for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        const current = await this.#currentWithBody(id);
        const verified = isVerified(current.verification);
        if (!verified && !options.replacesBody) throw new UnverifiedError(current.record.version, reasonOf(current.verification), codeOf(current.verification));
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
          const written = await this.#t.json<VersionWritten>("PUT", `/records/${id}`, {
            base_version: current.record.version,
            envelope: b64(serializeEnvelope(envelope)),
            proof: b64(await ownerTag(this.#t.keys.kOwn, envelope)),
          });
          await this.#t.versions.accept(envelope);
          return written;
        } catch (e) {
          // Someone wrote first, or rotated: fetch again, check again, apply the change again.
          if (isCode(e, "version_conflict", "stale_record_key", "share_set_mismatch")) continue;
          throw e;
        }
      }
      throw new VaultError("client.busySaving");
    });
  }

  /** Deletes a record with its history and files; its shares end. */
  async delete(id: string): Promise<void> {
    await this.#t.exclusive(() => this.#t.send("DELETE", `/records/${id}`));
    this.#t.versions.forget(id);
  }

  /**
   * The rotation of §7.3 on `current`: `body` resealed as the next version under a fresh RK_{k+1}, which is
   * wrapped for the owner and for every live share of the record. Retried when the share set changed.
   */
  async #rotate(current: Current, body: RecordBody): Promise<VersionWritten> {
    for (let attempt = 0; ; attempt++) {
      const shares = await this.rotationShares(current.record.id, current.record.version);
      const { rotation, envelope } = await this.buildRotation(current, body, shares);
      try {
        const written = await this.#t.json<VersionWritten>("POST", `/records/${current.record.id}/rotate`, rotation);
        await this.#t.versions.accept(envelope);
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
  async rotationShares(id: string, version: number): Promise<ShareInfo[]> {
    const idBytes = uuidToBytes(id);
    for (let round = 0; round < 2; round++) {
      const shares = await this.#t.fetchShares(id);
      this.#t.observeEnded(shares, (r) => (r === id ? version : undefined));
      const legacy: string[] = [];
      for (const share of shares.filter((s) => isLive(s) && s.record_id === id)) {
        const shareId = fromB64u(share.share_id);
        if (this.#t.versions.endedAfter(shareId) !== undefined) throw new VaultError("client.endedLive");
        let facts;
        try {
          facts = (await openOwnerSecretOf(this.#t.keys.dk, fromB64u(share.owner_secret), shareId, idBytes, share.editable)).facts;
        } catch {
          throw new VaultError("client.otherRecordShare");
        }
        if (facts.kind === "legacy") legacy.push(share.handle);
      }
      if (legacy.length === 0) return shares;
      for (const handle of legacy) await this.#t.endShare(handle);
    }
    throw new VaultError("client.endedLiveAgain");
  }

  /** The rotation request for `body` as the next version under a fresh record key, and that key. */
  async buildRotation(current: Current, body: RecordBody, shares: readonly ShareInfo[]): Promise<{ rotation: RotationJson; envelope: Envelope; rk: Bytes }> {
    const id = current.record.id;
    const idBytes = uuidToBytes(id);
    const k = current.envelope.k + 1n;
    const rk = randomBytes(32);
    const envelope = await sealVersion(rk, await nextHeader(current.envelope, k, OWNER), body);
    const shareKeys = [];
    for (const share of shares.filter((s) => isLive(s) && s.record_id === id)) {
      const shareId = fromB64u(share.share_id);
      const opened = await openOwnerSecretOf(this.#t.keys.dk, fromB64u(share.owner_secret), shareId, idBytes, share.editable);
      if (opened.facts.kind === "legacy") throw new VaultError("client.legacyShare");
      shareKeys.push({ share: share.handle, wrapped_key: b64(await wrapRecordKeyForShare(opened.keys.shareKey, shareId, idBytes, k, rk)) });
    }
    const rotation: RotationJson = {
      base_version: current.record.version,
      envelope: b64(serializeEnvelope(envelope)),
      proof: b64(await ownerTag(this.#t.keys.kOwn, envelope)),
      wrapped_key: b64(await wrapRecordKey(this.#t.keys.dk, idBytes, k, rk)),
      share_keys: shareKeys,
    };
    return { rotation, envelope, rk };
  }

  /**
   * Rotates every record the server marks `rotate_pending` (a share of it ended). A record whose current
   * version cannot be attributed is left alone (its body must not be resealed) and reported.
   */
  async rotatePending(): Promise<{ rotated: string[]; skipped: { id: string; error: unknown }[] }> {
    return this.#t.exclusive(async () => {
      const list = await this.#recordList();
      const rotated: string[] = [];
      const skipped: { id: string; error: unknown }[] = [];
      for (const head of list.records.filter((h) => h.rotate_pending)) {
        try {
          const current = await this.currentVerified(head.id);
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
}

function reasonOf(v: Verification): string {
  return v.kind === "unverified" ? v.reason : "";
}

function codeOf(v: Verification): string | undefined {
  return v.kind === "unverified" ? v.code : undefined;
}
