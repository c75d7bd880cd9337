// The share dialog: expiry, editing, burn after open, passphrase and label, then the link, the invitation to
// send with it and the link as a QR code.
import { VaultError, type CreatedShare, type ShareOptions, type Stage } from "../client/owner";
import { copyButton, h, humanDuration, localTime, replace } from "../ui/dom";
import { quoted, t } from "../ui/i18n";
import type { Ctx } from "./app";
import { explain, isSessionEnd } from "./errors";
import { qrSvg } from "./qr";
import { BURN_CHOICES, burnFor, choiceLabel, DESTROY_CHOICES, destroyFor, EXPIRY_CHOICES, expiryFor, fromNameKey, invitationText } from "./share-options";
import { isValidFrom, MAX_FROM_LEN } from "../protocol/preface";
import { generatePassphrase, MIN_SHARE_PASSPHRASE_CHARS } from "../protocol/passphrase";
import { afterPaint, byteLength, localStore } from "./util";
import { rememberOwnShares } from "../client/own-shares";

export async function showShare(ctx: Ctx, id: string): Promise<void> {
  const record = await ctx.session.records.open(id);
  if (!ctx.isCurrent()) return;
  const title = record.body.title;
  const back = (): void => ctx.go({ kind: "record", id });
  // A form in progress is not redrawn by live events.
  ctx.onLive(() => undefined);
  if (!ctx.policy.one_time_share || record.verification.kind === "unverified") {
    const ok = h("button", { type: "button" }, t("record.back"));
    ok.addEventListener("click", back);
    const why = !ctx.policy.one_time_share ? t("record.noShares") : t("sharing.unverified");
    replace(ctx.root, h("div", { class: "panel" }, h("h1", {}, t("sharing.title", { title: quoted(title) })), h("p", { class: "error" }, why), h("div", { class: "actions" }, ok)));
    return;
  }
  const max = ctx.policy.max_expiry_secs;
  const expiry = h(
    "select",
    { id: "share-expiry", "data-testid": "share-expiry" },
    ...EXPIRY_CHOICES.filter((c) => c.seconds <= max).map((c) => h("option", { value: c.value }, choiceLabel(c))),
    h("option", { value: "custom" }, t("sharing.onDate")),
  );
  expiry.value = EXPIRY_CHOICES.some((c) => c.value === "7d" && c.seconds <= max) ? "7d" : (expiry.options[0]?.value ?? "custom");
  const custom = h("input", {
    id: "share-expiry-custom",
    type: "datetime-local",
    "data-testid": "share-expiry-custom",
    "aria-label": t("sharing.expiryDate"),
    min: localInput(Date.now() + 3_600_000),
    max: localInput(Date.now() + max * 1000),
    hidden: true,
  });
  expiry.addEventListener("change", () => {
    custom.hidden = expiry.value !== "custom";
    if (!custom.hidden) custom.focus();
  });
  const editable = h("input", { id: "share-editable", type: "checkbox", "data-testid": "share-editable", disabled: !ctx.policy.editable_shares });
  const burn = h(
    "select",
    { id: "share-burn", "data-testid": "share-burn" },
    ...BURN_CHOICES.filter((c) => c.seconds <= max).map((c) => h("option", { value: c.value }, choiceLabel(c))),
  );
  // View once: the share ends at the recipient's first fetch. A record's files could not be downloaded after.
  const hasFiles = record.body.files.length > 0;
  const viewOnce = h("input", { id: "share-view-once", type: "checkbox", "data-testid": "share-view-once", disabled: hasFiles });
  const followViewOnce = (): void => {
    if (viewOnce.checked) editable.checked = false;
    editable.disabled = viewOnce.checked || !ctx.policy.editable_shares;
    burn.disabled = viewOnce.checked;
  };
  viewOnce.addEventListener("change", followViewOnce);
  const passphrase = h("input", { id: "share-passphrase", type: "password", autocomplete: "off", "data-testid": "share-passphrase" });
  const showPass = h("button", { type: "button", class: "small", "aria-controls": "share-passphrase", "aria-label": t("sharing.showPassphrase") }, t("view.show"));
  const shown = (): void => {
    const hidden = passphrase.type === "password";
    showPass.textContent = hidden ? t("view.show") : t("view.hide");
    showPass.setAttribute("aria-label", hidden ? t("sharing.showPassphrase") : t("sharing.hidePassphrase"));
  };
  showPass.addEventListener("click", () => {
    passphrase.type = passphrase.type === "password" ? "text" : "password";
    shown();
  });
  // Six random words from the EFF's list: about 77 bits, and easy to read out on the phone.
  const generate = h("button", { type: "button", class: "small", "data-testid": "share-passphrase-generate", "aria-controls": "share-passphrase", "aria-label": t("sharing.generatePassphrase") }, t("generator.generate"));
  generate.addEventListener("click", () => {
    passphrase.value = generatePassphrase();
    passphrase.type = "text";
    shown();
  });
  const label = h("input", { id: "share-label", type: "text", maxlength: 256, "data-testid": "share-label", placeholder: t("sharing.labelPlaceholder") });
  // The name the recipient reads before Click to Open (§4.6), remembered in this browser for the account.
  const fromKey = fromNameKey(ctx.session.accountId);
  const from = h("input", { id: "share-from", type: "text", autocomplete: "name", "data-testid": "share-from", placeholder: t("sharing.fromPlaceholder") });
  from.value = localStore()?.getItem(fromKey) ?? "";
  // Self-destruction (§4.7): the one option that deletes something of the owner's, so it says so.
  const destroy = h(
    "select",
    { id: "share-destroy", "data-testid": "share-destroy", "aria-describedby": "share-destroy-warning" },
    ...DESTROY_CHOICES.filter((c) => c.seconds <= max).map((c) => h("option", { value: c.value }, choiceLabel(c))),
  );
  const destroyWarning = h("p", { class: "muted small-text", id: "share-destroy-warning", "data-testid": "share-destroy-warning" });
  const followDestroy = (): void => {
    const seconds = DESTROY_CHOICES.find((c) => c.value === destroy.value)?.seconds ?? 0;
    destroyWarning.className = seconds > 0 ? "warning small-text" : "muted small-text";
    destroyWarning.textContent = seconds > 0 ? t("sharing.destroyWarning", { title: quoted(title), duration: humanDuration(seconds) }) : t("sharing.destroyNone");
  };
  destroy.addEventListener("change", followDestroy);
  followDestroy();
  const error = h("p", { class: "error", "data-testid": "share-error", role: "alert" });
  const progress = h("p", { class: "muted", "data-testid": "share-progress" });
  const create = h("button", { type: "submit", class: "primary", "data-testid": "share-create" }, t("sharing.create"));
  const cancel = h("button", { type: "button", "data-testid": "cancel" }, t("share.cancel"));
  cancel.addEventListener("click", back);

  const form = h(
    "form",
    { novalidate: true },
    h("label", { for: "share-expiry" }, t("sharing.expires")),
    h("div", { class: "row" }, expiry, custom),
    h(
      "div",
      { class: "check" },
      editable,
      h("label", { for: "share-editable" }, t("sharing.editable")),
    ),
    h("p", { class: "muted small-text" }, ctx.policy.editable_shares ? t("sharing.editableHint") : t("sharing.noEditable")),
    h("label", { for: "share-burn" }, t("sharing.burn")),
    burn,
    h("div", { class: "check" }, viewOnce, h("label", { for: "share-view-once" }, t("sharing.viewOnce"))),
    h(
      "p",
      { class: "muted small-text", "data-testid": "share-view-once-hint" },
      hasFiles ? t("sharing.viewOnceFiles") : t("sharing.viewOnceHint"),
    ),
    h("label", { for: "share-passphrase" }, t("sharing.passphrase")),
    h("div", { class: "row nowrap-row" }, passphrase, showPass, generate),
    h("p", { class: "muted small-text" }, t("sharing.passphraseHint", { min: MIN_SHARE_PASSPHRASE_CHARS })),
    h("label", { for: "share-label" }, t("sharing.label")),
    label,
    h("label", { for: "share-from" }, t("sharing.from")),
    from,
    h("p", { class: "muted small-text" }, t("sharing.fromHint")),
    h("label", { for: "share-destroy" }, t("sharing.destroy")),
    destroy,
    destroyWarning,
    error,
    progress,
    h("div", { class: "actions" }, create, cancel),
  );

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    let options: ShareOptions;
    try {
      if (byteLength(label.value) > 256) throw new VaultError("client.labelTooLong", { max: 256 });
      if (!isValidFrom(from.value.trim())) throw new VaultError("client.badFrom", { max: MAX_FROM_LEN });
      const destroyAfterSecs = destroyFor(destroy.value, max);
      if (destroyAfterSecs !== null && !confirm(t("sharing.destroyConfirm", { title: quoted(title), duration: humanDuration(destroyAfterSecs) }))) return;
      options = {
        expires: expiryFor(expiry.value, custom.value, Date.now(), max),
        editable: editable.checked && !viewOnce.checked,
        burnAfterSecs: viewOnce.checked ? null : burnFor(burn.value, max),
        viewOnce: viewOnce.checked,
        label: label.value.trim(),
        passphrase: passphrase.value,
        from: from.value.trim(),
        destroyAfterSecs,
      };
    } catch (e) {
      error.textContent = explain(e);
      return;
    }
    const controls = [expiry, custom, editable, burn, viewOnce, passphrase, label, from, destroy, create, cancel, showPass, generate];
    controls.forEach((c) => (c.disabled = true));
    progress.textContent = t("sharing.creating");
    const stage = async (s: Stage): Promise<void> => {
      if (s !== "deriving") return;
      progress.textContent = t("sharing.deriving");
      await afterPaint();
    };
    const burnAfter = options.burnAfterSecs;
    const once = options.viewOnce ?? false;
    ctx.session.shares.create(id, options, stage).then(
      (created) => {
        passphrase.value = "";
        void rememberOwnShares(localStore(), [created]);
        try {
          localStore()?.setItem(fromKey, options.from ?? "");
        } catch {
          // Storage full or blocked: the name is asked again next time.
        }
        if (ctx.isCurrent()) showCreated(ctx, id, title, created, options.editable, burnAfter, once, options.destroyAfterSecs ?? null);
      },
      (e: unknown) => {
        controls.forEach((c) => (c.disabled = false));
        viewOnce.disabled = hasFiles;
        followViewOnce();
        progress.textContent = "";
        if (isSessionEnd(e)) ctx.fail(e);
        else error.textContent = explain(e);
      },
    );
  });

  replace(
    ctx.root,
    h(
      "div",
      { class: "panel" },
      h("h1", {}, t("sharing.title", { title: quoted(title) })),
      h("p", { class: "muted" }, t("sharing.intro")),
      form,
    ),
  );
  expiry.focus();
}

/**
 * Ways to send the invitation from here: the system's share sheet where the browser offers one (phones,
 * some desktops), and a new email in the mail app. Neither names the record, as the invitation does not.
 */
function sendButtons(invitation: string): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (typeof navigator.share === "function" && navigator.canShare?.({ text: invitation }) !== false) {
    const share = h("button", { type: "button", class: "small", "data-testid": "share-invitation" }, t("sharing.send"));
    share.addEventListener("click", () => {
      // Cancelling the share sheet rejects; there is nothing to report then.
      void navigator.share({ text: invitation }).catch(() => undefined);
    });
    out.push(share);
  }
  out.push(h("a", { class: "button small", href: mailtoLink(invitation), "data-testid": "mail-invitation" }, t("sharing.sendEmail")));
  return out;
}

/** A link that opens a new email with the invitation as its text and no recipient yet. */
export function mailtoLink(invitation: string): string {
  return `mailto:?subject=${encodeURIComponent(t("invitation.subject"))}&body=${encodeURIComponent(invitation)}`;
}

/** A `datetime-local` value for a time in this device's zone. */
function localInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function showCreated(
  ctx: Ctx,
  id: string,
  title: string,
  created: CreatedShare,
  editable: boolean,
  burnAfterSecs: number | null,
  viewOnce: boolean,
  destroyAfterSecs: number | null,
): void {
  const invitation = invitationText({
    destroyAfterSecs,
    link: created.link,
    expiresAt: created.expiresAt,
    nowMs: Date.now(),
    passphrase: created.passphrase,
    burnAfterSecs,
    editable,
    viewOnce,
  });
  const text = h("textarea", { readonly: true, rows: 8, "data-testid": "invitation", "aria-label": t("sharing.invitation") });
  text.value = invitation;
  const done = h("button", { type: "button", class: "primary", "data-testid": "share-done" }, t("sharing.done"));
  done.addEventListener("click", () => ctx.go({ kind: "record", id }));
  const left = humanDuration((Date.parse(created.expiresAt) - Date.now()) / 1000);
  replace(
    ctx.root,
    h(
      "div",
      { class: "panel", "data-testid": "share-created" },
      h("h1", {}, t("sharing.shared", { title: quoted(title) })),
      h("p", {}, t("sharing.sendLink", { time: localTime(created.expiresAt), left })),
      destroyAfterSecs !== null
        ? h("p", { class: "warning", "data-testid": "share-destroys" }, t("sharing.destroys", { title: quoted(title), duration: humanDuration(destroyAfterSecs) }))
        : null,
      created.passphrase ? h("p", { class: "warning" }, t("sharing.sendPassphrase")) : null,
      h("h2", {}, t("sharing.link")),
      h("div", { class: "linkbox", "data-testid": "share-link" }, created.link),
      h("div", { class: "actions" }, copyButton(t("shareItem.copyLink"), () => created.link, "copy-link")),
      h("h2", {}, t("sharing.invitation")),
      text,
      h("div", { class: "actions" }, copyButton(t("sharing.copyInvitation"), () => invitation, "copy-invitation"), ...sendButtons(invitation)),
      h("h2", {}, t("sharing.qr")),
      h("div", { class: "qr", "data-testid": "share-qr" }, qrSvg(created.link, t("sharing.qrLabel"))),
      h("p", { class: "muted small-text" }, t("sharing.qrHint")),
      h("div", { class: "actions" }, done),
    ),
  );
  done.focus();
  ctx.notify(t("sharing.notice", { title: quoted(title) }), "ok");
}
