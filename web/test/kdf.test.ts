// kdf.json: account key derivation (§2): email normalisation, Argon2id MK, AK, WK, H(AK); refused parameters.
import { checkNewMasterPassword } from "../src/protocol/passphrase";
import { describe, expect, it } from "vitest";
import { concat, fromHex, toHex, utf8 } from "../src/protocol/bytes";
import { hkdf, sha256 } from "../src/protocol/crypto";
import { accountKeys, checkKdfParams, DEFAULT_KDF, kdfSalt, masterKey, normalizeEmail, normalizeSecret, type KdfParams } from "../src/protocol/kdf";
import { expectKind, loadVectors, str, type VectorCase } from "./vectors";


function paramsOf(c: VectorCase): KdfParams {
  const p = c.params as KdfParams;
  expect(p.alg).toBe("argon2id");
  return { alg: p.alg, m: p.m, t: p.t, p: p.p };
}

const cases = loadVectors("kdf");
const checked = new Map<string, number>();
const count = (op: string): void => void checked.set(op, (checked.get(op) ?? 0) + 1);

describe("kdf.json", () => {
  for (const c of cases) {
    it(`${c.op}: ${c.name}`, async () => {
      if (c.op === "new_password") {
        if (c.valid) checkNewMasterPassword(str(c, "password"));
        else await expectKind(() => checkNewMasterPassword(str(c, "password")), str(c, "error"));
        count("new_password");
        return;
      }
      const params = paramsOf(c);
      switch (c.op) {
        case "check_params":
          if (c.valid) checkKdfParams(params);
          else await expectKind(() => checkKdfParams(params), str(c, "error"));
          break;
        case "derive": {
          expect(c.valid).toBe(true);
          const email = str(c, "email");
          const password = str(c, "password");
          const r16 = fromHex(str(c, "r16"));
          expect(normalizeEmail(email)).toBe(str(c, "email_normalized"));
          expect(toHex(utf8(normalizeSecret(password)))).toBe(str(c, "password_nfc"));
          // The salt, spelled out from the normalised email, and through kdfSalt from the raw one.
          const spelled = await sha256(concat(utf8("sharelock/v1/kdf-salt"), utf8(str(c, "email_normalized")), r16));
          expect(toHex(spelled)).toBe(str(c, "salt"));
          const salt = await kdfSalt(email, r16);
          expect(toHex(salt)).toBe(str(c, "salt"));

          const mk = await masterKey(password, salt, params);
          expect(toHex(mk)).toBe(str(c, "mk"));
          const keys = await accountKeys(mk);
          expect(toHex(keys.authKey)).toBe(str(c, "ak"));
          expect(toHex(keys.wrapKey)).toBe(str(c, "wk"));
          expect(toHex(keys.authHash)).toBe(str(c, "auth_hash"));
          // Sub-keys spelled out with HKDF (empty salt) from the case's own MK.
          const mkBytes = fromHex(str(c, "mk"));
          expect(toHex(await hkdf(mkBytes, "sharelock/v1/auth"))).toBe(str(c, "ak"));
          expect(toHex(await hkdf(mkBytes, "sharelock/v1/wrap"))).toBe(str(c, "wk"));
          expect(toHex(await sha256(fromHex(str(c, "ak"))))).toBe(str(c, "auth_hash"));
          break;
        }
        default:
          throw new Error(`unknown op ${String(c.op)}`);
      }
      count(String(c.op));
    });
  }

  it("checked every case of every op", () => {
    expect(Object.fromEntries(checked)).toEqual({ derive: 2, check_params: 8, new_password: 4 });
    expect(cases.filter((c) => c.op === "derive").length).toBe(2);
    expect(cases.filter((c) => c.op === "check_params").length).toBe(8);
    expect(cases.length).toBe(14);
  });
});

describe("KDF parameter checks beyond the vectors", () => {
  it("refuses a master key derivation with refused parameters before any Argon2id run", async () => {
    await expectKind(() => masterKey("pw", new Uint8Array(32), { ...DEFAULT_KDF, t: 2 }), "kdf_params");
    await expectKind(() => checkKdfParams({ ...DEFAULT_KDF, alg: "argon2i" }), "kdf_params");
    await expectKind(() => checkKdfParams({ ...DEFAULT_KDF, m: 65_536.5 }), "kdf_params");
  });

  it("lowercases ASCII only and never trims", () => {
    expect(normalizeEmail("Ada.E\u0301@Example.ORG")).toBe("ada.\u00c9@example.org");
    expect(normalizeEmail(" x@y ")).toBe(" x@y ");
    expect(normalizeSecret("pa\u0301ss ")).toBe("p\u00e1ss ");
  });
});
