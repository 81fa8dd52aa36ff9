//! English and Italian: every string of the console in a message catalogue
//! (`i18n/en.ftl`, `i18n/it.ftl`, read at build time), the language chosen by the user's
//! setting or the browser's `Accept-Language`, and dates, times and numbers written the way each
//! language writes them.
//!
//! The catalogues use a small subset of Fluent: one `key = value` per line, `#` comments, and
//! `{ $name }` placeholders. A test checks that both have the same keys and placeholders.

use std::collections::HashMap;
use std::sync::LazyLock;

use clientele_core::time::Timestamp;
use time::{Date, PrimitiveDateTime};

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    /// English (the default).
    #[default]
    En,
    /// Italian.
    It,
}

impl Locale {
    /// Every language, in the order the switcher shows them.
    pub const ALL: [Locale; 2] = [Locale::En, Locale::It];

    /// The language's code (`en`, `it`).
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::It => "it",
        }
    }

    /// The language by its code (`it`, `it-IT`, `IT`).
    pub fn parse(code: &str) -> Option<Self> {
        let primary = code.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::En),
            "it" => Some(Self::It),
            _ => None,
        }
    }

    /// The best of our languages for an `Accept-Language` header (by its q-values); English
    /// when it names neither.
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(f32, Locale)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or_default();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(locale) = Self::parse(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, locale));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

const EN: &str = include_str!("../../i18n/en.ftl");
const IT: &str = include_str!("../../i18n/it.ftl");

/// A catalogue: key → message.
fn parse_catalogue(text: &'static str) -> HashMap<&'static str, &'static str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim(), value.trim()))
        .collect()
}

static CATALOGUES: LazyLock<[HashMap<&'static str, &'static str>; 2]> =
    LazyLock::new(|| [parse_catalogue(EN), parse_catalogue(IT)]);

/// The messages and formats of one language, as templates use them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tr {
    /// The language.
    pub locale: Locale,
}

impl Tr {
    /// The messages of `locale`.
    pub fn new(locale: Locale) -> Self {
        Self { locale }
    }

    fn catalogue(&self) -> &'static HashMap<&'static str, &'static str> {
        &CATALOGUES[self.locale as usize]
    }

    /// The message `key`; the English one when this language lacks it (a test keeps both
    /// complete), and the key itself when neither has it.
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        match self.catalogue().get(key).or_else(|| CATALOGUES[0].get(key)) {
            Some(message) => message,
            None => key,
        }
    }

    /// The message `key` with its `{ $name }` placeholders filled.
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut message = self.t(key).to_owned();
        for (name, value) in args {
            message = message.replace(&format!("{{ ${name} }}"), value);
        }
        message
    }

    /// `key` with one placeholder `{ $n }` filled with a formatted count.
    pub fn count(&self, key: &str, n: u64) -> String {
        self.tf(key, &[("n", &self.int(n))])
    }

    /// A whole number with the language's digit grouping: `12,345` or `12.345`.
    pub fn int(&self, n: impl std::borrow::Borrow<u64>) -> String {
        let digits = n.borrow().to_string();
        let separator = match self.locale {
            Locale::En => ',',
            Locale::It => '.',
        };
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(separator);
            }
            out.push(c);
        }
        out
    }

    /// A stored count, grouped (for templates, which pass references).
    pub fn n(&self, n: &i64) -> String {
        self.signed(*n)
    }

    /// A signed whole number, grouped.
    pub fn signed(&self, n: i64) -> String {
        let grouped = self.int(n.unsigned_abs());
        if n < 0 { format!("-{grouped}") } else { grouped }
    }

    /// A number with `decimals` places: `1,234.5` or `1.234,5`.
    pub fn decimal(&self, value: f64, decimals: usize) -> String {
        if !value.is_finite() {
            return "–".to_owned();
        }
        let text = format!("{:.*}", decimals, value.abs());
        let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
        let whole = self.int(whole.parse().unwrap_or(0));
        let sign = if value < 0.0 { "-" } else { "" };
        let point = match self.locale {
            Locale::En => '.',
            Locale::It => ',',
        };
        if fraction.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}{point}{fraction}") }
    }

    /// A share as a percentage with one decimal (`42.5%`, `42,5%`), or a dash when there is no whole.
    pub fn percent(&self, part: impl std::borrow::Borrow<u64>, whole: impl std::borrow::Borrow<u64>) -> String {
        let (part, whole) = (*part.borrow(), *whole.borrow());
        if whole == 0 {
            return "–".to_owned();
        }
        format!("{}%", self.decimal(part as f64 * 100.0 / whole as f64, 1))
    }

    /// The message of a key made of a prefix and a value (`status-` and `confirmed`).
    pub fn tk(&self, prefix: &str, value: &str) -> String {
        self.t(&format!("{prefix}{value}")).to_owned()
    }

    /// A file size: `840 B`, `12.5 KB`, `3.1 MB` (with the language's decimal point).
    pub fn bytes(&self, n: &i64) -> String {
        let n = *n as f64;
        if n < 1024.0 {
            format!("{} B", self.decimal(n, 0))
        } else if n < 1024.0 * 1024.0 {
            format!("{} KB", self.decimal(n / 1024.0, 1))
        } else {
            format!("{} MB", self.decimal(n / 1024.0 / 1024.0, 1))
        }
    }

    /// A date as the language writes it: `4 Dec 2026`, `4 dic 2026`.
    pub fn date(&self, date: &Date) -> String {
        let month = date.month() as usize - 1;
        let name = match self.locale {
            Locale::En => ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][month],
            Locale::It => ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"][month],
        };
        format!("{} {name} {}", date.day(), date.year())
    }

    /// An instant as a date and time on the tenants' clock (Europe/Rome): `4 Dec 2026, 18:26`.
    pub fn datetime(&self, at: &Timestamp) -> String {
        let local = local_time(at);
        let sep = match self.locale {
            Locale::En => ", ",
            Locale::It => " ",
        };
        format!("{}{sep}{:02}:{:02}", self.date(&local.date()), local.hour(), local.minute())
    }

    /// An optional date, or a dash.
    pub fn opt_date(&self, date: &Option<Date>) -> String {
        date.map(|d| self.date(&d)).unwrap_or_else(|| "–".to_owned())
    }
}

/// An instant on the tenants' wall clock (Europe/Rome; UTC before 1996, which the rule does not cover).
pub fn local_time(at: &Timestamp) -> PrimitiveDateTime {
    let utc = at.as_datetime();
    clientele_core::cargos::rome::rome_wall_time(utc).unwrap_or_else(|| PrimitiveDateTime::new(utc.date(), utc.time()))
}

/// The instant of a wall-clock time in Europe/Rome (as typed in a `datetime-local` field).
pub fn from_local_time(local: PrimitiveDateTime) -> Option<Timestamp> {
    // Of the two offsets Italy uses, the one whose instant reads back as this wall-clock time.
    [1, 2].into_iter().find_map(|hours| {
        let offset = time::UtcOffset::from_hms(hours, 0, 0).ok()?;
        let instant = local.assume_offset(offset);
        let back = clientele_core::cargos::rome::rome_wall_time(instant)?;
        (back == local).then(|| Timestamp::from_datetime(instant.to_offset(time::UtcOffset::UTC)))
    })
}

/// The value of a `datetime-local` field for an instant (`2026-12-04T18:26`).
pub fn datetime_local_value(at: &Timestamp) -> String {
    let local = local_time(at);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        local.year(),
        local.month() as u8,
        local.day(),
        local.hour(),
        local.minute()
    )
}

/// Parses a `datetime-local` field's value (`2026-12-04T18:26`, seconds optional).
pub fn parse_datetime_local(value: &str) -> Option<Timestamp> {
    let value = value.trim();
    let (date, time_part) = value.split_once('T')?;
    let date = Date::parse(date, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    let mut parts = time_part.split(':');
    let hour: u8 = parts.next()?.parse().ok()?;
    let minute: u8 = parts.next()?.parse().ok()?;
    let time = time::Time::from_hms(hour, minute, 0).ok()?;
    from_local_time(PrimitiveDateTime::new(date, time))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_and_placeholders(text: &'static str) -> Vec<(String, Vec<String>)> {
        let mut entries: Vec<(String, Vec<String>)> = parse_catalogue(text)
            .into_iter()
            .map(|(key, value)| {
                let mut names: Vec<String> = value
                    .split("{ $")
                    .skip(1)
                    .filter_map(|rest| rest.split_once(" }"))
                    .map(|(n, _)| n.to_owned())
                    .collect();
                names.sort();
                (key.to_owned(), names)
            })
            .collect();
        entries.sort();
        entries
    }

    #[test]
    fn both_catalogues_have_the_same_keys_and_placeholders() {
        let en = keys_and_placeholders(EN);
        let it = keys_and_placeholders(IT);
        let en_keys: Vec<&String> = en.iter().map(|(k, _)| k).collect();
        let it_keys: Vec<&String> = it.iter().map(|(k, _)| k).collect();
        let missing_in_it: Vec<_> = en_keys.iter().filter(|k| !it_keys.contains(k)).collect();
        let missing_in_en: Vec<_> = it_keys.iter().filter(|k| !en_keys.contains(k)).collect();
        assert!(missing_in_it.is_empty() && missing_in_en.is_empty(), "{missing_in_it:?} / {missing_in_en:?}");
        assert_eq!(en, it, "placeholders differ");
        let lines = |text: &str| text.lines().filter(|l| l.contains('=') && !l.trim_start().starts_with('#')).count();
        assert_eq!(lines(EN), en.len(), "a key is defined twice in en.ftl");
        assert_eq!(lines(IT), it.len(), "a key is defined twice in it.ftl");
    }

    #[test]
    fn every_message_the_templates_name_is_in_the_catalogue() {
        let en = parse_catalogue(EN);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        fn read_all(dir: &std::path::Path, sources: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    read_all(&path, sources);
                } else {
                    sources.push(std::fs::read_to_string(path).unwrap());
                }
            }
        }
        let mut sources = Vec::new();
        read_all(&dir.join("templates"), &mut sources);
        read_all(&dir.join("src/console"), &mut sources);
        let mut unknown = Vec::new();
        for source in &sources {
            for call in [".t(\"", ".tf(\"", ".count(\""] {
                for rest in source.split(call).skip(1) {
                    let key = rest.split('"').next().unwrap();
                    if !key.is_empty() && !key.contains('{') && !en.contains_key(key) {
                        unknown.push(key.to_owned());
                    }
                }
            }
        }
        unknown.sort();
        unknown.dedup();
        assert!(unknown.is_empty(), "not in the catalogues: {unknown:?}");
    }

    #[test]
    fn numbers_and_dates_are_written_as_each_language_writes_them() {
        let en = Tr::new(Locale::En);
        let it = Tr::new(Locale::It);
        assert_eq!(en.int(1_234_567), "1,234,567");
        assert_eq!(it.int(1_234_567), "1.234.567");
        assert_eq!(en.decimal(1234.56, 1), "1,234.6");
        assert_eq!(it.decimal(1234.56, 1), "1.234,6");
        assert_eq!(it.percent(1, 3), "33,3%");
        let date = time::macros::date!(2026 - 12 - 04);
        assert_eq!(en.date(&date), "4 Dec 2026");
        assert_eq!(it.date(&date), "4 dic 2026");
    }

    #[test]
    fn the_browser_language_is_chosen_by_its_weight() {
        assert_eq!(Locale::from_accept_language("it-IT,it;q=0.9,en;q=0.8"), Locale::It);
        assert_eq!(Locale::from_accept_language("de-DE,en;q=0.5,it;q=0.7"), Locale::It);
        assert_eq!(Locale::from_accept_language("fr"), Locale::En);
    }

    #[test]
    fn wall_clock_times_in_rome_read_back_as_typed() {
        let winter = parse_datetime_local("2026-12-04T09:30").unwrap();
        assert_eq!(winter.to_string(), "2026-12-04T08:30:00.000000Z");
        let summer = parse_datetime_local("2026-07-04T09:30").unwrap();
        assert_eq!(summer.to_string(), "2026-07-04T07:30:00.000000Z");
        assert_eq!(datetime_local_value(&summer), "2026-07-04T09:30");
        assert!(parse_datetime_local("tomorrow").is_none());
    }
}
