// Saving a decrypted download to disk without holding it in memory.
//
// A file's plaintext comes as a stream (client/files.ts: decrypted as it is read, closing only once the
// blob's hash and size matched the record). Where the browser can transfer a ReadableStream to a service
// worker (Chromium, Firefox), the stream goes to this app's download worker (`download-sw.js`, scope
// `download/`), and the page navigates to `download/<random id>`: the worker answers that one request
// with the stream as an attachment, so the browser's download manager writes it to disk as it arrives,
// with backpressure all the way to the network. The page is not left: an attachment does not replace the
// document, and a navigation no worker answers gets the server's empty 204, which changes nothing. A
// stream that errors (a damaged or substituted file) fails the download, and the browser deletes what it
// had written. Elsewhere the plaintext is collected into a Blob and saved from an object URL, as before.
//
// The page CSP allows exactly one Trusted Types policy, `sharelock-download`, whose only power is to turn
// the worker's fixed URL into a TrustedScriptURL (docs/security.md).
import { h } from "./dom";
import { MessageError, type MessageKey } from "./i18n";
import { saveBlob } from "./record-view";

/** What a file is saved as. */
export interface SaveAs {
  name: string;
  size: number;
  mime: string;
}

const WORKER = "download-sw.js";
const SCOPE = "download/";
/** How long the browser may take to start reading the stream after the navigation (it may ask the user). */
const START_TIMEOUT_MS = 120_000;
/** How long the worker may take to acknowledge a stream. */
const ACK_TIMEOUT_MS = 10_000;

interface TrustedTypePolicyLike {
  createScriptURL(input: string): unknown;
}
interface TrustedTypesLike {
  createPolicy(name: string, rules: { createScriptURL: (input: string) => string }): TrustedTypePolicyLike;
}

let policy: TrustedTypePolicyLike | undefined;

/** The worker's URL as the page's Trusted Types require it (a plain string where they are not enforced). */
function workerScriptUrl(url: string): string {
  const tt = (globalThis as { trustedTypes?: TrustedTypesLike }).trustedTypes;
  if (!tt) return url;
  policy ??= tt.createPolicy("sharelock-download", {
    createScriptURL: (input) => {
      if (input !== new URL(WORKER, document.baseURI).href) throw new TypeError("only the download worker may be loaded");
      return input;
    },
  });
  return policy.createScriptURL(url) as string;
}

/** Whether this browser can hand a ReadableStream to another context (transferable streams). */
function canTransferStreams(): boolean {
  try {
    const stream = new ReadableStream();
    const channel = new MessageChannel();
    channel.port1.postMessage(stream, [stream]);
    channel.port1.close();
    channel.port2.close();
    return true;
  } catch {
    return false;
  }
}

let worker: Promise<ServiceWorker | null> | undefined;

/** The active download worker, registered on first use; null where downloads cannot be streamed. */
function downloadWorker(): Promise<ServiceWorker | null> {
  worker ??= register().catch(() => null);
  return worker;
}

async function register(): Promise<ServiceWorker | null> {
  if (!("serviceWorker" in navigator) || !window.isSecureContext || !canTransferStreams()) return null;
  const url = new URL(WORKER, document.baseURI).href;
  const registration = await navigator.serviceWorker.register(workerScriptUrl(url), { scope: new URL(SCOPE, document.baseURI).href });
  const sw = registration.active ?? registration.waiting ?? registration.installing;
  if (!sw) return null;
  if (sw.state !== "activated") {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new MessageError("download.workerStart")), ACK_TIMEOUT_MS);
      sw.addEventListener("statechange", () => {
        if (sw.state === "activated") {
          clearTimeout(timer);
          resolve();
        } else if (sw.state === "redundant") {
          clearTimeout(timer);
          reject(new MessageError("download.workerReplaced"));
        }
      });
    });
  }
  return registration.active ?? sw;
}

function randomToken(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Saves `plaintext` as a download. Resolves once the last byte was handed to the browser and the stream
 * closed (the file was verified); rejects if the stream errors or the browser never starts reading it.
 */
export async function saveStream(plaintext: ReadableStream<Uint8Array>, file: SaveAs): Promise<void> {
  const sw = await downloadWorker();
  if (!sw) {
    const blob = await new Response(plaintext).blob();
    saveBlob(new Blob([blob], { type: file.mime || "application/octet-stream" }), file.name);
    return;
  }
  let settle!: { resolve: () => void; reject: (e: unknown) => void };
  const finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const reader = plaintext.getReader();
  const handed = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { value, done } = await reader.read();
          if (done) {
            controller.close();
            settle.resolve();
          } else {
            controller.enqueue(value);
          }
        } catch (e) {
          controller.error(e);
          settle.reject(e);
        }
      },
      cancel(reason) {
        settle.reject(new MessageError("download.cancelled"));
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  // The worker says "held" once it keeps the stream under the id, and "serving" when the browser asked
  // for it; the page navigates only in between.
  const id = randomToken();
  const channel = new MessageChannel();
  const said = (word: string, ms: number, failure: MessageKey): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new MessageError(failure)), ms);
      channel.port1.addEventListener("message", (event: MessageEvent) => {
        if (event.data === word) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  const held = said("held", ACK_TIMEOUT_MS, "download.workerSilent");
  const serving = said("serving", START_TIMEOUT_MS, "download.notStarted");
  // Either may be left unawaited when the other fails first.
  held.catch(() => {});
  serving.catch(() => {});
  channel.port1.start();
  try {
    sw.postMessage({ id, name: file.name, size: file.size, stream: handed }, [handed, channel.port2]);
    await held;
    const link = h("a", { href: new URL(SCOPE + id, document.baseURI).href, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    await serving;
  } catch (e) {
    await reader.cancel(e).catch(() => {});
    throw e;
  } finally {
    channel.port1.close();
  }
  await finished;
}
