// The recipient's page, served at `/s`. The link's fragment holds the only key; it is read once and
// removed from the address bar, so it does not stay in history or on screen.
import "../ui/style.css";
import { ApiError, NetworkError } from "../client/http";
import { persistStorage } from "../client/devices";
import { OpenShare, ShareLink, type ShareStatus } from "../client/recipient";
import { ProtocolError } from "../protocol/errors";
import { parseLink, type ParsedLink } from "../protocol/link";
import { byId, filePicker, h, humanBytes, humanDuration, localTime, replace } from "../ui/dom";
import { recordEditor } from "../ui/record-editor";
import { changeBetween, isUnchanged } from "../ui/record-diff";
import { renderRecord, saveBlob } from "../ui/record-view";

const app = byId("app");
/** How often an open share is fetched again, to show the sender's changes. */
const REFRESH_MS = 20_000;

const LINK_ERRORS: Record<string, string> = {
  missing_fragment: "the part after # is missing",
  missing_version: "the part after # is cut off",
  unknown_version: "it was made by a newer version of Sharelock",
  missing_dot: "the part after # is cut off",
  unknown_flag: "the part after # is damaged",
  repeated_flag: "the part after # is damaged",
  trailing_data: "something was appended to it",
  secret_encoding: "the key in it is damaged",
  secret_length: "the key in it is incomplete",
};

function panel(...children: (Node | string | null)[]): HTMLElement {
  return h("div", { class: "panel" }, ...children);
}

function showProblem(title: string, detail: string, testId = "problem"): void {
  replace(app, panel(h("h1", { "data-testid": testId }, title), h("p", { class: "muted" }, detail)));
}

/** A sentence for any failure, without secrets (messages never contain keys or values). */
function explain(error: unknown): string {
  if (error instanceof ApiError) {
    switch (error.code) {
      case "share_ended":
        return "This share has ended: it expired, or the sender deleted it.";
      case "not_found":
        return "There is no such share. It may have ended long ago, or the link is wrong.";
      case "share_bound_to_other_device":
        return "This share was already opened on another device, and only that device can open it.";
      case "wrong_passphrase":
        return "That passphrase is not right.";
      case "too_many_attempts":
        return `Too many wrong attempts. Try again in ${humanDuration(error.retryAfter ?? 60)}.`;
      case "share_not_editable":
        return "This share is read-only.";
      case "payload_too_large":
        return "That is larger than this server accepts.";
      default:
        return `The server refused: ${error.message} (${error.code}).`;
    }
  }
  if (error instanceof NetworkError) return `${error.message}. Check your connection and try again.`;
  if (error instanceof ProtocolError) return `The shared data failed a check (${error.kind}); it was not shown.`;
  return error instanceof Error ? error.message : String(error);
}

function readLink(): ParsedLink | undefined {
  if (!location.hash || location.hash === "#") {
    showProblem(
      "Open the whole link",
      "This page opens Sharelock links, and the key is in the part after #. If you reloaded the page, it is no longer " +
        "here: the page removes it from the address bar. Open the link from your message again.",
      "no-key",
    );
    return undefined;
  }
  let link: ParsedLink;
  try {
    link = parseLink(location.href);
  } catch (e) {
    const kind = e instanceof ProtocolError ? e.kind : "invalid";
    showProblem("This link does not work", `The link is incomplete or damaged: ${LINK_ERRORS[kind] ?? "it is not a Sharelock link"}. Copy the whole link from your message, including everything after #.`, "bad-link");
    return undefined;
  }
  history.replaceState(null, "", location.pathname);
  const here = `${location.origin}${location.pathname.replace(/\/s$/, "")}`;
  if (link.base !== here) {
    showProblem("This link belongs to another server", `It was made for ${link.base}, but this page comes from ${here}.`, "bad-link");
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
  const input = h("input", { id: "passphrase", type: "password", autocomplete: "off", "data-testid": "passphrase", required: true });
  const button = h("button", { type: "submit", class: "primary" }, "Continue");
  const form = h(
    "form",
    {},
    h("h1", {}, "A passphrase is needed"),
    h("p", { class: "muted" }, "The sender protected this share with a passphrase, sent to you separately (not in the same message as the link)."),
    h("label", { for: "passphrase" }, "Passphrase"),
    input,
    problem ? h("p", { class: "error", "data-testid": "passphrase-error" }, problem) : null,
    h("div", { class: "actions" }, button),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value) return;
    button.disabled = true;
    button.textContent = "Checking…";
    void ShareLink.derive(link, input.value)
      .then((share) => check(share, link))
      .catch((e: unknown) => askPassphrase(link, explain(e)));
  });
  replace(app, panel(form));
  input.focus();
}

async function check(share: ShareLink, link?: ParsedLink): Promise<void> {
  // A browser that holds this share's key goes straight to the signed fetch: the status call (and its
  // backoff, which anyone who saw the share id can keep busy) is only for opening it the first time.
  const known = await share.knownDevice().catch(() => undefined);
  if (known) {
    await openShare(share).catch((e: unknown) => showProblem("This share cannot be opened", explain(e)));
    return;
  }
  let status: ShareStatus;
  try {
    status = await share.status();
  } catch (e) {
    if (link && e instanceof ApiError && (e.code === "wrong_passphrase" || e.code === "too_many_attempts")) {
      askPassphrase(link, explain(e));
    } else {
      showProblem("This share cannot be opened", explain(e));
    }
    return;
  }
  if (status.bound) {
    showProblem("Already opened on another device", "This share was opened on another device (or in another browser), and only that device can open it. Ask the sender to share it again if that was not you.", "bound-elsewhere");
    return;
  }
  const button = h("button", { type: "button", class: "primary big", "data-testid": "open" }, "Click to Open");
  const error = h("p", { class: "error" });
  button.addEventListener("click", () => {
    button.disabled = true;
    button.textContent = "Opening…";
    // The device key lives in this browser's storage: ask the browser to keep it.
    void persistStorage();
    void openShare(share).catch((e: unknown) => {
      error.textContent = explain(e);
      button.disabled = false;
      button.textContent = "Click to Open";
    });
  });
  replace(
    app,
    panel(
      h("h1", {}, "Someone shared a record with you"),
      h("p", {}, `It is available until ${localTime(status.expires_at)}${status.burn_after_secs ? `, and for ${humanDuration(status.burn_after_secs)} after it is opened` : ""}.`),
      h("p", {}, "It can be opened on one device only. Once you click, it is locked to this browser on this device: nobody else can open it, not even with the link."),
      h(
        "p",
        { class: "warning", "data-testid": "device-warning" },
        "Open it in the browser you will keep using. In a private (incognito) window, or if you clear this site's data, the key is gone when the window closes, and the share cannot be opened again anywhere.",
      ),
      status.editable ? h("p", { class: "muted" }, "You will be able to edit it and add files; the sender sees your changes.") : null,
      h("div", { class: "actions" }, button),
      error,
    ),
  );
}

async function openShare(share: ShareLink): Promise<void> {
  let opened: OpenShare;
  try {
    opened = await share.open();
  } catch (e) {
    if (e instanceof ApiError && e.code === "share_bound_to_other_device") {
      showProblem("Already opened on another device", explain(e), "bound-elsewhere");
      return;
    }
    throw e;
  }
  new ShareView(opened).show();
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
  private readonly status = h("p", { class: "muted", "data-testid": "status" });

  constructor(private readonly share: OpenShare) {}

  show(): void {
    this.stopRecord();
    const body = this.share.body;
    const view = renderRecord(body, {
      now: () => this.share.link.api.serverNow(),
      onDownload: (file, button) => {
        button.disabled = true;
        void this.share
          .download(file, (done, total) => {
            button.textContent = total ? `${Math.floor((100 * done) / total)} %` : humanBytes(done);
          })
          .then((blob) => saveBlob(blob, file.name))
          .catch((e: unknown) => this.say(explain(e), true))
          .finally(() => {
            button.disabled = false;
            button.textContent = "Download";
          });
      },
    });
    this.stopRecord = view.stop;
    const actions = h("div", { class: "actions" });
    if (this.share.editable) {
      const edit = h("button", { type: "button", "data-testid": "edit" }, "Edit");
      edit.addEventListener("click", () => this.edit());
      const { input: upload, button: choose } = filePicker("Add files", "attach");
      upload.addEventListener("change", () => this.attach(upload));
      actions.append(edit, choose, upload);
    }
    const end = h("button", { type: "button", class: "danger", "data-testid": "end" }, "I have it: delete this share");
    end.addEventListener("click", () => this.end(end));
    actions.append(end);
    const expires = this.share.view.expires_at;
    replace(
      app,
      panel(
        view.element,
        this.share.summaryMismatch
          ? h(
              "p",
              { class: "error", "data-testid": "summary-mismatch" },
              "This version's entry in the sender's record list (its title or detail line) does not match its content: whoever wrote it made the list say something else. What is shown above is the content.",
            )
          : null,
        h("p", { class: "muted" }, `${this.share.editable ? "You can edit it" : "Read-only"} · available until ${localTime(expires)}`),
        h("p", { class: "muted" }, "Locked to this device: ", h("span", { class: "fingerprint", "data-testid": "fingerprint" }, this.share.fingerprint), ". The sender sees the same code."),
        actions,
        this.status,
      ),
    );
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
      showProblem("This share has ended", "It expired, or the sender deleted it. What was shown here is gone from this page.", "ended");
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
    const save = h("button", { type: "button", class: "primary", "data-testid": "save" }, "Save");
    const cancel = h("button", { type: "button" }, "Cancel");
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
          this.say("Saved. The sender sees your change now.");
        })
        .catch((e: unknown) => {
          save.disabled = false;
          // The record rules (§3.3) name the field, never its value: show them as they are.
          error.textContent =
            e instanceof ProtocolError && !["decrypt", "verify", "rollback", "fork"].includes(e.kind)
              ? `This change cannot be saved: ${e.message}.`
              : explain(e);
        });
    });
    replace(app, panel(h("h1", {}, "Edit"), editor.element, h("div", { class: "actions" }, save, cancel), error));
  }

  private attach(input: HTMLInputElement): void {
    const files = [...(input.files ?? [])];
    input.value = "";
    if (files.length === 0) return;
    this.editing = true;
    this.say(`Encrypting and uploading ${files.length} file(s)…`);
    void this.share
      .attach(files, (done, total) => this.say(`Uploading… ${total ? Math.floor((100 * done) / total) : 100} %`))
      .then(() => {
        this.editing = false;
        this.show();
        this.say(`Added ${files.map((f) => f.name).join(", ")}.`);
      })
      .catch((e: unknown) => {
        this.editing = false;
        this.say(explain(e), true);
      });
  }

  private end(button: HTMLButtonElement): void {
    if (!confirm("Delete this share now? Nobody will be able to open it again, including you.")) return;
    button.disabled = true;
    this.closing = true;
    void this.share
      .end()
      .then(() => {
        clearTimeout(this.timer);
        this.live.abort();
        this.stopRecord();
        showProblem("Share deleted", "The share is gone from the server. Thank you for cleaning up.", "deleted");
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

start().catch((e: unknown) => showProblem("Something went wrong", explain(e)));
