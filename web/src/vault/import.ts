// The Import screen (from Settings, and from an empty record list): a file from another password manager, a
// CSV file with a column mapping, or a Sharelock export (docs/import.md). The file is read in this page,
// never sent: its format is detected (a menu overrides it), an encrypted export asks for its passphrase, a
// generic CSV file for the target of each column. The preview is a dry run: what would be created, every
// warning and every item that cannot be imported, and nothing is created until the user says so; with
// items that cannot be imported, only if the user chooses to import the others. Records are then sealed
// here and created through the owner session a few at a time, with progress, and the report says exactly
// which were created.
import type { CreateOutcome } from "../client/owner";
import { detect, FORMATS, headerRow, ImportError, isAge, MAX_FILE_BYTES, parseImport, text, type Format, type ImportResult, type Item, type Warning } from "../import";
import { filePicker, h, humanBytes, onFileDrop, replace } from "../ui/dom";
import { quoted, t, tn } from "../ui/i18n";
import { fieldLabel, typeName } from "../ui/record-view";
import type { Ctx } from "./app";
import { explain, ruleKindText } from "./errors";
import {
  columnMapText,
  defaultChoices,
  FILE_ERRORS,
  FORMAT_NAMES,
  IMPORT_IN_FLIGHT,
  importReport,
  isSpecialTarget,
  itemsToCreate,
  MAP_TARGETS,
  mappableColumn,
  mappingProblems,
  needsLookup,
  previewCounts,
  WARNINGS,
  type ImportReport,
} from "./import-plan";
import { afterPaint } from "./util";

/** The preview lists at most this many items that can be imported (every item that cannot is listed). */
const PREVIEW_ROWS = 1000;

/** A warning in words, with the field, file or entry it names. */
export function warningText(w: Warning): string {
  const what = t(WARNINGS[w.code]);
  return w.name === null ? what : t("import.warnNamed", { what, name: quoted(w.name) });
}

/** Why an item cannot be imported, in words. */
export function itemErrorText(kind: string): string {
  return t("import.itemError", { reason: ruleKindText(kind) ?? kind });
}

/** Why a file could not be read, in words; the reader's own detail (never a value) follows for a damaged file. */
function fileErrorText(e: unknown): { text: string; detail?: string } {
  if (e instanceof ImportError) return { text: t(FILE_ERRORS[e.kind]), detail: e.kind === "malformed" || e.kind === "bad_mapping" ? e.message : undefined };
  return { text: explain(e) };
}

export function showImport(ctx: Ctx): void {
  // A form being filled in: live events and a change of language leave it as it is.
  ctx.onLive(() => undefined);

  let bytes: Uint8Array | undefined;
  let fileName = "";
  let names: string[] = [];
  let result: ImportResult | undefined;
  let busy = false;

  const picker = filePicker(t("import.chooseFile"), "import-file");
  picker.input.multiple = false;
  const fileStatus = h("p", { class: "muted", "data-testid": "import-file-status", role: "status" }, t("import.noFile"));
  const zone = h(
    "div",
    { class: "dropzone", "data-testid": "import-drop" },
    picker.input,
    h("div", { class: "row" }, picker.button, h("span", { class: "muted" }, t("import.orDrop"))),
    fileStatus,
  );

  const format = h(
    "select",
    { id: "import-format", "data-testid": "import-format" },
    h("option", { value: "" }, t("import.formatChoose")),
    ...FORMATS.map((f) => h("option", { value: f }, t(FORMAT_NAMES[f]))),
  );
  const formatHint = h("p", { class: "muted small-text", "data-testid": "import-format-hint" });
  const formatBox = h("div", { hidden: true }, h("label", { for: "import-format" }, t("import.format")), format, formatHint);

  const passphrase = h("input", { id: "import-passphrase", type: "password", autocomplete: "off", "data-testid": "import-passphrase" });
  const passphraseBox = h(
    "div",
    { hidden: true, "data-testid": "import-passphrase-box" },
    h("label", { for: "import-passphrase" }, t("import.passphrase")),
    passphrase,
    h("p", { class: "muted small-text" }, t("import.passphraseHint")),
  );

  const mapRows = h("div", { class: "map-rows", "data-testid": "import-map" });
  const mapError = h("p", { class: "error", "data-testid": "import-map-error" });
  const mapBox = h(
    "fieldset",
    { hidden: true, "data-testid": "import-map-box" },
    h("legend", {}, t("import.mapLegend")),
    h("p", { class: "muted small-text" }, t("import.mapHint")),
    mapRows,
    mapError,
  );

  const error = h("p", { class: "error", role: "alert", "data-testid": "import-error" });
  const errorDetail = h("p", { class: "muted small-text", "data-testid": "import-error-detail" });
  const status = h("p", { class: "muted", role: "status", "data-testid": "import-status" });
  const previewButton = h("button", { type: "submit", class: "primary", "data-testid": "import-preview" }, t("import.preview"));
  const back = h("button", { type: "button", "data-testid": "import-back" }, t("import.back"));
  back.addEventListener("click", () => ctx.go({ kind: "settings" }));
  const preview = h("div", { "data-testid": "import-preview-box" });
  const report = h("div", { "data-testid": "import-report" });

  const form = h(
    "form",
    { class: "panel", novalidate: true, "data-testid": "import-form" },
    h("h1", {}, t("import.title")),
    h("p", {}, t("import.intro")),
    h("p", { class: "muted small-text" }, t("import.formats")),
    zone,
    formatBox,
    passphraseBox,
    mapBox,
    error,
    errorDetail,
    status,
    h("div", { class: "actions" }, previewButton, back),
  );

  const setError = (e?: unknown): void => {
    if (e === undefined) {
      error.textContent = "";
      errorDetail.textContent = "";
      return;
    }
    const { text: message, detail } = fileErrorText(e);
    error.textContent = message;
    errorDetail.textContent = detail ? t("import.errorDetail", { detail }) : "";
  };

  /** Anything changed: the preview no longer says what would be created. */
  const stale = (): void => {
    result = undefined;
    replace(preview);
    replace(report);
    setError();
    status.textContent = "";
  };

  const selected = (): Format | "" => format.value as Format | "";

  const drawMapping = (): void => {
    replace(mapRows);
    mapError.textContent = "";
    if (!bytes) return;
    let header: string[] | null;
    try {
      header = headerRow(text(bytes));
    } catch (e) {
      setError(e);
      return;
    }
    if (!header) {
      error.textContent = t("import.csvEmpty");
      return;
    }
    names = header;
    const choices = defaultChoices(names);
    names.forEach((name, c) => {
      const id = `import-map-${c}`;
      const own = h("option", { value: "" }, name.trim() === "" ? t("import.mapOwnUnnamed") : t("import.mapOwn", { name: quoted(name.trim()) }));
      const select = h(
        "select",
        { id, "data-testid": "import-map-select", "data-column": name },
        own,
        ...MAP_TARGETS.map((target) => h("option", { value: target }, isSpecialTarget(target) ? t(`import.target.${target as "title" | "notes" | "type" | "folder"}`) : t("import.targetField", { name: fieldLabel(target) }))),
      );
      select.value = choices[c] ?? "";
      if (!mappableColumn(names, c)) select.disabled = true;
      select.addEventListener("change", () => {
        stale();
        checkMapping();
      });
      mapRows.append(
        h(
          "div",
          { class: "map-row" },
          h("label", { for: id }, name.trim() === "" ? t("import.columnUnnamed", { n: c + 1 }) : t("import.column", { name: quoted(name.trim()) })),
          select,
          mappableColumn(names, c) ? null : h("span", { class: "muted small-text" }, t("import.columnNotMappable")),
        ),
      );
    });
    checkMapping();
  };

  const choices = (): string[] => [...mapRows.querySelectorAll<HTMLSelectElement>("select")].map((s) => s.value);

  /** Says what is wrong with the mapping; true if nothing. */
  const checkMapping = (): boolean => {
    const problems = mappingProblems(names, choices());
    const lines: string[] = [];
    if (problems.noTitle) lines.push(t("import.mapNoTitle"));
    for (const target of problems.twice) lines.push(t("import.mapTwice", { target: isSpecialTarget(target) ? t(`import.target.${target as "title" | "notes" | "type" | "folder"}`) : fieldLabel(target) }));
    mapError.textContent = lines.join(" ");
    return lines.length === 0;
  };

  const formatChanged = (): void => {
    stale();
    const f = selected();
    passphraseBox.hidden = !(f === "sharelock" && bytes !== undefined && isAge(bytes));
    mapBox.hidden = f !== "csv";
    if (f === "csv") drawMapping();
  };
  format.addEventListener("change", formatChanged);
  passphrase.addEventListener("input", stale);

  const load = async (file: File): Promise<void> => {
    if (busy) return;
    stale();
    bytes = undefined;
    fileName = file.name;
    formatBox.hidden = true;
    passphraseBox.hidden = true;
    mapBox.hidden = true;
    passphrase.value = "";
    if (file.size > MAX_FILE_BYTES) {
      fileStatus.textContent = t("import.fileChosen", { name: file.name, size: humanBytes(file.size) });
      setError(new ImportError("too_large", ""));
      return;
    }
    const read = new Uint8Array(await file.arrayBuffer());
    if (!ctx.isCurrent() || fileName !== file.name) return;
    bytes = read;
    fileStatus.textContent = t("import.fileChosen", { name: file.name, size: humanBytes(file.size) });
    const detected = detect(read);
    format.value = detected ?? "";
    formatHint.textContent = detected ? t("import.detected", { format: t(FORMAT_NAMES[detected]) }) : t("import.notDetected");
    formatBox.hidden = false;
    formatChanged();
    (detected ? (passphraseBox.hidden ? previewButton : passphrase) : format).focus();
  };
  picker.input.addEventListener("change", () => {
    const file = picker.input.files?.[0];
    if (file) void load(file);
    picker.input.value = "";
  });
  onFileDrop(zone, (files) => void load(files[0]!));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void runPreview();
  });

  async function runPreview(): Promise<void> {
    if (busy) return;
    stale();
    if (!bytes) {
      error.textContent = t("import.needFile");
      picker.button.focus();
      return;
    }
    const f = selected();
    if (f === "") {
      error.textContent = t("import.needFormat");
      format.focus();
      return;
    }
    let map: string | undefined;
    if (f === "csv") {
      if (!checkMapping()) {
        error.textContent = t("import.mapFix");
        mapRows.querySelector("select")?.focus();
        return;
      }
      map = columnMapText(names, choices());
    }
    const encrypted = f === "sharelock" && isAge(bytes);
    if (encrypted && passphrase.value === "") {
      error.textContent = t(FILE_ERRORS.passphrase_required);
      passphrase.focus();
      return;
    }
    busy = true;
    previewButton.disabled = true;
    status.textContent = encrypted ? t("import.decrypting") : t("import.reading");
    try {
      // Decrypting holds the thread for a moment: let the words above show first.
      await afterPaint();
      const read = await parseImport(f, bytes, { map, passphrase: encrypted ? passphrase.value : undefined });
      if (!ctx.isCurrent()) return;
      status.textContent = "";
      result = read;
      drawPreview(read);
    } catch (e) {
      if (!ctx.isCurrent()) return;
      status.textContent = "";
      setError(e);
      if (e instanceof ImportError && e.kind === "wrong_passphrase") passphrase.focus();
    } finally {
      busy = false;
      previewButton.disabled = false;
    }
  }

  function drawPreview(read: ImportResult): void {
    const counts = previewCounts(read);
    const lines = [tn("import.wouldCreate", counts.valid)];
    if (counts.invalid > 0) lines.push(tn("import.cannotCount", counts.invalid));
    if (counts.warnings > 0) lines.push(tn("import.warningCount", counts.warnings));
    const body = h("tbody", {});
    let listed = 0;
    for (const item of read.items) {
      if (item.body !== null) {
        if (listed >= PREVIEW_ROWS) continue;
        listed++;
      }
      body.append(previewRow(item));
    }
    const unlisted = counts.valid - listed;
    const others = h("input", { type: "checkbox", id: "import-others", "data-testid": "import-others" });
    const go = h("button", { type: "button", class: "primary", "data-testid": "import-submit", disabled: counts.invalid > 0 }, tn("import.submit", counts.valid));
    others.addEventListener("change", () => (go.disabled = !others.checked));
    go.addEventListener("click", () => void runImport(read, others.checked, go, others));
    replace(
      preview,
      h(
        "section",
        { class: "panel", "aria-labelledby": "import-preview-title" },
        h("h2", { id: "import-preview-title" }, t("import.previewTitle", { name: fileName })),
        h("p", { "data-testid": "import-counts" }, lines.join(" ")),
        h("p", { class: "muted small-text" }, t("import.dryRun")),
        read.warnings.length === 0
          ? null
          : h("ul", { class: "changes", "data-testid": "import-file-warnings" }, ...read.warnings.map((w) => h("li", {}, warningText(w)))),
        read.items.length === 0
          ? h("p", { "data-testid": "import-empty" }, t("import.noItems"))
          : h(
              "table",
              { class: "list import-preview", "data-testid": "import-items" },
              h(
                "thead",
                {},
                h("tr", {}, h("th", {}, t("import.colNumber")), h("th", {}, t("list.type")), h("th", {}, t("list.title")), h("th", {}, t("import.colContent")), h("th", {}, t("import.colNotices"))),
              ),
              body,
            ),
        unlisted > 0 ? h("p", { class: "muted" }, tn("import.unlisted", unlisted)) : null,
        counts.valid === 0
          ? h("p", { class: "error", "data-testid": "import-nothing" }, t("import.nothing"))
          : h(
              "div",
              {},
              counts.invalid === 0
                ? null
                : h(
                    "div",
                    { class: "warning", "data-testid": "import-invalid-choice" },
                    h("p", {}, tn("import.invalidNothing", counts.invalid)),
                    h("div", { class: "check" }, others, h("label", { for: "import-others" }, tn("import.importOthers", counts.valid))),
                  ),
              h("div", { class: "actions" }, go),
            ),
      ),
    );
    preview.querySelector("h2")?.setAttribute("tabindex", "-1");
    preview.querySelector<HTMLElement>("h2")?.focus();
  }

  function previewRow(item: Item): HTMLTableRowElement {
    const notices = [...(item.error === null ? [] : [itemErrorText(item.error)]), ...item.warnings.map(warningText)];
    const b = item.body;
    return h(
      "tr",
      { class: b === null ? "invalid" : "", "data-testid": b === null ? "import-item-invalid" : "import-item" },
      h("td", { class: "muted nowrap" }, t("import.itemNumber", { n: item.source + 1 })),
      h("td", {}, h("span", { class: "badge" }, b === null ? t("import.notImported") : typeName(b.type))),
      h("td", { class: "subtitle" }, item.title),
      h("td", { class: "muted" }, b === null ? "" : [tn("import.fields", b.fields.length), b.notes === "" ? "" : t("import.withNotes")].filter((s) => s !== "").join(", ")),
      h("td", {}, notices.length === 0 ? "" : h("ul", { class: b === null ? "changes error" : "changes" }, ...notices.map((n) => h("li", {}, n)))),
    );
  }

  async function runImport(read: ImportResult, importOthers: boolean, go: HTMLButtonElement, others: HTMLInputElement): Promise<void> {
    if (busy || result !== read) return;
    const items = itemsToCreate(read, importOthers);
    if (items.length === 0) return;
    busy = true;
    const controls = [...form.querySelectorAll<HTMLButtonElement | HTMLInputElement | HTMLSelectElement>("button, input, select")];
    const wasDisabled = controls.map((c) => c.disabled);
    for (const c of [...controls, go, others]) c.disabled = true;
    replace(report);
    setError();
    const bar = h("progress", { max: items.length, value: 0, class: "progress", "aria-label": t("import.progressLabel"), "data-testid": "import-progress" });
    const count = h("p", { class: "muted", role: "status", "data-testid": "import-progress-text" }, t("import.progress", { done: 0, total: items.length }));
    replace(report, bar, count);
    let outcomes: CreateOutcome[];
    try {
      outcomes = await ctx.session.records.createRecords(
        items.map((i) => i.body!),
        IMPORT_IN_FLIGHT,
        (settled) => {
          bar.value = settled;
          count.textContent = t("import.progress", { done: settled, total: items.length });
        },
      );
    } catch (e) {
      // Nothing was sent (a body broke a rule, or the session ended before the first request).
      busy = false;
      controls.forEach((c, i) => (c.disabled = wasDisabled[i]!));
      go.disabled = false;
      others.disabled = false;
      replace(report);
      if (ctx.isCurrent()) setError(e);
      else ctx.fail(e);
      return;
    }
    // A request with no answer may have stored its record: the record list says.
    const existing = needsLookup(outcomes) ? await ctx.session.records.ids().catch(() => undefined) : undefined;
    const done = importReport(items, outcomes, existing);
    for (const { item, id } of done.created) ctx.titles.set(id, item.title);
    busy = false;
    const skipped = read.items.length - items.length;
    if (!ctx.isCurrent()) {
      // The user went elsewhere meanwhile: the outcome as a notice.
      ctx.notify(summary(done), done.failure === undefined && done.unknown.length === 0 ? "ok" : "error");
      return;
    }
    // The file, format and mapping stay as they were; another import needs another preview.
    controls.forEach((c, i) => (c.disabled = wasDisabled[i]!));
    drawReport(done, skipped);
  }

  function summary(done: ImportReport): string {
    const parts = [tn("import.created", done.created.length)];
    if (done.notCreated.length > 0) parts.push(tn("import.notCreated", done.notCreated.length));
    if (done.unknown.length > 0) parts.push(tn("import.unknown", done.unknown.length));
    return parts.join(" ");
  }

  function drawReport(done: ImportReport, skipped: number): void {
    const list = (items: readonly Item[], testId: string): HTMLElement =>
      h("ul", { class: "changes", "data-testid": testId }, ...items.map((i) => h("li", {}, t("import.itemLine", { n: i.source + 1, title: quoted(i.title) }))));
    const show = h("button", { type: "button", class: "primary", "data-testid": "import-show-records" }, t("import.showRecords"));
    show.addEventListener("click", () => ctx.go({ kind: "list" }));
    const again = h("button", { type: "button", "data-testid": "import-again" }, t("import.again"));
    again.addEventListener("click", () => ctx.refresh());
    // After the progress, which stays.
    report.append(
      h(
        "section",
        { class: "panel", "aria-labelledby": "import-report-title", "data-testid": "import-done" },
        h("h2", { id: "import-report-title", tabindex: -1 }, t("import.reportTitle")),
        h("p", { class: done.failure === undefined ? "ok" : "", "data-testid": "import-created" }, tn("import.created", done.created.length)),
        done.failure === undefined ? null : h("p", { class: "error", "data-testid": "import-failure" }, t("import.stopped", { reason: explain(done.failure) })),
        done.notCreated.length === 0 ? null : h("div", {}, h("p", {}, tn("import.notCreated", done.notCreated.length)), list(done.notCreated, "import-not-created")),
        done.unknown.length === 0 ? null : h("div", { class: "warning" }, h("p", {}, tn("import.unknown", done.unknown.length)), list(done.unknown.map((u) => u.item), "import-unknown")),
        skipped === 0 ? null : h("p", { class: "muted", "data-testid": "import-skipped" }, tn("import.skipped", skipped)),
        h("div", { class: "actions" }, show, again),
      ),
    );
    report.querySelector<HTMLElement>("h2")?.focus();
    // The preview's button would import the same items again.
    for (const b of preview.querySelectorAll<HTMLButtonElement | HTMLInputElement>("button, input")) b.disabled = true;
  }

  replace(ctx.root, form, preview, report);
  picker.button.focus();
}
