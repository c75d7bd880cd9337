// Change the master password. Both passwords are stretched by Argon2id in this page; the server receives the
// current login proof, the new one and the data key rewrapped under the new password, never a password.
import { characters } from "../protocol/passphrase";
import { WrongPasswordError, type Stage } from "../client/owner";
import { ApiError } from "../client/http";
import { h, replace } from "../ui/dom";
import { t } from "../ui/i18n";
import type { Ctx } from "./app";
import { MIN_PASSWORD, passwordHint } from "./auth";
import { explain, isSessionEnd } from "./errors";
import { afterPaint } from "./util";

const STAGES = {
  deriving: "pw.deriving",
  contacting: "pw.contacting",
  unlocking: "pw.unlocking",
} as const satisfies Record<Stage, string>;

export type PasswordField = "current" | "new" | "again";

/** What is wrong with the form before anything is derived, and which field to fix; undefined if nothing. */
export function passwordChangeProblem(current: string, next: string, again: string): { field: PasswordField; message: string } | undefined {
  if (current === "") return { field: "current", message: t("pw.enterCurrent") };
  if (characters(next) < MIN_PASSWORD) return { field: "new", message: t("pw.tooShort", { min: MIN_PASSWORD }) };
  if (next !== again) return { field: "again", message: t("pw.differ") };
  if (next.normalize("NFC") === current.normalize("NFC")) return { field: "new", message: t("pw.same") };
  return undefined;
}

export function showPasswordChange(ctx: Ctx): void {
  const { session } = ctx;
  // For the browser's password manager: the account the new password belongs to.
  const account = h("input", { id: "pw-account", type: "email", autocomplete: "username", readonly: true, "data-testid": "password-account" });
  account.value = session.email;
  const current = h("input", { id: "pw-current", type: "password", autocomplete: "current-password", required: true, "data-testid": "current-password" });
  const next = h("input", { id: "pw-new", type: "password", autocomplete: "new-password", required: true, "data-testid": "new-password" });
  const again = h("input", { id: "pw-again", type: "password", autocomplete: "new-password", required: true, "data-testid": "new-password-again" });
  const error = h("p", { class: "error", "data-testid": "password-error", role: "alert" });
  const progress = h("p", { class: "muted", "data-testid": "password-progress" });
  const submit = h("button", { type: "submit", class: "primary", "data-testid": "password-submit" }, t("nav.password"));
  const cancel = h("button", { type: "button", "data-testid": "password-cancel" }, t("share.cancel"));
  cancel.addEventListener("click", () => ctx.go({ kind: "list" }));
  const fields: Record<PasswordField, HTMLInputElement> = { current, new: next, again };

  const busy = (on: boolean): void => {
    for (const input of [current, next, again]) input.disabled = on;
    submit.disabled = on;
    cancel.disabled = on;
    if (!on) progress.textContent = "";
  };

  const form = h(
    "form",
    { novalidate: true },
    h("label", { for: "pw-account" }, t("pw.account")),
    account,
    h("label", { for: "pw-current" }, t("pw.current")),
    current,
    h("label", { for: "pw-new" }, t("pw.new")),
    next,
    h("p", { class: "muted small-text" }, passwordHint()),
    h("label", { for: "pw-again" }, t("pw.again")),
    again,
    error,
    progress,
    h("div", { class: "actions" }, submit, cancel),
  );

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    error.textContent = "";
    const problem = passwordChangeProblem(current.value, next.value, again.value);
    if (problem) {
      error.textContent = problem.message;
      fields[problem.field].focus();
      return;
    }
    busy(true);
    const stage = async (s: Stage): Promise<void> => {
      progress.textContent = t(STAGES[s]);
      // Argon2id holds the thread: let the message show first.
      if (s === "deriving") await afterPaint();
    };
    session.account.changePassword(current.value, next.value, stage).then(
      (replacement) => {
        for (const input of [current, next, again]) input.value = "";
        ctx.passwordChanged(replacement);
      },
      (e: unknown) => {
        if (!ctx.isCurrent()) return;
        busy(false);
        if (e instanceof WrongPasswordError || (e instanceof ApiError && e.code === "invalid_credentials")) {
          error.textContent = t("pw.wrong");
          current.select();
          current.focus();
          return;
        }
        // A session that ended, or a change that went through without the new session: the vault locks.
        if (isSessionEnd(e) || session.closed) {
          ctx.fail(e);
          return;
        }
        error.textContent = explain(e);
      },
    );
  });

  replace(
    ctx.root,
    h(
      "div",
      { class: "panel auth" },
      h("h1", {}, t("pw.title")),
      h("p", { class: "muted" }, t("pw.intro")),
      form,
    ),
  );
  current.focus();
}
