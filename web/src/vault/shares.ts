// The Shares screen: every share of every record, live ones or ended ones, with the record each belongs
// to, what its recipient did (opened on which device, last read, edits) and what others tried (wrong
// passphrases, refused devices), and the actions to copy a link again or end a share.
import type { ShareEntry } from "../client/owner";
import { isLive } from "../client/owner-api";
import { h, replace } from "../ui/dom";
import { t, tn } from "../ui/i18n";
import type { Ctx, SharesFilter } from "./app";
import { shareItem } from "./share-item";
import { busyButton, localStore } from "./util";
import { reportCsv } from "./report";
import { rfc3339 } from "../client/export";
import { saveStream } from "../ui/save";
import { explain } from "./errors";
import { rememberOwnShares } from "../client/own-shares";

/** The shares a filter shows, in the server's order (newest first). */
export function filterShares(entries: readonly ShareEntry[], filter: SharesFilter): ShareEntry[] {
  return entries.filter((e) => isLive(e.info) === (filter === "active"));
}

export async function showShares(ctx: Ctx, filter: SharesFilter): Promise<void> {
  const entries = await ctx.session.shares.list();
  // Titles come from the record list; it is read only when a share names a record not seen yet.
  const unknown = entries.some((e) => e.info.end_reason !== "record_deleted" && !ctx.titles.has(e.info.record_id));
  if (unknown) {
    for (const record of await ctx.session.records.list()) if (record.summary) ctx.titles.set(record.id, record.summary.title);
  }
  if (!ctx.isCurrent()) return;
  const live = filterShares(entries, "active");
  // Shares made elsewhere (the CLI, another browser) are this vault's too: the recipient's page warns here.
  void rememberOwnShares(localStore(), live.map((e) => ({ shareId: e.info.share_id, expiresAt: e.info.expires_at })));
  const ended = filterShares(entries, "ended");
  const shown = filter === "active" ? live : ended;

  const tab = (which: SharesFilter, text: string, count: number): HTMLButtonElement => {
    const button = h("button", { type: "button", class: `small ${which === filter ? "primary" : ""}`, "aria-pressed": String(which === filter), "data-testid": `shares-filter-${which}` }, t("shares.tab", { name: text, count }));
    button.addEventListener("click", () => ctx.go({ kind: "shares", filter: which }));
    return button;
  };
  // Asking for a secret makes a record and a share of it: it starts here, beside the shares.
  const ask = ctx.policy.requests ? h("button", { type: "button", class: "small", "data-testid": "ask-secret" }, t("ask.button")) : null;
  ask?.addEventListener("click", () => ctx.go({ kind: "ask" }));
  const list = h("div", { class: "share-cards", "data-testid": "shares-list" });
  for (const entry of shown) list.append(shareItem(ctx, entry, { recordId: entry.info.record_id, title: ctx.titles.get(entry.info.record_id), showRecord: true }));
  const empty =
    shown.length > 0
      ? null
      : h(
          "p",
          { class: "muted", "data-testid": "shares-empty" },
          filter === "active" ? t("shares.noneLive") : t("shares.noneEnded"),
        );
  // The shared records report: every share, whichever tab is shown, as the CLI's `share report --csv`.
  const csv = h("button", { type: "button", class: "small", "data-testid": "shares-export-csv", title: t("shares.exportCsvHint") }, t("shares.exportCsv"));
  csv.addEventListener("click", () => {
    const done = busyButton(csv, t("shares.exportCsv"));
    const name = `sharelock-shares-${rfc3339(new Date()).slice(0, 10)}.csv`;
    const bytes = new TextEncoder().encode(reportCsv(entries, ctx.titles));
    saveStream(new Blob([bytes]).stream(), { name, size: bytes.length, mime: "text/csv" }).then(
      () => ctx.notify(tn("shares.exportedCsv", entries.length, { name }), "ok"),
      (e: unknown) => ctx.notify(explain(e), "error"),
    ).finally(done);
  });
  const warned = live.filter((e) => e.info.failed_attempts > 0 || e.info.refused_at !== null).length;
  replace(
    ctx.root,
    h(
      "div",
      { class: "panel" },
      h("div", { class: "toolbar" }, h("h1", {}, t("nav.shares")), h("div", { class: "row", role: "group", "aria-label": t("shares.which") }, tab("active", t("shares.active"), live.length), tab("ended", t("shares.ended"), ended.length)), h("div", { class: "row" }, ask, csv)),
      warned > 0 && filter === "active"
        ? h("p", { class: "warning", "data-testid": "shares-warning" }, tn("shares.warned", warned))
        : null,
      list,
      empty,
    ),
  );
}
