//! The record's character sets (manual §5) and the only transliteration the specification allows
//! (`shared/specs/cargos.md` §2 and §7.1).
//!
//! The police server refuses a record with a character outside a field's set ("Vincolo
//! SetCaratteri"), so every text value is cleaned here before it is measured and placed:
//!
//! - Everywhere: Unicode NFC first; the typographic apostrophes `’ ‘ ` ´` become `'`; letters
//!   with a diacritic that the set does not hold become their base letter (`é`→`e`, `ñ`→`n`,
//!   `ç`→`c`, `ø`→`o`, `å`→`a`, `æ`→`ae`, `œ`→`oe`). Sets 1 and 2 keep `à è ì ò ù ä ö ü ß`
//!   (lower case, as the manual writes them; an upper-case `À` is not in the set as written, so
//!   it becomes `A`). Sets 3 to 6 hold no accents at all, so every accent is stripped there.
//! - Free text ([`Cleaning::FreeText`]: names, colour, addresses, make, model, agency name):
//!   other punctuation (`& / ( ) " ° º -` ...) becomes a space, so `Rossi-Bianchi` becomes
//!   `Rossi Bianchi`; runs of spaces collapse and the ends are trimmed.
//! - Identifiers ([`Cleaning::Identifier`]: contract, operator and agency ids, plate, document
//!   and licence numbers): nothing but the accents and apostrophes above is changed; any other
//!   character outside the set is an error, because an altered identifier is wrong data (§7.2).
//! - The agency phone ([`Cleaning::Phone`], set 5, digits only): spaces and the separators
//!   `+ - . / ( )` are removed, as the specification says (`+39 010 …` → `39010…`); a letter is
//!   an error.
//! - Contacts ([`Cleaning::Contact`], set 6, no space and no `@`): spaces are removed; an e-mail
//!   address cannot be sent and is an error that says so.
//!
//! Letters of other scripts (Cyrillic, Greek, Arabic, CJK, ...) are never guessed at: a name
//! must be entered in Latin script as written on the document.

use unicode_normalization::UnicodeNormalization;

/// The manual's six character sets. ASCII letters are accepted in either case: the sets are
/// written `[a-z]`, but the official example and every integration send mixed case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Charset {
    /// Set 1: letters, `à è ì ò ù ä ö ü ß`, apostrophe, space (names, colour).
    Letters,
    /// Set 2: set 1 plus digits, `.` and `,` (addresses, make, model).
    Text,
    /// Set 3: letters, digits, `-`, `.`, space (plate, document and licence numbers).
    Identifier,
    /// Set 4: letters, digits, `-`, `.`, `,`, apostrophe, space (contract, operator and agency
    /// ids, agency name).
    Reference,
    /// Set 5: digits only (agency phone).
    Digits,
    /// Set 6: letters, digits, `-`, `.`, `+` (the drivers' contacts).
    Contact,
}

/// The accented letters that sets 1 and 2 hold.
const KEPT_ACCENTS: &[char] = &['à', 'è', 'ì', 'ò', 'ù', 'ä', 'ö', 'ü', 'ß'];

/// Typographic apostrophes, each read as `'`.
const TYPOGRAPHIC_APOSTROPHES: &[char] = &['\u{2019}', '\u{2018}', '`', '\u{b4}'];

impl Charset {
    /// The set's number in the manual (1 to 6).
    pub fn number(self) -> u8 {
        match self {
            Self::Letters => 1,
            Self::Text => 2,
            Self::Identifier => 3,
            Self::Reference => 4,
            Self::Digits => 5,
            Self::Contact => 6,
        }
    }

    /// Whether `c` belongs to the set.
    pub fn allows(self, c: char) -> bool {
        let letter = c.is_ascii_alphabetic();
        let digit = c.is_ascii_digit();
        match self {
            Self::Letters => letter || KEPT_ACCENTS.contains(&c) || c == '\'' || c == ' ',
            Self::Text => Self::Letters.allows(c) || digit || c == '.' || c == ',',
            Self::Identifier => letter || digit || matches!(c, '-' | '.' | ' '),
            Self::Reference => letter || digit || matches!(c, '-' | '.' | ',' | '\'' | ' '),
            Self::Digits => digit,
            Self::Contact => letter || digit || matches!(c, '-' | '.' | '+'),
        }
    }

    /// What the set holds, in words, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Letters => "letters (à è ì ò ù ä ö ü ß among accented ones), apostrophes and spaces",
            Self::Text => "letters (à è ì ò ù ä ö ü ß among accented ones), digits, apostrophes, spaces, '.' and ','",
            Self::Identifier => "unaccented letters, digits, spaces, '-' and '.'",
            Self::Reference => "unaccented letters, digits, spaces, '-', '.', ',' and apostrophes",
            Self::Digits => "digits only",
            Self::Contact => "unaccented letters, digits, '-', '.' and '+' (no spaces, no '@')",
        }
    }
}

/// How a field's text may be changed to fit its set (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cleaning {
    /// Free text: accents and apostrophes normalised, other punctuation to spaces, spaces
    /// collapsed.
    FreeText,
    /// Identifiers: accents and apostrophes normalised, outer spaces trimmed, nothing else.
    Identifier,
    /// Phone numbers: spaces and `+ - . / ( )` removed.
    Phone,
    /// Contacts: spaces removed.
    Contact,
}

/// Why a value cannot be made to fit its set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CharsetProblem {
    /// These characters are not in the set and may not be replaced (each listed once).
    Disallowed(Vec<char>),
    /// Letters of a script other than Latin (each listed once).
    NonLatin(Vec<char>),
    /// An e-mail address where the set has no `@`.
    EmailAddress,
}

/// Cleans `input` for a field of set `charset` under `cleaning`: the value as it will be sent,
/// or why it cannot be sent. An empty result means the value was empty (or only spaces).
pub fn clean(input: &str, charset: Charset, cleaning: Cleaning) -> Result<String, CharsetProblem> {
    let mut out = String::with_capacity(input.len());
    let mut disallowed = Vec::new();
    let mut non_latin = Vec::new();
    for c in input.nfc() {
        let c = if TYPOGRAPHIC_APOSTROPHES.contains(&c) { '\'' } else { c };
        if charset.allows(c) {
            out.push(c);
        } else if c.is_whitespace() {
            if cleaning == Cleaning::FreeText || cleaning == Cleaning::Identifier {
                out.push(' ');
            }
        } else if is_combining_mark(c) {
            // A diacritic NFC could not compose onto its letter: the base letter stays.
        } else if c.is_ascii_alphanumeric() {
            // A letter or digit the set lacks (a digit in a name, a letter in a phone number).
            push_once(&mut disallowed, c);
        } else if let Some(base) = base_letters(c) {
            out.push_str(base.as_str());
        } else if c.is_alphabetic() && !is_ordinal_indicator(c) {
            push_once(&mut non_latin, c);
        } else if c.is_numeric() {
            push_once(&mut disallowed, c);
        } else if cleaning == Cleaning::FreeText {
            out.push(' ');
        } else if cleaning == Cleaning::Phone && matches!(c, '+' | '-' | '.' | '/' | '(' | ')') {
            // Separators carry nothing the police need: the digits stay.
        } else if cleaning == Cleaning::Contact && c == '@' {
            return Err(CharsetProblem::EmailAddress);
        } else {
            push_once(&mut disallowed, c);
        }
    }
    // The letters a diacritic was removed from must themselves be in the set (digits-only sets
    // hold none); report them rather than send them.
    for c in out.chars().filter(|c| !charset.allows(*c)) {
        push_once(&mut disallowed, c);
    }
    if !non_latin.is_empty() {
        return Err(CharsetProblem::NonLatin(non_latin));
    }
    if !disallowed.is_empty() {
        return Err(CharsetProblem::Disallowed(disallowed));
    }
    Ok(out.split(' ').filter(|word| !word.is_empty()).collect::<Vec<_>>().join(" "))
}

fn push_once(list: &mut Vec<char>, c: char) {
    if !list.contains(&c) {
        list.push(c);
    }
}

fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36f}')
}

/// `ª` and `º` are letters to Unicode but ordinal signs to people (`N° 5`, `1º piano`): the
/// specification lists `º` among the punctuation that becomes a space.
fn is_ordinal_indicator(c: char) -> bool {
    matches!(c, '\u{aa}' | '\u{ba}')
}

/// The base letter(s) of a Latin letter with a diacritic or a Latin ligature: `é` → `e`,
/// `Ø` → `O`, `æ` → `ae`, `ß` → `ss` (where the set lacks `ß`). `None` for anything else.
fn base_letters(c: char) -> Option<String> {
    let latin = matches!(c, '\u{c0}'..='\u{24f}' | '\u{1e00}'..='\u{1eff}') && c != '\u{d7}' && c != '\u{f7}';
    if !latin || !c.is_alphabetic() {
        return None;
    }
    let base = deunicode::deunicode_char(c)?;
    (!base.is_empty() && base.chars().all(|b| b.is_ascii_alphabetic())).then(|| base.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free(input: &str, charset: Charset) -> String {
        clean(input, charset, Cleaning::FreeText).unwrap()
    }

    #[test]
    fn the_accents_of_sets_one_and_two_are_kept_and_others_become_their_base_letter() {
        assert_eq!(free("Nicolò Müller Strauß", Charset::Letters), "Nicolò Müller Strauß");
        assert_eq!(free("José Núñez Çelik Øberg Ångström", Charset::Letters), "Jose Nunez Celik Oberg Angström");
        assert_eq!(free("Lætitia Cœur ŒDIPE", Charset::Letters), "Laetitia Coeur OEDIPE");
        assert_eq!(free("NICOLÒ", Charset::Letters), "NICOLO");
        // Decomposed input (e + combining grave) is composed first and kept.
        assert_eq!(free("Nicole\u{300}", Charset::Letters), "Nicolè");
    }

    #[test]
    fn typographic_apostrophes_become_plain_ones() {
        assert_eq!(
            free("D’Angelo O‘Neil Dell`Acqua L´Aquila", Charset::Letters),
            "D'Angelo O'Neil Dell'Acqua L'Aquila"
        );
        assert_eq!(clean("Sant’Anna 2", Charset::Reference, Cleaning::Identifier).unwrap(), "Sant'Anna 2");
    }

    #[test]
    fn hyphens_and_other_punctuation_in_free_text_become_single_spaces() {
        assert_eq!(free("  Rossi-Bianchi ", Charset::Letters), "Rossi Bianchi");
        assert_eq!(free("Via Roma 10/A (scala \"B\") n° 3", Charset::Text), "Via Roma 10 A scala B n 3");
        assert_eq!(free("1º piano", Charset::Text), "1 piano");
        assert_eq!(free("Rent & Go s.r.l.", Charset::Reference), "Rent Go s.r.l.");
    }

    #[test]
    fn digits_in_names_are_refused_not_dropped() {
        assert_eq!(clean("Mario2", Charset::Letters, Cleaning::FreeText), Err(CharsetProblem::Disallowed(vec!['2'])));
    }

    #[test]
    fn identifiers_lose_accents_but_keep_every_other_character_or_are_refused() {
        let id = |s| clean(s, Charset::Identifier, Cleaning::Identifier);
        assert_eq!(id(" AB-123.cd ").unwrap(), "AB-123.cd");
        assert_eq!(id("CÀ123").unwrap(), "CA123");
        assert_eq!(id("AB/123"), Err(CharsetProblem::Disallowed(vec!['/'])));
        assert_eq!(id("O'NEIL"), Err(CharsetProblem::Disallowed(vec!['\''])));
    }

    #[test]
    fn the_agency_phone_keeps_only_its_digits_and_refuses_letters() {
        let phone = |s| clean(s, Charset::Digits, Cleaning::Phone);
        assert_eq!(phone("+39 (010) 123-45.67/8").unwrap(), "3901012345678");
        assert_eq!(phone("010 CALLME"), Err(CharsetProblem::Disallowed(vec!['C', 'A', 'L', 'M', 'E'])));
    }

    #[test]
    fn contacts_lose_their_spaces_and_refuse_email_addresses() {
        let contact = |s| clean(s, Charset::Contact, Cleaning::Contact);
        assert_eq!(contact("+39 333 123 4567").unwrap(), "+393331234567");
        assert_eq!(contact("mario@example.com"), Err(CharsetProblem::EmailAddress));
        assert_eq!(contact("333/1234"), Err(CharsetProblem::Disallowed(vec!['/'])));
    }

    #[test]
    fn letters_of_other_scripts_are_refused() {
        assert_eq!(
            clean("Иван", Charset::Letters, Cleaning::FreeText),
            Err(CharsetProblem::NonLatin(vec!['И', 'в', 'а', 'н']))
        );
        assert_eq!(clean("王", Charset::Reference, Cleaning::Identifier), Err(CharsetProblem::NonLatin(vec!['王'])));
    }

    #[test]
    fn every_cleaned_value_is_inside_its_set() {
        let sets = [
            Charset::Letters,
            Charset::Text,
            Charset::Identifier,
            Charset::Reference,
            Charset::Digits,
            Charset::Contact,
        ];
        let rules = [Cleaning::FreeText, Cleaning::Identifier, Cleaning::Phone, Cleaning::Contact];
        for input in ["Zoë Ñúñez-Ü", "Via d’Azeglio 3/b", "+39 333", "ÀÉÎÕÜ ß 12", "a.b-c,d'e"] {
            for set in sets {
                for rule in rules {
                    if let Ok(out) = clean(input, set, rule) {
                        assert!(
                            out.chars().all(|c| set.allows(c)),
                            "{input:?} in set {} by {rule:?}: {out:?}",
                            set.number()
                        );
                    }
                }
            }
        }
    }
}
