// Small helpers of the vault page.

/** The server's public URL as this page sees it: origin plus path prefix, no trailing slash (§4.2). */
export function serverBase(location: { origin: string; pathname: string }): string {
  let path = location.pathname.replace(/\/index\.html$/, "/");
  while (path.endsWith("/")) path = path.slice(0, -1);
  return location.origin + path;
}

/** Resolves after the browser painted, so a "working…" message shows before a long synchronous task. */
export function afterPaint(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

/** Length in bytes of UTF-8 (the protocol's limits are in bytes). */
export function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** Disables a button and shows `text` on it while something runs; the returned function undoes both. */
export function busyButton(button: HTMLButtonElement, text: string): () => void {
  const before = button.textContent ?? "";
  button.disabled = true;
  button.textContent = text;
  return () => {
    button.disabled = false;
    button.textContent = before;
  };
}

/** This origin's storage, for what is not secret (anti-rollback memory, own-share marks, settings); absent if blocked. */
export function localStore(): { getItem(key: string): string | null; setItem(key: string, value: string): void } | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}
