// One share as its owner sees it, in a record's share list and on the Shares screen: state, label, the
// device that opened it, its reads and edits, the attempts other people made, and its actions.
import type { ShareEntry } from "../client/owner";
import { isLive } from "../client/owner-api";
import { copyButton, h, humanDuration, localTime } from "../ui/dom";
import type { Ctx } from "./app";
import { busyButton } from "./util";

export const STATE_TEXT: Record<string, string> = { active: "waiting to be opened", opened: "opened", expired: "expired", deleted: "ended" };
export const END_REASON: Record<string, string> = {
  deleted: "ended by you",
  recipient_done: "ended by the recipient",
  record_deleted: "ended with its record",
  expired: "expired",
  viewed: "viewed once, then ended",
};

/** What other people tried with the link, in words: wrong passphrases and refused devices; empty if nothing. */
export function attemptsText(info: { failed_attempts: number; last_failed_at: string | null; refused_at: string | null }): string[] {
  const out: string[] = [];
  if (info.failed_attempts > 0) {
    const n = info.failed_attempts;
    out.push(`${n} wrong passphrase${n === 1 ? "" : "s"}${info.last_failed_at ? `, the last ${localTime(info.last_failed_at)}` : ""}`);
  }
  if (info.refused_at) out.push(`another device with the link was refused ${localTime(info.refused_at)}`);
  return out;
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
  const record = options.title === undefined ? "a record" : `“${options.title}”`;
  const facts: string[] = [];
  facts.push(entry.editable ? "recipient may edit" : "read-only");
  if (entry.legacy) facts.push("made by an older version of Sharelock: edits through it cannot be checked");
  if (s.passphrase) facts.push("passphrase");
  if (s.view_once) facts.push("view once");
  if (s.burn_after_secs !== null) facts.push(`ends ${humanDuration(s.burn_after_secs)} after opening`);
  let recordLine: HTMLElement | null = null;
  if (options.showRecord) {
    if (s.end_reason === "record_deleted" || options.title === undefined) {
      recordLine = h("div", { class: "share-record", "data-testid": "share-record-title" }, s.end_reason === "record_deleted" ? "A deleted record" : "A record that cannot be read here");
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
      h("span", { class: `badge state-${s.state}`, "data-testid": "share-state" }, STATE_TEXT[s.state] ?? s.state),
      " ",
      h("strong", { "data-testid": "share-label" }, entry.label ?? "Unlabelled share"),
      h("span", { class: "muted" }, ` · ${facts.join(" · ")}`),
    ),
    h(
      "div",
      { class: "muted small-text" },
      `Created ${localTime(s.created_at)} · `,
      live ? `expires ${localTime(s.expires_at)}` : `${END_REASON[s.end_reason ?? ""] ?? "ended"} ${localTime(s.ended_at ?? s.expires_at)}`,
    ),
  ];
  if (s.opened_at !== null || entry.fingerprint) {
    lines.push(
      h(
        "div",
        { class: "small-text" },
        s.opened_at ? `Opened ${localTime(s.opened_at)} on device ` : "Device ",
        h("span", { class: "fingerprint", "data-testid": "share-fingerprint" }, entry.fingerprint ?? "?"),
        " ",
        entry.deviceVerified
          ? h("span", { class: "badge ok", title: "The device proved that it was registered with the link itself." }, "device verified")
          : h("span", { class: "badge warn", title: "The device could not prove that it was registered with the link: the server may have put a device of its own in its place." }, "device not verified"),
        h("span", { class: "muted", "data-testid": "share-last-read" }, s.last_access_at ? ` · last read ${localTime(s.last_access_at)}` : " · not read since"),
        h("span", { class: "muted", "data-testid": "share-edits" }, ` · ${s.edit_count} edit${s.edit_count === 1 ? "" : "s"}`),
      ),
    );
    if (s.opened_at && live) lines.push(h("div", { class: "muted small-text" }, "Compare the device code with your recipient (by voice) when it matters: theirs is shown under the record on their screen."));
  }
  const attempts = attemptsText(s).join("; ");
  if (attempts !== "") {
    lines.push(
      h(
        "div",
        { class: "warning small-text", "data-testid": "share-attempts" },
        `${attempts.charAt(0).toUpperCase()}${attempts.slice(1)}.`,
        live ? " If that was not your recipient, end the share." : "",
      ),
    );
  }
  if (entry.problem) lines.push(h("div", { class: "error small-text" }, `This share cannot be checked: ${entry.problem}.`));
  const actions = h("div", { class: "row" });
  const named = entry.label ? `share “${entry.label}”` : `this share of ${record}`;
  if (entry.link) actions.append(copyButton("Copy link", () => entry.link ?? "", "share-copy-link", `Copy link of ${named}`));
  if (live) {
    const end = h("button", { type: "button", class: "small danger", "data-testid": "share-delete", "aria-label": `End share ${entry.label ? `“${entry.label}”` : `of ${record}`}` }, "End share");
    end.addEventListener("click", () => {
      if (!confirm(`End this share of ${record} now? The link stops working at once${s.state === "opened" ? " and the recipient no longer sees the record" : ""}.`)) return;
      const done = busyButton(end, "Ending…");
      // Before the request: the live event can arrive before the answer.
      ctx.expectEnd(s.handle);
      ctx.session
        .shares.delete(s.handle)
        .then(async () => {
          options.say?.("Share ended. Giving the record a new key…");
          const { rotated, skipped } = await ctx.session.records.rotatePending();
          for (const skip of skipped) if (skip.id === options.recordId) throw skip.error;
          // The live event may have rotated it first; then it said so already.
          ctx.notify(rotated.includes(options.recordId) ? "Share ended. The record now has a new key: the ended share cannot read what you change next." : "Share ended.", "ok");
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
