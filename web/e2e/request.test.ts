// Asking for a secret (docs/protocol.md §4.5) end to end: the sender makes a request with the real CLI and
// watches its live events; the respondent answers it on a phone-sized screen (390×844) in Chromium; the
// sender sees the answer arrive, verified as written by that phone's device key, and the link is spent.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binary, launchChromium, Sender, Server } from "./harness";
import { accessibilityProblems, layoutProblems, newPage, screenshot, VIEWPORTS } from "./pages";

let server: Server;
let browser: Browser;
let sender: Sender;

interface RequestCreated {
  link: string;
  share: string;
  record_id: string;
  max_answers: number;
}

interface Listed {
  requests: { share: string; state: string; end_reason: string | null; answers: number; max_answers: number; instructions: string; device_fingerprint: string | null; device_verified: boolean | null }[];
}

interface Shown {
  version: number;
  record: { title: string; notes: string; fields: { name: string; value: string }[]; files: { name: string; size: number }[] };
}

interface History {
  versions: { version: number; author: "owner" | { share: string }; verified: boolean; verification: { share?: string; device_fingerprint?: string } | string }[];
}

/** `sharelock share watch --json` as the sender: every event line it prints, as it prints it. */
function watch(): { events: { kind: string; share: string | null; record: string | null }[]; stop: () => void } {
  const child = spawn(binary(), ["--json", "share", "watch"], {
    env: { PATH: process.env.PATH ?? "", SHARELOCK_HOME: sender.home, SHARELOCK_SERVER: server.url, SHARELOCK_PASSWORD: sender.password },
    stdio: ["ignore", "pipe", "ignore"],
  });
  const events: { kind: string; share: string | null; record: string | null }[] = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    if (line.trim().startsWith("{")) events.push(JSON.parse(line) as { kind: string; share: string | null; record: string | null });
  });
  return { events, stop: () => void child.kill("SIGTERM") };
}

beforeAll(async () => {
  server = await Server.start();
  browser = await launchChromium();
  sender = new Sender(server);
  await sender.register("ada@example.org");
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("a request answered on a phone", () => {
  it("shows the instructions, takes one answer signed by the phone, and ends", async () => {
    const live = watch();
    const request = await sender.json<RequestCreated>([
      "request", "create", "--type", "wifi", "--fields", "ssid,password", "--title", "Office Wi-Fi",
      "--instructions", "The Wi-Fi of the Lyon office, please.\nAnd <b>the</b> guest network's too.", "--deadline", "1h",
    ]);
    expect(request.link).toMatch(/\/s#1\./);
    expect(request.max_answers).toBe(1);

    const phone = await browser.newContext({ viewport: VIEWPORTS.phone, isMobile: true, hasTouch: true });
    const { page, problems } = await newPage(phone);
    await page.goto(request.link);
    await page.getByTestId("open").waitFor();
    // The instructions are shown as text before Click to Open.
    expect(await page.getByTestId("instructions").textContent()).toBe("The Wi-Fi of the Lyon office, please.\nAnd <b>the</b> guest network's too.");
    expect(await page.locator("[data-testid=instructions] b").count()).toBe(0);
    expect(await layoutProblems(page)).toEqual([]);
    await page.getByTestId("open").click();

    // The fill-in form: the asked fields, blank, and nothing of a record view.
    await page.getByTestId("answer-form").waitFor();
    expect(await page.getByTestId("answer-ssid").inputValue()).toBe("");
    expect(await page.getByTestId("answer-password").getAttribute("type")).toBe("password");
    expect(await page.getByTestId("edit").count()).toBe(0);
    expect(await layoutProblems(page)).toEqual([]);
    expect(await accessibilityProblems(page)).toEqual([]);
    await screenshot(page, "request", "phone-form");
    const fingerprint = await page.getByTestId("fingerprint").textContent();
    expect(fingerprint).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/);

    await page.getByTestId("answer-ssid").fill("Lyon-Office");
    await page.getByTestId("answer-password").fill("k33p-it-s4fe!");
    await page.getByTestId("reveal-password").click();
    expect(await page.getByTestId("answer-password").getAttribute("type")).toBe("text");
    await page.getByTestId("answer-notes").fill("Guest: Lyon-Guest / welcome2026");
    await page.getByTestId("answer-files").setInputFiles({ name: "router.txt", mimeType: "text/plain", buffer: Buffer.from("admin panel at 192.168.1.1\n") });
    await page.getByTestId("answer-send").click();
    await page.getByTestId("answer-sent").waitFor();
    expect(await page.getByTestId("answer-again").count()).toBe(0);
    expect(await layoutProblems(page)).toEqual([]);
    await screenshot(page, "request", "phone-sent");

    // The sender heard it live: the answer, then the request's end.
    await expect
      .poll(() => live.events.filter((e) => e.share === request.share).map((e) => e.kind), { timeout: 30_000 })
      .toEqual(expect.arrayContaining(["share_opened", "record_edited", "share_ended"]));
    live.stop();
    const kinds = live.events.filter((e) => e.share === request.share).map((e) => e.kind);
    expect(kinds.indexOf("record_edited")).toBeLessThan(kinds.indexOf("share_ended"));

    // The record holds the answer, verified as written by the phone's device.
    const shown = await sender.json<Shown>(["record", "show", request.record_id]);
    expect(shown.record.title).toBe("Office Wi-Fi");
    expect(Object.fromEntries(shown.record.fields.map((f) => [f.name, f.value]))).toEqual({ ssid: "Lyon-Office", password: "k33p-it-s4fe!" });
    expect(shown.record.notes).toBe("Guest: Lyon-Guest / welcome2026");
    expect(shown.record.files.map((f) => f.name)).toEqual(["router.txt"]);
    // Written by the phone: the newest version a share wrote is the request's, verified as the phone's device
    // (the current version may be the owner's key rotation after the request ended, which changes no content).
    const history = await sender.json<History>(["record", "history", request.record_id]);
    const answered = history.versions.filter((v) => v.author !== "owner").sort((a, b) => b.version - a.version)[0];
    expect(answered?.author).toEqual({ share: request.share });
    expect(answered?.verified).toBe(true);
    expect(answered?.verification).toEqual({ share: request.share, device_fingerprint: fingerprint });

    const listed = await sender.json<Listed>(["request", "list", "--all"]);
    const entry = listed.requests.find((r) => r.share === request.share);
    expect(entry).toMatchObject({ state: "answered", end_reason: "answered", answers: 1, max_answers: 1, device_verified: true });
    expect(entry?.instructions).toContain("Lyon office");

    // The link is spent, in this browser too.
    const again = await phone.newPage();
    await again.goto(request.link);
    await again.getByTestId("problem").waitFor();
    expect(problems.filter((p) => !p.includes("410"))).toEqual([]);
    await phone.close();
  });

  it("is asked from the vault, and the answer appears there live", async () => {
    const email = "vault-ask@example.org";
    const owner = new Sender(server);
    await owner.register(email);
    const desk = await browser.newContext({ viewport: VIEWPORTS.desktop });
    const vault = await newPage(desk);
    await vault.page.goto(`${server.url}/#/shares`);
    await vault.page.getByTestId("email").fill(email);
    await vault.page.getByTestId("password").fill(owner.password);
    await vault.page.getByTestId("auth-submit").click();
    await vault.page.getByTestId("ask-secret").click();
    await vault.page.getByTestId("ask-type").selectOption("wifi");
    await vault.page.getByTestId("ask-title").fill("Home Wi-Fi");
    await vault.page.getByTestId("ask-instructions").fill("For the babysitter's tablet");
    await vault.page.getByTestId("ask-create").click();
    await vault.page.getByTestId("ask-created").waitFor();
    const link = (await vault.page.getByTestId("share-link").textContent()) ?? "";
    expect(link).toMatch(/\/s#1\./);
    // The record is open on the sender's screen, blank, while the request is out.
    await vault.page.getByTestId("ask-open-record").click();
    await expect.poll(() => vault.page.getByTestId("record-title").textContent()).toBe("Home Wi-Fi");
    await expect.poll(() => vault.page.getByTestId("live-status").textContent()).toBe("Live");

    const phone = await browser.newContext({ viewport: VIEWPORTS.phone, isMobile: true, hasTouch: true });
    const answerer = await newPage(phone);
    await answerer.page.goto(link);
    expect(await answerer.page.getByTestId("instructions").textContent()).toBe("For the babysitter's tablet");
    await answerer.page.getByTestId("open").click();
    await answerer.page.getByTestId("answer-form").waitFor();
    await answerer.page.getByTestId("answer-ssid").fill("Maison");
    await answerer.page.getByTestId("answer-password").fill("b4bysitter-ok");
    await answerer.page.getByTestId("answer-send").click();
    await answerer.page.getByTestId("answer-sent").waitFor();

    // The sender's open record shows the answer without a reload.
    await expect.poll(() => vault.page.getByTestId("value-ssid").textContent(), { timeout: 30_000 }).toBe("Maison");
    // The Shares screen lists it as an answered request.
    await vault.page.getByTestId("nav-shares").click();
    await vault.page.getByTestId("shares-filter-ended").click();
    const card = vault.page.locator('[data-testid="share-item"]').first();
    await expect.poll(() => card.textContent()).toContain("answered");
    expect(await card.getByTestId("share-instructions").textContent()).toBe("For the babysitter's tablet");
    expect(await layoutProblems(vault.page)).toEqual([]);
    expect(vault.problems).toEqual([]);
    expect(answerer.problems).toEqual([]);
    await desk.close();
    await phone.close();
  });

  it("refuses a second answer racing the first: the server counts answers", async () => {
    const request = await sender.json<RequestCreated>(["request", "create", "--type", "note", "--title", "Recovery code", "--deadline", "1h"]);
    const phone = await browser.newContext({ viewport: VIEWPORTS.phone, isMobile: true, hasTouch: true });
    const first = await newPage(phone);
    await first.page.goto(request.link);
    await first.page.getByTestId("open").click();
    await first.page.getByTestId("answer-form").waitFor();
    // A second tab of the same browser holds the same device key, with the form as it was.
    const second = await phone.newPage();
    await second.goto(request.link);
    await second.getByTestId("answer-form").waitFor();
    await first.page.getByTestId("answer-notes").fill("first");
    await first.page.getByTestId("answer-send").click();
    await first.page.getByTestId("answer-sent").waitFor();
    await second.getByTestId("answer-notes").fill("second");
    await second.getByTestId("answer-send").click();
    await second.getByTestId("ended").waitFor();
    const shown = await sender.json<Shown>(["record", "show", request.record_id]);
    expect(shown.record.notes).toBe("first");
    await phone.close();
  });
});
