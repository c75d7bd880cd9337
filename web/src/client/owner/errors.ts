// What the owner's client refuses by itself (before or instead of a request). Each refusal names its
// message in the catalogue (src/ui/messages/), so the page words it in the reader's language; the
// error's own `message` is the English text, for logs and tests.
import { MessageError, type MessageKey, type Params } from "../../ui/i18n";

/** A refusal by this client, before anything was sent; the message is a sentence for people. */
export class VaultError extends MessageError {
  constructor(key: MessageKey, params: Params = {}) {
    super(key, params);
    this.name = "VaultError";
  }
}

/** The current master password given to change it does not open the vault; nothing was sent. */
export class WrongPasswordError extends VaultError {
  constructor() {
    super("pw.wrong");
    this.name = "WrongPasswordError";
  }
}

/** The password was changed, but logging in with the new one failed: this session has ended with every other. */
export class PasswordChangedError extends VaultError {
  constructor(readonly reason: unknown) {
    super("client.passwordChanged", { reason: reason instanceof Error ? reason.message : String(reason) });
    this.name = "PasswordChangedError";
  }
}

/** The record's current version cannot be attributed (§7.5), so it is not built upon. */
export class UnverifiedError extends Error {
  constructor(
    readonly version: number,
    readonly reason: string,
    /** The reason's stable name, when attribution gave one (see `Verification`). */
    readonly code?: string,
  ) {
    super(`version ${version} cannot be attributed (${reason})`);
    this.name = "UnverifiedError";
  }
}
