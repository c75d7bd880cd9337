// The owner's memory (docs/protocol.md §3.2, §7.5), kept across sessions: per record, the highest (v, E) this
// browser accepted as current and the highest key generation seen (anti-rollback: a malicious server cannot
// replay an old version, an old password, as current, nor pass off a write under a key the record rotated
// away from); and every share seen ended, with its record's version at that moment, so that a server
// colluding with an ended share's recipient cannot slip in a later version as theirs. It holds no secret
// (record ids, share ids, version numbers and envelope hashes, what the CLI keeps in its home directory), so
// it may outlive the session: it is kept per account in the browser's storage when storage is available.
import { bytesToUuid, fromB64u, toB64u, type Bytes } from "../protocol/bytes";
import { envelopeHash, VersionGuard, type Envelope } from "../protocol/envelope";
import { ProtocolError } from "../protocol/errors";

/** The stored form: `records` id → [v, b64u(E), k]; `ended` b64u(share id) → [record id, v_end]. */
interface Saved {
  format: 2;
  records: Record<string, [string, string, string]>;
  ended: Record<string, [string, string]>;
}

/** The minimal storage interface (`localStorage` in the page, a Map in tests). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export class VersionMemory {
  readonly #guards = new Map<string, VersionGuard>();
  readonly #ended = new Map<string, { record: string; after: bigint }>();

  /** `store` and `key` persist the memory; without them it lives as long as the page. */
  constructor(
    private readonly store?: KeyValueStore,
    private readonly key?: string,
  ) {
    if (!store || !key) return;
    try {
      const saved = JSON.parse(store.getItem(key) ?? "{}") as Partial<Saved> & Record<string, unknown>;
      if (saved.format === 2) {
        for (const [id, [v, hash, k]] of Object.entries(saved.records ?? {})) this.#guards.set(id, VersionGuard.resume(BigInt(v), fromB64u(hash), BigInt(k)));
        for (const [share, [record, after]] of Object.entries(saved.ended ?? {})) this.#ended.set(share, { record, after: BigInt(after) });
      } else {
        // The first form: id → [v, b64u(E)], without key generations or ended shares.
        for (const [id, entry] of Object.entries(saved)) {
          const [v, hash] = entry as [string, string];
          this.#guards.set(id, VersionGuard.resume(BigInt(v), fromB64u(hash)));
        }
      }
    } catch {
      // A damaged entry protects nothing; start from what the server shows next.
      this.#guards.clear();
      this.#ended.clear();
    }
  }

  /** Refuses (`rollback`, `fork`, `key_rollback`) a version that contradicts what was accepted, without remembering it. */
  async check(env: Envelope): Promise<void> {
    this.#guards.get(bytesToUuid(env.recordId))?.check(env, await envelopeHash(env));
  }

  /** Checks `env` and remembers it if it is the newest version seen of its record. */
  async accept(env: Envelope): Promise<void> {
    const id = bytesToUuid(env.recordId);
    const hash = await envelopeHash(env);
    let guard = this.#guards.get(id);
    if (!guard) {
      guard = new VersionGuard();
      this.#guards.set(id, guard);
    }
    const before = [guard.highest()?.v, guard.keyGen()];
    guard.accept(env, hash);
    if (guard.highest()?.v !== before[0] || guard.keyGen() !== before[1]) this.#save();
  }

  /**
   * Guards many current versions at once, saving once (the record list guards every record: saving the
   * whole memory after each would take time quadratic in the vault's size). Each item is accepted
   * (`remember`) or only checked, as by `accept` and `check`, with its `E` already computed; the answer
   * holds each item's refusal, or undefined.
   */
  guardAll(items: readonly { env: Envelope; hash: Uint8Array; remember: boolean }[]): (ProtocolError | undefined)[] {
    let changed = false;
    const out = items.map(({ env, hash, remember }) => {
      const id = bytesToUuid(env.recordId);
      let guard = this.#guards.get(id);
      try {
        if (!remember) {
          guard?.check(env, hash);
          return undefined;
        }
        if (!guard) {
          guard = new VersionGuard();
          this.#guards.set(id, guard);
        }
        const before = [guard.highest()?.v, guard.keyGen()];
        guard.accept(env, hash);
        if (guard.highest()?.v !== before[0] || guard.keyGen() !== before[1]) changed = true;
        return undefined;
      } catch (e) {
        if (e instanceof ProtocolError) return e;
        throw e;
      }
    });
    if (changed) this.#save();
    return out;
  }

  /** Remembers that a share (of `recordId`) ended when the record was at `version`; the first sighting stays. */
  noteEnded(shareId: Bytes, recordId: string, version: bigint | number): void {
    const key = toB64u(shareId);
    if (this.#ended.has(key)) return;
    this.#ended.set(key, { record: recordId, after: BigInt(version) });
    this.#save();
  }

  /** The record's version when this browser first saw the share ended, if it did. */
  endedAfter(shareId: Bytes): bigint | undefined {
    return this.#ended.get(toB64u(shareId))?.after;
  }

  /** Forgets a deleted record and its ended shares. */
  forget(recordId: string): void {
    let changed = this.#guards.delete(recordId);
    for (const [share, entry] of this.#ended) {
      if (entry.record === recordId) {
        this.#ended.delete(share);
        changed = true;
      }
    }
    if (changed) this.#save();
  }

  /** The highest version accepted of a record. */
  highest(recordId: string): bigint | undefined {
    return this.#guards.get(recordId)?.highest()?.v;
  }

  /** The highest key generation accepted of a record (0 if none). */
  keyGen(recordId: string): bigint {
    return this.#guards.get(recordId)?.keyGen() ?? 0n;
  }

  #save(): void {
    if (!this.store || !this.key) return;
    const saved: Saved = { format: 2, records: {}, ended: {} };
    for (const [id, guard] of this.#guards) {
      const h = guard.highest();
      if (h) saved.records[id] = [h.v.toString(), toB64u(h.hash), guard.keyGen().toString()];
    }
    for (const [share, entry] of this.#ended) saved.ended[share] = [entry.record, entry.after.toString()];
    try {
      this.store.setItem(this.key, JSON.stringify(saved));
    } catch {
      // Storage full or blocked: the memory still protects this session.
    }
  }
}
