// Share passphrases and master passwords (docs/protocol.md §2.1, §4.1): the shortest one a person may
// choose, and generated passphrases, mirroring the Rust core's `passphrase` module.
//
// Lengths are counted in Unicode scalar values of the NFC form (the text that is hashed), not in UTF-16
// units. A generated passphrase is six words drawn uniformly from the EFF's Long Wordlist (7,776 words,
// about 77.5 bits); the list ships with the core (crates/sharelock-core/data/, with its source and licence).
import wordlist from "../../../crates/sharelock-core/data/eff_large_wordlist.txt?raw";
import { ProtocolError } from "./errors";

/** The shortest share passphrase a sender may choose (characters after NFC). */
export const MIN_SHARE_PASSPHRASE_CHARS = 10;
/** The shortest new master password (characters after NFC). */
export const MIN_MASTER_PASSWORD_CHARS = 10;
/** Words in a generated passphrase. */
export const GENERATED_WORDS = 6;
/** The number of words in the list. */
export const WORDLIST_LEN = 7776;

/** The list's raw text, as published (`<five dice digits>\t<word>\n` per line). */
export const WORDLIST_TEXT: string = wordlist;

/** The words of the list, in its order. */
export function words(): string[] {
  return wordlist
    .split("\n")
    .filter((line) => line.includes("\t"))
    .map((line) => line.slice(line.indexOf("\t") + 1));
}

/** Characters (Unicode scalar values) of the NFC form. */
export function characters(text: string): number {
  return [...text.normalize("NFC")].length;
}

/** Refuses a new share passphrase shorter than the minimum (`too_short`). Opening a link never checks this. */
export function checkNewPassphrase(passphrase: string): void {
  if (characters(passphrase) < MIN_SHARE_PASSPHRASE_CHARS) throw new ProtocolError("too_short", `a share passphrase has at least ${MIN_SHARE_PASSPHRASE_CHARS} characters`);
}

/** Refuses a new master password shorter than the minimum (`too_short`). Logging in never checks this. */
export function checkNewMasterPassword(password: string): void {
  if (characters(password) < MIN_MASTER_PASSWORD_CHARS) throw new ProtocolError("too_short", `a master password has at least ${MIN_MASTER_PASSWORD_CHARS} characters`);
}

/** A fresh passphrase: six words drawn uniformly (rejection sampling on 16-bit draws), joined by spaces. */
export function generatePassphrase(): string {
  const list = words();
  if (list.length !== WORDLIST_LEN) throw new ProtocolError("malformed", "the word list is not 7776 words");
  const limit = 8 * WORDLIST_LEN; // 62208 ≤ 65536: a draw below it maps onto the list evenly.
  const chosen: string[] = [];
  const draws = new Uint16Array(1);
  while (chosen.length < GENERATED_WORDS) {
    crypto.getRandomValues(draws);
    const draw = draws[0]!;
    if (draw < limit) chosen.push(list[draw % WORDLIST_LEN]!);
  }
  return chosen.join(" ");
}
