import { describe, expect, it } from "vitest";
import { BUSY_RETRIES, decryptedStream, sendPatiently, uploadFile } from "../src/client/files";
import { ApiError } from "../src/client/http";
import { concat, toB64u, type Bytes } from "../src/protocol/bytes";
import type { FileRef } from "../src/protocol/record";

const busy = (retryAfter: number): ApiError => new ApiError(503, "server_busy", "busy", retryAfter);

describe("part uploads to a busy server", () => {
  it("are offered again after Retry-After until the server takes them", async () => {
    let offers = 0;
    const waits: number[] = [];
    const result = await sendPatiently(
      async () => {
        offers++;
        if (offers <= 2) throw busy(3);
        return "taken";
      },
      async (ms) => {
        waits.push(ms);
      },
    );
    expect(result).toBe("taken");
    expect(offers).toBe(3);
    expect(waits).toEqual([3000, 3000]);
  });

  it("give up after a few offers, and never retry other errors", async () => {
    let offers = 0;
    await expect(
      sendPatiently(
        async () => {
          offers++;
          throw busy(1);
        },
        async () => {},
      ),
    ).rejects.toMatchObject({ code: "server_busy" });
    expect(offers).toBe(BUSY_RETRIES + 1);

    offers = 0;
    await expect(
      sendPatiently(
        async () => {
          offers++;
          throw new ApiError(403, "share_not_editable", "read-only");
        },
        async () => {},
      ),
    ).rejects.toMatchObject({ code: "share_not_editable" });
    expect(offers).toBe(1);
  });
});

/** Uploads `content` into memory; returns its reference and blob. */
async function stored(content: Uint8Array<ArrayBuffer>): Promise<{ ref: FileRef; blob: Bytes }> {
  const parts: Bytes[] = [];
  const ref = await uploadFile(new File([content], "big.bin"), {
    putPart: async (_id, part, bytes) => {
      parts[part] = bytes;
    },
    complete: async () => {},
  });
  return { ref, blob: concat(...parts) };
}

/** Reads a stream to its end, 64 KiB pieces of the blob at a time as a network would deliver them. */
async function readAll(ref: FileRef, blob: Bytes): Promise<Uint8Array> {
  let at = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= blob.length) return controller.close();
      controller.enqueue(blob.slice(at, at + 65_536));
      at += 65_536;
    },
  });
  const response = new Response(body, { headers: { "content-length": String(blob.length) } });
  return new Uint8Array(await new Response(decryptedStream(response, ref)).arrayBuffer());
}

describe("a download's plaintext stream", () => {
  const content = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7 + 3) & 255);

  it("gives the file back and closes when hash and size match", async () => {
    const { ref, blob } = await stored(content);
    expect(await readAll(ref, blob)).toEqual(content);
  });

  it("errors instead of closing when the blob's hash differs from the reference", async () => {
    const { ref, blob } = await stored(content);
    const other = { ...ref, sha256: toB64u(new Uint8Array(32)) };
    await expect(readAll(other, blob)).rejects.toThrow(/does not match the record/);
  });

  it("errors when the file is longer or shorter than the reference says", async () => {
    const { ref, blob } = await stored(content);
    await expect(readAll({ ...ref, size: ref.size - 1 }, blob)).rejects.toThrow(/longer/);
    await expect(readAll({ ...ref, size: ref.size + 1 }, blob)).rejects.toThrow(/another size/);
  });
});
