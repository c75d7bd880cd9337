// The Export screen (from Settings): the whole vault, every record's current version decrypted in this page,
// as the Sharelock export (docs/export.md). Encrypted by default: an age file with a passphrase (typed twice,
// or six generated words), binary or armored. A plain JSON or CSV export comes only after a warning dialog
// whose box must be ticked. File contents are never exported; the screen names the files left behind. The
// file is saved through the download path of src/ui/save.ts.
import { encryptExport, exportCsv, exportDocument, exportJson, MIN_EXPORT_PASSPHRASE_CHARS, rfc3339 } from "../client/export";
import { characters, generatePassphrase } from "../protocol/passphrase";
import { h, humanBytes, replace } from "../ui/dom";
import { quoted, t, tn } from "../ui/i18n";
import { saveStream } from "../ui/save";
import type { Ctx } from "./app";
import { explain } from "./errors";
import { afterPaint, busyButton } from "./util";

export type ExportKind = "age" | "json" | "csv";

/** The file's name: the date of the export, and what it is. */
export function exportFileName(kind: ExportKind, armored: boolean, now: Date): string {
  const day = rfc3339(now).slice(0, 10);
  if (kind === "age") return `sharelock-export-${day}.${armored ? "age.asc" : "age"}`;
  return `sharelock-export-${day}-UNENCRYPTED.${kind}`;
}

/** What is wrong with the passphrase fields; undefined if nothing. */
export function passphraseProblem(passphrase: string, again: string): string | undefined {
  if (characters(passphrase) < MIN_EXPORT_PASSPHRASE_CHARS) return t("export.passphraseShort", { n: MIN_EXPORT_PASSPHRASE_CHARS });
  if (passphrase !== again) return t("export.passphraseDiffers");
  return undefined;
}

/** Asks, in a modal dialog, whether to write every secret in clear text; resolves true only if the box was ticked and confirmed. */
function confirmPlain(kind: "json" | "csv"): Promise<boolean> {
  return new Promise((resolve) => {
    const understood = h("input", { type: "checkbox", id: "plain-understood", "data-testid": "plain-understood" });
    const go = h("button", { type: "button", class: "danger", disabled: true, "data-testid": "plain-confirm" }, t("export.plainConfirm", { format: kind.toUpperCase() }));
    const cancel = h("button", { type: "button", "data-testid": "plain-cancel" }, t("export.cancel"));
    const dialog = h(
      "dialog",
      { class: "panel", "aria-labelledby": "plain-title", "aria-describedby": "plain-text", "data-testid": "plain-warning" },
      h("h2", { id: "plain-title" }, t("export.plainTitle")),
      h("p", { id: "plain-text", class: "warning" }, t("export.plainWarning")),
      h("p", { class: "muted small-text" }, t("export.plainSpreadsheet")),
      h("div", { class: "check" }, understood, h("label", { for: "plain-understood" }, t("export.plainUnderstood"))),
      h("div", { class: "actions" }, go, cancel),
    );
    const close = (answer: boolean): void => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    understood.addEventListener("change", () => (go.disabled = !understood.checked));
    go.addEventListener("click", () => close(understood.checked));
    cancel.addEventListener("click", () => close(false));
    // Escape cancels.
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

export function showExport(ctx: Ctx): void {
  const choice = (value: ExportKind, label: string, hint: string): HTMLElement => {
    const input = h("input", { type: "radio", name: "export-kind", id: `export-${value}`, value, checked: value === "age", "data-testid": `export-kind-${value}` });
    return h("div", { class: "check" }, input, h("label", { for: `export-${value}` }, label, h("span", { class: "muted small-text block" }, hint)));
  };
  const kinds = h(
    "fieldset",
    { "data-testid": "export-kinds" },
    h("legend", {}, t("export.kindLegend")),
    choice("age", t("export.kindAge"), t("export.kindAgeHint")),
    choice("json", t("export.kindJson"), t("export.kindPlainHint")),
    choice("csv", t("export.kindCsv"), t("export.kindPlainHint")),
  );
  const passphrase = h("input", { id: "export-passphrase", type: "password", autocomplete: "new-password", "data-testid": "export-passphrase" });
  const again = h("input", { id: "export-passphrase-again", type: "password", autocomplete: "new-password", "data-testid": "export-passphrase-again" });
  const generated = h("p", { class: "muted", "data-testid": "export-generated", hidden: true });
  const generate = h("button", { type: "button", class: "small", "data-testid": "export-generate" }, t("export.generate"));
  generate.addEventListener("click", () => {
    const words = generatePassphrase();
    passphrase.value = words;
    again.value = words;
    passphrase.type = "text";
    again.type = "text";
    generated.hidden = false;
    generated.textContent = t("export.generated");
  });
  const armored = h("input", { type: "checkbox", id: "export-armored", "data-testid": "export-armored" });
  const secretBox = h(
    "div",
    { "data-testid": "export-passphrase-box" },
    h("label", { for: "export-passphrase" }, t("export.passphrase")),
    passphrase,
    h("label", { for: "export-passphrase-again" }, t("export.passphraseAgain")),
    again,
    h("div", { class: "row" }, generate),
    generated,
    h("p", { class: "muted small-text" }, t("export.passphraseHint", { n: MIN_EXPORT_PASSPHRASE_CHARS })),
    h("div", { class: "check" }, armored, h("label", { for: "export-armored" }, t("export.armored"))),
  );
  const selected = (): ExportKind => (kinds.querySelector<HTMLInputElement>("input[name=export-kind]:checked")?.value ?? "age") as ExportKind;
  kinds.addEventListener("change", () => (secretBox.hidden = selected() !== "age"));

  const error = h("p", { class: "error", role: "alert", "data-testid": "export-error" });
  const progress = h("p", { class: "muted", role: "status", "data-testid": "export-progress" });
  const result = h("div", { "data-testid": "export-result" });
  const submit = h("button", { type: "submit", class: "primary", "data-testid": "export-submit" }, t("export.submit"));
  const back = h("button", { type: "button", "data-testid": "export-back" }, t("export.back"));
  back.addEventListener("click", () => ctx.go({ kind: "settings" }));

  const form = h(
    "form",
    { class: "panel", novalidate: true, "data-testid": "export-form" },
    h("h1", {}, t("export.title")),
    h("p", {}, t("export.intro")),
    h("p", { class: "muted small-text" }, t("export.noFiles")),
    kinds,
    secretBox,
    error,
    progress,
    h("div", { class: "actions" }, submit, back),
    result,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void run();
  });

  async function run(): Promise<void> {
    error.textContent = "";
    replace(result);
    const kind = selected();
    if (kind === "age") {
      const problem = passphraseProblem(passphrase.value, again.value);
      if (problem) {
        error.textContent = problem;
        (characters(passphrase.value) < MIN_EXPORT_PASSPHRASE_CHARS ? passphrase : again).focus();
        return;
      }
    } else if (!(await confirmPlain(kind))) {
      progress.textContent = t("export.plainCancelled");
      return;
    }
    const done = busyButton(submit, t("export.working"));
    try {
      progress.textContent = t("export.reading");
      const { records, leftOut } = await ctx.session.records.exportAll();
      if (!ctx.isCurrent()) return;
      const now = new Date();
      const doc = exportDocument(records, now);
      let bytes: Uint8Array;
      if (kind === "age") {
        progress.textContent = t("export.encrypting");
        // scrypt holds the thread for a moment: let the words above show first.
        await afterPaint();
        bytes = await encryptExport(exportJson(doc), passphrase.value, armored.checked);
      } else {
        bytes = new TextEncoder().encode(kind === "json" ? exportJson(doc) : exportCsv(doc));
      }
      if (!ctx.isCurrent()) return;
      const name = exportFileName(kind, armored.checked, now);
      const mime = kind === "csv" ? "text/csv" : kind === "json" ? "application/json" : armored.checked ? "text/plain" : "application/octet-stream";
      progress.textContent = t("export.saving");
      await saveStream(new Blob([bytes as BlobPart]).stream(), { name, size: bytes.length, mime });
      if (!ctx.isCurrent()) return;
      progress.textContent = "";
      passphrase.value = "";
      again.value = "";
      const files = records.flatMap((r) => r.body.files.map((f) => ({ title: r.body.title, name: f.name, size: f.size })));
      replace(
        result,
        h("p", { class: "ok", "data-testid": "export-done" }, tn("export.done", records.length, { name })),
        kind === "age" ? null : h("p", { class: "warning", "data-testid": "export-plain-reminder" }, t("export.plainReminder")),
        files.length === 0
          ? h("p", { class: "muted" }, t("export.noFilesInVault"))
          : h(
              "div",
              {},
              h("p", {}, tn("export.filesLeft", files.length)),
              h("ul", { "data-testid": "export-files-left" }, ...files.map((f) => h("li", {}, t("export.fileLine", { record: quoted(f.title), name: f.name, size: humanBytes(f.size) })))),
            ),
        leftOut.length === 0
          ? null
          : h(
              "div",
              { class: "warning", "data-testid": "export-left-out" },
              h("p", {}, tn("export.leftOut", leftOut.length)),
              h("ul", {}, ...leftOut.map((l) => h("li", {}, `${l.id}: ${l.reason}`))),
            ),
      );
    } catch (e) {
      if (!ctx.isCurrent()) return;
      progress.textContent = "";
      error.textContent = explain(e);
    } finally {
      done();
    }
  }

  replace(ctx.root, form);
  kinds.querySelector<HTMLInputElement>("input[value=age]")?.focus();
}
