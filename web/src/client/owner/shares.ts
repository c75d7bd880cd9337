// A vault's shares (docs/protocol.md §4, §7.4): creating one-time shares, listing them with what only DK
// opens (labels, links, device checks), ending them.
import { fromB64u, randomBytes, utf8, uuidToBytes } from "../../protocol/bytes";
import { deviceFingerprint } from "../../protocol/device";
import { wrapRecordKeyForShare } from "../../protocol/kdf";
import { formatLink } from "../../protocol/link";
import { characters, MIN_SHARE_PASSPHRASE_CHARS } from "../../protocol/passphrase";
import { isValidFrom, MAX_FROM_LEN, prefaceKey, sealPreface } from "../../protocol/preface";
import { deriveShareKeys, MAX_LABEL_LEN, openLabel, openOwnerSecretOf, sealLabel, sealOwnerSecret, verifyBindTag, type ShareKeys } from "../../protocol/share";
import type { RecordType } from "../../protocol/record";
import { blankBody, checkInstructions, openRequest, sealRequest } from "../../protocol/request";
import type { ExpiryJson, ShareCreatedJson, ShareInfo } from "../owner-api";
import type { StageListener } from "./account";
import { VaultError } from "./errors";
import type { Records } from "./records";
import { b64, isCode, WRITE_ATTEMPTS, type OwnerTransport } from "./transport";

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
  /**
   * Why the share did not check out: the server's word on editability contradicts the sealed facts, its
   * secrets do not open as a share of the record it is listed under, or its secrets or label do not open.
   */
  problem?: "editability" | "secrets" | "unreadable";
  /** A request (§4.5): its number of answers, and its instructions when they open under the share key with that number. */
  request?: { maxAnswers: number; instructions?: string };
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
  /** The sender's name the recipient sees before Click to Open (§4.6); empty or absent for none. */
  from?: string;
  /** A self-destructing record (§4.7): the server deletes it this long after the share is opened. */
  destroyAfterSecs?: number | null;
  /** Make it a request (§4.5): editable, ended by the server after `maxAnswers` answers. */
  request?: { maxAnswers: number; instructions: string };
}

/** What a request asks for (§4.5). */
export interface RequestOptions {
  type: RecordType;
  title: string;
  /** The fields to ask for; empty: the type's standard fields. */
  fields: string[];
  instructions: string;
  maxAnswers: number;
  expires: ExpiryJson;
  label: string;
  passphrase: string;
}

export interface CreatedRequest extends CreatedShare {
  recordId: string;
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

/** The shares of an unlocked vault: `session.shares`. */
export class Shares {
  readonly #t: OwnerTransport;
  readonly #records: Records;

  constructor(transport: OwnerTransport, records: Records) {
    this.#t = transport;
    this.#records = records;
  }

  /** Every share of one record, or of all records (all states), as the server lists them. */
  fetch(recordId?: string): Promise<ShareInfo[]> {
    return this.#t.fetchShares(recordId);
  }

  /**
   * Creates a one-time share (§7.4): a fresh link secret S (and S′ with a passphrase, one Argon2id run),
   * the record key rotated in the same request so the recipient cannot read older versions, the new
   * share's wrapped key, the owner's sealed copy of S ‖ S′ and the sealed label.
   */
  async create(recordId: string, options: ShareOptions, stage?: StageListener): Promise<CreatedShare> {
    if (utf8(options.label).length > MAX_LABEL_LEN) throw new VaultError("client.labelTooLong", { max: MAX_LABEL_LEN });
    if (options.passphrase !== "" && characters(options.passphrase) < MIN_SHARE_PASSPHRASE_CHARS) {
      throw new VaultError("client.passphraseTooShort", { min: MIN_SHARE_PASSPHRASE_CHARS });
    }
    const from = options.from ?? "";
    if (!isValidFrom(from)) {
      throw new VaultError("client.badFrom", { max: MAX_FROM_LEN });
    }
    if (options.passphrase) await stage?.("deriving");
    const keys = await deriveShareKeys(randomBytes(32), options.passphrase === "" ? undefined : options.passphrase);
    return this.#t.exclusive(async () => {
      const idBytes = uuidToBytes(recordId);
      const ownerSecret = b64(await sealOwnerSecret(this.#t.keys.dk, keys, { recordId: idBytes, editable: options.editable }));
      const label = options.label === "" ? null : b64(await sealLabel(this.#t.keys.dk, keys.shareId, options.label));
      for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
        const current = await this.#records.currentVerified(recordId);
        const shares = await this.#records.rotationShares(recordId, current.record.version);
        const { rotation, envelope, rk } = await this.#records.buildRotation(current, current.body, shares);
        // What the recipient reads before Click to Open (§4.6): the name, and the type of the body shared.
        const preface = b64(await sealPreface(await prefaceKey(keys.root), keys.shareId, { from, type: current.body.type }));
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
          request: options.request
            ? { max_answers: options.request.maxAnswers, instructions: b64(await sealRequest(keys.shareKey, keys.shareId, options.request.maxAnswers, options.request.instructions)) }
            : null,
          preface,
          destroy_after_secs: options.destroyAfterSecs ?? null,
        };
        rk.fill(0);
        try {
          const created = await this.#t.json<ShareCreatedJson>("POST", `/records/${recordId}/shares`, request);
          await this.#t.versions.accept(envelope);
          return {
            link: formatLink(this.#t.api.base, keys.hasPassphrase, keys.secret),
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
      throw new VaultError("client.busySharing");
    });
  }

  /**
   * Creates a request (§4.5): a blank record of the chosen type (or fields), then an editable share of it
   * carrying the sealed instructions and the number of answers. If the share cannot be made, the blank
   * record is deleted again.
   */
  async createRequest(options: RequestOptions, stage?: StageListener): Promise<CreatedRequest> {
    checkInstructions(options.instructions);
    const body = blankBody(options.type, options.title, options.fields);
    const recordId = await this.#records.create(body);
    try {
      const created = await this.create(
        recordId,
        {
          expires: options.expires,
          editable: true,
          burnAfterSecs: null,
          label: options.label,
          passphrase: options.passphrase,
          request: { maxAnswers: options.maxAnswers, instructions: options.instructions },
        },
        stage,
      );
      return { ...created, recordId };
    } catch (e) {
      // Nothing half-made stays behind.
      await this.#records.delete(recordId).catch(() => undefined);
      throw e;
    }
  }

  /** The shares of one record (or all), with labels opened and devices checked here. */
  async list(recordId?: string): Promise<ShareEntry[]> {
    return Promise.all((await this.#t.fetchShares(recordId)).map((info) => this.entry(info)));
  }

  /**
   * Opens what DK opens of a share: its secrets (for the link and the bind tag) as a share of the record the
   * server lists it under, its sealed facts (editability), and its label.
   */
  async entry(info: ShareInfo): Promise<ShareEntry> {
    const entry: ShareEntry = { info, editable: info.editable, legacy: false };
    try {
      const shareId = fromB64u(info.share_id);
      if (info.device_key !== null) entry.fingerprint = await deviceFingerprint(fromB64u(info.device_key));
      let keys: ShareKeys;
      try {
        const opened = await openOwnerSecretOf(this.#t.keys.dk, fromB64u(info.owner_secret), shareId, uuidToBytes(info.record_id), info.editable);
        keys = opened.keys;
        if (opened.facts.kind === "legacy") {
          entry.legacy = true;
        } else {
          entry.editable = opened.facts.grant.editable;
          if (entry.editable !== info.editable) entry.problem = "editability";
        }
      } catch {
        entry.problem = "secrets";
        return entry;
      }
      if (info.state === "active") entry.link = formatLink(this.#t.api.base, keys.hasPassphrase, keys.secret);
      if (info.device_key !== null) {
        entry.deviceVerified =
          info.bind_tag !== null &&
          (await verifyBindTag(keys.bindKey, shareId, fromB64u(info.device_key), fromB64u(info.bind_tag)).then(
            () => true,
            () => false,
          ));
      }
      if (info.request) {
        entry.request = { maxAnswers: info.request.max_answers };
        // Instructions that do not open were changed by the server: the request is shown without them.
        entry.request.instructions = await openRequest(keys.shareKey, shareId, info.request.max_answers, fromB64u(info.request.instructions)).catch(() => undefined);
      }
      if (info.label !== null) entry.label = await openLabel(this.#t.keys.dk, shareId, fromB64u(info.label));
    } catch {
      entry.problem ??= "unreadable";
    }
    return entry;
  }

  /** One share by its handle, opened as in the list. */
  async get(handle: string): Promise<ShareEntry> {
    return this.entry(await this.#t.json<ShareInfo>("GET", `/shares/${handle}`));
  }

  /**
   * Ends a share at once; its record is then due for a key rotation. This browser remembers the share as
   * ended from the record's current version on (§7.5).
   */
  async delete(handle: string): Promise<ShareEntry> {
    return this.entry(await this.#t.endShare(handle));
  }
}
