// What the owner's client refuses by itself (before or instead of a request), as sentences for people.

/** A refusal by this client, before anything was sent; the message is a sentence for people. */
export class VaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VaultError";
  }
}

/** The current master password given to change it does not open the vault; nothing was sent. */
export class WrongPasswordError extends VaultError {
  constructor() {
    super("The current master password is wrong.");
    this.name = "WrongPasswordError";
  }
}

/** The password was changed, but logging in with the new one failed: this session has ended with every other. */
export class PasswordChangedError extends VaultError {
  constructor(readonly reason: unknown) {
    super(`Your master password was changed, but logging in again failed (${reason instanceof Error ? reason.message : String(reason)}). Log in with the new password.`);
    this.name = "PasswordChangedError";
  }
}

/** The record's current version cannot be attributed (§7.5), so it is not built upon. */
export class UnverifiedError extends Error {
  constructor(
    readonly version: number,
    readonly reason: string,
  ) {
    super(`version ${version} cannot be attributed (${reason})`);
    this.name = "UnverifiedError";
  }
}
