// A tiny DOM builder. Text only ever becomes text nodes (never markup), which is what lets the pages run
// under Trusted Types with no policy at all: shared content cannot inject anything.

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
      flash(button, "Needs HTTPS", label);
      return;
    }
    void navigator.clipboard.writeText(text()).then(
      () => flash(button, "Copied", label),
      () => flash(button, "Copy failed", label),
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

/** A human duration ("3 d 4 h", "12 min", "40 s") for a number of seconds. */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 86_400) return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3600)} h`;
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min`;
  return `${s} s`;
}

/** A local date and time for an RFC 3339 string. */
export function localTime(rfc3339: string): string {
  return new Date(rfc3339).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A byte count for people. */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
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
