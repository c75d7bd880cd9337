// Anti-rollback memory (docs/protocol.md §3.2): per record, the highest (v, E) this browser accepted as
// current, so a malicious server cannot replay an old version (an old password) as current. It holds no
// secret (record ids, version numbers and envelope hashes, what the CLI keeps in its home directory), so it
// may outlive the session: it is kept per account in the browser's storage when storage is available.
import { bytesToUuid, fromB64u, toB64u } from "../protocol/bytes";
import { envelopeHash, VersionGuard, type Envelope } from "../protocol/envelope";

type Saved = Record<string, [string, string]>;

/** The minimal storage interface (`localStorage` in the page, a Map in tests). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export class VersionMemory {
  readonly #guards = new Map<string, VersionGuard>();

  /** `store` and `key` persist the memory; without them it lives as long as the page. */
  constructor(
    private readonly store?: KeyValueStore,
    private readonly key?: string,
  ) {
    if (!store || !key) return;
    try {
      const saved = JSON.parse(store.getItem(key) ?? "{}") as Saved;
      for (const [id, [v, hash]] of Object.entries(saved)) this.#guards.set(id, VersionGuard.resume(BigInt(v), fromB64u(hash)));
    } catch {
      // A damaged entry protects nothing; start from what the server shows next.
      this.#guards.clear();
    }
  }

  /** Refuses (`rollback`, `fork`) a version that contradicts what was accepted, without remembering it. */
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
    const before = guard.highest()?.v;
    guard.accept(env, hash);
    if (guard.highest()?.v !== before) this.#save();
  }

  /** Forgets a deleted record. */
  forget(recordId: string): void {
    if (this.#guards.delete(recordId)) this.#save();
  }

  /** The highest version accepted of a record. */
  highest(recordId: string): bigint | undefined {
    return this.#guards.get(recordId)?.highest()?.v;
  }

  #save(): void {
    if (!this.store || !this.key) return;
    const saved: Saved = {};
    for (const [id, guard] of this.#guards) {
      const h = guard.highest();
      if (h) saved[id] = [h.v.toString(), toB64u(h.hash)];
    }
    try {
      this.store.setItem(this.key, JSON.stringify(saved));
    } catch {
      // Storage full or blocked: the memory still protects this session.
    }
  }
}
