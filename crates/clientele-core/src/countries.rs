//! Countries: the ISO 3166-1 alpha-2 code the API speaks, and countries as people's files and
//! forms write them (`Norway`, `Italia`, `Deutschland`, `Österreich`, `Espagne`, `ITA`, `380`).
//!
//! The JSON API is strict, as Stripe's is: a country is its alpha-2 code, and a known name sent
//! instead is refused with the code to use ("did you mean IT?"). Imports and the console's forms
//! are lenient: [`CountryCode::read`] takes the alpha-2, alpha-3 or numeric code, or the
//! country's name in English or in any official language of the EU, the EEA, the United
//! Kingdom and Switzerland, from the `keshvar` crate's data (ISO names and CLDR-style
//! translations), never a hand-written table. A name that two countries answer to is refused as
//! ambiguous rather than guessed.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use serde::{Serialize, Serializer};

use crate::error::{FieldCode, FieldProblem};
use crate::text::fold;

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode([u8; 2]);

/// ISO 3166-1 alpha-2, plus `XK` (Kosovo), which passports and libphonenumber use.
const COUNTRY_CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
    BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET \
    FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
    ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
    LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
    NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW \
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ \
    UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/// The languages whose country names are read: English, and the official languages of the EU,
/// the EEA, the United Kingdom and Switzerland (as the data names them; Romansh and
/// Luxembourgish have no names of their own there).
const LANGUAGES: [&str; 28] = [
    "en", "bg", "cs", "cy", "da", "de", "el", "es", "et", "fi", "fr", "ga", "hr", "hu", "is", "it", "lt", "lv", "mt",
    "nb", "nl", "nn", "pl", "pt", "ro", "sk", "sl", "sv",
];

impl CountryCode {
    /// Parses an alpha-2 country code (case-insensitive), as the JSON API takes it. A country's
    /// name or other code is refused, with the alpha-2 code to send instead.
    pub fn parse(input: &str) -> Result<Self, FieldProblem> {
        let upper = input.trim().to_ascii_uppercase();
        match upper.as_bytes() {
            [a, b] if COUNTRY_CODES.split(' ').any(|code| code == upper) => Ok(Self([*a, *b])),
            _ => {
                let hint = match Self::read(input) {
                    Ok(code) => format!("; did you mean {code}?"),
                    Err(_) => String::new(),
                };
                Err(FieldProblem::new(
                    FieldCode::InvalidCountry,
                    format!("must be an ISO 3166-1 alpha-2 country code such as IT{hint}"),
                ))
            }
        }
    }

    /// Reads a country as people write it: the alpha-2, alpha-3 or numeric code, or its name in
    /// English or a European language, in any case, with or without accents. An unknown name,
    /// or one that several countries answer to, is an `invalid_country` problem naming the value.
    pub fn read(input: &str) -> Result<Self, FieldProblem> {
        let text = input.trim();
        let upper = text.to_ascii_uppercase();
        if let [a, b] = upper.as_bytes()
            && COUNTRY_CODES.split(' ').any(|code| code == upper)
        {
            return Ok(Self([*a, *b]));
        }
        let shown: String = text.chars().take(60).collect();
        if !text.is_empty() && text.len() <= 3 && text.bytes().all(|b| b.is_ascii_digit()) {
            return NUMERIC.get(&format!("{text:0>3}")).copied().ok_or_else(|| {
                FieldProblem::new(FieldCode::InvalidCountry, format!("\"{shown}\" is not an ISO 3166-1 numeric code"))
            });
        }
        let key = name_key(text);
        match NAMES.get(&key) {
            Some(Named::One(code)) if !key.is_empty() => Ok(*code),
            Some(Named::Several(codes)) => {
                let codes: Vec<String> = codes.iter().map(ToString::to_string).collect();
                Err(FieldProblem::new(
                    FieldCode::InvalidCountry,
                    format!("\"{shown}\" could be {}: write the country's ISO code instead", codes.join(" or ")),
                ))
            }
            _ => Err(FieldProblem::new(
                FieldCode::InvalidCountry,
                format!("\"{shown}\" is not a country: write its ISO code (such as IT) or its name"),
            )),
        }
    }

    /// A code read back from the store (re-parsed; an unknown stored code reads as absent).
    pub fn from_stored(value: &str) -> Option<Self> {
        Self::parse(value).ok()
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Always two ASCII letters from COUNTRY_CODES.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// The country's name in English, if known (`IT` → `Italy`).
    pub fn english_name(&self) -> Option<&'static str> {
        keshvar::Alpha2::try_from(self.as_str()).ok().map(|a| a.to_country().iso_short_name())
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl utoipa::PartialSchema for CountryCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::ids::string_schema(None)
    }
}

impl utoipa::ToSchema for CountryCode {}

/// What a folded name stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Named {
    One(CountryCode),
    /// Names that several countries answer to at the same rank: refused, never guessed.
    Several(Vec<CountryCode>),
}

/// A name as it is looked up: folded (accents, case, punctuation) and without spaces, so that
/// `Côte d'Ivoire`, `COTE D IVOIRE` and `Cote dIvoire` meet.
fn name_key(text: &str) -> String {
    fold(text).replace(' ', "")
}

/// The country of every ISO 3166-1 numeric code, three digits.
static NUMERIC: LazyLock<HashMap<String, CountryCode>> = LazyLock::new(|| {
    keshvar::CountryIterator::new()
        .filter_map(|country| Some((country.number().to_owned(), known(country.alpha2().to_string().as_str())?)))
        .collect()
});

/// Every name and alpha-3 code, folded, with the country it names. A name keeps the country of
/// its strongest source (codes and English names before translations); two countries from
/// sources of the same strength make it ambiguous.
static NAMES: LazyLock<HashMap<String, Named>> = LazyLock::new(|| {
    let mut names: Vec<(String, u8, CountryCode)> = Vec::new();
    for country in keshvar::CountryIterator::new() {
        let Some(code) = known(country.alpha2().to_string().as_str()) else { continue };
        names.push((country.alpha3().to_string(), 0, code));
        names.push((country.iso_short_name().to_owned(), 1, code));
        names.push((country.iso_long_name().to_owned(), 1, code));
        names.extend(country.unofficial_name_list().iter().map(|name| ((*name).to_owned(), 2, code)));
        for (language, name) in country.translations() {
            if LANGUAGES.contains(language) {
                names.push(((*name).to_owned(), 3, code));
            }
        }
    }
    index(names)
});

/// Names (with the strength of their source, lower is stronger) indexed by folded name: a name
/// keeps the country of its strongest source; two countries from sources of the same strength
/// make it ambiguous.
fn index(names: Vec<(String, u8, CountryCode)>) -> HashMap<String, Named> {
    let mut ranked: HashMap<String, (u8, Named)> = HashMap::new();
    for (name, rank, code) in names {
        let key = name_key(&name);
        if key.is_empty() {
            continue;
        }
        match ranked.get_mut(&key) {
            None => {
                ranked.insert(key, (rank, Named::One(code)));
            }
            Some((held, named)) if rank < *held => {
                *held = rank;
                *named = Named::One(code);
            }
            Some((held, named)) if rank == *held => {
                let mut codes = match named {
                    Named::One(one) => vec![*one],
                    Named::Several(codes) => codes.clone(),
                };
                if !codes.contains(&code) {
                    codes.push(code);
                    codes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
                    *named = Named::Several(codes);
                }
            }
            Some(_) => {}
        }
    }
    ranked.into_iter().map(|(key, (_, named))| (key, named)).collect()
}

/// The code if it is one of ours.
fn known(alpha2: &str) -> Option<CountryCode> {
    match alpha2.as_bytes() {
        [a, b] if COUNTRY_CODES.split(' ').any(|code| code == alpha2) => Some(CountryCode([*a, *b])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<String, String> {
        CountryCode::read(text).map(|c| c.to_string()).map_err(|p| p.message)
    }

    #[test]
    fn alpha2_codes_cover_iso_3166_and_reject_the_rest() {
        assert_eq!(COUNTRY_CODES.split(' ').count(), 250);
        assert_eq!(CountryCode::parse("it").unwrap().as_str(), "IT");
        for bad in ["", "I", "ITA", "ZZ", "UK", "1T", "Italy"] {
            assert!(CountryCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_strict_form_suggests_the_code_of_a_known_name() {
        let problem = CountryCode::parse("Italia").unwrap_err();
        assert_eq!(problem.code, FieldCode::InvalidCountry);
        assert!(problem.message.ends_with("did you mean IT?"), "{}", problem.message);
        assert!(CountryCode::parse("ITA").unwrap_err().message.contains("did you mean IT?"));
        assert!(!CountryCode::parse("Narnia").unwrap_err().message.contains("did you mean"));
    }

    #[test]
    fn countries_are_read_as_people_write_them() {
        for (text, code) in [
            ("Norway", "NO"),
            ("Andorra", "AD"),
            ("Italia", "IT"),
            ("ITALIA", "IT"),
            ("Deutschland", "DE"),
            ("Österreich", "AT"),
            ("Osterreich", "AT"),
            ("Espagne", "ES"),
            ("España", "ES"),
            ("Svizzera", "CH"),
            ("Schweiz", "CH"),
            ("Suisse", "CH"),
            ("United Kingdom", "GB"),
            ("UK", "GB"),
            ("Regno Unito", "GB"),
            ("United States", "US"),
            ("USA", "US"),
            ("Stati Uniti", "US"),
            ("Polska", "PL"),
            ("Magyarország", "HU"),
            ("Ελλάδα", "GR"),
            ("Côte d'Ivoire", "CI"),
            ("ITA", "IT"),
            ("deu", "DE"),
            ("380", "IT"),
            ("40", "AT"),
            ("040", "AT"),
            (" it ", "IT"),
        ] {
            assert_eq!(read(text), Ok(code.to_owned()), "{text}");
        }
    }

    #[test]
    fn every_eu_eea_uk_swiss_and_us_country_reads_by_its_english_and_local_names() {
        for code in [
            "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
            "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "GB", "CH", "US",
        ] {
            let country = keshvar::Alpha2::try_from(code).unwrap().to_country();
            assert_eq!(read(country.iso_short_name()), Ok(code.to_owned()), "{code}");
            let languages = country.maybe_official_language_list().unwrap_or_default();
            for language in languages.iter().filter(|l| LANGUAGES.contains(l)) {
                if let Some(name) = country.translations().get(language) {
                    assert_eq!(read(name), Ok(code.to_owned()), "{code} in {language}: {name}");
                }
            }
        }
    }

    #[test]
    fn unknown_and_ambiguous_names_are_refused_naming_the_value() {
        let unknown = read("Narnia").unwrap_err();
        assert!(unknown.contains("\"Narnia\""), "{unknown}");
        assert!(read("999").unwrap_err().contains("\"999\""));
        assert!(read("").is_err());
        assert!(read("--").is_err());
        // Every name that two countries answer to is refused, never guessed.
        for (key, named) in NAMES.iter() {
            if matches!(named, Named::Several(_)) {
                assert!(read(key).unwrap_err().contains(" or "), "{key}");
            }
        }
    }

    #[test]
    fn a_name_two_countries_answer_to_equally_is_ambiguous_and_a_stronger_source_wins() {
        let (it, sm, va) = (known("IT").unwrap(), known("SM").unwrap(), known("VA").unwrap());
        let names = index(vec![
            ("Penisola".to_owned(), 3, it),
            ("Penisola".to_owned(), 3, sm),
            ("Roma".to_owned(), 3, va),
            ("Roma".to_owned(), 1, it),
        ]);
        assert_eq!(names.get("penisola"), Some(&Named::Several(vec![it, sm])));
        assert_eq!(names.get("roma"), Some(&Named::One(it)));
    }
}
