//! Search, through the real service on both backends, on one shared fixture: every matching rule
//! of the search issue, the ranking, freshness, and the expected results written once, so the
//! two backends are proven to give the same answers.

use clientele_core::App;
use clientele_core::accounts::auth::Actor;
use clientele_core::customers::input::CustomerInput;
use clientele_core::customers::list::{FilterText, ListRequest};
use clientele_core::customers::patch::CustomerPatch;
use clientele_core::customers::view::CustomerPage;
use clientele_core::search::terms::classify;
use serde_json::json;

/// The fixture, oldest first: (first name, last name, email, phone, extra fields).
const PEOPLE: [(&str, &str, &str, &str); 14] = [
    ("Nicolò", "Rossi", "nicolo.rossi@example.com", "+39 333 123 4567"),
    ("Nicolo", "Bianchi", "n.bianchi@posta.example", "+39 347 000 1111"),
    ("Mario", "Rossini", "mario@rossini.example", "+49 151 2345 6789"),
    ("Mario", "Rossi", "mrossi@example.org", "+39 06 1234 5678"),
    ("Jörg", "Müller", "jorg.muller@example.de", "+49 30 1234567"),
    ("Alžběta", "Žáková", "zakova@example.cz", "+420 601 123 456"),
    ("John", "Smith", "john.smith@example.com", "+44 7400 123456"),
    ("Giulia", "Bianchini", "giulia.b@example.com", "+39 349 555 0000"),
    ("Marianna", "Rosa", "marianna@example.it", "+39 320 111 2222"),
    ("Li", "Wei", "li.wei@example.com", "+39 340 777 8888"),
    ("Ana", "Marinković", "ana.m@example.hr", "+385 91 234 5678"),
    ("Luca", "Ro", "luca.ro@example.it", "+39 328 999 0000"),
    ("Ettore", "Marini", "ettore@example.it", "+39 335 444 3333"),
    ("Maria", "Rossetti", "maria.rossetti@example.com", "+39 339 222 1111"),
];

async fn fixture(app: &App) -> Actor {
    let tenant = app.create_tenant("Search", "IT", None).await.unwrap();
    let actor = Actor::command_line(tenant.id);
    for (i, (first, last, email, phone)) in PEOPLE.into_iter().enumerate() {
        let mut body = json!({"first_name": first, "last_name": last, "email": email, "phone": phone});
        if i == 0 {
            body["tax_code"] = json!("RSSNCL80A01H501U");
            body["driver_license"] =
                json!({"number": "U1-TEST-99", "issued_on": "2015-01-01", "expires_on": "2035-01-01"});
        }
        if i == 8 {
            body["vip"] = json!(true);
        }
        let input: CustomerInput = serde_json::from_value(body).unwrap();
        app.create_customer(&actor, input).await.unwrap_or_else(|e| panic!("{first} {last}: {e:?}"));
    }
    // Another tenant's namesakes never show up.
    let other = app.create_tenant("Elsewhere", "IT", None).await.unwrap();
    let input: CustomerInput = serde_json::from_value(json!({"first_name": "Nicolò", "last_name": "Rossi"})).unwrap();
    app.create_customer(&Actor::command_line(other.id), input).await.unwrap();
    actor
}

fn params(q: &str, extra: &[(&str, &str)]) -> ListRequest {
    let (mut text, mut limit, mut cursor) = (FilterText::default(), None, None);
    for (key, value) in extra {
        match *key {
            "limit" => limit = Some(*value),
            "cursor" => cursor = Some(*value),
            "vip" => text.vip = Some(*value),
            "include_deleted" => text.include_deleted = Some(*value),
            other => panic!("unknown parameter {other}"),
        }
    }
    ListRequest::parse(&text, Some(q), limit, cursor).unwrap()
}

/// Names found for a query, in order, and the next cursor.
async fn search(app: &App, actor: &Actor, q: &str, extra: &[(&str, &str)]) -> (Vec<String>, Option<String>) {
    match app.list_customers(actor, &params(q, extra)).await.unwrap() {
        CustomerPage::Full(page) => (page.items.iter().map(|c| c.customer.display_name()).collect(), page.next_cursor),
        CustomerPage::Contacts(_) => panic!("full records expected"),
    }
}

/// (query, expected names in order). Within a tier, newest first: later rows of `PEOPLE` first.
const EXPECTED: &[(&str, &[&str])] = &[
    // Accents, both ways.
    ("nicolo", &["Nicolo Bianchi", "Nicolò Rossi"]),
    ("NICOLÒ", &["Nicolo Bianchi", "Nicolò Rossi"]),
    ("muller", &["Jörg Müller"]),
    ("zakova", &["Alžběta Žáková"]),
    // Exact word, then prefix, then substring, then typo.
    ("rossi", &["Mario Rossi", "Nicolò Rossi", "Mario Rossini"]),
    ("ross", &["Maria Rossetti", "Mario Rossi", "Mario Rossini", "Nicolò Rossi", "Marianna Rosa"]),
    ("ari", &["Maria Rossetti", "Ettore Marini", "Ana Marinković", "Marianna Rosa", "Mario Rossi", "Mario Rossini"]),
    // Several words at once, across fields.
    ("mario ross", &["Mario Rossi", "Mario Rossini", "Maria Rossetti"]),
    ("rossi 333", &["Nicolò Rossi"]),
    // Email, tax code, licence number.
    ("rossini.example", &["Mario Rossini"]),
    ("giulia.b@", &["Giulia Bianchini"]),
    ("ncl80a01", &["Nicolò Rossi"]),
    ("u1-test", &["Nicolò Rossi"]),
    // Phone digits, however typed.
    ("333 12 34", &["Nicolò Rossi"]),
    ("3331234", &["Nicolò Rossi"]),
    ("+39333", &["Nicolò Rossi"]),
    ("0039 333", &["Nicolò Rossi"]),
    ("0039 06 1234", &["Mario Rossi"]),
    ("030 1234567", &["Jörg Müller"]),
    // Typos: one edit from four letters, two from eight.
    ("rosi", &["Marianna Rosa", "Mario Rossi", "Nicolò Rossi"]),
    ("jhon", &["John Smith"]),
    ("bianchni", &["Giulia Bianchini", "Nicolo Bianchi"]),
    ("bainchiin", &["Giulia Bianchini"]),
    ("smiht jhon", &["John Smith"]),
    // One and two letters: whole short words first, then prefixes of names.
    ("li", &["Li Wei"]),
    ("ro", &["Luca Ro", "Maria Rossetti", "Marianna Rosa", "Mario Rossi", "Mario Rossini", "Nicolò Rossi"]),
    ("z", &["Alžběta Žáková"]),
    ("mario r", &["Mario Rossi", "Mario Rossini", "Maria Rossetti"]),
    // Nothing searchable, or nothing found.
    ("💥", &[]),
    ("zzzzzz", &[]),
];

app_conformance! {
    async fn search_matches_every_case_identically_on_both_backends(app: &App) {
        let actor = fixture(app).await;
        let mut failures = Vec::new();
        for (q, expected) in EXPECTED {
            let (found, _) = search(app, &actor, q, &[]).await;
            if found != *expected {
                failures.push(format!("{q:?}: expected {expected:?}, found {found:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // Filters combine with search.
        assert_eq!(search(app, &actor, "ro", &[("vip", "true")]).await.0, ["Marianna Rosa"]);
    }

    async fn search_pages_follow_the_ranking_without_repeats(app: &App) {
        let actor = fixture(app).await;
        for q in ["ro", "ross", "ari"] {
            let (all, _) = search(app, &actor, q, &[("limit", "50")]).await;
            let mut paged = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut extra = vec![("limit", "2")];
                if let Some(c) = &cursor {
                    extra.push(("cursor", c.as_str()));
                }
                let (names, next) = search(app, &actor, q, &extra).await;
                assert!(names.len() <= 2);
                paged.extend(names);
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(paged, all, "{q}");
        }
        let (first, next) = search(app, &actor, "rossi", &[("limit", "1")]).await;
        assert_eq!(first, ["Mario Rossi"]);
        let cursor = next.unwrap();
        // A cursor belongs to its query.
        let err = app.list_customers(&actor, &params("bianchi", &[("cursor", &cursor)])).await.unwrap_err();
        assert_eq!(err.code(), clientele_core::ErrorCode::InvalidCursor);
        let (rest, _) = search(app, &actor, "rossi", &[("limit", "5"), ("cursor", &cursor)]).await;
        assert_eq!(rest, ["Nicolò Rossi", "Mario Rossini"]);
    }

    async fn search_is_fresh_at_commit_for_every_change(app: &App) {
        let actor = fixture(app).await;
        let input: CustomerInput = serde_json::from_value(json!({"first_name": "Zebedeo", "last_name": "Quintavalle"})).unwrap();
        let id = app.create_customer(&actor, input).await.unwrap().view.customer.id;
        assert_eq!(search(app, &actor, "quintaval", &[]).await.0, ["Zebedeo Quintavalle"]);
        app.update_customer(&actor, id, CustomerPatch::parse(json!({"last_name": "Quattrocchi"})).unwrap(), None).await.unwrap();
        assert!(search(app, &actor, "quintaval", &[]).await.0.is_empty());
        assert_eq!(search(app, &actor, "quattro", &[]).await.0, ["Zebedeo Quattrocchi"]);
        assert_eq!(search(app, &actor, "qu", &[]).await.0, ["Zebedeo Quattrocchi"]);
        app.delete_customer(&actor, id, None).await.unwrap();
        assert!(search(app, &actor, "quattro", &[]).await.0.is_empty());
        assert_eq!(search(app, &actor, "quattro", &[("include_deleted", "true")]).await.0, ["Zebedeo Quattrocchi"]);
        app.restore_customer(&actor, id).await.unwrap();
        assert_eq!(search(app, &actor, "quattro", &[]).await.0, ["Zebedeo Quattrocchi"]);
        // A new name's typos are found at once too.
        assert_eq!(search(app, &actor, "quatrocchi", &[]).await.0, ["Zebedeo Quattrocchi"]);
    }

    async fn ranking_one_broad_pass_in_memory_agrees_with_asking_tier_by_tier(app: &App) {
        use clientele_core::search::terms::SearchTerms;
        use clientele_core::customers::store::CustomerQuery;
        let actor = fixture(app).await;
        let tenant = actor.tenant_id().unwrap();
        let query = CustomerQuery::all(clientele_core::accounts::access::CustomerScope::All, 100);
        // Queries with a word of three letters or more: one- and two-letter queries are ranked by
        // the prefix table and are never ranked in memory.
        for q in ["rossi", "ross", "mario ross", "nicolo", "example com", "333 12 34", "ari", "mario r", "li wei"] {
            let mut terms = SearchTerms::parse(q).unwrap();
            if let Some(first) = terms.long.first_mut() {
                first.corrections = vec!["rosa".into(), "maria".into()];
            }
            let mut tiered = Vec::new();
            for tier in terms.tiers() {
                let matches = app.store().search_matches(tenant, &terms, tier, true, &query, None).await.unwrap();
                tiered.extend(matches.into_iter().map(|m| (tier, m.rowid)));
            }
            let broadest = *terms.tiers().last().unwrap();
            let matches = app.store().search_matches(tenant, &terms, broadest, false, &query, None).await.unwrap();
            let mut ranked: Vec<_> = matches.into_iter().map(|m| (classify(&terms, &m.text).unwrap(), m.rowid)).collect();
            ranked.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            assert_eq!(ranked, tiered, "{q}");
        }
    }

    async fn hostile_queries_are_harmless(app: &App) {
        let actor = fixture(app).await;
        for query in ["%", "_", "'", "\\", "' OR 1=1 --", "%_%", "\"", "NOT", "AND OR NOT", "*", "^", "(", ")", "\u{0}"] {
            let (found, _) = search(app, &actor, query, &[]).await;
            assert!(found.len() <= 50, "{query:?}");
        }
        let long = "a".repeat(10_000);
        search(app, &actor, &long, &[]).await;
        let words = (0..200).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        search(app, &actor, &words, &[]).await;
        // Whitespace only is no search at all: the plain list.
        assert_eq!(search(app, &actor, "   ", &[]).await.0.len(), PEOPLE.len());
        assert!(search(app, &actor, "+++", &[]).await.0.is_empty(), "only symbols: nobody");
    }
}

/// Databases made before search existed (or after a change to folding) are indexed by `migrate`.
async fn reindexing_makes_existing_customers_searchable(db: clientele_store::testing::TestDatabase) {
    let app = App::new(db.store(), clientele_core::AppConfig::default()).await.unwrap();
    let actor = fixture(&app).await;
    let sqlite = db.url().starts_with("sqlite");
    // Back to the state of a database that never had a search index.
    db.execute("UPDATE customers SET search_text = ''").await;
    db.execute("DELETE FROM customer_search_prefixes").await;
    db.execute("DELETE FROM search_vocabulary").await;
    db.execute("DELETE FROM platform_settings WHERE key = 'search_index_version'").await;
    if sqlite {
        db.execute("INSERT INTO customer_search (customer_search) VALUES ('delete-all')").await;
    }
    assert!(search(&app, &actor, "rossi", &[]).await.0.is_empty());
    db.sql_store().migrate().await.unwrap();
    assert_eq!(search(&app, &actor, "rossi", &[]).await.0, ["Mario Rossi", "Nicolò Rossi", "Mario Rossini"]);
    assert_eq!(search(&app, &actor, "ro", &[]).await.0.len(), 6);
    assert_eq!(search(&app, &actor, "jhon", &[]).await.0, ["John Smith"]);
    // Migrating again finds the index current and changes nothing.
    db.sql_store().migrate().await.unwrap();
    assert_eq!(search(&app, &actor, "rossi", &[]).await.0.len(), 3);
}

#[tokio::test]
async fn reindexing_makes_existing_customers_searchable_sqlite() {
    reindexing_makes_existing_customers_searchable(clientele_store::testing::TestDatabase::sqlite().await).await;
}

#[tokio::test]
async fn reindexing_makes_existing_customers_searchable_postgres() {
    if let Some(db) = clientele_store::testing::TestDatabase::postgres().await {
        reindexing_makes_existing_customers_searchable(db).await;
    }
}
