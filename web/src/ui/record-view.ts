// Shows a decrypted record: fields by kind (secrets hidden until asked, one-time codes live), notes and
// files. Everything is text nodes, so nothing a record holds can become markup.
import type { Field, FileRef, RecordBody } from "../protocol/record";
import { parseOtp, totpCode, totpRemaining } from "../protocol/totp";
import { copyButton, h, humanBytes } from "./dom";
import { t, type MessageKey } from "./i18n";
import { en } from "./messages/en";

export interface RecordViewOptions {
  /** The current Unix time by the server's clock (one-time codes must follow the server, not this device). */
  now: () => number;
  /** Downloads a file (absent: files are listed without a button). */
  onDownload?: (file: FileRef, button: HTMLButtonElement) => void;
}

/** The display name of a record type. */
export function typeName(type: string): string {
  const key = `type.${type}`;
  return key in en ? t(key as MessageKey) : type;
}

/** A field name for people: a standard name in the page's language, another one as written (`account_no` → "Account no"). */
export function fieldLabel(name: string): string {
  const key = `field.${name}`;
  if (key in en) return t(key as MessageKey);
  const spaced = name.replaceAll("_", " ");
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** What a URL field points at: the host it really names, and any user name written before an `@`. */
export interface UrlSite {
  /** The host (international names in their ASCII form), with a non-default port. */
  host: string;
  /** The user name (and `:password`) before the `@`, or null. */
  userinfo: string | null;
}

/**
 * The site of an `http`/`https` URL as the browser itself reads it (`https://bank.example@evil.example/` is
 * `evil.example`); undefined for anything else.
 */
export function urlSite(value: string): UrlSite | undefined {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return undefined;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.host === "") return undefined;
  // As written (percent-encoded), like the CLI shows it.
  const userinfo = url.username === "" && url.password === "" ? null : url.username + (url.password === "" ? "" : `:${url.password}`);
  return { host: url.host, userinfo };
}

/** The record's fields, notes and files; returns the element and a function that stops its timers. */
export function renderRecord(body: RecordBody, options: RecordViewOptions): { element: HTMLElement; stop: () => void } {
  const timers: number[] = [];
  const list = h("dl", { class: "fields", "data-testid": "fields" });
  for (const field of body.fields) {
    list.append(h("dt", {}, fieldLabel(field.name)), renderValue(field, options, timers));
  }
  const element = h(
    "section",
    {},
    h("h1", { "data-testid": "record-title" }, body.title),
    h("span", { class: "badge" }, typeName(body.type)),
    body.fields.length > 0 ? list : null,
    body.notes ? h("h2", {}, t("view.notes")) : null,
    body.notes ? h("div", { class: "notes", "data-testid": "notes" }, body.notes) : null,
    body.files.length > 0 ? h("h2", {}, t("view.files")) : null,
    body.files.length > 0 ? renderFiles(body.files, options) : null,
  );
  return { element, stop: () => timers.forEach((t) => clearInterval(t)) };
}

function renderValue(field: Field, options: RecordViewOptions, timers: number[]): HTMLElement {
  const dd = h("dd", { "data-field": field.name });
  const label = fieldLabel(field.name);
  if (field.value === "") {
    dd.append(h("span", { class: "muted" }, t("view.empty")));
    return dd;
  }
  switch (field.kind) {
    case "secret": {
      const value = h("span", { class: "value", "data-testid": `value-${field.name}` }, "••••••••");
      let shown = false;
      const toggle = h("button", { type: "button", class: "small", "aria-label": t("view.showNamed", { name: label }) }, t("view.show"));
      toggle.addEventListener("click", () => {
        shown = !shown;
        value.textContent = shown ? field.value : "••••••••";
        toggle.textContent = shown ? t("view.hide") : t("view.show");
        toggle.setAttribute("aria-label", t(shown ? "view.hideNamed" : "view.showNamed", { name: label }));
      });
      dd.append(value, toggle, copyButton(t("view.copy"), () => field.value, `copy-${field.name}`, t("view.copyNamed", { name: label })));
      return dd;
    }
    case "otp": {
      const code = h("span", { class: "otp", "data-testid": `otp-${field.name}` }, "······");
      const left = h("span", { class: "muted" });
      let otp: ReturnType<typeof parseOtp> | undefined;
      try {
        otp = parseOtp(field.value);
      } catch {
        dd.append(h("span", { class: "error" }, t("view.badOtp")));
        return dd;
      }
      const valid = otp;
      const tick = (): void => {
        const now = options.now();
        void totpCode(valid, now).then((text) => {
          code.textContent = text;
        });
        left.textContent = t("view.secondsLeft", { s: totpRemaining(valid, now) });
      };
      tick();
      timers.push(window.setInterval(tick, 1000));
      dd.append(code, left, copyButton(t("view.copy"), () => code.textContent ?? "", `copy-${field.name}`, t("view.copyNamed", { name: label })));
      return dd;
    }
    case "url": {
      // The host first and on its own: the rest of a URL can be made to read like another site.
      const site = urlSite(field.value);
      if (site) dd.append(h("strong", { class: "site", "data-testid": `site-${field.name}` }, site.host), " ");
      dd.append(
        site && site.userinfo === null
          ? h("a", { href: field.value, rel: "noopener noreferrer", target: "_blank", class: "value muted", "data-testid": `value-${field.name}` }, field.value)
          : h("span", { class: "value muted", "data-testid": `value-${field.name}` }, field.value),
        copyButton(t("view.copy"), () => field.value, `copy-${field.name}`, t("view.copyNamed", { name: label })),
      );
      if (site?.userinfo) {
        dd.append(
          h(
            "div",
            { class: "error small-text", "data-testid": `site-warning-${field.name}` },
            t("view.siteWarning", { host: site.host, user: site.userinfo }),
          ),
        );
      } else if (!site) {
        dd.append(h("div", { class: "muted small-text" }, t("view.notWeb")));
      }
      return dd;
    }
    default:
      dd.append(h("span", { class: "value", "data-testid": `value-${field.name}` }, field.value), copyButton(t("view.copy"), () => field.value, `copy-${field.name}`, t("view.copyNamed", { name: label })));
      return dd;
  }
}

function renderFiles(files: FileRef[], options: RecordViewOptions): HTMLElement {
  const list = h("ul", { class: "files", "data-testid": "files" });
  for (const file of files) {
    const item = h("li", {}, h("span", { class: "value" }, file.name), " ", h("span", { class: "muted" }, humanBytes(file.size)), " ");
    if (options.onDownload) {
      const button = h("button", { type: "button", class: "small", "data-testid": `download-${file.name}`, "aria-label": t("view.downloadNamed", { name: file.name }) }, t("view.download"));
      const download = options.onDownload;
      button.addEventListener("click", () => download(file, button));
      item.append(button);
    }
    list.append(item);
  }
  return list;
}

/** Saves a Blob as a file through a temporary object URL. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
