// A record: its current version with who wrote it, its shares, editing, history, and creating one.
import type { OpenedRecord, ShareEntry } from "../client/owner";
import type { ApiAuthor, OwnerEvent } from "../client/owner-api";
import type { Verification } from "../client/verify";
import { RECORD_TYPES, type Field, type FileRef, type RecordBody, type RecordType } from "../protocol/record";
import { addFilesTo, filePicker, h, humanBytes, localTime, onFileDrop, replace, withNodes } from "../ui/dom";
import { quoted, t, tn } from "../ui/i18n";
import { changeBetween, isUnchanged } from "../ui/record-diff";
import { recordEditor, type RecordEditor } from "../ui/record-editor";
import { renderRecord, typeName } from "../ui/record-view";
import { saveStream } from "../ui/save";
import type { Ctx } from "./app";
import { historyChanges } from "./changes";
import { shareItem } from "./share-item";
import { busyButton, localStore } from "./util";
import { rememberOwnShares } from "../client/own-shares";
import { isLive } from "../client/owner-api";
import { explain, isSessionEnd, reasonText } from "./errors";

/** Who wrote a version, in words, from what this client verified (not from what the server claims). */
export function authorText(verification: Verification, author: ApiAuthor, shares: readonly ShareEntry[]): string {
  if (verification.kind === "owner") return t("author.you");
  if (verification.kind === "recipient") {
    const share = shares.find((s) => s.info.handle === verification.handle);
    return share?.label
      ? t("author.recipientLabelled", { label: quoted(share.label), device: verification.fingerprint })
      : t("author.recipient", { device: verification.fingerprint });
  }
  return author.kind === "owner" ? t("author.claimsYou") : t("author.claimsRecipient");
}

function verifiedBadge(verification: Verification, testId: string): HTMLElement {
  return verification.kind === "unverified"
    ? h("span", { class: "badge warn", "data-testid": testId, title: reasonText(verification) }, t("record.unverified"))
    : h("span", { class: "badge ok", "data-testid": testId }, t("record.verified"));
}

// ---- Detail

export async function showRecord(ctx: Ctx, id: string): Promise<void> {
  const [record, shares] = await Promise.all([ctx.session.records.open(id), ctx.session.shares.list(id)]);
  const changed = await lastChange(ctx, record);
  if (!ctx.isCurrent()) return;
  ctx.titles.set(id, record.body.title);
  void rememberOwnShares(localStore(), shares.filter((s) => isLive(s.info)).map((s) => ({ shareId: s.info.share_id, expiresAt: s.info.expires_at })));
  const verified = record.verification.kind !== "unverified";
  const status = h("p", { class: "muted", "data-testid": "record-status", role: "status" });
  const say = (text: string, error = false): void => {
    status.textContent = text;
    status.className = error ? "error" : "muted";
  };

  const view = renderRecord(record.body, {
    now: () => ctx.session.serverNow(),
    onDownload: (file, button) => {
      const done = busyButton(button, "0 %");
      void ctx.session
        .files.downloadStream(id, file, (n, total) => {
          button.textContent = total ? `${Math.floor((100 * n) / total)} %` : humanBytes(n);
        })
        .then((plaintext) => saveStream(plaintext, file))
        .catch((e: unknown) => ctx.fail(e))
        .finally(done);
    },
  });
  ctx.onLeave(view.stop);

  const edit = h("button", { type: "button", "data-testid": "edit-record", disabled: !verified }, t("record.edit"));
  edit.addEventListener("click", () => ctx.go({ kind: "edit", id }));
  const canShare = verified && ctx.policy.one_time_share;
  const share = h("button", { type: "button", class: "primary", "data-testid": "share-record", disabled: !canShare }, t("record.share"));
  share.addEventListener("click", () => ctx.go({ kind: "share", id }));
  const history = h("button", { type: "button", "data-testid": "history" }, t("record.history"));
  history.addEventListener("click", () => ctx.go({ kind: "history", id }));
  const remove = h("button", { type: "button", class: "danger", "data-testid": "delete-record" }, t("record.delete"));
  remove.addEventListener("click", () => {
    if (!confirm(t("record.confirmDelete", { title: quoted(record.body.title) }))) return;
    const done = busyButton(remove, t("record.deleting"));
    ctx.session.records.delete(id).then(
      () => {
        ctx.titles.delete(id);
        ctx.notify(t("record.deleted", { title: quoted(record.body.title) }), "ok");
        ctx.go({ kind: "list" });
      },
      (e: unknown) => {
        done();
        ctx.fail(e);
      },
    );
  });
  const attach = filePicker(t("share.addFiles"), "attach-files");
  const attachFiles = (files: File[]): void => {
    if (files.length === 0 || !verified) return;
    say(files.length === 1 ? t("record.uploadingOne", { name: files[0]!.name }) : t("share.uploading", { count: files.length }));
    ctx.session
      .files.attach(id, files, ctx.policy.max_file_bytes, (n, total) => say(t("record.uploadingPercent", { percent: total ? Math.floor((100 * n) / total) : 100 })))
      .then(
        () => {
          ctx.notify(t("share.added", { names: files.map((f) => quoted(f.name)).join(", ") }), "ok");
          ctx.refresh();
        },
        (e: unknown) => {
          if (isSessionEnd(e)) ctx.fail(e);
          else say(explain(e), true);
        },
      );
  };
  attach.input.addEventListener("change", () => {
    const files = [...(attach.input.files ?? [])];
    attach.input.value = "";
    attachFiles(files);
  });

  const warning = verified
    ? null
    : h(
        "div",
        { class: "warning", "data-testid": "unverified-warning" },
        h("strong", {}, t("record.unverifiedTitle")),
        " ",
        t("record.unverifiedText", { reason: reasonText(record.verification) }),
      );

  const summaryWarning = record.summaryMismatch
    ? h(
        "div",
        { class: "warning", "data-testid": "summary-mismatch" },
        t("record.summaryMismatch"),
      )
    : null;

  const panel = h(
    "div",
    { class: "panel", "data-testid": "record-panel" },
    warning,
    summaryWarning,
    view.element,
      h(
        "p",
        { class: "muted meta", "data-testid": "record-meta" },
        ...withNodes(t("record.changedBy", { time: localTime(changed.at) }), { author: h("span", { "data-testid": "record-author" }, authorText(changed.verification, changed.author, shares)) }),
        " ",
        verifiedBadge(changed.verification, "record-verified"),
      ),
    h("div", { class: "actions" }, edit, share, verified ? attach.button : null, verified ? attach.input : null, history, remove),
    verified ? h("p", { class: "muted small-text" }, t("record.dropHint")) : null,
    !ctx.policy.one_time_share ? h("p", { class: "muted small-text" }, t("record.noShares")) : null,
    status,
  );
  // Files dropped on the record are added like chosen ones.
  if (verified) onFileDrop(panel, attachFiles);
  replace(ctx.root, panel, shareList(ctx, record, shares, say));
}

function shareList(ctx: Ctx, record: OpenedRecord, shares: ShareEntry[], say: (text: string, error?: boolean) => void): HTMLElement {
  const live = shares.filter((s) => isLive(s.info));
  const ended = shares.filter((s) => !isLive(s.info));
  const panel = h("div", { class: "panel", "data-testid": "share-list" }, h("h2", {}, t("nav.shares")));
  if (shares.length === 0) {
    panel.append(h("p", { class: "muted", "data-testid": "no-shares" }, t("record.notShared")));
    return panel;
  }
  const item = (entry: ShareEntry): HTMLElement => shareItem(ctx, entry, { recordId: record.id, title: record.body.title, say });
  if (live.length === 0) panel.append(h("p", { class: "muted" }, t("record.noLiveShare")));
  for (const entry of live) panel.append(item(entry));
  if (ended.length > 0) {
    const details = h("details", {}, h("summary", {}, t("record.endedShares", { count: ended.length })));
    for (const entry of ended) details.append(item(entry));
    panel.append(details);
  }
  return panel;
}

// ---- Editing

/** A form around an editor: Enter in a one-line input submits, except in "new field name", where it adds the field. */
function editorForm(editor: RecordEditor, ...rest: (HTMLElement | null)[]): HTMLFormElement {
  const form = h("form", { novalidate: true }, editor.element, ...rest);
  const newName = editor.element.querySelector<HTMLInputElement>('[data-testid="new-field-name"]');
  const add = editor.element.querySelector<HTMLButtonElement>('[data-testid="add-field"]');
  newName?.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      add?.click();
    }
  });
  return form;
}

/** The record's files with a toggle to remove each (takes effect on save). */
function fileRemover(files: readonly FileRef[]): { element: HTMLElement | null; removed: Set<string> } {
  const removed = new Set<string>();
  if (files.length === 0) return { element: null, removed };
  const list = h("ul", { class: "files" });
  for (const file of files) {
    const name = h("span", { class: "value" }, file.name);
    const toggle = h("button", { type: "button", class: "small danger", "data-testid": `remove-file-${file.name}`, "aria-label": t("edit.removeFile", { name: file.name }) }, t("editor.remove"));
    toggle.addEventListener("click", () => {
      const gone = !removed.has(file.id);
      if (gone) removed.add(file.id);
      else removed.delete(file.id);
      name.classList.toggle("struck", gone);
      toggle.textContent = gone ? t("edit.keep") : t("editor.remove");
      toggle.setAttribute("aria-label", t(gone ? "edit.keepFile" : "edit.removeFile", { name: file.name }));
    });
    list.append(h("li", {}, name, " ", h("span", { class: "muted" }, humanBytes(file.size)), " ", toggle));
  }
  return { element: h("div", {}, h("label", {}, t("view.files")), list), removed };
}

export async function showEdit(ctx: Ctx, id: string): Promise<void> {
  const record = await ctx.session.records.open(id);
  if (!ctx.isCurrent()) return;
  if (record.verification.kind === "unverified") {
    ctx.go({ kind: "record", id });
    return;
  }
  const before = record.body;
  const editor = recordEditor(before);
  const remover = fileRemover(before.files);
  const add = filePicker(t("share.addFiles"), "edit-add-files");
  const chosen = h("span", { class: "muted small-text" });
  add.input.addEventListener("change", () => {
    const n = add.input.files?.length ?? 0;
    chosen.textContent = n === 0 ? "" : tn("edit.toAdd", n);
  });
  const meanwhile = h("p", { class: "notice info", "data-testid": "changed-meanwhile", hidden: true }, t("edit.meanwhile"));
  ctx.onLive((event: OwnerEvent) => {
    if (event.record === id && event.kind === "record_edited") meanwhile.hidden = false;
  });
  const error = h("p", { class: "error", "data-testid": "edit-error", role: "alert" });
  const save = h("button", { type: "submit", class: "primary", "data-testid": "save-record" }, t("share.save"));
  const cancel = h("button", { type: "button", "data-testid": "cancel" }, t("share.cancel"));
  cancel.addEventListener("click", () => ctx.go({ kind: "record", id }));
  const form = editorForm(editor, remover.element, h("div", { class: "row" }, add.button, add.input, chosen), meanwhile, error, h("div", { class: "actions" }, save, cancel));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const after = editor.read();
    const files = [...(add.input.files ?? [])];
    if (isUnchanged(before, after) && files.length === 0 && remover.removed.size === 0) {
      ctx.go({ kind: "record", id });
      return;
    }
    error.textContent = "";
    const done = busyButton(save, t("edit.saving"));
    const fields = changeBetween(before, after);
    void (async () => {
      const added: FileRef[] = [];
      for (const file of files) {
        save.textContent = t("edit.uploadingName", { name: file.name });
        added.push(await ctx.session.files.upload(id, file, ctx.policy.max_file_bytes));
      }
      save.textContent = t("edit.saving");
      // Only this user's change is applied to whatever version is current when it is written.
      return ctx.session.records.write(id, (current) => {
        const next = fields(current);
        return { ...next, files: [...current.files.filter((f) => !remover.removed.has(f.id)), ...added] };
      });
    })().then(
      () => {
        ctx.notify(t("edit.saved", { title: quoted(after.title) }), "ok");
        ctx.go({ kind: "record", id });
      },
      (e: unknown) => {
        done();
        if (isSessionEnd(e)) ctx.fail(e);
        else error.textContent = explain(e, true);
      },
    );
  });
  const panel = h("div", { class: "panel" }, h("h1", {}, t("edit.title", { title: quoted(before.title) })), h("p", { class: "muted" }, typeName(before.type)), form);
  onFileDrop(panel, (dropped) => addFilesTo(add.input, dropped));
  replace(ctx.root, panel);
  editor.element.querySelector<HTMLInputElement>('[data-testid="edit-title"]')?.focus();
}

/** A new body of `type`: its standard fields, keeping the values of fields already typed that share a name. */
export function templateBody(type: RecordType, previous?: RecordBody): RecordBody {
  const template = RECORD_TYPES.find((t) => t.type === type)?.fields ?? [];
  const kept = new Map((previous?.fields ?? []).map((f) => [f.name, f.value]));
  const fields: Field[] = template.map((f) => ({ name: f.name, kind: f.kind, value: kept.get(f.name) ?? "" }));
  return { type, title: previous?.title ?? "", fields, notes: previous?.notes ?? "", files: [] };
}

export function showNew(ctx: Ctx): void {
  let type: RecordType = "login";
  let editor = recordEditor(templateBody(type));
  const holder = h("div", {}, editor.element);
  const select = h("select", { id: "new-type", "data-testid": "new-type" }, ...RECORD_TYPES.map((t) => h("option", { value: t.type }, typeName(t.type))));
  select.value = type;
  const files = filePicker(t("new.attach"), "new-files");
  const chosen = h("span", { class: "muted small-text", "data-testid": "new-files-chosen" });
  files.input.addEventListener("change", () => {
    const list = [...(files.input.files ?? [])];
    chosen.textContent = list.length === 0 ? "" : list.map((f) => `${f.name} (${humanBytes(f.size)})`).join(", ");
  });
  const error = h("p", { class: "error", "data-testid": "edit-error", role: "alert" });
  const save = h("button", { type: "submit", class: "primary", "data-testid": "save-record" }, t("share.save"));
  const cancel = h("button", { type: "button", "data-testid": "cancel" }, t("share.cancel"));
  cancel.addEventListener("click", () => ctx.go({ kind: "list" }));
  ctx.onLive(() => undefined);

  const wire = (): HTMLFormElement => {
    const form = editorForm(
      editor,
      h("div", { class: "row" }, files.button, files.input, chosen),
      error,
      h("div", { class: "actions" }, save, cancel),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    return form;
  };
  select.addEventListener("change", () => {
    const previous = editor.read();
    type = select.value as RecordType;
    editor = recordEditor(templateBody(type, previous));
    replace(holder, wire());
  });

  const submit = (): void => {
    const body = editor.read();
    const picked = [...(files.input.files ?? [])];
    error.textContent = "";
    if (body.title.trim() === "") {
      error.textContent = t("new.needTitle");
      editor.element.querySelector<HTMLInputElement>('[data-testid="edit-title"]')?.focus();
      return;
    }
    const done = busyButton(save, t("edit.saving"));
    let created: string | undefined;
    void (async () => {
      created = await ctx.session.records.create(body);
      ctx.titles.set(created, body.title);
      if (picked.length > 0) {
        await ctx.session.files.attach(created, picked, ctx.policy.max_file_bytes, (n, total) => {
          save.textContent = t("share.progress", { percent: total ? Math.floor((100 * n) / total) : 100 });
        });
      }
      return created;
    })().then(
      (id) => {
        ctx.notify(t("edit.saved", { title: quoted(body.title) }), "ok");
        ctx.go({ kind: "record", id });
      },
      (e: unknown) => {
        done();
        if (created !== undefined) {
          // The record exists; only the files failed. Show it, with the reason.
          ctx.notify(t("new.filesFailed", { title: quoted(body.title), reason: explain(e) }), "error");
          ctx.go({ kind: "record", id: created });
          return;
        }
        error.textContent = explain(e, true);
      },
    );
  };

  replace(holder, wire());
  const panel = h("div", { class: "panel" }, h("h1", {}, t("nav.newRecord")), h("label", { for: "new-type" }, t("list.type")), select, holder);
  onFileDrop(panel, (dropped) => addFilesTo(files.input, dropped));
  replace(ctx.root, panel);
  select.focus();
}

// ---- History

export async function showHistory(ctx: Ctx, id: string): Promise<void> {
  const [history, shares] = await Promise.all([ctx.session.records.history(id), ctx.session.shares.list(id)]);
  if (!ctx.isCurrent()) return;
  const current = history[history.length - 1];
  const title = current?.body?.title ?? ctx.titles.get(id);
  const back = h("button", { type: "button", "data-testid": "back-to-record" }, t("record.back"));
  back.addEventListener("click", () => ctx.go({ kind: "record", id }));
  const list = h("ol", { class: "history", "data-testid": "history-list" });
  const changes = historyChanges(history);
  const items: HTMLElement[] = [];
  for (const change of changes) {
    const entry = change.entry;
    const first = change === changes[0];
    // The state the record had after this change (and the new keys that followed it).
    const latest = change.quiet.at(-1) ?? entry;
    const item = h(
      "li",
      { "data-testid": "history-entry", "data-version": entry.version },
      h(
        "div",
        { class: "share-head" },
        ...withNodes(t(first ? "history.createdBy" : "history.changedBy", { time: localTime(entry.createdAt) }), {
          author: h("span", { "data-testid": "history-author" }, authorText(entry.verification, entry.author, shares)),
        }),
        " ",
        verifiedBadge(entry.verification, "history-verified"),
      ),
      // A version that does not fit in the history is unverified for that reason alone: said once.
      entry.verification.kind === "unverified" && entry.problem === undefined ? h("div", { class: "error small-text" }, t("history.notAttributed", { reason: reasonText(entry.verification) })) : null,
      entry.problem !== undefined ? h("div", { class: "error small-text" }, t("history.unreadable", { reason: explain(entry.problem) })) : null,
      change.lines.length > 0 && !first ? h("ul", { class: "changes small-text" }, ...change.lines.map((c) => h("li", {}, c))) : null,
    );
    const body = entry.body;
    // Restoring is offered for a verified state whose content differs from the current one.
    const differs = body !== undefined && (current?.body === undefined || !isUnchanged(current.body, body));
    if (body && differs && latest !== current && entry.verification.kind !== "unverified") {
      const when = localTime(entry.createdAt);
      const restore = h("button", { type: "button", class: "small", "data-testid": `restore-${entry.version}`, "aria-label": t("history.restoreLabel", { time: when }) }, t("history.restore"));
      restore.addEventListener("click", () => {
        if (!confirm(t("history.confirmRestore", { title: quoted(body.title), time: when }))) return;
        const done = busyButton(restore, t("history.restoring"));
        // The whole body is replaced, so nothing of the current version is resealed (it may be unverified).
        ctx.session.records.write(id, () => structuredClone(body), { replacesBody: true }).then(
          () => {
            ctx.notify(t("history.restored", { title: quoted(body.title), time: when }), "ok");
            ctx.go({ kind: "record", id });
          },
          (e: unknown) => {
            done();
            ctx.fail(e);
          },
        );
      });
      item.append(h("div", { class: "row" }, restore));
    }
    items.push(item);
  }
  list.append(...items.reverse());
  replace(
    ctx.root,
    h(
      "div",
      { class: "panel" },
      h("div", { class: "toolbar" }, h("h1", {}, title === undefined ? t("history.titleUnknown") : t("history.title", { title: quoted(title) })), back),
      h("p", { class: "muted" }, t("history.intro")),
      list,
    ),
  );
}

/**
 * The change that made the record what it is now. The current version is usually that change; when this
 * vault wrote it with the same content (a new key when a share started or ended), the history says whose
 * change it was. Only then is the history read.
 */
async function lastChange(ctx: Ctx, record: OpenedRecord): Promise<{ at: string; author: ApiAuthor; verification: Verification }> {
  const itself = { at: record.updatedAt, author: record.author, verification: record.verification };
  if (record.verification.kind !== "owner" || record.keyGen <= 1) return itself;
  try {
    const change = historyChanges(await ctx.session.records.history(record.id)).at(-1);
    if (!change || (change.quiet.at(-1) ?? change.entry).version !== record.version) return itself;
    return { at: change.entry.createdAt, author: change.entry.author, verification: change.entry.verification };
  } catch (e) {
    if (isSessionEnd(e)) throw e;
    return itself;
  }
}
