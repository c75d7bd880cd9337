// share.json: values derived from a link secret S (§4.1, §4.3): share id, passphrase salt, A, S′, SK, T,
// H(T), BK; bind tags; the owner's sealed S ‖ S′ and the share label.
import { argon2id } from "hash-wasm";
import { describe, expect, it } from "vitest";
import { aad, shareGrantAad } from "../src/protocol/aad";
import { concat, toHex, utf8, uuidToBytes } from "../src/protocol/bytes";
import { hkdf, seal, sha256 } from "../src/protocol/crypto";
import {
  bindTag,
  deriveShareKeys,
  openLabel,
  openLegacyOwnerSecret,
  openOwnerSecret,
  openOwnerSecretOf,
  passphraseSalt,
  sealLabel,
  sealOwnerSecret,
  shareIdOf,
  verifyBindTag,
} from "../src/protocol/share";
import { checkNewPassphrase, GENERATED_WORDS, generatePassphrase, generatePassword, generateSecret, PASSWORD_LETTERS_DIGITS, PASSWORD_SYMBOLS, WORDLIST_LEN, WORDLIST_TEXT, words } from "../src/protocol/passphrase";
import { expectKind, hex, loadVectors, str, type VectorCase } from "./vectors";



async function checkDerive(c: VectorCase): Promise<void> {
  expect(c.valid).toBe(true);
  const s = hex(c, "s");
  const passphrase = c.passphrase === null ? undefined : str(c, "passphrase");
  const keys = await deriveShareKeys(s, passphrase);
  expect(toHex(keys.secret)).toBe(str(c, "s"));
  expect(toHex(keys.shareId)).toBe(str(c, "share_id"));
  expect(toHex(await shareIdOf(s))).toBe(str(c, "share_id"));
  expect(toHex(await passphraseSalt(s))).toBe(str(c, "pass_salt"));
  expect(toHex(keys.root)).toBe(str(c, "root"));
  expect(toHex(keys.shareKey)).toBe(str(c, "sk"));
  expect(toHex(keys.accessToken)).toBe(str(c, "access"));
  expect(toHex(keys.accessHash)).toBe(str(c, "access_hash"));
  expect(toHex(keys.bindKey)).toBe(str(c, "bk"));
  expect(keys.hasPassphrase).toBe(passphrase !== undefined);

  // The same values, spelled out with HKDF from the case's own S, A and S′.
  expect(toHex((await hkdf(s, "sharelock/v1/share-id")).slice(0, 16))).toBe(str(c, "share_id"));
  expect(toHex((await hkdf(s, "sharelock/v1/pass-salt")).slice(0, 16))).toBe(str(c, "pass_salt"));
  const root = hex(c, "root");
  if (passphrase === undefined) {
    expect(toHex(root)).toBe(toHex(s));
    expect(c.argon2).toBeUndefined();
  } else {
    // A straight from hash-wasm with the link-v1 parameters, independent of share.ts.
    const a = await argon2id({
      password: utf8(passphrase.normalize("NFC")),
      salt: hex(c, "pass_salt"),
      iterations: 3,
      parallelism: 4,
      memorySize: 65_536,
      hashLength: 32,
      outputType: "binary",
    });
    expect(toHex(a)).toBe(str(c, "argon2"));
    expect(toHex(await hkdf(hex(c, "argon2"), "sharelock/v1/share-root", s))).toBe(str(c, "root"));
  }
  expect(toHex(await hkdf(root, "sharelock/v1/share-key"))).toBe(str(c, "sk"));
  expect(toHex(await hkdf(root, "sharelock/v1/share-access"))).toBe(str(c, "access"));
  expect(toHex(await hkdf(root, "sharelock/v1/bind"))).toBe(str(c, "bk"));
  expect(toHex(await sha256(hex(c, "access")))).toBe(str(c, "access_hash"));
  if (typeof c.other_access === "string") {
    // A wrong passphrase must give another T.
    expect(str(c, "access")).not.toBe(c.other_access);
  }
}

const cases = loadVectors("share");
const checked = new Map<string, number>();
const count = (op: string): void => void checked.set(op, (checked.get(op) ?? 0) + 1);

describe("share.json", () => {
  for (const c of cases) {
    it(`${c.op}: ${c.name}`, async () => {
      switch (c.op) {
        case "derive":
          await checkDerive(c);
          break;
        case "bind_tag": {
          const verify = () => verifyBindTag(hex(c, "bk"), hex(c, "share_id"), hex(c, "device_key"), hex(c, "tag"));
          if (!c.valid) {
            await expectKind(verify, str(c, "error"));
            break;
          }
          await verify();
          expect(toHex(await bindTag(hex(c, "bk"), hex(c, "share_id"), hex(c, "device_key")))).toBe(str(c, "tag"));
          break;
        }
        case "owner_secret":
        case "legacy_owner_secret": {
          const legacy = c.op === "legacy_owner_secret";
          const grant = legacy ? undefined : { recordId: uuidToBytes(str(c, "record_id")), editable: c.editable === true };
          const opened = () =>
            grant === undefined ? openLegacyOwnerSecret(hex(c, "dk"), hex(c, "sealed"), hex(c, "share_id")) : openOwnerSecret(hex(c, "dk"), hex(c, "sealed"), hex(c, "share_id"), grant);
          if (!c.valid) {
            await expectKind(opened, str(c, "error"));
            break;
          }
          const keys = await opened();
          expect(toHex(keys.secret)).toBe(str(c, "s"));
          expect(toHex(keys.root)).toBe(str(c, "root"));
          expect(toHex(keys.shareId)).toBe(str(c, "share_id"));
          expect(keys.hasPassphrase).toBe(c.passphrase);
          if (grant === undefined) {
            expect(toHex(aad("share-secret", hex(c, "share_id")))).toBe(str(c, "aad"));
          } else {
            const spelledAad = aad("share-grant", hex(c, "share_id"), grant.recordId, new Uint8Array([grant.editable ? 1 : 0]));
            expect(toHex(spelledAad)).toBe(str(c, "aad"));
            expect(toHex(await sealOwnerSecret(hex(c, "dk"), keys, grant, hex(c, "nonce")))).toBe(str(c, "sealed"));
          }
          const spelled = await seal(hex(c, "dk"), concat(hex(c, "s"), hex(c, "root")), hex(c, "aad"), hex(c, "nonce"));
          expect(toHex(spelled)).toBe(str(c, "sealed"));
          break;
        }
        case "owner_secret_of": {
          const opened = () => openOwnerSecretOf(hex(c, "dk"), hex(c, "sealed"), hex(c, "share_id"), uuidToBytes(str(c, "record_id")), c.claimed_editable === true);
          if (!c.valid) {
            await expectKind(opened, str(c, "error"));
            break;
          }
          const { facts } = await opened();
          expect(facts.kind === "legacy" ? "legacy" : facts.grant.editable ? "editable" : "read_only").toBe(str(c, "facts"));
          break;
        }
        case "label": {
          const opened = () => openLabel(hex(c, "dk"), hex(c, "share_id"), hex(c, "sealed"));
          if (!c.valid) {
            await expectKind(opened, str(c, "error"));
            break;
          }
          expect(await opened()).toBe(str(c, "label"));
          expect(toHex(aad("share-label", hex(c, "share_id")))).toBe(str(c, "aad"));
          expect(toHex(await sealLabel(hex(c, "dk"), hex(c, "share_id"), str(c, "label"), hex(c, "nonce")))).toBe(str(c, "sealed"));
          break;
        }
        case "new_passphrase":
          if (c.valid) checkNewPassphrase(str(c, "passphrase"));
          else await expectKind(() => checkNewPassphrase(str(c, "passphrase")), str(c, "error"));
          break;
        case "seal_label":
          expect(c.valid).toBe(false);
          await expectKind(() => sealLabel(hex(c, "dk"), hex(c, "share_id"), str(c, "label")), str(c, "error"));
          break;
        default:
          throw new Error(`unknown op ${String(c.op)}`);
      }
      count(String(c.op));
    });
  }

  it("checked every case of every op", () => {
    const inFile = (op: string): number => cases.filter((c) => c.op === op).length;
    expect(Object.fromEntries(checked)).toEqual({ derive: 3, bind_tag: 4, owner_secret: 7, legacy_owner_secret: 1, owner_secret_of: 5, new_passphrase: 3, label: 2, seal_label: 1 });
    for (const [op, n] of checked) expect(n).toBe(inFile(op));
    expect(cases.length).toBe(26);
  });
});

describe("shares beyond the vectors", () => {
  const s = Uint8Array.from({ length: 32 }, (_, i) => 0x42 + i);
  const dk = new Uint8Array(32).fill(9);

  it("refuses an empty passphrase", async () => {
    await expectKind(() => deriveShareKeys(s, ""), "malformed");
  });

  it("refuses an owner secret whose S does not derive the share id, though it opens", async () => {
    const other = new Uint8Array(16).fill(1);
    const grant = { recordId: new Uint8Array(16).fill(5), editable: true };
    const forged = await seal(dk, new Uint8Array(64), shareGrantAad(other, grant.recordId, true));
    await expectKind(() => openOwnerSecret(dk, forged, other, grant), "malformed");
    const legacyForged = await seal(dk, new Uint8Array(64), aad("share-secret", other));
    await expectKind(() => openLegacyOwnerSecret(dk, legacyForged, other), "malformed");
    const keys = await deriveShareKeys(s);
    const sealed = await sealOwnerSecret(dk, keys, grant);
    expect(sealed.length).toBe(92);
    await expectKind(() => openOwnerSecret(dk, sealed, other, grant), "decrypt");
    await expectKind(() => openOwnerSecret(dk, sealed, keys.shareId, { ...grant, editable: false }), "decrypt");
    await expectKind(() => openLegacyOwnerSecret(dk, sealed, keys.shareId), "decrypt");
    expect((await openOwnerSecret(dk, sealed, keys.shareId, grant)).hasPassphrase).toBe(false);
  });

  it("accepts a 256-byte label and refuses 257", async () => {
    const id = new Uint8Array(16).fill(1);
    expect(await openLabel(dk, id, await sealLabel(dk, id, "x".repeat(256)))).toBe("x".repeat(256));
    await expectKind(() => sealLabel(dk, id, "x".repeat(257)), "too_large");
  });
});

describe("generated passphrases", () => {
  it("come from the EFF's Long Wordlist, unchanged", async () => {
    expect(toHex(await sha256(utf8(WORDLIST_TEXT)))).toBe("addd35536511597a02fa0a9ff1e5284677b8883b83e986e43f15a3db996b903e");
    const list = words();
    expect(list.length).toBe(WORDLIST_LEN);
    expect(new Set(list).size).toBe(WORDLIST_LEN);
    expect([list[0], list.at(-1)]).toEqual(["abacus", "zoom"]);
  });

  it("are six listed words, long enough, and never repeat", () => {
    const list = new Set(words());
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const p = generatePassphrase();
      const parts = p.split(" ");
      expect(parts.length).toBe(GENERATED_WORDS);
      for (const w of parts) expect(list.has(w)).toBe(true);
      checkNewPassphrase(p);
      seen.add(p);
    }
    expect(seen.size).toBe(50);
  });
});

describe("generated passwords", () => {
  it("have the length asked, only characters of the alphabet, and one of each class in it", () => {
    const alphabet = PASSWORD_LETTERS_DIGITS + PASSWORD_SYMBOLS;
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = generatePassword(20, alphabet);
      expect([...p].length).toBe(20);
      for (const ch of p) expect(alphabet.includes(ch)).toBe(true);
      for (const cls of [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/]) expect(p).toMatch(cls);
      seen.add(p);
    }
    expect(seen.size).toBe(200);
    expect(generatePassword(8, "01")).toMatch(/^[01]{8}$/);
    expect(generateSecret("letters20")).toMatch(/^[A-Za-z0-9]{20}$/);
    expect([...generateSecret("symbols32")].length).toBe(32);
    expect(generateSecret("words").split(" ")).toHaveLength(GENERATED_WORDS);
  });

  it("draw every character of the alphabet about as often (no modulo bias)", () => {
    // 62 characters: 256 % 62 = 8 draws are rejected; taking them would make the first 8 characters likelier.
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i++) for (const ch of generatePassword(100, PASSWORD_LETTERS_DIGITS)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    const mean = (chars: string[]): number => chars.reduce((sum, ch) => sum + (counts.get(ch) ?? 0), 0) / chars.length;
    const all = [...PASSWORD_LETTERS_DIGITS];
    // With modulo bias the first 8 would come 5/4 as often as the rest; drawn evenly, within a few percent.
    expect(mean(all.slice(0, 8)) / mean(all.slice(8))).toBeLessThan(1.1);
    expect(mean(all.slice(0, 8)) / mean(all.slice(8))).toBeGreaterThan(0.9);
  });

  it("refuses an alphabet or a length that makes no sense", () => {
    expect(() => generatePassword(3, PASSWORD_LETTERS_DIGITS)).toThrow();
    expect(() => generatePassword(20, "a")).toThrow();
    expect(() => generatePassword(20, "aab")).toThrow();
  });
});
