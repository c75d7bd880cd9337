// Sign-up on an invite-only server: the form asks for the invitation code because the policy says so,
// a wrong code is refused with a sentence and the field in focus, the operator's code (from
// `sharelock admin invite create`) opens the vault once, and a second registration with it is refused.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { binary, launchChromium, Server } from "./harness";
import { newPage } from "./pages";

const run = promisify(execFile);
const PASSWORD = "correct horse battery staple";

let server: Server;
let browser: Browser;

beforeAll(async () => {
  server = await Server.start({ SHARELOCK_INVITE_ONLY: "true", SHARELOCK_SIGNUP_EMAIL_DOMAINS: "example.org" });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function invitation(): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("SHARELOCK_")) delete env[key];
  const { stdout } = await run(binary(), ["admin", "--data-dir", join(server.dir, "data"), "invite", "create", "--json"], { env });
  return (JSON.parse(stdout) as { code: string }).code;
}

describe("invite-only sign-up", () => {
  it("asks for the invitation code and accepts the operator's code once", async () => {
    const code = await invitation();
    const context = await browser.newContext();
    const { page, problems } = await newPage(context);
    await page.goto(`${server.url}/`);
    await page.getByTestId("switch-register").click();
    await page.getByTestId("invite").waitFor();
    expect(await page.getByTestId("signup-domains").textContent()).toContain("example.org");

    const fill = async (email: string, invite: string): Promise<void> => {
      await page.getByTestId("email").fill(email);
      await page.getByTestId("password").fill(PASSWORD);
      await page.getByTestId("password-again").fill(PASSWORD);
      await page.getByTestId("invite").fill(invite);
      await page.getByTestId("auth-submit").click();
    };
    // Another domain is refused before any work; no code, too.
    await fill("eve@elsewhere.example", code);
    await expect.poll(async () => page.getByTestId("auth-error").textContent()).toContain("example.org");
    await fill("ada@example.org", "");
    await expect.poll(async () => page.getByTestId("auth-error").textContent()).toContain("invitation code");
    // A wrong code: the server's refusal, and the code field ready to be typed again.
    await fill("ada@example.org", `${code.slice(0, 42)}${code.endsWith("A") ? "B" : "A"}`);
    await expect.poll(async () => page.getByTestId("auth-error").textContent(), { timeout: 60_000 }).toContain("invitation code does not work");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("data-testid"))).toBe("invite");

    await fill("ada@example.org", code);
    await page.getByTestId("records-empty").waitFor({ timeout: 60_000 });
    // The refused registration is the one failed request Chromium reports; nothing else may appear.
    expect(problems.filter((p) => !p.includes("status of 403"))).toEqual([]);
    await context.close();

    // The same code again, in another browser: refused.
    const second = await browser.newContext();
    const other = await newPage(second);
    await other.page.goto(`${server.url}/`);
    await other.page.getByTestId("switch-register").click();
    await other.page.getByTestId("email").fill("bob@example.org");
    await other.page.getByTestId("password").fill(PASSWORD);
    await other.page.getByTestId("password-again").fill(PASSWORD);
    await other.page.getByTestId("invite").fill(code);
    await other.page.getByTestId("auth-submit").click();
    await expect.poll(async () => other.page.getByTestId("auth-error").textContent(), { timeout: 60_000 }).toContain("already used");
    await second.close();
  });
});
