//! Table 1, LUOGHI: Italian comuni and foreign states with their 9-digit codes, looked up by
//! code and searched by name, always as of a date.
//!
//! Places come and go: comuni merge or move province (ORISTANO was 420092555 in province CA
//! until 15/07/1974, and has been 420095038 in OR since), states split (CECOSLOVACCHIA until
//! 1993). A person born in 1950 in a comune merged in 2014 keeps the old code all their life, so
//! a birth place is looked up as of the birth date, never today. A place is valid on a date
//! when that date is on or before its end of validity (the end date itself still counts) and,
//! where the table gives one, on or after its start. The built-in snapshot has **no start
//! dates** (the live `Tabella` file has `DATAINIZIOVAL`, and a refreshed table keeps it): with
//! it, a place is taken as valid on any date up to its end, so a comune created in 2016 would
//! also be offered for a birth in 1950. Search therefore ranks, among equally good names, the
//! places that certainly existed on the date (those with an end of validity still ahead) first.

use std::collections::HashMap;
use std::fmt;

use time::Date;

use crate::text::fold;

/// A 9-digit place code: `4` + ISTAT region + comune for comuni, `100000` + ISTAT country for
/// states (`1100000xx` for territories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlaceCode(u32);

impl PlaceCode {
    /// Parses exactly nine ASCII digits (surrounding spaces allowed).
    pub fn parse(input: &str) -> Option<Self> {
        let digits = input.trim();
        if digits.len() != 9 || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
            return None;
        }
        digits.parse().ok().map(Self)
    }

    /// The code as a number.
    pub fn value(self) -> u32 {
        self.0
    }
}

impl fmt::Display for PlaceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:09}", self.0)
    }
}

/// What a place is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PlaceKind {
    /// An Italian comune (a 2-letter province).
    Comune,
    /// A foreign state or territory, or ITALIA itself (province `ES`, estero).
    State,
    /// APOLIDE (100000999): "stateless", a citizenship and nothing else.
    Stateless,
}

/// The code of ITALIA among the states.
pub const ITALY: PlaceCode = PlaceCode(100_000_100);
/// The code of APOLIDE (stateless).
pub const STATELESS: PlaceCode = PlaceCode(100_000_999);

/// One row of table 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    code: PlaceCode,
    name: String,
    province: String,
    valid_from: Option<Date>,
    valid_until: Option<Date>,
    folded: String,
}

impl Place {
    /// A place as read from a table row.
    pub fn new(
        code: PlaceCode,
        name: &str,
        province: &str,
        valid_from: Option<Date>,
        valid_until: Option<Date>,
    ) -> Self {
        Self {
            code,
            name: name.trim().to_owned(),
            province: province.trim().to_ascii_uppercase(),
            valid_from,
            valid_until,
            folded: fold(name),
        }
    }

    /// The place's code.
    pub fn code(&self) -> PlaceCode {
        self.code
    }

    /// The name as the table writes it (`FORLI'`, `STATI UNITI D'AMERICA`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The province's 2-letter code for a comune (historical: `FO` for Forlì); `None` for states.
    pub fn province(&self) -> Option<&str> {
        (self.kind() == PlaceKind::Comune).then_some(self.province.as_str())
    }

    /// Comune, state or stateless.
    pub fn kind(&self) -> PlaceKind {
        if self.code == STATELESS {
            PlaceKind::Stateless
        } else if self.province == "ES" {
            PlaceKind::State
        } else {
            PlaceKind::Comune
        }
    }

    /// The first day the place is valid, when the table says (the built-in snapshot never does).
    pub fn valid_from(&self) -> Option<Date> {
        self.valid_from
    }

    /// The last day the place is valid; `None` while it still is.
    pub fn valid_until(&self) -> Option<Date> {
        self.valid_until
    }

    /// Whether the place is valid on `on` (see the module documentation).
    pub fn is_valid_on(&self, on: Date) -> bool {
        self.valid_from.is_none_or(|from| from <= on) && self.valid_until.is_none_or(|until| on <= until)
    }

    /// `CASTRO (BG)`, `FRANCIA`: the name with its province, as operators tell homonyms apart.
    pub fn label(&self) -> String {
        match self.province() {
            Some(province) => format!("{} ({province})", self.name),
            None => self.name.clone(),
        }
    }
}

/// Table 1, indexed by code.
#[derive(Debug, Clone, Default)]
pub struct Places {
    all: Vec<Place>,
    by_code: HashMap<PlaceCode, usize>,
}

/// How well a name matches a query; lower is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    Exact,
    Prefix,
    WordPrefix,
    Substring,
}

impl Places {
    /// The table from its rows; the error is the first code that appears twice.
    pub fn new(all: Vec<Place>) -> Result<Self, PlaceCode> {
        let mut by_code = HashMap::with_capacity(all.len());
        for (index, place) in all.iter().enumerate() {
            if by_code.insert(place.code, index).is_some() {
                return Err(place.code);
            }
        }
        Ok(Self { all, by_code })
    }

    /// Every place, valid or not, in table order.
    pub fn all(&self) -> &[Place] {
        &self.all
    }

    /// The place with `code`, whatever its validity.
    pub fn get(&self, code: PlaceCode) -> Option<&Place> {
        self.by_code.get(&code).map(|index| &self.all[*index])
    }

    /// The place with `code` if it is valid on `on`.
    pub fn place(&self, code: PlaceCode, on: Date) -> Option<&Place> {
        self.get(code).filter(|place| place.is_valid_on(on))
    }

    /// Places whose name matches `query`, valid on `on`, best first, at most `limit`. Matching
    /// ignores case, accents and punctuation (`forlì` finds `FORLI'`, `sant anna` finds
    /// `SANT'ANNA ARRESI`); names equal to the query come first, then names starting with it,
    /// then names with a word starting with it, then names containing it. Within a tier: places
    /// that certainly existed on `on` (an end of validity still ahead) first, then shorter
    /// names, then alphabetical, then by province.
    pub fn search(&self, query: &str, on: Date, limit: usize) -> Vec<&Place> {
        self.search_where(query, on, limit, |_| true)
    }

    /// Like [`Self::search`], among places of one kind only (states for a citizenship).
    pub fn search_kind(&self, query: &str, on: Date, kind: PlaceKind, limit: usize) -> Vec<&Place> {
        self.search_where(query, on, limit, |place| place.kind() == kind)
    }

    fn search_where(&self, query: &str, on: Date, limit: usize, keep: impl Fn(&Place) -> bool) -> Vec<&Place> {
        let query = fold(query);
        if query.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mut found: Vec<(Tier, &Place)> = self
            .all
            .iter()
            .filter(|place| place.is_valid_on(on) && keep(place))
            .filter_map(|place| tier(&place.folded, &query).map(|tier| (tier, place)))
            .collect();
        found.sort_by(|(tier_a, a), (tier_b, b)| {
            tier_a
                .cmp(tier_b)
                .then_with(|| a.valid_until.is_none().cmp(&b.valid_until.is_none()))
                .then_with(|| a.folded.len().cmp(&b.folded.len()))
                .then_with(|| a.folded.cmp(&b.folded))
                .then_with(|| a.province.cmp(&b.province))
                .then_with(|| a.code.cmp(&b.code))
        });
        found.into_iter().take(limit).map(|(_, place)| place).collect()
    }

    /// The places named exactly `name` (ignoring case, accents and punctuation), valid on `on`,
    /// in province `province` when given: how a customer's recorded city becomes a code. More
    /// than one result means the name is ambiguous on that date (CASTRO is in BG and in LE).
    pub fn resolve(&self, name: &str, province: Option<&str>, on: Date) -> Vec<&Place> {
        let mut found = self.search(name, on, usize::MAX);
        found.retain(|place| place.folded == fold(name));
        if let Some(province) = province {
            found.retain(|place| place.province.eq_ignore_ascii_case(province.trim()));
        }
        found
    }
}

fn tier(name: &str, query: &str) -> Option<Tier> {
    // Folded names and queries are ASCII, so byte positions are character positions.
    if name == query {
        Some(Tier::Exact)
    } else if name.starts_with(query) {
        Some(Tier::Prefix)
    } else if name.match_indices(query).any(|(at, _)| name.as_bytes().get(at.wrapping_sub(1)) == Some(&b' ')) {
        Some(Tier::WordPrefix)
    } else if name.contains(query) {
        Some(Tier::Substring)
    } else {
        None
    }
}
