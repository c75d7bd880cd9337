// One share as its owner sees it, in a record's share list and on the Shares screen: state, label, the
// device that opened it, its reads and edits, the attempts other people made, and its actions.
import type { ShareEntry } from "../client/owner";
import { isLive } from "../client/owner-api";
import { copyButton, h, humanDuration, localTime } from "../ui/dom";
import { quoted, t, tn, type MessageKey } from "../ui/i18n";
import type { Ctx } from "./app";
import { busyButton } from "./util";

const STATE_TEXT: Record<string, MessageKey> = { active: "shareItem.state.active", opened: "shareItem.state.opened", expired: "shareItem.state.expired", deleted: "shareItem.state.deleted" };
/** How a share ended, with when: "{time}" is the moment. */
const END_REASON: Record<string, MessageKey> = {
  deleted: "shareItem.end.deleted",
  recipient_done: "shareItem.end.recipient_done",
  record_deleted: "shareItem.end.record_deleted",
  expired: "shareItem.end.expired",
  viewed: "shareItem.end.viewed",
  answered: "shareItem.end.answered",
};

/** What other people tried with the link, a sentence each: wrong passphrases and refused devices; empty if nothing. */
export function attemptsText(info: { failed_attempts: number; last_failed_at: string | null; refused_at: string | null }): string[] {
  const out: string[] = [];
  if (info.failed_attempts > 0) {
    const n = info.failed_attempts;
    out.push(info.last_failed_at ? tn("shareItem.wrongPassphrasesLast", n, { time: localTime(info.last_failed_at) }) : tn("shareItem.wrongPassphrases", n));
  }
  if (info.refused_at) out.push(t("shareItem.refused", { time: localTime(info.refused_at) }));
  return out;
}

/** Why a share's sealed parts did not check out, in words. */
function shareProblemText(entry: ShareEntry): string {
  switch (entry.problem) {
    case "editability":
      return t(entry.info.editable ? "shareItem.problem.saysEditable" : "shareItem.problem.saysReadOnly");
    case "secrets":
      return t("shareItem.problem.secrets");
    default:
      return t("shareItem.problem.unreadable");
  }
}

export interface ShareItemOptions {
  recordId: string;
  /** The record's title (undefined when it is unknown: deleted, or not readable). */
  title: string | undefined;
  /** Shows a status line about the share's end. */
  say?: (text: string, error?: boolean) => void;
  /** Names the record with a button that opens it (the Shares screen, where shares of many records mix). */
  showRecord?: boolean;
}

export function shareItem(ctx: Ctx, entry: ShareEntry, options: ShareItemOptions): HTMLElement {
  const s = entry.info;
  const live = isLive(s);
  const record = options.title === undefined ? t("vault.aRecord") : quoted(options.title);
  const facts: string[] = [];
  facts.push(entry.editable ? t("shareItem.editable") : t("shareItem.readOnly"));
  if (entry.legacy) facts.push(t("shareItem.legacy"));
  if (s.passphrase) facts.push(t("shareItem.passphrase"));
  if (s.view_once) facts.push(t("shareItem.viewOnce"));
  if (entry.request) facts.push(t("shareItem.request", { answers: s.edit_count, max: entry.request.maxAnswers }));
  if (s.burn_after_secs !== null) facts.push(t("shareItem.burn", { duration: humanDuration(s.burn_after_secs) }));
  // A self-destructing record (§4.7): once opened, the server deletes the record itself.
  const destroyed = s.destroy_at !== null && s.end_reason === "record_deleted";
  if (s.destroy_after_secs !== null && !destroyed) {
    facts.push(s.destroy_at !== null ? t("shareItem.destroysAt", { time: localTime(s.destroy_at) }) : t("shareItem.destroysAfter", { duration: humanDuration(s.destroy_after_secs) }));
  }
  let recordLine: HTMLElement | null = null;
  if (options.showRecord) {
    if (s.end_reason === "record_deleted" || options.title === undefined) {
      const gone = destroyed ? t("shareItem.destroyedRecord", { time: localTime(s.destroy_at ?? s.ended_at ?? s.expires_at) }) : t("shareItem.deletedRecord");
      recordLine = h("div", { class: "share-record", "data-testid": "share-record-title" }, s.end_reason === "record_deleted" ? gone : t("shareItem.unreadableRecord"));
    } else {
      const open = h("button", { type: "button", class: "linklike title", "data-testid": "share-record-title" }, options.title);
      open.addEventListener("click", () => ctx.go({ kind: "record", id: options.recordId }));
      recordLine = h("div", { class: "share-record" }, open);
    }
  }
  const lines: (HTMLElement | null)[] = [
    recordLine,
    h(
      "div",
      { class: "share-head" },
      h("span", { class: `badge state-${s.state}`, "data-testid": "share-state" }, STATE_TEXT[s.state] ? t(STATE_TEXT[s.state]!) : s.state),
      " ",
      h("strong", { "data-testid": "share-label" }, entry.label ?? t("shareItem.unlabelled")),
      h("span", { class: "muted" }, ` · ${facts.join(" · ")}`),
    ),
    h(
      "div",
      { class: "muted small-text" },
      t("shareItem.created", { time: localTime(s.created_at) }),
      " · ",
      live ? t("shareItem.expires", { time: localTime(s.expires_at) }) : t(END_REASON[s.end_reason ?? ""] ?? "shareItem.end.other", { time: localTime(s.ended_at ?? s.expires_at) }),
    ),
  ];
  if (s.opened_at !== null || entry.fingerprint) {
    lines.push(
      h(
        "div",
        { class: "small-text" },
        s.opened_at ? t("shareItem.openedOn", { time: localTime(s.opened_at) }) : t("shareItem.device"),
        " ",
        h("span", { class: "fingerprint", "data-testid": "share-fingerprint" }, entry.fingerprint ?? "?"),
        " ",
        entry.deviceVerified
          ? h("span", { class: "badge ok", title: t("shareItem.deviceVerifiedHint") }, t("shareItem.deviceVerified"))
          : h("span", { class: "badge warn", title: t("shareItem.deviceUnverifiedHint") }, t("shareItem.deviceUnverified")),
        h("span", { class: "muted", "data-testid": "share-last-read" }, " · ", s.last_access_at ? t("shareItem.lastRead", { time: localTime(s.last_access_at) }) : t("shareItem.notReadSince")),
        h("span", { class: "muted", "data-testid": "share-edits" }, " · ", tn("shareItem.edits", s.edit_count)),
      ),
    );
    if (s.opened_at && live) lines.push(h("div", { class: "muted small-text" }, t("shareItem.compare")));
  }
  const attempts = attemptsText(s);
  if (attempts.length > 0) {
    lines.push(h("div", { class: "warning small-text", "data-testid": "share-attempts" }, [...attempts, ...(live ? [t("shareItem.endIfNotYours")] : [])].join(" ")));
  }
  if (entry.request) {
    lines.push(
      entry.request.instructions === undefined
        ? h("div", { class: "error small-text", "data-testid": "share-instructions" }, t("shareItem.instructionsUnverified"))
        : h("div", { class: "small-text notes", "data-testid": "share-instructions" }, entry.request.instructions || t("shareItem.noInstructions")),
    );
  }
  if (entry.problem) lines.push(h("div", { class: "error small-text" }, t("shareItem.problem", { problem: shareProblemText(entry) })));
  const actions = h("div", { class: "row" });
  if (entry.link) {
    const name = entry.label ? t("shareItem.copyLinkLabelled", { label: quoted(entry.label) }) : t("shareItem.copyLinkOf", { record });
    actions.append(copyButton(t("shareItem.copyLink"), () => entry.link ?? "", "share-copy-link", name));
  }
  if (live) {
    const name = entry.label ? t("shareItem.endLabelled", { label: quoted(entry.label) }) : t("shareItem.endOf", { record });
    const end = h("button", { type: "button", class: "small danger", "data-testid": "share-delete", "aria-label": name }, t("shareItem.end"));
    end.addEventListener("click", () => {
      if (!confirm(s.state === "opened" ? t("shareItem.confirmEndOpened", { record }) : t("shareItem.confirmEnd", { record }))) return;
      const done = busyButton(end, t("shareItem.ending"));
      // Before the request: the live event can arrive before the answer.
      ctx.expectEnd(s.handle);
      ctx.session
        .shares.delete(s.handle)
        .then(async () => {
          options.say?.(t("shareItem.endedSecuring"));
          const { rotated, skipped } = await ctx.session.records.rotatePending();
          for (const skip of skipped) if (skip.id === options.recordId) throw skip.error;
          // The live event may have rotated it first; then it said so already.
          ctx.notify(rotated.includes(options.recordId) ? t("shareItem.endedSecured") : t("shareItem.ended"), "ok");
          if (ctx.isCurrent()) ctx.refresh();
        })
        .catch((e: unknown) => {
          done();
          ctx.fail(e);
          if (ctx.isCurrent()) ctx.refresh();
        });
    });
    actions.append(end);
  }
  return h("div", { class: `share-item ${live ? "" : "ended"}`, "data-testid": "share-item", "data-handle": s.handle, "data-record": options.recordId }, ...lines, actions);
}
