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

/** Characters of generated passwords: letters and digits, and the symbols most sites accept. */
export const PASSWORD_LETTERS_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export const PASSWORD_SYMBOLS = "!#$%&()*+,-./:;<=>?@[]^_{|}~";

/**
 * A fresh password of `length` characters drawn uniformly from `alphabet` (rejection sampling on 8-bit
 * draws, so no character is likelier than another). With more than one class of characters (upper, lower,
 * digits, symbols) in the alphabet, draws again until each class appears: sites that require one of each
 * accept it, at the cost of a fraction of a bit.
 */
export function generatePassword(length: number, alphabet: string): string {
  const chars = [...alphabet];
  if (length < 4 || length > 128 || chars.length < 2 || chars.length > 256 || new Set(chars).size !== chars.length) {
    throw new ProtocolError("malformed", "a generated password has 4 to 128 characters from 2 to 256 distinct ones");
  }
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((c) => chars.some((ch) => c.test(ch)));
  const limit = 256 - (256 % chars.length);
  const draws = new Uint8Array(length * 2);
  for (;;) {
    const out: string[] = [];
    while (out.length < length) {
      crypto.getRandomValues(draws);
      for (const draw of draws) {
        if (draw < limit && out.length < length) out.push(chars[draw % chars.length]!);
      }
    }
    const password = out.join("");
    if (classes.every((c) => c.test(password))) return password;
  }
}

/** The generators the editor offers for a secret field. */
export type GeneratorChoice = "symbols20" | "letters20" | "symbols32" | "words";

export function generateSecret(choice: GeneratorChoice): string {
  switch (choice) {
    case "symbols20":
      return generatePassword(20, PASSWORD_LETTERS_DIGITS + PASSWORD_SYMBOLS);
    case "letters20":
      return generatePassword(20, PASSWORD_LETTERS_DIGITS);
    case "symbols32":
      return generatePassword(32, PASSWORD_LETTERS_DIGITS + PASSWORD_SYMBOLS);
    case "words":
      return generatePassphrase();
  }
}
