// The Webhooks screen: the account's signed webhook endpoints (docs/protocol.md §9.9). Add one for chosen
// event kinds (its signing secret is shown this once), send it a test, see each delivery's attempts and
// their outcomes, remove it.
import { WEBHOOK_KINDS, type DeliveryInfo, type WebhookInfo } from "../client/owner";
import { copyButton, h, localTime, replace } from "../ui/dom";
import { t, type MessageKey } from "../ui/i18n";
import type { Ctx } from "./app";
import { explain } from "./errors";

const KIND_NAMES: Record<string, MessageKey> = {
  share_opened: "webhooks.kind.share_opened",
  record_edited: "webhooks.kind.record_edited",
  file_added: "webhooks.kind.file_added",
  access_failures: "webhooks.kind.access_failures",
  device_refused: "webhooks.kind.device_refused",
  share_ended: "webhooks.kind.share_ended",
  ping: "webhooks.kind.ping",
};

/** A kind in words; a kind this page does not know yet (added to the server later) by its name. */
function kindName(kind: string): string {
  const key = KIND_NAMES[kind];
  return key ? t(key) : kind;
}

const ERRORS: Record<string, MessageKey> = {
  timeout: "webhooks.error.timeout",
  connect: "webhooks.error.connect",
  dns: "webhooks.error.dns",
  refused_address: "webhooks.error.refused_address",
  request: "webhooks.error.request",
};

function outcome(d: DeliveryInfo): string {
  const last = d.log[d.log.length - 1];
  if (!last) return t("webhooks.notTried");
  if (typeof last.status === "number") return t("webhooks.http", { status: String(last.status) });
  if (last.error) {
    const key = ERRORS[last.error];
    return key ? t(key) : last.error;
  }
  return last.finished_at ? t("webhooks.noAnswer") : t("webhooks.sending");
}

const STATE_NAMES: Record<DeliveryInfo["state"], MessageKey> = { pending: "webhooks.state.pending", delivered: "webhooks.state.delivered", failed: "webhooks.state.failed" };

function deliveriesTable(list: readonly DeliveryInfo[]): HTMLElement {
  if (list.length === 0) return h("p", { class: "muted", "data-testid": "webhook-deliveries-empty" }, t("webhooks.noDeliveries"));
  const rows = list.map((d) =>
    h(
      "tr",
      { "data-testid": "webhook-delivery", "data-state": d.state },
      h("td", {}, kindName(d.kind)),
      h("td", {}, localTime(d.at)),
      h("td", {}, t(STATE_NAMES[d.state])),
      h("td", {}, String(d.attempts)),
      h("td", {}, outcome(d)),
      h("td", {}, d.state === "pending" && d.next_attempt_at ? localTime(d.next_attempt_at) : ""),
    ),
  );
  return h(
    "div",
    {},
    h(
      "table",
      { class: "list" },
      h("thead", {}, h("tr", {}, ...(["webhooks.col.event", "webhooks.col.when", "webhooks.col.state", "webhooks.col.attempts", "webhooks.col.outcome", "webhooks.col.next"] as const).map((key) => h("th", { scope: "col" }, t(key))))),
      h("tbody", {}, ...rows),
    ),
  );
}

function endpointCard(ctx: Ctx, hook: WebhookInfo): HTMLElement {
  const deliveries = h("div", { "data-testid": "webhook-deliveries" });
  const show = async (): Promise<void> => {
    const list = await ctx.session.webhooks.deliveries(hook.id);
    if (ctx.isCurrent()) replace(deliveries, h("h3", {}, t("webhooks.deliveries")), deliveriesTable(list));
  };
  const test = h("button", { type: "button", class: "small", "data-testid": "webhook-ping" }, t("webhooks.ping"));
  test.addEventListener("click", () => {
    test.disabled = true;
    void ctx.session.webhooks
      .ping(hook.id)
      .then(async () => {
        ctx.notify(t("webhooks.pinged"), "ok");
        // The first attempt is made at once; look again shortly for its outcome.
        await show();
        const timer = window.setTimeout(() => void show().catch((e: unknown) => ctx.fail(e)), 2000);
        ctx.onLeave(() => clearTimeout(timer));
      })
      .catch((e: unknown) => ctx.fail(e))
      .finally(() => {
        test.disabled = false;
      });
  });
  const list = h("button", { type: "button", class: "small", "data-testid": "webhook-show-deliveries" }, t("webhooks.showDeliveries"));
  list.addEventListener("click", () => void show().catch((e: unknown) => ctx.fail(e)));
  const remove = h("button", { type: "button", class: "small danger", "data-testid": "webhook-remove" }, t("webhooks.remove"));
  remove.addEventListener("click", () => {
    if (!window.confirm(t("webhooks.confirmRemove", { url: hook.url }))) return;
    remove.disabled = true;
    void ctx.session.webhooks
      .remove(hook.id)
      .then(() => {
        ctx.notify(t("webhooks.removed"), "ok");
        ctx.refresh();
      })
      .catch((e: unknown) => {
        remove.disabled = false;
        ctx.fail(e);
      });
  });
  return h(
    "div",
    { class: "share-item", "data-testid": "webhook", "data-id": hook.id },
    h("p", { class: "linkbox" }, hook.url),
    h("p", { class: "muted small-text" }, t("webhooks.meta", { kinds: hook.kinds.map(kindName).join(" · "), date: localTime(hook.created_at) })),
    h("div", { class: "row" }, test, list, remove),
    deliveries,
  );
}

export async function showWebhooks(ctx: Ctx): Promise<void> {
  const hooks = await ctx.session.webhooks.list();
  if (!ctx.isCurrent()) return;
  const url = h("input", { id: "webhook-url", type: "url", required: true, placeholder: "https://", autocomplete: "off", "data-testid": "webhook-url", maxlength: "2048" });
  const boxes = WEBHOOK_KINDS.map((kind) => {
    const box = h("input", { type: "checkbox", id: `webhook-kind-${kind}`, value: kind, checked: true, "data-testid": `webhook-kind-${kind}` });
    return { kind, box, label: h("label", { for: box.id, class: "check" }, box, ` ${kindName(kind)}`) };
  });
  const error = h("p", { class: "error", role: "alert", "data-testid": "webhook-error" });
  const secret = h("div", { "data-testid": "webhook-secret-box" });
  const add = h("button", { type: "submit", class: "primary", "data-testid": "webhook-add" }, t("webhooks.add"));
  const form = h(
    "form",
    { "data-testid": "webhook-form" },
    h("h2", {}, t("webhooks.addTitle")),
    h("label", { for: url.id }, t("webhooks.url")),
    url,
    h("fieldset", {}, h("legend", {}, t("webhooks.when")), ...boxes.map((b) => b.label)),
    error,
    add,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    const kinds = boxes.filter((b) => b.box.checked).map((b) => b.kind);
    if (kinds.length === 0) {
      error.textContent = t("webhooks.noKind");
      return;
    }
    add.disabled = true;
    void ctx.session.webhooks
      .create(url.value.trim(), kinds)
      .then((created) => {
        if (!ctx.isCurrent()) return;
        url.value = "";
        const done = h("button", { type: "button", "data-testid": "webhook-secret-done" }, t("webhooks.secretStored"));
        done.addEventListener("click", () => ctx.refresh());
        replace(
          secret,
          h(
            "div",
            { class: "notes", role: "status" },
            h("p", {}, t("webhooks.added")),
            h("p", { class: "linkbox", "data-testid": "webhook-secret" }, created.secret),
            h("div", { class: "row" }, copyButton(t("webhooks.copySecret"), () => created.secret, "webhook-secret-copy"), done),
          ),
        );
      })
      .catch((e: unknown) => {
        error.textContent = explain(e);
      })
      .finally(() => {
        add.disabled = false;
      });
  });
  const cards = h("div", { class: "share-cards", "data-testid": "webhooks-list" }, ...hooks.map((hook) => endpointCard(ctx, hook)));
  replace(
    ctx.root,
    h(
      "div",
      { class: "panel" },
      h("h1", {}, t("webhooks.title")),
      h(
        "p",
        { class: "muted" },
        t("webhooks.intro"),
      ),
      hooks.length === 0 ? h("p", { class: "muted", "data-testid": "webhooks-empty" }, t("webhooks.empty")) : cards,
      secret,
      form,
    ),
  );
}
