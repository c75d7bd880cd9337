// An editor for a record's title, fields and notes. It edits a copy; `read()` gives the new body, which
// the caller validates before sealing (files are kept as they are: they are added or removed elsewhere).
import type { Field, FieldKind, RecordBody } from "../protocol/record";
import { standardKind } from "../protocol/record";
import { h } from "./dom";
import { fieldLabel } from "./record-view";

/** The kinds a new field can have, as people call them. */
const KINDS: Record<FieldKind, string> = {
  text: "Text",
  secret: "Hidden (a password, a key)",
  url: "Web address",
  email: "Email address",
  phone: "Phone number",
  otp: "One-time code (TOTP)",
  date: "Date",
  multiline: "Several lines",
};

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
    const remove = h("button", { type: "button", class: "small danger", "aria-label": `Remove the field ${label}` }, "Remove");
    remove.addEventListener("click", () => {
      entry.removed = true;
      entry.row.remove();
    });
    const controls = h("div", { class: "row" }, input);
    if (input instanceof HTMLInputElement && field.kind === "secret") {
      const show = h("button", { type: "button", class: "small", "aria-controls": input.id, "aria-label": `Show ${label}` }, "Show");
      show.addEventListener("click", () => {
        input.type = input.type === "password" ? "text" : "password";
        show.textContent = input.type === "password" ? "Show" : "Hide";
        show.setAttribute("aria-label", `${show.textContent} ${label}`);
      });
      controls.append(show);
    }
    controls.append(remove);
    // Only a hidden field says what it is: the others show their value as typed.
    const hint = field.kind === "secret" ? " (hidden on screen)" : field.kind === "otp" ? " (the code's secret key)" : "";
    entry.row.append(h("label", { for: input.id }, label, hint ? h("span", { class: "muted" }, hint) : null), controls);
    rows.push(entry);
    fieldList.append(entry.row);
  };
  body.fields.forEach(addRow);

  const newName = h("input", { type: "text", placeholder: "New field name", "aria-label": "New field name", maxlength: 64, "data-testid": "new-field-name" });
  const newKind = h("select", { "data-testid": "new-field-kind", "aria-label": "Kind of the new field" }, ...Object.entries(KINDS).map(([k, name]) => h("option", { value: k }, name)));
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
    h("label", { for: title.id }, "Title"),
    title,
    fieldList,
    h("div", { class: "row add-field" }, newName, newKind, add, addError),
    h("label", { for: notes.id }, "Notes"),
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
