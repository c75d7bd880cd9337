// The owner's live events (docs/protocol.md §9.5): server-sent events read with fetch() streaming, because
// EventSource cannot send the bearer header. A dropped stream is resumed with Last-Event-ID.
import { ApiError, type Api } from "./http";
import type { OwnerEvent } from "./owner-api";

/** One dispatched server-sent event. */
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/**
 * The event-stream format (WHATWG HTML §9.2): lines end in CRLF, LF or CR; `data` lines accumulate, a
 * blank line dispatches, lines starting with `:` are comments (keep-alives). Text may arrive cut anywhere.
 */
export class SseParser {
  #buffer = "";
  #data: string[] = [];
  #event = "";
  #id: string | undefined;

  push(text: string): SseMessage[] {
    this.#buffer += text;
    const out: SseMessage[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      // A CR at the very end may be the first half of a CRLF: wait for the next piece.
      if (!match || (match[0] === "\r" && match.index === this.#buffer.length - 1)) break;
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      const message = this.#line(line);
      if (message) out.push(message);
    }
    return out;
  }

  #line(line: string): SseMessage | undefined {
    if (line === "") {
      if (this.#data.length === 0) {
        this.#event = "";
        return undefined;
      }
      const message = { id: this.#id, event: this.#event || "message", data: this.#data.join("\n") };
      this.#data = [];
      this.#event = "";
      return message;
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
    else if (field === "id" && !value.includes("\0")) this.#id = value;
    return undefined;
  }
}

/** Reads an event's JSON, or undefined for anything that is not one. */
export function parseOwnerEvent(message: SseMessage): OwnerEvent | undefined {
  try {
    const value = JSON.parse(message.data) as Partial<OwnerEvent>;
    if (typeof value.id !== "number" || typeof value.kind !== "string" || typeof value.at !== "string") return undefined;
    return {
      id: value.id,
      kind: value.kind,
      share: typeof value.share === "string" ? value.share : null,
      record: typeof value.record === "string" ? value.record : null,
      number: typeof value.number === "number" ? value.number : null,
      at: value.at,
    };
  } catch {
    return undefined;
  }
}

export interface EventStreamHandlers {
  onEvent(event: OwnerEvent): void;
  /** Connected (again): `resumed` is false on a reconnect without a known event id, so events may be missing. */
  onConnected(resumed: boolean, first: boolean): void;
  onDisconnected(): void;
  /** The session ended (401): the stream stops. */
  onUnauthorized(): void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Streams events until `signal` aborts, reconnecting with a growing pause (1 s … 30 s). */
export async function runEventStream(api: Api, token: string, handlers: EventStreamHandlers, signal: AbortSignal): Promise<void> {
  let lastId: number | undefined;
  let failures = 0;
  let first = true;
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: "text/event-stream" };
      if (lastId !== undefined) headers["Last-Event-ID"] = String(lastId);
      const response = await api.send("/events", { method: "GET", headers, signal });
      if (!response.body) throw new Error("the event stream has no body");
      handlers.onConnected(lastId !== undefined, first);
      first = false;
      failures = 0;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const message of parser.push(value)) {
          const event = parseOwnerEvent(message);
          if (!event) continue;
          lastId = event.id;
          handlers.onEvent(event);
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ApiError && e.status === 401) {
        handlers.onUnauthorized();
        return;
      }
    }
    if (signal.aborted) return;
    handlers.onDisconnected();
    failures++;
    await sleep(Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5)), signal);
  }
}
