// The recipient's side of a one-time share (docs/protocol.md §4–§6): status, "Click to Open" (bind this
// browser's new device key), fetch and decrypt, edit, upload and download files, end.
import { fromB64u, toB64u, utf8, uuidToBytes, type Bytes } from "../protocol/bytes";
import { deviceFingerprint, generateDeviceKey, type DeviceKey } from "../protocol/device";
import { checkSummary, envelopeHash, nextHeader, openBody, parseEnvelope, sealVersion, serializeEnvelope, shareAuthor, signEdit, VersionGuard, type Envelope } from "../protocol/envelope";
import { signRequest } from "../protocol/httpsig";
import { unwrapRecordKeyForShare } from "../protocol/kdf";
import type { ParsedLink } from "../protocol/link";
import { validateBody, type FileRef, type RecordBody } from "../protocol/record";
import { openRequest } from "../protocol/request";
import { openPreface, prefaceKey, type SharePreface } from "../protocol/preface";
import { bindTag, deriveShareKeys, type ShareKeys } from "../protocol/share";
import { addDevice, loadDevice, newDeviceRecord, removeDevice, saveSeen, type DeviceRecord } from "./devices";
import { decryptDownload, decryptedStream, uploadFile, type Progress } from "./files";
import { Api, ApiError } from "./http";
import { SseParser } from "./events";

/** `GET /recipient/status`. */
export interface ShareStatus {
  state: "active" | "opened" | "expired" | "deleted";
  expires_at: string;
  editable: boolean;
  bound: boolean;
  burn_after_secs: number | null;
  /** The share ends when the record is first fetched (§4.4); absent from older servers. */
  view_once?: boolean;
  /** A request (§4.5): its number of answers and sealed instructions; absent from older servers. */
  request?: RequestSpec | null;
  /** The sealed share preface (§4.6): the sender's name and the record type; absent or null without one. */
  preface?: string | null;
  /** Opening sets off the record's self-destruction this many seconds later (§4.7). */
  destroy_after_secs?: number | null;
}

/** A request's facts as the server states them (§4.5). */
export interface RequestSpec {
  max_answers: number;
  instructions: string;
}

/** What a request asks, opened and checked on this device. */
export interface RequestAsked {
  instructions: string;
  maxAnswers: number;
  /** Versions this share has written so far. */
  answers: number;
}

interface ShareView {
  record_id: string;
  version: number;
  key_gen: number;
  envelope: string;
  wrapped_key: string;
  editable: boolean;
  expires_at: string;
  /** This answer ended a view-once share: nothing more of it can be fetched. */
  view_once?: boolean;
  request?: RequestSpec | null;
  edit_count?: number;
  /** The sealed share preface (§4.6), if any. */
  preface?: string | null;
  /** When the server deletes the record itself (§4.7), if it was made to. */
  destroy_at?: string | null;
}

interface BindResponse {
  expires_at: string;
  fingerprint: string;
}

const SHARE_HEADER = "Sharelock-Share";

/** A share whose keys are derived from the link (and passphrase), before or after it is opened. */
export class ShareLink {
  readonly api: Api;
  readonly shareHeader: string;

  private constructor(
    readonly keys: ShareKeys,
    base: string,
  ) {
    this.api = new Api(base);
    this.shareHeader = toB64u(keys.shareId);
  }

  /** Derives the share's keys (Argon2id first when the link needs a passphrase). */
  static async derive(link: ParsedLink, passphrase?: string): Promise<ShareLink> {
    const keys = await deriveShareKeys(link.secret, link.passphrase ? passphrase : undefined);
    return new ShareLink(keys, link.base);
  }

  /** A request's instructions as stated in a status or view, opened under SK (`decrypt`: the server changed them). */
  async openRequest(request: RequestSpec): Promise<string> {
    return openRequest(this.keys.shareKey, this.keys.shareId, request.max_answers, fromB64u(request.instructions));
  }

  /** Unsigned status with T: 401 `invalid_access` for a wrong passphrase, 410 once ended. */
  async status(): Promise<ShareStatus> {
    return this.api.json<ShareStatus>("/recipient/status", {
      method: "GET",
      headers: { [SHARE_HEADER]: this.shareHeader, "Sharelock-Access": toB64u(this.keys.accessToken) },
    });
  }

  /**
   * Opens a sealed share preface (§4.6) with this link's keys: who sent the share and what it holds, before
   * Click to Open. `null` without one; a preface that does not open or validate is `"unreadable"` (the
   * sender's words, passed on by the server, are then not shown).
   */
  async preface(sealed: string | null | undefined): Promise<SharePreface | "unreadable" | null> {
    if (!sealed) return null;
    try {
      return await openPreface(await prefaceKey(this.keys.root), this.keys.shareId, fromB64u(sealed));
    } catch {
      return "unreadable";
    }
  }

  /** The device key this browser already holds for the share, if it opened it before. */
  async knownDevice(): Promise<DeviceRecord | undefined> {
    return loadDevice(this.shareHeader);
  }

  /**
   * Opens the share on this browser. A browser that already holds the key bound to the share goes straight
   * to the signed fetch: no status, no bind, so a link holder who keeps the share's access-token backoff busy
   * cannot lock it out (§5.3). Otherwise ("Click to Open") it adds a new device key (unless another tab just
   * did), binds it ("first device wins"), then fetches and decrypts the record.
   */
  async open(): Promise<OpenShare> {
    const known = await this.knownDevice();
    if (known) {
      try {
        return await this.fetchWith(known);
      } catch (e) {
        // The key was kept, but its bind never took effect (the answer was lost, or another device won):
        // bind as on first use, which says which.
        if (!(e instanceof ApiError && (e.code === "share_not_bound" || e.code === "invalid_signature"))) throw e;
      }
      await this.bind(known);
      return this.fetchWith(known);
    }
    const { stored, added } = await addDevice(newDeviceRecord(this.shareHeader, await generateDeviceKey()));
    try {
      await this.bind(stored);
    } catch (e) {
      // Only a definite refusal makes a new key useless. After a 5xx or a lost answer the bind may have
      // reached the server, and then only this key can ever open the share: keep it.
      if (added && forgetsFreshKey(e)) await removeDevice(this.shareHeader, stored.publicKey);
      throw e;
    }
    return this.fetchWith(stored);
  }

  private async bind(record: DeviceRecord): Promise<void> {
    const device: DeviceKey = { privateKey: record.privateKey, publicKey: record.publicKey };
    const tag = await bindTag(this.keys.bindKey, this.keys.shareId, device.publicKey);
    const body = JSON.stringify({ access: toB64u(this.keys.accessToken), device_key: toB64u(device.publicKey), bind_tag: toB64u(tag) });
    const bound = (await (await this.signed(device, "POST", "/recipient/bind", utf8(body), "application/json")).json()) as BindResponse;
    if (bound.fingerprint !== (await deviceFingerprint(device.publicKey))) throw new Error("the server bound another device key");
  }

  private async fetchWith(record: DeviceRecord): Promise<OpenShare> {
    const share = new OpenShare(this, { privateKey: record.privateKey, publicKey: record.publicKey }, record);
    await share.refresh();
    return share;
  }

  /** One signed request (§5.2); a `stale_request` is retried once with the server's clock. */
  async signed(device: DeviceKey, method: string, path: string, body?: Bytes, contentType?: string, signal?: AbortSignal): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const headers = await signRequest(device, {
        method,
        targetUri: this.api.url(path),
        shareHeader: this.shareHeader,
        body,
        contentType,
        created: this.api.serverNow(),
      });
      try {
        return await this.api.send(path, { method, headers, body: body ?? null, signal: signal ?? null });
      } catch (e) {
        if (attempt === 0 && e instanceof ApiError && e.code === "stale_request") continue;
        throw e;
      }
    }
  }
}

export type { Progress };

/**
 * Whether a failed bind makes a fresh key useless: only a definite refusal (401: wrong passphrase or
 * signature; 403: another device holds the share). Never a 5xx, a 404/410/429, or a network error.
 */
export function forgetsFreshKey(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 401 || error.status === 403);
}

/** An opened share: this browser's device is bound, and the current version is decrypted. */
export class OpenShare {
  body!: RecordBody;
  view!: ShareView;
  fingerprint = "";
  /** The sealed summary (the sender's list line) is not this body's: its writer made the list say something else (§3.2). */
  summaryMismatch = false;
  /** What the share asks for, if it is a request (§4.5), opened on this device. */
  request: RequestAsked | undefined;
  private envelope!: Envelope;
  private rk!: Bytes;
  private readonly guard: VersionGuard;

  constructor(
    readonly link: ShareLink,
    private readonly device: DeviceKey,
    record: DeviceRecord,
  ) {
    this.guard =
      record.seenVersion !== undefined && record.seenHash ? VersionGuard.resume(record.seenVersion, record.seenHash, record.seenKeyGen ?? 0) : new VersionGuard();
  }

  get editable(): boolean {
    return this.view.editable;
  }

  get version(): number {
    return this.view.version;
  }

  /** Fetches the current version, checks it against the view and what this browser saw, and decrypts it. */
  async refresh(): Promise<void> {
    const response = await this.link.signed(this.device, "GET", "/recipient/share");
    const view = (await response.json()) as ShareView;
    const envelope = parseEnvelope(fromB64u(view.envelope));
    const recordId = uuidToBytes(view.record_id);
    if (
      toB64u(envelope.recordId) !== toB64u(recordId) ||
      Number(envelope.k) !== view.key_gen ||
      Number(envelope.v) !== view.version
    ) {
      throw new Error("the shared version does not match its envelope");
    }
    const rk = await unwrapRecordKeyForShare(this.link.keys.shareKey, this.link.keys.shareId, recordId, view.key_gen, fromB64u(view.wrapped_key));
    const body = await openBody(envelope, rk);
    const summaryMismatch = await checkSummary(envelope, rk, body).then(
      () => false,
      () => true,
    );
    // A request box that does not open was changed by the server: refuse the share (§4.5).
    const instructions = view.request ? await this.link.openRequest(view.request) : undefined;
    await this.accept(envelope);
    this.request = view.request && instructions !== undefined ? { instructions, maxAnswers: view.request.max_answers, answers: view.edit_count ?? 0 } : undefined;
    this.view = view;
    this.envelope = envelope;
    this.rk = rk;
    this.body = body;
    this.summaryMismatch = summaryMismatch;
    // The device key never changes: its fingerprint is computed once.
    if (!this.fingerprint) this.fingerprint = await deviceFingerprint(this.device.publicKey);
  }

  /**
   * Writes `change` applied to the current body as the next version, signed by this device. On a
   * conflict (someone wrote first) it fetches the new version and applies `change` to it again, so no edit
   * is lost and none overwrites another blindly.
   */
  async edit(change: (body: RecordBody) => RecordBody): Promise<number> {
    if (!this.view.editable) throw new Error("this share is read-only");
    for (let attempt = 0; attempt < 3; attempt++) {
      const body = change(structuredClone(this.body));
      validateBody(body);
      const header = await nextHeader(this.envelope, BigInt(this.view.key_gen), shareAuthor(this.link.keys.shareId));
      const envelope = await sealVersion(this.rk, header, body);
      const signature = await signEdit(this.device, envelope);
      const request = JSON.stringify({ base_version: this.view.version, envelope: toB64u(serializeEnvelope(envelope)), signature: toB64u(signature) });
      try {
        const response = await this.link.signed(this.device, "POST", "/recipient/edit", utf8(request), "application/json");
        const written = (await response.json()) as { version: number; key_gen: number };
        if (written.version !== Number(envelope.v)) throw new Error("the server stored another version number");
        await this.accept(envelope);
        this.envelope = envelope;
        this.body = body;
        this.summaryMismatch = false;
        this.view = { ...this.view, version: written.version };
        return written.version;
      } catch (e) {
        if (e instanceof ApiError && (e.code === "version_conflict" || e.code === "stale_record_key")) {
          await this.refresh();
          continue;
        }
        throw e;
      }
    }
    throw new Error("the record kept changing while saving; try again");
  }

  /**
   * Listens on the share's live channel (`GET /recipient/events`, signed, §9.5) until `signal` aborts or
   * the share ends: `onVersion` with the record's version number at the start and on every change,
   * `onEnded` once. A dropped stream is opened again after a growing pause (1 s … 30 s). Resolves when it
   * stops; rejects only if the server refuses the stream for another reason than the share's end.
   */
  async listen(handlers: { onVersion(version: number): void; onEnded(): void }, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const response = await this.link.signed(this.device, "GET", "/recipient/events", undefined, undefined, signal);
        if (!response.body) throw new Error("the live channel has no body");
        failures = 0;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        const parser = new SseParser();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const message of parser.push(value)) {
            if (message.event === "ended") {
              handlers.onEnded();
              return;
            }
            if (message.event !== "version") continue;
            const version = (JSON.parse(message.data) as { version?: unknown }).version;
            if (typeof version === "number") handlers.onVersion(version);
          }
        }
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof ApiError && (e.code === "share_ended" || e.code === "not_found")) {
          handlers.onEnded();
          return;
        }
        if (e instanceof ApiError && e.status < 500 && e.status !== 429) throw e;
      }
      failures++;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5)));
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Ends the share ("I have it, delete it"); this browser forgets its device key. */
  async end(): Promise<void> {
    await this.link.signed(this.device, "POST", "/recipient/end", utf8("{}"), "application/json");
    await removeDevice(this.link.shareHeader, this.device.publicKey);
  }

  /**
   * Starts a download of a file of the record: its plaintext as a stream, decrypted as it is read, that
   * closes only once H(blob) and the size matched the reference (see `decryptedStream`).
   */
  async downloadStream(file: FileRef, progress?: Progress): Promise<ReadableStream<Uint8Array>> {
    const response = await this.link.signed(this.device, "GET", `/recipient/files/${file.id}`);
    return decryptedStream(response, file, progress);
  }

  /** Downloads a file of the record, checks H(blob), and decrypts it into a Blob. */
  async download(file: FileRef, progress?: Progress): Promise<Blob> {
    const response = await this.link.signed(this.device, "GET", `/recipient/files/${file.id}`);
    return decryptDownload(response, file, progress);
  }

  /**
   * Answers a request (§4.5) as one version: uploads `files`, then writes the fields, the notes and the
   * new file references together. The server counts it as one answer; the last one ends the share.
   */
  async answer(values: ReadonlyMap<string, string>, notes: string, files: File[], progress?: Progress): Promise<number> {
    if (!this.view.editable) throw new Error("this share is read-only");
    const total = files.reduce((sum, f) => sum + f.size, 0);
    let done = 0;
    const refs: FileRef[] = [];
    for (const file of files) {
      refs.push(await this.upload(file, (n) => progress?.(done + n, total)));
      done += file.size;
    }
    const version = await this.edit((body) => ({
      ...body,
      fields: body.fields.map((f) => (values.has(f.name) ? { ...f, value: values.get(f.name)! } : f)),
      notes,
      files: [...body.files, ...refs],
    }));
    if (this.request) {
      this.request = { ...this.request, answers: this.request.answers + 1 };
      // The last answer ended the share: its device key opens nothing any more.
      if (this.request.answers >= this.request.maxAnswers) await removeDevice(this.link.shareHeader, this.device.publicKey);
    }
    return version;
  }

  /** Encrypts and uploads files, then adds them to the record as one new version. */
  async attach(files: File[], progress?: Progress): Promise<number> {
    if (!this.view.editable) throw new Error("this share is read-only");
    const total = files.reduce((sum, f) => sum + f.size, 0);
    let done = 0;
    const refs: FileRef[] = [];
    for (const file of files) {
      refs.push(
        await this.upload(file, (n) => {
          progress?.(done + n, total);
        }),
      );
      done += file.size;
    }
    return this.edit((body) => ({ ...body, files: [...body.files, ...refs] }));
  }

  private upload(file: File, progress: (n: number) => void): Promise<FileRef> {
    // Each part and the completion is its own signed request, with its own nonce.
    return uploadFile(
      file,
      {
        putPart: async (id, part, bytes) => {
          await this.link.signed(this.device, "PUT", `/recipient/files/${id}/parts/${part}`, bytes, "application/octet-stream");
        },
        complete: async (id, parts, size) => {
          await this.link.signed(this.device, "POST", `/recipient/files/${id}/complete`, utf8(JSON.stringify({ parts, size })), "application/json");
        },
      },
      (done) => progress(done),
    );
  }

  private async accept(envelope: Envelope): Promise<void> {
    this.guard.accept(envelope, await envelopeHash(envelope));
    const highest = this.guard.highest();
    if (highest) await saveSeen(this.link.shareHeader, this.device.publicKey, { version: Number(highest.v), hash: highest.hash, keyGen: Number(this.guard.keyGen()) });
  }
}

