// envelope.json (docs/protocol.md §3.2), every case, as crates/sharelock-core/tests/vectors/envelope.rs checks it:
// - version: the envelope parses to the stated header, serialises back, hashes to E, equals the envelope
//   spelled out from the inputs (F, AAD, pad256, fixed nonces) and the one sealVersion makes; its boxes open
//   to the stated JSON; owner versions carry a verifying owner tag, recipient versions a verifying signature;
// - parse / open / owner_tag / edit_signature: refused with the stated kind;
// - check_expected: the server's check against `expected`;
// - guard: the client's anti-rollback check after having seen (seen_v, seen_hash, seen_k);
// - summary: the sealed summary is the body's, or `summary_mismatch`.
import { describe, expect, it } from "vitest";
import { aad } from "../src/protocol/aad";
import { concat, fromHex, toHex, u32, u64, utf8, uuidToBytes } from "../src/protocol/bytes";
import { hmacSha256, seal, sha256 } from "../src/protocol/crypto";
import { ecdsaVerify, editMessage, generateDeviceKey } from "../src/protocol/device";
import {
  authorBytes,
  checkExpected,
  checkSummary,
  envelopeHash,
  expectedAfter,
  expectedFirst,
  firstHeader,
  HEADER_LEN,
  nextHeader,
  OWNER,
  openBody,
  openSummary,
  ownerTag,
  parseEnvelope,
  sealVersion,
  serializeEnvelope,
  shareAuthor,
  signEdit,
  verifyEdit,
  verifyOwnerTag,
  VersionGuard,
  type Author,
  type Envelope,
} from "../src/protocol/envelope";
import { ProtocolError } from "../src/protocol/errors";
import { bodyFromJson, bodyToJson, pad256, summaryFromJson, summaryOf, type RecordBody } from "../src/protocol/record";
import { hex, loadVectors, num, str, type VectorCase } from "./vectors";

const cases = loadVectors("envelope");
const OPS = ["version", "parse", "open", "owner_tag", "edit_signature", "check_expected", "guard", "summary"] as const;
const checked = new Map<string, number>();

/** The ProtocolError kind of a failure, synchronous or not (and fails if there is none). */
async function kindOf(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    if (e instanceof ProtocolError) return e.kind;
    throw e;
  }
  throw new Error("expected a ProtocolError, got a result");
}

function authorOf(bytes: Uint8Array): Author {
  return bytes[0] === 0 ? OWNER : shareAuthor(bytes.subarray(1));
}


const checks: Record<(typeof OPS)[number], (c: VectorCase) => Promise<void>> = {
  async version(c) {
    const bytes = hex(c, "envelope");
    const env = parseEnvelope(bytes);
    expect(toHex(env.recordId)).toBe(toHex(uuidToBytes(str(c, "record_id"))));
    expect([env.k, env.v]).toEqual([BigInt(num(c, "k")), BigInt(num(c, "v"))]);
    expect(toHex(env.prev)).toBe(str(c, "prev"));
    expect(toHex(authorBytes(env.author))).toBe(str(c, "author"));
    expect(toHex(serializeEnvelope(env))).toBe(str(c, "envelope"));
    expect(toHex(await sha256(bytes))).toBe(str(c, "hash"));
    expect(toHex(await envelopeHash(env))).toBe(str(c, "hash"));

    // The envelope, spelled out from the inputs.
    const f = concat(uuidToBytes(str(c, "record_id")), u64(num(c, "k")), u64(num(c, "v")), hex(c, "prev"), hex(c, "author"));
    expect(f.length).toBe(81);
    const rk = hex(c, "rk");
    const bodyBox = await seal(rk, pad256(utf8(str(c, "body_json"))), aad("record", f), hex(c, "body_nonce"));
    const summaryBox = await seal(rk, pad256(utf8(str(c, "summary_json"))), aad("record-summary", f), hex(c, "summary_nonce"));
    const manual = concat(utf8("SLV1"), f, u32(bodyBox.length), bodyBox, u32(summaryBox.length), summaryBox);
    expect(toHex(manual)).toBe(str(c, "envelope"));

    // Opening gives the stated JSON, which is also exactly what this code encodes for that body.
    const body = await openBody(env, rk);
    expect(body).toEqual(bodyFromJson(utf8(str(c, "body_json"))));
    expect(toHex(bodyToJson(body))).toBe(toHex(utf8(str(c, "body_json"))));
    const summary = await openSummary(env, rk);
    expect(summary).toEqual(summaryFromJson(utf8(str(c, "summary_json"))));
    expect(summary).toEqual(summaryOf(body));
    const resealed = await sealVersion(
      rk,
      { recordId: uuidToBytes(str(c, "record_id")), k: BigInt(num(c, "k")), v: BigInt(num(c, "v")), prev: hex(c, "prev"), author: authorOf(hex(c, "author")) },
      body,
      { body: hex(c, "body_nonce"), summary: hex(c, "summary_nonce") },
    );
    expect(toHex(serializeEnvelope(resealed))).toBe(str(c, "envelope"));

    let proofs = 0;
    if (c.owner_tag !== undefined) {
      expect(env.author.kind).toBe("owner");
      expect(toHex(await hmacSha256(hex(c, "k_own"), hex(c, "hash")))).toBe(str(c, "owner_tag"));
      expect(toHex(await ownerTag(hex(c, "k_own"), env))).toBe(str(c, "owner_tag"));
      await verifyOwnerTag(hex(c, "k_own"), env, hex(c, "owner_tag"));
      proofs++;
    }
    if (c.signature !== undefined) {
      expect(env.author.kind).toBe("share");
      await verifyEdit(hex(c, "device_key"), env, hex(c, "signature"));
      await ecdsaVerify(hex(c, "device_key"), concat(utf8("sharelock/v1/edit"), hex(c, "hash")), hex(c, "signature"));
      proofs++;
    }
    expect(proofs).toBe(1);
  },
  async parse(c) {
    expect(await kindOf(() => parseEnvelope(hex(c, "envelope")))).toBe(c.error);
  },
  async open(c) {
    const env = parseEnvelope(hex(c, "envelope"));
    const part = str(c, "part");
    expect(["body", "summary"]).toContain(part);
    const rk = hex(c, "rk");
    expect(await kindOf(() => (part === "body" ? openBody(env, rk) : openSummary(env, rk)))).toBe(c.error);
  },
  async owner_tag(c) {
    const env = parseEnvelope(hex(c, "envelope"));
    expect(await kindOf(() => verifyOwnerTag(hex(c, "k_own"), env, hex(c, "tag")))).toBe(c.error);
  },
  async edit_signature(c) {
    const env = parseEnvelope(hex(c, "envelope"));
    expect(await kindOf(() => verifyEdit(hex(c, "device_key"), env, hex(c, "signature")))).toBe(c.error);
  },
  async check_expected(c) {
    const env = parseEnvelope(hex(c, "envelope"));
    const e = c.expected as { record_id: string; k: number; v: number; prev: string; author: string };
    const expected = { recordId: uuidToBytes(e.record_id), k: BigInt(e.k), v: BigInt(e.v), prev: fromHex(e.prev), author: authorOf(fromHex(e.author)) };
    if (c.valid) checkExpected(env, expected);
    else expect(await kindOf(() => checkExpected(env, expected))).toBe(c.error);
  },
  async guard(c) {
    const env = parseEnvelope(hex(c, "envelope"));
    const seenK = BigInt(num(c, "seen_k"));
    const guard = VersionGuard.resume(BigInt(num(c, "seen_v")), hex(c, "seen_hash"), seenK);
    const hash = await envelopeHash(env);
    if (c.valid) {
      guard.accept(env, hash);
      expect(guard.highest()).toEqual({ v: env.v, hash });
      expect(guard.keyGen()).toBe(env.k > seenK ? env.k : seenK);
    } else {
      expect(await kindOf(() => guard.accept(env, hash))).toBe(c.error);
      expect(guard.highest()).toEqual({ v: BigInt(num(c, "seen_v")), hash: hex(c, "seen_hash") });
      expect(guard.keyGen()).toBe(seenK);
    }
  },
  async summary(c) {
    const env = parseEnvelope(hex(c, "envelope"));
    const rk = hex(c, "rk");
    const body = await openBody(env, rk);
    if (c.valid) {
      await checkSummary(env, rk, body);
    } else {
      expect(await kindOf(() => checkSummary(env, rk, body))).toBe(c.error);
      // Both boxes open and validate on their own: only the comparison fails.
      expect(await openSummary(env, rk)).not.toEqual(summaryOf(body));
    }
  },
};

describe("envelope.json", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_, c) => {
    expect(OPS).toContain(c.op);
    if (!c.valid) expect(typeof c.error).toBe("string");
    await checks[c.op as (typeof OPS)[number]](c);
    checked.set(c.op!, (checked.get(c.op!) ?? 0) + 1);
  });

  it("checked every case of every op", () => {
    for (const op of OPS) expect(checked.get(op) ?? 0, op).toBe(cases.filter((c) => c.op === op).length);
    expect([...checked.values()].reduce((a, b) => a + b, 0)).toBe(cases.length);
  });
});

function wifi(password: string): RecordBody {
  return {
    type: "wifi",
    title: "Home",
    fields: [
      { name: "ssid", kind: "text", value: "home-net" },
      { name: "password", kind: "secret", value: password },
    ],
    notes: "",
    files: [],
  };
}

describe("versions beyond the vectors", () => {
  const rk = new Uint8Array(32).fill(7);
  const recordId = new Uint8Array(16).fill(1);
  const share = shareAuthor(new Uint8Array(16).fill(9));

  it("round-trips an owner version and a recipient version signed by a fresh device key", async () => {
    const v1 = await sealVersion(rk, firstHeader(recordId, OWNER), wifi("correct horse"));
    const bytes = serializeEnvelope(v1);
    expect(bytes.length).toBe(HEADER_LEN + 4 + 284 + 4 + 284);
    expect(parseEnvelope(bytes)).toEqual(v1);
    expect(await openBody(parseEnvelope(bytes), rk)).toEqual(wifi("correct horse"));
    expect(await openSummary(v1, rk)).toEqual({ type: "wifi", title: "Home", subtitle: "home-net" });
    expect(await kindOf(() => openBody(v1, new Uint8Array(32).fill(8)))).toBe("decrypt");
    checkExpected(v1, expectedFirst(recordId, OWNER));

    const kOwn = new Uint8Array(32).fill(3);
    const tag = await ownerTag(kOwn, v1);
    await verifyOwnerTag(kOwn, v1, tag);
    expect(await kindOf(() => verifyOwnerTag(new Uint8Array(32).fill(4), v1, tag))).toBe("verify");

    const device = await generateDeviceKey();
    const v2 = await sealVersion(rk, await nextHeader(v1, 1n, share), wifi("a new password"));
    expect(toHex(v2.prev)).toBe(toHex(await envelopeHash(v1)));
    checkExpected(v2, await expectedAfter(v1, 1n, share));
    const sig = await signEdit(device, v2);
    expect(sig.length).toBe(64);
    await verifyEdit(device.publicKey, v2, sig);
    await ecdsaVerify(device.publicKey, editMessage(await envelopeHash(v2)), sig);
    const changed: Envelope = { ...v2, body: Uint8Array.from(v2.body) };
    changed.body[40]! ^= 1;
    expect(await kindOf(() => verifyEdit(device.publicKey, changed, sig))).toBe("verify");
    expect(await kindOf(() => verifyOwnerTag(kOwn, changed, tag))).toBe("verify");
    expect(await kindOf(() => openBody(changed, rk))).toBe("decrypt");

    // The header is bound to the boxes: another author, or swapped boxes, do not open.
    expect(await kindOf(() => openBody({ ...v1, author: share }, rk))).toBe("decrypt");
    expect(await kindOf(() => openSummary({ ...v1, author: share }, rk))).toBe("decrypt");
    expect(await kindOf(() => openBody({ ...v1, body: v1.summary, summary: v1.body }, rk))).toBe("decrypt");
  });

  it("refuses to seal a malformed header", async () => {
    const h = firstHeader(recordId, OWNER);
    expect(await kindOf(() => sealVersion(rk, { ...h, k: 0n }, wifi("x")))).toBe("bad_key_generation");
    expect(await kindOf(() => sealVersion(rk, { ...h, v: 2n }, wifi("x")))).toBe("bad_prev");
    expect(await kindOf(() => sealVersion(rk, h, { ...wifi("x"), title: "" }))).toBe("title_length");
  });

  it("parses exactly one byte string per version, largest values included", async () => {
    const v = await sealVersion(rk, { recordId, k: 0xffff_ffff_ffff_ffffn, v: 0xffff_ffff_ffff_ffffn, prev: new Uint8Array(32).fill(5), author: share }, wifi("x"));
    const bytes = serializeEnvelope(v);
    expect(serializeEnvelope(parseEnvelope(bytes))).toEqual(bytes);
    expect(await kindOf(() => parseEnvelope(bytes.subarray(0, 3)))).toBe("truncated");
    expect(await kindOf(() => parseEnvelope(bytes.subarray(0, HEADER_LEN + 2)))).toBe("truncated");
    const truncatedMagic = concat(utf8("SLV2"), new Uint8Array(3));
    expect(await kindOf(() => parseEnvelope(truncatedMagic))).toBe("bad_magic");
    const ownerWithK0 = serializeEnvelope({ ...v, author: OWNER, k: 0n });
    ownerWithK0[HEADER_LEN - 1] = 1;
    expect(await kindOf(() => parseEnvelope(ownerWithK0))).toBe("bad_author");
    expect(await kindOf(() => parseEnvelope(ownerWithK0.subarray(0, HEADER_LEN - 1)))).toBe("truncated");
  });

  it("checks what the server checks, in order", async () => {
    const v1 = await sealVersion(rk, firstHeader(recordId, OWNER), wifi("a"));
    const v2 = await sealVersion(rk, await nextHeader(v1, 1n, share), wifi("b"));
    const good = await expectedAfter(v1, 1n, share);
    expect(await kindOf(() => checkExpected(v2, { ...good, recordId: new Uint8Array(16).fill(2), author: OWNER }))).toBe("wrong_record");
    expect(await kindOf(() => checkExpected(v2, { ...good, author: OWNER, k: 2n }))).toBe("wrong_author");
    expect(await kindOf(() => checkExpected(v2, { ...good, author: shareAuthor(new Uint8Array(16).fill(8)) }))).toBe("wrong_author");
    expect(await kindOf(() => checkExpected(v2, { ...good, k: 2n, v: 3n }))).toBe("wrong_key_generation");
    expect(await kindOf(() => checkExpected(v2, { ...good, v: 3n, prev: new Uint8Array(32) }))).toBe("wrong_version");
    expect(await kindOf(() => checkExpected(v2, { ...good, prev: new Uint8Array(32).fill(1) }))).toBe("wrong_prev");
  });

  it("guards against rollback and forks", async () => {
    const owner = async (prev: Envelope): Promise<Envelope> => sealVersion(rk, await nextHeader(prev, 1n, OWNER), wifi("b"));
    const v1 = await sealVersion(rk, firstHeader(recordId, OWNER), wifi("a"));
    const v2 = await owner(v1);
    const v3 = await owner(v2);
    const h = envelopeHash;
    const g = new VersionGuard();
    expect(g.highest()).toBeUndefined();
    g.accept(v1, await h(v1));
    g.accept(v3, await h(v3));
    expect(g.highest()).toEqual({ v: 3n, hash: await h(v3) });
    expect(await kindOf(async () => g.check(v2, await h(v2)))).toBe("rollback");
    g.accept(v3, await h(v3));
    const otherV3 = await owner(v2);
    expect(await kindOf(async () => g.check(otherV3, await h(otherV3)))).toBe("fork");
    const forkedV4 = await owner(otherV3);
    expect(await kindOf(async () => g.check(forkedV4, await h(forkedV4)))).toBe("fork");
    const v4 = await owner(v3);
    const restored = VersionGuard.resume(3, await h(v3));
    restored.check(v4, await h(v4));
    // A later version need not name the one seen (the client may have missed some); it becomes the highest.
    const v5 = await owner(v4);
    restored.accept(v5, await h(v5));
    expect(restored.highest()?.v).toBe(5n);
  });
});
