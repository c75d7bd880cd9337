// The owner's logic that needs no server: verification decisions (§7.5), anti-rollback memory, the live
// event parser, share options and the invitation, the QR drawing, history wording and small form rules.
import { describe, expect, it } from "vitest";
import { parseOwnerEvent, SseParser } from "../src/client/events";
import { raisedKdf } from "../src/client/owner";
import { isOwnShare, rememberOwnShares } from "../src/client/own-shares";
import type { ApiAuthor, ShareInfo } from "../src/client/owner-api";
import { VersionMemory } from "../src/client/versions";
import { verifyVersion, type VerifyKeys } from "../src/client/verify";
import { bytesToUuid, randomBytes, randomId, toB64u, uuidToBytes } from "../src/protocol/bytes";
import { generateDeviceKey } from "../src/protocol/device";
import { envelopeHash, firstHeader, nextHeader, OWNER, ownerTag, sealVersion, shareAuthor, signEdit, type Envelope } from "../src/protocol/envelope";
import { ProtocolError } from "../src/protocol/errors";
import { ownerKey } from "../src/protocol/kdf";
import type { RecordBody } from "../src/protocol/record";
import { bindTag, deriveShareKeys, sealOwnerSecret, type ShareKeys } from "../src/protocol/share";
import { fieldLabel, urlSite } from "../src/ui/record-view";
import { parseScreen, screenPath, type Screen } from "../src/vault/app";
import { emailProblem } from "../src/vault/auth";
import { describeChanges, historyChanges } from "../src/vault/changes";
import { matches } from "../src/vault/list";
import { passwordChangeProblem } from "../src/vault/password";
import { qrMatrix, qrPath } from "../src/vault/qr";
import { templateBody } from "../src/vault/record";
import { attemptsText } from "../src/vault/share-item";
import { filterShares } from "../src/vault/shares";
import { burnFor, destroyFor, expiryFor, invitationText, rfc3339 } from "../src/vault/share-options";
import { mailtoLink } from "../src/vault/share";
import { serverBase } from "../src/vault/util";

const body = (username: string): RecordBody => ({
  type: "login",
  title: "Mail",
  fields: [
    { name: "username", kind: "text", value: username },
    { name: "password", kind: "secret", value: "hunter2" },
  ],
  notes: "",
  files: [],
});

interface World {
  keys: VerifyKeys & { kOwn: Uint8Array };
  recordId: string;
  v1: Envelope;
  share: ShareKeys;
  info: ShareInfo;
  edit: Envelope;
  signature: Uint8Array;
}

async function world(): Promise<World> {
  const dk = randomBytes(32);
  const keys = { dk, kOwn: await ownerKey(dk) };
  const recordId = randomId();
  const rk = randomBytes(32);
  const v1 = await sealVersion(rk, firstHeader(uuidToBytes(recordId), OWNER), body("ada"));
  const share = await deriveShareKeys(randomBytes(32));
  const device = await generateDeviceKey();
  const info: ShareInfo = {
    handle: randomId(),
    share_id: toB64u(share.shareId),
    record_id: recordId,
    state: "opened",
    editable: true,
    passphrase: false,
    burn_after_secs: null,
    created_at: "2026-01-01T00:00:00Z",
    expires_at: "2026-01-08T00:00:00Z",
    opened_at: "2026-01-01T01:00:00Z",
    device_fingerprint: null,
    device_key: toB64u(device.publicKey),
    bind_tag: toB64u(await bindTag(share.bindKey, share.shareId, device.publicKey)),
    ended_at: null,
    end_reason: null,
    last_access_at: null,
    edit_count: 1,
    key_gen: 1,
    owner_secret: toB64u(await sealOwnerSecret(dk, share, { recordId: uuidToBytes(recordId), editable: true })),
    label: null,
    failed_attempts: 0,
    last_failed_at: null,
    refused_at: null,
    view_once: false,
    request: null,
    open_count: 1,
    refused_count: 0,
    failed_total: 0,
    destroy_after_secs: null,
    destroy_at: null,
  };
  const edit = await sealVersion(rk, await nextHeader(v1, 1n, shareAuthor(share.shareId)), body("ada.lovelace"));
  return { keys, recordId, v1, share, info, edit, signature: await signEdit(device, edit) };
}

const owner: ApiAuthor = { kind: "owner" };

describe("verifying versions (§7.5)", () => {
  it("attributes the owner's version by its tag, and nothing else", async () => {
    const w = await world();
    const tag = await ownerTag(w.keys.kOwn, w.v1);
    expect(await verifyVersion(w.keys, w.recordId, w.v1, tag, owner, [])).toEqual({ kind: "owner" });
    const wrong = tag.slice();
    wrong[0]! ^= 1;
    expect((await verifyVersion(w.keys, w.recordId, w.v1, wrong, owner, [])).kind).toBe("unverified");
    // Another vault's K_own does not verify it.
    expect((await verifyVersion({ dk: randomBytes(32) }, w.recordId, w.v1, tag, owner, [])).kind).toBe("unverified");
    // The server claims a recipient wrote an owner version.
    expect((await verifyVersion(w.keys, w.recordId, w.v1, tag, { kind: "share", share: w.info.handle }, [w.info])).kind).toBe("unverified");
  });

  it("attributes a recipient's version to the share's verified device", async () => {
    const w = await world();
    const author: ApiAuthor = { kind: "share", share: w.info.handle };
    const result = await verifyVersion(w.keys, w.recordId, w.edit, w.signature, author, [w.info]);
    expect(result.kind).toBe("recipient");
    if (result.kind === "recipient") {
      expect(result.handle).toBe(w.info.handle);
      expect(result.fingerprint).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);
    }
  });

  it("refuses every way a server could pass off a version as the recipient's", async () => {
    const w = await world();
    const author: ApiAuthor = { kind: "share", share: w.info.handle };
    const reason = async (info: ShareInfo[], signature = w.signature, claimed: ApiAuthor = author): Promise<string> => {
      const r = await verifyVersion(w.keys, w.recordId, w.edit, signature, claimed, info);
      expect(r.kind).toBe("unverified");
      return r.kind === "unverified" ? r.reason : "";
    };
    const sealedAs = async (recordId: string, editable: boolean): Promise<string> =>
      toB64u(await sealOwnerSecret(w.keys.dk, w.share, { recordId: uuidToBytes(recordId), editable }));
    expect(await reason([])).toContain("not listed");
    // The server's facts do not count: a share sealed read-only stays read-only though the server says
    // editable, and one sealed for another record stays that record's though the server lists it here.
    expect(await reason([{ ...w.info, owner_secret: await sealedAs(w.recordId, false) }])).toContain("read-only");
    expect(await reason([{ ...w.info, owner_secret: await sealedAs(randomId(), true) }])).toContain("share of this record");
    expect(await reason([{ ...w.info, share_id: toB64u(randomBytes(16)) }])).toContain("another share");
    expect(await reason([{ ...w.info, device_key: null }])).toContain("no device");
    // A device of the server's own: its bind tag cannot be made without S′.
    const rogue = await generateDeviceKey();
    const forged = await bindTag(randomBytes(32), w.share.shareId, rogue.publicKey);
    expect(await reason([{ ...w.info, device_key: toB64u(rogue.publicKey), bind_tag: toB64u(forged) }], await signEdit(rogue, w.edit))).toContain("bind tag");
    // The right device key and tag, but a signature by another key.
    expect(await reason([w.info], await signEdit(rogue, w.edit))).toContain("signature");
    // Secrets sealed under another vault's DK.
    const foreign = await sealOwnerSecret(randomBytes(32), w.share, { recordId: uuidToBytes(w.recordId), editable: true });
    expect(await reason([{ ...w.info, owner_secret: toB64u(foreign) }])).toContain("sealed facts");
    // The server names the owner as the author of a recipient's version.
    expect(await reason([w.info], w.signature, owner)).toContain("does not match");
  });

  it("refuses a version of a share this browser saw end before it, and keeps the ones before", async () => {
    const w = await world();
    const author: ApiAuthor = { kind: "share", share: w.info.handle };
    const memory = new VersionMemory();
    const check = () => verifyVersion(w.keys, w.recordId, w.edit, w.signature, author, [w.info], (id) => memory.endedAfter(id));
    expect((await check()).kind).toBe("recipient");
    // The edit is version 2: seen ended at version 2, it stays attributed; at version 1, it is refused.
    memory.noteEnded(w.share.shareId, w.recordId, 2);
    expect((await check()).kind).toBe("recipient");
    const early = new VersionMemory();
    early.noteEnded(w.share.shareId, w.recordId, 1);
    const refused = await verifyVersion(w.keys, w.recordId, w.edit, w.signature, author, [w.info], (id) => early.endedAfter(id));
    expect(refused).toMatchObject({ kind: "unverified", code: "share_ended" });
  });
});

describe("anti-rollback memory (§3.2)", () => {
  it("refuses an older version and a fork, and survives a reload from storage", async () => {
    const store = new Map<string, string>();
    const kv = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const rk = randomBytes(32);
    const id = uuidToBytes(randomId());
    const v1 = await sealVersion(rk, firstHeader(id, OWNER), body("a"));
    const v2 = await sealVersion(rk, await nextHeader(v1, 1n, OWNER), body("b"));
    const v2b = await sealVersion(rk, await nextHeader(v1, 1n, OWNER), body("c"));
    const memory = new VersionMemory(kv, "k");
    await memory.accept(v1);
    await memory.accept(v2);
    expect(memory.highest(bytesToUuid(id))).toBe(2n);

    const reloaded = new VersionMemory(kv, "k");
    expect(reloaded.highest(bytesToUuid(id))).toBe(2n);
    await expect(reloaded.check(v1)).rejects.toSatisfy((e: unknown) => e instanceof ProtocolError && e.kind === "rollback");
    await expect(reloaded.accept(v2b)).rejects.toSatisfy((e: unknown) => e instanceof ProtocolError && e.kind === "fork");
    await reloaded.check(v2);
    reloaded.forget(bytesToUuid(id));
    expect(new VersionMemory(kv, "k").highest(bytesToUuid(id))).toBeUndefined();
  });

  it("refuses an older key generation and remembers ended shares, across a reload", async () => {
    const store = new Map<string, string>();
    const kv = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const id = uuidToBytes(randomId());
    const rk1 = randomBytes(32);
    const v1 = await sealVersion(rk1, firstHeader(id, OWNER), body("a"));
    const v2 = await sealVersion(randomBytes(32), await nextHeader(v1, 2n, OWNER), body("a"));
    const share = randomBytes(16);
    const stale = await sealVersion(rk1, await nextHeader(v2, 1n, shareAuthor(share)), body("b"));
    const memory = new VersionMemory(kv, "k");
    await memory.accept(v1);
    await memory.accept(v2);
    memory.noteEnded(share, bytesToUuid(id), 2);
    memory.noteEnded(share, bytesToUuid(id), 7);
    const reloaded = new VersionMemory(kv, "k");
    expect(reloaded.keyGen(bytesToUuid(id))).toBe(2n);
    expect(reloaded.endedAfter(share)).toBe(2n);
    await expect(reloaded.check(stale)).rejects.toSatisfy((e: unknown) => e instanceof ProtocolError && e.kind === "key_rollback");
    reloaded.forget(bytesToUuid(id));
    expect(new VersionMemory(kv, "k").endedAfter(share)).toBeUndefined();
    // A memory stored in the first form (no generations) still loads.
    const oldText = JSON.stringify({ [bytesToUuid(id)]: ["2", toB64u(await envelopeHash(v2))] });
    const old = { getItem: () => oldText, setItem: () => undefined };
    expect(new VersionMemory(old, "k").highest(bytesToUuid(id))).toBe(2n);
  });

  it("guards a whole list at once: accepts or only checks each version, reports each refusal, saves once", async () => {
    const store = new Map<string, string>();
    let saves = 0;
    const kv = {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => {
        saves++;
        store.set(k, v);
      },
    };
    const rk = randomBytes(32);
    const versions: Envelope[][] = [];
    for (let i = 0; i < 50; i++) {
      const v1 = await sealVersion(rk, firstHeader(uuidToBytes(randomId()), OWNER), body(`u${i}`));
      versions.push([v1, await sealVersion(rk, await nextHeader(v1, 1n, OWNER), body(`v${i}`))]);
    }
    const memory = new VersionMemory(kv, "k");
    const item = async (env: Envelope, remember = true) => ({ env, hash: await envelopeHash(env), remember });
    const first = await Promise.all(versions.map(([, v2]) => item(v2!)));
    expect(memory.guardAll(first)).toEqual(first.map(() => undefined));
    expect(saves).toBe(1);
    const reloaded = new VersionMemory(kv, "k");
    expect(reloaded.highest(bytesToUuid(versions[7]![0]!.recordId))).toBe(2n);

    // Version 1 again is a rollback, refused whether remembered or only checked; nothing new is saved.
    const again = [await item(versions[0]![1]!), await item(versions[1]![0]!), await item(versions[2]![0]!, false)];
    const refusals = reloaded.guardAll(again);
    expect(refusals[0]).toBeUndefined();
    expect(refusals[1]?.kind).toBe("rollback");
    expect(refusals[2]?.kind).toBe("rollback");
    expect(saves).toBe(1);
    // An unverified version is only checked: a record never seen stays unremembered.
    const unseen = await sealVersion(rk, firstHeader(uuidToBytes(randomId()), OWNER), body("x"));
    expect(reloaded.guardAll([await item(unseen, false)])).toEqual([undefined]);
    expect(reloaded.highest(bytesToUuid(unseen.recordId))).toBeUndefined();
    expect(saves).toBe(1);
  });

  it("starts empty when the stored memory is damaged", () => {
    const kv = { getItem: () => "{not json", setItem: () => undefined };
    expect(new VersionMemory(kv, "k").highest(randomId())).toBeUndefined();
  });
});

describe("live events (§9.5)", () => {
  it("parses server-sent events cut anywhere, with CRLF, comments and multi-line data", () => {
    const parser = new SseParser();
    const data = '{"id":7,"kind":"share_opened","share":"h","record":"r","number":null,"at":"2026-01-01T00:00:00Z"}';
    const text = `: keep-alive\r\nid: 7\r\nevent: share_opened\r\ndata: ${data}\r\n\r\ndata: a\ndata: b\n\n`;
    const out = [];
    for (let i = 0; i < text.length; i += 5) out.push(...parser.push(text.slice(i, i + 5)));
    expect(out).toHaveLength(2);
    expect(out[0]).toEqual({ id: "7", event: "share_opened", data });
    expect(out[1]?.data).toBe("a\nb");
    expect(parseOwnerEvent(out[0]!)).toEqual({ id: 7, kind: "share_opened", share: "h", record: "r", number: null, at: "2026-01-01T00:00:00Z" });
    expect(parseOwnerEvent(out[1]!)).toBeUndefined();
  });
});

describe("share options", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  const max = 180 * 86_400;

  it("turns presets and a custom date into the API's expiry", () => {
    expect(expiryFor("1h", "", now, max)).toEqual({ in_seconds: 3600 });
    expect(expiryFor("30d", "", now, max)).toEqual({ in_seconds: 30 * 86_400 });
    const at = expiryFor("custom", "2026-03-10T09:30", now, max);
    expect("at" in at && at.at).toBe(rfc3339(new Date("2026-03-10T09:30").getTime()));
    expect("at" in at && at.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00Z$/);
  });

  it("refuses expiries in the past, too close, or beyond the server's longest", () => {
    expect(() => expiryFor("custom", "", now, max)).toThrow(/date and time/);
    expect(() => expiryFor("custom", "2026-02-01T10:00", now, max)).toThrow(/at least a minute/);
    expect(() => expiryFor("custom", "2027-01-01T10:00", now, max)).toThrow(/at most 180 d/);
    expect(() => expiryFor("30d", "", now, 86_400)).toThrow(/at most 1 d/);
    expect(() => expiryFor("1y", "", now, max)).toThrow(/Choose/);
  });

  it("maps burn after open, none to null", () => {
    expect(burnFor("none", max)).toBeNull();
    expect(burnFor("10m", max)).toBe(600);
    expect(burnFor("1d", max)).toBe(86_400);
    expect(() => burnFor("1d", 3600)).toThrow(/at most/);
  });

  it("maps self-destruction after opening, never to null", () => {
    expect(destroyFor("never", max)).toBeNull();
    expect(destroyFor("10m", max)).toBe(600);
    expect(destroyFor("7d", max)).toBe(7 * 86_400);
    expect(() => destroyFor("7d", 86_400)).toThrow(/at most/);
    expect(() => destroyFor("soon", max)).toThrow(/Choose/);
  });

  it("writes an invitation that says first device only, when it expires, and that the passphrase comes separately", () => {
    const link = "https://share.example/s#1p.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const facts = { link, expiresAt: "2026-03-08T12:00:00Z", nowMs: now, passphrase: false, burnAfterSecs: null, editable: false, formatTime: () => "8 Mar 2026, 12:00" };
    const plain = invitationText(facts);
    expect(plain).toContain(link);
    expect(plain).toContain("only on the first device");
    expect(plain).toContain("It expires on 8 Mar 2026, 12:00 (in 7 d 0 h).");
    expect(plain).not.toContain("passphrase");
    expect(plain).not.toContain("edit");
    const full = invitationText({ ...facts, passphrase: true, burnAfterSecs: 600, editable: true });
    expect(full).toContain("passphrase, which I am sending you separately");
    expect(full).toContain("stays available for 10 min");
    expect(full).toContain("You can also edit it");
    expect(plain).not.toContain("viewed once");
    const once = invitationText({ ...facts, viewOnce: true });
    expect(once).toContain("It can be viewed once");
    expect(once).not.toContain("stays available");
    expect(plain).not.toContain("deleted");
    const destroys = invitationText({ ...facts, destroyAfterSecs: 3600 });
    expect(destroys).toContain("the original is deleted 1 h 0 min later");
  });

  it("opens a new email with the invitation and nobody chosen yet", () => {
    const invitation = "Open this link:\nhttps://share.example/s#1.AAAA&x=1";
    const link = mailtoLink(invitation);
    expect(link.startsWith("mailto:?subject=")).toBe(true);
    const body = new URL(link).searchParams.get("body");
    expect(body).toBe(invitation);
  });
});

describe("QR code", () => {
  it("draws one rectangle run per dark stretch inside a quiet zone", () => {
    const link = "https://share.example/s#1.q2S4u0zSk4zV4kXxXkP1fJxqVQbEJv3Yl5m9Ck1Kx3Q";
    const matrix = qrMatrix(link);
    expect(matrix.size).toBeGreaterThanOrEqual(21);
    expect((matrix.size - 17) % 4).toBe(0);
    let dark = 0;
    for (let r = 0; r < matrix.size; r++) for (let c = 0; c < matrix.size; c++) if (matrix.isDark(r, c)) dark++;
    const { side, d } = qrPath(matrix);
    expect(side).toBe(matrix.size + 8);
    const runs = [...d.matchAll(/M(\d+) (\d+)h(\d+)v1h-(\d+)z/g)];
    expect(runs.map((m) => m[0]).join("")).toBe(d);
    expect(runs.reduce((n, m) => n + Number(m[3]), 0)).toBe(dark);
    for (const m of runs) {
      expect(Number(m[1])).toBeGreaterThanOrEqual(4);
      expect(Number(m[1]) + Number(m[3])).toBeLessThanOrEqual(side - 4);
      expect(Number(m[2])).toBeLessThan(side - 4);
    }
    // The three finder patterns: the top-left 7×7 square's first row is one dark run of 7.
    expect(d.startsWith("M4 4h7v1h-7z")).toBe(true);
  });

  it("uses the smallest version for a short text", () => {
    expect(qrMatrix("A").size).toBe(21);
  });
});

describe("history wording", () => {
  it("quotes plain values and only names secrets", () => {
    const before = body("ada");
    const after = { ...body("ada.lovelace"), fields: [...body("ada.lovelace").fields.map((f) => (f.name === "password" ? { ...f, value: "s3cret" } : f)), { name: "totp", kind: "otp" as const, value: "JBSWY3DPEHPK3PXP" }] };
    const lines = describeChanges(before, after);
    expect(lines).toContain("Username changed from “ada” to “ada.lovelace”.");
    expect(lines).toContain("Password changed.");
    expect(lines).toContain(`${fieldLabel("totp")} added.`);
    expect(lines.join(" ")).not.toContain("s3cret");
    expect(lines.join(" ")).not.toContain("JBSWY3");
    expect(describeChanges(undefined, before)).toEqual(["Created."]);
  });
});

describe("URL fields", () => {
  it("name the host the browser would visit, and the user name before an @ as such", () => {
    expect(urlSite("https://bank.example@evil.example/login")).toEqual({ host: "evil.example", userinfo: "bank.example" });
    expect(urlSite("https://bank.example:pw@evil.example:8443/")).toEqual({ host: "evil.example:8443", userinfo: "bank.example:pw" });
    expect(urlSite("https://mail.example/login?x=@y")).toEqual({ host: "mail.example", userinfo: null });
    expect(urlSite("HTTPS://Mail.Example:443/")).toEqual({ host: "mail.example", userinfo: null });
    // International names in their ASCII form, which cannot pass for another script's look-alike.
    expect(urlSite("https://bücher.example/")).toEqual({ host: "xn--bcher-kva.example", userinfo: null });
    expect(urlSite("mail.example")).toBeUndefined();
    expect(urlSite("javascript:alert(1)")).toBeUndefined();
    expect(urlSite("ftp://files.example/")).toBeUndefined();
  });
});

describe("small rules of the page", () => {
  it("finds the server's public URL from the page's address", () => {
    expect(serverBase({ origin: "https://share.example", pathname: "/" })).toBe("https://share.example");
    expect(serverBase({ origin: "https://example.org:8443", pathname: "/tools/sharelock/" })).toBe("https://example.org:8443/tools/sharelock");
    expect(serverBase({ origin: "http://127.0.0.1:9000", pathname: "/index.html" })).toBe("http://127.0.0.1:9000");
  });

  it("checks emails as the server will", () => {
    expect(emailProblem("ada@example.org")).toBeUndefined();
    for (const bad of ["", "ada", "@example.org", "ada@", "a@b@c", "ada @example.org"]) expect(emailProblem(bad)).toBeDefined();
  });

  it("searches titles and subtitles by every word, ignoring case and accents", () => {
    const entry = { title: "Crème Brûlée bank", subtitle: "ada@example.org" };
    expect(matches(entry, "creme")).toBe(true);
    expect(matches(entry, "BANK ada")).toBe(true);
    expect(matches(entry, "bank grace")).toBe(false);
    expect(matches(entry, "  ")).toBe(true);
  });

  it("pre-fills a new record with its type's standard fields, keeping what was typed", () => {
    expect(templateBody("login").fields.map((f) => `${f.name}:${f.kind}`)).toEqual(["username:text", "password:secret", "url:url", "totp:otp"]);
    const kept = templateBody("server", { ...templateBody("login"), title: "Box", fields: [{ name: "username", kind: "text", value: "root" }] });
    expect(kept.title).toBe("Box");
    expect(kept.fields.find((f) => f.name === "username")?.value).toBe("root");
    expect(kept.fields.map((f) => f.name)).toEqual(["hostname", "port", "username", "password"]);
    expect(templateBody("note").fields).toEqual([]);
  });

  it("asks a new master password as strong as at registration, typed twice, and different", () => {
    const field = (current: string, next: string, again: string): string | undefined => passwordChangeProblem(current, next, again)?.field;
    expect(passwordChangeProblem("old password", "a new master password", "a new master password")).toBeUndefined();
    expect(field("", "a new master password", "a new master password")).toBe("current");
    expect(field("old password", "too short", "too short")).toBe("new");
    expect(field("old password", "a new master password", "a new master passw0rd")).toBe("again");
    expect(field("same old password", "same old password", "same old password")).toBe("new");
    // Ten characters, not ten UTF-16 units: an emoji counts once.
    expect(field("x", "🔑🔑🔑🔑🔑🔑🔑🔑🔑", "🔑🔑🔑🔑🔑🔑🔑🔑🔑")).toBe("new");
  });

  it("never lowers the account's key-derivation parameters at a password change", () => {
    expect(raisedKdf({ alg: "argon2id", m: 65_536, t: 3, p: 4 })).toEqual({ alg: "argon2id", m: 65_536, t: 3, p: 4 });
    expect(raisedKdf({ alg: "argon2id", m: 262_144, t: 3, p: 1 })).toEqual({ alg: "argon2id", m: 262_144, t: 3, p: 4 });
    expect(raisedKdf({ alg: "argon2id", m: 65_536, t: 8, p: 8 })).toEqual({ alg: "argon2id", m: 65_536, t: 8, p: 8 });
  });
});

describe("history as changes", () => {
  const owner = { kind: "owner" };
  const recipient = { kind: "recipient" };
  const unverified = { kind: "unverified" };
  it("folds the versions a share's key rotation wrote into the change before them", () => {
    const v = (keyGen: number, verification: { kind: string }, username: string | undefined, version: number) => ({ version, keyGen, verification, body: username === undefined ? undefined : body(username) });
    const history = [
      v(1, owner, "ada", 1),
      v(2, owner, "ada", 2), // shared: new key, same content
      v(3, owner, "ada", 3), // another share
      v(3, recipient, "ada.lovelace", 4),
      v(4, owner, "ada.lovelace", 5), // the share ended: new key
      v(4, owner, "grace", 6),
    ];
    const changes = historyChanges(history);
    expect(changes.map((c) => c.entry.version)).toEqual([1, 4, 6]);
    expect(changes.map((c) => c.quiet.map((q) => q.version))).toEqual([[2, 3], [5], []]);
    expect(changes[0]!.lines).toEqual(["Created."]);
    expect(changes[1]!.lines).toEqual(["Username changed from “ada” to “ada.lovelace”."]);
  });

  it("never folds a version it cannot attribute to this vault, or cannot read", () => {
    const history = [
      { keyGen: 1, verification: owner, body: body("ada") },
      { keyGen: 2, verification: unverified, body: body("ada") },
      { keyGen: 2, verification: recipient, body: body("ada") },
      { keyGen: 3, verification: owner, problem: "cannot be read" },
      { keyGen: 3, verification: owner, body: body("ada") },
    ];
    const changes = historyChanges(history);
    expect(changes).toHaveLength(4);
    expect(changes[3]!.quiet).toHaveLength(1);
  });
});

describe("screen addresses", () => {
  it("names every screen after the # and reads it back", () => {
    const id = "0b6c1e9a-5f0e-4c1b-9a53-2f4b7c8d9e10";
    const screens: Screen[] = [{ kind: "list" }, { kind: "new" }, { kind: "password" }, { kind: "record", id }, { kind: "edit", id }, { kind: "history", id }, { kind: "share", id }, { kind: "shares", filter: "active" }, { kind: "shares", filter: "ended" }, { kind: "settings" }, { kind: "export" }, { kind: "import" }];
    for (const screen of screens) expect(parseScreen(`#${screenPath(screen)}`)).toEqual(screen);
    expect(screenPath({ kind: "history", id })).toBe(`/records/${id}/history`);
    expect(screenPath({ kind: "shares", filter: "active" })).toBe("/shares");
    expect(screenPath({ kind: "shares", filter: "ended" })).toBe("/shares/ended");
    expect(parseScreen("")).toEqual({ kind: "list" });
  });

  it("refuses addresses that name no screen", () => {
    for (const hash of ["#/records/not-an-id", "#/records/0b6c1e9a-5f0e-4c1b-9a53-2f4b7c8d9e10/delete", "#/elsewhere", "#1.abc", "#/shares/all"]) expect(parseScreen(hash)).toBeUndefined();
  });
});

describe("the Shares screen", () => {
  const entry = (state: ShareInfo["state"]) => ({ info: { state } as ShareInfo, editable: false, legacy: false });

  it("lists live shares under Active and the others under Ended, in the server's order", () => {
    const entries = [entry("opened"), entry("expired"), entry("active"), entry("deleted")];
    expect(filterShares(entries, "active").map((e) => e.info.state)).toEqual(["opened", "active"]);
    expect(filterShares(entries, "ended").map((e) => e.info.state)).toEqual(["expired", "deleted"]);
  });

  it("says what other people tried with a link, and nothing when nobody tried", () => {
    expect(attemptsText({ failed_attempts: 0, last_failed_at: null, refused_at: null })).toEqual([]);
    const said = attemptsText({ failed_attempts: 3, last_failed_at: "2026-01-01T10:00:00Z", refused_at: "2026-01-01T11:00:00Z" });
    expect(said).toHaveLength(2);
    expect(said[0]).toMatch(/^3 wrong passphrases, the last /);
    expect(said[1]).toMatch(/^Another device with the link was refused .*\.$/);
    expect(attemptsText({ failed_attempts: 1, last_failed_at: null, refused_at: null })).toEqual(["1 wrong passphrase."]);
  });
});

describe("the vault's own shares", () => {
  const memory = (): { getItem(k: string): string | null; setItem(k: string, v: string): void; data: Map<string, string> } => {
    const data = new Map<string, string>();
    return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
  };

  it("are recognised by share id until they expire, and only a hash of the id is kept", async () => {
    const store = memory();
    const id = toB64u(randomBytes(16));
    const other = toB64u(randomBytes(16));
    const now = Date.parse("2026-01-01T00:00:00Z");
    await rememberOwnShares(store, [{ shareId: id, expiresAt: "2026-01-02T00:00:00Z" }], now);
    expect(await isOwnShare(store, id, now)).toBe(true);
    expect(await isOwnShare(store, other, now)).toBe(false);
    expect(await isOwnShare(store, id, Date.parse("2026-01-02T00:00:01Z"))).toBe(false);
    expect([...store.data.values()].join("")).not.toContain(id);
    // Remembering again adds nothing; an expired share is not remembered; damaged storage is forgotten.
    await rememberOwnShares(store, [{ shareId: id, expiresAt: "2026-01-02T00:00:00Z" }, { shareId: other, expiresAt: "2025-12-31T00:00:00Z" }], now);
    expect(JSON.parse(store.data.get("sharelock.own-shares")!)).toHaveLength(1);
    store.setItem("sharelock.own-shares", "{not json");
    expect(await isOwnShare(store, id, now)).toBe(false);
    expect(await isOwnShare(undefined, id, now)).toBe(false);
  });
});
