// Log in and register. The master password is stretched by Argon2id in this page (a few seconds, 64 MiB);
// only the derived login proof reaches the server.
import { ApiError, type Api } from "../client/http";
import { login, register, type OwnerSession, type Stage } from "../client/owner";
import type { Policy } from "../client/owner-api";
import type { KeyValueStore } from "../client/versions";
import { characters, MIN_MASTER_PASSWORD_CHARS } from "../protocol/passphrase";
import { h, replace } from "../ui/dom";
import { t } from "../ui/i18n";
import { explain } from "./errors";
import { afterPaint, byteLength } from "./util";

/** The shortest master password accepted at registration: the vault is only as strong as it (the CLI's too). */
export const MIN_PASSWORD = MIN_MASTER_PASSWORD_CHARS;
/** What a new master password should be, at registration and at a change. */
export function passwordHint(): string {
  return t("auth.passwordHint", { min: MIN_PASSWORD });
}

export interface AuthOptions {
  api: Api;
  policy: Policy;
  root: HTMLElement;
  store: KeyValueStore | undefined;
  mode: "login" | "register";
  /** A message to show above the form (why the user is here), worded in the current language. */
  message?: () => string;
  email?: string;
  onSession(session: OwnerSession, registered: boolean): void;
  /** Told how to draw this screen again (in another language), keeping what was typed. */
  onRedraw?(redraw: () => void): void;
}

const STAGES = {
  contacting: "auth.contacting",
  deriving: "auth.deriving",
  unlocking: "auth.unlocking",
} as const satisfies Record<Stage, string>;

/** A plausible email as the server will accept it (§7.1): 3–254 bytes, one @ inside, no spaces. */
export function emailProblem(email: string): string | undefined {
  const n = byteLength(email);
  const at = email.indexOf("@");
  if (n < 3 || n > 254 || at <= 0 || at !== email.lastIndexOf("@") || at === email.length - 1 || /[\s\p{Cc}]/u.test(email)) {
    return t("auth.badEmail");
  }
  return undefined;
}

/** An email outside the server's sign-up domains (the server checks it too). */
export function domainProblem(email: string, domains: readonly string[]): string | undefined {
  if (domains.length === 0) return undefined;
  const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
  return domains.includes(domain) ? undefined : t("auth.domainOnly", { domains: domains.join(", ") });
}

export function showAuth(options: AuthOptions): void {
  const { mode, policy } = options;
  options.onRedraw?.(() => showAuth({ ...options, email: email.value }));
  const registering = mode === "register";
  const email = h("input", { id: "auth-email", type: "email", autocomplete: "username", required: true, "data-testid": "email", spellcheck: "false" });
  email.value = options.email ?? "";
  const password = h("input", {
    id: "auth-password",
    type: "password",
    autocomplete: registering ? "new-password" : "current-password",
    required: true,
    "data-testid": "password",
  });
  const again = h("input", { id: "auth-again", type: "password", autocomplete: "new-password", required: true, "data-testid": "password-again" });
  // Invite-only servers (policy.invite_required): the code from the operator, sent with the registration.
  const needsInvite = registering && policy.invite_required === true;
  const invite = h("input", {
    id: "auth-invite",
    type: "text",
    autocomplete: "off",
    required: true,
    spellcheck: "false",
    maxlength: "64",
    "aria-describedby": "auth-invite-hint",
    "data-testid": "invite",
  });
  const domains = registering ? (policy.signup_email_domains ?? []) : [];
  const error = h("p", { class: "error", "data-testid": "auth-error", role: "alert" });
  const progress = h("p", { class: "muted", "data-testid": "auth-progress" });
  const submit = h("button", { type: "submit", class: "primary", "data-testid": "auth-submit" }, registering ? t("auth.createVault") : t("auth.login"));
  const form = h(
    "form",
    { novalidate: true },
    h("label", { for: "auth-email" }, t("auth.email")),
    email,
    domains.length > 0
      ? h("p", { class: "muted small-text", "data-testid": "signup-domains" }, t("auth.domains", { domains: domains.join(", ") }))
      : null,
    h("label", { for: "auth-password" }, t("auth.password")),
    password,
    registering ? h("p", { class: "muted small-text" }, passwordHint()) : null,
    registering ? h("label", { for: "auth-again" }, t("auth.again")) : null,
    registering ? again : null,
    needsInvite ? h("label", { for: "auth-invite" }, t("auth.invite")) : null,
    needsInvite ? invite : null,
    needsInvite ? h("p", { id: "auth-invite-hint", class: "muted small-text" }, t("auth.inviteHint")) : null,
    error,
    progress,
    h("div", { class: "actions" }, submit),
  );

  const switcher = h("button", { type: "button", class: "linklike", "data-testid": registering ? "switch-login" : "switch-register" }, registering ? t("auth.login") : t("auth.createOne"));
  switcher.addEventListener("click", () => showAuth({ ...options, mode: registering ? "login" : "register", message: undefined, email: email.value }));
  const footer = registering
    ? h("p", { class: "muted" }, t("auth.haveVault"), " ", switcher)
    : policy.signups
      ? h("p", { class: "muted" }, t("auth.noVault"), " ", switcher)
      : h("p", { class: "muted" }, t("auth.noSignups"));

  const inputs = [email, password, again, invite];
  const busy = (on: boolean): void => {
    for (const input of inputs) input.disabled = on;
    submit.disabled = on;
    switcher.disabled = on;
    if (!on) progress.textContent = "";
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    // The first problem, with the field to fix.
    const check: [string | undefined, HTMLInputElement][] = [
      [emailProblem(email.value), email],
      [password.value === "" ? t("auth.enterPassword") : undefined, password],
      [registering && characters(password.value) < MIN_PASSWORD ? t("auth.tooShort", { min: MIN_PASSWORD }) : undefined, password],
      [registering && password.value !== again.value ? t("auth.differ") : undefined, password],
      [domainProblem(email.value, domains), email],
      [needsInvite && invite.value.trim() === "" ? t("auth.enterInvite") : undefined, invite],
    ];
    const problem = check.find(([message]) => message !== undefined);
    if (problem) {
      error.textContent = problem[0]!;
      problem[1].focus();
      return;
    }
    busy(true);
    const stage = async (s: Stage): Promise<void> => {
      progress.textContent = t(STAGES[s]);
      // Argon2id holds the thread: let the message show first.
      if (s === "deriving") await afterPaint();
    };
    const secret = password.value;
    const code = needsInvite ? invite.value.trim() : undefined;
    const run = registering ? register(options.api, email.value, secret, options.store, stage, code) : login(options.api, email.value, secret, options.store, stage);
    run.then(
      (session) => {
        password.value = "";
        again.value = "";
        options.onSession(session, registering);
      },
      (e: unknown) => {
        busy(false);
        error.textContent = explain(e);
        if (e instanceof ApiError && (e.code === "invalid_invite" || e.code === "invite_required")) {
          invite.select();
          invite.focus();
          return;
        }
        password.select();
        password.focus();
      },
    );
  });

  replace(
    options.root,
    h(
      "div",
      { class: "panel auth" },
      h("h1", {}, registering ? t("auth.titleRegister") : t("auth.titleLogin")),
      options.message ? h("p", { class: "notice info", "data-testid": "auth-message" }, options.message()) : null,
      h("p", { class: "muted" }, t("auth.intro")),
      form,
      footer,
    ),
  );
  (email.value ? password : email).focus();
}
