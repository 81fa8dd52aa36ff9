//! Text folding shared by search and the global blacklist: one definition of "the same name".

use unicode_normalization::UnicodeNormalization;

/// Folds text for matching: compatibility-normalised, symbols and emoji dropped, transliterated
/// to ASCII (`Žáková` → `zakova`, `Müller` → `muller`, `ß` → `ss`), lower-cased, every run of
/// characters other than letters and digits turned into one space, trimmed.
pub fn fold(text: &str) -> String {
    // Only letters and digits are transliterated: deunicode would spell symbols out ("💥" → "boom").
    let normalized: String = text.nfkc().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    let ascii = deunicode::deunicode(&normalized).to_ascii_lowercase();
    let mut out = String::with_capacity(ascii.len());
    for word in ascii.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fold;
    use proptest::prelude::*;

    #[test]
    fn folding_removes_case_accents_and_punctuation() {
        assert_eq!(fold("ZOË Müller-Ñúñez"), "zoe muller nunez");
        assert_eq!(fold("  Nicolò   D'Àngelo "), "nicolo d angelo");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Žáková"), "zakova");
        assert_eq!(fold("mario.rossi@example.com"), "mario rossi example com");
        assert_eq!(fold("💥"), "");
    }

    proptest! {
        #[test]
        fn folding_is_idempotent_and_ascii(text in "\\PC{0,40}") {
            let once = fold(&text);
            prop_assert!(once.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' '));
            prop_assert_eq!(fold(&once), once);
        }
    }
}
