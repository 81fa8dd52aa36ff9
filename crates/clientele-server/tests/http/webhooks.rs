//! Webhooks: every change reaches the endpoints that subscribe to it, signed as Standard Webhooks
//! receivers verify, in order per customer, retried, and visible attempt by attempt.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Session, TestApp, test_webhooks};
use crate::receiver::{Received, Receiver};

/// Adds an endpoint for `url` subscribed to `events`; its id and secret.
async fn endpoint(app: &TestApp, admin: &Session, url: &str, events: Value) -> (String, String) {
    let made = app.post("/api/v1/webhooks", admin, json!({"url": url, "events": events})).await.expect(201);
    let secret = made.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{}", made.body);
    (made.body["id"].as_str().unwrap().to_owned(), secret)
}

/// An endpoint's deliveries, once `done` holds for them (waiting as [`Receiver::wait`] does).
async fn deliveries(app: &TestApp, admin: &Session, id: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let (mut last, mut since) = (String::new(), std::time::Instant::now());
    loop {
        let page = app.get(&format!("/api/v1/webhooks/{id}/deliveries?limit=200"), admin).await.expect(200);
        let items = page.body["items"].as_array().unwrap().clone();
        if done(&items) {
            return items;
        }
        let now = page.body.to_string();
        if now != last {
            (last, since) = (now, std::time::Instant::now());
        }
        assert!(since.elapsed() < Duration::from_secs(60), "no change in a minute: {}", page.body);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn types(received: &[Received]) -> Vec<String> {
    received.iter().map(|r| r.event_type().to_owned()).collect()
}

http_test! {
    async fn changes_reach_a_subscribed_endpoint_signed_so_that_the_official_library_verifies_them(app: &TestApp) {
        let receiver = Receiver::start().await;
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let (_, secret) = endpoint(app, &admin, &receiver.url("/ok"), json!(["customer.created", "customer.updated"])).await;
        let id = app.post("/api/v1/customers", &admin, json!({
            "first_name": "Nicolò", "last_name": "Rossi", "phone": "333 123 4567",
            "driver_license": {"number": "U1234567A", "issued_on": "2015-01-01", "expires_on": "2035-01-01"},
            "notes": ["pays cash, never late"]
        })).await.expect(201).id();
        app.patch(&format!("/api/v1/customers/{id}"), &admin, json!({"email": "nicolo@example.com", "language": "it"})).await.expect(200);
        // Not subscribed: no message.
        app.post(&format!("/api/v1/customers/{id}/notes"), &admin, json!({"body": "called back"})).await.expect(201);

        let got = receiver.wait("/ok", |r| r.len() >= 2).await;
        assert_eq!(types(&got), ["customer.created", "customer.updated"]);
        for message in &got {
            assert!(message.verifies_with(&secret), "the official library verifies {}", message.id());
            assert!(!message.verifies_with("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "and refuses another secret");
            assert_eq!(message.headers["content-type"], "application/json");
            let body = &message.body;
            assert!(body["timestamp"].is_string() && body["data"]["event_id"] == json!(message.id()), "{body}");
            let customer = &body["data"]["customer"];
            assert_eq!(customer["id"], json!(id));
            assert_eq!(customer["blacklist"], json!({"status": "none"}));
            assert!(customer["driver_license"].get("number").is_none(), "no document numbers leave: {customer}");
            assert_eq!(customer["driver_license"]["expires_on"], "2035-01-01");
            assert!(!message.raw.windows(10).any(|w| w == b"pays cash,"), "no notes leave");
        }
        assert_eq!(got[1].body["data"]["changed_fields"], json!(["email", "language"]));
        assert_eq!(got[1].body["data"]["actor"]["role"], "admin");
        assert_eq!(got[1].body["data"]["customer"]["version"], 2);
    }

    async fn every_kind_of_change_publishes_its_event_and_imports_publish_theirs_in_their_batches(app: &TestApp) {
        let receiver = Receiver::start().await;
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        endpoint(app, &admin, &receiver.url("/ok"), json!(["*"])).await;
        let id = app.post("/api/v1/customers", &admin, json!({"first_name": "Anna", "last_name": "Verdi", "birth_date": "1980-01-01"})).await.expect(201).id();
        let customer = format!("/api/v1/customers/{id}");
        app.patch(&customer, &admin, json!({"vip": true})).await.expect(200);
        app.post(&format!("{customer}/blacklist"), &admin, json!({"scope": "tenant", "reason_code": "misconduct", "note": "shouted at the clerk"})).await.expect(201);
        app.delete_with(&format!("{customer}/blacklist"), &admin, json!({"note": "apologised"})).await.expect(200);
        let order = app.post("/api/v1/orders", &admin, json!({
            "customer_id": id, "pickup_at": "2030-03-01T09:00:00Z", "return_at": "2030-03-04T09:00:00Z",
            "pickup_place": "Roma Termini", "return_place": "Roma Termini",
            "vehicle": {"plate": "AB123CD", "make": "Fiat", "model": "Panda"}, "payment_type": "credit_card"
        })).await.expect(201);
        let order_id = order.body["id"].as_str().unwrap().to_owned();
        app.patch(&format!("/api/v1/orders/{order_id}"), &admin, json!({"status": "active", "version": 1})).await.expect(200);
        let pdf = b"%PDF-1.4\n% licence\n%%EOF\n".to_vec();
        app.upload(&admin, id, "driver_license", &[("number", "U7654321B")], &pdf).await.expect(201);
        app.delete(&customer, &admin).await.expect(204);
        app.post(&format!("{customer}/restore"), &admin, json!({})).await.expect(200);
        let file = "First Name,Last Name\nLuca,Neri\nSara,Galli\nMarco,\n";
        let job = app.send(app.request(Method::POST, "/api/v1/imports", &admin).header("content-type", "text/csv").body(file)).await.expect(202);
        assert_eq!(job.body["status"], "queued");

        let kinds = [
            "customer.created", "customer.vip_changed", "customer.blacklisted", "customer.unblacklisted",
            "order.created", "order.status_changed", "document.uploaded", "customer.deleted", "customer.restored",
            "import.completed",
        ];
        // Anna's six, her order's two, her document's, two imported customers and the import.
        let got = receiver.wait("/ok", |r| r.len() >= 12).await;
        let seen = types(&got);
        for kind in kinds {
            assert!(seen.iter().any(|t| t == kind), "{kind} in {seen:?}");
        }
        assert_eq!(got.len(), 12, "{seen:?}");
        // One customer's events arrive in the order they were committed.
        let anna: Vec<&str> = got
            .iter()
            .filter(|m| m.body["data"]["customer"]["id"] == json!(id))
            .map(Received::event_type)
            .collect();
        assert_eq!(anna, ["customer.created", "customer.vip_changed", "customer.blacklisted", "customer.unblacklisted", "customer.deleted", "customer.restored"]);
        let blacklisted = got.iter().find(|m| m.event_type() == "customer.blacklisted").unwrap();
        assert_eq!(blacklisted.body["data"]["blacklist"], json!({"scope": "tenant", "reason_code": "misconduct"}));
        assert!(!String::from_utf8_lossy(&blacklisted.raw).contains("shouted"), "the blacklist note stays in the tenant");
        let status = got.iter().find(|m| m.event_type() == "order.status_changed").unwrap();
        assert_eq!(status.body["data"]["status_change"], json!({"from": "confirmed", "to": "active"}));
        let document = got.iter().find(|m| m.event_type() == "document.uploaded").unwrap();
        assert!(!String::from_utf8_lossy(&document.raw).contains("U7654321B"), "metadata only: {}", document.body);
        let imported: Vec<&Received> = got.iter().filter(|m| m.event_type() == "customer.created" && m.body["data"]["actor"]["role"] == "admin" && m.body["data"]["customer"]["id"] != json!(id)).collect();
        assert_eq!(imported.len(), 2, "a created event per imported customer, none for the refused row");
        let completed = got.iter().find(|m| m.event_type() == "import.completed").unwrap();
        assert_eq!((completed.body["data"]["import"]["created"].as_i64(), completed.body["data"]["import"]["failed"].as_i64()), (Some(2), Some(1)));
        // Every message once.
        let ids: HashSet<String> = got.iter().map(Received::id).collect();
        assert_eq!(ids.len(), got.len());
    }

    async fn failed_deliveries_are_retried_then_marked_failed_visible_and_replayable(app: &TestApp) {
        let receiver = Receiver::start().await;
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let (hook, _) = endpoint(app, &admin, &receiver.url("/fail"), json!(["customer.created"])).await;
        app.client(&admin, "Anna", "Rossi").await;
        let items = deliveries(app, &admin, &hook, |d| d.first().is_some_and(|d| d["status"] == "failed")).await;
        let delivery = &items[0];
        assert_eq!(delivery["attempts"], 4, "one attempt and three retries: {delivery}");
        let history = delivery["history"].as_array().unwrap();
        assert!(history.iter().all(|a| a["status_code"] == 500 && a["response_body"] == "boom"), "{delivery}");
        assert_eq!(receiver.at("/fail").len(), 4);
        let failed = app.get(&format!("/api/v1/webhooks/{hook}/deliveries?status=failed"), &admin).await.expect(200);
        assert_eq!(failed.body["items"].as_array().unwrap().len(), 1);
        app.get(&format!("/api/v1/webhooks/{hook}/deliveries?status=lost"), &admin).await.problem(400, "invalid_query");

        // Replayed: a fresh round of retries, every attempt kept.
        let id = delivery["id"].as_str().unwrap();
        let replay = app.request(Method::POST, &format!("/api/v1/webhooks/{hook}/deliveries/{id}/replay"), &admin);
        app.send(replay).await.expect(202);
        let items = deliveries(app, &admin, &hook, |d| d[0]["attempts"] == 8 && d[0]["status"] == "failed").await;
        assert_eq!(items[0]["history"][7]["attempt"], 8);
        let nothing = format!("/api/v1/webhooks/{hook}/deliveries/{}/replay", uuid::Uuid::now_v7());
        app.send(app.request(Method::POST, &nothing, &admin)).await.problem(404, "not_found");
        let audit = app.get("/api/v1/audit?action=webhook.delivery_replayed", &admin).await.expect(200);
        assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);
    }

    async fn gone_disables_at_once_and_redirects_are_not_followed(app: &TestApp) {
        let receiver = Receiver::start().await;
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let (gone, _) = endpoint(app, &admin, &receiver.url("/gone"), json!(["customer.created"])).await;
        let (moved, _) = endpoint(app, &admin, &receiver.url("/redirect"), json!(["customer.created"])).await;
        app.client(&admin, "Anna", "Rossi").await;
        let items = deliveries(app, &admin, &gone, |d| d.first().is_some_and(|d| d["status"] == "failed")).await;
        assert_eq!(items[0]["attempts"], 1, "410 ends it at once");
        let endpoint = app.get(&format!("/api/v1/webhooks/{gone}"), &admin).await.expect(200);
        assert_eq!(endpoint.body["enabled"], false);
        assert!(endpoint.body["disabled_reason"].as_str().unwrap().contains("410"), "{}", endpoint.body);
        let audit = app.get("/api/v1/audit?action=endpoint.disabled", &admin).await.expect(200);
        assert_eq!(audit.body["items"][0]["object_id"], json!(gone));
        // Disabled: a new change is not sent to it. Enabled again, it is.
        app.client(&admin, "Luca", "Neri").await;
        let moved_items = deliveries(app, &admin, &moved, |d| d.len() == 2 && d.iter().all(|d| d["status"] == "failed")).await;
        let attempt = &moved_items[0]["history"][0];
        assert_eq!(attempt["status_code"], 302);
        assert!(attempt["error"].as_str().unwrap().contains("not followed"), "{attempt}");
        assert!(receiver.at("/ok").is_empty(), "the redirect was not followed");
        assert_eq!(receiver.at("/gone").len(), 1);
        let enabled = app.patch(&format!("/api/v1/webhooks/{gone}"), &admin, json!({"enabled": true})).await.expect(200);
        assert_eq!((enabled.body["enabled"].as_bool(), &enabled.body["disabled_reason"]), (Some(true), &Value::Null));
    }

    async fn endpoints_are_checked_rotated_tested_and_deleted_by_admins_of_their_tenant_only(app: &TestApp) {
        let receiver = Receiver::start().await;
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let other_admin = app.user(app.tenant().await, "admin").await;
        let bad = app.post("/api/v1/webhooks", &admin, json!({"url": "ftp://example.com/x", "events": ["customer.exploded"]})).await;
        let fields: Vec<String> = bad.problem(422, "validation_failed").fields().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["url", "events.0"]);
        let unresolvable = app.post("/api/v1/webhooks", &admin, json!({"url": "http://nowhere.invalid/hook"})).await;
        assert!(unresolvable.problem(422, "validation_failed").body["errors"][0]["message"].as_str().unwrap().contains("does not resolve"));
        app.post("/api/v1/webhooks", &operator, json!({"url": receiver.url("/ok")})).await.problem(403, "forbidden");
        let (hook, first) = endpoint(app, &admin, &receiver.url("/ok"), json!(["*"])).await;
        let shown = app.get(&format!("/api/v1/webhooks/{hook}"), &admin).await.expect(200);
        assert!(shown.body.get("secret").is_none(), "the secret is shown once: {}", shown.body);
        assert!(!shown.body.to_string().contains(&first[6..]));
        app.get(&format!("/api/v1/webhooks/{hook}"), &other_admin).await.problem(404, "not_found");
        app.patch(&format!("/api/v1/webhooks/{hook}"), &other_admin, json!({"enabled": false})).await.problem(404, "not_found");
        assert_eq!(app.get("/api/v1/webhooks", &other_admin).await.expect(200).body["items"], json!([]));

        // A rotation: during the overlap both secrets sign; the ping shows in the deliveries.
        let rotated = app.post(&format!("/api/v1/webhooks/{hook}/rotate-secret"), &admin, json!({"overlap_seconds": 3600})).await.expect(200);
        let second = rotated.body["secret"].as_str().unwrap().to_owned();
        assert_ne!(second, first);
        let ping = app.post(&format!("/api/v1/webhooks/{hook}/test"), &admin, json!({})).await.expect(200);
        assert_eq!((ping.body["status"].as_str(), ping.body["event_type"].as_str()), (Some("succeeded"), Some("ping")));
        let got = receiver.wait("/ok", |r| !r.is_empty()).await;
        assert!(got[0].verifies_with(&first) && got[0].verifies_with(&second), "both secrets sign during the overlap");
        assert_eq!(got[0].headers["webhook-signature"].to_str().unwrap().split(' ').count(), 2);
        // Without an overlap, only the new one.
        let third = app.post(&format!("/api/v1/webhooks/{hook}/rotate-secret"), &admin, json!({"overlap_seconds": 0})).await.expect(200);
        let third = third.body["secret"].as_str().unwrap().to_owned();
        app.post(&format!("/api/v1/webhooks/{hook}/test"), &admin, json!({})).await.expect(200);
        let got = receiver.wait("/ok", |r| r.len() == 2).await;
        assert!(got[1].verifies_with(&third) && !got[1].verifies_with(&second));
        let listed = deliveries(app, &admin, &hook, |d| d.len() == 2).await;
        assert!(listed.iter().all(|d| d["event_type"] == "ping" && d["status"] == "succeeded"));

        // A stale version is refused; a good change is audited; deleting removes it.
        app.patch(&format!("/api/v1/webhooks/{hook}"), &admin, json!({"description": "CRM", "version": 1})).await.problem(409, "version_conflict");
        let changed = app.patch(&format!("/api/v1/webhooks/{hook}"), &admin, json!({"description": "CRM", "events": ["customer.created", "customer.created"]})).await.expect(200);
        assert_eq!(changed.body["events"], json!(["customer.created"]));
        app.delete(&format!("/api/v1/webhooks/{hook}"), &admin).await.expect(204);
        app.get(&format!("/api/v1/webhooks/{hook}"), &admin).await.problem(404, "not_found");
        let audit = app.get("/api/v1/audit?action=webhook.secret_rotated", &admin).await.expect(200);
        assert_eq!(audit.body["items"].as_array().unwrap().len(), 2);
        let audit = app.get("/api/v1/audit", &admin).await.expect(200).body.to_string();
        assert!(!audit.contains(&second[6..]) && !audit.contains(&first[6..]), "secrets never reach the audit log");
    }
}

http_test! {
    async fn two_servers_on_one_database_deliver_each_event_once_per_endpoint(app: &TestApp) {
        let receiver = Receiver::start().await;
        let twin = app.twin(clientele_store::StoreOptions::default()).await;
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        endpoint(app, &admin, &receiver.url("/ok"), json!(["customer.created"])).await;
        endpoint(app, &admin, &receiver.url("/also-ok"), json!(["customer.created"])).await;
        // Changes made through both servers; both dispatchers share the deliveries.
        let mut ids = Vec::new();
        for i in 0..60 {
            let server = if i % 2 == 0 { app } else { &twin };
            ids.push(server.client(&admin, "Anna", &format!("Rossi{i}")).await.to_string());
        }
        for path in ["/ok", "/also-ok"] {
            let got = receiver.wait(path, |r| r.len() >= 60).await;
            let customers: HashSet<String> = got.iter().map(|m| m.body["data"]["customer"]["id"].as_str().unwrap().to_owned()).collect();
            assert_eq!(customers, ids.iter().cloned().collect::<HashSet<_>>(), "{path}: every customer's event");
            let messages: HashSet<String> = got.iter().map(Received::id).collect();
            assert_eq!(messages.len(), got.len(), "{path}: no message twice");
        }
        drop(twin);
    }
}

/// Tests with their own webhook settings, on both backends.
macro_rules! webhook_test {
    ($(async fn $name:ident($app:ident: &TestApp) with $tweak:expr; $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn check($app: &TestApp) $body

            #[tokio::test]
            async fn sqlite() {
                check(&TestApp::sqlite_with($tweak).await).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(app) = TestApp::postgres_with($tweak).await {
                    check(&app).await;
                }
            }
        }
    )*};
}

webhook_test! {
    async fn slow_receivers_time_out_and_big_or_endless_answers_cost_a_kilobyte(app: &TestApp)
    with |config: &mut clientele_core::AppConfig| {
        // The receivers here never answer in time: the test controls the slow side.
        config.webhooks.timeout = Duration::from_secs(1);
        config.webhooks.retries = Vec::new();
    };
    {
        let receiver = Receiver::start().await;
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let (slow, _) = endpoint(app, &admin, &receiver.url("/slow"), json!(["customer.created"])).await;
        let (big, _) = endpoint(app, &admin, &receiver.url("/big"), json!(["customer.created"])).await;
        let (endless, _) = endpoint(app, &admin, &receiver.url("/endless"), json!(["customer.created"])).await;
        app.client(&admin, "Anna", "Rossi").await;
        let slow = deliveries(app, &admin, &slow, |d| d.first().is_some_and(|d| d["status"] == "failed")).await;
        assert!(slow[0]["history"][0]["error"].as_str().unwrap().contains("no answer within 1.0 s"), "{}", slow[0]);
        let big = deliveries(app, &admin, &big, |d| d.first().is_some_and(|d| d["status"] == "succeeded")).await;
        assert_eq!(big[0]["history"][0]["response_body"].as_str().unwrap().len(), 1024, "a kilobyte of ten megabytes kept");
        let endless = deliveries(app, &admin, &endless, |d| d.first().is_some_and(|d| d["status"] != "pending")).await;
        assert_eq!(endless[0]["status"], "succeeded", "the answer's status counts: {}", endless[0]);
    }

    async fn private_addresses_are_refused_when_an_endpoint_is_made_or_changed_and_when_it_is_sent_to(app: &TestApp)
    with |config: &mut clientele_core::AppConfig| {
        config.webhooks = test_webhooks(false);
        config.webhooks.retries = Vec::new();
    };
    {
        let receiver = Receiver::start().await;
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        for url in [receiver.url("/ok"), "http://localhost/ok".to_owned(), "http://169.254.169.254/latest/meta-data".into(), "http://[::1]/x".into(), "http://10.0.0.8/x".into()] {
            let refused = app.post("/api/v1/webhooks", &admin, json!({"url": url})).await.problem(422, "validation_failed");
            assert!(refused.body["errors"][0]["message"].as_str().unwrap().contains("private network"), "{url}: {}", refused.body);
        }
        // An endpoint made when its host was public now points at loopback (DNS rebinding, or
        // a change in the resolver): refused at delivery too, and the receiver hears nothing.
        let made = made_directly(app, tenant, &receiver.url("/ok").replace("127.0.0.1", "localhost")).await;
        let changed = app.patch(&format!("/api/v1/webhooks/{made}"), &admin, json!({"url": "http://192.168.1.10/hook"})).await;
        changed.problem(422, "validation_failed");
        app.client(&admin, "Anna", "Rossi").await;
        let items = deliveries(app, &admin, &made, |d| d.first().is_some_and(|d| d["status"] == "failed")).await;
        let error = items[0]["history"][0]["error"].as_str().unwrap();
        assert!(error.contains("private or reserved"), "{error}");
        assert!(receiver.at("/ok").is_empty());
    }

    async fn a_failing_customer_holds_back_only_its_own_later_events(app: &TestApp)
    with |config: &mut clientele_core::AppConfig| {
        // A failed first attempt waits an hour for its retry: the test replays it when it wants.
        config.webhooks.retries = vec![Duration::from_secs(3600)];
    };
    {
        let receiver = Receiver::start().await;
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let path = "/fail-for/Stuckmann";
        let (hook, _) = endpoint(app, &admin, &receiver.url(path), json!(["*"])).await;
        let stuck = app.client(&admin, "Hans", "Stuckmann").await;
        app.patch(&format!("/api/v1/customers/{stuck}"), &admin, json!({"language": "de"})).await.expect(200);
        for name in ["Rossi", "Bianchi", "Verdi"] {
            let id = app.client(&admin, "Anna", name).await;
            app.patch(&format!("/api/v1/customers/{id}"), &admin, json!({"language": "it"})).await.expect(200);
        }
        let about_stuck = |m: &Received| String::from_utf8_lossy(&m.raw).contains("Stuckmann");
        // Everybody else's six events arrive while Stuckmann's creation waits for its retry.
        let got = receiver.wait(path, |r| r.iter().filter(|m| !about_stuck(m)).count() == 6).await;
        let stuck_events: Vec<&str> = got.iter().filter(|m| about_stuck(m)).map(Received::event_type).collect();
        assert_eq!(stuck_events, ["customer.created"], "its update waits behind its creation");
        // The receiver's answers are recorded a moment after it got them: wait for the six.
        let succeeded = |d: &[Value]| d.iter().filter(|d| d["status"] == "succeeded").count();
        let items = deliveries(app, &admin, &hook, |d| d.len() == 8 && succeeded(d) == 6).await;
        let pending: Vec<&Value> = items.iter().filter(|d| d["status"] == "pending").collect();
        assert_eq!(pending.len(), 2, "the creation (retrying) and the update (waiting its turn)");
        let update = pending.iter().find(|d| d["event_type"] == "customer.updated").unwrap();
        assert_eq!(update["attempts"], 0, "the update was never tried: {update}");
        // Healed and retried now: the creation goes, then the update.
        receiver.heal();
        let created = pending.iter().find(|d| d["event_type"] == "customer.created").unwrap()["id"].as_str().unwrap().to_owned();
        app.send(app.request(Method::POST, &format!("/api/v1/webhooks/{hook}/deliveries/{created}/replay"), &admin)).await.expect(202);
        let got = receiver.wait(path, |r| r.iter().filter(|m| about_stuck(m)).count() == 3).await;
        let stuck_events: Vec<&str> = got.iter().filter(|m| about_stuck(m)).map(Received::event_type).collect();
        assert_eq!(stuck_events, ["customer.created", "customer.created", "customer.updated"]);
    }

    async fn an_endpoint_whose_every_delivery_failed_for_the_configured_time_is_disabled(app: &TestApp)
    with |config: &mut clientele_core::AppConfig| {
        config.webhooks.disable_after = Duration::from_millis(1);
    };
    {
        let receiver = Receiver::start().await;
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let (hook, _) = endpoint(app, &admin, &receiver.url("/fail"), json!(["*"])).await;
        app.client(&admin, "Anna", "Rossi").await;
        deliveries(app, &admin, &hook, |d| d.first().is_some_and(|d| d["status"] != "pending")).await;
        let shown = app.get(&format!("/api/v1/webhooks/{hook}"), &admin).await.expect(200);
        assert_eq!(shown.body["enabled"], false, "{}", shown.body);
        assert!(shown.body["disabled_reason"].as_str().unwrap().starts_with("every delivery failed for"));
        let audit = app.get("/api/v1/audit?action=endpoint.disabled", &admin).await.expect(200);
        assert_eq!(audit.body["items"][0]["actor_role"], "cli");
    }
}

webhook_test! {
    async fn a_receiver_that_is_down_or_a_host_that_does_not_resolve_is_retried_then_failed_with_the_reason(app: &TestApp)
    with |config: &mut clientele_core::AppConfig| {
        config.webhooks.retries = vec![Duration::from_millis(50); 2];
    };
    {
        // A port nobody listens on: bound, then let go.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let (down, _) = endpoint(app, &admin, &format!("http://{closed}/hook"), json!(["customer.created"])).await;
        // Resolved when the endpoint was made, gone from DNS since.
        let nowhere = made_directly(app, tenant, "http://nowhere.invalid/hook").await;
        app.client(&admin, "Anna", "Rossi").await;
        for (hook, expected) in [(&down, "could not connect"), (&nowhere, "does not resolve")] {
            let items = deliveries(app, &admin, hook, |d| d.iter().any(|d| d["status"] == "failed")).await;
            let failed = items.iter().find(|d| d["status"] == "failed").unwrap();
            assert_eq!(failed["attempts"], 3, "one attempt and two retries: {failed}");
            for attempt in failed["history"].as_array().unwrap() {
                assert_eq!(attempt["status_code"], Value::Null, "{attempt}");
                assert!(attempt["error"].as_str().unwrap().contains(expected), "{expected}: {attempt}");
            }
        }
    }

    async fn events_past_the_retention_are_purged_once_every_delivery_of_theirs_has_ended(app: &TestApp)
    with |config: &mut clientele_core::AppConfig| {
        config.webhooks.retention = Duration::from_millis(1);
        // A failed first attempt waits an hour for its retry: its delivery stays pending.
        config.webhooks.retries = vec![Duration::from_secs(3600)];
    };
    {
        let receiver = Receiver::start().await;
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let path = "/fail-for/Stuckmann";
        let (hook, _) = endpoint(app, &admin, &receiver.url(path), json!(["customer.created"])).await;
        app.client(&admin, "Anna", "Rossi").await;
        app.client(&admin, "Hans", "Stuckmann").await;
        // Not subscribed to: no delivery waits for it, and it is old at once.
        let id = app.client(&admin, "Luca", "Neri").await;
        app.patch(&format!("/api/v1/customers/{id}"), &admin, json!({"language": "it"})).await.expect(200);
        deliveries(app, &admin, &hook, |d| {
            d.len() == 3 && d.iter().filter(|d| d["status"] == "succeeded").count() == 2
                && d.iter().any(|d| d["status"] == "pending" && d["attempts"] == 1)
        })
        .await;
        // The dispatcher purges on its own as well: whichever comes first, the end is the same.
        app.app.purge_outbox().await.unwrap();
        let left = app.get(&format!("/api/v1/webhooks/{hook}/deliveries"), &admin).await.expect(200);
        let left = left.body["items"].as_array().unwrap();
        assert_eq!(left.len(), 1, "only the pending delivery is kept: {left:?}");
        assert_eq!((&left[0]["status"], &left[0]["event_type"]), (&json!("pending"), &json!("customer.created")));
        let status = app.app.outbox_status().await.unwrap();
        assert_eq!((status.events, status.pending), (1, 1), "the pending delivery's event is kept, the rest purged");
        // Retried and delivered, it goes too.
        receiver.heal();
        let pending = left[0]["id"].as_str().unwrap();
        app.send(app.request(Method::POST, &format!("/api/v1/webhooks/{hook}/deliveries/{pending}/replay"), &admin)).await.expect(202);
        deliveries(app, &admin, &hook, |d| d.is_empty() || d[0]["status"] == "succeeded").await;
        app.app.purge_outbox().await.unwrap();
        assert_eq!(app.app.outbox_status().await.unwrap().events, 0);
    }
}

/// Stores an endpoint without the creation check (as if its host had been public then).
async fn made_directly(app: &TestApp, tenant: clientele_core::ids::TenantId, url: &str) -> String {
    use clientele_core::audit::entry::{AuditAction, AuditEntry};
    use clientele_core::webhooks::record::WebhookEndpoint;
    let id = clientele_core::ids::WebhookId::new();
    let vault = clientele_core::documents::vault::Vault::new(
        std::sync::Arc::new(object_store::memory::InMemory::new()),
        clientele_core::documents::vault::MasterKey::new(crate::harness::DOCUMENTS_MASTER_KEY).unwrap(),
        Vec::new(),
    );
    let secret = clientele_core::webhooks::signing::SigningSecret::generate().unwrap();
    let sealed = vault.seal_secret(tenant, &format!("webhook:{id}"), secret.reveal().as_bytes()).unwrap().to_text();
    let now = clientele_core::time::Timestamp::now();
    let endpoint = WebhookEndpoint {
        id,
        tenant_id: tenant,
        url: url.to_owned(),
        events: vec!["*".into()],
        description: None,
        enabled: true,
        disabled_reason: None,
        failing_since: None,
        previous_secret_until: None,
        created_at: now,
        created_by: None,
        updated_at: now,
        version: 1,
        sealed_secret: sealed,
        sealed_previous_secret: None,
    };
    let actor = clientele_core::accounts::auth::Actor::command_line(tenant);
    let audit = AuditEntry::new(&actor, tenant, AuditAction::WebhookCreated, "webhook", id, None);
    app.app.store().insert_webhook(&endpoint, &audit).await.unwrap();
    id.to_string()
}
