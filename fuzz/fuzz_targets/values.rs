//! Names, emails, phones, language tags, countries, dates and the search folding, from any text.
//!
//! Each parser must never panic, and what it accepts must be a fixed point: parsing a parsed
//! value's text gives the same value back (the store keeps that text, and forms and imports send
//! it again). A phone in E.164 reads the same whatever the default region. `fold` is idempotent
//! and yields only lower-case ASCII words separated by single spaces.
//!
//! The first byte picks the phone region; the rest is the text (lossily UTF-8).
#![no_main]

use clientele_core::countries::CountryCode;
use clientele_core::text::fold;
use clientele_core::values::{
    Email, LanguageTag, PersonName, PhoneE164, PhoneRegion, optional_text, parse_date, required_text,
};
use libfuzzer_sys::fuzz_target;

/// Regions whose numbering plans differ in the ways that matter: trunk prefixes kept (IT) or
/// dropped (DE, GB, FR), shared country codes (US/CA, RU/KZ), short and long numbers.
const REGIONS: [&str; 16] =
    ["IT", "DE", "GB", "FR", "US", "CA", "ES", "CH", "AT", "RO", "RU", "KZ", "BR", "CN", "IN", "SM"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let region = PhoneRegion::parse(REGIONS[usize::from(selector) % REGIONS.len()]).expect("a known region");
    let other = PhoneRegion::parse(REGIONS[usize::from(selector / 16) % REGIONS.len()]).expect("a known region");

    if let Ok(name) = PersonName::parse(&text) {
        let s = name.as_str();
        assert!(!s.is_empty() && s.chars().count() <= PersonName::MAX_CHARS, "{s:?}");
        assert_eq!(s, s.trim(), "a name is trimmed");
        assert!(!s.contains("  "), "inner whitespace is collapsed: {s:?}");
        assert!(s.chars().any(char::is_alphabetic), "{s:?} has a letter");
        assert_eq!(PersonName::parse(s).as_ref(), Ok(&name), "a name parses to itself");
    }

    if let Ok(email) = Email::parse(&text) {
        let s = email.as_str();
        assert!(s.len() <= 254, "{s:?}");
        assert_eq!(s, s.to_lowercase(), "an email is lower-cased");
        assert_eq!(Email::parse(s).as_ref(), Ok(&email), "an email parses to itself");
    }

    if let Ok(phone) = PhoneE164::parse(&text, region) {
        let s = phone.as_str();
        let digits = s.strip_prefix('+').expect("E.164 starts with +");
        // Not E.164's 15 digits at most: libphonenumber, which the product follows exactly, takes
        // national numbers of up to 17 digits (German ones among them) after a country code of 3.
        assert!((2..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()), "{s:?}");
        assert_eq!(PhoneE164::parse(s, region).as_ref(), Ok(&phone), "a stored phone reads the same");
        assert_eq!(PhoneE164::parse(s, other).as_ref(), Ok(&phone), "E.164 does not depend on the region");
    }

    if let Ok(tag) = LanguageTag::parse(&text) {
        assert_eq!(LanguageTag::parse(tag.as_str()).as_ref(), Ok(&tag), "a language tag parses to itself");
    }

    if let Ok(country) = CountryCode::read(&text) {
        assert_eq!(CountryCode::parse(&country.to_string()), Ok(country), "a read country is a valid code");
    }

    if let Ok(date) = parse_date(&text) {
        assert_eq!(parse_date(&date.to_string()), Ok(date), "a date's text reads back as the date");
    }

    if let Ok(Some(kept)) = optional_text(&text, 200) {
        assert_eq!(optional_text(&kept, 200), Ok(Some(kept.clone())), "text is a fixed point");
        assert_eq!(required_text(&kept, 200), Ok(kept.clone()));
    }

    let folded = fold(&text);
    assert_eq!(fold(&folded), folded, "folding is idempotent");
    assert!(
        folded.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' '),
        "folded text is lower-case ASCII words: {folded:?}"
    );
    assert!(!folded.starts_with(' ') && !folded.ends_with(' ') && !folded.contains("  "), "{folded:?}");
});
