// The account's signed webhooks (docs/protocol.md §9.9): `session.webhooks`. Nothing here is encrypted:
// deliveries carry no record content, only which share of which record something happened to.
import type { Schemas } from "../api";
import type { OwnerTransport } from "./transport";

export type WebhookInfo = Schemas["WebhookInfo"];
export type WebhookCreated = Schemas["WebhookCreated"];
export type DeliveryInfo = Schemas["DeliveryInfo"];
export type AttemptInfo = Schemas["AttemptInfo"];

/** The event kinds an endpoint can subscribe to (§9.5), in the order the vault offers them. */
export const WEBHOOK_KINDS = ["share_opened", "record_edited", "file_added", "access_failures", "device_refused", "share_ended"] as const;

export class Webhooks {
  readonly #t: OwnerTransport;

  constructor(transport: OwnerTransport) {
    this.#t = transport;
  }

  /** The account's endpoints, oldest first (never with their secrets). */
  async list(): Promise<WebhookInfo[]> {
    return (await this.#t.json<{ webhooks: WebhookInfo[] }>("GET", "/webhooks")).webhooks;
  }

  /** Registers an endpoint; the answer's `secret` is shown this once. */
  create(url: string, kinds: readonly string[]): Promise<WebhookCreated> {
    return this.#t.json<WebhookCreated>("POST", "/webhooks", { url, kinds });
  }

  async remove(id: string): Promise<void> {
    await this.#t.send("DELETE", `/webhooks/${id}`);
  }

  /** Queues a signed `ping`; its delivery's id. */
  async ping(id: string): Promise<number> {
    return (await this.#t.json<{ delivery: number }>("POST", `/webhooks/${id}/ping`)).delivery;
  }

  /** The endpoint's newest deliveries, newest first, each with its attempts. */
  async deliveries(id: string, limit = 20): Promise<DeliveryInfo[]> {
    return (await this.#t.json<{ deliveries: DeliveryInfo[] }>("GET", `/webhooks/${id}/deliveries?limit=${limit}`)).deliveries;
  }
}
