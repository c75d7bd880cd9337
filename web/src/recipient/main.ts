// The recipient's page, served at `/s`. The link's fragment holds the only key; it is read once and
// removed from the address bar, so it does not stay in history or on screen.
import "../ui/style.css";
import { ApiError, NetworkError } from "../client/http";
import { persistStorage } from "../client/devices";
import { isOwnShare } from "../client/own-shares";
import { OpenShare, ShareLink, type ShareStatus } from "../client/recipient";
import type { SharePreface } from "../protocol/preface";
import { ProtocolError } from "../protocol/errors";
import { parseLink, type ParsedLink } from "../protocol/link";
import { addFilesTo, byId, filePicker, h, humanBytes, humanDuration, localTime, onFileDrop, replace, setUpLanguagePicker } from "../ui/dom";
import { MessageError, t, type MessageKey } from "../ui/i18n";
import { recordEditor } from "../ui/record-editor";
import { changeBetween, isUnchanged } from "../ui/record-diff";
import { fieldLabel, renderRecord } from "../ui/record-view";
import { saveStream } from "../ui/save";

const app = byId("app");
/** How often an open share is fetched again, to show the sender's changes. */
const REFRESH_MS = 20_000;

const LINK_ERRORS = new Set(["missing_fragment", "missing_version", "unknown_version", "missing_dot", "unknown_flag", "repeated_flag", "trailing_data", "secret_encoding", "secret_length"]);

/** Draws the current screen again (the language changed); each screen sets it. */
let redraw: () => void = () => undefined;

function panel(...children: (Node | string | null)[]): HTMLElement {
  return h("div", { class: "panel" }, ...children);
}

/** A problem screen; `detail` is a function so that it is worded again in another language. */
function showProblem(title: MessageKey, detail: () => string, testId = "problem"): void {
  replace(app, panel(h("h1", { "data-testid": testId }, t(title)), h("p", { class: "muted" }, detail())));
  redraw = () => showProblem(title, detail, testId);
}

/** A sentence for any failure, without secrets (messages never contain keys or values). */
function explain(error: unknown): string {
  if (error instanceof ApiError) {
    switch (error.code) {
      case "share_ended":
        return t("error.shareEnded");
      case "not_found":
        return t("error.notFound");
      case "share_bound_to_other_device":
        return t("error.otherDevice");
      case "share_suspended":
        return t("error.shareSuspended");
      case "wrong_passphrase":
        return t("error.wrongPassphrase");
      case "too_many_attempts":
        return t("error.tooMany", { wait: humanDuration(error.retryAfter ?? 60) });
      case "share_not_editable":
        return t("error.readOnly");
      case "payload_too_large":
        return t("error.tooLarge");
      case "quota_exceeded":
        return t("error.quotaExceeded");
      case "share_quota_exceeded":
        return t("error.shareQuotaExceeded");
      default:
        return t("error.refused", { message: error.message, code: error.code });
    }
  }
  if (error instanceof NetworkError) return t("error.network", { message: error.message });
  if (error instanceof ProtocolError) return t("error.check", { kind: error.kind });
  if (error instanceof MessageError) return t(error.key, error.params);
  return error instanceof Error ? error.message : String(error);
}

function readLink(): ParsedLink | undefined {
  if (!location.hash || location.hash === "#") {
    showProblem("problem.wholeLink", () => t("problem.wholeLinkDetail"), "no-key");
    return undefined;
  }
  let link: ParsedLink;
  try {
    link = parseLink(location.href);
  } catch (e) {
    const kind = e instanceof ProtocolError ? e.kind : "invalid";
    const reason = (): string => t(LINK_ERRORS.has(kind) ? (`link.${kind}` as MessageKey) : "link.other");
    showProblem("problem.badLink", () => t("problem.badLinkDetail", { reason: reason() }), "bad-link");
    return undefined;
  }
  history.replaceState(null, "", location.pathname);
  const here = `${location.origin}${location.pathname.replace(/\/s$/, "")}`;
  if (link.base !== here) {
    showProblem("problem.otherServer", () => t("problem.otherServerDetail", { link: link.base, here }), "bad-link");
    return undefined;
  }
  return link;
}

async function start(): Promise<void> {
  const link = readLink();
  if (!link) return;
  if (link.passphrase) {
    askPassphrase(link);
  } else {
    await check(await ShareLink.derive(link));
  }
}

function askPassphrase(link: ParsedLink, problem?: string): void {
  const input = h("input", { id: "passphrase", type: "password", autocomplete: "off", "data-testid": "passphrase", required: true, "aria-invalid": problem ? "true" : undefined, "aria-describedby": problem ? "passphrase-error" : undefined });
  const button = h("button", { type: "submit", class: "primary" }, t("passphrase.continue"));
  const form = h(
    "form",
    {},
    h("h1", {}, t("passphrase.title")),
    h("p", { class: "muted" }, t("passphrase.intro")),
    h("label", { for: "passphrase" }, t("passphrase.label")),
    input,
    problem ? h("p", { class: "error", id: "passphrase-error", role: "alert", "data-testid": "passphrase-error" }, problem) : null,
    h("div", { class: "actions" }, button),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value) return;
    button.disabled = true;
    button.textContent = t("passphrase.checking");
    void ShareLink.derive(link, input.value)
      .then((share) => check(share, link))
      .catch((e: unknown) => askPassphrase(link, explain(e)));
  });
  replace(app, panel(form));
  input.focus();
  redraw = () => {
    const typed = input.value;
    askPassphrase(link, problem);
    byId<HTMLInputElement>("passphrase").value = typed;
  };
}

async function check(share: ShareLink, link?: ParsedLink): Promise<void> {
  // A browser that holds this share's key goes straight to the signed fetch: the status call (and its
  // backoff, which anyone who saw the share id can keep busy) is only for opening it the first time.
  const known = await share.knownDevice().catch(() => undefined);
  if (known) {
    await openShare(share).catch((e: unknown) => showProblem("problem.cannotOpen", () => explain(e)));
    return;
  }
  let status: ShareStatus;
  try {
    status = await share.status();
  } catch (e) {
    if (link && e instanceof ApiError && (e.code === "wrong_passphrase" || e.code === "too_many_attempts")) {
      askPassphrase(link, explain(e));
    } else {
      showProblem("problem.cannotOpen", () => explain(e));
    }
    return;
  }
  if (status.bound) {
    showProblem("problem.elsewhere", () => t("problem.elsewhereDetail"), "bound-elsewhere");
    return;
  }
  // A request's instructions are shown before Click to Open; a box that does not open was changed by the
  // server, and the share is refused (§4.5).
  let instructions: string | undefined;
  if (status.request) {
    try {
      instructions = await share.openRequest(status.request);
    } catch (e) {
      showProblem("problem.cannotOpen", () => explain(e));
      return;
    }
  }
  const preface = await share.preface(status.preface);
  showOpen(share, status, preface, await isOwnShare(ownShareStore(), share.shareHeader).catch(() => false), instructions);
}

/**
 * What the share preface says (§4.6), as text nodes only: the sender's name is their own choice (one line,
 * checked by the protocol code), never markup.
 */
function prefaceLines(preface: SharePreface | "unreadable" | null): { title: string; notes: HTMLElement[] } {
  if (preface === null) return { title: t("open.title"), notes: [] };
  if (preface === "unreadable") {
    return { title: t("open.title"), notes: [h("p", { class: "warning", "data-testid": "preface-unreadable" }, t("open.prefaceUnreadable"))] };
  }
  const what = t(`what.${preface.type}` as MessageKey);
  if (preface.from === "") return { title: t("open.titleSomeone", { what }), notes: [] };
  return { title: t("open.titleFrom", { name: preface.from, what }), notes: [h("p", { class: "muted", "data-testid": "from-note" }, t("open.fromNote"))] };
}

/** Where the vault of this origin marks the shares it made (absent if storage is blocked). */
function ownShareStore(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

/** The sender's instructions of a request, as text. */
function instructionsBlock(text: string): HTMLElement | null {
  return text ? h("div", { class: "notes", "data-testid": "instructions" }, text) : null;
}

/** Click to Open. */
function showOpen(share: ShareLink, status: ShareStatus, preface: SharePreface | "unreadable" | null, own = false, instructions?: string): void {
  const said = prefaceLines(preface);
  const button = h("button", { type: "button", class: "primary big", "data-testid": "open" }, t("open.button"));
  const error = h("p", { class: "error" });
  button.addEventListener("click", () => {
    button.disabled = true;
    button.textContent = t("open.opening");
    // The device key lives in this browser's storage: ask the browser to keep it.
    void persistStorage();
    void openShare(share).catch((e: unknown) => {
      error.textContent = explain(e);
      button.disabled = false;
      button.textContent = t("open.button");
    });
  });
  replace(
    app,
    panel(
      h("h1", { "data-testid": "open-title" }, instructions !== undefined ? t("request.openTitle") : said.title),
      ...said.notes,
      instructions !== undefined ? h("p", {}, t("request.openIntro")) : null,
      instructions !== undefined ? instructionsBlock(instructions) : null,
      // The sender's own browser: opening here would lock the link to the sender's device.
      own ? h("p", { class: "warning", "data-testid": "own-share-warning", role: "alert" }, t("open.own")) : null,
      status.view_once ? h("p", { class: "warning", "data-testid": "view-once-warning" }, t("open.viewOnce")) : null,
      // A self-destructing record (§4.7): opening sets off its deletion from the sender's vault.
      status.destroy_after_secs ? h("p", { class: "warning", "data-testid": "destroys-warning" }, t("open.destroys", { duration: humanDuration(status.destroy_after_secs) })) : null,
      h("p", {}, status.burn_after_secs ? t("open.untilBurn", { time: localTime(status.expires_at), duration: humanDuration(status.burn_after_secs) }) : t("open.until", { time: localTime(status.expires_at) })),
      h("p", {}, t("open.oneDevice")),
      h("p", { class: "warning", "data-testid": "device-warning" }, t("open.warning")),
      status.editable && instructions === undefined ? h("p", { class: "muted" }, t("open.editable")) : null,
      h("div", { class: "actions" }, button),
      error,
    ),
  );
  redraw = () => {
    if (!button.disabled) showOpen(share, status, preface, own, instructions);
  };
}

async function openShare(share: ShareLink): Promise<void> {
  let opened: OpenShare;
  try {
    opened = await share.open();
  } catch (e) {
    if (e instanceof ApiError && e.code === "share_bound_to_other_device") {
      showProblem("problem.elsewhere", () => explain(e), "bound-elsewhere");
      return;
    }
    throw e;
  }
  if (opened.request) {
    new RequestForm(opened).show();
  } else {
    new ShareView(opened).show();
  }
}

/** A request (§4.5): the sender's instructions and a form to fill in; submitting sends one answer. */
class RequestForm {
  private readonly status = h("p", { class: "muted", role: "status", "data-testid": "status" });

  constructor(private readonly share: OpenShare) {}

  private get asked(): NonNullable<OpenShare["request"]> {
    return this.share.request!;
  }

  show(): void {
    const body = this.share.body;
    const inputs = new Map<string, HTMLInputElement | HTMLTextAreaElement>();
    const rows = body.fields.map((field, i) => {
      const id = `answer-field${i}`;
      const input: HTMLInputElement | HTMLTextAreaElement =
        field.kind === "multiline" || (field.kind === "secret" && field.value.includes("\n"))
          ? h("textarea", { id, rows: 4 })
          : h("input", { id, type: field.kind === "secret" ? "password" : field.kind === "email" ? "email" : "text", autocomplete: "off", spellcheck: "false" });
      input.value = field.value;
      input.setAttribute("data-testid", `answer-${field.name}`);
      inputs.set(field.name, input);
      if (input instanceof HTMLInputElement && input.type === "password") {
        // A secret is typed hidden, and shown on request (to check it before sending).
        const reveal = h("button", { type: "button", class: "small", "aria-controls": id, "data-testid": `reveal-${field.name}` }, t("request.show"));
        reveal.addEventListener("click", () => {
          const shown = input.type === "text";
          input.type = shown ? "password" : "text";
          reveal.textContent = t(shown ? "request.show" : "request.hide");
        });
        return h("div", {}, h("label", { for: id }, fieldLabel(field.name)), h("div", { class: "row nowrap-row" }, input, reveal));
      }
      return h("div", {}, h("label", { for: id }, fieldLabel(field.name)), input);
    });
    const notes = h("textarea", { id: "answer-notes", rows: 4, "data-testid": "answer-notes" });
    notes.value = body.notes;
    const { input: upload, button: choose } = filePicker(t("request.addFiles"), "answer-files");
    const chosen = h("p", { class: "muted", "data-testid": "answer-chosen" });
    upload.addEventListener("change", () => {
      chosen.textContent = [...(upload.files ?? [])].map((f) => f.name).join(", ");
    });
    const send = h("button", { type: "submit", class: "primary big", "data-testid": "answer-send" }, t("request.send"));
    const left = this.asked.maxAnswers - this.asked.answers;
    const form = h(
      "form",
      { "data-testid": "answer-form" },
      h("h1", {}, t("request.title", { title: body.title })),
      instructionsBlock(this.asked.instructions),
      ...rows,
      h("label", { for: "answer-notes" }, t("request.notes")),
      notes,
      h("div", { class: "actions" }, choose, upload),
      chosen,
      h("p", { class: "muted" }, t(left === 1 ? "request.once" : "request.times", { count: left, time: localTime(this.share.view.expires_at) })),
      h("p", { class: "muted" }, t("request.private")),
      h("p", { class: "muted" }, t("share.device"), h("span", { class: "fingerprint", "data-testid": "fingerprint" }, this.share.fingerprint), t("share.deviceAfter")),
      h("div", { class: "actions" }, send),
      this.status,
    );
    onFileDrop(form, (dropped) => {
      addFilesTo(upload, dropped);
      chosen.textContent = [...(upload.files ?? [])].map((f) => f.name).join(", ");
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const values = new Map([...inputs].map(([name, input]) => [name, input.value]));
      const files = [...(upload.files ?? [])];
      send.disabled = true;
      this.say(files.length ? t("share.uploading", { count: files.length }) : t("request.sending"));
      void this.share
        .answer(values, notes.value, files, (done, total) => this.say(t("share.progress", { percent: total ? Math.floor((100 * done) / total) : 100 })))
        .then(() => this.sent())
        .catch((e: unknown) => {
          send.disabled = false;
          if (e instanceof ApiError && (e.code === "share_ended" || e.code === "not_found")) {
            showProblem("problem.ended", () => t("request.endedDetail"), "ended");
            return;
          }
          this.say(e instanceof ProtocolError && !["decrypt", "verify", "rollback", "fork"].includes(e.kind) ? t("error.cannotSave", { message: e.message }) : explain(e), true);
        });
    });
    replace(app, panel(form));
    redraw = () => {
      if (!send.disabled) this.show();
    };
  }

  /** The answer is sent: the request has ended, or it may be changed again. */
  private sent(): void {
    const left = this.asked.maxAnswers - this.asked.answers;
    const again = h("button", { type: "button", "data-testid": "answer-again" }, t("request.change"));
    again.addEventListener("click", () => this.show());
    replace(
      app,
      panel(
        h("h1", { "data-testid": "answer-sent" }, t("request.sent")),
        h("p", {}, t(left > 0 ? "request.sentMore" : "request.sentDone", { count: left })),
        h("p", { class: "muted" }, t("share.device"), h("span", { class: "fingerprint" }, this.share.fingerprint), t("share.deviceAfter")),
        left > 0 ? h("div", { class: "actions" }, again) : null,
      ),
    );
    redraw = () => this.sent();
  }

  private say(message: string, error = false): void {
    this.status.textContent = message;
    this.status.className = error ? "error" : "ok";
  }
}

/** The opened record, kept fresh, with its actions. */
class ShareView {
  private stopRecord: () => void = () => {};
  private timer = 0;
  /** Stops the live channel when the share has ended here. */
  private readonly live = new AbortController();
  private listening = false;
  /** Whether the live channel failed and the page polls instead. */
  private polling = false;
  /** A new version was announced while the recipient was editing: fetch it when they are done. */
  private pending = false;
  /** The recipient is ending the share here: the live channel's news of it is not news. */
  private closing = false;
  private editing = false;
  /** Announced by screen readers as it changes (saved, uploading, a failure). */
  private readonly status = h("p", { class: "muted", role: "status", "data-testid": "status" });

  constructor(private readonly share: OpenShare) {}

  show(): void {
    this.stopRecord();
    const body = this.share.body;
    const view = renderRecord(body, {
      now: () => this.share.link.api.serverNow(),
      onDownload: (file, button) => {
        button.disabled = true;
        void this.share
          .downloadStream(file, (done, total) => {
            button.textContent = total ? `${Math.floor((100 * done) / total)} %` : humanBytes(done);
          })
          .then((plaintext) => saveStream(plaintext, file))
          .catch((e: unknown) => this.say(explain(e), true))
          .finally(() => {
            button.disabled = false;
            button.textContent = t("view.download");
          });
      },
    });
    this.stopRecord = view.stop;
    const actions = h("div", { class: "actions" });
    let dropInto: HTMLInputElement | undefined;
    if (this.share.editable) {
      const edit = h("button", { type: "button", "data-testid": "edit" }, t("share.edit"));
      edit.addEventListener("click", () => this.edit());
      const { input: upload, button: choose } = filePicker(t("share.addFiles"), "attach");
      upload.addEventListener("change", () => this.attach(upload));
      dropInto = upload;
      actions.append(edit, choose, upload);
    }
    const end = h("button", { type: "button", class: "danger", "data-testid": "end" }, t("share.end"));
    end.addEventListener("click", () => this.end(end));
    // A view-once share has already ended: there is nothing left to end.
    if (!this.share.view.view_once) actions.append(end);
    const expires = this.share.view.expires_at;
    const shown = panel(
        view.element,
        this.share.summaryMismatch
          ? h("p", { class: "error", "data-testid": "summary-mismatch" }, t("share.mismatch"))
          : null,
        this.share.view.view_once
          ? h("p", { class: "warning", "data-testid": "viewed-once" }, t("share.viewedOnce"))
          : h("p", { class: "muted" }, t(this.share.editable ? "share.editable" : "share.readOnly", { time: localTime(expires) })),
        this.share.view.destroy_at
          ? h("p", { class: "warning", "data-testid": "destroys-at" }, t("share.destroysAt", { time: localTime(this.share.view.destroy_at) }))
          : null,
        h("p", { class: "muted" }, t("share.device"), h("span", { class: "fingerprint", "data-testid": "fingerprint" }, this.share.fingerprint), t("share.deviceAfter")),
        actions,
        this.status,
    );
    // Files dropped on the record are added like chosen ones.
    if (dropInto) {
      const input = dropInto;
      onFileDrop(shown, (dropped) => addFilesTo(input, dropped));
    }
    replace(app, shown);
    redraw = () => {
      if (!this.editing) this.show();
    };
    // A view-once share ended with the fetch that showed it: nothing more will come, and its end is no news.
    if (this.share.view.view_once) return;
    this.listen();
    this.schedule();
    if (this.pending && !this.editing) {
      this.pending = false;
      this.reload();
    }
  }

  private say(message: string, error = false): void {
    this.status.textContent = message;
    this.status.className = error ? "error" : "ok";
  }

  /**
   * Keeps the record current: the share's live channel names each new version and the share's end as they
   * happen; while the channel is down for good, a poll every REFRESH_MS does instead.
   */
  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    void this.share
      .listen(
        {
          onVersion: (version) => {
            if (version !== this.share.version) this.reload();
          },
          onEnded: () => this.reload(),
        },
        this.live.signal,
      )
      .catch(() => {
        this.polling = true;
        this.schedule();
      });
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (!this.polling) return;
    this.timer = window.setTimeout(() => this.reload(), REFRESH_MS);
  }

  /** Fetches the current version and shows it if it is new (not while the recipient is editing). */
  private reload(): void {
    if (this.closing) return;
    if (this.editing) {
      this.pending = true;
      return;
    }
    const before = this.share.version;
    void this.share
      .refresh()
      .then(() => (this.share.version !== before ? this.show() : this.schedule()))
      .catch((e: unknown) => this.ended(e));
  }

  private ended(e: unknown): void {
    clearTimeout(this.timer);
    if (e instanceof ApiError && (e.code === "share_ended" || e.code === "not_found")) this.live.abort();
    if (e instanceof ApiError && (e.code === "share_ended" || e.code === "not_found")) {
      this.stopRecord();
      showProblem("problem.ended", () => t("problem.endedDetail"), "ended");
    } else {
      this.say(explain(e), true);
      this.schedule();
    }
  }

  private edit(): void {
    this.editing = true;
    this.stopRecord();
    const before = this.share.body;
    const editor = recordEditor(before);
    const save = h("button", { type: "button", class: "primary", "data-testid": "save" }, t("share.save"));
    const cancel = h("button", { type: "button" }, t("share.cancel"));
    const error = h("p", { class: "error", "data-testid": "edit-error" });
    cancel.addEventListener("click", () => {
      this.editing = false;
      this.show();
    });
    save.addEventListener("click", () => {
      const after = editor.read();
      if (isUnchanged(before, after)) {
        this.editing = false;
        this.show();
        return;
      }
      save.disabled = true;
      error.textContent = "";
      void this.share
        .edit(changeBetween(before, after))
        .then(() => {
          this.editing = false;
          this.show();
          this.say(t("share.saved"));
        })
        .catch((e: unknown) => {
          save.disabled = false;
          // The record rules (§3.3) name the field, never its value: show them as they are.
          error.textContent =
            e instanceof ProtocolError && !["decrypt", "verify", "rollback", "fork"].includes(e.kind)
              ? t("error.cannotSave", { message: e.message })
              : explain(e);
        });
    });
    replace(app, panel(h("h1", {}, t("share.editTitle")), editor.element, h("div", { class: "actions" }, save, cancel), error));
  }

  private attach(input: HTMLInputElement): void {
    const files = [...(input.files ?? [])];
    input.value = "";
    if (files.length === 0) return;
    this.editing = true;
    this.say(t("share.uploading", { count: files.length }));
    void this.share
      .attach(files, (done, total) => this.say(t("share.progress", { percent: total ? Math.floor((100 * done) / total) : 100 })))
      .then(() => {
        this.editing = false;
        this.show();
        this.say(t("share.added", { names: files.map((f) => f.name).join(", ") }));
      })
      .catch((e: unknown) => {
        this.editing = false;
        this.say(explain(e), true);
      });
  }

  private end(button: HTMLButtonElement): void {
    if (!confirm(t("share.confirmEnd"))) return;
    button.disabled = true;
    this.closing = true;
    void this.share
      .end()
      .then(() => {
        clearTimeout(this.timer);
        this.live.abort();
        this.stopRecord();
        showProblem("problem.deleted", () => t("problem.deletedDetail"), "deleted");
      })
      .catch((e: unknown) => {
        this.closing = false;
        button.disabled = false;
        this.say(explain(e), true);
      });
  }
}

// Pasting another link into this tab changes only the fragment, which loads nothing: start over.
window.addEventListener("hashchange", () => location.reload());

/** The language: the one picked on this page or the vault before, else the browser's; the picker changes it in place. */
function setUpLanguage(): void {
  setUpLanguagePicker(byId<HTMLSelectElement>("language"), (changed) => {
    byId("tagline").textContent = t("page.tagline");
    if (changed) redraw();
  });
}

setUpLanguage();
start().catch((e: unknown) => showProblem("problem.wrong", () => explain(e)));
