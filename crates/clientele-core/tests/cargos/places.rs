//! Place lookup and search over the built-in table, always as of a date.

use clientele_core::cargos::{CargosTables, Place, PlaceCode, PlaceKind};
use time::macros::date;

fn names(places: &[&Place]) -> Vec<String> {
    places.iter().map(|p| p.label()).collect()
}

fn code(text: &str) -> PlaceCode {
    PlaceCode::parse(text).unwrap()
}

#[test]
fn search_ignores_case_and_accents_written_as_apostrophes() {
    let places = CargosTables::builtin().places();
    let today = date!(2026 - 06 - 01);
    for query in ["forlì", "FORLI", "Forli'", "forli’"] {
        assert_eq!(names(&places.search(query, today, 1)), ["FORLI' (FO)"], "{query}");
    }
    assert_eq!(names(&places.search("città di castello", today, 1)), ["CITTA' DI CASTELLO (PG)"]);
    assert_eq!(names(&places.search("sant anna arresi", today, 5)), ["SANT'ANNA ARRESI (CA)"]);
}

#[test]
fn search_ranks_the_exact_name_then_prefixes_then_words_then_substrings() {
    let places = CargosTables::builtin().places();
    let found = names(&places.search("forli", date!(2026 - 06 - 01), 4));
    assert_eq!(found, ["FORLI' (FO)", "FORLIMPOPOLI (FO)", "FORLI' DEL SANNIO (IS)"]);
    let roma = names(&places.search("roma", date!(2026 - 06 - 01), 20));
    assert_eq!(roma[0], "ROMA (RM)");
    let word = roma.iter().position(|n| n == "ROMAGNANO SESIA (NO)").unwrap();
    let substring = roma.iter().position(|n| n.contains("CAROMA") || n.starts_with("BORGO")).unwrap_or(usize::MAX);
    assert!(word < substring, "{roma:?}");
    assert!(roma.len() <= 20);
}

#[test]
fn search_finds_foreign_states_and_can_keep_to_one_kind() {
    let places = CargosTables::builtin().places();
    let today = date!(2026 - 06 - 01);
    assert_eq!(names(&places.search("germania", today, 1)), ["GERMANIA"]);
    let states = places.search_kind("san", today, PlaceKind::State, 10);
    assert!(states.iter().all(|p| p.kind() == PlaceKind::State));
    assert!(names(&states).contains(&"SAN MARINO".to_owned()), "{:?}", names(&states));
    assert_eq!(places.search_kind("apolide", today, PlaceKind::Stateless, 5)[0].code(), code("100000999"));
}

#[test]
fn search_only_offers_places_valid_on_the_date() {
    let places = CargosTables::builtin().places();
    // CECOSLOVACCHIA ended on 01/01/1993.
    assert!(places.search("cecoslovacchia", date!(2026 - 06 - 01), 5).is_empty());
    assert_eq!(names(&places.search("cecoslovacchia", date!(1980 - 06 - 01), 5)), ["CECOSLOVACCHIA"]);
    assert_eq!(names(&places.search("cecoslovacchia", date!(1993 - 01 - 01), 5)), ["CECOSLOVACCHIA"]);
    assert!(places.search("cecoslovacchia", date!(1993 - 01 - 02), 5).is_empty());
}

#[test]
fn for_an_old_date_the_comune_as_it_then_was_comes_first() {
    // The snapshot has no start dates, so the present-day ORISTANO (OR) is offered for 1960 too;
    // the one certainly valid then (CA, until 1974) is ranked before it.
    let places = CargosTables::builtin().places();
    let in_1960 = places.search("oristano", date!(1960 - 01 - 01), 2);
    assert_eq!(in_1960.iter().map(|p| p.code()).collect::<Vec<_>>(), [code("420092555"), code("420095038")]);
    let today = places.search("oristano", date!(2026 - 01 - 01), 2);
    assert_eq!(today.iter().map(|p| p.code()).collect::<Vec<_>>(), [code("420095038")]);
}

#[test]
fn homonyms_are_told_apart_by_province() {
    let places = CargosTables::builtin().places();
    let today = date!(2026 - 06 - 01);
    assert_eq!(names(&places.resolve("Castro", None, today)), ["CASTRO (BG)", "CASTRO (LE)"]);
    assert_eq!(names(&places.resolve("castro", Some("le"), today)), ["CASTRO (LE)"]);
    assert!(places.resolve("castr", None, today).is_empty(), "resolve wants the whole name");
}

#[test]
fn a_code_is_looked_up_as_of_a_date() {
    let places = CargosTables::builtin().places();
    let bellagio_old = code("403013019");
    assert_eq!(places.place(bellagio_old, date!(1950 - 06 - 30)).unwrap().name(), "BELLAGIO");
    assert!(places.place(bellagio_old, date!(2020 - 01 - 01)).is_none());
    assert_eq!(places.get(bellagio_old).unwrap().valid_until(), Some(date!(2014 - 02 - 03)));
    let milano = places.place(code("403015146"), date!(2026 - 01 - 01)).unwrap();
    assert_eq!((milano.name(), milano.province(), milano.kind()), ("MILANO", Some("MI"), PlaceKind::Comune));
    let france = places.get(code("100000215")).unwrap();
    assert_eq!((france.province(), france.kind()), (None, PlaceKind::State));
}

#[test]
fn place_codes_are_exactly_nine_digits() {
    assert_eq!(code(" 412058091 ").to_string(), "412058091");
    for bad in ["41205809", "4120580910", "41205809X", "", "012058091"] {
        assert_eq!(PlaceCode::parse(bad), None, "{bad}");
    }
}

#[test]
fn empty_queries_find_nothing() {
    let places = CargosTables::builtin().places();
    assert!(places.search("  '' ", date!(2026 - 01 - 01), 10).is_empty());
    assert!(places.search("roma", date!(2026 - 01 - 01), 0).is_empty());
}
