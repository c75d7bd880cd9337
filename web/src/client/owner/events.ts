// The owner's live events (docs/protocol.md §9.5) for an unlocked vault: `session.events`.
import { runEventStream, type EventStreamHandlers } from "../events";
import type { OwnerTransport } from "./transport";

export class OwnerEvents {
  readonly #t: OwnerTransport;

  constructor(transport: OwnerTransport) {
    this.#t = transport;
  }

  /** Streams events until `signal` aborts, reconnecting with a growing pause (see `runEventStream`). */
  run(handlers: EventStreamHandlers, signal: AbortSignal): Promise<void> {
    return runEventStream(this.#t.api, this.#t.token, handlers, signal);
  }
}
