// Ask for a secret (docs/protocol.md §4.5): a blank record of a chosen type (or chosen fields) and a
// device-locked link through which someone fills it in; their answer arrives in the record, live.
import type { CreatedRequest, RequestOptions } from "../client/owner";
import { RECORD_TYPES, type RecordType } from "../protocol/record";
import { copyButton, h, localTime, replace } from "../ui/dom";
import { quoted, t } from "../ui/i18n";
import { typeName } from "../ui/record-view";
import type { Ctx } from "./app";
import { explain, isSessionEnd } from "./errors";
import { qrSvg } from "./qr";
import { mailtoLink } from "./share";
import { choiceLabel, EXPIRY_CHOICES, expiryFor } from "./share-options";
import { localStore } from "./util";
import { rememberOwnShares } from "../client/own-shares";

export function showAsk(ctx: Ctx): void {
  // A form in progress is not redrawn by live events.
  ctx.onLive(() => undefined);
  if (!ctx.policy.requests) {
    replace(ctx.root, h("div", { class: "panel" }, h("h1", {}, t("ask.title")), h("p", { class: "error", "data-testid": "ask-off" }, t("ask.off"))));
    return;
  }
  const type = h("select", { id: "ask-type", "data-testid": "ask-type" }, ...RECORD_TYPES.map((r) => h("option", { value: r.type }, typeName(r.type))));
  type.value = "login";
  const title = h("input", { id: "ask-title", type: "text", maxlength: 256, "data-testid": "ask-title" });
  const defaultTitle = (): string => t("ask.defaultTitle", { type: typeName(type.value) });
  title.placeholder = defaultTitle();
  type.addEventListener("change", () => (title.placeholder = defaultTitle()));
  const fields = h("input", { id: "ask-fields", type: "text", "data-testid": "ask-fields", autocomplete: "off" });
  const instructions = h("textarea", { id: "ask-instructions", rows: 4, "data-testid": "ask-instructions" });
  const answers = h("input", { id: "ask-answers", type: "number", min: 1, max: 100, value: "1", "data-testid": "ask-answers" });
  const max = ctx.policy.max_expiry_secs;
  const deadline = h("select", { id: "ask-deadline", "data-testid": "ask-deadline" }, ...EXPIRY_CHOICES.filter((c) => c.seconds <= max).map((c) => h("option", { value: c.value }, choiceLabel(c))));
  deadline.value = EXPIRY_CHOICES.some((c) => c.value === "7d" && c.seconds <= max) ? "7d" : (deadline.options[0]?.value ?? "");
  const label = h("input", { id: "ask-label", type: "text", maxlength: 256, "data-testid": "ask-label" });
  const error = h("p", { class: "error", role: "alert", "data-testid": "ask-error" });
  const progress = h("p", { class: "muted", role: "status" });
  const create = h("button", { type: "submit", class: "primary", "data-testid": "ask-create" }, t("ask.create"));
  const form = h(
    "form",
    { novalidate: true },
    h("label", { for: "ask-type" }, t("ask.type")),
    type,
    h("label", { for: "ask-title" }, t("ask.recordTitle")),
    title,
    h("label", { for: "ask-fields" }, t("ask.fields")),
    fields,
    h("label", { for: "ask-instructions" }, t("ask.instructions")),
    instructions,
    h("label", { for: "ask-answers" }, t("ask.answers")),
    answers,
    h("label", { for: "ask-deadline" }, t("ask.deadline")),
    deadline,
    h("label", { for: "ask-label" }, t("ask.label")),
    label,
    error,
    progress,
    h("div", { class: "actions" }, create),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    const count = Number(answers.value);
    if (!Number.isInteger(count) || count < 1 || count > 100) {
      error.textContent = t("ask.badAnswers");
      return;
    }
    let options: RequestOptions;
    try {
      options = {
        type: type.value as RecordType,
        title: title.value.trim() || defaultTitle(),
        fields: fields.value
          .split(",")
          .map((f) => f.trim())
          .filter((f) => f !== ""),
        instructions: instructions.value,
        maxAnswers: count,
        expires: expiryFor(deadline.value, "", Date.now(), max),
        label: label.value.trim(),
        passphrase: "",
      };
    } catch (e) {
      error.textContent = explain(e);
      return;
    }
    create.disabled = true;
    progress.textContent = t("ask.creating");
    ctx.session.shares.createRequest(options).then(
      (created) => {
        void rememberOwnShares(localStore(), [created]);
        if (ctx.isCurrent()) showCreated(ctx, options.title, created);
      },
      (e: unknown) => {
        create.disabled = false;
        progress.textContent = "";
        if (isSessionEnd(e)) ctx.fail(e);
        else error.textContent = explain(e);
      },
    );
  });
  replace(ctx.root, h("div", { class: "panel" }, h("h1", {}, t("ask.title")), h("p", { class: "muted" }, t("ask.intro")), form));
  type.focus();
}

function showCreated(ctx: Ctx, title: string, created: CreatedRequest): void {
  const invitation = [t("ask.invitation"), created.link, "", t("invitation.oneDevice"), t("ask.invitationDeadline", { time: localTime(created.expiresAt) })].join("\n");
  const text = h("textarea", { readonly: true, rows: 7, "data-testid": "invitation", "aria-label": t("sharing.invitation") });
  text.value = invitation;
  const open = h("button", { type: "button", class: "primary", "data-testid": "ask-open-record" }, t("ask.openRecord"));
  open.addEventListener("click", () => ctx.go({ kind: "record", id: created.recordId }));
  replace(
    ctx.root,
    h(
      "div",
      { class: "panel", "data-testid": "ask-created" },
      h("h1", {}, t("ask.created", { title: quoted(title) })),
      h("p", {}, t("ask.sendLink", { time: localTime(created.expiresAt) })),
      h("h2", {}, t("sharing.link")),
      h("div", { class: "linkbox", "data-testid": "share-link" }, created.link),
      h("div", { class: "actions" }, copyButton(t("shareItem.copyLink"), () => created.link, "copy-link")),
      h("h2", {}, t("sharing.invitation")),
      text,
      h("div", { class: "actions" }, copyButton(t("sharing.copyInvitation"), () => invitation, "copy-invitation"), h("a", { class: "button small", href: mailtoLink(invitation), "data-testid": "mail-invitation" }, t("sharing.sendEmail"))),
      h("h2", {}, t("sharing.qr")),
      h("div", { class: "qr", "data-testid": "share-qr" }, qrSvg(created.link, t("sharing.qrLabel"))),
      h("div", { class: "actions" }, open),
    ),
  );
  open.focus();
  ctx.notify(t("ask.notice", { title: quoted(title) }), "ok");
}
