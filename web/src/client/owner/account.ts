// The owner's account (docs/protocol.md §2, §7.1): deriving its keys from the master password, changing
// that password, logging out.
import { constantTimeEqual, randomBytes, type Bytes } from "../../protocol/bytes";
import { accountKeys, checkKdfParams, DEFAULT_KDF, kdfSalt, masterKey, normalizeSecret, unwrapDataKey, wrapDataKey, type KdfParams } from "../../protocol/kdf";
import { characters, MIN_MASTER_PASSWORD_CHARS } from "../../protocol/passphrase";
import { PasswordChangedError, VaultError, WrongPasswordError } from "./errors";
import type { OwnerSession } from "./session";
import { b64, JSON_TYPE, type OwnerTransport } from "./transport";

/** What the login screen shows while it waits. */
export type Stage = "contacting" | "deriving" | "unlocking";
/** Told of each stage; awaited, so the page can paint before Argon2id holds the thread. */
export type StageListener = (stage: Stage) => void | Promise<void>;

/** How the password opens the vault, as of this session's login: what checking the current password needs. */
export interface Unlock {
  kdf: KdfParams;
  r16: Bytes;
  wrappedDataKey: Bytes;
}

/** `{"alg":"argon2id","m":…,"t":…,"p":…}` exactly, whatever else the object holds. */
export function kdfJson(p: KdfParams): KdfParams {
  return { alg: p.alg, m: p.m, t: p.t, p: p.p };
}

/**
 * The parameters for a new master password: the account's current ones, raised to the default where lower,
 * so a password change never weakens the derivation (an account may use more than the default).
 */
export function raisedKdf(current: KdfParams): KdfParams {
  return { alg: "argon2id", m: Math.max(current.m, DEFAULT_KDF.m), t: Math.max(current.t, DEFAULT_KDF.t), p: Math.max(current.p, DEFAULT_KDF.p) };
}

/** Derives AK and WK from the password (one Argon2id run, refused for parameters outside §2.1). */
export async function deriveAccountKeys(email: string, password: string, r16: Uint8Array, params: KdfParams, stage?: StageListener): Promise<{ ak: Bytes; wk: Bytes }> {
  checkKdfParams(params);
  const salt = await kdfSalt(email, r16);
  await stage?.("deriving");
  const mk = await masterKey(password, salt, params);
  const keys = await accountKeys(mk);
  mk.fill(0);
  return { ak: keys.authKey, wk: keys.wrapKey };
}

/** Logs in again with keys just derived (after a password change), keeping this session's memory of versions. */
export type Reopen = (ak: Bytes, wk: Bytes, r16: Bytes, params: KdfParams, stage?: StageListener) => Promise<OwnerSession>;

/** The account of an unlocked vault: `session.account`. */
export class Account {
  readonly #t: OwnerTransport;
  readonly #unlock: Unlock;
  readonly #reopen: Reopen;

  constructor(
    transport: OwnerTransport,
    readonly email: string,
    unlock: Unlock,
    reopen: Reopen,
  ) {
    this.#t = transport;
    this.#unlock = unlock;
    this.#reopen = reopen;
  }

  /** Ends the session on the server and forgets the keys here, whatever the server answers. */
  async logout(): Promise<void> {
    if (this.#t.closed) return;
    try {
      await this.#t.send("DELETE", "/sessions/current");
    } finally {
      this.#t.close();
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
    this.#t.live();
    if (characters(next) < MIN_MASTER_PASSWORD_CHARS) throw new VaultError("pw.tooShort", { min: MIN_MASTER_PASSWORD_CHARS });
    if (normalizeSecret(next) === normalizeSecret(current)) throw new VaultError("pw.same");
    const unlock = this.#unlock;
    const old = await deriveAccountKeys(this.email, current, unlock.r16, unlock.kdf, stage);
    try {
      let opened: Bytes;
      try {
        opened = await unwrapDataKey(old.wk, unlock.wrappedDataKey, unlock.r16);
      } catch {
        throw new WrongPasswordError();
      }
      const same = constantTimeEqual(opened, this.#t.keys.dk);
      opened.fill(0);
      if (!same) throw new VaultError("client.otherDataKey");
      const params = raisedKdf(unlock.kdf);
      const r16 = randomBytes(16);
      const { ak, wk } = await deriveAccountKeys(this.email, next, r16, params, stage);
      const wrapped = await wrapDataKey(wk, this.#t.keys.dk, r16);
      await stage?.("contacting");
      const body = { current_auth_key: b64(old.ak), kdf: params, kdf_salt: b64(r16), auth_key: b64(ak), wrapped_data_key: b64(wrapped) };
      try {
        await this.#t.send("POST", "/accounts/password", JSON.stringify(body), JSON_TYPE);
      } catch (e) {
        ak.fill(0);
        wk.fill(0);
        throw e;
      }
      try {
        return await this.#reopen(ak, wk, r16, params, stage);
      } catch (e) {
        throw new PasswordChangedError(e);
      } finally {
        // The server has ended this session: forget its keys whatever happens next.
        this.#t.close();
      }
    } finally {
      old.ak.fill(0);
      old.wk.fill(0);
    }
  }

  /** Revokes the session as the page goes away (a reload is a logout), without waiting for an answer. */
  revokeOnUnload(): void {
    if (this.#t.closed) return;
    try {
      void fetch(this.#t.api.url("/sessions/current"), {
        method: "DELETE",
        headers: { Authorization: `Bearer ${this.#t.token}` },
        keepalive: true,
        credentials: "omit",
      }).catch(() => undefined);
    } catch {
      // The page is going away either way.
    }
  }
}
