// This browser's device keys, one per opened share, kept in IndexedDB. The private key is a
// non-extractable CryptoKey: IndexedDB stores the handle, and no script (ours included) can read its bytes.
//
// Losing the key loses the share (there is no unbind), so every write here is careful: a new key is added
// only if the share has none yet (two tabs opening the same link must not overwrite each other's key), a
// key is removed only when it is certainly useless, and the page asks the browser to keep its storage.
import { constantTimeEqual, type Bytes } from "../protocol/bytes";
import type { DeviceKey } from "../protocol/device";

const DB_NAME = "sharelock";
const STORE = "devices";

/** What this browser remembers of a share it opened: its device key and the newest version it accepted. */
export interface DeviceRecord {
  /** b64u(share_id). */
  share: string;
  privateKey: CryptoKey;
  publicKey: Bytes;
  /** Anti-rollback state (§3.2): the highest version seen, its envelope hash, and the highest key generation. */
  seenVersion?: number;
  seenHash?: Bytes;
  seenKeyGen?: number;
}

/** The anti-rollback state of a device record. */
export interface Seen {
  version: number;
  hash: Bytes;
  keyGen: number;
}

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(STORE, { keyPath: "share" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error("this browser's storage is not available (private mode or blocked storage?)"));
  });
}

/** Runs `action` in one transaction; resolves with what it returns once the transaction has committed. */
async function run<T>(mode: IDBTransactionMode, action: (store: IDBObjectStore, done: (value: T) => void) => void): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      let result: T;
      action(tx.objectStore(STORE), (value) => {
        result = value;
      });
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error ?? new Error("storage failed"));
      tx.onabort = () => reject(tx.error ?? new Error("storage failed"));
    });
  } finally {
    db.close();
  }
}

/** The device key this browser holds for a share, if any. */
export async function loadDevice(share: string): Promise<DeviceRecord | undefined> {
  return run<DeviceRecord | undefined>("readonly", (store, done) => {
    const request = store.get(share);
    request.onsuccess = () => done(request.result as DeviceRecord | undefined);
  });
}

/**
 * Adds a share's new device record unless the share already has one (another tab may have opened the same
 * link a moment before). Returns the record now stored: `record` itself, or the one that was there first.
 */
export async function addDevice(record: DeviceRecord): Promise<{ stored: DeviceRecord; added: boolean }> {
  return run("readwrite", (store, done) => {
    const existing = store.get(record.share);
    existing.onsuccess = () => {
      const found = existing.result as DeviceRecord | undefined;
      if (found) {
        done({ stored: found, added: false });
        return;
      }
      store.add(record);
      done({ stored: record, added: true });
    };
  });
}

/** Stores what this device has seen of the share, on the record of the key `publicKey` only. */
export async function saveSeen(share: string, publicKey: Uint8Array, seen: Seen): Promise<void> {
  await run<undefined>("readwrite", (store) => {
    const existing = store.get(share);
    existing.onsuccess = () => {
      const found = existing.result as DeviceRecord | undefined;
      if (!found || !constantTimeEqual(found.publicKey, publicKey)) return;
      store.put({ ...found, seenVersion: seen.version, seenHash: seen.hash, seenKeyGen: seen.keyGen });
    };
  });
}

/** Forgets a share's device key, only if it is still the key `publicKey` (another tab may have replaced nothing, but never guess). */
export async function removeDevice(share: string, publicKey: Uint8Array): Promise<void> {
  await run<undefined>("readwrite", (store) => {
    const existing = store.get(share);
    existing.onsuccess = () => {
      const found = existing.result as DeviceRecord | undefined;
      if (found && constantTimeEqual(found.publicKey, publicKey)) store.delete(share);
    };
  });
}

/** A device record for a fresh key pair. */
export function newDeviceRecord(share: string, key: DeviceKey): DeviceRecord {
  return { share, privateKey: key.privateKey, publicKey: key.publicKey };
}

/**
 * Asks the browser to keep this site's storage (and so the device keys) under storage pressure. Returns
 * whether it is persistent; a browser may say no, and a private window or clearing site data loses it anyway.
 */
export async function persistStorage(): Promise<boolean> {
  try {
    if (typeof navigator === "undefined" || !navigator.storage?.persist) return false;
    if (await navigator.storage.persisted()) return true;
    return await navigator.storage.persist();
  } catch {
    return false;
  }
}
