// The Webhooks screen at a phone's width and a desktop's: adding an endpoint for chosen events (the
// signing secret shown once), a test delivery that a receiver on loopback gets signed with that secret,
// a real event (a share opened through the CLI) delivered too, the deliveries listed with their outcomes
// (a first failure, then the retry), a refused address explained, removing the endpoint. Nothing spills
// out, the audit finds nothing serious, nothing on the console.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, Sender, Server } from "./harness";
import { accessibilityProblems, layoutProblems, newPage, screenshot, VIEWPORTS, type ViewportName } from "./pages";

let server: Server;
let browser: Browser;
let receiver: HttpServer;
let receiverUrl: string;
const received: { headers: IncomingHttpHeaders; body: Buffer; path: string }[] = [];
/** The receiver answers 500 to the first request to a path ending in `/flaky`, then 200. */
const flakySeen = new Set<string>();

const PASSWORD = "correct horse battery staple";

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "";
      received.push({ headers: req.headers, body: Buffer.concat(chunks), path });
      const fail = path.endsWith("/flaky") && !flakySeen.has(path);
      if (fail) flakySeen.add(path);
      res.writeHead(fail ? 500 : 204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  server = await Server.start({
    SHARELOCK_WEBHOOK_ALLOW_LOOPBACK: "true",
    SHARELOCK_WEBHOOK_RETRY_BASE: "1s",
    SHARELOCK_WEBHOOK_POLL_INTERVAL: "300ms",
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await new Promise((r) => receiver?.close(r));
});

/** The receiver's check, as docs/protocol.md §9.9 says: HMAC-SHA256 over timestamp "." body, in constant time, recent. */
function verifies(secret: string, headers: IncomingHttpHeaders, body: Buffer): boolean {
  const ts = String(headers["sharelock-webhook-timestamp"]);
  if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const mac = createHmac("sha256", secret).update(`${ts}.`).update(body).digest();
  return String(headers["sharelock-webhook-signature"])
    .split(" ")
    .filter((s) => s.startsWith("v1="))
    .some((s) => {
      const given = Buffer.from(s.slice(3), "hex");
      return given.length === mac.length && timingSafeEqual(given, mac);
    });
}

describe.each(Object.keys(VIEWPORTS) as ViewportName[])("the Webhooks screen at %s width", (viewport) => {
  it("adds an endpoint, shows its secret once, delivers a signed test and a real event with their outcomes, and removes it", async () => {
    const email = `hooks-${viewport}@example.org`;
    const sender = new Sender(server, PASSWORD);
    await sender.register(email);
    const record = (await sender.json<{ id: string }>(["record", "add", "--type", "login", "--title", "Mail", "--field", "password=hunter2"])).id;

    const context = await browser.newContext({ viewport: VIEWPORTS[viewport] });
    const { page, problems } = await newPage(context);
    await page.goto(`${server.url}/#/webhooks`);
    await page.getByTestId("email").fill(email);
    await page.getByTestId("password").fill(PASSWORD);
    await page.getByTestId("auth-submit").click();
    await page.getByTestId("webhook-form").waitFor({ timeout: 60_000 });
    expect(new URL(page.url()).hash).toBe("#/webhooks");
    await page.getByTestId("webhooks-empty").waitFor();

    // An internal address is refused, with the reason.
    await page.getByTestId("webhook-url").fill("https://169.254.169.254/latest");
    await page.getByTestId("webhook-add").click();
    await expect.poll(() => page.getByTestId("webhook-error").textContent()).toContain("https://");

    // A receiver on loopback (the operator allowed it here), for openings and tests only.
    const path = `/${viewport}/flaky`;
    await page.getByTestId("webhook-url").fill(`${receiverUrl}${path}`);
    for (const kind of ["record_edited", "file_added", "access_failures", "device_refused", "share_ended"]) await page.getByTestId(`webhook-kind-${kind}`).uncheck();
    await page.getByTestId("webhook-add").click();
    const secret = (await page.getByTestId("webhook-secret").textContent({ timeout: 30_000 })) ?? "";
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(await layoutProblems(page)).toEqual([]);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, "webhooks", `${viewport}-secret`);
    await page.getByTestId("webhook-secret-done").click();
    const card = page.getByTestId("webhook");
    await card.waitFor();
    expect(await page.getByTestId("webhook-secret").count()).toBe(0);
    expect(await card.textContent()).toContain(`${receiverUrl}${path}`);

    // The test: the first attempt fails (500), the retry a second later is delivered.
    await card.getByTestId("webhook-ping").click();
    await page.getByTestId("notice-ok").first().waitFor();
    const mine = () => received.filter((r) => r.path === path);
    await expect.poll(() => mine().length, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    for (const r of mine()) expect(verifies(secret, r.headers, r.body)).toBe(true);
    expect(verifies("whsec_someone-else", mine()[0]!.headers, mine()[0]!.body)).toBe(false);
    expect(JSON.parse(mine()[0]!.body.toString()).kind).toBe("ping");

    // A real event: the share is opened on another device.
    const share = await sender.json<{ link: string; share: string }>(["share", "create", record, "--expires", "1d"]);
    await new Sender(server).json(["open", share.link]);
    await expect.poll(() => mine().some((r) => JSON.parse(r.body.toString()).kind === "share_opened"), { timeout: 30_000 }).toBe(true);
    const opened = mine().find((r) => JSON.parse(r.body.toString()).kind === "share_opened")!;
    expect(verifies(secret, opened.headers, opened.body)).toBe(true);
    const payload = JSON.parse(opened.body.toString()) as Record<string, unknown>;
    expect(payload.share).toBe(share.share);
    expect(payload.record).toBe(record);
    expect(opened.body.toString()).not.toContain("hunter2");
    expect(opened.body.toString()).not.toContain("Mail");

    // The deliveries, newest first, with their outcomes.
    await card.getByTestId("webhook-show-deliveries").click();
    await expect
      .poll(async () => {
        await card.getByTestId("webhook-show-deliveries").click();
        return page.locator('[data-testid="webhook-delivery"][data-state="delivered"]').count();
      }, { timeout: 30_000 })
      .toBe(2);
    const rows = page.getByTestId("webhook-delivery");
    expect(await rows.count()).toBe(2);
    expect(await rows.nth(0).textContent()).toContain("A share was opened");
    expect(await rows.nth(1).textContent()).toContain("Test");
    expect(await rows.nth(1).textContent()).toContain("HTTP 204");
    expect(await layoutProblems(page)).toEqual([]);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, "webhooks", `${viewport}-deliveries`);

    // Removed after a confirmation naming the address (newPage accepts every dialog): the list is empty again.
    const confirmation = new Promise<string>((resolve) => page.once("dialog", (dialog) => resolve(dialog.message())));
    await card.getByTestId("webhook-remove").click();
    expect(await confirmation).toContain(`${receiverUrl}${path}`);
    await page.getByTestId("webhooks-empty").waitFor({ timeout: 30_000 });

    // The refused address answered 400 to this page on purpose.
    expect(problems.filter((p) => !p.includes("400"))).toEqual([]);
    await context.close();
  });
});
