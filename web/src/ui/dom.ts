// A tiny DOM builder. Text only ever becomes text nodes (never markup), which is what lets the pages run
// under Trusted Types with no policy at all: shared content cannot inject anything.

import { formatBytes, formatDuration, formatTime, t } from "./i18n";

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
    void navigator.clipboard.writeText(text()).then(
      () => flash(button, t("copy.done"), label),
      () => flash(button, t("copy.failed"), label),
    );
  });
  return button;
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
