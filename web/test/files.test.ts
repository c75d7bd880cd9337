import { describe, expect, it } from "vitest";
import { BUSY_RETRIES, sendPatiently } from "../src/client/files";
import { ApiError } from "../src/client/http";

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
