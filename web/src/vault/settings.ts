// Settings of this browser (kept in its storage, never sent): how long what a Copy button copied stays on
// the clipboard, on the vault and on the recipient's page alike; and the ways to the vault's export and import.
import { clipboardClearSecs, h, humanDuration, replace, setClipboardClearSecs } from "../ui/dom";
import { t } from "../ui/i18n";
import type { Ctx } from "./app";

/** The choices offered (seconds; 0 for never). */
export const CLIPBOARD_CHOICES: readonly number[] = [15, 30, 60, 120, 300, 0];

export function showSettings(ctx: Ctx): void {
  const current = clipboardClearSecs();
  const choices = CLIPBOARD_CHOICES.includes(current) ? CLIPBOARD_CHOICES : [...CLIPBOARD_CHOICES, current];
  const select = h(
    "select",
    { id: "settings-clipboard", "data-testid": "settings-clipboard" },
    ...choices.map((s) => h("option", { value: String(s) }, s === 0 ? t("settings.never") : t("settings.after", { duration: humanDuration(s) }))),
  );
  select.value = String(current);
  const saved = h("p", { class: "muted small-text", "data-testid": "settings-saved", role: "status" });
  select.addEventListener("change", () => {
    setClipboardClearSecs(Number(select.value));
    saved.textContent = select.value === "0" ? t("settings.savedNever") : t("settings.saved", { duration: humanDuration(Number(select.value)) });
  });
  const exportButton = h("button", { type: "button", "data-testid": "settings-export" }, t("settings.exportButton"));
  exportButton.addEventListener("click", () => ctx.go({ kind: "export" }));
  const importButton = h("button", { type: "button", "data-testid": "settings-import" }, t("settings.importButton"));
  importButton.addEventListener("click", () => ctx.go({ kind: "import" }));
  replace(
    ctx.root,
    h(
      "div",
      { class: "panel" },
      h("h1", {}, t("nav.settings")),
      h("label", { for: "settings-clipboard" }, t("settings.clipboard")),
      select,
      h("p", { class: "muted small-text" }, t("settings.clipboardHint")),
      saved,
      h("h2", {}, t("settings.exportTitle")),
      h("p", { class: "muted small-text" }, t("settings.exportText")),
      exportButton,
      h("h2", {}, t("settings.importTitle")),
      h("p", { class: "muted small-text" }, t("settings.importText")),
      importButton,
    ),
  );
  select.focus();
}
