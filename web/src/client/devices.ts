// This browser's device keys, one per opened share, kept in IndexedDB. The private key is a
// non-extractable CryptoKey: IndexedDB stores the handle, and no script (ours included) can read its bytes.
import type { Bytes } from "../protocol/bytes";
import type { DeviceKey } from "../protocol/device";

const DB_NAME = "sharelock";
const STORE = "devices";

/** What this browser remembers of a share it opened: its device key and the newest version it accepted. */
export interface DeviceRecord {
  /** b64u(share_id). */
  share: string;
  privateKey: CryptoKey;
  publicKey: Bytes;
  /** Anti-rollback state (§3.2): the highest version seen and its envelope hash. */
  seenVersion?: number;
  seenHash?: Bytes;
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

async function run<T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error ?? new Error("storage failed"));
      tx.onabort = () => reject(tx.error ?? new Error("storage failed"));
    });
  } finally {
    db.close();
  }
}

/** The device key this browser holds for a share, if any. */
export async function loadDevice(share: string): Promise<DeviceRecord | undefined> {
  return run("readonly", (store) => store.get(share) as IDBRequest<DeviceRecord | undefined>);
}

/** Saves (or replaces) a share's device record. */
export async function saveDevice(record: DeviceRecord): Promise<void> {
  await run("readwrite", (store) => store.put(record));
}

/** Forgets a share's device key (after a definite refusal, or once the share ended). */
export async function removeDevice(share: string): Promise<void> {
  await run("readwrite", (store) => store.delete(share));
}

/** A device record for a fresh key pair. */
export function newDeviceRecord(share: string, key: DeviceKey): DeviceRecord {
  return { share, privateKey: key.privateKey, publicKey: key.publicKey };
}
