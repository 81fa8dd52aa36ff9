//! Agreement with an independent mapper: the Python package `cargos-api` 0.2.4 (MIT) formatted
//! 1,000 pseudo-random contracts (`tools/cargos-oracle/generate.py`, seed 15); our formatter must
//! produce the very same records, character by character. Its date-times were given in Rome time
//! converted by Python's `zoneinfo` with a pinned IANA `tzdata`, so this also checks our own
//! summer-time rule on 1,000 instants (a tenth of them within minutes of a change).
//!
//! Where `cargos-api` departs from the specification, our formatter does not bend: those
//! contracts are in the file as explicit divergences, each with its reason, and are checked here
//! to differ exactly as documented (see the generator's docstring for the list).

use clientele_core::cargos::{CargosContract, CargosTables, Field, FieldKind, decode, format};

const DATA: &str = include_str!("cargos-api-records.jsonl");

/// Expands the generator's `~N~` runs of spaces.
fn expand(squeezed: &str) -> String {
    let mut out = String::with_capacity(1505);
    let mut parts = squeezed.split('~');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    while let (Some(count), Some(text)) = (parts.next(), parts.next()) {
        out.push_str(&" ".repeat(count.parse().unwrap()));
        out.push_str(text);
    }
    out
}

struct Row {
    n: u64,
    contract: CargosContract,
    record: String,
    divergence: Option<serde_json::Value>,
}

fn rows() -> (serde_json::Value, Vec<Row>) {
    let mut lines = DATA.lines();
    let meta: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let rows = lines
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            Row {
                n: value["n"].as_u64().unwrap(),
                contract: serde_json::from_value(value["contract"].take()).unwrap(),
                record: expand(value["record"].as_str().unwrap()),
                divergence: value.get("divergence").cloned(),
            }
        })
        .collect();
    (meta, rows)
}

/// The columns where two records differ.
fn differing_columns(ours: &str, theirs: &str) -> Vec<&'static str> {
    let (ours, theirs) = (decode(ours).unwrap(), decode(theirs).unwrap());
    ours.iter().zip(&theirs).filter(|(a, b)| a.raw != b.raw).map(|(a, _)| a.spec().column).collect()
}

#[test]
fn our_records_are_those_of_cargos_api_character_by_character() {
    let (meta, rows) = rows();
    assert_eq!((meta["cargos_api"].as_str(), meta["seed"].as_u64()), (Some("0.2.4"), Some(15)));
    let agreeing: Vec<&Row> = rows.iter().filter(|row| row.divergence.is_none()).collect();
    assert_eq!(agreeing.len(), 1000);
    for row in agreeing {
        assert_eq!(row.record.chars().count(), 1505, "contract {}: cargos-api's record", row.n);
        let ours = match format(&row.contract, CargosTables::builtin()) {
            Ok(record) => record.into_string(),
            Err(problems) => panic!("contract {} was refused: {problems:#?}", row.n),
        };
        if ours != row.record {
            let at = ours.chars().zip(row.record.chars()).position(|(a, b)| a != b).unwrap_or(0) + 1;
            let field = Field::ALL.iter().find(|f| (f.spec().start..=f.spec().end).contains(&at)).unwrap().spec();
            panic!(
                "contract {}: first difference at character {at}, in {} ({}):\n ours:   {:?}\n theirs: {:?}",
                row.n,
                field.column,
                field.path,
                ours.chars().skip(field.start - 1).take(field.width()).collect::<String>(),
                row.record.chars().skip(field.start - 1).take(field.width()).collect::<String>(),
            );
        }
    }
}

#[test]
fn where_cargos_api_departs_from_the_specification_we_differ_exactly_as_documented() {
    let (_, rows) = rows();
    let mut kinds = Vec::new();
    for row in rows.iter().filter(|row| row.divergence.is_some()) {
        let divergence = row.divergence.as_ref().unwrap();
        let kind = divergence["kind"].as_str().unwrap();
        assert!(!divergence["reason"].as_str().unwrap_or_default().is_empty(), "contract {}: a reason", row.n);
        kinds.push(kind);
        let ours = format(&row.contract, CargosTables::builtin());
        if let Some(columns) = divergence.get("differing_columns") {
            let ours = ours.unwrap_or_else(|p| panic!("contract {} ({kind}) was refused: {p:#?}", row.n)).into_string();
            let expected: Vec<&str> = columns.as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
            assert_eq!(differing_columns(&ours, &row.record), expected, "contract {} ({kind})", row.n);
            if kind == "no_transliteration" {
                // Theirs holds characters outside the set, which the police refuse; ours does not.
                for column in expected {
                    let field = Field::from_column(column).unwrap().spec();
                    let FieldKind::Text(charset, _) = field.kind else { panic!("{column} is text") };
                    let slice =
                        |record: &str| record.chars().skip(field.start - 1).take(field.width()).collect::<String>();
                    assert!(slice(&ours).chars().all(|c| charset.allows(c)), "{column}: {:?}", slice(&ours));
                    assert!(
                        !slice(&row.record).chars().all(|c| charset.allows(c)),
                        "{column}: {:?}",
                        slice(&row.record)
                    );
                }
            }
        } else {
            let problems = ours.expect_err(&format!("contract {} ({kind}) must be refused", row.n));
            let mut got: Vec<(String, String)> = problems
                .iter()
                .map(|p| (p.field.to_owned(), serde_json::to_value(p.code).unwrap().as_str().unwrap().to_owned()))
                .collect();
            let mut want: Vec<(String, String)> = divergence["our_problems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| (pair[0].as_str().unwrap().to_owned(), pair[1].as_str().unwrap().to_owned()))
                .collect();
            got.sort();
            want.sort();
            assert_eq!(got, want, "contract {} ({kind})", row.n);
        }
    }
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "no_time_zone",
            "no_transliteration",
            "truncation",
            "second_driver_contact_optional",
            "no_code_or_length_checks",
            "email_contact"
        ]
    );
}

#[test]
fn the_space_runs_of_the_data_file_expand_back() {
    assert_eq!(expand("a~3~b~4~"), "a   b    ");
    assert_eq!(expand("~5~"), "     ");
    assert_eq!(expand("plain"), "plain");
}
