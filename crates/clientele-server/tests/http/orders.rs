//! Orders over HTTP: creation with licence warnings, the blacklist check where a rental is being
//! prepared (refusal, operator requests, admin overrides), status changes, bad input, what
//! drivers and partners see, the order form, and tenant isolation.

use std::time::Duration;

use clientele_core::audit::store::AuditQuery;
use clientele_core::ids::{CustomerId, TenantId};
use clientele_core::time::Timestamp;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{DATA_PROTECTION_CONTACT, PDF, Reply, Session, TestApp, ids};

/// Now plus `days`, as RFC 3339.
fn at(days: u64) -> String {
    Timestamp::now().add(Duration::from_secs(days * 86_400)).to_string()
}

/// Today (UTC) plus `days`, as `YYYY-MM-DD`.
fn day(days: i64) -> String {
    (Timestamp::now().date() + time::Duration::days(days)).to_string()
}

/// A driving licence numbered `number` that expires `days` from today.
fn licence(number: &str, days: i64) -> Value {
    json!({"number": number, "issued_on": "2015-01-01", "expires_on": day(days)})
}

/// A complete, valid order for `customer`: pick-up in 10 days, return in 20.
fn order(customer: CustomerId) -> Value {
    json!({
        "customer_id": customer,
        "pickup_at": at(10),
        "return_at": at(20),
        "pickup_place": "Roma Termini",
        "return_place": "Roma Fiumicino",
        "vehicle": {"plate": "AB 123 CD", "make": "Fiat", "model": "Panda", "type": "car", "colour": "white"},
        "payment_type": "credit_card"
    })
}

/// `body` with the members of `extra` added or replaced.
fn with(mut body: Value, extra: Value) -> Value {
    let map = body.as_object_mut().unwrap();
    for (key, value) in extra.as_object().unwrap() {
        map.insert(key.clone(), value.clone());
    }
    body
}

/// The `id` of an order reply.
fn order_id(reply: &Reply) -> Uuid {
    reply.body["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no id in {}", reply.body))
}

/// The warning codes of a reply body.
fn codes(body: &Value) -> Vec<String> {
    body["warnings"].as_array().unwrap().iter().map(|w| w["code"].as_str().unwrap().to_owned()).collect()
}

/// The sorted keys of a JSON object.
fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

/// The ids of a customer's orders, newest first.
async fn orders_of(app: &TestApp, session: &Session, customer: CustomerId) -> Vec<Value> {
    let list = app.get(&format!("/api/v1/customers/{customer}/orders"), session).await.expect(200);
    list.body["items"].as_array().unwrap().iter().map(|o| o["id"].clone()).collect()
}

/// Creates a client with a valid licence numbered `number`; returns its id.
async fn licensed(app: &TestApp, session: &Session, first: &str, last: &str, number: &str) -> CustomerId {
    let body = json!({"first_name": first, "last_name": last, "driver_license": licence(number, 3 * 365)});
    app.post("/api/v1/customers", session, body).await.expect(201).id()
}

/// Puts `customer` on the tenant's blacklist as `admin`.
async fn blacklist(app: &TestApp, admin: &Session, customer: CustomerId) {
    let body = json!({"scope": "tenant", "reason_code": "unpaid_balance", "note": "Owes 300 EUR"});
    app.post(&format!("/api/v1/customers/{customer}/blacklist"), admin, body).await.expect(201);
}

/// `(action, reason)` of the audit entries concerning `customer`, newest first.
async fn audit(app: &TestApp, tenant: TenantId, customer: CustomerId) -> Vec<(String, Option<String>)> {
    let query = AuditQuery { customer_id: Some(customer), limit: 50, ..AuditQuery::default() };
    app.app.store().list_audit(tenant, &query).await.unwrap().into_iter().map(|e| (e.action, e.reason)).collect()
}

/// The keys a driver may see of a customer.
const CONTACT_KEYS: [&str; 9] =
    ["address", "company_name", "email", "first_name", "id", "language", "last_name", "phone", "secondary_phone"];

http_test! {
    async fn an_order_for_a_clean_customer_is_confirmed_with_licence_warnings(app: &TestApp) {
        let tenant = app.tenant().await;
        let operator = app.user(tenant, "operator").await;
        let valid = licensed(app, &operator, "Valid", "Licence", "V1000001").await;
        let cases = [
            (json!({"first_name": "No", "last_name": "Licence"}), "driver_license_missing"),
            (json!({"first_name": "Old", "last_name": "Licence", "driver_license": licence("E1000001", -10)}), "driver_license_expired"),
            (json!({"first_name": "Soon", "last_name": "Licence", "driver_license": licence("S1000001", 15)}), "driver_license_expires_before_return"),
        ];

        let created = app.post("/api/v1/orders", &operator, order(valid)).await.expect(201);
        let id = order_id(&created);
        assert_eq!(created.headers["location"], format!("/api/v1/orders/{id}").as_str());
        assert_eq!(created.headers["etag"], "\"1\"");
        assert_eq!(created.body["status"], "confirmed");
        assert_eq!(created.body["customer_id"], json!(valid));
        assert_eq!(created.body["second_driver_id"], json!(null));
        assert_eq!(created.body["driver_id"], json!(null));
        assert_eq!(created.body["vehicle"], json!({"plate": "AB123CD", "make": "Fiat", "model": "Panda", "type": "car", "colour": "white", "type_code": "0"}));
        assert_eq!(created.body["payment_type"], "credit_card");
        assert_eq!(created.body["pickup_place"], "Roma Termini");
        assert_eq!(created.body["blacklist_at_creation"], "none");
        assert_eq!(created.body["override"], json!(null));
        assert_eq!(created.body["override_request"], json!(null));
        assert_eq!(created.body["created_by"], json!(operator.user_id.unwrap()));
        assert_eq!(created.body["version"], 1);
        assert_eq!(created.body["warnings"], json!([]));
        let fetched = app.get(&format!("/api/v1/orders/{id}"), &operator).await.expect(200);
        assert_eq!(fetched.headers["etag"], "\"1\"");
        assert_eq!(fetched.body, created.body);
        assert_eq!(orders_of(app, &operator, valid).await, [json!(id)]);
        assert_eq!(audit(app, tenant, valid).await[0].0, "order.created");

        for (body, code) in cases {
            let customer = app.post("/api/v1/customers", &operator, body).await.expect(201).id();
            let reply = app.post("/api/v1/orders", &operator, order(customer)).await.expect(201);
            assert_eq!(reply.body["status"], "confirmed", "licence problems warn, they do not refuse");
            let warnings = reply.body["warnings"].as_array().unwrap();
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert_eq!(warnings[0]["code"], code);
            assert_eq!(warnings[0]["customer_id"], json!(customer));
            assert!(warnings[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
            let fetched = app.get(&format!("/api/v1/orders/{}", order_id(&reply)), &operator).await.expect(200);
            assert_eq!(fetched.body["warnings"], reply.body["warnings"]);
        }

        // The second driver's licence is checked too.
        let second = app.client(&operator, "Second", "Driver").await;
        let reply = app.post("/api/v1/orders", &operator, with(order(valid), json!({"second_driver_id": second}))).await.expect(201);
        assert_eq!(reply.body["second_driver_id"], json!(second));
        assert_eq!(codes(&reply.body), ["driver_license_missing"]);
        assert_eq!(reply.body["warnings"][0]["customer_id"], json!(second));
        assert_eq!(orders_of(app, &operator, second).await, [reply.body["id"].clone()]);
    }

    async fn a_tenant_blacklisted_customer_needs_an_admin_override(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let customer = licensed(app, &operator, "Mario", "Rossi", "U1234567X").await;
        blacklist(app, &admin, customer).await;

        for session in [&operator, &admin] {
            let refused = app.post("/api/v1/orders", session, order(customer)).await.problem(409, "customer_blacklisted");
            let warnings = refused.body["warnings"].as_array().unwrap();
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            assert_eq!(warnings[0]["code"], "blacklisted");
            assert_eq!(warnings[0]["customer_id"], json!(customer));
            assert_eq!(refused.body["data_protection_contact"], DATA_PROTECTION_CONTACT);
        }
        let overridden = with(order(customer), json!({"override": {"reason": "Known customer"}}));
        app.post("/api/v1/orders", &operator, overridden.clone()).await.problem(403, "forbidden");
        assert!(orders_of(app, &admin, customer).await.is_empty(), "no order was made");

        let requested = app.post("/api/v1/orders", &operator, with(order(customer), json!({"request_override": true}))).await.expect(201);
        let id = order_id(&requested);
        assert_eq!(requested.body["status"], "awaiting_override");
        assert_eq!(requested.body["blacklist_at_creation"], "tenant");
        assert_eq!(requested.body["override"], json!(null));
        assert_eq!(requested.body["override_request"]["by"], json!(operator.user_id.unwrap()));
        assert!(requested.body["override_request"]["at"].is_string());
        assert_eq!(codes(&requested.body), ["blacklisted"]);

        let approve = format!("/api/v1/orders/{id}/approve-override");
        app.post(&approve, &operator, json!({"reason": "Paid in cash"})).await.problem(403, "forbidden");
        app.post(&approve, &admin, json!({})).await.problem(422, "validation_failed");
        app.post(&approve, &admin, json!({"reason": "  "})).await.problem(422, "validation_failed");
        let approved = app.post(&approve, &admin, json!({"reason": "Paid in cash"})).await.expect(200);
        assert_eq!(approved.body["status"], "confirmed");
        assert_eq!(approved.body["override"]["by"], json!(admin.user_id.unwrap()));
        assert_eq!(approved.body["override"]["reason"], "Paid in cash");
        assert!(approved.body["override"]["at"].is_string());
        assert_eq!(approved.body["override_request"], requested.body["override_request"]);
        assert_eq!(approved.body["version"], 2);
        assert_eq!(codes(&approved.body), ["blacklisted"], "the approval screens the customer again");
        let again = app.post(&approve, &admin, json!({"reason": "Again"})).await.problem(409, "order_not_awaiting_override");
        assert!(again.body["detail"].as_str().unwrap().contains("confirmed"));
        let fetched = app.get(&format!("/api/v1/orders/{id}"), &operator).await.expect(200);
        assert_eq!(fetched.body["override"], approved.body["override"]);

        let direct = app.post("/api/v1/orders", &admin, overridden).await.expect(201);
        assert_eq!(direct.body["status"], "confirmed");
        assert_eq!(direct.body["blacklist_at_creation"], "tenant");
        assert_eq!(direct.body["override"]["by"], json!(admin.user_id.unwrap()));
        assert_eq!(direct.body["override"]["reason"], "Known customer");
        assert_eq!(direct.body["override_request"], json!(null));
        assert_eq!(codes(&direct.body), ["blacklisted"]);

        let empty = app.post("/api/v1/orders", &admin, with(order(customer), json!({"override": {"reason": ""}}))).await;
        assert_eq!(empty.problem(422, "validation_failed").fields(), [("override.reason".into(), "required".into())]);
        let both = app.post("/api/v1/orders", &admin, with(order(customer), json!({"override": {"reason": "x"}, "request_override": true}))).await;
        assert_eq!(both.problem(422, "validation_failed").fields(), [("request_override".into(), "not_allowed".into())]);
        assert_eq!(orders_of(app, &admin, customer).await, [direct.body["id"].clone(), json!(id)]);

        let actions: Vec<(String, Option<String>)> = audit(app, tenant, customer).await.into_iter()
            .filter(|(action, _)| action.starts_with("order."))
            .collect();
        assert_eq!(actions, [
            ("order.overridden".to_owned(), Some("Known customer".to_owned())),
            ("order.created".to_owned(), None),
            ("order.overridden".to_owned(), Some("Paid in cash".to_owned())),
            ("order.override_requested".to_owned(), None),
            ("order.created".to_owned(), None),
            // The refusals are on record too (the dashboard counts them).
            ("order.refused".to_owned(), Some("customer_blacklisted".to_owned())),
            ("order.refused".to_owned(), Some("customer_blacklisted".to_owned())),
        ]);
    }

    async fn a_blacklisted_second_driver_stops_the_order_too(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let renter = licensed(app, &operator, "Clean", "Renter", "C1000001").await;
        let second = licensed(app, &operator, "Flagged", "Second", "F1000001").await;
        blacklist(app, &admin, second).await;
        let body = with(order(renter), json!({"second_driver_id": second}));
        let refused = app.post("/api/v1/orders", &operator, body.clone()).await.problem(409, "customer_blacklisted");
        assert_eq!(refused.body["warnings"].as_array().unwrap().len(), 1);
        assert_eq!(refused.body["warnings"][0]["code"], "blacklisted");
        assert_eq!(refused.body["warnings"][0]["customer_id"], json!(second));
        assert!(orders_of(app, &admin, renter).await.is_empty());

        // Adding the second driver to a live order is checked as well.
        let clean = app.post("/api/v1/orders", &operator, order(renter)).await.expect(201);
        let path = format!("/api/v1/orders/{}", order_id(&clean));
        app.patch(&path, &operator, json!({"second_driver_id": second})).await.problem(409, "customer_blacklisted");
        assert_eq!(app.get(&path, &operator).await.expect(200).body["second_driver_id"], json!(null));
    }

    async fn a_globally_blacklisted_customer_is_refused_without_revealing_who_flagged(app: &TestApp) {
        let tenant_a = app.tenant().await;
        let tenant_b = app.tenant().await;
        let admin_a = app.user(tenant_a, "admin").await;
        let operator_b = app.user(tenant_b, "operator").await;
        // B's customer exists before A flags the person: the order is where the check finds it.
        let customer = app.post("/api/v1/customers", &operator_b, json!({
            "first_name": "Nicolo", "last_name": "De Rossi", "birth_date": "1980-02-29", "driver_license": licence("B1000001", 3 * 365)
        })).await.expect(201);
        assert_eq!(customer.body["warnings"], json!([]));
        let customer = customer.id();
        let earlier = app.post("/api/v1/orders", &operator_b, order(customer)).await.expect(201);
        assert_eq!(earlier.body["blacklist_at_creation"], "none");
        let flagged = app.post("/api/v1/customers", &admin_a, json!({
            "first_name": "Nicolò", "last_name": "De Rossi", "birth_date": "1980-02-29"
        })).await.expect(201).id();
        let entry = app.post(&format!("/api/v1/customers/{flagged}/blacklist"), &admin_a, json!({
            "scope": "global", "reason_code": "vehicle_not_returned", "note": "Kept the car for a month"
        })).await.expect(201);

        let refused = app.post("/api/v1/orders", &operator_b, order(customer)).await.problem(409, "customer_blacklisted");
        let warnings = refused.body["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(keys(&warnings[0]), ["code", "customer_id", "message"]);
        assert_eq!(warnings[0]["code"], "globally_blacklisted");
        assert_eq!(warnings[0]["customer_id"], json!(customer));
        assert!(warnings[0]["message"].as_str().unwrap().contains(DATA_PROTECTION_CONTACT));
        assert_eq!(refused.body["data_protection_contact"], DATA_PROTECTION_CONTACT);
        let text = refused.body.to_string();
        for secret in [
            tenant_a.to_string(),
            flagged.to_string(),
            admin_a.user_id.unwrap().to_string(),
            entry.body["id"].as_str().unwrap().to_owned(),
            entry.body["created_at"].as_str().unwrap().to_owned(),
            "vehicle_not_returned".to_owned(),
            "Kept the car".to_owned(),
        ] {
            assert!(!text.contains(&secret), "the refusal reveals {secret:?}: {text}");
        }
        assert_eq!(orders_of(app, &operator_b, customer).await, [earlier.body["id"].clone()], "no new order");

        // Activating the order made before the flag checks again.
        let path = format!("/api/v1/orders/{}", order_id(&earlier));
        let refused = app.patch(&path, &operator_b, json!({"status": "active"})).await.problem(409, "customer_blacklisted");
        assert_eq!(codes(&refused.body), ["globally_blacklisted"]);
        assert!(!refused.body.to_string().contains(&tenant_a.to_string()));
        assert_eq!(app.get(&path, &operator_b).await.expect(200).body["status"], "confirmed");

        let matches: Vec<Option<String>> = audit(app, tenant_b, customer).await.into_iter()
            .filter(|(action, _)| action == "blacklist.global_match")
            .map(|(_, reason)| reason)
            .collect();
        assert_eq!(matches, [Some("order_activated".to_owned()), Some("order_created".to_owned())], "refused attempts are on record");

        let requested = app.post("/api/v1/orders", &operator_b, with(order(customer), json!({"request_override": true}))).await.expect(201);
        assert_eq!(requested.body["status"], "awaiting_override");
        assert_eq!(requested.body["blacklist_at_creation"], "global");
        assert_eq!(codes(&requested.body), ["globally_blacklisted"]);
    }

    async fn order_status_follows_the_allowed_transitions(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let customer = licensed(app, &operator, "Mario", "Rossi", "U1234567X").await;
        let id = order_id(&app.post("/api/v1/orders", &operator, order(customer)).await.expect(201));
        let path = format!("/api/v1/orders/{id}");

        let active = app.patch(&path, &operator, json!({"status": "active"})).await.expect(200);
        assert_eq!(active.body["status"], "active");
        assert_eq!(active.body["version"], 2);
        assert_eq!(active.headers["etag"], "\"2\"");
        let completed = app.patch(&path, &operator, json!({"status": "completed", "version": 2})).await.expect(200);
        assert_eq!(completed.body["status"], "completed");
        let back = app.patch(&path, &operator, json!({"status": "active"})).await.problem(409, "invalid_status_transition");
        assert!(back.body["detail"].as_str().unwrap().contains("completed"));
        app.patch(&path, &operator, json!({"status": "cancelled"})).await.problem(409, "invalid_status_transition");
        assert_eq!(app.get(&path, &operator).await.expect(200).body["status"], "completed");

        let other = order_id(&app.post("/api/v1/orders", &operator, order(customer)).await.expect(201));
        let other = format!("/api/v1/orders/{other}");
        app.patch(&other, &operator, json!({"status": "completed"})).await.problem(409, "invalid_status_transition");
        app.patch(&other, &operator, json!({"status": "active", "version": 7})).await.problem(409, "version_conflict");
        let cancelled = app.patch(&other, &operator, json!({"status": "cancelled"})).await.expect(200);
        assert_eq!(cancelled.body["status"], "cancelled");
        app.patch(&other, &operator, json!({"status": "confirmed"})).await.problem(409, "invalid_status_transition");
        app.patch(&other, &operator, json!({"status": "active"})).await.problem(409, "invalid_status_transition");

        let flagged = licensed(app, &operator, "Flag", "Ged", "G1000001").await;
        blacklist(app, &admin, flagged).await;
        let waiting = app.post("/api/v1/orders", &operator, with(order(flagged), json!({"request_override": true}))).await.expect(201);
        let waiting = format!("/api/v1/orders/{}", order_id(&waiting));
        for next in ["confirmed", "active", "completed"] {
            app.patch(&waiting, &admin, json!({"status": next})).await.problem(409, "invalid_status_transition");
        }
        let cancelled = app.patch(&waiting, &operator, json!({"status": "cancelled"})).await.expect(200);
        assert_eq!(cancelled.body["status"], "cancelled");
        assert_eq!(cancelled.body["override"], json!(null));

        let bad = app.patch(&path, &operator, json!({"status": "parked"})).await;
        assert_eq!(bad.problem(422, "validation_failed").fields()[0].0, "status");
    }

    async fn activating_an_order_for_a_customer_blacklisted_since_needs_an_admin_override(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let customer = licensed(app, &operator, "Mario", "Rossi", "U1234567X").await;
        let created = app.post("/api/v1/orders", &operator, order(customer)).await.expect(201);
        let path = format!("/api/v1/orders/{}", order_id(&created));
        blacklist(app, &admin, customer).await;

        for session in [&operator, &admin] {
            let refused = app.patch(&path, session, json!({"status": "active"})).await.problem(409, "customer_blacklisted");
            assert_eq!(refused.body["warnings"][0]["code"], "blacklisted");
            assert_eq!(refused.body["data_protection_contact"], DATA_PROTECTION_CONTACT);
        }
        let overridden = json!({"status": "active", "override": {"reason": "Settled at the counter"}});
        app.patch(&path, &operator, overridden.clone()).await.problem(403, "forbidden");
        let empty = app.patch(&path, &admin, json!({"status": "active", "override": {"reason": " "}})).await;
        assert_eq!(empty.problem(422, "validation_failed").fields(), [("override.reason".into(), "required".into())]);
        let unchanged = app.get(&path, &operator).await.expect(200);
        assert_eq!(unchanged.body["status"], "confirmed");
        assert_eq!(unchanged.body["version"], 1);

        let active = app.patch(&path, &admin, overridden).await.expect(200);
        assert_eq!(active.body["status"], "active");
        assert_eq!(active.body["override"]["by"], json!(admin.user_id.unwrap()));
        assert_eq!(active.body["override"]["reason"], "Settled at the counter");
        assert_eq!(active.body["blacklist_at_creation"], "none");
        let overrides: Vec<Option<String>> = audit(app, tenant, customer).await.into_iter()
            .filter(|(action, _)| action == "order.overridden")
            .map(|(_, reason)| reason)
            .collect();
        assert_eq!(overrides, [Some("Settled at the counter".to_owned())]);
        // Completing needs no new check.
        app.patch(&path, &operator, json!({"status": "completed"})).await.expect(200);
    }

    async fn bad_orders_name_the_field(app: &TestApp) {
        let tenant = app.tenant().await;
        let operator = app.user(tenant, "operator").await;
        let customer = licensed(app, &operator, "Mario", "Rossi", "U1234567X").await;
        let fields = |reply: Reply| reply.problem(422, "validation_failed").fields();
        let pair = |field: &str, code: &str| (field.to_owned(), code.to_owned());
        let post = |body: Value| {
            let operator = operator.clone();
            async move { app.post("/api/v1/orders", &operator, body).await }
        };

        let backwards = with(order(customer), json!({"pickup_at": at(20), "return_at": at(10)}));
        assert_eq!(fields(post(backwards).await), [pair("return_at", "out_of_range")]);
        let pickup = at(10);
        let same = with(order(customer), json!({"pickup_at": pickup, "return_at": pickup}));
        assert_eq!(fields(post(same).await), [pair("return_at", "out_of_range")]);
        let not_a_time = with(order(customer), json!({"pickup_at": "tomorrow"}));
        assert_eq!(fields(post(not_a_time).await), [pair("pickup_at", "invalid_date")]);

        let unknown = with(order(customer), json!({"customer_id": Uuid::now_v7()}));
        assert_eq!(fields(post(unknown).await), [pair("customer_id", "unknown_reference")]);
        let unknown_second = with(order(customer), json!({"second_driver_id": Uuid::now_v7()}));
        assert_eq!(fields(post(unknown_second).await), [pair("second_driver_id", "unknown_reference")]);
        let self_second = with(order(customer), json!({"second_driver_id": customer}));
        assert_eq!(fields(post(self_second).await), [pair("second_driver_id", "invalid")]);

        let mut incomplete = order(customer);
        incomplete.as_object_mut().unwrap().remove("vehicle");
        incomplete.as_object_mut().unwrap().remove("payment_type");
        assert_eq!(fields(post(incomplete).await), [pair("vehicle", "required"), pair("payment_type", "required")]);
        let names: Vec<String> = fields(post(json!({})).await).into_iter().map(|(field, _)| field).collect();
        assert_eq!(names, ["customer_id", "pickup_at", "return_at", "pickup_place", "return_place", "vehicle", "payment_type"]);
        let plate = with(order(customer), json!({"vehicle": {"plate": "AB 123 ??"}}));
        assert_eq!(fields(post(plate).await), [pair("vehicle.plate", "invalid")]);
        let extra = with(order(customer), json!({"price": 100}));
        assert_eq!(fields(post(extra).await), [pair("price", "unknown_field")]);

        let admin = app.user(tenant, "admin").await;
        for not_a_driver in [operator.user_id.unwrap().as_uuid(), admin.user_id.unwrap().as_uuid(), Uuid::now_v7()] {
            let body = with(order(customer), json!({"driver_id": not_a_driver}));
            assert_eq!(fields(post(body).await), [pair("driver_id", "unknown_reference")]);
        }
        let driver = app.user(tenant, "driver").await;
        let assigned = post(with(order(customer), json!({"driver_id": driver.user_id.unwrap()}))).await.expect(201);
        assert_eq!(assigned.body["driver_id"], json!(driver.user_id.unwrap()));
        let path = format!("/api/v1/orders/{}", order_id(&assigned));
        let reassigned = app.patch(&path, &operator, json!({"driver_id": operator.user_id.unwrap()})).await;
        assert_eq!(fields(reassigned), [pair("driver_id", "unknown_reference")]);

        let deleted = app.client(&operator, "Gone", "Away").await;
        app.delete(&format!("/api/v1/customers/{deleted}"), &operator).await.expect(204);
        post(order(deleted)).await.problem(409, "customer_deleted");
        post(with(order(customer), json!({"second_driver_id": deleted}))).await.problem(409, "customer_deleted");
        assert_eq!(orders_of(app, &operator, customer).await.len(), 1, "only the valid order was made");
    }

    async fn a_driver_sees_only_contact_fields_of_customers_on_their_live_orders(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let driver = app.user(tenant, "driver").await;
        let other_driver = app.user(tenant, "driver").await;
        let renter = app.post("/api/v1/customers", &admin, json!({
            "first_name": "Mario", "last_name": "Rossi", "phone": "333 123 4567", "email": "mario@example.com",
            "address": {"line1": "Via Roma 1", "city": "Roma"}, "language": "it", "birth_date": "1980-01-01",
            "tax_code": "RSSMRA80A01H501U", "driver_license": licence("U1234567X", 3 * 365), "vip": true,
            "notes": ["Prefers automatic gearbox"]
        })).await.expect(201).id();
        let second = licensed(app, &admin, "Anna", "Bianchi", "A1000001").await;
        let stranger = licensed(app, &admin, "Sergio", "Neri", "N1000001").await;
        let body = with(order(renter), json!({"driver_id": driver.user_id.unwrap(), "second_driver_id": second}));
        let mine = order_id(&app.post("/api/v1/orders", &operator, body).await.expect(201));
        let theirs = with(order(stranger), json!({"driver_id": other_driver.user_id.unwrap()}));
        let theirs = order_id(&app.post("/api/v1/orders", &operator, theirs).await.expect(201));

        let list = app.get("/api/v1/customers", &driver).await.expect(200);
        assert_eq!(ids(&list), vec![second, renter]);
        for item in list.body["items"].as_array().unwrap() {
            assert_eq!(keys(item), CONTACT_KEYS);
        }
        for id in [renter, second] {
            let seen = app.get(&format!("/api/v1/customers/{id}"), &driver).await.expect(200);
            assert_eq!(keys(&seen.body), CONTACT_KEYS);
            for hidden in ["birth_date", "tax_code", "driver_license", "notes", "vip", "blacklist", "version", "kind"] {
                assert!(seen.body.get(hidden).is_none(), "{hidden} shown to a driver: {}", seen.body);
            }
        }
        let seen = app.get(&format!("/api/v1/customers/{renter}"), &driver).await.expect(200);
        assert_eq!(seen.body["phone"], "+393331234567");
        assert_eq!(seen.body["email"], "mario@example.com");
        assert_eq!(seen.body["address"]["line1"], "Via Roma 1");
        assert_eq!(seen.body["language"], "it");

        app.get(&format!("/api/v1/customers/{stranger}"), &driver).await.problem(404, "not_found");
        app.get(&format!("/api/v1/customers/{renter}/notes"), &driver).await.problem(404, "not_found");
        let path = format!("/api/v1/customers/{renter}");
        app.patch(&path, &driver, json!({"phone": "333 000 0000"})).await.problem(403, "forbidden");
        app.delete(&path, &driver).await.problem(403, "forbidden");
        app.post(&format!("{path}/notes"), &driver, json!({"body": "hi"})).await.problem(403, "forbidden");
        app.post("/api/v1/customers", &driver, json!({"first_name": "A", "last_name": "B"})).await.problem(403, "forbidden");
        app.get(&format!("{path}/blacklist"), &driver).await.problem(403, "forbidden");
        app.get(&format!("{path}/orders"), &driver).await.problem(403, "forbidden");

        let own = app.get(&format!("/api/v1/orders/{mine}"), &driver).await.expect(200);
        assert_eq!(own.body["customer_id"], json!(renter));
        assert_eq!(own.body["status"], "confirmed");
        assert!(own.body["pickup_place"].is_string());
        for hidden in ["warnings", "override", "override_request", "blacklist_at_creation", "payment_type", "created_by", "version"] {
            assert!(own.body.get(hidden).is_none(), "{hidden} shown to a driver: {}", own.body);
        }
        assert!(own.headers.get("etag").is_none(), "drivers cannot update, so no ETag");
        app.get(&format!("/api/v1/orders/{theirs}"), &driver).await.problem(404, "not_found");
        app.get(&format!("/api/v1/orders/{mine}"), &other_driver).await.problem(404, "not_found");
        app.patch(&format!("/api/v1/orders/{mine}"), &driver, json!({"status": "active"})).await.problem(403, "forbidden");
        app.post("/api/v1/orders", &driver, order(renter)).await.problem(403, "forbidden");
        assert_eq!(ids(&app.get("/api/v1/customers", &other_driver).await.expect(200)), vec![stranger]);

        // Once the order is over, its people are out of sight again.
        let mine_path = format!("/api/v1/orders/{mine}");
        app.patch(&mine_path, &operator, json!({"status": "active"})).await.expect(200);
        assert_eq!(ids(&app.get("/api/v1/customers", &driver).await.expect(200)), vec![second, renter], "active orders count");
        app.patch(&mine_path, &operator, json!({"status": "completed"})).await.expect(200);
        assert!(ids(&app.get("/api/v1/customers", &driver).await.expect(200)).is_empty());
        for id in [renter, second] {
            app.get(&format!("/api/v1/customers/{id}"), &driver).await.problem(404, "not_found");
        }
        app.patch(&format!("/api/v1/orders/{theirs}"), &operator, json!({"status": "cancelled"})).await.expect(200);
        assert!(ids(&app.get("/api/v1/customers", &other_driver).await.expect(200)).is_empty());
        app.get(&format!("/api/v1/customers/{stranger}"), &other_driver).await.problem(404, "not_found");
    }

    async fn partners_have_no_access_to_orders(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let agency = app.partner_company(&admin, "Agency").await;
        let partner = app.partner_user(tenant, agency).await;
        let linked = app.post("/api/v1/customers", &admin, json!({
            "first_name": "Lin", "last_name": "Ked", "partner_id": agency, "driver_license": licence("L1000001", 3 * 365)
        })).await.expect(201).id();
        let id = order_id(&app.post("/api/v1/orders", &admin, order(linked)).await.expect(201));
        let path = format!("/api/v1/orders/{id}");

        app.post("/api/v1/orders", &partner, order(linked)).await.problem(403, "forbidden");
        app.get(&path, &partner).await.problem(403, "forbidden");
        app.patch(&path, &partner, json!({"status": "cancelled"})).await.problem(403, "forbidden");
        app.post(&format!("{path}/approve-override"), &partner, json!({"reason": "x"})).await.problem(403, "forbidden");
        app.get(&format!("/api/v1/customers/{linked}/orders"), &partner).await.problem(403, "forbidden");
        assert_eq!(app.get(&path, &admin).await.expect(200).body["status"], "confirmed");
        // Platform admins have no access to tenant orders either.
        let platform = app.platform_admin().await;
        app.get(&path, &platform).await.problem(403, "forbidden");
        app.post("/api/v1/orders", &platform, order(linked)).await.problem(403, "forbidden");
    }

    async fn the_order_form_has_badges_documents_and_licence_warnings(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let driver = app.user(tenant, "driver").await;
        let agency = app.partner_company(&admin, "Agency").await;
        let partner = app.partner_user(tenant, agency).await;
        let ready = app.post("/api/v1/customers", &operator, json!({
            "first_name": "Ready", "last_name": "Renter", "phone": "333 123 4567", "partner_id": agency,
            "driver_license": licence("R1000001", 3 * 365),
            "id_document": {"type": "id_card", "number": "CA12345AB", "expires_on": day(15)}
        })).await.expect(201).id();
        app.upload(&operator, ready, "id_card", &[("expires_on", &day(15))], PDF).await.expect(201);
        app.upload(&operator, ready, "driver_license", &[("expires_on", &day(3 * 365))], PDF).await.expect(201);
        let bare = app.client(&operator, "Bare", "Renter").await;
        let expired = app.post("/api/v1/customers", &operator, json!({
            "first_name": "Old", "last_name": "Licence", "driver_license": licence("E1000001", -1),
            "id_document": {"type": "passport", "number": "YA1234567", "expires_on": day(-1)}
        })).await.expect(201).id();
        app.upload(&operator, expired, "passport", &[("expires_on", &day(-1))], PDF).await.expect(201);
        app.upload(&operator, expired, "driver_license", &[("expires_on", &day(-1))], PDF).await.expect(201);
        let soon = app.post("/api/v1/customers", &operator, json!({
            "first_name": "Soon", "last_name": "Expiring", "driver_license": licence("S1000001", 10),
            "id_document": {"type": "passport", "number": "YB1234567"}
        })).await.expect(201).id();
        app.upload(&operator, soon, "passport", &[], PDF).await.expect(201);
        app.upload(&operator, soon, "driver_license", &[("expires_on", &day(10))], PDF).await.expect(201);
        blacklist(app, &admin, bare).await;
        let form = |id: CustomerId, session: &Session| {
            let session = session.clone();
            async move { app.get(&format!("/api/v1/customers/{id}/order-form"), &session).await }
        };

        let reply = form(ready, &operator).await.expect(200);
        assert_eq!(keys(&reply.body), ["customer", "documents", "warnings"]);
        assert_eq!(reply.body["customer"]["id"], json!(ready));
        assert_eq!(reply.body["customer"]["phone"], "+393331234567");
        assert_eq!(reply.body["customer"]["driver_license"]["number"], "R1000001");
        assert_eq!(reply.body["customer"]["id_document"]["number"], "CA12345AB");
        assert_eq!(reply.body["customer"]["blacklist"], json!({"status": "none"}));
        assert_eq!(reply.body["customer"]["vip"], false);
        assert_eq!(reply.body["documents"], json!({"complete": true, "missing": [], "expiring_soon": ["passport|id_card"]}));
        assert_eq!(reply.body["warnings"], json!([]));

        let reply = form(bare, &admin).await.expect(200);
        assert_eq!(reply.body["customer"]["blacklist"], json!({"status": "tenant"}));
        assert_eq!(reply.body["documents"], json!({"complete": false, "missing": ["passport|id_card", "driver_license"], "expiring_soon": []}));
        assert_eq!(codes(&reply.body), ["driver_license_missing"]);
        assert_eq!(reply.body["warnings"][0]["customer_id"], json!(bare));

        let reply = form(expired, &operator).await.expect(200);
        assert_eq!(reply.body["documents"], json!({"complete": false, "missing": ["passport|id_card", "driver_license"], "expiring_soon": []}));
        assert_eq!(codes(&reply.body), ["driver_license_expired"]);

        let reply = form(soon, &operator).await.expect(200);
        assert_eq!(reply.body["documents"], json!({"complete": true, "missing": [], "expiring_soon": ["driver_license"]}));
        assert_eq!(reply.body["warnings"], json!([]), "still valid today");

        for refused in [&driver, &partner] {
            form(ready, refused).await.problem(403, "forbidden");
        }
        form(CustomerId::new(), &operator).await.problem(404, "not_found");
    }

    async fn another_tenants_orders_are_not_found(app: &TestApp) {
        let tenant_a = app.tenant().await;
        let tenant_b = app.tenant().await;
        let admin_a = app.user(tenant_a, "admin").await;
        let admin_b = app.user(tenant_b, "admin").await;
        let driver_a = app.user(tenant_a, "driver").await;
        let driver_b = app.user(tenant_b, "driver").await;
        let customer_a = licensed(app, &admin_a, "Mario", "Rossi", "U1234567X").await;
        blacklist(app, &admin_a, customer_a).await;
        let waiting = with(order(customer_a), json!({"request_override": true, "driver_id": driver_a.user_id.unwrap()}));
        let id = order_id(&app.post("/api/v1/orders", &admin_a, waiting).await.expect(201));
        let path = format!("/api/v1/orders/{id}");

        for nobody in [id, Uuid::now_v7()] {
            let path = format!("/api/v1/orders/{nobody}");
            for reply in [
                app.get(&path, &admin_b).await,
                app.patch(&path, &admin_b, json!({"status": "cancelled"})).await,
                app.post(&format!("{path}/approve-override"), &admin_b, json!({"reason": "mine now"})).await,
                app.get(&path, &driver_b).await,
            ] {
                assert_eq!(reply.problem(404, "not_found").body["detail"], "order not found");
            }
        }
        let foreign = app.post("/api/v1/orders", &admin_b, order(customer_a)).await;
        assert_eq!(foreign.problem(422, "validation_failed").fields(), [("customer_id".into(), "unknown_reference".into())]);
        let customer_b = licensed(app, &admin_b, "Bruno", "Bianchi", "B1000001").await;
        let foreign_driver = with(order(customer_b), json!({"driver_id": driver_a.user_id.unwrap()}));
        let reply = app.post("/api/v1/orders", &admin_b, foreign_driver).await;
        assert_eq!(reply.problem(422, "validation_failed").fields(), [("driver_id".into(), "unknown_reference".into())]);
        let foreign_second = with(order(customer_b), json!({"second_driver_id": customer_a}));
        let reply = app.post("/api/v1/orders", &admin_b, foreign_second).await;
        assert_eq!(reply.problem(422, "validation_failed").fields(), [("second_driver_id".into(), "unknown_reference".into())]);
        app.get(&format!("/api/v1/customers/{customer_a}/orders"), &admin_b).await.problem(404, "not_found");
        app.get(&format!("/api/v1/customers/{customer_a}/order-form"), &admin_b).await.problem(404, "not_found");

        let untouched = app.get(&path, &admin_a).await.expect(200);
        assert_eq!(untouched.body["status"], "awaiting_override");
        assert_eq!(untouched.body["version"], 1);
        assert!(orders_of(app, &admin_b, customer_b).await.is_empty());
    }
}

http_test! {
    async fn approving_an_override_without_a_reason_names_the_reason_field(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let customer = app.client(&admin, "Mario", "Rossi").await;
        blacklist(app, &admin, customer).await;
        let requested = app.post("/api/v1/orders", &admin, with(order(customer), json!({"request_override": true}))).await.expect(201);
        let reply = app.post(&format!("/api/v1/orders/{}/approve-override", order_id(&requested)), &admin, json!({})).await;
        assert_eq!(reply.problem(422, "validation_failed").fields(), [("reason".into(), "required".into())]);
    }
}

http_test! {
    async fn a_global_match_at_order_time_gives_the_customer_the_global_badge(app: &TestApp) {
        let tenant_a = app.tenant().await;
        let tenant_b = app.tenant().await;
        let admin_a = app.user(tenant_a, "admin").await;
        let operator_b = app.user(tenant_b, "operator").await;
        let body = json!({"first_name": "Nicolo", "last_name": "De Rossi", "birth_date": "1980-02-29"});
        let customer = app.post("/api/v1/customers", &operator_b, body).await.expect(201).id();
        let flagged = app.post("/api/v1/customers", &admin_a, json!({
            "first_name": "Nicolò", "last_name": "De Rossi", "birth_date": "1980-02-29"
        })).await.expect(201).id();
        let flag = json!({"scope": "global", "reason_code": "chargeback"});
        app.post(&format!("/api/v1/customers/{flagged}/blacklist"), &admin_a, flag).await.expect(201);

        app.post("/api/v1/orders", &operator_b, order(customer)).await.problem(409, "customer_blacklisted");
        // README: a match "answers warnings ... and the `global` badge"; the badge is "matched at the last check".
        let fetched = app.get(&format!("/api/v1/customers/{customer}"), &operator_b).await.expect(200);
        assert_eq!(fetched.body["blacklist"], json!({"status": "global"}));
        assert_eq!(ids(&app.get("/api/v1/customers?blacklisted=true", &operator_b).await.expect(200)), vec![customer]);
    }
}

http_test! {
    async fn a_driver_cannot_learn_vip_or_blacklist_status_through_list_filters(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let driver = app.user(tenant, "driver").await;
        let assigned = json!({"driver_id": driver.user_id.unwrap()});
        let vip = app.post("/api/v1/customers", &admin, json!({"first_name": "Very", "last_name": "Important", "vip": true})).await.expect(201).id();
        let flagged = app.client(&admin, "Black", "Listed").await;
        let plain = app.client(&admin, "Plain", "Renter").await;
        blacklist(app, &admin, flagged).await;
        app.post("/api/v1/orders", &admin, with(order(vip), assigned.clone())).await.expect(201);
        let overridden = with(order(flagged), json!({"driver_id": driver.user_id.unwrap(), "override": {"reason": "Known"}}));
        app.post("/api/v1/orders", &admin, overridden).await.expect(201);
        app.post("/api/v1/orders", &admin, with(order(plain), assigned)).await.expect(201);
        let all = ids(&app.get("/api/v1/customers", &driver).await.expect(200));
        assert_eq!(all, vec![plain, flagged, vip]);

        for filter in ["vip=true", "vip=false", "blacklisted=true", "blacklisted=false"] {
            let reply = app.get(&format!("/api/v1/customers?{filter}"), &driver).await;
            // Refusing the filter, or ignoring it, are both fine; answering it is not.
            if reply.status.is_success() {
                assert_eq!(ids(&reply), all, "{filter} tells the driver something");
            } else {
                assert!(matches!(reply.status.as_u16(), 400 | 403), "{filter}: {}", reply.status);
            }
        }
    }
}
