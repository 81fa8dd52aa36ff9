//! Ca.R.G.O.S. over HTTP, against the local fake of the police API: places picked by name, the
//! tenant's agencies and settings (credentials never echoed), an order made at the counter and
//! its record, its problems and where to fix them, check, send (once, after a check of the same
//! bytes), the receipt, every way the police service can fail, the check (and send) queued when
//! an order becomes active, the failed submissions list, and tenant isolation.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clientele_core::ids::{CustomerId, TenantId};
use clientele_core::time::Timestamp;
use clientele_integrations::cargos::HttpCargosApi;
use clientele_integrations::testing::{API_KEY, FakeCargos, FakeMode, PASSWORD, USERNAME};
use serde_json::{Value, json};

use crate::harness::{Session, TestApp};

/// Declares tests `async fn name(app: &TestApp, fake: &FakeCargos) { ... }`, each run on both
/// backends with a fresh fake police API; `timeout_ms N` gives the client that short a timeout
/// (only where the test holds the fake silent).
macro_rules! cargos_test {
    ($($(#[$meta:meta])* async fn $name:ident($app:ident: &TestApp, $fake:ident: &FakeCargos) $(timeout_ms $ms:literal)? $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn check($app: &TestApp, $fake: &FakeCargos) $body

            fn timeout() -> Duration {
                cargos_test!(@timeout $($ms)?)
            }

            #[tokio::test]
            async fn sqlite() {
                let fake = FakeCargos::start().await;
                check(&TestApp::sqlite_with(options(&fake, timeout())).await, &fake).await;
            }

            #[tokio::test]
            async fn postgres() {
                let fake = FakeCargos::start().await;
                if let Some(app) = TestApp::postgres_with(options(&fake, timeout())).await {
                    check(&app, &fake).await;
                }
            }
        }
    )*};
    (@timeout) => { Duration::from_secs(30) };
    (@timeout $ms:literal) => { Duration::from_millis($ms) };
}

fn options(fake: &FakeCargos, timeout: Duration) -> impl FnOnce(&mut clientele_core::AppConfig) {
    let api: Arc<dyn clientele_core::cargos::api::CargosApi> =
        Arc::new(HttpCargosApi::new(&fake.base_url, timeout).unwrap());
    move |config| config.cargos_api = Some(api)
}

/// An Italian tenant at the counter: an admin (who set the credentials and one agency) and an
/// operator.
struct Counter {
    tenant: TenantId,
    admin: Session,
    operator: Session,
    agency: String,
}

fn credentials(password: &str) -> Value {
    json!({"credentials": {"username": USERNAME, "password": password, "api_key": API_KEY}})
}

const AGENCY: &str = "RM-TERMINI-01";

async fn counter(app: &TestApp) -> Counter {
    let tenant = app.tenant().await;
    let admin = app.user(tenant, "admin").await;
    let operator = app.user(tenant, "operator").await;
    app.patch("/api/v1/cargos/settings", &admin, credentials(PASSWORD)).await.expect(200);
    let agency = app
        .post(
            "/api/v1/cargos/agencies",
            &admin,
            json!({"code": AGENCY, "name": "Rent & Go Roma Termini", "place_code": "412058091",
                   "address": "Via Marsala 29", "phone": "+39 06 1234567"}),
        )
        .await
        .expect(201);
    let agency = agency.body["id"].as_str().unwrap().to_owned();
    Counter { tenant, admin, operator, agency }
}

/// The code of the first place the search finds, as an operator picks it.
async fn pick(app: &TestApp, session: &Session, query: &str) -> String {
    let found = app.get(&format!("/api/v1/cargos/places?{query}"), session).await.expect(200);
    found.body["items"][0]["code"].as_str().unwrap_or_else(|| panic!("nothing found for {query}")).to_owned()
}

/// A customer with everything a record needs, every place picked by name.
async fn renter(app: &TestApp, session: &Session) -> CustomerId {
    let born = pick(app, session, "q=forl%C3%AC&on=1980-05-01").await;
    let italy = pick(app, session, "q=italia&kind=state").await;
    let milano = pick(app, session, "q=milano&kind=comune").await;
    let roma = pick(app, session, "q=roma&kind=comune").await;
    let body = json!({
        "first_name": "Nicolò", "last_name": "Rossi-Bianchi", "birth_date": "1980-05-01",
        "birth_place": {"city": "Forlì", "country": "IT", "code": born},
        "citizenship": "IT", "citizenship_code": italy, "phone": "333 123 4567",
        "address": {"line1": "Via Torino 5", "city": "Milano", "country": "IT", "place_code": milano},
        "id_document": {"type": "id_card", "number": "CA12345AB", "issuing_place": "Comune di Roma", "issuing_place_code": roma},
        "driver_license": {"number": "U1234567X", "issued_on": "2015-01-01", "expires_on": "2035-01-01",
                           "issuing_place_code": roma}
    });
    app.post("/api/v1/customers", session, body).await.expect(201).id()
}

fn at(days: u64) -> String {
    Timestamp::now().add(Duration::from_secs(days * 86_400)).to_string()
}

/// An order picked up at the tenant's agency (named by nobody: it is the only one) and returned
/// in Milan.
async fn order(app: &TestApp, session: &Session, customer: CustomerId) -> String {
    let milano = pick(app, session, "q=milano").await;
    let body = json!({
        "customer_id": customer, "pickup_at": at(10), "return_at": at(20),
        "return_place_code": milano, "return_address": "Piazza Duca d'Aosta 1",
        "vehicle": {"plate": "AB 123 CD", "make": "Fiat", "model": "Panda", "colour": "bianco"},
        "payment_type": "credit_card"
    });
    let created = app.post("/api/v1/orders", session, body).await.expect(201);
    created.body["id"].as_str().unwrap().to_owned()
}

/// The record's fields by Ca.R.G.O.S. column.
fn column<'a>(report: &'a Value, name: &str) -> &'a str {
    report["record"]["fields"].as_array().unwrap().iter().find(|f| f["column"] == name).unwrap()["value"]
        .as_str()
        .unwrap()
}

/// Polls an order's report until `done` holds, with a deadline that restarts whenever its
/// submissions change: background work is waited for, never timed.
async fn until(app: &TestApp, session: &Session, order: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut seen = Value::Null;
    let mut deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let report = app.get(&format!("/api/v1/orders/{order}/cargos"), session).await.expect(200);
        if done(&report.body) {
            return report.body;
        }
        let statuses: Value =
            report.body["submissions"].as_array().unwrap().iter().map(|s| s["status"].clone()).collect();
        if statuses != seen {
            seen = statuses;
            deadline = Instant::now() + Duration::from_secs(20);
        }
        assert!(
            Instant::now() < deadline,
            "no progress on order {order}'s submissions: {}",
            report.body["submissions"]
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

cargos_test! {
    async fn places_are_found_by_name_blind_to_accents_and_case_and_valid_on_the_date(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        let forli = app.get("/api/v1/cargos/places?q=FORL%C3%AC", &c.operator).await.expect(200);
        assert_eq!(forli.body["items"][0]["name"], "FORLI'");
        assert_eq!(forli.body["items"][0]["province"], "FO");
        assert_eq!(forli.body["items"][0]["kind"], "comune");
        // Oristano moved province in 1974: the code depends on the day.
        let before = app.get("/api/v1/cargos/places?q=oristano&on=1960-01-01&kind=comune", &c.operator).await.expect(200);
        assert_eq!(before.body["items"][0]["code"], "420092555");
        let after = app.get("/api/v1/cargos/places?q=oristano&on=2000-01-01&kind=comune", &c.operator).await.expect(200);
        assert_eq!(after.body["items"][0]["code"], "420095038");
        let states = app.get("/api/v1/cargos/places?q=fran&kind=state", &c.admin).await.expect(200);
        assert_eq!(states.body["items"][0]["label"], "FRANCIA");
        let by_code = app.get("/api/v1/cargos/places?q=412058091", &c.operator).await.expect(200);
        assert_eq!(by_code.body["items"][0]["label"], "ROMA (RM)");
        app.get("/api/v1/cargos/places", &c.operator).await.problem(400, "invalid_query");
        app.get("/api/v1/cargos/places?q=roma&on=yesterday", &c.operator).await.problem(400, "invalid_query");
        let driver = app.user(c.tenant, "driver").await;
        app.get("/api/v1/cargos/places?q=roma", &driver).await.problem(403, "forbidden");
        assert!(fake.calls().is_empty(), "searching places never calls the police");
    }

    async fn agencies_are_set_up_by_admins_checked_as_the_record_checks_them_and_read_by_operators(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        let bad = app
            .post("/api/v1/cargos/agencies", &c.admin, json!({"code": "RM/01", "name": "Roma", "place_code": "100000215", "address": "Via", "phone": "abc"}))
            .await
            .problem(422, "validation_failed");
        let fields: Vec<String> = bad.fields().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["code", "address", "phone", "place_code"]);
        let twin = json!({"code": AGENCY, "name": "Twin", "place_code": "412058091", "address": "Via Roma 1", "phone": "061234"});
        app.post("/api/v1/cargos/agencies", &c.admin, twin).await.problem(409, "conflict");
        let milan = json!({"code": "MI-CENTRALE", "name": "Milano Centrale", "place_code": "403015146", "address": "Piazza Duca d'Aosta 1", "phone": "02 1234567"});
        app.post("/api/v1/cargos/agencies", &c.operator, milan.clone()).await.problem(403, "forbidden");
        let created = app.post("/api/v1/cargos/agencies", &c.admin, milan).await.expect(201);
        let id = created.body["id"].as_str().unwrap().to_owned();
        assert_eq!(created.body["place"]["label"], "MILANO (MI)");
        let path = format!("/api/v1/cargos/agencies/{id}");
        let listed = app.get("/api/v1/cargos/agencies", &c.operator).await.expect(200);
        let codes: Vec<&str> = listed.body["items"].as_array().unwrap().iter().map(|a| a["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["MI-CENTRALE", AGENCY]);
        app.patch(&path, &c.operator, json!({"name": "X"})).await.problem(403, "forbidden");
        let changed = app.request(reqwest::Method::PATCH, &path, &c.admin).header("if-match", "\"1\"").json(&json!({"phone": "02 7654321"}));
        assert_eq!(app.send(changed).await.expect(200).body["version"], 2);
        app.patch(&path, &c.admin, json!({"name": "Late", "version": 1})).await.problem(409, "version_conflict");
        app.delete(&path, &c.operator).await.problem(403, "forbidden");
        app.delete(&path, &c.admin).await.expect(204);
        assert_eq!(app.get("/api/v1/cargos/agencies", &c.operator).await.expect(200).body["items"].as_array().unwrap().len(), 1);
        assert!(app.get(&path, &c.operator).await.expect(200).body["deleted_at"].is_string());
        // A deleted agency cannot be picked for a new order.
        let customer = app.client(&c.operator, "Anna", "Verdi").await;
        let order = json!({"customer_id": customer, "pickup_at": at(1), "return_at": at(2), "agency_id": id,
            "pickup_place": "Milano", "return_place": "Milano", "vehicle": {"plate": "AB123CD"}, "payment_type": "cash"});
        let refused = app.post("/api/v1/orders", &c.operator, order).await.problem(422, "validation_failed");
        assert_eq!(refused.fields(), [("agency_id".into(), "unknown_reference".into())]);
        assert!(fake.calls().is_empty());
    }

    async fn an_order_made_at_the_counter_with_places_picked_by_name_has_its_record(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        let customer = renter(app, &c.operator).await;
        let id = order(app, &c.operator, customer).await;
        let read = app.get(&format!("/api/v1/orders/{id}"), &c.operator).await.expect(200);
        assert_eq!(read.body["agency_id"], c.agency.as_str(), "the tenant's only agency is taken");
        assert_eq!(read.body["pickup_place"], "Rent & Go Roma Termini, Via Marsala 29");
        assert_eq!(read.body["return_place"], "Piazza Duca d'Aosta 1, MILANO (MI)");
        assert_eq!(read.body["vehicle"]["type_code"], "0");

        let report = app.get(&format!("/api/v1/orders/{id}/cargos"), &c.operator).await.expect(200);
        assert_eq!(report.body["problems"], json!([]));
        assert_eq!(report.body["checked"], false);
        assert_eq!(report.body["receipt"], Value::Null);
        let text = report.body["record"]["text"].as_str().unwrap();
        assert_eq!(text.chars().count(), 1505);
        assert_eq!(report.body["record"]["fields"].as_array().unwrap().len(), 46);
        let b = &report.body;
        assert_eq!(column(b, "CONTRATTO_ID"), id);
        assert_eq!(column(b, "CONTRATTO_TIPOP"), "0");
        assert_eq!(column(b, "CONTRATTO_CHECKOUT_LUOGO_COD"), "412058091");
        assert_eq!(column(b, "CONTRATTO_CHECKOUT_INDIRIZZO"), "Via Marsala 29");
        assert_eq!(column(b, "CONTRATTO_CHECKIN_LUOGO_COD"), "403015146");
        assert_eq!(column(b, "CONTRATTO_CHECKIN_INDIRIZZO"), "Piazza Duca d'Aosta 1");
        assert_eq!(column(b, "OPERATORE_ID"), c.operator.user_id.unwrap().to_string());
        assert_eq!(column(b, "AGENZIA_ID"), AGENCY);
        assert_eq!(column(b, "AGENZIA_NOME"), "Rent Go Roma Termini");
        assert_eq!(column(b, "AGENZIA_RECAPITO_TEL"), "39061234567");
        assert_eq!(column(b, "VEICOLO_TIPO"), "0");
        assert_eq!(column(b, "VEICOLO_TARGA"), "AB123CD");
        assert_eq!(column(b, "CONDUCENTE_CONTRAENTE_COGNOME"), "Rossi Bianchi");
        assert_eq!(column(b, "CONDUCENTE_CONTRAENTE_NOME"), "Nicolò");
        assert_eq!(column(b, "CONDUCENTE_CONTRAENTE_NASCITA_DATA"), "01/05/1980");
        assert_eq!(column(b, "CONDUCENTE_CONTRAENTE_NASCITA_LUOGO_COD"), "408040012");
        assert_eq!(column(b, "CONDUCENTE_CONTRAENTE_CITTADINANZA_COD"), "100000100");
        assert_eq!(column(b, "CONDUCENTE_CONTRAENTE_RESIDENZA_LUOGO_COD"), "403015146");
        assert_eq!(column(b, "CONDUCENTE_CONTRAENTE_RESIDENZA_INDIRIZZO"), "Via Torino 5, Milano");
        assert_eq!(column(b, "CONDUCENTE_CONTRAENTE_DOCIDE_TIPO_COD"), "IDENT");
        assert_eq!(column(b, "CONDUCENTE_CONTRAENTE_PATENTE_NUMERO"), "U1234567X");
        assert_eq!(column(b, "CONDUCENTE_CONTRAENTE_RECAPITO"), "+393331234567");
        assert_eq!(column(b, "CONDUCENTE2_COGNOME"), "");
        assert!(fake.calls().is_empty(), "seeing the record calls nobody");
    }

    async fn a_record_with_problems_names_each_field_and_where_to_fix_it(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        // No birth place, citizenship or licence place: the counter forgot them.
        let customer = app
            .post("/api/v1/customers", &c.operator, json!({"first_name": "Anna", "last_name": "Verdi", "birth_date": "1990-02-03",
                "driver_license": {"number": "U7654321Z", "issued_on": "2015-01-01", "expires_on": "2035-01-01"}}))
            .await
            .expect(201)
            .id();
        let id = order(app, &c.operator, customer).await;
        let report = app.get(&format!("/api/v1/orders/{id}/cargos"), &c.operator).await.expect(200);
        assert_eq!(report.body["record"], Value::Null);
        let problems = report.body["problems"].as_array().unwrap();
        let fields: Vec<&str> = problems.iter().map(|p| p["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["driver.birth_place_code", "driver.citizenship_code", "driver.id_document_place_code", "driver.licence_place_code"]);
        let birth = &problems[0];
        assert_eq!(birth["column"], "CONDUCENTE_CONTRAENTE_NASCITA_LUOGO_COD");
        assert_eq!(birth["code"], "required");
        assert_eq!(birth["fix"], json!({"resource": "customer", "id": customer, "field": "birth_place.code"}));
        // The licence stands in for the missing identity document.
        assert_eq!(problems[2]["fix"]["field"], "driver_license.issuing_place_code");
        let refused = app.post(&format!("/api/v1/orders/{id}/cargos/check"), &c.operator, json!({})).await;
        let refused = refused.problem(409, "cargos_record_invalid");
        assert_eq!(refused.body["problems"].as_array().unwrap().len(), 4);
        assert!(fake.calls().is_empty(), "a record with problems never leaves");
        // Fixed where the problems say, it is whole.
        let roma = pick(app, &c.operator, "q=roma").await;
        let fix = json!({"birth_place": {"code": roma}, "citizenship_code": "100000100",
            "driver_license": {"number": "U7654321Z", "issued_on": "2015-01-01", "expires_on": "2035-01-01", "issuing_place_code": roma}});
        app.patch(&format!("/api/v1/customers/{customer}"), &c.operator, fix).await.expect(200);
        let report = app.get(&format!("/api/v1/orders/{id}/cargos"), &c.operator).await.expect(200);
        assert_eq!(report.body["problems"], json!([]));
        assert_eq!(column(&report.body, "CONDUCENTE_CONTRAENTE_DOCIDE_TIPO_COD"), "PATEN");
    }

    async fn place_codes_are_checked_against_the_tables_when_given(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        // Oristano had this code until 1974, when it moved province.
        let body = json!({"first_name": "Anna", "last_name": "Verdi", "birth_date": "1980-01-01",
            "birth_place": {"code": "420092555"}, "citizenship_code": "403015146",
            "address": {"city": "Roma", "place_code": "999999999"}});
        let refused = app.post("/api/v1/customers", &c.operator, body).await.problem(422, "validation_failed");
        assert_eq!(
            refused.fields(),
            [
                ("citizenship_code".into(), "unknown_reference".into()),
                ("address.place_code".into(), "unknown_reference".into()),
                ("birth_place.code".into(), "unknown_reference".into()),
            ]
        );
        let customer = app.client(&c.operator, "Anna", "Verdi").await;
        let order = json!({"customer_id": customer, "pickup_at": at(1), "return_at": at(2), "pickup_place_code": "100000999",
            "pickup_address": "Via Roma 1", "return_agency_id": c.agency, "return_address": "Via Roma 2",
            "vehicle": {"plate": "AB123CD", "type_code": "Z"}, "payment_type": "cash"});
        let refused = app.post("/api/v1/orders", &c.operator, order).await.problem(422, "validation_failed");
        let mut fields: Vec<String> = refused.fields().into_iter().map(|(f, _)| f).collect();
        fields.sort();
        assert_eq!(fields, ["pickup_place_code", "return_address", "vehicle.type_code"]);
        assert!(fake.calls().is_empty());
    }

    async fn a_good_record_passes_its_check_and_the_exact_bytes_are_kept(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        let id = order(app, &c.operator, renter(app, &c.operator).await).await;
        let checked = app.post(&format!("/api/v1/orders/{id}/cargos/check"), &c.operator, json!({})).await.expect(200);
        assert_eq!(checked.body["status"], "checked");
        assert_eq!(checked.body["action"], "check");
        assert_eq!(checked.body["origin"], "manual");
        assert_eq!(checked.body["created_by"], json!(c.operator.user_id.unwrap()));
        let report = app.get(&format!("/api/v1/orders/{id}/cargos"), &c.operator).await.expect(200);
        let text = report.body["record"]["text"].as_str().unwrap();
        assert_eq!(fake.records("check"), [text.to_owned()], "the police got exactly the record shown");
        assert_eq!(checked.body["record"], text);
        assert_eq!(checked.body["record_sha256"], report.body["record"]["sha256"]);
        assert_eq!(report.body["checked"], true);
        assert_eq!(report.body["submissions"][0]["id"], checked.body["id"]);
        // The token was asked for once, with the tenant's credentials; the check used it encrypted.
        assert_eq!(fake.calls().iter().filter(|c| c.endpoint == "token").count(), 1);
    }

    async fn the_police_refusal_of_a_record_is_shown_on_our_field_and_listed_as_failed(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        let customer = renter(app, &c.operator).await;
        let id = order(app, &c.operator, customer).await;
        fake.refuse(&id, "Campo: CONDUCENTE_CONTRAENTE_NASCITA_LUOGO_COD - Luogo di nascita non valido");
        let refused = app.post(&format!("/api/v1/orders/{id}/cargos/check"), &c.operator, json!({})).await.expect(200);
        assert_eq!(refused.body["status"], "failed");
        let error = &refused.body["errors"][0];
        assert_eq!(error["field"], "driver.birth_place_code");
        assert_eq!(error["column"], "CONDUCENTE_CONTRAENTE_NASCITA_LUOGO_COD");
        assert!(error["message"].as_str().unwrap().contains("Luogo di nascita non valido"));
        assert_eq!(error["fix"], json!({"resource": "customer", "id": customer, "field": "birth_place.code"}));
        let failed = app.get("/api/v1/cargos/submissions?status=failed", &c.operator).await.expect(200);
        assert_eq!(failed.body["items"][0]["id"], refused.body["id"]);
        assert_eq!(failed.body["items"][0]["order_id"], id.as_str());
        let report = app.get(&format!("/api/v1/orders/{id}/cargos"), &c.operator).await.expect(200);
        assert_eq!(report.body["checked"], false);
        app.post(&format!("/api/v1/orders/{id}/cargos/send"), &c.operator, json!({})).await.problem(409, "cargos_not_checked");
        assert!(fake.records("send").is_empty());
    }

    async fn a_contract_is_sent_only_after_a_check_of_the_same_bytes_and_never_twice(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        let customer = renter(app, &c.operator).await;
        let id = order(app, &c.operator, customer).await;
        let send = format!("/api/v1/orders/{id}/cargos/send");
        let check = format!("/api/v1/orders/{id}/cargos/check");
        app.post(&send, &c.operator, json!({})).await.problem(409, "cargos_not_checked");
        app.post(&check, &c.operator, json!({})).await.expect(200);
        // The record changes after its check (a new phone): that check no longer covers it.
        app.patch(&format!("/api/v1/customers/{customer}"), &c.operator, json!({"phone": "+39 347 7654321"})).await.expect(200);
        app.post(&send, &c.operator, json!({})).await.problem(409, "cargos_not_checked");
        assert!(fake.records("send").is_empty());
        app.post(&check, &c.operator, json!({})).await.expect(200);
        let sent = app.post(&send, &c.operator, json!({})).await.expect(200);
        assert_eq!(sent.body["status"], "accepted");
        assert_eq!(sent.body["transaction_id"], "2026/FK/1");
        let report = app.get(&format!("/api/v1/orders/{id}/cargos"), &c.operator).await.expect(200);
        assert_eq!(report.body["receipt"]["transaction_id"], "2026/FK/1");
        assert_eq!(report.body["receipt"]["submission_id"], sent.body["id"]);
        assert_eq!(fake.records("send"), [report.body["record"]["text"].as_str().unwrap().to_owned()]);
        // Never twice: refused here, without a call.
        let again = app.post(&send, &c.admin, json!({})).await.problem(409, "cargos_already_sent");
        assert_eq!(again.body["transaction_id"], "2026/FK/1");
        assert_eq!(fake.records("send").len(), 1);
        let accepted = app.get(&format!("/api/v1/cargos/submissions?status=accepted&order_id={id}"), &c.admin).await.expect(200);
        assert_eq!(accepted.body["items"].as_array().unwrap().len(), 1);
        let audit = app.get("/api/v1/audit?action=cargos.sent", &c.admin).await.expect(200);
        assert_eq!(audit.body["items"][0]["changes"]["transaction_id"], "2026/FK/1");
    }

    async fn wrong_credentials_are_a_clear_problem_and_a_failed_submission(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        app.patch("/api/v1/cargos/settings", &c.admin, credentials("not the password")).await.expect(200);
        let id = order(app, &c.operator, renter(app, &c.operator).await).await;
        let refused = app.post(&format!("/api/v1/orders/{id}/cargos/check"), &c.operator, json!({})).await;
        let refused = refused.problem(409, "cargos_credentials_refused");
        assert!(refused.body["detail"].as_str().unwrap().contains("Ca.R.G.O.S. settings"), "{}", refused.body);
        let failed = app.get("/api/v1/cargos/submissions?status=failed", &c.operator).await.expect(200);
        assert_eq!(failed.body["items"][0]["failure"]["code"], "cargos_credentials_refused");
        assert!(fake.records("check").is_empty(), "nothing was checked without a token");
    }

    async fn a_police_service_that_never_answers_is_unavailable_once_the_client_gives_up(app: &TestApp, fake: &FakeCargos) timeout_ms 300 {
        let c = counter(app).await;
        let id = order(app, &c.operator, renter(app, &c.operator).await).await;
        // The fake holds every call open: only the client's short timeout ends it.
        fake.set_mode(FakeMode::Silent);
        let unavailable = app.post(&format!("/api/v1/orders/{id}/cargos/check"), &c.operator, json!({})).await;
        let unavailable = unavailable.problem(503, "cargos_unavailable");
        assert!(unavailable.body["detail"].as_str().unwrap().contains("no answer within"), "{}", unavailable.body);
        let failed = app.get(&format!("/api/v1/cargos/submissions?status=failed&order_id={id}"), &c.operator).await.expect(200);
        assert_eq!(failed.body["items"][0]["failure"]["code"], "cargos_unavailable");
    }

    async fn a_failing_police_service_is_unavailable_and_nothing_is_accepted(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        let id = order(app, &c.operator, renter(app, &c.operator).await).await;
        app.post(&format!("/api/v1/orders/{id}/cargos/check"), &c.operator, json!({})).await.expect(200);
        fake.set_mode(FakeMode::ServerError);
        let send = format!("/api/v1/orders/{id}/cargos/send");
        app.post(&send, &c.operator, json!({})).await.problem(503, "cargos_unavailable");
        let report = app.get(&format!("/api/v1/orders/{id}/cargos"), &c.operator).await.expect(200);
        assert_eq!(report.body["receipt"], Value::Null);
        assert_eq!(report.body["submissions"][0]["status"], "failed");
        // A failed send frees the order's one send: once the service is back, it goes through.
        fake.set_mode(FakeMode::Normal);
        assert_eq!(app.post(&send, &c.operator, json!({})).await.expect(200).body["status"], "accepted");
    }

    async fn a_tenant_without_credentials_is_told_to_configure_them(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        let unset = app.patch("/api/v1/cargos/settings", &c.admin, json!({"credentials": null})).await.expect(200);
        assert_eq!(unset.body["credentials_set"], false);
        let id = order(app, &c.operator, renter(app, &c.operator).await).await;
        app.post(&format!("/api/v1/orders/{id}/cargos/check"), &c.operator, json!({})).await.problem(409, "cargos_not_configured");
        assert!(fake.calls().is_empty());
    }

    async fn credentials_are_sealed_and_never_echoed(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        let short = json!({"credentials": {"username": USERNAME, "password": PASSWORD, "api_key": "too-short-key"}});
        let refused = app.patch("/api/v1/cargos/settings", &c.admin, short).await.problem(422, "validation_failed");
        assert_eq!(refused.fields(), [("credentials.api_key".into(), "invalid".into())]);
        assert!(!refused.body.to_string().contains("too-short-key"));
        app.patch("/api/v1/cargos/settings", &c.operator, credentials(PASSWORD)).await.problem(403, "forbidden");
        app.get("/api/v1/cargos/settings", &c.operator).await.problem(403, "forbidden");
        let set = app.patch("/api/v1/cargos/settings", &c.admin, credentials(PASSWORD)).await.expect(200);
        let read = app.get("/api/v1/cargos/settings", &c.admin).await.expect(200);
        let audit = app.get("/api/v1/audit?action=cargos.settings_changed", &c.admin).await.expect(200);
        assert_eq!(audit.body["items"][0]["changes"]["credentials"], "set");
        for body in [&set.body, &read.body, &audit.body] {
            let text = body.to_string();
            for secret in [USERNAME, PASSWORD, API_KEY] {
                assert!(!text.contains(secret), "{secret} shown in {text}");
            }
        }
        assert_eq!(read.body["credentials_set"], true);
        assert_eq!(read.body["on_activation"], "off");
        assert_eq!(read.body["tables"]["source"], "builtin");
        let switched = app.patch("/api/v1/cargos/settings", &c.admin, json!({"on_activation": "check_and_send"})).await.expect(200);
        assert_eq!(switched.body["on_activation"], "check_and_send");
        assert_eq!(switched.body["credentials_set"], true, "changing the automation keeps the credentials");
        assert!(fake.calls().is_empty(), "saving credentials calls nobody");
    }

    async fn activating_an_order_checks_and_sends_it_in_the_background(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        app.patch("/api/v1/cargos/settings", &c.admin, json!({"on_activation": "check_and_send"})).await.expect(200);
        let id = order(app, &c.operator, renter(app, &c.operator).await).await;
        let activated = app.patch(&format!("/api/v1/orders/{id}"), &c.operator, json!({"status": "active"})).await.expect(200);
        assert_eq!(activated.body["status"], "active");
        let report = until(app, &c.operator, &id, |r| !r["receipt"].is_null()).await;
        assert_eq!(report["receipt"]["transaction_id"], "2026/FK/1");
        let submissions = report["submissions"].as_array().unwrap();
        let actions: Vec<(&str, &str, &str)> = submissions
            .iter()
            .map(|s| (s["action"].as_str().unwrap(), s["status"].as_str().unwrap(), s["origin"].as_str().unwrap()))
            .collect();
        assert_eq!(actions, [("send", "accepted", "activation"), ("check", "checked", "activation")]);
        assert_eq!(fake.records("check"), fake.records("send"), "the bytes sent are the bytes checked");
        let audit = app.get("/api/v1/audit?action=cargos.sent", &c.admin).await.expect(200);
        assert_eq!(audit.body["items"][0]["actor_role"], "system");
    }

    async fn an_activation_whose_check_fails_still_activates_and_lists_the_failure(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        app.patch("/api/v1/cargos/settings", &c.admin, json!({"on_activation": "check"})).await.expect(200);
        let incomplete = app.client(&c.operator, "Anna", "Verdi").await;
        let broken = order(app, &c.operator, incomplete).await;
        let whole = order(app, &c.operator, renter(app, &c.operator).await).await;
        fake.refuse(&whole, "Campo: VEICOLO_TARGA - Targa non valida");
        for id in [&broken, &whole] {
            let activated = app.patch(&format!("/api/v1/orders/{id}"), &c.operator, json!({"status": "active"})).await;
            assert_eq!(activated.expect(200).body["status"], "active");
        }
        until(app, &c.operator, &broken, |r| r["submissions"][0]["status"] == "failed").await;
        let refused = until(app, &c.operator, &whole, |r| r["submissions"][0]["status"] == "failed").await;
        assert_eq!(refused["submissions"][0]["errors"][0]["field"], "vehicle.plate");
        let failed = app.get("/api/v1/cargos/submissions?status=failed", &c.operator).await.expect(200);
        let failed = failed.body["items"].as_array().unwrap();
        let by_order = |id: &str| failed.iter().find(|s| s["order_id"] == id).unwrap().clone();
        assert_eq!(by_order(&broken)["failure"]["code"], "cargos_record_invalid");
        assert!(!by_order(&broken)["errors"].as_array().unwrap().is_empty());
        assert_eq!(by_order(&whole)["failure"], Value::Null);
        assert_eq!(fake.records("check").len(), 1, "the incomplete record never left");
        assert!(fake.records("send").is_empty(), "check only: nothing sent");
    }

    async fn tenants_never_reach_each_others_records_agencies_or_submissions(app: &TestApp, fake: &FakeCargos) {
        let c = counter(app).await;
        let id = order(app, &c.operator, renter(app, &c.operator).await).await;
        app.post(&format!("/api/v1/orders/{id}/cargos/check"), &c.operator, json!({})).await.expect(200);
        let other = app.tenant().await;
        let stranger = app.user(other, "admin").await;
        app.get(&format!("/api/v1/orders/{id}/cargos"), &stranger).await.problem(404, "not_found");
        app.post(&format!("/api/v1/orders/{id}/cargos/check"), &stranger, json!({})).await.problem(404, "not_found");
        app.post(&format!("/api/v1/orders/{id}/cargos/send"), &stranger, json!({})).await.problem(404, "not_found");
        app.get(&format!("/api/v1/cargos/agencies/{}", c.agency), &stranger).await.problem(404, "not_found");
        assert_eq!(app.get("/api/v1/cargos/agencies", &stranger).await.expect(200).body["items"], json!([]));
        assert_eq!(app.get("/api/v1/cargos/submissions", &stranger).await.expect(200).body["items"], json!([]));
        assert_eq!(app.get("/api/v1/cargos/settings", &stranger).await.expect(200).body["credentials_set"], false);
        // Another tenant's agency cannot be named on an order.
        let theirs = app.client(&stranger, "Anna", "Verdi").await;
        let body = json!({"customer_id": theirs, "pickup_at": at(1), "return_at": at(2), "agency_id": c.agency,
            "pickup_place": "Roma", "return_place": "Roma", "vehicle": {"plate": "AB123CD"}, "payment_type": "cash"});
        let refused = app.post("/api/v1/orders", &stranger, body).await.problem(422, "validation_failed");
        assert_eq!(refused.fields(), [("agency_id".into(), "unknown_reference".into())]);
        // Drivers and partners have no access to records.
        let driver = app.user(c.tenant, "driver").await;
        app.get(&format!("/api/v1/orders/{id}/cargos"), &driver).await.problem(403, "forbidden");
        assert_eq!(fake.records("check").len(), 1);
    }
}
