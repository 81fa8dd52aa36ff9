//! Folding text for matching, shared by search and the global blacklist's pseudonyms.

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
