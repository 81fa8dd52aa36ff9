//! Blacklists over HTTP: who may add and lift entries, the history, bad requests, the global
//! list's anonymous warnings to other tenants, the platform admins' view, and VIP tracking.

use clientele_core::audit::store::AuditQuery;
use clientele_core::ids::{CustomerId, TenantId};
use serde_json::{Value, json};

use crate::harness::{DATA_PROTECTION_CONTACT, Reply, Session, TestApp, ids};

/// The path of a customer's blacklist.
fn blacklist(id: CustomerId) -> String {
    format!("/api/v1/customers/{id}/blacklist")
}

/// Creates a client with a birth date as `session`; returns its id.
async fn person(app: &TestApp, session: &Session, first: &str, last: &str, birth_date: &str) -> CustomerId {
    let body = json!({"first_name": first, "last_name": last, "birth_date": birth_date});
    app.post("/api/v1/customers", session, body).await.expect(201).id()
}

/// Blacklists `id` as `admin` with `scope` and `reason_code`.
async fn flag(app: &TestApp, admin: &Session, id: CustomerId, scope: &str, reason_code: &str, note: &str) -> Reply {
    app.post(&blacklist(id), admin, json!({"scope": scope, "reason_code": reason_code, "note": note})).await
}

/// The audit actions concerning `customer` in `tenant`'s log, newest first.
async fn audit_actions(app: &TestApp, tenant: TenantId, customer: CustomerId) -> Vec<String> {
    let query = AuditQuery { customer_id: Some(customer), limit: 50, ..AuditQuery::default() };
    app.app.store().list_audit(tenant, &query).await.unwrap().into_iter().map(|e| e.action).collect()
}

/// How many audit entries concerning `customer` in `tenant`'s log have `action`.
async fn count_audited(app: &TestApp, tenant: TenantId, customer: CustomerId, action: &str) -> usize {
    audit_actions(app, tenant, customer).await.iter().filter(|a| *a == action).count()
}

/// The badge status of a customer as `session` reads it.
async fn badge(app: &TestApp, session: &Session, id: CustomerId) -> Value {
    app.get(&format!("/api/v1/customers/{id}"), session).await.expect(200).body["blacklist"]["status"].clone()
}

/// The sorted keys of a JSON object.
fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

/// Asserts that `warnings` is exactly the one anonymous global-blacklist warning.
#[track_caller]
fn assert_only_global_warning(warnings: &Value) {
    let warnings = warnings.as_array().unwrap_or_else(|| panic!("no warnings array: {warnings}"));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(keys(&warnings[0]), ["code", "message"]);
    assert_eq!(warnings[0]["code"], "globally_blacklisted");
    let message = warnings[0]["message"].as_str().unwrap();
    assert!(message.contains(DATA_PROTECTION_CONTACT), "the message names the contact: {message}");
}

/// Asserts that `body`, serialized, contains none of `secrets`.
#[track_caller]
fn assert_reveals_none(body: &Value, secrets: &[String]) {
    let text = body.to_string();
    for secret in secrets {
        assert!(!text.contains(secret.as_str()), "the body reveals {secret:?}: {text}");
    }
}

/// A platform admin's view of the only active global entry: `(id, created_at, expires_at)`.
async fn only_global_entry(app: &TestApp) -> (String, String, String) {
    let platform = app.platform_admin().await;
    let list = app.get("/api/v1/blacklist/global", &platform).await.expect(200);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    let text = |key: &str| items[0][key].as_str().unwrap().to_owned();
    (text("id"), text("created_at"), text("expires_at"))
}

http_test! {
    async fn only_admins_blacklist_and_the_badge_and_filter_follow(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let driver = app.user(tenant, "driver").await;
        let agency = app.partner_company(&admin, "Agency").await;
        let partner = app.partner_user(tenant, agency).await;
        let platform = app.platform_admin().await;
        let id = app.post("/api/v1/customers", &admin, json!({"first_name": "Mario", "last_name": "Rossi", "partner_id": agency}))
            .await.expect(201).id();
        let clean = app.client(&admin, "Luigi", "Verdi").await;
        let body = json!({"scope": "tenant", "reason_code": "unpaid_balance", "note": "Owes 300 EUR"});

        for refused in [&operator, &driver, &partner, &platform] {
            app.post(&blacklist(id), refused, body.clone()).await.problem(403, "forbidden");
        }
        assert_eq!(badge(app, &admin, id).await, "none", "a refused request changes nothing");

        let entry = app.post(&blacklist(id), &admin, body).await.expect(201);
        assert_eq!(
            keys(&entry.body),
            ["created_at", "created_by", "customer_id", "id", "lift_note", "lifted_at", "lifted_by", "note", "reason_code", "scope"]
        );
        assert_eq!(entry.body["customer_id"], json!(id));
        assert_eq!(entry.body["scope"], "tenant");
        assert_eq!(entry.body["reason_code"], "unpaid_balance");
        assert_eq!(entry.body["note"], "Owes 300 EUR");
        assert_eq!(entry.body["created_by"], json!(admin.user_id.unwrap()));
        assert!(entry.body["created_at"].is_string());
        assert_eq!(entry.body["lifted_at"], json!(null));
        assert_eq!(entry.body["lifted_by"], json!(null));
        assert_eq!(entry.body["lift_note"], json!(null));

        let fetched = app.get(&format!("/api/v1/customers/{id}"), &admin).await.expect(200);
        assert_eq!(fetched.body["blacklist"], json!({"status": "tenant"}));
        assert_eq!(fetched.body["version"], 2);
        let list = app.get("/api/v1/customers", &operator).await.expect(200);
        let badges: Vec<(Value, Value)> = list.body["items"].as_array().unwrap().iter()
            .map(|c| (c["id"].clone(), c["blacklist"].clone()))
            .collect();
        assert_eq!(badges, [
            (json!(clean), json!({"status": "none"})),
            (json!(id), json!({"status": "tenant"})),
            (json!(agency), json!({"status": "none"})),
        ]);
        assert_eq!(ids(&app.get("/api/v1/customers?blacklisted=true", &operator).await.expect(200)), vec![id]);
        assert_eq!(ids(&app.get("/api/v1/customers?blacklisted=false", &operator).await.expect(200)), vec![clean, agency]);
        // The partner sees its own client's badge too.
        assert_eq!(badge(app, &partner, id).await, "tenant");
        assert_eq!(audit_actions(app, tenant, id).await[0], "blacklist.added");
    }

    async fn lifting_needs_a_note_and_the_history_shows_who_and_why_newest_first(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let other_admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let driver = app.user(tenant, "driver").await;
        let agency = app.partner_company(&admin, "Agency").await;
        let partner = app.partner_user(tenant, agency).await;
        let id = app.post("/api/v1/customers", &admin, json!({"first_name": "Mario", "last_name": "Rossi", "partner_id": agency}))
            .await.expect(201).id();
        let path = blacklist(id);

        let first = flag(app, &admin, id, "tenant", "misconduct", "Rude at the counter").await.expect(201);
        for reader in [&admin, &operator] {
            let history = app.get(&path, reader).await.expect(200);
            assert_eq!(history.body["items"], json!([first.body]));
        }
        app.get(&path, &driver).await.problem(403, "forbidden");
        app.get(&path, &partner).await.problem(403, "forbidden");

        let no_body = app.delete(&path, &admin).await;
        assert_eq!(no_body.problem(422, "validation_failed").fields(), [("note".into(), "required".into())]);
        let blank = app.delete_with(&path, &admin, json!({"note": "   "})).await;
        assert_eq!(blank.problem(422, "validation_failed").fields(), [("note".into(), "required".into())]);
        app.delete_with(&path, &operator, json!({"note": "Apologised"})).await.problem(403, "forbidden");
        assert_eq!(badge(app, &admin, id).await, "tenant", "refused lifts change nothing");

        let lifted = app.delete_with(&path, &other_admin, json!({"note": "Apologised"})).await.expect(200);
        assert_eq!(lifted.body["id"], first.body["id"]);
        assert!(lifted.body["lifted_at"].is_string());
        assert_eq!(lifted.body["lifted_by"], json!(other_admin.user_id.unwrap()));
        assert_eq!(lifted.body["lift_note"], "Apologised");
        assert_eq!(badge(app, &admin, id).await, "none");
        assert!(ids(&app.get("/api/v1/customers?blacklisted=true", &admin).await.expect(200)).is_empty());

        let second = flag(app, &other_admin, id, "tenant", "unpaid_damage", "Broken mirror").await.expect(201);
        assert_eq!(badge(app, &admin, id).await, "tenant");
        let history = app.get(&path, &operator).await.expect(200);
        let items = history.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0], second.body, "newest first");
        assert_eq!(items[0]["created_by"], json!(other_admin.user_id.unwrap()));
        assert_eq!(items[0]["lifted_at"], json!(null));
        assert_eq!(items[1], lifted.body);
        assert_eq!(items[1]["created_by"], json!(admin.user_id.unwrap()));
        assert_eq!(items[1]["reason_code"], "misconduct");
        assert_eq!(items[1]["note"], "Rude at the counter");

        let actions = audit_actions(app, tenant, id).await;
        assert_eq!(actions[..3], ["blacklist.added", "blacklist.lifted", "blacklist.added"]);
    }

    async fn blacklisting_twice_or_lifting_nothing_is_a_conflict(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let id = person(app, &admin, "Mario", "Rossi", "1980-01-01").await;
        let path = blacklist(id);
        app.delete_with(&path, &admin, json!({"note": "nothing to lift"})).await.problem(409, "not_blacklisted");

        flag(app, &admin, id, "tenant", "misconduct", "first").await.expect(201);
        flag(app, &admin, id, "tenant", "unpaid_balance", "second").await.problem(409, "already_blacklisted");
        app.delete_with(&path, &admin, json!({"note": "settled"})).await.expect(200);
        app.delete_with(&path, &admin, json!({"note": "again"})).await.problem(409, "not_blacklisted");

        flag(app, &admin, id, "global", "chargeback", "global").await.expect(201);
        flag(app, &admin, id, "global", "chargeback", "global again").await.problem(409, "already_blacklisted");
        // A global entry covers the tenant's list too.
        flag(app, &admin, id, "tenant", "misconduct", "tenant too").await.problem(409, "already_blacklisted");
        let history = app.get(&path, &admin).await.expect(200);
        assert_eq!(history.body["items"].as_array().unwrap().len(), 2);

        app.delete(&format!("/api/v1/customers/{id}"), &admin).await.expect(204);
        app.delete_with(&path, &admin, json!({"note": "settled"})).await.expect(200);
        flag(app, &admin, id, "tenant", "misconduct", "deleted").await.problem(409, "customer_deleted");
    }

    async fn a_tenant_entry_is_upgraded_to_global_by_asking_for_global_scope(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let id = person(app, &admin, "Mario", "Rossi", "1980-01-01").await;
        let tenant_entry = flag(app, &admin, id, "tenant", "unpaid_balance", "Owes 300 EUR").await.expect(201);
        let global = flag(app, &admin, id, "global", "unpaid_balance", "Still owes 300 EUR").await.expect(201);
        assert_eq!(global.body["scope"], "global");
        assert_eq!(global.body["lifted_at"], json!(null));
        assert_ne!(global.body["id"], tenant_entry.body["id"]);
        assert_eq!(badge(app, &admin, id).await, "global");

        let history = app.get(&blacklist(id), &admin).await.expect(200);
        let items = history.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0], global.body);
        assert_eq!(items[1]["id"], tenant_entry.body["id"]);
        assert_eq!(items[1]["scope"], "tenant");
        assert!(items[1]["lifted_at"].is_string());
        assert_eq!(items[1]["lifted_by"], json!(admin.user_id.unwrap()));
        assert_eq!(items[1]["lift_note"], "upgraded to the global blacklist");
        let (entry, _, _) = only_global_entry(app).await;
        assert!(!entry.is_empty());
    }

    async fn another_tenants_customer_has_no_blacklist_to_read_add_or_lift(app: &TestApp) {
        let tenant_a = app.tenant().await;
        let tenant_b = app.tenant().await;
        let admin_a = app.user(tenant_a, "admin").await;
        let admin_b = app.user(tenant_b, "admin").await;
        let theirs = person(app, &admin_a, "Mario", "Rossi", "1980-01-01").await;
        flag(app, &admin_a, theirs, "tenant", "misconduct", "A's own matter").await.expect(201);
        for id in [theirs, CustomerId::new()] {
            let path = blacklist(id);
            for reply in [
                app.get(&path, &admin_b).await,
                app.post(&path, &admin_b, json!({"scope": "tenant", "reason_code": "other"})).await,
                app.delete_with(&path, &admin_b, json!({"note": "not yours"})).await,
            ] {
                assert_eq!(reply.problem(404, "not_found").body["detail"], "customer not found");
            }
        }
        let history = app.get(&blacklist(theirs), &admin_a).await.expect(200);
        assert_eq!(history.body["items"].as_array().unwrap().len(), 1);
        assert_eq!(history.body["items"][0]["lifted_at"], json!(null));
        assert_eq!(badge(app, &admin_a, theirs).await, "tenant");
    }

    async fn bad_blacklist_requests_name_the_field(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let id = person(app, &admin, "Mario", "Rossi", "1980-01-01").await;
        let path = blacklist(id);
        let fields = |reply: Reply| reply.problem(422, "validation_failed").fields();
        let pair = |field: &str, code: &str| (field.to_owned(), code.to_owned());

        let unknown = app.post(&path, &admin, json!({"scope": "tenant", "reason_code": "smells"})).await;
        assert_eq!(fields(unknown), [pair("reason_code", "invalid")]);
        for tenant_only in ["misconduct", "other"] {
            let reply = app.post(&path, &admin, json!({"scope": "global", "reason_code": tenant_only})).await;
            assert_eq!(fields(reply), [pair("reason_code", "not_allowed")]);
        }
        let no_scope = app.post(&path, &admin, json!({"reason_code": "unpaid_balance"})).await;
        assert_eq!(fields(no_scope), [pair("scope", "required")]);
        let no_reason = app.post(&path, &admin, json!({"scope": "tenant"})).await;
        assert_eq!(fields(no_reason), [pair("reason_code", "required")]);
        let extra = app.post(&path, &admin, json!({"scope": "tenant", "reason_code": "other", "by": "me"})).await;
        assert_eq!(fields(extra), [pair("by", "unknown_field")]);
        let long = app.post(&path, &admin, json!({"scope": "tenant", "reason_code": "other", "note": "x".repeat(2001)})).await;
        assert_eq!(fields(long), [pair("note", "too_long")]);
        flag(app, &admin, id, "tenant", "other", "").await.expect(201);
        let long = app.delete_with(&path, &admin, json!({"note": "x".repeat(2001)})).await;
        assert_eq!(fields(long), [pair("note", "too_long")]);
        app.delete_with(&path, &admin, json!({"note": "test entry"})).await.expect(200);

        let no_birth = app.client(&admin, "Anna", "Bianchi").await;
        let reply = app.post(&blacklist(no_birth), &admin, json!({"scope": "global", "reason_code": "chargeback"})).await;
        assert_eq!(fields(reply), [pair("birth_date", "required")]);
        let company = app.partner_company(&admin, "Agency").await;
        let reply = app.post(&blacklist(company), &admin, json!({"scope": "global", "reason_code": "chargeback"})).await;
        assert_eq!(fields(reply), [pair("first_name", "required"), pair("last_name", "required"), pair("birth_date", "required")]);

        for customer in [no_birth, company] {
            assert_eq!(badge(app, &admin, customer).await, "none");
            assert_eq!(app.get(&blacklist(customer), &admin).await.expect(200).body["items"], json!([]));
        }
        let platform = app.platform_admin().await;
        assert_eq!(app.get("/api/v1/blacklist/global", &platform).await.expect(200).body["items"], json!([]));
    }

    async fn a_global_entry_warns_other_tenants_anonymously_across_spellings(app: &TestApp) {
        let tenant_a = app.tenant().await;
        let tenant_b = app.tenant().await;
        let admin_a = app.user(tenant_a, "admin").await;
        let operator_b = app.user(tenant_b, "operator").await;
        let flagged = person(app, &admin_a, "Nicolò", "De Rossi", "1980-02-29").await;
        let entry = flag(app, &admin_a, flagged, "global", "unpaid_damage", "Scratched the whole left side").await.expect(201);
        let (global_id, global_created, global_expires) = only_global_entry(app).await;

        let created = app.post("/api/v1/customers", &operator_b, json!({
            "first_name": "NICOLO", "last_name": "de-rossi", "birth_date": "1980-02-29"
        })).await.expect(201);
        let id = created.id();
        assert_only_global_warning(&created.body["warnings"]);
        assert_eq!(created.body["blacklist"], json!({"status": "global"}));
        let secrets = [
            tenant_a.to_string(),
            flagged.to_string(),
            admin_a.user_id.unwrap().to_string(),
            entry.body["id"].as_str().unwrap().to_owned(),
            global_id,
            "unpaid_damage".to_owned(),
            "Scratched".to_owned(),
            entry.body["created_at"].as_str().unwrap().to_owned(),
            global_created,
            global_expires.clone(),
            global_expires[..10].to_owned(),
        ];
        assert_reveals_none(&created.body, &secrets);
        let fetched = app.get(&format!("/api/v1/customers/{id}"), &operator_b).await.expect(200);
        assert_eq!(fetched.body["blacklist"], json!({"status": "global"}));
        assert_reveals_none(&fetched.body, &secrets);
        assert_eq!(ids(&app.get("/api/v1/customers?blacklisted=true", &operator_b).await.expect(200)), vec![id]);
        // B has no entry of its own.
        assert_eq!(app.get(&blacklist(id), &operator_b).await.expect(200).body["items"], json!([]));

        let query = AuditQuery { customer_id: Some(id), limit: 50, ..AuditQuery::default() };
        let entries = app.app.store().list_audit(tenant_b, &query).await.unwrap();
        let matches: Vec<_> = entries.iter().filter(|e| e.action == "blacklist.global_match").collect();
        assert_eq!(matches.len(), 1);
        assert_eq!(matches[0].actor_id, Some(operator_b.user_id.unwrap().as_uuid()));
        assert_eq!(matches[0].object_id, id.as_uuid());
        assert_eq!(matches[0].reason.as_deref(), Some("customer_created"));
        assert_reveals_none(&serde_json::to_value(matches[0]).unwrap(), &secrets);

        // Another person with the same surname and birth date does not match.
        let other = app.post("/api/v1/customers", &operator_b, json!({
            "first_name": "Nicola", "last_name": "De Rossi", "birth_date": "1980-02-29"
        })).await.expect(201);
        assert_eq!(other.body["warnings"], json!([]));
        assert_eq!(other.body["blacklist"], json!({"status": "none"}));
        assert_eq!(count_audited(app, tenant_b, other.id(), "blacklist.global_match").await, 0);
        // The flagging tenant's own record is not a match against itself.
        let own = app.patch(&format!("/api/v1/customers/{flagged}"), &admin_a, json!({"language": "it"})).await.expect(200);
        assert_eq!(own.body["warnings"], json!([]));
        assert_eq!(count_audited(app, tenant_a, flagged, "blacklist.global_match").await, 0);
    }

    async fn two_flags_on_one_person_give_the_same_single_warning(app: &TestApp) {
        let tenant_a = app.tenant().await;
        let tenant_b = app.tenant().await;
        let tenant_c = app.tenant().await;
        let admin_a = app.user(tenant_a, "admin").await;
        let admin_b = app.user(tenant_b, "admin").await;
        let admin_c = app.user(tenant_c, "admin").await;
        let in_a = person(app, &admin_a, "Giulia", "Conti", "1975-06-15").await;
        flag(app, &admin_a, in_a, "global", "chargeback", "A's reason").await.expect(201);
        let body = json!({"first_name": "giulia", "last_name": "CONTI", "birth_date": "1975-06-15"});
        let once = app.post("/api/v1/customers", &admin_b, body.clone()).await.expect(201);
        assert_only_global_warning(&once.body["warnings"]);

        let in_c = person(app, &admin_c, "Giulia", "Conti", "1975-06-15").await;
        flag(app, &admin_c, in_c, "global", "vehicle_not_returned", "C's reason").await.expect(201);
        let twice = app.post("/api/v1/customers", &admin_b, body).await.expect(201);
        assert_eq!(twice.body["warnings"], once.body["warnings"], "the same words however many tenants flagged");
        assert_eq!(twice.body["blacklist"], json!({"status": "global"}));
        let secrets = [
            tenant_a.to_string(),
            tenant_c.to_string(),
            "chargeback".to_owned(),
            "vehicle_not_returned".to_owned(),
            "A's reason".to_owned(),
            "C's reason".to_owned(),
        ];
        assert_reveals_none(&twice.body, &secrets);
        assert_eq!(count_audited(app, tenant_b, twice.id(), "blacklist.global_match").await, 1);
    }

    async fn a_matching_document_number_alone_warns(app: &TestApp) {
        let tenant_a = app.tenant().await;
        let tenant_b = app.tenant().await;
        let admin_a = app.user(tenant_a, "admin").await;
        let operator_b = app.user(tenant_b, "operator").await;
        let flagged = app.post("/api/v1/customers", &admin_a, json!({
            "first_name": "Ana", "last_name": "Žáková", "birth_date": "1990-01-01",
            "id_document": {"type": "passport", "number": "YA 123 456"}
        })).await.expect(201).id();
        flag(app, &admin_a, flagged, "global", "vehicle_not_returned", "Kept the van").await.expect(201);

        let alias = app.post("/api/v1/customers", &operator_b, json!({
            "first_name": "Anna", "last_name": "Zak", "id_document": {"type": "passport", "number": "ya-123456"}
        })).await.expect(201);
        assert_only_global_warning(&alias.body["warnings"]);
        assert_eq!(alias.body["blacklist"], json!({"status": "global"}));
        assert_eq!(count_audited(app, tenant_b, alias.id(), "blacklist.global_match").await, 1);

        let different = app.post("/api/v1/customers", &operator_b, json!({
            "first_name": "Anna", "last_name": "Zak", "id_document": {"type": "passport", "number": "YA123457"}
        })).await.expect(201);
        assert_eq!(different.body["warnings"], json!([]));
        assert_eq!(different.body["blacklist"], json!({"status": "none"}));
        assert_eq!(count_audited(app, tenant_b, different.id(), "blacklist.global_match").await, 0);
    }

    async fn updating_a_customer_runs_the_global_check_again(app: &TestApp) {
        let tenant_a = app.tenant().await;
        let tenant_b = app.tenant().await;
        let admin_a = app.user(tenant_a, "admin").await;
        let operator_b = app.user(tenant_b, "operator").await;
        let flagged = person(app, &admin_a, "Marco", "Esposito", "1985-03-10").await;
        flag(app, &admin_a, flagged, "global", "unpaid_balance", "Never paid").await.expect(201);

        let created = app.post("/api/v1/customers", &operator_b, json!({"first_name": "Marco", "last_name": "Esposito"})).await.expect(201);
        let id = created.id();
        assert_eq!(created.body["warnings"], json!([]), "no birth date, no identity to match");
        assert_eq!(created.body["blacklist"], json!({"status": "none"}));
        let path = format!("/api/v1/customers/{id}");

        let updated = app.patch(&path, &operator_b, json!({"birth_date": "1985-03-10"})).await.expect(200);
        assert_only_global_warning(&updated.body["warnings"]);
        assert_eq!(updated.body["blacklist"], json!({"status": "global"}));
        assert_eq!(updated.body["birth_date"], "1985-03-10");
        assert_eq!(badge(app, &operator_b, id).await, "global");

        // Every check that matches is audited, even one that changes nothing else.
        let again = app.patch(&path, &operator_b, json!({"phone": "333 123 4567"})).await.expect(200);
        assert_only_global_warning(&again.body["warnings"]);
        let query = AuditQuery { customer_id: Some(id), limit: 50, ..AuditQuery::default() };
        let entries = app.app.store().list_audit(tenant_b, &query).await.unwrap();
        let reasons: Vec<Option<&str>> = entries.iter()
            .filter(|e| e.action == "blacklist.global_match")
            .map(|e| e.reason.as_deref())
            .collect();
        assert_eq!(reasons, [Some("customer_updated"), Some("customer_updated")]);

        // Changing the identity so it no longer matches clears the badge.
        let renamed = app.patch(&path, &operator_b, json!({"first_name": "Mario"})).await.expect(200);
        assert_eq!(renamed.body["warnings"], json!([]));
        assert_eq!(renamed.body["blacklist"], json!({"status": "none"}));
    }

    async fn lifting_the_flag_stops_later_matches_and_clears_earlier_badges(app: &TestApp) {
        let tenant_a = app.tenant().await;
        let tenant_b = app.tenant().await;
        let admin_a = app.user(tenant_a, "admin").await;
        let operator_b = app.user(tenant_b, "operator").await;
        let flagged = person(app, &admin_a, "Luca", "Ferrari", "1970-12-01").await;
        flag(app, &admin_a, flagged, "global", "unpaid_damage", "Dent").await.expect(201);
        let body = json!({"first_name": "Luca", "last_name": "Ferrari", "birth_date": "1970-12-01"});
        let earlier = app.post("/api/v1/customers", &operator_b, body.clone()).await.expect(201).id();
        assert_eq!(badge(app, &operator_b, earlier).await, "global");

        let lifted = app.delete_with(&blacklist(flagged), &admin_a, json!({"note": "Paid for the dent"})).await.expect(200);
        assert_eq!(lifted.body["scope"], "global");
        assert_eq!(badge(app, &admin_a, flagged).await, "none");

        assert_eq!(badge(app, &operator_b, earlier).await, "none");
        assert!(ids(&app.get("/api/v1/customers?blacklisted=true", &operator_b).await.expect(200)).is_empty());
        let later = app.post("/api/v1/customers", &operator_b, body).await.expect(201);
        assert_eq!(later.body["warnings"], json!([]));
        assert_eq!(later.body["blacklist"], json!({"status": "none"}));
        assert_eq!(count_audited(app, tenant_b, later.id(), "blacklist.global_match").await, 0);
        let touched = app.patch(&format!("/api/v1/customers/{earlier}"), &operator_b, json!({"language": "it"})).await.expect(200);
        assert_eq!(touched.body["warnings"], json!([]));
        assert_eq!(count_audited(app, tenant_b, earlier, "blacklist.global_match").await, 1, "only the first check matched");
    }

    async fn platform_admins_review_and_lift_global_entries(app: &TestApp) {
        let tenant_a = app.tenant().await;
        let tenant_b = app.tenant().await;
        let admin_a = app.user(tenant_a, "admin").await;
        let admin_b = app.user(tenant_b, "admin").await;
        let platform = app.platform_admin().await;
        let flagged = person(app, &admin_a, "Sara", "Romano", "1992-07-07").await;
        let tenant_only = person(app, &admin_a, "Paolo", "Gallo", "1960-01-01").await;
        flag(app, &admin_a, tenant_only, "tenant", "misconduct", "Local matter").await.expect(201);
        flag(app, &admin_a, flagged, "global", "chargeback", "Disputed the deposit").await.expect(201);

        let list = app.get("/api/v1/blacklist/global", &platform).await.expect(200);
        let items = list.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "tenant-only entries are not on the global list");
        let entry = &items[0];
        assert_eq!(
            keys(entry),
            ["created_at", "expires_at", "flagging_customer_id", "flagging_tenant_id", "id", "key_id", "lifted_at", "reason_code", "status"]
        );
        assert_eq!(entry["flagging_tenant_id"], json!(tenant_a));
        assert_eq!(entry["flagging_customer_id"], json!(flagged));
        assert_eq!(entry["reason_code"], "chargeback");
        assert_eq!(entry["status"], "active");
        assert_eq!(entry["lifted_at"], json!(null));
        assert_eq!(list.body["next_cursor"], json!(null));
        let text = list.body.to_string();
        assert!(!text.contains("pseudonym") && !text.contains("hash") && !text.contains("Disputed"), "{text}");
        let entry_id = entry["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/blacklist/global/{entry_id}");

        for tenant_admin in [&admin_a, &admin_b] {
            app.get("/api/v1/blacklist/global", tenant_admin).await.problem(403, "forbidden");
            app.get(&path, tenant_admin).await.problem(403, "forbidden");
            app.delete(&path, tenant_admin).await.problem(403, "forbidden");
        }
        assert_eq!(count_audited(app, tenant_a, flagged, "blacklist.global_entry_viewed").await, 0);

        let detail = app.get(&path, &platform).await.expect(200);
        assert_eq!(detail.body["id"], entry_id.as_str());
        assert_eq!(detail.body["status"], "active");
        assert_eq!(detail.body["customer"]["id"], json!(flagged));
        assert_eq!(detail.body["customer"]["first_name"], "Sara");
        assert_eq!(detail.body["customer"]["birth_date"], "1992-07-07");
        assert_eq!(detail.body["customer"]["blacklist"], json!({"status": "global"}));
        let query = AuditQuery { customer_id: Some(flagged), limit: 50, ..AuditQuery::default() };
        let audit = app.app.store().list_audit(tenant_a, &query).await.unwrap();
        assert_eq!(audit[0].action, "blacklist.global_entry_viewed");
        assert_eq!(audit[0].actor_role, "platform_admin");
        assert_eq!(audit[0].object_id.to_string(), entry_id);
        app.get(&format!("/api/v1/blacklist/global/{}", uuid::Uuid::now_v7()), &platform).await.problem(404, "not_found");

        let lift = app.delete(&path, &platform).await.expect(204);
        assert_eq!(lift.body, json!(null));
        let history = app.get(&blacklist(flagged), &admin_a).await.expect(200);
        let items = history.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["scope"], "global");
        assert!(items[0]["lifted_at"].is_string());
        assert!(items[0]["lifted_by"].is_string());
        assert_eq!(items[0]["lift_note"], "lifted by a platform administrator");
        assert_eq!(badge(app, &admin_a, flagged).await, "none");
        assert_eq!(badge(app, &admin_a, tenant_only).await, "tenant", "other entries are untouched");
        assert_eq!(audit_actions(app, tenant_a, flagged).await[0], "blacklist.lifted");

        assert_eq!(app.get("/api/v1/blacklist/global", &platform).await.expect(200).body["items"], json!([]));
        let all = app.get("/api/v1/blacklist/global?include_lifted=true", &platform).await.expect(200);
        assert_eq!(all.body["items"][0]["status"], "lifted");
        assert!(all.body["items"][0]["lifted_at"].is_string());
        app.delete(&path, &platform).await.problem(409, "not_blacklisted");
        let later = app.post("/api/v1/customers", &admin_b, json!({
            "first_name": "Sara", "last_name": "Romano", "birth_date": "1992-07-07"
        })).await.expect(201);
        assert_eq!(later.body["warnings"], json!([]));
    }

    async fn setting_and_clearing_vip_is_audited_with_who_and_when(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let other_admin = app.user(tenant, "admin").await;
        let id = app.client(&admin, "Vera", "Ipi").await;
        let path = format!("/api/v1/customers/{id}");
        let fresh = app.get(&path, &admin).await.expect(200);
        assert_eq!(fresh.body["vip"], false);
        assert_eq!(fresh.body["vip_changed_at"], json!(null));
        assert_eq!(fresh.body["vip_changed_by"], json!(null));

        let set = app.patch(&path, &admin, json!({"vip": true})).await.expect(200);
        assert_eq!(set.body["vip"], true);
        assert_eq!(set.body["vip_changed_by"], json!(admin.user_id.unwrap()));
        let set_at = set.body["vip_changed_at"].as_str().unwrap().to_owned();
        // Other changes leave the VIP stamp alone.
        let other = app.patch(&path, &admin, json!({"language": "it"})).await.expect(200);
        assert_eq!(other.body["vip_changed_at"], set_at.as_str());

        let cleared = app.patch(&path, &other_admin, json!({"vip": false})).await.expect(200);
        assert_eq!(cleared.body["vip"], false);
        assert_eq!(cleared.body["vip_changed_by"], json!(other_admin.user_id.unwrap()));
        let cleared_at = cleared.body["vip_changed_at"].as_str().unwrap();
        assert!(cleared_at > set_at.as_str(), "{cleared_at} after {set_at}");
        assert_eq!(app.get(&path, &admin).await.expect(200).body["vip_changed_by"], json!(other_admin.user_id.unwrap()));

        let query = AuditQuery { customer_id: Some(id), limit: 50, ..AuditQuery::default() };
        let entries = app.app.store().list_audit(tenant, &query).await.unwrap();
        let actions: Vec<(&str, Option<uuid::Uuid>)> = entries.iter().map(|e| (e.action.as_str(), e.actor_id)).collect();
        let (first, second) = (admin.user_id.unwrap().as_uuid(), other_admin.user_id.unwrap().as_uuid());
        assert_eq!(actions, [
            ("customer.vip_cleared", Some(second)),
            ("customer.updated", Some(second)),
            ("customer.updated", Some(first)),
            ("customer.vip_set", Some(first)),
            ("customer.updated", Some(first)),
            ("customer.created", Some(first)),
        ]);
    }
}
