//! Payment methods through Stripe over HTTP, against the local fake of Stripe: a card set up with
//! Stripe.js appears in the list, several per customer, the default, removal; Connect; only
//! existing live customers; drivers and partners refused and audited; webhooks verified,
//! applied once and in order; Stripe's failures as clear problems; settings sealed; the
//! person's export; and a scan of everything kept, logged and answered for card data and keys.

use std::sync::{Arc, Mutex};

use std::time::Duration;

use clientele_core::ids::{CustomerId, TenantId};
use clientele_core::payments::StripeSettings;
use clientele_integrations::stripe::{HttpStripeApi, StripeClientOptions};
use clientele_integrations::testing::stripe::{
    ACCOUNT, FakeCard, FakeEvent, FakeFailure, FakeStripe, PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Reply, Session, TestApp};

/// Declares tests `async fn name(app: &TestApp, fake: &FakeStripe) { ... }`, each run on both
/// backends with a fresh fake Stripe (a tenant's own account; `connect` for a connected one).
macro_rules! stripe_test {
    ($($(#[$meta:meta])* async fn $name:ident($app:ident: &TestApp, $fake:ident: &FakeStripe) $(on $connect:ident)? $body:block)*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn check($app: &TestApp, $fake: &FakeStripe) $body

            async fn fake() -> FakeStripe {
                stripe_test!(@fake $($connect)?)
            }

            #[tokio::test]
            async fn sqlite() {
                let fake = fake().await;
                check(&TestApp::sqlite_with(options(&fake)).await, &fake).await;
            }

            #[tokio::test]
            async fn postgres() {
                let fake = fake().await;
                if let Some(app) = TestApp::postgres_with(options(&fake)).await {
                    check(&app, &fake).await;
                }
            }
        }
    )*};
    (@fake) => { FakeStripe::start().await };
    (@fake connect) => { FakeStripe::connect().await };
}

fn options(fake: &FakeStripe) -> impl FnOnce(&mut clientele_core::AppConfig) {
    let client = HttpStripeApi::new(StripeClientOptions {
        base_url: fake.base_url.clone(),
        timeout: Duration::from_secs(30),
        max_retries: 2,
        retry_delay: Duration::from_millis(5),
    })
    .unwrap();
    let js_url = fake.js_url();
    move |config| {
        config.stripe = StripeSettings {
            api: Some(Arc::new(client)),
            platform_secret_key: Some(SECRET_KEY.into()),
            platform_publishable_key: Some(PUBLISHABLE_KEY.into()),
            list_cache: Duration::from_secs(5),
            js_url,
        }
    }
}

/// A tenant with Stripe set up on its own key, its admin and operator, and a customer.
struct Desk {
    tenant: TenantId,
    admin: Session,
    operator: Session,
    customer: CustomerId,
}

fn own_key() -> Value {
    json!({"mode": "own_key", "secret_key": SECRET_KEY, "publishable_key": PUBLISHABLE_KEY, "webhook_secret": WEBHOOK_SECRET})
}

async fn desk(app: &TestApp, settings: Value) -> Desk {
    let tenant = app.tenant().await;
    let admin = app.user(tenant, "admin").await;
    let operator = app.user(tenant, "operator").await;
    app.patch("/api/v1/settings/stripe", &admin, settings).await.expect(200);
    let body =
        json!({"first_name": "Nicolò", "last_name": "Rossi", "email": "nicolo@example.com", "phone": "333 123 4567"});
    let customer = app.post("/api/v1/customers", &operator, body).await.expect(201).id();
    Desk { tenant, admin, operator, customer }
}

fn methods(desk: &Desk) -> String {
    format!("/api/v1/customers/{}/payment-methods", desk.customer)
}

/// Posts `payload` to the Stripe webhook with `signature`; `tenant` in the URL when given.
async fn post_event(app: &TestApp, tenant: Option<TenantId>, payload: &str, signature: &str) -> Reply {
    let query = tenant.map(|t| format!("?tenant={t}")).unwrap_or_default();
    let url = format!("{}/api/v1/integrations/stripe/webhook{query}", app.base);
    let request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .header("stripe-signature", signature)
        .body(payload.to_owned());
    app.send(request).await
}

/// Delivers `event` as Stripe would, signed now with the test secret; answers the outcome.
async fn deliver(app: &TestApp, tenant: TenantId, event: &FakeEvent) -> String {
    let reply =
        post_event(app, Some(tenant), &event.payload, &FakeStripe::sign(&event.payload, &[WEBHOOK_SECRET])).await;
    reply.expect(200).body["outcome"].as_str().unwrap().to_owned()
}

/// Sets a card up as the browser would (setup, Stripe.js confirms, Stripe's webhooks arrive);
/// answers its payment method id.
async fn add_card(app: &TestApp, fake: &FakeStripe, desk: &Desk, card: &FakeCard) -> String {
    let setup = app.post(&format!("{}/setup", methods(desk)), &desk.operator, json!({})).await.expect(200);
    let events = fake.confirm_setup(setup.body["client_secret"].as_str().unwrap(), card);
    for event in &events {
        assert_eq!(deliver(app, desk.tenant, event).await, "processed", "{}", event.event_type);
    }
    let attached = events.iter().find(|e| e.event_type == "payment_method.attached").expect("attached");
    serde_json::from_str::<Value>(&attached.payload).unwrap()["data"]["object"]["id"].as_str().unwrap().to_owned()
}

/// The payment-method events in the outbox, oldest first.
async fn outbox(app: &TestApp) -> Vec<String> {
    app.db()
        .texts("SELECT event_type FROM outbox_events WHERE event_type LIKE 'customer.payment_method%' ORDER BY occurred_at, seq")
        .await
}

/// `(action, outcome, role)` of the tenant's payment audit entries, oldest first.
async fn payment_audit(app: &TestApp, tenant: TenantId) -> Vec<clientele_core::audit::entry::AuditEntry> {
    let query = clientele_core::audit::store::AuditQuery { limit: 1000, ..Default::default() };
    let mut entries = app.app.store().list_audit(tenant, &query).await.unwrap();
    entries.retain(|e| e.action.starts_with("payment_methods."));
    entries.reverse();
    entries
}

stripe_test! {
    async fn a_card_set_up_with_stripe_js_appears_in_the_list_and_several_live_side_by_side(app: &TestApp, fake: &FakeStripe) {
        let desk = desk(app, own_key()).await;
        let setup = app.post(&format!("{}/setup", methods(&desk)), &desk.operator, json!({})).await.expect(200);
        assert_eq!(setup.body["publishable_key"], PUBLISHABLE_KEY);
        assert_eq!(setup.body["stripe_account"], Value::Null);
        assert_eq!(setup.body["customer_id"], json!(desk.customer));
        assert!(setup.body["client_secret"].as_str().unwrap().contains("_secret_"));
        // The Stripe customer: made once, with the customer's name, email, phone and ids.
        let requests = fake.requests();
        let made = requests.iter().find(|r| r.path == "/v1/customers").unwrap();
        assert_eq!(made.field("name"), Some("Nicolò Rossi"));
        assert_eq!(made.field("email"), Some("nicolo@example.com"));
        assert_eq!(made.field("phone"), Some("+393331234567"));
        assert_eq!(made.field("metadata[clientele_id]"), Some(desk.customer.to_string().as_str()));
        assert_eq!(made.field("metadata[clientele_tenant_id]"), Some(desk.tenant.to_string().as_str()));
        let intent = requests.iter().find(|r| r.path == "/v1/setup_intents").unwrap();
        assert_eq!(intent.field("usage"), Some("off_session"));
        assert_eq!(intent.field("automatic_payment_methods[enabled]"), Some("true"));
        assert!(requests.iter().filter(|r| r.method == "POST").all(|r| r.idempotency_key.is_some()));

        // Nothing is listed until Stripe.js confirms.
        assert_eq!(app.get(&methods(&desk), &desk.operator).await.expect(200).body["items"], json!([]));
        let events = fake.confirm_setup(setup.body["client_secret"].as_str().unwrap(), &FakeCard::visa());
        for event in &events {
            assert_eq!(deliver(app, desk.tenant, event).await, "processed");
        }
        let listed = app.get(&methods(&desk), &desk.operator).await.expect(200);
        let visa = &listed.body["items"][0];
        assert_eq!(
            (visa["type"].as_str(), visa["brand"].as_str(), visa["last4"].as_str(), visa["exp_month"].as_u64(), visa["exp_year"].as_u64()),
            (Some("card"), Some("visa"), Some("4242"), Some(12), Some(2034))
        );
        assert_eq!((visa["country"].as_str(), visa["wallet"].clone(), visa["default"].as_bool()), (Some("US"), Value::Null, Some(false)));

        // A second card: one Stripe customer, two methods, newest first; the default chosen.
        let mastercard = add_card(app, fake, &desk, &FakeCard::mastercard()).await;
        assert_eq!(fake.customers().len(), 1);
        let listed = app.get(&methods(&desk), &desk.admin).await.expect(200);
        let brands: Vec<&str> = listed.body["items"].as_array().unwrap().iter().map(|m| m["brand"].as_str().unwrap()).collect();
        assert_eq!(brands, ["mastercard", "visa"]);
        let chosen = app.post(&format!("{}/{mastercard}/default", methods(&desk)), &desk.operator, json!({})).await.expect(200);
        let defaults: Vec<bool> = chosen.body["items"].as_array().unwrap().iter().map(|m| m["default"].as_bool().unwrap()).collect();
        assert_eq!(defaults, [true, false]);
        let update = fake.requests().into_iter().rev().find(|r| r.method == "POST" && r.path.starts_with("/v1/customers/")).unwrap();
        assert_eq!(update.field("invoice_settings[default_payment_method]"), Some(mastercard.as_str()));

        // Removing one detaches it in Stripe; the list (not a stale copy) shows the other.
        let visa_id = visa["id"].as_str().unwrap();
        app.delete(&format!("{}/{visa_id}", methods(&desk)), &desk.operator).await.expect(204);
        assert!(fake.requests().iter().any(|r| r.path == format!("/v1/payment_methods/{visa_id}/detach")));
        let left = app.get(&methods(&desk), &desk.operator).await.expect(200);
        assert_eq!(left.body["items"].as_array().unwrap().len(), 1);
        assert_eq!(left.body["items"][0]["id"], json!(mastercard));
        let detached = fake.detach_in_dashboard(&mastercard);
        assert_eq!(deliver(app, desk.tenant, &detached).await, "processed");

        // The outbox heard of each change, with ids and never card data.
        assert_eq!(
            outbox(app).await,
            [
                "customer.payment_method_setup_succeeded", "customer.payment_method_added",
                "customer.payment_method_setup_succeeded", "customer.payment_method_added",
                "customer.payment_method_removed",
            ]
        );
        let data = app.db().texts("SELECT data FROM outbox_events WHERE event_type = 'customer.payment_method_added'").await;
        let added: Value = serde_json::from_str(&data[0]).unwrap();
        assert_eq!(added["customer_id"], json!(desk.customer));
        assert_eq!(added["payment_method"]["type"], "card");
        assert_eq!(added["actor"]["role"], "stripe");
        for forbidden in ["4242", "last4", "brand", "exp_"] {
            assert!(!data.iter().any(|d| d.contains(forbidden)), "{forbidden} in {data:?}");
        }
    }

    async fn a_connected_account_is_called_with_stripe_account_and_its_events_find_their_tenant(app: &TestApp, fake: &FakeStripe) on connect {
        let desk = desk(app, json!({"mode": "connect", "connect_account_id": ACCOUNT, "webhook_secret": WEBHOOK_SECRET})).await;
        let settings = app.get("/api/v1/settings/stripe", &desk.admin).await.expect(200);
        assert_eq!(settings.body["configured"], true);
        assert_eq!(settings.body["publishable_key"], PUBLISHABLE_KEY);
        let setup = app.post(&format!("{}/setup", methods(&desk)), &desk.admin, json!({})).await.expect(200);
        assert_eq!(setup.body["stripe_account"], ACCOUNT);
        assert_eq!(setup.body["publishable_key"], PUBLISHABLE_KEY);
        assert!(fake.requests().iter().all(|r| r.stripe_account.as_deref() == Some(ACCOUNT)));
        let events = fake.confirm_setup(setup.body["client_secret"].as_str().unwrap(), &FakeCard::visa());
        // A Connect endpoint may leave the tenant out: the event's account names it.
        for event in &events {
            let signature = FakeStripe::sign(&event.payload, &[WEBHOOK_SECRET]);
            assert_eq!(post_event(app, None, &event.payload, &signature).await.expect(200).body["outcome"], "processed");
        }
        assert_eq!(app.get(&methods(&desk), &desk.operator).await.expect(200).body["items"][0]["last4"], "4242");
        // The account's events sent to another tenant's URL: refused, even with a matching secret.
        let other = app.tenant().await;
        let other_admin = app.user(other, "admin").await;
        app.patch("/api/v1/settings/stripe", &other_admin, own_key()).await.expect(200);
        let event = fake.custom_event("charge.succeeded", json!({"id": "ch_1", "object": "charge"}));
        let signature = FakeStripe::sign(&event.payload, &[WEBHOOK_SECRET]);
        post_event(app, Some(other), &event.payload, &signature).await.problem(400, "stripe_signature_invalid");
        assert_eq!(deliver(app, desk.tenant, &event).await, "ignored");
    }

    async fn only_an_existing_live_customer_of_a_tenant_with_stripe_reaches_stripe(app: &TestApp, fake: &FakeStripe) {
        let desk = desk(app, own_key()).await;
        let nobody = uuid::Uuid::now_v7();
        app.post(&format!("/api/v1/customers/{nobody}/payment-methods/setup"), &desk.operator, json!({})).await.problem(404, "not_found");
        app.get(&format!("/api/v1/customers/{nobody}/payment-methods"), &desk.operator).await.problem(404, "not_found");
        app.delete(&format!("/api/v1/customers/{nobody}/payment-methods/pm_123"), &desk.operator).await.problem(404, "not_found");
        app.post(&format!("/api/v1/customers/{nobody}/payment-methods/pm_123/default"), &desk.operator, json!({})).await.problem(404, "not_found");
        app.call(Method::DELETE, &format!("/api/v1/customers/{}", desk.customer), Some(&desk.operator), None).await.expect(204);
        app.post(&format!("{}/setup", methods(&desk)), &desk.operator, json!({})).await.problem(409, "customer_deleted");
        // A customer with no Stripe customer has no methods, and Stripe is not asked.
        assert_eq!(app.get(&methods(&desk), &desk.operator).await.expect(200).body["items"], json!([]));
        assert!(fake.requests().is_empty(), "Stripe was called: {:?}", fake.requests());

        // A tenant without Stripe: payments_not_configured, everywhere, without a call.
        let bare = app.tenant().await;
        let operator = app.user(bare, "operator").await;
        let customer = app.client(&operator, "Anna", "Bianchi").await;
        let path = format!("/api/v1/customers/{customer}/payment-methods");
        app.post(&format!("{path}/setup"), &operator, json!({})).await.problem(409, "payments_not_configured");
        app.get(&path, &operator).await.problem(409, "payments_not_configured");
        app.delete(&format!("{path}/pm_123"), &operator).await.problem(409, "payments_not_configured");
        app.post(&format!("{path}/pm_123/default"), &operator, json!({})).await.problem(409, "payments_not_configured");
        assert!(fake.requests().is_empty());
    }
}

stripe_test! {
    async fn drivers_and_partners_are_refused_every_attempt_is_audited_and_drivers_never_see_payment_fields(app: &TestApp, fake: &FakeStripe) {
        let desk = desk(app, own_key()).await;
        let pm = add_card(app, fake, &desk, &FakeCard::visa()).await;
        let driver = app.user(desk.tenant, "driver").await;
        let agency = app.partner_company(&desk.admin, "Agency").await;
        let partner = app.partner_user(desk.tenant, agency).await;
        let order = json!({
            "customer_id": desk.customer, "driver_id": driver.user_id.unwrap(),
            "pickup_at": clientele_core::time::Timestamp::now().add(Duration::from_secs(86_400)).to_string(),
            "return_at": clientele_core::time::Timestamp::now().add(Duration::from_secs(5 * 86_400)).to_string(),
            "pickup_place": "Roma", "return_place": "Roma",
            "vehicle": {"plate": "AB123CD", "make": "Fiat", "model": "Panda", "type": "car", "colour": "white"},
            "payment_type": "credit_card"
        });
        app.post("/api/v1/orders", &desk.operator, order).await.expect(201);
        let before = payment_audit(app, desk.tenant).await.len();
        let calls = fake.requests().len();
        let base = methods(&desk);
        let attempts = [
            (Method::POST, format!("{base}/setup"), "POST /api/v1/customers/{id}/payment-methods/setup", "payment_methods.setup"),
            (Method::GET, base.clone(), "GET /api/v1/customers/{id}/payment-methods", "payment_methods.viewed"),
            (Method::DELETE, format!("{base}/{pm}"), "DELETE /api/v1/customers/{id}/payment-methods/{pm_id}", "payment_methods.removed"),
            (Method::POST, format!("{base}/{pm}/default"), "POST /api/v1/customers/{id}/payment-methods/{pm_id}/default", "payment_methods.default_set"),
        ];
        let mut n = 0;
        for (role, session) in [("driver", &driver), ("partner", &partner)] {
            for (method, path, endpoint, action) in &attempts {
                n += 1;
                let request = app
                    .request(method.clone(), path, session)
                    .header("user-agent", format!("courier-phone/{n}"))
                    .header("x-request-id", format!("pay-{n}"));
                let request = if *method == Method::POST { request.json(&json!({})) } else { request };
                app.send(request).await.problem(403, "forbidden");
                let entries = payment_audit(app, desk.tenant).await;
                let entry = entries.last().unwrap();
                assert_eq!(entries.len(), before + n, "one entry per attempt");
                assert_eq!((entry.action.as_str(), entry.outcome.as_str(), entry.actor_role.as_str()), (*action, "denied", role));
                assert_eq!(entry.actor_id, session.user_id.map(|u| u.as_uuid()));
                assert_eq!(entry.customer_id, Some(desk.customer));
                assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"));
                assert_eq!(entry.user_agent, Some(format!("courier-phone/{n}")));
                assert_eq!(entry.request_id, Some(format!("pay-{n}")));
                let reason = entry.reason.clone().unwrap();
                assert!(reason.contains(endpoint) && reason.starts_with("forbidden"), "{reason}");
            }
        }
        assert_eq!(fake.requests().len(), calls, "a refused attempt never reaches Stripe");
        // Admins' and operators' accesses are logged as allowed.
        app.get(&base, &desk.admin).await.expect(200);
        let entry = payment_audit(app, desk.tenant).await.pop().unwrap();
        assert_eq!((entry.action.as_str(), entry.outcome.as_str(), entry.actor_role.as_str()), ("payment_methods.viewed", "allowed", "admin"));

        // The driver's view of the customer has no payment field at all, nor has anyone's.
        let seen = app.get(&format!("/api/v1/customers/{}", desk.customer), &driver).await.expect(200);
        let text = seen.body.to_string().to_lowercase();
        assert_eq!(seen.body["first_name"], "Nicolò");
        for word in ["payment", "stripe", "card", "last4", "brand", "cus_", "pm_"] {
            assert!(!text.contains(word), "{word} in the driver's view: {text}");
        }
        let full = app.get(&format!("/api/v1/customers/{}", desk.customer), &desk.admin).await.expect(200).body.to_string();
        assert!(!full.contains("stripe") && !full.contains("pm_") && !full.contains("4242"), "{full}");
    }

    async fn webhooks_are_verified_applied_once_and_in_order(app: &TestApp, fake: &FakeStripe) {
        let desk = desk(app, own_key()).await;
        let pm = add_card(app, fake, &desk, &FakeCard::visa()).await;
        let updated = fake.update_automatically(&pm, 2039);
        let signed = |payload: &str| FakeStripe::sign(payload, &[WEBHOOK_SECRET]);

        // Bad signature, another secret, outside the five minutes, no header, no tenant.
        let tampered = updated.payload.replace("2039", "2040");
        post_event(app, Some(desk.tenant), &tampered, &signed(&updated.payload)).await.problem(400, "stripe_signature_invalid");
        let foreign = FakeStripe::sign(&updated.payload, &["whsec_someone_elses_secret_000"]);
        post_event(app, Some(desk.tenant), &updated.payload, &foreign).await.problem(400, "stripe_signature_invalid");
        let now = clientele_core::time::Timestamp::now().unix_seconds();
        // Well outside the tolerance: a loaded machine may take seconds between here and the check.
        for stale in [now - 400, now + 400] {
            let old = FakeStripe::sign_at(&updated.payload, &[WEBHOOK_SECRET], stale);
            post_event(app, Some(desk.tenant), &updated.payload, &old).await.problem(400, "stripe_signature_invalid");
        }
        post_event(app, Some(desk.tenant), &updated.payload, "").await.problem(400, "stripe_signature_invalid");
        post_event(app, None, &updated.payload, &signed(&updated.payload)).await.problem(400, "stripe_signature_invalid");
        post_event(app, Some(TenantId::new()), &updated.payload, &signed(&updated.payload)).await.problem(400, "stripe_signature_invalid");
        assert!(!outbox(app).await.contains(&"customer.payment_method_updated".to_owned()), "nothing applied");

        // During a secret's rotation Stripe signs with both: one v1 matching is enough.
        let both = FakeStripe::sign(&updated.payload, &["whsec_the_old_secret_0000000", WEBHOOK_SECRET]);
        assert_eq!(post_event(app, Some(desk.tenant), &updated.payload, &both).await.expect(200).body["outcome"], "processed");
        // The same event again (a retry, a replay with a fresh signature): nothing more.
        assert_eq!(deliver(app, desk.tenant, &updated).await, "duplicate");
        assert_eq!(deliver(app, desk.tenant, &updated).await, "duplicate");
        let applied = app.db().texts("SELECT event_type FROM outbox_events WHERE event_type = 'customer.payment_method_updated'").await;
        assert_eq!(applied.len(), 1);

        // Out of order: a card removed in the dashboard, then re-added; Stripe delivers the
        // removal last. The older event is kept and answered, and publishes nothing.
        let detached = fake.detach_in_dashboard(&pm);
        let reattached = fake.custom_event("payment_method.attached", json!({"id": pm, "object": "payment_method", "type": "card", "customer": serde_json::from_str::<Value>(&detached.payload).unwrap()["data"]["previous_attributes"]["customer"]}));
        assert_eq!(deliver(app, desk.tenant, &reattached).await, "processed");
        assert_eq!(deliver(app, desk.tenant, &detached).await, "superseded");
        let last = outbox(app).await;
        assert_eq!(last.last().map(String::as_str), Some("customer.payment_method_added"), "{last:?}");
        assert!(!last.contains(&"customer.payment_method_removed".to_owned()));

        // Types Clientele does not act on, and other customers of the account: acknowledged.
        let other = fake.custom_event("charge.succeeded", json!({"id": "ch_1", "object": "charge"}));
        assert_eq!(deliver(app, desk.tenant, &other).await, "ignored");
        let stranger = fake.custom_event("payment_method.attached", json!({"id": "pm_x", "type": "card", "customer": "cus_elsewhere"}));
        assert_eq!(deliver(app, desk.tenant, &stranger).await, "ignored");
        assert_eq!(deliver(app, desk.tenant, &stranger).await, "duplicate");

        // A failed setup: its codes, never the card.
        let setup = app.post(&format!("{}/setup", methods(&desk)), &desk.operator, json!({})).await.expect(200);
        let failed = fake.confirm_setup(setup.body["client_secret"].as_str().unwrap(), &FakeCard::declined());
        assert_eq!(deliver(app, desk.tenant, &failed[0]).await, "processed");
        let data = app.db().texts("SELECT data FROM outbox_events WHERE event_type = 'customer.payment_method_setup_failed'").await;
        let failure: Value = serde_json::from_str(&data[0]).unwrap();
        assert_eq!(failure["error"], json!({"code": "card_declined", "decline_code": "generic_decline"}));
        let received = app.db().texts("SELECT outcome FROM stripe_events ORDER BY received_at").await;
        assert!(received.iter().all(|o| ["processed", "ignored", "superseded"].contains(&o.as_str())), "{received:?}");
    }

    async fn stripes_failures_are_retried_then_answered_as_clear_problems(app: &TestApp, fake: &FakeStripe) {
        let desk = desk(app, own_key()).await;
        let setup = format!("{}/setup", methods(&desk));
        // A lock timeout and a rate limit are retried with the same idempotency key.
        fake.fail_next([FakeFailure::lock_timeout(), FakeFailure::rate_limited()]);
        app.post(&setup, &desk.operator, json!({})).await.expect(200);
        let keys: Vec<Option<String>> = fake.requests().iter().filter(|r| r.path == "/v1/customers").map(|r| r.idempotency_key.clone()).collect();
        assert_eq!(keys.len(), 3);
        assert!(keys.iter().all(|k| k == &keys[0] && k.is_some()));
        assert_eq!(fake.customers().len(), 1);
        // Still failing after the retries: 503 stripe_unavailable.
        fake.fail_next([FakeFailure::server_error(), FakeFailure::server_error(), FakeFailure::server_error()]);
        app.post(&setup, &desk.operator, json!({})).await.problem(503, "stripe_unavailable");
        // Stripe says not to retry: one call, the same problem.
        let before = fake.requests().len();
        fake.fail_next([FakeFailure::server_error_not_to_retry()]);
        app.post(&setup, &desk.operator, json!({})).await.problem(503, "stripe_unavailable");
        assert_eq!(fake.requests().len(), before + 1);
        // A declined card.
        fake.fail_next([FakeFailure::card_declined("insufficient_funds")]);
        let declined = app.post(&setup, &desk.operator, json!({})).await.problem(402, "card_declined");
        assert_eq!(declined.body["decline_code"], "insufficient_funds");
        // A key Stripe refuses: the tenant's settings are the problem.
        let other = desk_with_key(app, "sk_test_51SomeoneElsesKeyThatStripeRefuses00").await;
        app.post(&format!("/api/v1/customers/{}/payment-methods/setup", other.1), &other.0, json!({})).await.problem(409, "payments_not_configured");
        // Someone else's payment method, or none: 404; a malformed id: 400.
        let pm = add_card(app, fake, &desk, &FakeCard::visa()).await;
        let stranger = app.client(&desk.operator, "Giulia", "Neri").await;
        app.post(&format!("/api/v1/customers/{stranger}/payment-methods/setup"), &desk.operator, json!({})).await.expect(200);
        app.delete(&format!("/api/v1/customers/{stranger}/payment-methods/{pm}"), &desk.operator).await.problem(404, "not_found");
        app.post(&format!("/api/v1/customers/{stranger}/payment-methods/{pm}/default"), &desk.operator, json!({})).await.problem(404, "not_found");
        app.delete(&format!("{}/pm_doesnotexist", methods(&desk)), &desk.operator).await.problem(404, "not_found");
        app.delete(&format!("{}/not%20an%20id", methods(&desk)), &desk.operator).await.problem(400, "invalid_path_parameter");
        assert_eq!(app.get(&methods(&desk), &desk.operator).await.expect(200).body["items"][0]["id"], json!(pm));
    }
}

/// A second tenant on its own key `secret_key`, with an operator and a customer.
async fn desk_with_key(app: &TestApp, secret_key: &str) -> (Session, CustomerId) {
    let tenant = app.tenant().await;
    let admin = app.user(tenant, "admin").await;
    let settings = json!({"mode": "own_key", "secret_key": secret_key, "publishable_key": PUBLISHABLE_KEY});
    app.patch("/api/v1/settings/stripe", &admin, settings).await.expect(200);
    let operator = app.user(tenant, "operator").await;
    let customer = app.client(&operator, "Luca", "Verdi").await;
    (operator, customer)
}

stripe_test! {
    async fn settings_are_sealed_checked_audited_and_never_shown(app: &TestApp, fake: &FakeStripe) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let empty = app.get("/api/v1/settings/stripe", &admin).await.expect(200);
        assert_eq!((empty.body["configured"].clone(), empty.body["mode"].clone()), (json!(false), Value::Null));
        assert_eq!(empty.body["webhook_path"], format!("/api/v1/integrations/stripe/webhook?tenant={tenant}"));
        assert_eq!(empty.body["api_version"], clientele_core::payments::api::STRIPE_API_VERSION);
        app.get("/api/v1/settings/stripe", &operator).await.problem(403, "forbidden");
        app.patch("/api/v1/settings/stripe", &operator, own_key()).await.problem(403, "forbidden");

        let bad = json!({"mode": "own_key", "secret_key": "pk_test_not_a_secret_key", "publishable_key": "sk_test_oops0000000", "webhook_secret": "secret", "connect_account_id": "acct_1234567890"});
        let refused = app.patch("/api/v1/settings/stripe", &admin, bad).await.problem(422, "validation_failed");
        let mut fields: Vec<String> = refused.fields().into_iter().map(|(f, _)| f).collect();
        fields.sort();
        assert_eq!(fields, ["publishable_key", "secret_key", "webhook_secret"]);
        assert!(!refused.body.to_string().contains("sk_test_oops"), "values are never echoed");
        let missing = app.patch("/api/v1/settings/stripe", &admin, json!({"mode": "own_key", "secret_key": SECRET_KEY})).await;
        assert_eq!(missing.problem(422, "validation_failed").fields(), [("publishable_key".to_owned(), "required".to_owned())]);
        let live = json!({"mode": "own_key", "secret_key": SECRET_KEY, "publishable_key": "pk_live_51SomethingLive000000"});
        app.patch("/api/v1/settings/stripe", &admin, live).await.problem(422, "validation_failed");
        app.patch("/api/v1/settings/stripe", &admin, json!({"mode": "connect"})).await.problem(422, "validation_failed");

        let saved = app.patch("/api/v1/settings/stripe", &admin, own_key()).await.expect(200);
        assert_eq!((saved.body["configured"].clone(), saved.body["secret_key_set"].clone(), saved.body["webhook_secret_set"].clone()), (json!(true), json!(true), json!(true)));
        for reply in [&saved, &app.get("/api/v1/settings/stripe", &admin).await.expect(200)] {
            let text = reply.body.to_string();
            assert!(!text.contains(SECRET_KEY) && !text.contains(WEBHOOK_SECRET), "{text}");
        }
        let audit = app.get("/api/v1/audit?action=stripe.settings_changed", &admin).await.expect(200);
        let changes = &audit.body["items"][0]["changes"];
        assert_eq!((changes["secret_key"].clone(), changes["webhook_secret"].clone()), (json!("set"), json!("set")));
        assert!(!audit.body.to_string().contains(SECRET_KEY));

        // Switching to Connect drops the own keys; the account is one tenant's only.
        let connect = app.patch("/api/v1/settings/stripe", &admin, json!({"mode": "connect", "connect_account_id": ACCOUNT})).await.expect(200);
        assert_eq!((connect.body["secret_key_set"].clone(), connect.body["webhook_secret_set"].clone()), (json!(false), json!(true)));
        let other = app.tenant().await;
        let other_admin = app.user(other, "admin").await;
        app.patch("/api/v1/settings/stripe", &other_admin, json!({"mode": "connect", "connect_account_id": ACCOUNT})).await.problem(409, "conflict");
        let off = app.patch("/api/v1/settings/stripe", &admin, json!({"mode": null})).await.expect(200);
        assert_eq!(off.body["configured"], false);
        assert!(fake.requests().is_empty(), "settings never call Stripe");
    }

    async fn deleting_a_customer_keeps_its_stripe_customer_and_stripe_deleting_it_unlinks(app: &TestApp, fake: &FakeStripe) {
        let desk = desk(app, own_key()).await;
        add_card(app, fake, &desk, &FakeCard::visa()).await;
        let stripe_customer = fake.customers()[0]["id"].as_str().unwrap().to_owned();
        app.call(Method::DELETE, &format!("/api/v1/customers/{}", desk.customer), Some(&desk.operator), None).await.expect(204);
        // Still listed for the deleted customer (history kept); Stripe's customer untouched.
        assert_eq!(app.get(&methods(&desk), &desk.operator).await.expect(200).body["items"].as_array().unwrap().len(), 1);
        assert!(fake.requests().iter().all(|r| r.method != "DELETE"));
        app.post(&format!("/api/v1/customers/{}/restore", desk.customer), &desk.admin, json!({})).await.expect(200);

        // Deleted in Stripe's dashboard: unlinked; the next setup makes a new Stripe customer.
        let deleted = fake.delete_customer(&stripe_customer);
        assert_eq!(deliver(app, desk.tenant, &deleted).await, "processed");
        assert_eq!(outbox(app).await.last().map(String::as_str), Some("customer.payment_methods_unlinked"));
        let calls = fake.requests().len();
        assert_eq!(app.get(&methods(&desk), &desk.operator).await.expect(200).body["items"], json!([]));
        assert_eq!(fake.requests().len(), calls, "no Stripe customer, no call");
        app.post(&format!("{}/setup", methods(&desk)), &desk.operator, json!({})).await.expect(200);
        assert_eq!(fake.customers().len(), 2);
    }

    async fn the_personal_data_export_lists_brand_and_last4_only(app: &TestApp, fake: &FakeStripe) {
        let desk = desk(app, own_key()).await;
        let export = format!("/api/v1/customers/{}/export", desk.customer);
        let before = app.get(&export, &desk.admin).await.expect(200);
        assert_eq!(before.body["payment_methods"], json!({"linked": false, "methods": [], "unavailable": null}));
        add_card(app, fake, &desk, &FakeCard::visa()).await;
        add_card(app, fake, &desk, &FakeCard::mastercard()).await;
        let after = app.get(&export, &desk.admin).await.expect(200);
        assert_eq!(after.body["schema"], "clientele.personal-data/2");
        assert_eq!(
            after.body["payment_methods"],
            json!({"linked": true, "methods": [{"brand": "mastercard", "last4": "4444"}, {"brand": "visa", "last4": "4242"}], "unavailable": null})
        );
        // Stripe down: the export stands, saying so.
        let sara = app.client(&desk.operator, "Sara", "Neri").await;
        let desk = Desk { customer: sara, ..desk };
        add_card(app, fake, &desk, &FakeCard::visa()).await;
        fake.fail_next([FakeFailure::server_error(), FakeFailure::server_error(), FakeFailure::server_error()]);
        let down = app.get(&format!("/api/v1/customers/{sara}/export"), &desk.admin).await.expect(200);
        assert_eq!(down.body["payment_methods"]["linked"], true);
        assert_eq!(down.body["payment_methods"]["methods"], json!([]));
        assert!(down.body["payment_methods"]["unavailable"].as_str().unwrap().contains("Stripe"));
    }
}

/// Where the scanner's server logs go: every line it and its clients write, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The card numbers in `text`: runs of 13 to 19 digits standing alone that pass the Luhn check.
fn card_numbers(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        if !chars[at].is_ascii_digit() {
            at += 1;
            continue;
        }
        let start = at;
        while at < chars.len() && chars[at].is_ascii_digit() {
            at += 1;
        }
        let alone =
            (start == 0 || !chars[start - 1].is_alphanumeric()) && (at == chars.len() || !chars[at].is_alphanumeric());
        let digits: String = chars[start..at].iter().collect();
        if alone && (13..=19).contains(&digits.len()) && luhn(&digits) {
            found.push(digits);
        }
    }
    found
}

fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if !i.is_multiple_of(2) { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    sum.is_multiple_of(10)
}

/// What no stored byte, log line or answer may contain.
fn leaks(what: &str, text: &str) -> Vec<String> {
    let mut found: Vec<String> = card_numbers(text).into_iter().map(|n| format!("{what}: card number {n}")).collect();
    let lower = text.to_lowercase();
    for needle in [
        "cvc",
        "cvv",
        "security_code",
        "sk_test_",
        "sk_live_",
        "rk_test_",
        "rk_live_",
        "whsec_",
        "4242424242424242",
        "5555555555554444",
        "4000000000000002",
    ] {
        // The short words count where a name starts (`cvc_check`, `"cvv"`, `card_cvc`), not
        // inside a run of letters and digits: a password hash's base64 may hold "cvv" by chance.
        let starts_a_name =
            |at: usize| needle.len() > 3 || !lower[..at].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric());
        if let Some(at) = lower.match_indices(needle).map(|(at, _)| at).find(|at| starts_a_name(*at)) {
            let around: String = text.chars().skip(at.saturating_sub(60)).take(140).collect();
            found.push(format!("{what}: {needle:?} in …{around}…"));
        }
    }
    found
}

#[test]
fn the_scanner_finds_card_numbers_and_secrets() {
    assert_eq!(
        card_numbers("pay 4242 4242 4242 4242 or 4242424242424242, not 4242424242424241 nor a4242424242424242"),
        ["4242424242424242"]
    );
    assert!(card_numbers("1765432100 +393331234567 2026-12-04T10:00:00.123456Z").is_empty());
    assert_eq!(leaks("x", r#"{"cvc_check":"pass","key":"sk_live_abc"}"#).len(), 2);
    assert_eq!(leaks("x", r#"{"card_cvv":"123"}"#).len(), 1);
    assert!(leaks("x", "$argon2id$v=19$m=19456,t=2,p=1$m6kHcvvKmd8x10mHYMQ$TgFtiWh1p5").is_empty());
}

/// The whole story, then every byte of the database, every log line at every level, every
/// answer and the audit log are searched for a card number, a security code or a key.
async fn scan_everything(app: &TestApp, fake: &FakeStripe, logs: &Captured) {
    let mut answers = Vec::new();
    let mut keep = |reply: Reply| {
        answers.push(format!("{:?}\n{}", reply.headers, reply.body));
        reply
    };
    let desk = desk(app, own_key()).await;
    keep(app.get("/api/v1/settings/stripe", &desk.admin).await.expect(200));
    let setup = keep(app.post(&format!("{}/setup", methods(&desk)), &desk.operator, json!({})).await.expect(200));
    // The browser sends the card to Stripe, never here.
    for event in fake.confirm_setup(setup.body["client_secret"].as_str().unwrap(), &FakeCard::visa()) {
        let signature = FakeStripe::sign(&event.payload, &[WEBHOOK_SECRET]);
        keep(post_event(app, Some(desk.tenant), &event.payload, &signature).await.expect(200));
    }
    let setup = keep(app.post(&format!("{}/setup", methods(&desk)), &desk.operator, json!({})).await.expect(200));
    for event in fake.confirm_setup(setup.body["client_secret"].as_str().unwrap(), &FakeCard::declined()) {
        let signature = FakeStripe::sign(&event.payload, &[WEBHOOK_SECRET]);
        keep(post_event(app, Some(desk.tenant), &event.payload, &signature).await.expect(200));
    }
    let mastercard = add_card(app, fake, &desk, &FakeCard::mastercard()).await;
    keep(app.get(&methods(&desk), &desk.operator).await.expect(200));
    keep(app.post(&format!("{}/{mastercard}/default", methods(&desk)), &desk.operator, json!({})).await.expect(200));
    let updated = fake.update_automatically(&mastercard, 2036);
    keep(
        post_event(app, Some(desk.tenant), &updated.payload, &FakeStripe::sign(&updated.payload, &[WEBHOOK_SECRET]))
            .await
            .expect(200),
    );
    keep(
        post_event(app, Some(desk.tenant), &updated.payload, "t=1,v1=00")
            .await
            .problem(400, "stripe_signature_invalid"),
    );
    let driver = app.user(desk.tenant, "driver").await;
    keep(app.get(&methods(&desk), &driver).await.problem(403, "forbidden"));
    keep(app.get(&format!("/api/v1/customers/{}/export", desk.customer), &desk.admin).await.expect(200));
    keep(app.get(&format!("/api/v1/customers/{}", desk.customer), &desk.admin).await.expect(200));
    keep(app.get("/api/v1/audit?limit=200", &desk.admin).await.expect(200));
    keep(app.delete(&format!("{}/{mastercard}", methods(&desk)), &desk.operator).await.expect(204));
    assert_eq!(answers.len(), 15);

    let mut found = Vec::new();
    for (n, answer) in answers.iter().enumerate() {
        found.extend(leaks(&format!("answer {n}"), answer));
    }
    found.extend(leaks("database", &app.db().dump_all_text().await));
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(logged.contains("/api/v1/integrations/stripe/webhook"), "the logs were captured");
    found.extend(leaks("logs", &logged));
    assert!(found.is_empty(), "card data or keys found:\n{}", found.join("\n"));
    // The scan would have seen them: the keys were given, the cards typed, in this very test.
    assert!(
        !leaks("the test's own inputs", &format!("{SECRET_KEY} {WEBHOOK_SECRET} {}", FakeCard::visa().number))
            .is_empty()
    );
}

mod no_card_number_security_code_or_secret_key_is_kept_logged_or_answered {
    use super::*;

    fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        // The test's runtime has one thread: the server, the fake and the client log on it.
        (logs, tracing::subscriber::set_default(subscriber))
    }

    #[tokio::test]
    async fn sqlite() {
        let (logs, _guard) = capture();
        let fake = FakeStripe::start().await;
        scan_everything(&TestApp::sqlite_with(options(&fake)).await, &fake, &logs).await;
    }

    #[tokio::test]
    async fn postgres() {
        let (logs, _guard) = capture();
        let fake = FakeStripe::start().await;
        if let Some(app) = TestApp::postgres_with(options(&fake)).await {
            scan_everything(&app, &fake, &logs).await;
        }
    }
}

/// The value of the first `name="…"` attribute in `html`.
fn attribute(html: &str, name: &str) -> String {
    let rest = html.split(&format!("{name}=\"")).nth(1).unwrap_or_else(|| panic!("no {name} in {html}"));
    rest.split('"').next().unwrap().to_owned()
}

/// The payment method ids listed in a console section, in order.
fn listed(html: &str) -> Vec<String> {
    html.split("data-payment-method=\"").skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect()
}

stripe_test! {
    async fn the_console_adds_cards_with_stripe_elements_then_lists_makes_default_and_removes_them(app: &TestApp, fake: &FakeStripe) {
        use crate::console::{PASSWORD, Page, get, log_in, pair, post, unique, user};
        let desk = desk(app, own_key()).await;
        let email = unique("op");
        user(app, desk.tenant, &email, "operator").await;
        let session = pair(&log_in(app, &email, PASSWORD, None, &[]).await.set_cookie("clientele_session").unwrap());
        let policy = |page: &Page| page.headers["content-security-policy"].to_str().unwrap().to_owned();
        let stripe = fake.base_url.trim_end_matches('/').to_owned();
        let profile_path = format!("/customers/{}", desk.customer);
        let section_path = format!("{profile_path}/payment-methods");

        // The profile loads the section after it is shown, and admits nothing of Stripe's.
        let profile = get(app, &profile_path, &session).await;
        assert!(profile.html.contains(&format!("hx-get=\"{section_path}\"")), "{}", profile.html);
        assert!(!policy(&profile).contains(&stripe));
        let section = get(app, &section_path, &session).await;
        assert!(section.html.contains("No payment methods yet."), "{}", section.html);

        // The card form: Stripe.js from Stripe's origin, which this page's policy alone admits.
        let mut added = Vec::new();
        for card in [FakeCard::visa(), FakeCard::mastercard()] {
            let form = get(app, &format!("{section_path}/new"), &session).await;
            assert_eq!(form.status, 200, "{}", form.html);
            let csp = policy(&form);
            assert!(csp.contains(&format!("script-src 'self' {stripe}")), "{csp}");
            assert!(csp.contains(&format!("frame-src 'self' {stripe}")) && !csp.contains("unsafe-inline"), "{csp}");
            assert!(form.html.contains(&format!("<script src=\"{}\"></script>", fake.js_url())), "{}", form.html);
            assert_eq!(attribute(&form.html, "data-publishable-key"), PUBLISHABLE_KEY);
            // Stripe.js confirms with Stripe (the number never comes here); the browser returns.
            let events = fake.confirm_setup(&attribute(&form.html, "data-client-secret"), &card);
            let intent: Value = serde_json::from_str(&events[0].payload).unwrap();
            let returned = format!(
                "{section_path}/added?setup_intent={}&redirect_status=succeeded",
                intent["data"]["object"]["id"].as_str().unwrap()
            );
            let back = get(app, &returned, &session).await;
            assert_eq!((back.status.as_u16(), back.location()), (303, format!("{profile_path}?saved=card-added#payment-methods").as_str()));
            // Read afresh on return, though the list was read a moment ago (and no webhook came).
            let section = get(app, &section_path, &session).await;
            added = listed(&section.html);
            assert_eq!(added.len(), if card == FakeCard::visa() { 1 } else { 2 }, "{}", section.html);
        }
        let section = get(app, &section_path, &session).await;
        assert!(section.html.contains("Visa •••• 4242") && section.html.contains("12/2034"), "{}", section.html);
        assert!(section.html.contains("Mastercard •••• 4444") && section.html.contains("03/2031"), "{}", section.html);

        // The newest (Mastercard) is listed first; make the Visa the default, then remove the Mastercard.
        let (mastercard, visa) = (added[0].clone(), added[1].clone());
        let csrf = section.csrf();
        let refused = post(app, &format!("{section_path}/{visa}/default"), &session, &[], &[]).await;
        assert_eq!(refused.status, 403, "no CSRF token, no change");
        let made = post(app, &format!("{section_path}/{visa}/default"), &session, &[("_csrf", &csrf)], &[]).await;
        assert_eq!(made.location(), format!("{profile_path}?saved=card-default#payment-methods"));
        let listed_api = app.get(&methods(&desk), &desk.operator).await.expect(200);
        let default: Vec<&Value> = listed_api.body["items"].as_array().unwrap().iter().filter(|m| m["default"] == true).collect();
        assert_eq!(default[0]["id"], json!(visa));
        let gone = post(app, &format!("{section_path}/{mastercard}/remove"), &session, &[("_csrf", &csrf)], &[]).await;
        assert_eq!(gone.location(), format!("{profile_path}?saved=card-removed#payment-methods"));
        let section = get(app, &section_path, &session).await;
        assert_eq!(listed(&section.html), vec![visa]);
        assert!(section.html.contains("Default"));
        let notice = get(app, &format!("{profile_path}?saved=card-removed"), &session).await;
        assert!(notice.html.contains("Payment method removed."));

        // A driver reaches none of it (refused, audited as through the API).
        let driver = unique("driver");
        user(app, desk.tenant, &driver, "driver").await;
        let driver = pair(&log_in(app, &driver, PASSWORD, None, &[]).await.set_cookie("clientele_session").unwrap());
        assert_eq!(get(app, &section_path, &driver).await.status, 403);
        assert_eq!(get(app, &format!("{section_path}/new"), &driver).await.status, 403);
        let viewed = app.get("/api/v1/audit?action=payment_methods.viewed", &desk.admin).await.expect(200);
        let denied = viewed.body["items"].as_array().unwrap().iter().filter(|e| e["outcome"] == "denied").count();
        assert_eq!(denied, 1, "{}", viewed.body);

        // A company without Stripe sees why, in words, on the section and the form.
        let other = app.tenant().await;
        let email = unique("op");
        user(app, other, &email, "operator").await;
        let elsewhere = pair(&log_in(app, &email, PASSWORD, None, &[]).await.set_cookie("clientele_session").unwrap());
        let admin = app.user(other, "admin").await;
        let customer = app.client(&admin, "Anna", "Bianchi").await;
        let section = get(app, &format!("/customers/{customer}/payment-methods"), &elsewhere).await;
        assert!(section.html.contains("Payments are not set up for this company"), "{}", section.html);
        let form = get(app, &format!("/customers/{customer}/payment-methods/new"), &elsewhere).await;
        assert!(form.html.contains("Payments are not set up") && !form.html.contains("data-stripe-form"));
        assert!(!policy(&form).contains(&stripe));
    }
}
