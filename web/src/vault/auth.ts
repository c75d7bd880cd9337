// Log in and register. The master password is stretched by Argon2id in this page (a few seconds, 64 MiB);
// only the derived login proof reaches the server.
import { ApiError, type Api } from "../client/http";
import { login, register, type OwnerSession, type Stage } from "../client/owner";
import type { Policy } from "../client/owner-api";
import type { KeyValueStore } from "../client/versions";
import { characters, MIN_MASTER_PASSWORD_CHARS } from "../protocol/passphrase";
import { h, replace } from "../ui/dom";
import { explain } from "./errors";
import { afterPaint, byteLength } from "./util";

/** The shortest master password accepted at registration: the vault is only as strong as it (the CLI's too). */
export const MIN_PASSWORD = MIN_MASTER_PASSWORD_CHARS;
/** What a new master password should be, at registration and at a change. */
export const PASSWORD_HINT = `At least ${MIN_PASSWORD} characters. A few unrelated words are strong and easy to type. Nobody can reset it: without it, your vault cannot be opened.`;

export interface AuthOptions {
  api: Api;
  policy: Policy;
  root: HTMLElement;
  store: KeyValueStore | undefined;
  mode: "login" | "register";
  /** A message to show above the form (why the user is here). */
  message?: string;
  email?: string;
  onSession(session: OwnerSession, registered: boolean): void;
}

const STAGES: Record<Stage, string> = {
  contacting: "Contacting the server…",
  deriving: "Deriving your key from the master password (this takes a few seconds)…",
  unlocking: "Unlocking your vault…",
};

/** A plausible email as the server will accept it (§7.1): 3–254 bytes, one @ inside, no spaces. */
export function emailProblem(email: string): string | undefined {
  const n = byteLength(email);
  const at = email.indexOf("@");
  if (n < 3 || n > 254 || at <= 0 || at !== email.lastIndexOf("@") || at === email.length - 1 || /[\s\p{Cc}]/u.test(email)) {
    return "Enter a valid email address, such as ada@example.org.";
  }
  return undefined;
}

/** An email outside the server's sign-up domains (the server checks it too). */
export function domainProblem(email: string, domains: readonly string[]): string | undefined {
  if (domains.length === 0) return undefined;
  const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
  return domains.includes(domain) ? undefined : `This server accepts new accounts only for addresses at ${domains.join(", ")}.`;
}

export function showAuth(options: AuthOptions): void {
  const { mode, policy } = options;
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
  const submit = h("button", { type: "submit", class: "primary", "data-testid": "auth-submit" }, registering ? "Create vault" : "Log in");
  const form = h(
    "form",
    { novalidate: true },
    h("label", { for: "auth-email" }, "Email"),
    email,
    domains.length > 0
      ? h("p", { class: "muted small-text", "data-testid": "signup-domains" }, `This server accepts new accounts for addresses at ${domains.join(", ")}.`)
      : null,
    h("label", { for: "auth-password" }, "Master password"),
    password,
    registering ? h("p", { class: "muted small-text" }, PASSWORD_HINT) : null,
    registering ? h("label", { for: "auth-again" }, "Master password again") : null,
    registering ? again : null,
    needsInvite ? h("label", { for: "auth-invite" }, "Invitation code") : null,
    needsInvite ? invite : null,
    needsInvite ? h("p", { id: "auth-invite-hint", class: "muted small-text" }, "New accounts on this server need a one-time invitation code from its operator.") : null,
    error,
    progress,
    h("div", { class: "actions" }, submit),
  );

  const switcher = h("button", { type: "button", class: "linklike", "data-testid": registering ? "switch-login" : "switch-register" }, registering ? "Log in" : "Create one");
  switcher.addEventListener("click", () => showAuth({ ...options, mode: registering ? "login" : "register", message: undefined, email: email.value }));
  const footer = registering
    ? h("p", { class: "muted" }, "Already have a vault? ", switcher)
    : policy.signups
      ? h("p", { class: "muted" }, "No vault on this server yet? ", switcher)
      : h("p", { class: "muted" }, "This server does not accept new accounts.");

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
    const problem =
      emailProblem(email.value) ??
      (password.value === "" ? "Enter your master password." : undefined) ??
      (registering && characters(password.value) < MIN_PASSWORD ? `Choose a master password of at least ${MIN_PASSWORD} characters.` : undefined) ??
      (registering && password.value !== again.value ? "The two master passwords differ. Type them again." : undefined) ??
      domainProblem(email.value, domains) ??
      (needsInvite && invite.value.trim() === "" ? "Enter the invitation code you were given." : undefined);
    if (problem) {
      error.textContent = problem;
      (problem.includes("invitation") ? invite : problem.includes("email") || problem.includes("addresses") ? email : password).focus();
      return;
    }
    busy(true);
    const stage = async (s: Stage): Promise<void> => {
      progress.textContent = STAGES[s];
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
      h("h1", {}, registering ? "Create your vault" : "Log in to your vault"),
      options.message ? h("p", { class: "notice info", "data-testid": "auth-message" }, options.message) : null,
      h("p", { class: "muted" }, "Your master password never leaves this browser: it derives the key that decrypts your vault here."),
      form,
      footer,
    ),
  );
  (email.value ? password : email).focus();
}
