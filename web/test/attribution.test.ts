// attribution.json: the owner's client's attribution of a version (§7.5), every case, as
// crates/sharelock-core/tests/vectors/attribution.rs checks it.
import { describe, expect, it } from "vitest";
import { attribute, Unattributed, type ListedShare, type ServerAuthor } from "../src/protocol/attribution";
import { fromHex, uuidToBytes } from "../src/protocol/bytes";
import { parseEnvelope } from "../src/protocol/envelope";
import { hex, loadVectors, str } from "./vectors";

interface ListedJson {
  share_id: string;
  owner_secret: string;
  device_key: string | null;
  bind_tag: string | null;
}

const cases = loadVectors("attribution");
let checked = 0;

function serverAuthor(value: unknown): ServerAuthor {
  if (value === "owner") return { kind: "owner" };
  const listed = (value as { share: ListedJson | null }).share;
  const share: ListedShare | null =
    listed === null
      ? null
      : {
          shareId: fromHex(listed.share_id),
          ownerSecret: fromHex(listed.owner_secret),
          deviceKey: listed.device_key === null ? null : fromHex(listed.device_key),
          bindTag: listed.bind_tag === null ? null : fromHex(listed.bind_tag),
        };
  return { kind: "share", share };
}

describe("attribution.json", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const endedAfter = c.ended_after === null ? undefined : BigInt(c.ended_after as number);
      const run = () => attribute(hex(c, "dk"), uuidToBytes(str(c, "record_id")), parseEnvelope(hex(c, "envelope")), hex(c, "proof"), serverAuthor(c.server_author), endedAfter);
      if (c.valid) {
        const got = await run();
        expect(got.kind === "owner" ? "owner" : { recipient: got.fingerprint }).toEqual(c.attribution);
      } else {
        let error: unknown;
        try {
          await run();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(Unattributed);
        expect((error as Unattributed).kind).toBe(c.error);
      }
      checked++;
    });
  }

  it("checked every case", () => {
    expect(cases.length).toBe(16);
    expect(checked).toBe(cases.length);
  });
});
