// What the browser tests run against: the real `sharelock` binary serving on 127.0.0.1 with a fresh data
// directory, the same binary as the sender's CLI, and Debian's Chromium driven by playwright-core.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { chromium, type Browser } from "playwright-core";

const run = promisify(execFile);

/** The binary under test: `SHARELOCK_BIN`, or the workspace's debug build. */
export function binary(): string {
  const path = process.env.SHARELOCK_BIN ?? resolve(import.meta.dirname, "../../target/debug/sharelock");
  if (!existsSync(path)) throw new Error(`no sharelock binary at ${path}: run \`cargo build -p sharelock\` first or set SHARELOCK_BIN`);
  return path;
}

/** A `sharelock serve` process on a loopback port; `stop()` ends it and removes its data. */
export class Server {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
    readonly dir: string,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<Server> {
    const dir = mkdtempSync(join(tmpdir(), "sharelock-e2e-"));
    // The server's log goes to a file beside its data, so a failing test can show it.
    const log = openSync(join(dir, "server.log"), "w");
    const child = spawn(binary(), ["serve", "--listen", "127.0.0.1:0", "--data-dir", join(dir, "data")], {
      env: { ...cleanEnv(), ...env },
      stdio: ["ignore", "pipe", log],
    });
    closeSync(log);
    const url = await new Promise<string>((resolvePromise, reject) => {
      const timer = setTimeout(() => reject(new Error("the server did not start within 60 s")), 60_000);
      child.once("exit", (code) => reject(new Error(`the server exited with ${code}`)));
      createInterface({ input: child.stdout! }).on("line", (line) => {
        const match = /^sharelock listening on (\S+)/.exec(line);
        if (match?.[1]) {
          clearTimeout(timer);
          resolvePromise(match[1]);
        }
      });
    });
    return new Server(url, child, dir);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once("exit", r));
      this.child.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("SHARELOCK_")) delete env[key];
  return env;
}

/** A sender using the CLI with its own home directory. */
export class Sender {
  readonly home: string;

  constructor(
    readonly server: Server,
    readonly password = "correct horse battery staple",
  ) {
    this.home = mkdtempSync(join(server.dir, "sender-"));
  }

  /** Runs `sharelock <args> --json` and decodes its output. */
  async json<T>(args: string[], env: Record<string, string> = {}): Promise<T> {
    const { stdout } = await run(binary(), ["--json", ...args], {
      env: { ...cleanEnv(), SHARELOCK_HOME: this.home, SHARELOCK_SERVER: this.server.url, SHARELOCK_PASSWORD: this.password, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(stdout) as T;
  }

  async register(email: string): Promise<void> {
    await this.json(["register", "--email", email]);
  }
}

/** Debian's Chromium, headless, with the flags this closed network needs. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: install Debian's chromium package`);
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}
