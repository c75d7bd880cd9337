// The owner's vault, served at `/`. Everything is decrypted in this page; the keys live in memory only, so
// reloading or closing the page locks the vault (and revokes its session).
import "../ui/style.css";
import { Api } from "../client/http";
import type { OwnerSession } from "../client/owner";
import type { Policy } from "../client/owner-api";
import type { KeyValueStore } from "../client/versions";
import { byId, h, replace, setUpLanguagePicker } from "../ui/dom";
import { t } from "../ui/i18n";
import { parseScreen, Vault, type Ctx, type Screen } from "./app";
import { showAuth } from "./auth";
import { explain } from "./errors";
import { resetSearch, showList } from "./list";
import { showPasswordChange } from "./password";
import { showEdit, showHistory, showNew, showRecord } from "./record";
import { showShare } from "./share";
import { showSettings } from "./settings";
import { showWebhooks } from "./webhooks";
import { showExport } from "./export";
import { showImport } from "./import";
import { showShares } from "./shares";
import { showAsk } from "./ask";
import { serverBase } from "./util";

const app = byId("app");
const nav = byId("nav");
const menu = byId<HTMLButtonElement>("menu");
const api = new Api(serverBase(location));

/** Storage for the anti-rollback memory only (it holds no key or token); absent if the browser blocks it. */
function versionStore(): KeyValueStore | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

function render(ctx: Ctx, screen: Screen): void | Promise<void> {
  switch (screen.kind) {
    case "list":
      return showList(ctx);
    case "new":
      return showNew(ctx);
    case "ask":
      return showAsk(ctx);
    case "record":
      return showRecord(ctx, screen.id);
    case "edit":
      return showEdit(ctx, screen.id);
    case "history":
      return showHistory(ctx, screen.id);
    case "share":
      return showShare(ctx, screen.id);
    case "shares":
      return showShares(ctx, screen.filter);
    case "settings":
      return showSettings(ctx);
    case "webhooks":
      return showWebhooks(ctx);
    case "export":
      return showExport(ctx);
    case "import":
      return showImport(ctx);
    case "password":
      return showPasswordChange(ctx);
  }
}

let vault: Vault | undefined;

/** Draws the screen shown before the vault is unlocked again (the language changed). */
let redrawLocked: () => void = () => undefined;

function unlocked(session: OwnerSession, policy: Policy, registered: boolean, passwordChanged = false): void {
  redrawLocked = () => undefined;
  vault = new Vault(
    session,
    policy,
    app,
    nav,
    menu,
    render,
    (message) => {
      vault = undefined;
      resetSearch();
      auth(policy, "login", () => message, session.email);
    },
    (next) => unlocked(next, policy, false, true),
  );
  // After a password change, the list (not the change form again).
  vault.start(passwordChanged ? { kind: "list" } : undefined);
  if (registered) vault.notify(t("vault.ready"), "ok");
  if (passwordChanged) vault.notify(t("vault.passwordChanged"), "ok");
}

/** The login (or registration) screen; `message` says why the user is here, in the current language. */
function auth(policy: Policy, mode: "login" | "register", message?: () => string, email?: string): void {
  showAuth({
    api,
    policy,
    root: app,
    store: versionStore(),
    mode,
    message,
    email,
    onSession: (session, registered) => unlocked(session, policy, registered),
    onRedraw: (redraw) => {
      redrawLocked = redraw;
    },
  });
}

async function start(): Promise<void> {
  const policy = await api.json<Policy>("/policy", { method: "GET" });
  // A reload locks the vault (its keys lived in the page); logging in again returns to the screen.
  const navigation = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined;
  const screen = parseScreen(location.hash);
  const message = navigation?.type === "reload" && screen && screen.kind !== "list" ? () => t("vault.reloaded") : undefined;
  auth(policy, "login", message);
}

// A reload or a closed tab is a logout: the keys are gone with the page, so the session goes too.
window.addEventListener("pagehide", () => vault?.revokeOnUnload());

function cannotStart(e: unknown): void {
  const retry = h("button", { type: "button", class: "primary" }, t("vault.tryAgain"));
  retry.addEventListener("click", () => location.reload());
  replace(app, h("div", { class: "panel" }, h("h1", {}, t("vault.cannotStart")), h("p", { class: "error", "data-testid": "start-error" }, explain(e)), h("div", { class: "actions" }, retry)));
  redrawLocked = () => cannotStart(e);
}

// The language: picked here or on a share page before, else the browser's. A change redraws in place.
setUpLanguagePicker(byId<HTMLSelectElement>("language"), (changed) => {
  menu.textContent = t("nav.menu");
  nav.setAttribute("aria-label", t("nav.label"));
  document.title = t("vault.pageTitle");
  if (!changed) return;
  if (vault) vault.relabel();
  else redrawLocked();
});

start().catch(cannotStart);
