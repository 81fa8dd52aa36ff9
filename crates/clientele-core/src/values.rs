//! Values that parse: once a value has one of these types, it is valid.
//!
//! Each type has a private field and a `parse` constructor returning a [`FieldProblem`]; the
//! caller, which knows the field's name, turns that into a [`crate::FieldError`]. Values read
//! back from the store come through `from_stored`, because the store only ever holds values that
//! were parsed on the way in.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use time::Date;

pub use crate::countries::CountryCode;
use crate::error::{FieldCode, FieldErrors, FieldProblem, Result};
use crate::time::Timestamp;

/// Trims `input`; `Ok(None)` when nothing is left. Rejects control characters, bidirectional
/// controls ([`is_bidi_control`]) and text longer than `max` characters.
pub fn optional_text(input: &str, max: usize) -> Result<Option<String>, FieldProblem> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max {
        return Err(FieldProblem::new(FieldCode::TooLong, format!("must be at most {max} characters")));
    }
    if trimmed.chars().any(|c| c.is_control()) {
        return Err(FieldProblem::new(FieldCode::Invalid, "must not contain control characters"));
    }
    refuse_bidi_controls(trimmed)?;
    Ok(Some(trimmed.to_owned()))
}

/// True for the invisible characters that reorder how text around them is shown: the embeddings
/// and overrides U+202A–U+202E, the isolates U+2066–U+2069, and the marks U+200E and U+200F.
/// In a name they make `Anna\u{202E}gpj.exe` show as `Annaexe.jpg`, or one customer look like
/// another; right-to-left letters themselves need none of them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// `invalid` when `text` holds a bidirectional control.
pub(crate) fn refuse_bidi_controls(text: &str) -> Result<(), FieldProblem> {
    if text.chars().any(is_bidi_control) {
        return Err(FieldProblem::new(
            FieldCode::Invalid,
            "must not contain bidirectional control characters (U+202A to U+202E, U+2066 to U+2069, U+200E, U+200F)",
        ));
    }
    Ok(())
}

/// Like [`optional_text`], but an empty value is a `required` problem.
pub fn required_text(input: &str, max: usize) -> Result<String, FieldProblem> {
    optional_text(input, max)?.ok_or_else(|| FieldProblem::new(FieldCode::Required, "is required"))
}

/// Parses a `YYYY-MM-DD` calendar date.
pub fn parse_date(input: &str) -> Result<Date, FieldProblem> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(input.trim(), &format)
        .map_err(|_| FieldProblem::new(FieldCode::InvalidDate, "must be a date in the form YYYY-MM-DD"))
}

/// A person's first or last name: trimmed, inner whitespace collapsed, 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

impl PersonName {
    /// The longest name accepted.
    pub const MAX_CHARS: usize = 100;

    /// Parses a name.
    pub fn parse(input: &str) -> Result<Self, FieldProblem> {
        let collapsed = input.split_whitespace().collect::<Vec<_>>().join(" ");
        let text = required_text(&collapsed, Self::MAX_CHARS)?;
        if !text.chars().any(char::is_alphabetic) {
            return Err(FieldProblem::new(FieldCode::Invalid, "must contain at least one letter"));
        }
        Ok(Self(text))
    }

    /// A name read back from the store.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address: trimmed, lower-cased, syntactically valid (RFC 5322, no DNS lookup).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses an email address.
    pub fn parse(input: &str) -> Result<Self, FieldProblem> {
        let text = input.trim().to_lowercase();
        let invalid = || FieldProblem::new(FieldCode::InvalidEmail, "must be an email address like name@example.com");
        if text.len() > 254 {
            return Err(FieldProblem::new(FieldCode::TooLong, "must be at most 254 characters"));
        }
        if text.chars().any(is_bidi_control) {
            return Err(invalid());
        }
        let parsed = email_address::EmailAddress::from_str(&text).map_err(|_| invalid())?;
        // The RFC allows `a@b` and display-name forms; people at a counter never mean those.
        if parsed.email() != text || !parsed.domain().contains('.') {
            return Err(invalid());
        }
        Ok(Self(text))
    }

    /// An address read back from the store.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number in E.164 form (`+393331234567`), valid per libphonenumber's metadata.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneE164(String);

impl PhoneE164 {
    /// Parses `input`, reading a number without country prefix in `default_region`.
    pub fn parse(input: &str, default_region: PhoneRegion) -> Result<Self, FieldProblem> {
        let invalid = || {
            FieldProblem::new(
                FieldCode::InvalidPhone,
                format!(
                    "must be a valid phone number, with its country prefix or as a {} number",
                    default_region.as_str()
                ),
            )
        };
        let text = input.trim();
        // The longest E.164 number has 15 digits; generous room for spaces and punctuation.
        if text.is_empty() || text.len() > 40 {
            return Err(invalid());
        }
        // The parser is a port of libphonenumber and reads numbers as it does: after a country
        // code it drops a national prefix written out of habit (`+49 (0)30 …`), except where the
        // leading zero is part of the number (Italy). It is third-party code fed with client
        // input: never let it take a request down.
        let parsed = std::panic::catch_unwind(|| {
            rlibphonenumber::PHONE_NUMBER_UTIL
                .parse(text, Some(default_region.region))
                .ok()
                .filter(|number| number.is_valid())
                .map(|number| number.format_as(rlibphonenumber::PhoneNumberFormat::E164).into_owned())
        });
        match parsed {
            Ok(Some(e164)) => Ok(Self(e164)),
            _ => Err(invalid()),
        }
    }

    /// A number read back from the store.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The number in E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How far a stored phone number has been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhoneStatus {
    /// Valid per libphonenumber's metadata (no online check configured).
    Valid,
    /// Confirmed by the online lookup.
    Verified,
    /// The online lookup is configured but could not be reached: needs review.
    Unverified,
}

impl PhoneStatus {
    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Verified => "verified",
            Self::Unverified => "unverified",
        }
    }

    /// Parses a stored or queried status.
    pub fn parse(input: &str) -> Option<Self> {
        match input {
            "valid" => Some(Self::Valid),
            "verified" => Some(Self::Verified),
            "unverified" => Some(Self::Unverified),
            _ => None,
        }
    }
}

/// A region known to libphonenumber, used to read national numbers (`IT`, `DE`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion {
    region: rlibphonenumber::enums::Region,
    /// The code's two ASCII upper-case letters.
    code: [u8; 2],
}

impl PhoneRegion {
    /// Parses a region code (case-insensitive).
    pub fn parse(input: &str) -> Result<Self, FieldProblem> {
        let upper = input.trim().to_ascii_uppercase();
        let invalid = || FieldProblem::new(FieldCode::InvalidCountry, "must be a phone region such as IT or DE");
        let code: [u8; 2] = upper.as_bytes().try_into().map_err(|_| invalid())?;
        let region = rlibphonenumber::enums::Region::from_code(&upper).map_err(|_| invalid())?;
        Ok(Self { region, code })
    }

    /// The region code.
    pub fn as_str(&self) -> &str {
        // Always two ASCII letters, checked by `parse`.
        std::str::from_utf8(&self.code).unwrap_or("??")
    }
}

/// A BCP 47 language tag (`it`, `en-GB`, `zh-Hant-TW`), with conventional casing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageTag(String);

impl LanguageTag {
    /// Parses a language tag.
    pub fn parse(input: &str) -> Result<Self, FieldProblem> {
        let invalid = || FieldProblem::new(FieldCode::Invalid, "must be a BCP 47 language tag such as it or en-GB");
        let text = input.trim().replace('_', "-");
        if text.is_empty() || text.len() > 35 {
            return Err(invalid());
        }
        let mut parts = Vec::new();
        for (index, part) in text.split('-').enumerate() {
            let ok_chars = part.chars().all(|c| c.is_ascii_alphanumeric());
            let normalised = match (index, part.len()) {
                (0, 2..=3) if part.chars().all(|c| c.is_ascii_alphabetic()) => part.to_ascii_lowercase(),
                (0, _) => return Err(invalid()),
                (_, 2) if ok_chars => part.to_ascii_uppercase(),
                (_, 4) if part.chars().all(|c| c.is_ascii_alphabetic()) => {
                    let lower = part.to_ascii_lowercase();
                    lower[..1].to_ascii_uppercase() + &lower[1..]
                }
                (_, 1..=8) if ok_chars => part.to_ascii_lowercase(),
                _ => return Err(invalid()),
            };
            parts.push(normalised);
        }
        Ok(Self(parts.join("-")))
    }

    /// A tag read back from the store.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The tag as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! display_and_serialize_as_str {
    ($($name:ty),*) => {$(
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::ids::string_schema(None)
            }
        }
        impl utoipa::ToSchema for $name {}
    )*};
}

display_and_serialize_as_str!(PersonName, Email, PhoneE164, LanguageTag);

/// A `true`/`false` query parameter; anything else is recorded as an error on `name`.
pub(crate) fn bool_param(errors: &mut FieldErrors, name: &str, value: Option<&str>) -> Option<bool> {
    match value {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            errors.push(name, FieldCode::Invalid, "must be true or false");
            None
        }
    }
}

/// A date or an RFC 3339 instant, as a lower bound (`end = false`: from the date's start) or an
/// exclusive upper bound (`end = true`: after the whole date); what is wrong with it otherwise.
pub fn parse_bound(value: &str, end: bool) -> std::result::Result<Timestamp, String> {
    let mut errors = FieldErrors::new();
    match instant(&mut errors, "value", value, end) {
        Some(timestamp) => Ok(timestamp),
        None => Err(errors.into_vec().into_iter().next().map(|e| e.message).unwrap_or_else(|| "is not a date".into())),
    }
}

/// A date or RFC 3339 instant. For the upper bound (`end`), a date means the whole day, and the
/// bound returned is exclusive.
pub(crate) fn instant(errors: &mut FieldErrors, name: &str, value: &str, end: bool) -> Option<Timestamp> {
    if let Some(timestamp) = Timestamp::parse(value) {
        return Some(if end { timestamp.add(std::time::Duration::from_micros(1)) } else { timestamp });
    }
    let in_range = |date: &time::Date| (Timestamp::MIN_YEAR..=Timestamp::MAX_YEAR).contains(&date.year());
    match parse_date(value) {
        Ok(date) if in_range(&date) => {
            let day = if end { date.next_day().unwrap_or(date) } else { date };
            Some(Timestamp::from_datetime(day.midnight().assume_utc()))
        }
        Ok(_) => {
            errors.push(name, FieldCode::OutOfRange, "must be between 1900 and 9998");
            None
        }
        Err(_) => {
            errors.push(name, FieldCode::InvalidDate, "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp");
            None
        }
    }
}

/// Codes (tax code, VAT, document numbers): upper case, spaces removed, letters, digits, `-`, `/`.
pub(crate) fn code_text(input: &str, max: usize) -> Result<Option<String>, FieldProblem> {
    let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    if compact.is_empty() {
        return Ok(None);
    }
    if compact.chars().count() > max {
        return Err(FieldProblem::new(FieldCode::TooLong, format!("must be at most {max} characters")));
    }
    if !compact.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '/' || c == '.') {
        return Err(FieldProblem::new(FieldCode::Invalid, "may contain only letters, digits, '-', '/' and '.'"));
    }
    Ok(Some(compact))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn it() -> PhoneRegion {
        PhoneRegion::parse("IT").unwrap()
    }

    #[test]
    fn names_are_trimmed_and_collapsed_and_need_a_letter() {
        assert_eq!(PersonName::parse("  Nicolò   De  Rossi ").unwrap().as_str(), "Nicolò De Rossi");
        assert_eq!(PersonName::parse("   ").unwrap_err().code, FieldCode::Required);
        assert_eq!(PersonName::parse("1234").unwrap_err().code, FieldCode::Invalid);
        assert_eq!(PersonName::parse(&"a".repeat(101)).unwrap_err().code, FieldCode::TooLong);
    }

    #[test]
    fn emails_are_lowercased_and_need_a_dotted_domain() {
        assert_eq!(Email::parse(" Mario.Rossi@Example.COM ").unwrap().as_str(), "mario.rossi@example.com");
        for bad in ["mario", "mario@", "mario@localhost", "Mario <m@example.com>", "a b@example.com"] {
            assert_eq!(Email::parse(bad).unwrap_err().code, FieldCode::InvalidEmail, "{bad}");
        }
    }

    #[test]
    fn phones_are_read_in_the_default_region_and_stored_as_e164() {
        for input in ["333 123 4567", "+39 333 1234567", "0039 333 1234567", "+393331234567"] {
            assert_eq!(PhoneE164::parse(input, it()).unwrap().as_str(), "+393331234567", "{input}");
        }
        let de = PhoneRegion::parse("de").unwrap();
        assert_eq!(PhoneE164::parse("030 1234567", de).unwrap().as_str(), "+49301234567");
        for bad in ["+39 123", "abc", "", "+", "00", &"9".repeat(60)] {
            assert_eq!(PhoneE164::parse(bad, it()).unwrap_err().code, FieldCode::InvalidPhone, "{bad}");
        }
    }

    #[test]
    fn a_national_prefix_after_the_country_code_is_dropped_as_libphonenumber_does() {
        let region = |code: &str| PhoneRegion::parse(code).unwrap();
        // German letterheads write the trunk prefix in brackets; so do the British and French.
        for (input, default_region, e164) in [
            ("+49 (0) 30 1234567", "IT", "+49301234567"),
            ("+49(0)5737 79759", "IT", "+49573779759"),
            ("0049 (0)30 1234567", "IT", "+49301234567"),
            ("0049 (0)30 1234567", "DE", "+49301234567"),
            ("+44 (0)20 7946 0958", "IT", "+442079460958"),
            ("+33 (0)1 23 45 67 89", "DE", "+33123456789"),
            // In Italy the leading zero belongs to the number, wherever it is read from.
            ("+39 06 1234 5678", "DE", "+390612345678"),
            ("0039 06 12345678", "DE", "+390612345678"),
            ("06 1234 5678", "IT", "+390612345678"),
        ] {
            assert_eq!(PhoneE164::parse(input, region(default_region)).map(|p| p.0), Ok(e164.to_owned()), "{input}");
        }
    }

    /// Every case of `tests/data/phone-oracle.csv`: libphonenumber's example numbers written the
    /// ways people write them, as the Python port of libphonenumber (at the same metadata version)
    /// reads them (`tools/phone-oracle/generate.py` wrote the file).
    #[test]
    fn phones_are_read_exactly_as_libphonenumber_reads_them() {
        let oracle = include_str!("../tests/data/phone-oracle.csv");
        let mut reader = csv::Reader::from_reader(oracle.as_bytes());
        let mut disagreements = Vec::new();
        let mut cases = 0;
        for record in reader.records() {
            let record = record.unwrap();
            let (input, region, expected) = (&record[0], &record[1], &record[2]);
            let ours = match PhoneE164::parse(input, PhoneRegion::parse(region).unwrap()) {
                Ok(phone) => phone.0,
                Err(_) => "invalid".to_owned(),
            };
            cases += 1;
            if ours != expected {
                disagreements.push(format!("{input:?} in {region}: libphonenumber {expected}, ours {ours}"));
            }
        }
        assert!(cases > 6000, "the oracle has {cases} cases");
        assert!(disagreements.is_empty(), "{} disagreements:\n{}", disagreements.len(), disagreements.join("\n"));
    }

    #[test]
    fn language_tags_get_conventional_casing() {
        assert_eq!(LanguageTag::parse("EN_gb").unwrap().as_str(), "en-GB");
        assert_eq!(LanguageTag::parse("zh-hant-tw").unwrap().as_str(), "zh-Hant-TW");
        for bad in ["", "e", "english-language-x", "it--IT", "1t"] {
            assert!(LanguageTag::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bidirectional_controls_are_refused_and_right_to_left_letters_kept() {
        for c in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}'] {
            assert!(optional_text(&format!("An{c}na"), 100).is_err(), "U+{:04X}", c as u32);
            assert!(PersonName::parse(&format!("An{c}na")).is_err());
            assert!(Email::parse(&format!("an{c}na@example.com")).is_err());
        }
        for c in ['\u{2029}', '\u{2065}', '\u{200D}', '\u{202F}'] {
            assert!(!is_bidi_control(c), "U+{:04X}", c as u32);
        }
        assert_eq!(PersonName::parse("שרה").unwrap().as_str(), "שרה");
    }

    #[test]
    fn dates_must_be_iso() {
        assert_eq!(parse_date("2001-02-03").unwrap().to_string(), "2001-02-03");
        for bad in ["03/02/2001", "2001-02-30", "2001-2-3", "yesterday"] {
            assert_eq!(parse_date(bad).unwrap_err().code, FieldCode::InvalidDate, "{bad}");
        }
    }
}
