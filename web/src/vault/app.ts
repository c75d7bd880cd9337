// The unlocked vault page: navigation between screens, notices, and the live event stream that keeps the
// screens current and rotates record keys when a share ends.
import type { OwnerEvent, Policy } from "../client/owner-api";
import { PasswordChangedError, type OwnerSession } from "../client/owner";
import { h, replace } from "../ui/dom";
import { quoted, t, tn } from "../ui/i18n";
import { explain, isSessionEnd } from "./errors";

export type Screen =
  | { kind: "list" }
  | { kind: "new" }
  | { kind: "ask" }
  | { kind: "record"; id: string }
  | { kind: "edit"; id: string }
  | { kind: "history"; id: string }
  | { kind: "share"; id: string }
  | { kind: "shares"; filter: SharesFilter }
  | { kind: "settings" }
  | { kind: "webhooks" }
  | { kind: "export" }
  | { kind: "import" }
  | { kind: "password" };

/** Which shares the Shares screen lists: those that can still be opened or used, or those that ended. */
export type SharesFilter = "active" | "ended";

/**
 * The address of a screen, after the `#` (never sent to the server, so record ids stay out of its logs).
 * Every screen is a browser history entry: Back and Forward move between screens, and after a reload (which
 * locks the vault: its keys live in this page only) logging in again opens the same screen.
 */
export function screenPath(screen: Screen): string {
  switch (screen.kind) {
    case "list":
      return "/";
    case "new":
      return "/new";
    case "ask":
      return "/ask";
    case "password":
      return "/password";
    case "settings":
      return "/settings";
    case "webhooks":
      return "/webhooks";
    case "export":
      return "/export";
    case "import":
      return "/import";
    case "shares":
      return screen.filter === "active" ? "/shares" : "/shares/ended";
    case "record":
      return `/records/${screen.id}`;
    default:
      return `/records/${screen.id}/${screen.kind}`;
  }
}

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const RECORD_PATH = new RegExp(`^/records/(${UUID})(?:/(edit|history|share))?$`);

/** The screen at a location's hash (`#/records/…`); undefined for anything else. */
export function parseScreen(hash: string): Screen | undefined {
  const path = hash.replace(/^#/, "");
  if (path === "" || path === "/") return { kind: "list" };
  if (path === "/new") return { kind: "new" };
  if (path === "/ask") return { kind: "ask" };
  if (path === "/password") return { kind: "password" };
  if (path === "/settings") return { kind: "settings" };
  if (path === "/webhooks") return { kind: "webhooks" };
  if (path === "/export") return { kind: "export" };
  if (path === "/import") return { kind: "import" };
  if (path === "/shares") return { kind: "shares", filter: "active" };
  if (path === "/shares/ended") return { kind: "shares", filter: "ended" };
  const match = RECORD_PATH.exec(path);
  if (!match) return undefined;
  const id = match[1]!;
  const kind = (match[2] ?? "record") as "record" | "edit" | "history" | "share";
  return { kind, id };
}

export type NoticeKind = "ok" | "info" | "error";

/** What a screen gets to work with. */
export interface Ctx {
  readonly session: OwnerSession;
  readonly policy: Policy;
  /** Where the screen draws. */
  readonly root: HTMLElement;
  /** Titles seen so far, to name records in notices. */
  readonly titles: Map<string, string>;
  go(screen: Screen): void;
  /** Draws this screen again with fresh data. */
  refresh(): void;
  /** This page ended the share itself: its live event needs no notice. */
  expectEnd(handle: string): void;
  notify(message: string, kind?: NoticeKind): void;
  /** Shows a failure; a session that ended goes back to the login screen. */
  fail(error: unknown): void;
  /** The master password was changed and `next` is the new session: the vault carries on with it. */
  passwordChanged(next: OwnerSession): void;
  /** Called when the screen is left (timers of one-time codes, listeners). */
  onLeave(cleanup: () => void): void;
  /** Lets the screen take live events itself instead of being redrawn. */
  onLive(handler: (event: OwnerEvent) => void): void;
  /**
   * Lets the screen apply a live event to what it shows (a row) instead of being drawn again whole; unlike
   * `onLive` it is still drawn again after a gap in the stream or a change of language.
   */
  onUpdate(handler: (event: OwnerEvent) => void): void;
  /** Whether this screen is still the one shown (async work finishing late must not draw). */
  isCurrent(): boolean;
}

export type ScreenRenderer = (ctx: Ctx, screen: Screen) => void | Promise<void>;

/** How long an informational notice stays. */
const NOTICE_MS = 10_000;
/** The vault locks itself after this long without a key press or a click, as password managers do. */
export const IDLE_LOCK_MS = 30 * 60_000;

export class Vault {
  readonly titles = new Map<string, string>();
  #screen: Screen = { kind: "list" };
  #generation = 0;
  #cleanups: (() => void)[] = [];
  #live: ((event: OwnerEvent) => void) | undefined;
  #update: ((event: OwnerEvent) => void) | undefined;
  readonly #events = new AbortController();
  readonly #notices = h("div", { class: "notices", "data-testid": "notices", role: "status" });
  readonly #root = h("div", { class: "screen" });
  readonly #liveStatus = h("span", { class: "muted small-text", "data-testid": "live-status" });
  #expiry = 0;
  readonly #endedHere = new Set<string>();
  #lastActive = Date.now();
  #idleTimer = 0;
  readonly #active = (): void => {
    this.#lastActive = Date.now();
  };

  constructor(
    readonly session: OwnerSession,
    readonly policy: Policy,
    private readonly app: HTMLElement,
    private readonly nav: HTMLElement,
    /** Shows and hides the navigation on narrow screens, where it is folded away. */
    private readonly menu: HTMLButtonElement,
    private readonly render: ScreenRenderer,
    private readonly onEnded: (message: string) => void,
    /** The password was changed: a new vault takes over with the new session. */
    private readonly onReplaced: (next: OwnerSession) => void,
  ) {}

  /** Unlocked: shows `first`, else the screen the address names (a reload, a bookmark), else the list. */
  start(first?: Screen): void {
    this.#liveStatus.textContent = t("nav.connecting");
    this.#drawNav();
    this.menu.hidden = false;
    this.menu.addEventListener("click", this.#toggleMenu);
    this.nav.addEventListener("keydown", this.#menuKey);
    replace(this.app, this.#notices, this.#root);
    for (const type of ["keydown", "pointerdown"]) document.addEventListener(type, this.#active, { capture: true, passive: true });
    this.#idleTimer = window.setInterval(() => {
      if (Date.now() - this.#lastActive > IDLE_LOCK_MS) this.end(t("vault.idleLocked", { minutes: IDLE_LOCK_MS / 60_000 }));
    }, 30_000);
    const left = Date.parse(this.session.expiresAt) - Date.now();
    if (left > 0 && left < 2 ** 31 - 1) this.#expiry = window.setTimeout(() => this.end(t("vault.sessionEnded"), false), left);
    void this.session.events.run(
      {
        onEvent: (e) => this.#onEvent(e),
        onConnected: (resumed, first) => {
          this.#liveStatus.textContent = t("nav.live");
          this.#liveStatus.dataset.state = "live";
          // Events may have been missed while disconnected: show the current state.
          if (!first && !resumed) this.#refresh();
        },
        onDisconnected: () => {
          this.#liveStatus.textContent = t("nav.reconnecting");
          this.#liveStatus.dataset.state = "reconnecting";
        },
        onUnauthorized: () => this.end(t("vault.sessionEnded"), false),
      },
      this.#events.signal,
    );
    // A share that ended while nobody was logged in leaves its record due for a rotation (§7.3).
    void this.#rotatePending();
    window.addEventListener("popstate", this.#onPopState);
    this.go(first ?? parseScreen(location.hash) ?? { kind: "list" }, false, "replace");
  }

  /**
   * The language changed: the navigation and the current screen are drawn again in it. A form being filled
   * in (a screen that takes live events itself) keeps what was typed and changes language when it is left.
   */
  relabel(): void {
    if (this.#events.signal.aborted) return;
    const state = this.#liveStatus.dataset.state;
    this.#liveStatus.textContent = t(state === "live" ? "nav.live" : state === "reconnecting" ? "nav.reconnecting" : "nav.connecting");
    this.#drawNav();
    // Notices keep the words they were said in; their close buttons are named anew.
    for (const close of this.#notices.querySelectorAll("button")) close.setAttribute("aria-label", t("vault.dismiss"));
    if (!this.#live) this.go(this.#screen, true, "keep");
  }

  #drawNav(): void {
    const records = h("button", { type: "button", "data-testid": "nav-records" }, t("nav.records"));
    records.addEventListener("click", () => this.go({ kind: "list" }));
    const shares = h("button", { type: "button", "data-testid": "nav-shares" }, t("nav.shares"));
    shares.addEventListener("click", () => this.go({ kind: "shares", filter: "active" }));
    const add = h("button", { type: "button", class: "primary", "data-testid": "new-record" }, t("nav.newRecord"));
    add.addEventListener("click", () => this.go({ kind: "new" }));
    const webhooks = h("button", { type: "button", "data-testid": "nav-webhooks" }, t("nav.webhooks"));
    webhooks.addEventListener("click", () => this.go({ kind: "webhooks" }));
    const settings = h("button", { type: "button", "data-testid": "nav-settings" }, t("nav.settings"));
    settings.addEventListener("click", () => this.go({ kind: "settings" }));
    const password = h("button", { type: "button", "data-testid": "change-password" }, t("nav.password"));
    password.addEventListener("click", () => this.go({ kind: "password" }));
    const logout = h("button", { type: "button", "data-testid": "logout" }, t("nav.logout"));
    logout.addEventListener("click", () => {
      logout.disabled = true;
      // The next login starts at the list, not on this user's last screen.
      history.replaceState(null, "", location.pathname);
      void this.session
        .account.logout()
        .catch(() => undefined)
        .finally(() => this.end(t("vault.loggedOut")));
    });
    replace(this.nav, this.#liveStatus, h("span", { class: "muted account" }, this.session.email), records, shares, add, webhooks, settings, password, logout);
    // Choosing a screen folds the menu again.
    for (const button of [records, shares, add, webhooks, settings, password]) button.addEventListener("click", () => this.#closeMenu(false));
  }

  /** Locks the vault: keys forgotten, stream stopped, back to the login screen. */
  end(message: string, revoke = true): void {
    if (!this.#stop(revoke)) return;
    this.onEnded(message);
  }

  /** The password was changed: the server ended this session; a new vault goes on with `next`. */
  handOver(next: OwnerSession): void {
    if (!this.#stop(false)) {
      next.close();
      return;
    }
    this.onReplaced(next);
  }

  /** Stops everything this vault runs and forgets its keys; false if it had already stopped. */
  #stop(revoke: boolean): boolean {
    if (this.#events.signal.aborted) return false;
    this.#events.abort();
    window.removeEventListener("popstate", this.#onPopState);
    clearTimeout(this.#expiry);
    clearInterval(this.#idleTimer);
    for (const type of ["keydown", "pointerdown"]) document.removeEventListener(type, this.#active, { capture: true });
    // Locked: the server forgets the session too (unless it already ended there).
    if (revoke) void this.session.account.logout().catch(() => undefined);
    this.#leave();
    this.session.close();
    replace(this.nav);
    this.#closeMenu(false);
    this.menu.hidden = true;
    this.menu.removeEventListener("click", this.#toggleMenu);
    this.nav.removeEventListener("keydown", this.#menuKey);
    return true;
  }

  /** Revokes the session as the page goes away (a reload is a logout), without waiting for an answer. */
  revokeOnUnload(): void {
    this.session.account.revokeOnUnload();
  }

  /**
   * Shows `screen`; `quiet` keeps the old content until the new one is drawn (a refresh, no flicker).
   * `address` says what happens to the browser's history: a new entry (the user went somewhere), the
   * current one replaced, or nothing (Back or Forward brought the user here).
   */
  go(screen: Screen, quiet = false, address: "push" | "replace" | "keep" = "push"): void {
    const path = `#${screenPath(screen)}`;
    if (address !== "keep" && location.hash !== path) {
      if (address === "push" && location.hash !== "") history.pushState(null, "", path);
      else history.replaceState(null, "", path);
    }
    this.#leave();
    this.#screen = screen;
    const generation = ++this.#generation;
    const ctx: Ctx = {
      session: this.session,
      policy: this.policy,
      root: this.#root,
      titles: this.titles,
      go: (s) => this.go(s),
      refresh: () => this.go(screen, true, "keep"),
      expectEnd: (handle) => this.#endedHere.add(handle),
      notify: (m, k) => this.notify(m, k),
      fail: (e) => this.fail(e),
      passwordChanged: (next) => this.handOver(next),
      onLeave: (f) => {
        if (generation === this.#generation) this.#cleanups.push(f);
        else f();
      },
      onLive: (f) => {
        if (generation === this.#generation) this.#live = f;
      },
      onUpdate: (f) => {
        if (generation === this.#generation) this.#update = f;
      },
      isCurrent: () => generation === this.#generation && !this.#events.signal.aborted,
    };
    if (!quiet) replace(this.#root, h("p", { class: "muted" }, t("page.loading")));
    Promise.resolve(this.render(ctx, screen)).catch((e: unknown) => {
      if (!ctx.isCurrent()) return;
      // A failed refresh keeps what is shown and says why; a failed first draw shows the reason instead.
      if (isSessionEnd(e) || quiet) {
        this.fail(e);
        return;
      }
      replace(this.#root, h("div", { class: "panel" }, h("p", { class: "error", "data-testid": "screen-error" }, explain(e)), backToList(this)));
    });
  }

  notify(message: string, kind: NoticeKind = "info"): void {
    const close = h("button", { type: "button", class: "small", "aria-label": t("vault.dismiss") }, "×");
    const notice = h("div", { class: `notice ${kind}`, "data-testid": `notice-${kind}` }, h("span", {}, message), close);
    close.addEventListener("click", () => notice.remove());
    this.#notices.append(notice);
    if (kind !== "error") setTimeout(() => notice.remove(), NOTICE_MS);
    while (this.#notices.childElementCount > 4) this.#notices.firstElementChild?.remove();
  }

  fail(error: unknown): void {
    if (error instanceof PasswordChangedError) {
      this.end(explain(error), false);
      return;
    }
    if (isSessionEnd(error)) {
      this.end(t("vault.sessionEnded"), false);
      return;
    }
    this.notify(explain(error), "error");
  }

  /** Back or Forward: show the screen of the entry the browser went to. */
  readonly #onPopState = (): void => {
    this.go(parseScreen(location.hash) ?? { kind: "list" }, false, "keep");
  };

  readonly #toggleMenu = (): void => {
    if (this.nav.classList.contains("open")) {
      this.#closeMenu(false);
      return;
    }
    this.nav.classList.add("open");
    this.menu.setAttribute("aria-expanded", "true");
    this.nav.querySelector("button")?.focus();
  };

  /** Escape in the open menu folds it and gives the focus back to the menu button. */
  readonly #menuKey = (event: KeyboardEvent): void => {
    if (event.key === "Escape" && this.nav.classList.contains("open")) this.#closeMenu(true);
  };

  #closeMenu(focus: boolean): void {
    this.nav.classList.remove("open");
    this.menu.setAttribute("aria-expanded", "false");
    if (focus) this.menu.focus();
  }

  #leave(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    this.#live = undefined;
    this.#update = undefined;
  }

  /** Draws the current screen again with fresh data, unless the user is in the middle of a form. */
  #refresh(): void {
    if (this.#live) return;
    const s = this.#screen;
    if (s.kind === "list" || s.kind === "shares" || s.kind === "record" || s.kind === "history") this.go(s, true, "keep");
  }

  #name(record: string | null): string {
    const title = record ? this.titles.get(record) : undefined;
    return title ? quoted(title) : t("vault.aRecord");
  }

  #onEvent(event: OwnerEvent): void {
    switch (event.kind) {
      case "share_opened":
        this.notify(t("live.opened", { record: this.#name(event.record) }));
        break;
      case "record_edited":
        this.notify(t("live.edited", { record: this.#name(event.record) }));
        break;
      case "share_ended":
        if (!(event.share !== null && this.#endedHere.delete(event.share))) this.notify(t("live.ended", { record: this.#name(event.record) }));
        // Rotate now, so versions the owner writes next are out of the ended share's reach.
        void this.#rotatePending().then(() => this.#dispatch(event));
        return;
      case "access_failures":
        this.notify(event.number === null ? t("live.wrongPassphrases", { record: this.#name(event.record) }) : tn("live.wrongPassphrase", event.number, { record: this.#name(event.record) }), "error");
        break;
      case "device_refused":
        this.notify(t("live.refused", { record: this.#name(event.record) }), "error");
        break;
      case "file_added":
        // The owner's own uploads raise it too; only a recipient's is news.
        if (event.share !== null) this.notify(t("live.fileAdded", { record: this.#name(event.record) }));
        break;
      case "record_destroyed": {
        // A self-destructing record (§4.7): the server deleted it; a screen of it has nothing left to show.
        this.notify(t("live.destroyed", { record: this.#name(event.record) }), "ok");
        const s = this.#screen;
        if ((s.kind === "record" || s.kind === "history" || s.kind === "share") && s.id === event.record) {
          this.go({ kind: "list" }, true, "keep");
          return;
        }
        break;
      }
    }
    this.#dispatch(event);
  }

  #dispatch(event: OwnerEvent): void {
    if (this.#live) {
      this.#live(event);
      return;
    }
    if (this.#update) {
      this.#update(event);
      return;
    }
    const s = this.#screen;
    if (s.kind === "list" || s.kind === "shares" || ((s.kind === "record" || s.kind === "history") && (event.record === null || event.record === s.id))) this.go(s, true, "keep");
  }

  async #rotatePending(): Promise<void> {
    try {
      const { rotated, skipped } = await this.session.records.rotatePending();
      if (rotated.length > 0) this.notify(rotated.length === 1 ? t("live.secured", { record: this.#name(rotated[0]!) }) : t("live.securedMany", { count: rotated.length }), "ok");
      for (const { id, error } of skipped) this.notify(t("live.notSecured", { record: this.#name(id), reason: explain(error) }), "error");
    } catch (e) {
      if (!this.#events.signal.aborted) this.fail(e);
    }
  }
}

function backToList(vault: Vault): HTMLElement {
  const back = h("button", { type: "button" }, t("vault.backToList"));
  back.addEventListener("click", () => vault.go({ kind: "list" }));
  return h("div", { class: "actions" }, back);
}
