// A tiny DOM builder. Text only ever becomes text nodes (never markup), which is what lets the pages run
// under Trusted Types with no policy at all: shared content cannot inject anything.

import { formatBytes, formatDuration, formatTime, initialLanguage, language, LANGUAGE_KEY, LANGUAGES, setLanguage, t, type Language } from "./i18n";

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | boolean | number | EventListener | undefined>;

/** Creates an element; `on…` attributes become listeners, booleans toggle attributes, the rest are set. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, ...children);
  return el;
}

/** Appends children, strings as text nodes. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/**
 * A translated sentence with elements in it: each `{name}` placeholder left in `text` (t() leaves those it
 * was not given) becomes the node `nodes[name]`; the rest stays text.
 */
export function withNodes(text: string, nodes: Record<string, Node>): (string | Node)[] {
  return text.split(/(\{\w+\})/).flatMap((part): (string | Node)[] => {
    const node = /^\{(\w+)\}$/.exec(part) ? nodes[part.slice(1, -1)] : undefined;
    return node ? [node] : part === "" ? [] : [part];
  });
}

/** Replaces everything inside `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** The element with this id (the pages define them), or an error that names it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/**
 * A button that copies `text()` to the clipboard and says so for a moment. `name` is what screen readers
 * call it when the visible label alone ("Copy") does not say what it copies.
 */
export function copyButton(label: string, text: () => string, testId?: string, name?: string): HTMLButtonElement {
  const button = h("button", { type: "button", class: "small", "data-testid": testId, "aria-label": name });
  button.textContent = label;
  button.addEventListener("click", () => {
    // Browsers offer the clipboard only to secure pages (HTTPS or localhost).
    if (!navigator.clipboard) {
      flash(button, t("copy.needsHttps"), label);
      return;
    }
    const value = text();
    void navigator.clipboard.writeText(value).then(
      () => {
        flash(button, t("copy.done"), label);
        clearLater(value);
      },
      () => flash(button, t("copy.failed"), label),
    );
  });
  return button;
}

/** Where the vault's setting for clearing the clipboard is kept (both pages follow it). */
const CLIPBOARD_KEY = "sharelock.clipboard-clear-secs";
/** What both pages do unless told otherwise: a copied secret or link leaves the clipboard after a minute. */
export const DEFAULT_CLIPBOARD_CLEAR_SECS = 60;

/** Seconds after which what a Copy button copied is cleared from the clipboard; 0 for never. */
export function clipboardClearSecs(): number {
  try {
    const stored = window.localStorage.getItem(CLIPBOARD_KEY);
    if (stored !== null && /^\d{1,4}$/.test(stored)) return Math.min(Number(stored), 3600);
  } catch {
    // Storage blocked: the default.
  }
  return DEFAULT_CLIPBOARD_CLEAR_SECS;
}

export function setClipboardClearSecs(seconds: number): void {
  try {
    window.localStorage.setItem(CLIPBOARD_KEY, String(Math.max(0, Math.min(Math.round(seconds), 3600))));
  } catch {
    // Storage blocked: the setting lasts as long as nothing reads it again.
  }
}

let clearTimer = 0;
/** What this page copied last and has not cleared yet. */
let copiedLast: string | undefined;

function clearLater(value: string): void {
  window.clearTimeout(clearTimer);
  copiedLast = value;
  const secs = clipboardClearSecs();
  if (secs > 0) clearTimer = window.setTimeout(() => void clearClipboard(value), secs * 1000);
}

/**
 * Empties the clipboard if it still holds what this page copied. Where the browser lets the page read the
 * clipboard without asking, it looks first and leaves anything copied since alone; otherwise it clears.
 * A page in the background may not write the clipboard: it clears when it gets the focus back.
 */
async function clearClipboard(value: string): Promise<void> {
  if (copiedLast !== value) return;
  try {
    const read = await navigator.permissions?.query({ name: "clipboard-read" as PermissionName });
    if (read?.state === "granted" && (await navigator.clipboard.readText()) !== value) {
      copiedLast = undefined;
      return;
    }
  } catch {
    // No way to look: clear.
  }
  if (!document.hasFocus()) {
    window.addEventListener("focus", () => void clearClipboard(value), { once: true });
    return;
  }
  try {
    await navigator.clipboard.writeText("");
    copiedLast = undefined;
  } catch {
    // Refused (the focus left meanwhile): try again when it comes back.
    window.addEventListener("focus", () => void clearClipboard(value), { once: true });
  }
}

function flash(button: HTMLButtonElement, message: string, label: string): void {
  button.textContent = message;
  setTimeout(() => {
    button.textContent = label;
  }, 1500);
}

/** A human duration ("3 d 4 h", "12 min", "40 s") for a number of seconds, in the page's language. */
export function humanDuration(seconds: number): string {
  return formatDuration(seconds);
}

/** A local date and time for an RFC 3339 string, in the page's language. */
export function localTime(rfc3339: string): string {
  return formatTime(rfc3339);
}

/** A byte count for people. */
export function humanBytes(n: number): string {
  return formatBytes(n);
}

/**
 * A file chooser: a real button (reached with Tab, pressed with Enter or Space) that opens the browser's
 * file dialog of a hidden file input. The input is out of the tab order: the button stands for it.
 */
export function filePicker(label: string, testId: string): { input: HTMLInputElement; button: HTMLButtonElement } {
  const input = h("input", { type: "file", multiple: true, class: "visually-hidden", tabindex: -1, "aria-hidden": "true", "data-testid": testId });
  const button = h("button", { type: "button", "data-testid": `${testId}-button` }, label);
  button.addEventListener("click", () => input.click());
  return { input, button };
}

/**
 * Files dropped onto `target` (dragged from the desktop or a file manager) go to `onFiles`, as if chosen
 * with a file button; the box is outlined while files are dragged over it. Text or links dragged in are
 * left to the browser.
 */
export function onFileDrop(target: HTMLElement, onFiles: (files: File[]) => void): void {
  const carriesFiles = (event: DragEvent): boolean => event.dataTransfer?.types.includes("Files") ?? false;
  let depth = 0;
  target.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth++;
    target.classList.add("dropping");
  });
  target.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
  });
  target.addEventListener("dragleave", (event) => {
    if (!carriesFiles(event)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) target.classList.remove("dropping");
  });
  target.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    target.classList.remove("dropping");
    const files = [...(event.dataTransfer?.files ?? [])];
    if (files.length > 0) onFiles(files);
  });
}

/** Adds `files` to a file input's choice (after those already chosen) and tells its listeners. */
export function addFilesTo(input: HTMLInputElement, files: readonly File[]): void {
  const all = new DataTransfer();
  for (const file of [...(input.files ?? []), ...files]) all.items.add(file);
  input.files = all.files;
  input.dispatchEvent(new Event("change", { bubbles: true }));
}

/**
 * A page's language picker: every language in its own name, starting at the one picked before on either
 * page (else the browser's first offered one). A new choice is remembered and applied in place: `apply`
 * redraws what the page shows (it also runs once at the start, with `changed` false).
 */
export function setUpLanguagePicker(picker: HTMLSelectElement, apply: (changed: boolean) => void): void {
  const storage = (): Storage | undefined => window.localStorage;
  const use = (lang: Language): void => {
    setLanguage(lang);
    document.documentElement.lang = lang;
    picker.setAttribute("aria-label", t("page.language"));
  };
  use(initialLanguage(storage, navigator.languages));
  replace(picker, ...Object.entries(LANGUAGES).map(([code, name]) => h("option", { value: code, lang: code }, name)));
  picker.value = language();
  apply(false);
  picker.addEventListener("change", () => {
    const lang = picker.value as Language;
    try {
      storage()?.setItem(LANGUAGE_KEY, lang);
    } catch {
      // Not remembered; still applied.
    }
    use(lang);
    apply(true);
  });
}
