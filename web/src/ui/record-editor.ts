// An editor for a record's title, fields and notes. It edits a copy; `read()` gives the new body, which
// the caller validates before sealing (files are kept as they are: they are added or removed elsewhere).
import type { Field, FieldKind, RecordBody } from "../protocol/record";
import { standardKind } from "../protocol/record";
import { h } from "./dom";
import { fieldLabel } from "./record-view";

const KINDS: FieldKind[] = ["text", "secret", "url", "email", "phone", "otp", "date", "multiline"];

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
  const title = h("input", { type: "text", value: body.title, maxlength: 256, required: true, "data-testid": "edit-title" });
  const fieldList = h("div", { class: "field-list" });
  const notes = h("textarea", { "data-testid": "edit-notes", rows: 5 });
  notes.value = body.notes;

  const addRow = (field: Field): void => {
    const input: HTMLInputElement | HTMLTextAreaElement =
      field.kind === "multiline" || (field.kind === "secret" && field.value.includes("\n"))
        ? h("textarea", { rows: 4 })
        : h("input", { type: field.kind === "secret" ? "password" : "text", autocomplete: "off", spellcheck: "false" });
    input.value = field.value;
    input.setAttribute("data-testid", `edit-${field.name}`);
    input.setAttribute("aria-label", fieldLabel(field.name));
    const entry: Row = { field, input, row: h("div"), removed: false };
    const remove = h("button", { type: "button", class: "small danger", title: "Remove this field" }, "Remove");
    remove.addEventListener("click", () => {
      entry.removed = true;
      entry.row.remove();
    });
    const controls = h("div", { class: "row" }, input);
    if (input instanceof HTMLInputElement && field.kind === "secret") {
      const show = h("button", { type: "button", class: "small" }, "Show");
      show.addEventListener("click", () => {
        input.type = input.type === "password" ? "text" : "password";
        show.textContent = input.type === "password" ? "Show" : "Hide";
      });
      controls.append(show);
    }
    controls.append(remove);
    entry.row.append(h("label", {}, `${fieldLabel(field.name)} `, h("span", { class: "muted" }, `(${field.kind})`)), controls);
    rows.push(entry);
    fieldList.append(entry.row);
  };
  body.fields.forEach(addRow);

  const newName = h("input", { type: "text", placeholder: "New field name", maxlength: 64, "data-testid": "new-field-name" });
  const newKind = h("select", { "data-testid": "new-field-kind" }, ...KINDS.map((k) => h("option", { value: k }, k)));
  const addError = h("span", { class: "error" });
  const add = h("button", { type: "button", class: "small", "data-testid": "add-field" }, "Add field");
  newName.addEventListener("input", () => {
    const kind = standardKind(body.type, newName.value.trim());
    if (kind) newKind.value = kind;
  });
  add.addEventListener("click", () => {
    const name = newName.value.trim();
    addError.textContent = "";
    if (!name) {
      addError.textContent = "Give the field a name.";
      return;
    }
    if (rows.some((r) => !r.removed && r.field.name === name)) {
      addError.textContent = "There is already a field with that name.";
      return;
    }
    addRow({ name, kind: standardKind(body.type, name) ?? (newKind.value as FieldKind), value: "" });
    newName.value = "";
  });

  const element = h(
    "div",
    { class: "editor" },
    h("label", {}, "Title"),
    title,
    fieldList,
    h("div", { class: "row add-field" }, newName, newKind, add, addError),
    h("label", {}, "Notes"),
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
