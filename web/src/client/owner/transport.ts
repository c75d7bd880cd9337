// What every resource of an owner session shares: the API, the bearer token, the keys DK and K_own, the
// memory of versions, and the queue that runs this page's writes one at a time. Keys live in this object
// only: DK, K_own and the token are never written to any storage, so a reload of the page is a logout.
import { fromB64u, toB64u, type Bytes } from "../../protocol/bytes";
import { ApiError, type Api } from "../http";
import type { RecordJson, ShareInfo } from "../owner-api";
import type { VersionMemory } from "../versions";

export const JSON_TYPE = "application/json";

/** Writes retried after a conflict before giving up. */
export const WRITE_ATTEMPTS = 4;

export function b64(bytes: Uint8Array): string {
  return toB64u(bytes);
}

export function isCode(e: unknown, ...codes: string[]): e is ApiError {
  return e instanceof ApiError && codes.includes(e.code);
}

/** The authenticated HTTP side of one session, with its keys; closed at logout and forgotten. */
export class OwnerTransport {
  readonly #token: string;
  readonly #dk: Bytes;
  readonly #kOwn: Bytes;
  #closed = false;
  /** Writes from this page run one at a time, so a live event's rotation never races the user's own write. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly api: Api,
    token: string,
    dk: Bytes,
    kOwn: Bytes,
    readonly versions: VersionMemory,
  ) {
    this.#token = token;
    this.#dk = dk;
    this.#kOwn = kOwn;
  }

  get token(): string {
    this.live();
    return this.#token;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Forgets the keys (after a logout, or when the server says the session ended). */
  close(): void {
    this.#closed = true;
    this.#dk.fill(0);
    this.#kOwn.fill(0);
  }

  live(): void {
    if (this.#closed) throw new ApiError(401, "unauthorized", "logged out");
  }

  get keys(): { dk: Bytes; kOwn: Bytes } {
    this.live();
    return { dk: this.#dk, kOwn: this.#kOwn };
  }

  async send(method: string, path: string, body?: BodyInit, contentType?: string, signal?: AbortSignal): Promise<Response> {
    this.live();
    const headers: Record<string, string> = { Authorization: `Bearer ${this.#token}` };
    if (contentType) headers["Content-Type"] = contentType;
    return this.api.send(path, { method, headers, body: body ?? null, signal: signal ?? null });
  }

  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body === undefined ? undefined : JSON.stringify(body), body === undefined ? undefined : JSON_TYPE);
    return (await response.json()) as T;
  }

  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Every share of one record, or of all records (all states). */
  async fetchShares(recordId?: string): Promise<ShareInfo[]> {
    const path = recordId ? `/shares?record=${recordId}` : "/shares";
    return (await this.json<{ shares: ShareInfo[] }>("GET", path)).shares;
  }

  /**
   * Remembers every share the server shows ended, at its record's current version as `versionOf` gives it
   * (§7.5): from then on no later version of that share is attributed to its recipient, whatever the server
   * says of the share.
   */
  observeEnded(shares: readonly ShareInfo[], versionOf: (recordId: string) => number | undefined): void {
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

  /**
   * Ends a share at once; its record is then due for a key rotation. This browser remembers the share as
   * ended from the record's current version on (§7.5).
   */
  async endShare(handle: string): Promise<ShareInfo> {
    const info = await this.json<ShareInfo>("DELETE", `/shares/${handle}`);
    try {
      const record = await this.json<RecordJson>("GET", `/records/${info.record_id}`);
      this.observeEnded([info], () => record.version);
    } catch (e) {
      // The record is gone: nothing of it can be attributed any more.
      if (!isCode(e, "not_found")) throw e;
    }
    return info;
  }
}
