// The share dialog's choices turned into what the API takes, and the invitation text the owner sends with
// the link. No DOM here, so the rules are unit-tested.
import type { ExpiryJson } from "../client/owner-api";
import { VaultError } from "../client/owner";
import { humanDuration, localTime } from "../ui/dom";
import { t, type MessageKey } from "../ui/i18n";

export interface Choice {
  value: string;
  /** Its words, with `{count}` the number in them. */
  label: MessageKey;
  count?: number;
  seconds: number;
}

/** A choice in the page's language. */
export function choiceLabel(choice: Choice): string {
  return t(choice.label, choice.count === undefined ? {} : { count: choice.count });
}

/** Expiry presets; "custom" asks for a date and time. */
export const EXPIRY_CHOICES: readonly Choice[] = [
  { value: "1h", label: "options.hour", seconds: 3600 },
  { value: "1d", label: "options.day", seconds: 86_400 },
  { value: "7d", label: "options.days", count: 7, seconds: 7 * 86_400 },
  { value: "30d", label: "options.days", count: 30, seconds: 30 * 86_400 },
];

/** Burn after open: the share ends this long after the recipient opens it (0: only at its expiry). */
export const BURN_CHOICES: readonly Choice[] = [
  { value: "none", label: "options.burnNone", seconds: 0 },
  { value: "10m", label: "options.burnMinutes", count: 10, seconds: 600 },
  { value: "1h", label: "options.burnHour", seconds: 3600 },
  { value: "1d", label: "options.burnDay", seconds: 86_400 },
];

/** Self-destruction (§4.7): the server deletes the record itself this long after the share is opened (0: never). */
export const DESTROY_CHOICES: readonly Choice[] = [
  { value: "never", label: "options.destroyNever", seconds: 0 },
  { value: "10m", label: "options.destroyMinutes", count: 10, seconds: 600 },
  { value: "1h", label: "options.destroyHour", seconds: 3600 },
  { value: "1d", label: "options.destroyDay", seconds: 86_400 },
  { value: "7d", label: "options.destroyDays", count: 7, seconds: 7 * 86_400 },
];

/** `destroy_after_secs` for a choice (null for never), refused beyond the server's longest expiry. */
export function destroyFor(choice: string, maxExpirySecs: number): number | null {
  const destroy = DESTROY_CHOICES.find((c) => c.value === choice);
  if (!destroy) throw new VaultError("options.chooseDestroy");
  if (destroy.seconds === 0) return null;
  if (destroy.seconds > maxExpirySecs) throw new VaultError("options.tooLong", { max: humanDuration(maxExpirySecs) });
  return destroy.seconds;
}

/** Where this browser remembers the name an account shows on its shares (not a secret: recipients see it). */
export function fromNameKey(accountId: string): string {
  return `sharelock:share-from:${accountId}`;
}

/** RFC 3339 UTC without fractions, the form the server writes. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * The expiry for a preset, or for `custom` (a `datetime-local` value, read in this device's time zone).
 * Refuses, with a sentence, a time not at least a minute ahead or beyond the server's longest expiry.
 */
export function expiryFor(choice: string, custom: string, nowMs: number, maxExpirySecs: number): ExpiryJson {
  const preset = EXPIRY_CHOICES.find((c) => c.value === choice);
  if (preset) {
    if (preset.seconds > maxExpirySecs) throw new VaultError("options.tooLong", { max: humanDuration(maxExpirySecs) });
    return { in_seconds: preset.seconds };
  }
  if (choice !== "custom") throw new VaultError("options.chooseExpiry");
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(custom)) throw new VaultError("options.enterExpiry");
  const at = new Date(custom).getTime();
  if (Number.isNaN(at)) throw new VaultError("options.badDate");
  if (at < nowMs + 60_000) throw new VaultError("options.tooSoon");
  if (at > nowMs + maxExpirySecs * 1000) throw new VaultError("options.tooLate", { max: humanDuration(maxExpirySecs) });
  return { at: rfc3339(at) };
}

/** `burn_after_secs` for a burn choice (null for none), refused beyond the server's longest expiry. */
export function burnFor(choice: string, maxExpirySecs: number): number | null {
  const burn = BURN_CHOICES.find((c) => c.value === choice);
  if (!burn) throw new VaultError("options.chooseBurn");
  if (burn.seconds === 0) return null;
  if (burn.seconds > maxExpirySecs) throw new VaultError("options.tooLong", { max: humanDuration(maxExpirySecs) });
  return burn.seconds;
}

export interface InvitationFacts {
  link: string;
  /** RFC 3339. */
  expiresAt: string;
  nowMs: number;
  passphrase: boolean;
  burnAfterSecs: number | null;
  editable: boolean;
  /** The share ends as soon as it is opened (§4.4). */
  viewOnce?: boolean;
  /** The record destroys itself this long after the share is opened (§4.7). */
  destroyAfterSecs?: number | null;
  /** How a time is written for the recipient (this device's locale unless told). */
  formatTime?: (rfc3339: string) => string;
}

/**
 * The message to send with the link. It says what the recipient must know before clicking: the link opens
 * on one device only, and until when; with a passphrase, that it comes separately. It never names the
 * record: the message may travel through channels that keep it.
 */
export function invitationText(facts: InvitationFacts): string {
  const when = (facts.formatTime ?? localTime)(facts.expiresAt);
  const left = humanDuration((Date.parse(facts.expiresAt) - facts.nowMs) / 1000);
  const lines = [t("invitation.intro"), facts.link, "", t("invitation.oneDevice"), t("invitation.expires", { time: when, left })];
  if (facts.viewOnce) lines.push(t("invitation.viewOnce"));
  else if (facts.burnAfterSecs !== null) lines.push(t("invitation.burn", { duration: humanDuration(facts.burnAfterSecs) }));
  if (facts.destroyAfterSecs) lines.push(t("invitation.destroys", { duration: humanDuration(facts.destroyAfterSecs) }));
  if (facts.passphrase) lines.push(t("invitation.passphrase"));
  if (facts.editable) lines.push(t("invitation.editable"));
  return lines.join("\n");
}
