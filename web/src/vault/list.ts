// The record list: type, title, subtitle, last change, whether it is shared; a search box filters it.
import type { RecordListEntry } from "../client/owner";
import { h, localTime, replace } from "../ui/dom";
import { t } from "../ui/i18n";
import { typeName } from "../ui/record-view";
import { explain, reasonText } from "./errors";
import type { Ctx } from "./app";

/** The search text survives redraws (a language change or a gap in the live events redraws the list). */
let query = "";

/** Forgets the search (the vault was locked). */
export function resetSearch(): void {
  query = "";
}

/** Text as the search compares it: without accents, in lower case. */
function fold(s: string): string {
  return s.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

/** The words of a search, folded. */
function words(text: string): string[] {
  return fold(text)
    .split(/\s+/)
    .filter((w) => w !== "");
}

/** What the search looks in for an entry: its title and subtitle, folded once. */
function haystack(entry: { title: string; subtitle: string }): string {
  return fold(`${entry.title} ${entry.subtitle}`);
}

/** Whether an entry matches the search: every word in its title or subtitle, ignoring case and accents. */
export function matches(entry: { title: string; subtitle: string }, text: string): boolean {
  const hay = haystack(entry);
  return words(text).every((w) => hay.includes(w));
}

/** A drawn row of the list. */
interface Row {
  element: HTMLTableRowElement;
  hay: string;
  updatedAt: string;
  open: () => void;
}

export async function showList(ctx: Ctx): Promise<void> {
  const search = h("input", { type: "search", placeholder: t("list.searchPlaceholder"), "aria-label": t("list.search"), "data-testid": "search", class: "search" });
  search.value = query;
  const none = h("p", { class: "muted", "data-testid": "no-match", hidden: true });
  const rows = new Map<string, Row>();
  const body = h("tbody", {});
  // Each keystroke only compares the folded words with each row's text, folded once when drawn, and
  // touches only the rows whose visibility changes: instant with thousands of records.
  const show = (r: Row, wanted: readonly string[]): boolean => {
    const visible = wanted.every((w) => r.hay.includes(w));
    if (r.element.hidden === visible) r.element.hidden = !visible;
    return visible;
  };
  const apply = (): void => {
    query = search.value;
    const wanted = words(query);
    let shown = 0;
    for (const r of rows.values()) if (show(r, wanted)) shown++;
    none.hidden = shown > 0 || rows.size === 0;
    none.textContent = t("list.noMatch", { query });
  };
  search.addEventListener("input", apply);
  search.addEventListener("keydown", (event) => {
    // Enter opens the only match; Escape clears the search.
    if (event.key === "Enter") {
      const visible = [...rows.values()].filter((r) => !r.element.hidden);
      if (visible.length === 1) visible[0]!.open();
    } else if (event.key === "Escape") {
      search.value = "";
      apply();
    }
  });
  const table = h(
    "table",
    { class: "list", "data-testid": "record-list" },
    h("thead", {}, h("tr", {}, h("th", {}, t("list.type")), h("th", {}, t("list.title")), h("th", {}, t("list.updated")))),
    body,
  );
  let drawn = false;
  // The first batch (about a screenful) is drawn as soon as it is open; later batches are appended.
  const entries = await ctx.session.records.list((batch) => {
    if (!ctx.isCurrent() || batch.length === 0) return;
    const wanted = words(query);
    for (const entry of batch) {
      if (entry.summary) ctx.titles.set(entry.id, entry.summary.title);
      const r = row(ctx, entry);
      rows.set(entry.id, r);
      show(r, wanted);
      body.append(r.element);
    }
    if (!drawn) {
      drawn = true;
      replace(ctx.root, h("div", { class: "panel" }, h("div", { class: "toolbar" }, h("h1", {}, t("nav.records")), search), table, none));
      if (query) search.focus();
    }
  });
  if (!ctx.isCurrent()) return;
  if (entries.length === 0) {
    const add = h("button", { type: "button", class: "primary", "data-testid": "empty-new-record" }, t("nav.newRecord"));
    add.addEventListener("click", () => ctx.go({ kind: "new" }));
    const importRecords = h("button", { type: "button", "data-testid": "empty-import" }, t("list.import"));
    importRecords.addEventListener("click", () => ctx.go({ kind: "import" }));
    replace(ctx.root, h("div", { class: "panel" }, h("h1", {}, t("nav.records")), h("p", { "data-testid": "records-empty" }, t("list.empty")), h("div", { class: "actions" }, add, importRecords)));
    return;
  }
  apply();

  // A live event changes the rows of its record only: that record's line is fetched and drawn again
  // (or removed, if the record is gone). An event naming no record, a record new to this page, or an
  // emptied list draws the whole list again.
  // One update at a time per record, each fetched after the event that asked for it.
  const updates = new Map<string, Promise<void>>();
  const update = async (id: string): Promise<void> => {
    const entry = await ctx.session.records.entry(id);
    if (!ctx.isCurrent()) return;
    const old = rows.get(id);
    if (entry === undefined) {
      old?.element.remove();
      rows.delete(id);
      if (rows.size === 0) ctx.refresh();
      else apply();
      return;
    }
    if (old === undefined) {
      ctx.refresh();
      return;
    }
    if (entry.summary) ctx.titles.set(id, entry.summary.title);
    const fresh = row(ctx, entry);
    rows.set(id, fresh);
    // The list is newest change first: a record changed now moves to the top.
    if (entry.updatedAt !== old.updatedAt) {
      old.element.remove();
      body.prepend(fresh.element);
    } else {
      old.element.replaceWith(fresh.element);
    }
    show(fresh, words(query));
  };
  ctx.onUpdate((event) => {
    const id = event.record;
    if (id === null) {
      ctx.refresh();
      return;
    }
    const next = (updates.get(id) ?? Promise.resolve()).then(() => update(id)).catch((e: unknown) => {
      if (ctx.isCurrent()) ctx.fail(e);
    });
    updates.set(id, next);
    void next.then(() => {
      if (updates.get(id) === next) updates.delete(id);
    });
  });
}

function row(ctx: Ctx, entry: RecordListEntry): Row {
  const open = (): void => ctx.go({ kind: "record", id: entry.id });
  const title = entry.summary?.title ?? t("list.unreadableTitle");
  const subtitle = entry.summary?.subtitle ?? "";
  const button = h("button", { type: "button", class: "linklike title", "data-testid": "record-open" }, title);
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    open();
  });
  const badges = h("span", { class: "badges" });
  if (entry.liveShares > 0) badges.append(h("span", { class: "badge shared", "data-testid": "badge-shared" }, entry.liveShares > 1 ? t("list.sharedTimes", { count: entry.liveShares }) : t("list.shared")));
  if (entry.problem !== undefined) {
    badges.append(h("span", { class: "badge warn", title: explain(entry.problem) }, t("list.unreadable")));
  } else if (entry.verification.kind === "unverified") {
    badges.append(h("span", { class: "badge warn", title: reasonText(entry.verification) }, t("list.unverified")));
  }
  const element = h(
    "tr",
    { class: "clickable", "data-testid": "record-row", "data-id": entry.id },
    h("td", {}, h("span", { class: "badge" }, entry.summary ? typeName(entry.summary.type) : "?")),
    h("td", {}, button, " ", badges, subtitle ? h("div", { class: "muted subtitle" }, subtitle) : null, entry.problem !== undefined ? h("div", { class: "error small-text" }, explain(entry.problem)) : null),
    h("td", { class: "muted nowrap" }, localTime(entry.updatedAt)),
  );
  element.addEventListener("click", open);
  return { element, hay: haystack({ title, subtitle }), updatedAt: entry.updatedAt, open };
}
