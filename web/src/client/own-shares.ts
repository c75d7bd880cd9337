// The shares this browser's vault made, remembered so that the recipient's page, opened in the same browser,
// can warn the sender before they open their own link (which would lock it to their own device, so the
// recipient would be refused). Only a hash of each share id is kept, with the share's expiry, in this
// origin's storage; nothing is sent anywhere.
import { sha256 } from "../protocol/crypto";
import { toHex, utf8 } from "../protocol/bytes";
import type { KeyValueStore } from "./versions";

const KEY = "sharelock.own-shares";
/** Enough for any vault's live shares; the oldest are forgotten first. */
const MAX_MARKS = 2000;

interface Mark {
  /** Hex of the first 16 bytes of SHA-256("sharelock/own-share" ‖ share id, b64u). */
  h: string;
  /** When the share expires (ms since the epoch): forgotten after. */
  until: number;
}

async function markOf(shareId: string): Promise<string> {
  return toHex((await sha256(utf8(`sharelock/own-share:${shareId}`))).slice(0, 16));
}

function read(store: KeyValueStore, now: number): Mark[] {
  try {
    const parsed: unknown = JSON.parse(store.getItem(KEY) ?? "[]");
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((m): m is Mark => typeof m === "object" && m !== null && typeof (m as Mark).h === "string" && typeof (m as Mark).until === "number" && (m as Mark).until > now);
  } catch {
    return [];
  }
}

/** Remembers shares as this vault's own (`shareId` as b64u, `expiresAt` RFC 3339). */
export async function rememberOwnShares(store: KeyValueStore | undefined, shares: readonly { shareId: string; expiresAt: string }[], now = Date.now()): Promise<void> {
  if (!store || shares.length === 0) return;
  const marks = read(store, now);
  const known = new Set(marks.map((m) => m.h));
  for (const share of shares) {
    const h = await markOf(share.shareId);
    const until = Date.parse(share.expiresAt);
    if (!known.has(h) && until > now) {
      marks.push({ h, until });
      known.add(h);
    }
  }
  try {
    store.setItem(KEY, JSON.stringify(marks.slice(-MAX_MARKS)));
  } catch {
    // Storage full or blocked: no warning then, nothing else depends on it.
  }
}

/** Whether this browser's vault made the share with this id (b64u). */
export async function isOwnShare(store: KeyValueStore | undefined, shareId: string, now = Date.now()): Promise<boolean> {
  if (!store) return false;
  const h = await markOf(shareId);
  return read(store, now).some((m) => m.h === h);
}
