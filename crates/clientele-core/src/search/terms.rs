//! Customer search, the parts that are not SQL: how a customer becomes a search document, how a
//! query becomes terms and tiers, and typo candidates.
//!
//! Everything is folded once, here, in Rust (case, accents, punctuation), so both backends index
//! and match exactly the same text:
//! - `search_text`: ` first last company email tax-code licence phone-digits `, folded (both
//!   phones' digits, when there are two), with a
//!   space at each end so that ` word ` is an exact word and ` wor` a word prefix. SQLite indexes
//!   it with an FTS5 trigram table, PostgreSQL with a `pg_trgm` GIN index.
//! - prefix terms (`^m`, `^ma`, and `=li` for whole words of one or two letters) of name words,
//!   for one- and two-character queries, which trigrams cannot serve.
//! - the vocabulary of name words with their deletion neighbourhoods, for typos: a query word
//!   and a name word within the allowed edits share a deletion variant (the SymSpell idea), so
//!   typo candidates come from an index lookup, never a scan; each candidate is then verified with
//!   the true edit distance.
//!
//! Results come in tiers (exact word, prefix, substring, typo), each tier newest first; a page
//! stops as soon as it is full.

use crate::customers::record::CustomerData;
use crate::text::fold;
use crate::values::PhoneE164;

/// What the store indexes for one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchDocument {
    /// The space-padded folded text.
    pub text: String,
    /// Prefix terms of name words: `^m`, `^ma`, and `=xy` for whole words of one or two letters.
    pub prefixes: Vec<String>,
    /// Name words of three letters or more, for the typo vocabulary.
    pub words: Vec<String>,
}

impl SearchDocument {
    /// The document of a customer.
    pub fn of(data: &CustomerData) -> Self {
        let names: Vec<String> = [
            data.first_name.as_ref().map(|n| n.as_str()),
            data.last_name.as_ref().map(|n| n.as_str()),
            data.company_name.as_deref(),
        ]
        .into_iter()
        .flatten()
        .map(fold)
        .collect();
        let digits = |phone: &Option<PhoneE164>| phone.as_ref().map(|p| p.as_str().trim_start_matches('+').to_owned());
        let others = [
            data.email.as_ref().map(|e| fold(e.as_str())),
            data.tax_code.as_deref().map(fold),
            data.driver_license.as_ref().map(|l| fold(&l.number)),
            digits(&data.phone),
            digits(&data.secondary_phone),
        ];
        let mut text = String::from(" ");
        for part in names.iter().cloned().chain(others.into_iter().flatten()).filter(|p| !p.is_empty()) {
            text.push_str(&part);
            text.push(' ');
        }
        let name_words: Vec<&str> = names.iter().flat_map(|n| n.split(' ')).filter(|w| !w.is_empty()).collect();
        let mut prefixes: Vec<String> = name_words
            .iter()
            .flat_map(|w| {
                let mut terms = vec![format!("^{}", &w[..1])];
                if w.len() >= 2 {
                    terms.push(format!("^{}", &w[..2]));
                }
                if w.len() <= 2 {
                    terms.push(format!("={w}"));
                }
                terms
            })
            .collect();
        prefixes.sort();
        prefixes.dedup();
        let mut words: Vec<String> = name_words.iter().filter(|w| w.len() >= 3).map(|w| (*w).to_owned()).collect();
        words.sort();
        words.dedup();
        Self { text, prefixes, words }
    }
}

/// The deletion neighbourhood of a vocabulary word: the word and every variant with one letter
/// removed, and for words of six letters or more, two.
pub fn vocabulary_variants(word: &str) -> Vec<String> {
    variants(word, if word.len() >= 6 { 2 } else { 1 })
}

/// The edits a query word of this length may contain: none below four letters, one from four,
/// two from eight.
pub fn allowed_edits(word: &str) -> usize {
    match word.len() {
        0..=3 => 0,
        4..=7 => 1,
        _ => 2,
    }
}

/// The word and its variants with up to `depth` letters deleted (ASCII words only).
pub fn variants(word: &str, depth: usize) -> Vec<String> {
    let mut out = vec![word.to_owned()];
    let mut frontier = vec![word.to_owned()];
    for _ in 0..depth {
        let mut next = Vec::new();
        for w in &frontier {
            for i in 0..w.len() {
                let mut v = w.clone();
                v.remove(i);
                if !v.is_empty() {
                    next.push(v);
                }
            }
        }
        next.sort();
        next.dedup();
        out.extend(next.iter().cloned());
        frontier = next;
    }
    out.sort();
    out.dedup();
    out
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and transpositions of
/// adjacent letters each cost one (`jhon` → `john` is one edit).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// How a result matched. The order is the ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Every word of the query is a whole word of the customer.
    Exact = 1,
    /// Every word begins a word of the customer.
    Prefix = 2,
    /// Every word is somewhere in the customer's text.
    Substring = 3,
    /// At least one word matched only after correcting a typo.
    Typo = 4,
}

impl Tier {
    /// Every tier, in ranking order.
    pub const ALL: [Tier; 4] = [Tier::Exact, Tier::Prefix, Tier::Substring, Tier::Typo];

    /// The tier from its number.
    pub fn from_number(n: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|t| *t as u8 == n)
    }

    /// The tier's name, as metrics label it.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Exact => "exact",
            Tier::Prefix => "prefix",
            Tier::Substring => "substring",
            Tier::Typo => "typo",
        }
    }
}

/// One word of the query (three letters or more), with its typo corrections once known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The folded word.
    pub word: String,
    /// Alternatives for this word (a phone number typed in national form without its trunk
    /// zero), matched at the same tiers.
    pub alternatives: Vec<String>,
    /// Vocabulary words within the allowed edits (filled in by the search service).
    pub corrections: Vec<String>,
}

/// A query, folded and split into what the store matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms {
    /// Words of three letters or more: matched through the trigram index, and they set the tier.
    pub long: Vec<Term>,
    /// Words of one or two letters: each must begin a word of the customer.
    pub short: Vec<String>,
}

/// The longest query considered; the rest is ignored.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most words of a query considered.
pub const MAX_WORDS: usize = 8;
/// The longest word considered.
pub const MAX_WORD_LEN: usize = 40;

impl SearchTerms {
    /// Parses a query, or `None` when nothing in it can be searched (empty, only symbols).
    /// A query made only of digits and phone punctuation (`+39 333 12 34`, `0039 333...`) is one
    /// number: its digits, without an international `00` prefix.
    pub fn parse(query: &str) -> Option<Self> {
        let query: String = query.chars().take(MAX_QUERY_CHARS).collect();
        let phone_like = query.chars().all(|c| c.is_ascii_digit() || " +-./()".contains(c));
        let digits: String = query.chars().filter(char::is_ascii_digit).take(MAX_WORD_LEN).collect();
        let digits = digits.strip_prefix("00").map(str::to_owned).unwrap_or(digits);
        // Fewer than three digits are no number to look for: read them as words (`0039` → `0039`).
        if phone_like && digits.len() >= 3 {
            let alternatives = match digits.strip_prefix('0') {
                Some(national) if national.len() >= 3 && !national.starts_with('0') => vec![national.to_owned()],
                _ => Vec::new(),
            };
            return Some(Self {
                long: vec![Term { word: digits, alternatives, corrections: Vec::new() }],
                short: Vec::new(),
            });
        }
        let folded = fold(&query);
        let mut words: Vec<String> = Vec::new();
        for word in folded.split(' ').filter(|w| !w.is_empty()) {
            let word: String = word.chars().take(MAX_WORD_LEN).collect();
            if !words.contains(&word) {
                words.push(word);
            }
            if words.len() == MAX_WORDS {
                break;
            }
        }
        if words.is_empty() {
            return None;
        }
        let (long, short): (Vec<String>, Vec<String>) = words.into_iter().partition(|w| w.len() >= 3);
        let long =
            long.into_iter().map(|word| Term { word, alternatives: Vec::new(), corrections: Vec::new() }).collect();
        Some(Self { long, short })
    }

    /// The tiers this query can produce, in order.
    pub fn tiers(&self) -> Vec<Tier> {
        if self.long.is_empty() {
            // One- and two-letter words are prefixes by nature: whole words first, then prefixes.
            return vec![Tier::Exact, Tier::Prefix];
        }
        let mut tiers = vec![Tier::Exact, Tier::Prefix, Tier::Substring];
        if self.long.iter().any(|t| !t.corrections.is_empty()) {
            tiers.push(Tier::Typo);
        }
        tiers
    }

    /// A short fingerprint of the query and of `filters` (the rest of the request, in any stable
    /// text form), kept in cursors so that a cursor is only used with the request that made it.
    pub fn fingerprint(&self, filters: &str) -> u32 {
        // FNV-1a over the words and filters: stable across processes and versions of Rust.
        let mut hash: u32 = 0x811c_9dc5;
        let words = self.long.iter().map(|t| t.word.as_str()).chain(self.short.iter().map(String::as_str));
        for word in words.chain(std::iter::once(filters)) {
            for byte in word.bytes().chain(std::iter::once(b' ')) {
                hash ^= u32::from(byte);
                hash = hash.wrapping_mul(0x0100_0193);
            }
        }
        hash
    }
}

/// The best tier at which a customer's search text matches the query, exactly as the stores'
/// tier conditions define it (used to rank a single broad pass in memory), or `None`. For queries
/// with at least one word of three letters or more: one- and two-letter queries are ranked by the
/// prefix table, never in memory (see [`is_selective`]).
pub fn classify(terms: &SearchTerms, text: &str) -> Option<Tier> {
    if !terms.short.iter().all(|s| text.contains(&format!(" {s}"))) {
        return None;
    }
    let mut worst = Tier::Exact;
    for term in &terms.long {
        let words = || std::iter::once(&term.word).chain(&term.alternatives);
        let tier = if words().any(|w| text.contains(&format!(" {w} "))) {
            Tier::Exact
        } else if words().any(|w| text.contains(&format!(" {w}"))) {
            Tier::Prefix
        } else if words().any(|w| text.contains(w.as_str())) {
            Tier::Substring
        } else if term.corrections.iter().any(|c| text.contains(&format!(" {c} "))) {
            Tier::Typo
        } else {
            return None;
        };
        worst = worst.max(tier);
    }
    Some(worst)
}

/// Whether a query is selective enough that one broad pass, ranked in memory, beats asking tier
/// by tier: several words, or one long word. Short common words fill a page from the first tiers.
pub fn is_selective(terms: &SearchTerms) -> bool {
    terms.long.len() >= 2 || terms.long.iter().any(|t| t.word.len() >= 5)
}

/// The vocabulary words that correct `word`: within its allowed edits, and not the word itself.
/// A word the tenant's vocabulary knows is probably meant as typed: it is corrected by one edit
/// at most (Mario still finds Maria), which keeps the typo tier, ranked last, from fanning out.
pub fn corrections(word: &str, candidates: &[String]) -> Vec<String> {
    let known = candidates.iter().any(|c| c == word);
    let allowed = if known { allowed_edits(word).min(1) } else { allowed_edits(word) };
    let mut out: Vec<String> =
        candidates.iter().filter(|c| c.as_str() != word && edit_distance(word, c) <= allowed).cloned().collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folding_removes_case_accents_and_punctuation() {
        assert_eq!(fold("ZOË Müller-Ñúñez"), "zoe muller nunez");
        assert_eq!(fold("  Nicolò   D'Àngelo "), "nicolo d angelo");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Žáková"), "zakova");
        assert_eq!(fold("mario.rossi@example.com"), "mario rossi example com");
        assert_eq!(fold("💥"), "");
        assert_eq!(fold("%_'\\\\"), "");
    }

    #[test]
    fn a_document_holds_names_contacts_and_phone_digits() {
        let input: crate::customers::input::CustomerInput = serde_json::from_value(serde_json::json!({
            "first_name": "Nicolò", "last_name": "Li De Rossi", "email": "N.Rossi@Example.com", "phone": "+39 333 123 4567",
            "tax_code": "RSSNCL80A01H501X",
            "driver_license": {"number": "U1-234567X", "issued_on": "2015-01-01", "expires_on": "2030-01-01"}
        }))
        .unwrap();
        let rules = crate::customers::input::Rules {
            phone_region: crate::values::PhoneRegion::parse("IT").unwrap(),
            today: time::macros::date!(2026 - 11 - 24),
            cargos: Default::default(),
        };
        let doc = SearchDocument::of(&input.validate(&rules).unwrap());
        assert_eq!(doc.text, " nicolo li de rossi n rossi example com rssncl80a01h501x u1 234567x 393331234567 ");
        assert_eq!(doc.prefixes, ["=de", "=li", "^d", "^de", "^l", "^li", "^n", "^ni", "^r", "^ro"]);
        assert_eq!(doc.words, ["nicolo", "rossi"]);
    }

    #[test]
    fn phone_queries_become_one_number() {
        for query in ["333 12 34", "3331234", "+39 333 1234", "0039 333 1234", "(0039) 333-1234"] {
            let terms = SearchTerms::parse(query).unwrap();
            assert!(terms.short.is_empty(), "{query}");
            let word = &terms.long[0].word;
            assert!("393331234567".contains(word.as_str()), "{query} → {word}");
        }
        let national = SearchTerms::parse("030 1234567").unwrap();
        assert_eq!(national.long[0].alternatives, ["301234567"]);
        // Too few digits left for a number: words, the same on both backends.
        assert_eq!(SearchTerms::parse("0039").unwrap().long[0].word, "0039");
        assert_eq!(SearchTerms::parse("001").unwrap().long[0].word, "001");
        assert_eq!(SearchTerms::parse("00 1").unwrap().short, ["00", "1"]);
    }

    #[test]
    fn queries_are_folded_split_deduplicated_and_bounded() {
        let terms = SearchTerms::parse("NICOLÒ  ro nicolo 333").unwrap();
        let long: Vec<&str> = terms.long.iter().map(|t| t.word.as_str()).collect();
        assert_eq!(long, ["nicolo", "333"]);
        assert_eq!(terms.short, ["ro"]);
        for nothing in ["", "   ", "💥💥", "%_'\\\\", "''"] {
            assert_eq!(SearchTerms::parse(nothing), None, "{nothing:?}");
        }
        let huge = SearchTerms::parse(&"abcdefghij ".repeat(1000)).unwrap();
        assert_eq!(huge.long.len(), 1);
        let many = SearchTerms::parse(&(0..50).map(|i| format!("w{i:03}")).collect::<Vec<_>>().join(" ")).unwrap();
        assert_eq!(many.long.len(), MAX_WORDS);
    }

    #[test]
    fn typos_within_the_allowed_edits_are_corrected() {
        let vocabulary: Vec<String> = ["rossi", "john", "bianchini", "rosa", "bianchi"].map(String::from).to_vec();
        assert_eq!(corrections("rosi", &vocabulary), ["rosa", "rossi"]);
        assert_eq!(corrections("jhon", &vocabulary), ["john"]);
        assert_eq!(corrections("bianchni", &vocabulary), ["bianchi", "bianchini"]);
        assert!(corrections("ros", &vocabulary).is_empty(), "three letters get no typo tolerance");
        assert!(corrections("rossi", &vocabulary).iter().all(|w| w != "rossi"));
        // A known word: one edit at most, however long.
        let known: Vec<String> = ["bianchini", "bianchi", "bianchina", "rossi"].map(String::from).to_vec();
        assert_eq!(corrections("bianchini", &known), ["bianchina"]);
        assert_eq!(corrections("bianchni", &known), ["bianchi", "bianchina", "bianchini"]);
    }

    #[test]
    fn typo_candidates_share_a_deletion_variant() {
        for (query, word) in
            [("rosi", "rossi"), ("jhon", "john"), ("bianchni", "bianchini"), ("bainchiin", "bianchini")]
        {
            let query_variants = variants(query, allowed_edits(query));
            let word_variants = vocabulary_variants(word);
            assert!(query_variants.iter().any(|v| word_variants.contains(v)), "{query} / {word}");
        }
    }

    #[test]
    fn classification_follows_the_tiers() {
        let mut terms = SearchTerms::parse("mario ross").unwrap();
        terms.long[1].corrections = vec!["rosa".into()];
        assert_eq!(classify(&terms, " mario ross "), Some(Tier::Exact));
        assert_eq!(classify(&terms, " mario rossi "), Some(Tier::Prefix));
        assert_eq!(classify(&terms, " giammario derossi "), Some(Tier::Substring));
        assert_eq!(classify(&terms, " mario rosa "), Some(Tier::Typo));
        assert_eq!(classify(&terms, " mario bianchi "), None);
        let short = SearchTerms::parse("mario r").unwrap();
        assert_eq!(classify(&short, " mario bianchi "), None);
        assert_eq!(classify(&short, " mario bianchi rossi "), Some(Tier::Exact));
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("jhon", "john"), 1);
        assert_eq!(edit_distance("rosi", "rossi"), 1);
        assert_eq!(edit_distance("bianchni", "bianchini"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    proptest! {
        #[test]
        fn folding_is_idempotent_and_ascii(text in "\\PC{0,40}") {
            let once = fold(&text);
            prop_assert!(once.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' '));
            prop_assert_eq!(fold(&once), once);
        }

        /// SymSpell's guarantee: two words within the allowed edits share a deletion variant.
        #[test]
        fn words_within_the_allowed_edits_share_a_variant(word in "[a-e]{3,10}", edits in proptest::collection::vec((0usize..12, 0u8..3, "[a-e]"), 1..3)) {
            let mut query = word.clone();
            for (at, kind, letter) in &edits {
                let at = at % (query.len() + 1);
                match kind {
                    0 if at < query.len() => { query.remove(at); }
                    1 => query.insert_str(at, letter),
                    _ if at < query.len() => query.replace_range(at..=at, letter),
                    _ => {}
                }
            }
            let allowed = allowed_edits(&query);
            if !query.is_empty() && edit_distance(&query, &word) <= allowed {
                let query_variants = variants(&query, allowed);
                let word_variants = vocabulary_variants(&word);
                prop_assert!(query_variants.iter().any(|v| word_variants.contains(v)), "{} / {}", query, word);
            }
        }
    }
}
