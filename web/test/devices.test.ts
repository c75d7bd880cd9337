// This browser's device keys (IndexedDB, here fake-indexeddb's in-memory implementation): a new key never
// replaces one already stored for the share (two tabs), removal and anti-rollback writes touch only the key
// they were made for, and a fresh key is forgotten only after a definite refusal of its bind.
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { addDevice, loadDevice, newDeviceRecord, removeDevice, saveSeen } from "../src/client/devices";
import { ApiError, NetworkError } from "../src/client/http";
import { forgetsFreshKey } from "../src/client/recipient";
import { randomBytes, toB64u } from "../src/protocol/bytes";
import { generateDeviceKey } from "../src/protocol/device";

describe("device keys", () => {
  it("keeps the first key when two tabs add one for the same share", async () => {
    const share = toB64u(randomBytes(16));
    const first = newDeviceRecord(share, await generateDeviceKey());
    const second = newDeviceRecord(share, await generateDeviceKey());
    const [a, b] = await Promise.all([addDevice(first), addDevice(second)]);
    expect([a.added, b.added].sort()).toEqual([false, true]);
    const winner = a.added ? first : second;
    // Both tabs go on with the one stored key.
    expect(a.stored.publicKey).toEqual(winner.publicKey);
    expect(b.stored.publicKey).toEqual(winner.publicKey);
    expect((await loadDevice(share))?.publicKey).toEqual(winner.publicKey);
  });

  it("removes and updates only the key it was asked about", async () => {
    const share = toB64u(randomBytes(16));
    const kept = newDeviceRecord(share, await generateDeviceKey());
    const other = await generateDeviceKey();
    await addDevice(kept);
    await removeDevice(share, other.publicKey);
    await saveSeen(share, other.publicKey, { version: 9, hash: randomBytes(32), keyGen: 9 });
    const stored = await loadDevice(share);
    expect(stored?.publicKey).toEqual(kept.publicKey);
    expect(stored?.seenVersion).toBeUndefined();
    const hash = randomBytes(32);
    await saveSeen(share, kept.publicKey, { version: 3, hash, keyGen: 2 });
    expect(await loadDevice(share)).toMatchObject({ seenVersion: 3, seenHash: hash, seenKeyGen: 2 });
    await removeDevice(share, kept.publicKey);
    expect(await loadDevice(share)).toBeUndefined();
  });

  it("forgets a fresh key only when the bind was refused (401, 403)", () => {
    expect(forgetsFreshKey(new ApiError(401, "wrong_passphrase", "x"))).toBe(true);
    expect(forgetsFreshKey(new ApiError(403, "share_bound_to_other_device", "x"))).toBe(true);
    for (const status of [400, 404, 410, 429, 500, 502, 503]) expect(forgetsFreshKey(new ApiError(status, "x", "x"))).toBe(false);
    expect(forgetsFreshKey(new NetworkError("offline"))).toBe(false);
    expect(forgetsFreshKey(new Error("lost"))).toBe(false);
  });
});
