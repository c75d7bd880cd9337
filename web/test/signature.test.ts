// signature.json: signed recipient requests, RFC 9421 in the profile of §5.2. A verifier checks, in the
// server's order, both signature headers, the Content-Digest header, then keyid, body coverage, the time
// window and the signature over the rebuilt base, and last the body against the digest. The vector
// signatures are ECDSA (randomised): verified here, not reproduced.
import { describe, expect, it } from "vitest";
import { fromHex, toHex, utf8 } from "../src/protocol/bytes";
import { generateDeviceKey } from "../src/protocol/device";
import {
  signatureBase,
  signatureParams,
  signRequest,
  verifyRequest,
  type ReceivedRequest,
  type SignedHeaders,
} from "../src/protocol/httpsig";
import { expectKind, loadVectors, num, str, type VectorCase } from "./vectors";


const opt = (c: VectorCase, key: string): string | undefined => (typeof c[key] === "string" ? (c[key] as string) : undefined);

function received(c: VectorCase): ReceivedRequest {
  const body = opt(c, "body");
  return {
    method: str(c, "method"),
    targetUri: str(c, "target_uri"),
    shareHeader: str(c, "share_header"),
    contentType: opt(c, "content_type"),
    contentDigest: opt(c, "content_digest"),
    body: body === undefined ? undefined : utf8(body),
    signatureInput: str(c, "signature_input"),
    signature: str(c, "signature"),
    publicKey: fromHex(str(c, "public_key")),
    now: num(c, "now"),
  };
}

const cases = loadVectors("signature");
let positive = 0;
let negative = 0;

describe("signature.json", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const request = received(c);
      if (!c.valid) {
        await expectKind(() => verifyRequest(request), str(c, "error"));
        negative++;
        return;
      }
      const parsed = await verifyRequest(request);
      expect(parsed.created).toBe(num(c, "created"));
      expect(toHex(parsed.nonce)).toBe(str(c, "nonce"));
      expect(parsed.keyid).toBe(str(c, "keyid"));
      expect(`sl=${parsed.params}`).toBe(str(c, "signature_input"));
      // A signer builds the same inner list and base from the same inputs.
      const params = signatureParams({ hasBody: request.body !== undefined, created: parsed.created, nonce: parsed.nonce, keyid: parsed.keyid });
      expect(`sl=${params}`).toBe(str(c, "signature_input"));
      expect(signatureBase(request, params)).toBe(str(c, "signature_base"));
      positive++;
    });
  }

  it("checked every case", () => {
    expect(positive).toBe(cases.filter((c) => c.valid).length);
    expect(negative).toBe(cases.filter((c) => !c.valid).length);
    expect([positive, negative]).toEqual([5, 29]);
  });
});

describe("signRequest → verifyRequest", () => {
  const share = "ICEiIyQlJicoKSorLC0uLw";
  const created = 1_767_225_600;

  function asReceived(headers: SignedHeaders, method: string, targetUri: string, publicKey: Uint8Array, body?: Uint8Array): ReceivedRequest {
    return {
      method,
      targetUri,
      shareHeader: headers["Sharelock-Share"],
      contentDigest: headers["Content-Digest"],
      contentType: headers["Content-Type"],
      body,
      signatureInput: headers["Signature-Input"],
      signature: headers.Signature,
      publicKey,
      now: created + 5,
    };
  }

  it("accepts its own signed request with a body and refuses a changed body", async () => {
    const device = await generateDeviceKey();
    const uri = "https://share.example/api/v1/recipient/edit";
    const body = utf8('{"base_version":1,"envelope":"U0xWMQ","signature":"AAAA"}');
    const headers = await signRequest(device, { method: "POST", targetUri: uri, shareHeader: share, body, contentType: "application/json", created });
    expect(Object.keys(headers).sort()).toEqual(["Content-Digest", "Content-Type", "Sharelock-Share", "Signature", "Signature-Input"]);
    expect(headers["Content-Digest"]).toMatch(/^sha-256=:[A-Za-z0-9+/]{43}=:$/);
    expect(headers["Signature-Input"]).toMatch(/^sl=\("@method" "@target-uri" "sharelock-share" "content-digest" "content-type"\);created=1767225600;nonce="[A-Za-z0-9_-]{22}";keyid="[A-Za-z0-9_-]{43}";alg="ecdsa-p256-sha256";tag="sharelock\/v1"$/);

    const parsed = await verifyRequest(asReceived(headers, "POST", uri, device.publicKey, body));
    expect(parsed.hasBody).toBe(true);
    expect(parsed.created).toBe(created);

    const changed = utf8('{"base_version":2,"envelope":"U0xWMQ","signature":"AAAA"}');
    await expectKind(() => verifyRequest(asReceived(headers, "POST", uri, device.publicKey, changed)), "verify");
    await expectKind(() => verifyRequest(asReceived(headers, "POST", uri.replace("edit", "end"), device.publicKey, body)), "verify");
    await expectKind(() => verifyRequest({ ...asReceived(headers, "POST", uri, device.publicKey, body), now: created + 61 }), "stale");
    const other = await generateDeviceKey();
    await expectKind(() => verifyRequest(asReceived(headers, "POST", uri, other.publicKey, body)), "verify");
  });

  it("signs a request without a body over three components and a fresh nonce each time", async () => {
    const device = await generateDeviceKey();
    const uri = "https://share.example/api/v1/recipient/share";
    const a = await signRequest(device, { method: "GET", targetUri: uri, shareHeader: share, created });
    const b = await signRequest(device, { method: "GET", targetUri: uri, shareHeader: share, created });
    expect(Object.keys(a).sort()).toEqual(["Sharelock-Share", "Signature", "Signature-Input"]);
    expect(a["Signature-Input"]).not.toBe(b["Signature-Input"]);
    const parsed = await verifyRequest(asReceived(a, "GET", uri, device.publicKey));
    expect(parsed.hasBody).toBe(false);
    await expectKind(() => verifyRequest(asReceived(a, "POST", uri, device.publicKey)), "verify");
  });

  it("refuses to sign what cannot be put on a signature base", async () => {
    const device = await generateDeviceKey();
    const uri = "https://share.example/api/v1/recipient/share";
    await expectKind(() => signRequest(device, { method: "get", targetUri: uri, shareHeader: share }), "malformed");
    await expectKind(() => signRequest(device, { method: "GET", targetUri: `${uri}\nsharelock-share: x`, shareHeader: share }), "malformed");
    await expectKind(() => signRequest(device, { method: "GET", targetUri: uri, shareHeader: "" }), "malformed");
    await expectKind(() => signRequest(device, { method: "POST", targetUri: uri, shareHeader: share, body: new Uint8Array(1) }), "malformed");
    await expectKind(() => signRequest(device, { method: "GET", targetUri: uri, shareHeader: share, created: -1 }), "malformed");
  });
});
