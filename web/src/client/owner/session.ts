// An unlocked vault over the API, split by resource as the Rust client (crates/sharelock-client) is:
// `session.records`, `session.shares`, `session.files`, `session.account`, `session.events`, all over one
// `OwnerTransport` that holds the token and the keys. `register` and `login` open one.
//
// Keys live in the session only: the data key DK, K_own and the bearer token are never written to any
// storage, so a reload of the page is a logout.
import { constantTimeEqual, fromB64u, randomBytes, type Bytes } from "../../protocol/bytes";
import { DEFAULT_KDF, ownerKey, unwrapDataKey, wrapDataKey, type KdfParams } from "../../protocol/kdf";
import { characters, MIN_MASTER_PASSWORD_CHARS } from "../../protocol/passphrase";
import type { Api } from "../http";
import type { LoginResponse, PreloginResponse } from "../owner-api";
import { VersionMemory, type KeyValueStore } from "../versions";
import { Account, deriveAccountKeys, kdfJson, type StageListener, type Unlock } from "./account";
import { VaultError } from "./errors";
import { OwnerEvents } from "./events";
import { Files } from "./files";
import { Records } from "./records";
import { Shares } from "./shares";
import { b64, JSON_TYPE, OwnerTransport } from "./transport";
import { Webhooks } from "./webhooks";

/** Creates an account with a fresh r16 and data key, then logs in to it. */
export async function register(
  api: Api,
  email: string,
  password: string,
  store?: KeyValueStore,
  stage?: StageListener,
  invite?: string,
): Promise<OwnerSession> {
  if (characters(password) < MIN_MASTER_PASSWORD_CHARS) throw new VaultError("auth.tooShort", { min: MIN_MASTER_PASSWORD_CHARS });
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
  if (password.length === 0) throw new VaultError("auth.enterPassword");
  await stage?.("contacting");
  const pre = await api.json<PreloginResponse>("/accounts/prelogin", {
    method: "POST",
    headers: { "Content-Type": JSON_TYPE },
    body: JSON.stringify({ email }),
  });
  const r16 = fromB64u(pre.kdf_salt);
  if (r16.length !== 16) throw new VaultError("client.badSalt");
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
    if (!constantTimeEqual(fromB64u(response.kdf_salt), r16)) throw new VaultError("client.saltChanged");
    let dk: Bytes;
    try {
      dk = await unwrapDataKey(wk, fromB64u(response.wrapped_data_key), r16);
    } catch {
      throw new VaultError("client.dataKeyUnopened");
    }
    const memory = versions ?? new VersionMemory(store, `sharelock:versions:${response.account_id}`);
    const unlock = { kdf: params, r16: r16.slice(), wrappedDataKey: fromB64u(response.wrapped_data_key) };
    return new OwnerSession(api, response.token, response.account_id, email, response.expires_at, dk, await ownerKey(dk), memory, unlock);
  } finally {
    ak.fill(0);
    wk.fill(0);
  }
}

/** An unlocked vault: its resources over one authenticated transport. */
export class OwnerSession {
  readonly #t: OwnerTransport;
  readonly records: Records;
  readonly shares: Shares;
  readonly files: Files;
  readonly account: Account;
  readonly events: OwnerEvents;
  readonly webhooks: Webhooks;

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
    this.#t = new OwnerTransport(api, token, dk, kOwn, versions);
    this.records = new Records(this.#t);
    this.shares = new Shares(this.#t, this.records);
    this.files = new Files(this.#t, this.records);
    this.account = new Account(this.#t, email, unlock, (ak, wk, r16, params, stage) => openSession(api, email, ak, wk, r16, params, undefined, stage, versions));
    this.events = new OwnerEvents(this.#t);
    this.webhooks = new Webhooks(this.#t);
  }

  /** The server's time in Unix seconds (one-time codes follow it). */
  serverNow(): number {
    return this.api.serverNow();
  }

  /** Forgets the keys (after a logout, or when the server says the session ended). */
  close(): void {
    this.#t.close();
  }

  get closed(): boolean {
    return this.#t.closed;
  }
}
