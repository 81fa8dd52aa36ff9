//! A deterministic, realistic customer data set: European names (many with diacritics), emails,
//! phones in several countries, addresses, licences and identity documents. The same seed always
//! gives the same customers, so the demo and the benchmarks are reproducible.

use clientele_core::customers::input::{AddressInput, CustomerInput, DriverLicenseInput, IdDocumentInput};
use clientele_core::customers::record::CustomerKind;
use clientele_core::ids::CustomerId;
use clientele_core::values::{PhoneE164, PhoneRegion};

const NAMES_CSV: &str = include_str!("../data/faker-european-names.csv");

/// Names by kind: Italian ones, and the accented ones of other European locales.
pub struct Names {
    italian_first: Vec<&'static str>,
    italian_last: Vec<&'static str>,
    other_first: Vec<&'static str>,
    other_last: Vec<&'static str>,
}

impl Names {
    /// The bundled names.
    pub fn parse() -> Self {
        let mut names = Names { italian_first: vec![], italian_last: vec![], other_first: vec![], other_last: vec![] };
        for line in NAMES_CSV.lines().skip(1) {
            let mut fields = line.split(',');
            let (Some(locale), Some(kind), Some(name)) = (fields.next(), fields.next(), fields.next()) else {
                continue;
            };
            let list = match (locale == "it_IT", kind) {
                (true, "first") => &mut names.italian_first,
                (true, _) => &mut names.italian_last,
                (false, "first") => &mut names.other_first,
                (false, _) => &mut names.other_last,
            };
            list.push(name);
        }
        names
    }
}

const CITIES: [(&str, &str, &str); 8] = [
    ("Roma", "00185", "RM"),
    ("Milano", "20121", "MI"),
    ("Napoli", "80132", "NA"),
    ("Torino", "10121", "TO"),
    ("Firenze", "50123", "FI"),
    ("Bologna", "40121", "BO"),
    ("Palermo", "90133", "PA"),
    ("Cagliari", "09124", "CA"),
];
const STREETS: [&str; 6] = ["Via Roma", "Corso Italia", "Via Garibaldi", "Piazza Duomo", "Via Mazzini", "Viale Europa"];
const DOMAINS: [&str; 4] = ["example.com", "mail.example", "posta.example", "example.org"];

/// The `index`-th generated customer (clients, with a staff member every 150).
pub fn customer(rng: &mut SplitMix64, names: &Names, partners: &[CustomerId], index: usize) -> CustomerInput {
    let italian = rng.chance(70);
    let (firsts, lasts) = if italian {
        (&names.italian_first, &names.italian_last)
    } else {
        // Some locales have only accented surnames; borrow a first name where needed.
        (if rng.chance(50) { &names.other_first } else { &names.italian_first }, &names.other_last)
    };
    let first = rng.pick(firsts);
    let last = rng.pick(lasts);
    let staff = index.is_multiple_of(150);
    let birth_year = 1950 + rng.below(55);
    let mut input = CustomerInput {
        kind: Some(if staff { CustomerKind::Staff } else { CustomerKind::Client }),
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        birth_date: Some(format!("{birth_year}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))),
        citizenship: Some(if italian {
            "IT".into()
        } else {
            ["DE", "FR", "ES", "CZ", "SK", "HR"][rng.below(6) as usize].into()
        }),
        language: Some(if italian { "it".into() } else { "en".into() }),
        ..CustomerInput::default()
    };
    if rng.chance(85) {
        let domain = DOMAINS[rng.below(4) as usize];
        input.email = Some(format!("{}.{}{}@{domain}", ascii_slug(first), ascii_slug(last), rng.below(100)));
    }
    if rng.chance(92) {
        input.phone = Some(phone(rng, italian));
    }
    if rng.chance(75) {
        let (city, postal_code, region) = CITIES[rng.below(CITIES.len() as u64) as usize];
        input.address = Some(AddressInput {
            line1: Some(format!("{} {}", STREETS[rng.below(6) as usize], 1 + rng.below(200))),
            city: Some(city.into()),
            postal_code: Some(postal_code.into()),
            region: Some(region.into()),
            country: Some("IT".into()),
            ..AddressInput::default()
        });
    }
    if !staff && rng.chance(65) {
        let issued = 2010 + rng.below(15);
        // A few licences have expired: the order form warns about those.
        let expires = if rng.chance(5) { 2025 } else { issued + 10 };
        input.driver_license = Some(DriverLicenseInput {
            number: Some(format!("U1{:07}{}", rng.below(10_000_000), (b'A' + rng.below(26) as u8) as char)),
            country: Some("IT".into()),
            issuing_place: Some("MCTC".into()),
            issuing_place_code: None,
            issued_on: Some(format!("{issued}-03-15")),
            expires_on: Some(format!("{expires}-03-15")),
        });
    }
    if rng.chance(35) {
        input.id_document = Some(IdDocumentInput {
            doc_type: Some(if rng.chance(50) {
                clientele_core::customers::record::IdDocumentType::IdCard
            } else {
                clientele_core::customers::record::IdDocumentType::Passport
            }),
            number: Some(format!("CA{:05}{}{}", rng.below(100_000), 'A', 'B')),
            issuing_country: Some("IT".into()),
            expires_on: Some(format!("{}-06-30", 2027 + rng.below(8))),
            ..IdDocumentInput::default()
        });
    }
    if !staff && !partners.is_empty() && rng.chance(10) {
        input.partner_id = Some(partners[rng.below(partners.len() as u64) as usize].to_string());
    }
    input.vip = Some(rng.chance(3));
    if rng.chance(5) {
        input.notes = Some(vec!["Prefers automatic gearbox; call before delivery.".into()]);
    }
    input
}

fn phone(rng: &mut SplitMix64, italian: bool) -> String {
    let candidate = if italian || rng.chance(40) {
        format!("+39 3{}{} {:07}", 2 + rng.below(8), rng.below(10), rng.below(10_000_000))
    } else {
        match rng.below(3) {
            0 => format!("+49 15{} {:08}", 1 + rng.below(9), rng.below(100_000_000)),
            1 => format!("+33 6 {:08}", rng.below(100_000_000)),
            _ => format!("+34 6{:08}", rng.below(100_000_000)),
        }
    };
    // Only numbers libphonenumber accepts; fall back to a plain Italian mobile.
    match PhoneRegion::parse("IT") {
        Ok(region) if PhoneE164::parse(&candidate, region).is_ok() => candidate,
        _ => format!("+39 347 {:07}", rng.below(10_000_000)),
    }
}

/// Lower-case ASCII letters and digits of `text` (`Žáková` → `zakova`), for email addresses.
pub fn ascii_slug(text: &str) -> String {
    deunicode::deunicode(text).chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase()
}

/// SplitMix64: a tiny, well-distributed deterministic generator (no dependency needed).
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next value.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_names_include_diacritics_in_every_group() {
        let names = Names::parse();
        assert!(names.italian_first.len() > 400 && names.italian_last.len() > 1000);
        assert!(names.other_last.contains(&"Žáková"));
        assert!(names.italian_first.iter().any(|n| !n.is_ascii()));
    }

    #[test]
    fn generated_customers_are_valid_and_deterministic() {
        let names = Names::parse();
        let rules = clientele_core::customers::input::Rules {
            phone_region: PhoneRegion::parse("IT").unwrap(),
            today: time::macros::date!(2026 - 11 - 24),
            cargos: Default::default(),
        };
        let run = || {
            let mut rng = SplitMix64(7);
            (0..500).map(|i| customer(&mut rng, &names, &[], i)).collect::<Vec<_>>()
        };
        let (a, b) = (run(), run());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(format!("{x:?}"), format!("{y:?}"));
            x.validate(&rules).unwrap();
        }
    }

    #[test]
    fn slugs_are_ascii() {
        assert_eq!(ascii_slug("Žáková-Nicolò"), "zakovanicolo");
    }
}
