// Settings of this browser (kept in its storage, never sent): how long what a Copy button copied stays on
// the clipboard, on the vault and on the recipient's page alike.
import { clipboardClearSecs, h, humanDuration, replace, setClipboardClearSecs } from "../ui/dom";
import type { Ctx } from "./app";

/** The choices offered (seconds; 0 for never). */
export const CLIPBOARD_CHOICES: readonly number[] = [15, 30, 60, 120, 300, 0];

export function showSettings(ctx: Ctx): void {
  const current = clipboardClearSecs();
  const choices = CLIPBOARD_CHOICES.includes(current) ? CLIPBOARD_CHOICES : [...CLIPBOARD_CHOICES, current];
  const select = h(
    "select",
    { id: "settings-clipboard", "data-testid": "settings-clipboard" },
    ...choices.map((s) => h("option", { value: String(s) }, s === 0 ? "Never" : `After ${humanDuration(s)}`)),
  );
  select.value = String(current);
  const saved = h("p", { class: "muted small-text", "data-testid": "settings-saved", role: "status" });
  select.addEventListener("change", () => {
    setClipboardClearSecs(Number(select.value));
    saved.textContent = select.value === "0" ? "Copied items now stay on the clipboard." : `Copied items are now cleared from the clipboard ${humanDuration(Number(select.value))} after copying.`;
  });
  replace(
    ctx.root,
    h(
      "div",
      { class: "panel" },
      h("h1", {}, "Settings"),
      h("label", { for: "settings-clipboard" }, "Clear the clipboard after copying"),
      select,
      h(
        "p",
        { class: "muted small-text" },
        "Passwords, links and invitations you copy are removed from the clipboard after this time, here and on share pages opened in this browser, unless something else was copied since (where the browser lets the page check). This setting stays in this browser only.",
      ),
      saved,
    ),
  );
  select.focus();
}
