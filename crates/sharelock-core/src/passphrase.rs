//! Share passphrases (docs/protocol.md §4.1): the shortest one a sender may choose, and generated ones.
//!
//! A passphrase raises the cost of a stolen link *and* database to one Argon2id run per guess, so it is
//! only as good as it is unguessable. A client creating a share refuses one of fewer than
//! [`MIN_SHARE_PASSPHRASE_CHARS`] characters (Unicode scalar values of its NFC form, the text that is
//! hashed); a client opening a link accepts any non-empty one, so links made before the rule still open.
//! [`generate`] draws [`GENERATED_WORDS`] words uniformly from the EFF's Long Wordlist (7,776 words, so
//! about 77.5 bits), easy to read out on the phone; `data/README.md` cites the list and its licence.

use crate::account::normalize_secret_text;
use crate::crypto::random_array;
use crate::error::{Error, Result};
use zeroize::Zeroizing;

/// The shortest share passphrase a sender may choose, in characters (Unicode scalar values after NFC).
pub const MIN_SHARE_PASSPHRASE_CHARS: usize = 10;

/// Words in a generated passphrase.
pub const GENERATED_WORDS: usize = 6;

/// The number of words in the list.
pub const WORDLIST_LEN: usize = 7776;

/// The EFF's Long Wordlist as published: `<five dice digits>\t<word>\n` per line.
const WORDLIST: &str = include_str!("../data/eff_large_wordlist.txt");

/// The words of the list, in its order.
pub fn words() -> impl Iterator<Item = &'static str> {
    WORDLIST
        .lines()
        .filter_map(|line| line.split_once('\t').map(|(_, word)| word))
}

/// Refuses a new share passphrase shorter than [`MIN_SHARE_PASSPHRASE_CHARS`] characters of its NFC form
/// (`too_short`).
pub fn check_new(passphrase: &str) -> Result<()> {
    check_length("share passphrase", passphrase, MIN_SHARE_PASSPHRASE_CHARS)
}

/// Refuses `text` if its NFC form has fewer than `min` Unicode scalar values.
pub(crate) fn check_length(what: &'static str, text: &str, min: usize) -> Result<()> {
    if normalize_secret_text(text).chars().count() < min {
        return Err(Error::TooShort { what, min });
    }
    Ok(())
}

/// A fresh passphrase: [`GENERATED_WORDS`] words drawn uniformly and independently from the list (the
/// operating system's CSPRNG, rejection sampling so no word is likelier than another), joined by spaces.
pub fn generate() -> Result<Zeroizing<String>> {
    let list: Vec<&str> = words().collect();
    if list.len() != WORDLIST_LEN {
        return Err(Error::malformed("word list", "not 7776 words"));
    }
    // 8 × 7776 = 62208 ≤ 65536: a 16-bit draw below it maps onto the list evenly.
    const LIMIT: u16 = (8 * WORDLIST_LEN) as u16;
    let mut out = Zeroizing::new(String::new());
    let mut chosen = 0;
    while chosen < GENERATED_WORDS {
        let draw = u16::from_be_bytes(random_array()?);
        if draw >= LIMIT {
            continue;
        }
        if chosen > 0 {
            out.push(' ');
        }
        out.push_str(list[usize::from(draw) % WORDLIST_LEN]);
        chosen += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::crypto::sha256;
    use std::collections::HashSet;

    #[test]
    fn the_list_is_the_effs_unchanged() {
        assert_eq!(
            data_encoding::HEXLOWER.encode(&sha256(WORDLIST.as_bytes())),
            "addd35536511597a02fa0a9ff1e5284677b8883b83e986e43f15a3db996b903e"
        );
        let list: Vec<&str> = words().collect();
        assert_eq!(list.len(), WORDLIST_LEN);
        assert_eq!(list.iter().collect::<HashSet<_>>().len(), WORDLIST_LEN);
        assert_eq!((list[0], list[WORDLIST_LEN - 1]), ("abacus", "zoom"));
    }

    #[test]
    fn generated_passphrases_are_six_listed_words_and_long_enough() {
        let list: HashSet<&str> = words().collect();
        let mut seen = HashSet::new();
        for _ in 0..50 {
            let p = generate().unwrap();
            let parts: Vec<&str> = p.split(' ').collect();
            assert_eq!(parts.len(), GENERATED_WORDS);
            assert!(parts.iter().all(|w| list.contains(w)), "{parts:?}");
            check_new(&p).unwrap();
            seen.insert(p.to_string());
        }
        assert_eq!(seen.len(), 50, "no repeats in 50 draws of 77 bits");
    }

    #[test]
    fn short_passphrases_are_refused_after_nfc() {
        assert!(check_new("ten chars!").is_ok());
        assert_eq!(
            check_new("nine char"),
            Err(Error::TooShort {
                what: "share passphrase",
                min: 10
            })
        );
        // Ten code points typed, nine once composed.
        assert!(check_new("cafe\u{301}abcde").is_err());
        // Ten characters, twenty UTF-16 units.
        assert!(check_new(&"🔑".repeat(10)).is_ok());
    }
}
