// An editor for a record's title, fields and notes. It edits a copy; `read()` gives the new body, which
// the caller validates before sealing (files are kept as they are: they are added or removed elsewhere).
import type { Field, FieldKind, RecordBody } from "../protocol/record";
import { standardKind } from "../protocol/record";
import { generateSecret, type GeneratorChoice } from "../protocol/passphrase";
import { h } from "./dom";
import { t } from "./i18n";
import { fieldLabel } from "./record-view";

/** The kinds a new field can have. */
const KINDS: readonly FieldKind[] = ["text", "secret", "url", "email", "phone", "otp", "date", "multiline"];

/** What Generate makes, in the order offered; the first is the default. */
const GENERATORS: readonly GeneratorChoice[] = ["symbols20", "letters20", "symbols32", "words"];

/** The generator chosen last in this page (a new editor starts with it). */
let generatorChoice: GeneratorChoice = "symbols20";

/** Ids for the labels of this page's editors (an editor can be built again while another is shown). */
let editors = 0;

interface Row {
  field: Field;
  input: HTMLInputElement | HTMLTextAreaElement;
  row: HTMLElement;
  removed: boolean;
}

export interface RecordEditor {
  element: HTMLElement;
  /** The edited body. */
  read(): RecordBody;
}

/** Builds an editor for `body`. */
export function recordEditor(body: RecordBody): RecordEditor {
  const rows: Row[] = [];
  const prefix = `editor${++editors}`;
  let fieldIds = 0;
  const title = h("input", { id: `${prefix}-title`, type: "text", value: body.title, maxlength: 256, required: true, "data-testid": "edit-title" });
  const fieldList = h("div", { class: "field-list" });
  const notes = h("textarea", { id: `${prefix}-notes`, "data-testid": "edit-notes", rows: 5 });
  notes.value = body.notes;
  const generator = h("select", { id: `${prefix}-generator`, "data-testid": "generator-choice" }, ...GENERATORS.map((g) => h("option", { value: g }, t(`generator.${g}`))));
  generator.value = generatorChoice;
  generator.addEventListener("change", () => {
    generatorChoice = generator.value as GeneratorChoice;
  });
  const generatorRow = h("div", { class: "generator", hidden: true }, h("label", { for: generator.id }, t("generator.label")), generator);

  const addRow = (field: Field): void => {
    const input: HTMLInputElement | HTMLTextAreaElement =
      field.kind === "multiline" || (field.kind === "secret" && field.value.includes("\n"))
        ? h("textarea", { rows: 4 })
        : h("input", { type: field.kind === "secret" ? "password" : "text", autocomplete: "off", spellcheck: "false" });
    input.value = field.value;
    input.id = `${prefix}-field${++fieldIds}`;
    input.setAttribute("data-testid", `edit-${field.name}`);
    const label = fieldLabel(field.name);
    const entry: Row = { field, input, row: h("div"), removed: false };
    const remove = h("button", { type: "button", class: "small danger", "aria-label": t("editor.removeNamed", { name: label }) }, t("editor.remove"));
    remove.addEventListener("click", () => {
      entry.removed = true;
      entry.row.remove();
    });
    const controls = h("div", { class: "row" }, input);
    if (input instanceof HTMLInputElement && field.kind === "secret") {
      const show = h("button", { type: "button", class: "small", "aria-controls": input.id, "aria-label": t("view.showNamed", { name: label }) }, t("view.show"));
      const shown = (): void => {
        const hidden = input.type === "password";
        show.textContent = hidden ? t("view.show") : t("view.hide");
        show.setAttribute("aria-label", t(hidden ? "view.showNamed" : "view.hideNamed", { name: label }));
      };
      show.addEventListener("click", () => {
        input.type = input.type === "password" ? "text" : "password";
        shown();
      });
      // A fresh random value of the kind chosen below the fields, shown so that it can be checked.
      const generate = h("button", { type: "button", class: "small", "aria-controls": input.id, "aria-label": t("generator.generateNamed", { name: label }), "data-testid": `generate-${field.name}` }, t("generator.generate"));
      generate.addEventListener("click", () => {
        input.value = generateSecret(generatorChoice);
        input.type = "text";
        shown();
        input.dispatchEvent(new Event("input", { bubbles: true }));
      });
      controls.append(show, generate);
      generatorRow.hidden = false;
    }
    controls.append(remove);
    // Only a hidden field says what it is: the others show their value as typed.
    const hint = field.kind === "secret" ? t("editor.hiddenHint") : field.kind === "otp" ? t("editor.otpHint") : "";
    entry.row.append(h("label", { for: input.id }, label, hint ? h("span", { class: "muted" }, hint) : null), controls);
    rows.push(entry);
    fieldList.append(entry.row);
  };
  body.fields.forEach(addRow);

  const newName = h("input", { type: "text", placeholder: t("editor.newName"), "aria-label": t("editor.newName"), maxlength: 64, "data-testid": "new-field-name" });
  const newKind = h("select", { "data-testid": "new-field-kind", "aria-label": t("editor.newKind") }, ...KINDS.map((k) => h("option", { value: k }, t(`kind.${k}`))));
  const addError = h("span", { class: "error" });
  const add = h("button", { type: "button", class: "small", "data-testid": "add-field" }, t("editor.addField"));
  newName.addEventListener("input", () => {
    const kind = standardKind(body.type, newName.value.trim());
    if (kind) newKind.value = kind;
  });
  add.addEventListener("click", () => {
    const name = newName.value.trim();
    addError.textContent = "";
    if (!name) {
      addError.textContent = t("editor.needName");
      return;
    }
    if (rows.some((r) => !r.removed && r.field.name === name)) {
      addError.textContent = t("editor.duplicate");
      return;
    }
    addRow({ name, kind: standardKind(body.type, name) ?? (newKind.value as FieldKind), value: "" });
    newName.value = "";
  });

  const element = h(
    "div",
    { class: "editor" },
    h("label", { for: title.id }, t("editor.title")),
    title,
    fieldList,
    generatorRow,
    h("div", { class: "row add-field" }, newName, newKind, add, addError),
    h("label", { for: notes.id }, t("editor.notes")),
    notes,
  );
  return {
    element,
    read: () => ({
      type: body.type,
      title: title.value,
      fields: rows.filter((r) => !r.removed).map((r) => ({ name: r.field.name, kind: r.field.kind, value: r.input.value })),
      notes: notes.value,
      files: body.files,
    }),
  };
}
