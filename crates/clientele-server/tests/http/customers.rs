//! Customers over HTTP: create, read, change, delete, restore, list, notes, and their audit trail.

use clientele_core::audit::store::AuditQuery;
use reqwest::Method;
use serde_json::json;

use crate::harness::ids;

http_test! {
    async fn a_created_customer_can_be_fetched_and_listed(app: &TestApp) {
        let tenant = app.tenant().await;
        let operator = app.user(tenant, "operator").await;
        let created = app.post("/api/v1/customers", &operator, json!({
            "first_name": "Nicolò", "last_name": "Rossi", "phone": "333 123 4567", "email": "Nicolo@Example.com",
            "driver_license": {"number": "U1234567X", "issued_on": "2015-01-01", "expires_on": "2030-01-01"},
            "notes": ["Prefers automatic gearbox"]
        })).await.expect(201);
        let id = created.id();
        assert_eq!(created.headers["location"], format!("/api/v1/customers/{id}").as_str());
        assert_eq!(created.headers["etag"], "\"1\"");
        assert_eq!(created.body["phone"], "+393331234567");
        assert_eq!(created.body["phone_status"], "valid");
        assert_eq!(created.body["email"], "nicolo@example.com");
        assert_eq!(created.body["kind"], "client");
        assert_eq!(created.body["version"], 1);
        assert_eq!(created.body["deleted"], false);
        assert_eq!(created.body["warnings"], json!([]));
        assert_eq!(created.body["created_by"], json!(operator.user_id.unwrap()));

        let fetched = app.get(&format!("/api/v1/customers/{id}"), &operator).await.expect(200);
        assert_eq!(fetched.headers["etag"], "\"1\"");
        assert_eq!(fetched.body["first_name"], "Nicolò");
        assert_eq!(fetched.body["driver_license"]["expires_on"], "2030-01-01");
        assert_eq!(fetched.body["notes"][0]["body"], "Prefers automatic gearbox");
        assert_eq!(fetched.body["notes"][0]["author"]["id"], json!(operator.user_id.unwrap()));

        let list = app.get("/api/v1/customers", &operator).await.expect(200);
        assert_eq!(ids(&list), vec![id]);
        assert_eq!(list.body["next_cursor"], json!(null));
    }

    async fn phones_without_a_prefix_are_read_in_the_tenants_region(app: &TestApp) {
        let tenant = app.app.create_tenant("Berlin Cars", "DE", None).await.unwrap().id;
        let admin = app.user(tenant, "admin").await;
        let reply = app.post("/api/v1/customers", &admin, json!({"first_name": "Jörg", "last_name": "Müller", "phone": "030 1234567"})).await;
        assert_eq!(reply.expect(201).body["phone"], "+49301234567");
    }

    async fn phones_are_read_as_libphonenumber_reads_them_and_a_second_one_is_searchable(app: &TestApp) {
        let tenant = app.app.create_tenant("Berlin Cars", "DE", None).await.unwrap().id;
        let admin = app.user(tenant, "admin").await;
        let body = json!({"first_name": "Jörg", "last_name": "Müller", "phone": "+49 (0) 30 1234567",
            "secondary_phone": "+39 06 1234 5678"});
        let created = app.post("/api/v1/customers", &admin, body).await.expect(201);
        assert_eq!(created.body["phone"], "+49301234567", "the trunk prefix after the country code is dropped");
        assert_eq!(created.body["secondary_phone"], "+390612345678", "an Italian number keeps its leading zero");
        let found = app.get("/api/v1/customers?q=0612345", &admin).await.expect(200);
        assert_eq!(found.body["items"][0]["id"], created.body["id"]);
        let bad = app.post("/api/v1/customers", &admin, json!({"first_name": "A", "last_name": "B", "secondary_phone": "12"})).await;
        assert_eq!(bad.problem(422, "validation_failed").fields(), [("secondary_phone".to_owned(), "invalid_phone".to_owned())]);
    }

    async fn the_api_wants_country_codes_and_names_the_code_of_a_country_name(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let body = json!({"first_name": "Anna", "last_name": "Rossi", "citizenship": "Italia", "address": {"country": "Narnia"}});
        let reply = app.post("/api/v1/customers", &admin, body).await.problem(422, "validation_failed");
        let errors = reply.body["errors"].as_array().unwrap().clone();
        let message = |field: &str| errors.iter().find(|e| e["field"] == field).unwrap()["message"].as_str().unwrap().to_owned();
        assert!(message("citizenship").ends_with("did you mean IT?"), "{}", message("citizenship"));
        assert!(!message("address.country").contains("did you mean"), "{}", message("address.country"));
    }

    async fn a_duplicate_email_is_a_warning_with_the_other_ids(app: &TestApp) {
        let tenant = app.tenant().await;
        let operator = app.user(tenant, "operator").await;
        let first = app.post("/api/v1/customers", &operator, json!({"first_name": "A", "last_name": "A", "email": "same@example.com"})).await.expect(201).id();
        let second = app.post("/api/v1/customers", &operator, json!({"first_name": "B", "last_name": "B", "email": "SAME@example.com"})).await.expect(201);
        let warnings = second.body["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0]["code"], "duplicate_email");
        assert_eq!(warnings[0]["customer_ids"], json!([first]));
    }

    async fn updates_merge_and_need_the_current_version(app: &TestApp) {
        let tenant = app.tenant().await;
        let operator = app.user(tenant, "operator").await;
        let id = app.post("/api/v1/customers", &operator, json!({
            "first_name": "Mario", "last_name": "Rossi", "email": "m@example.com",
            "address": {"line1": "Via Roma 1", "city": "Roma"}
        })).await.expect(201).id();
        let path = format!("/api/v1/customers/{id}");

        let patch = app.request(Method::PATCH, &path, &operator)
            .header("if-match", "\"1\"")
            .header("content-type", "application/merge-patch+json")
            .body(json!({"last_name": "Bianchi", "email": null, "address": {"city": "Milano"}}).to_string());
        let updated = app.send(patch).await.expect(200);
        assert_eq!(updated.headers["etag"], "\"2\"");
        assert_eq!(updated.body["last_name"], "Bianchi");
        assert_eq!(updated.body["email"], json!(null));
        assert_eq!(updated.body["address"]["line1"], "Via Roma 1", "nested objects merge");
        assert_eq!(updated.body["address"]["city"], "Milano");

        let stale = app.request(Method::PATCH, &path, &operator).header("if-match", "\"1\"").json(&json!({"first_name": "Luigi"}));
        let conflict = app.send(stale).await.problem(409, "version_conflict");
        assert_eq!(conflict.body["current_version"], 2);
        app.patch(&path, &operator, json!({"first_name": "Luigi", "version": 1})).await.problem(409, "version_conflict");
        app.patch(&path, &operator, json!({"first_name": "Luigi", "version": 2})).await.expect(200);

        // A patch that changes nothing is not a new version.
        let same = app.patch(&path, &operator, json!({"first_name": "Luigi"})).await.expect(200);
        assert_eq!(same.body["version"], 3);
    }

    async fn soft_deleted_customers_leave_lists_and_can_be_restored_by_an_admin(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let id = app.client(&operator, "Mario", "Rossi").await;
        let path = format!("/api/v1/customers/{id}");
        app.delete(&path, &operator).await.expect(204);
        app.delete(&path, &operator).await.expect(204);
        let gone = app.get(&path, &operator).await.expect(200);
        assert_eq!(gone.body["deleted"], true);
        assert!(gone.body["deleted_at"].is_string());
        assert!(ids(&app.get("/api/v1/customers", &operator).await.expect(200)).is_empty());
        assert_eq!(ids(&app.get("/api/v1/customers?include_deleted=true", &admin).await.expect(200)), vec![id]);
        app.patch(&path, &operator, json!({"first_name": "X"})).await.problem(409, "customer_deleted");
        app.post(&format!("{path}/notes"), &operator, json!({"body": "still here"})).await.expect(201);

        app.post(&format!("{path}/restore"), &operator, json!({})).await.problem(403, "forbidden");
        let restored = app.post(&format!("{path}/restore"), &admin, json!({})).await.expect(200);
        assert_eq!(restored.body["deleted"], false);
        assert_eq!(restored.body["version"], 3);
        app.post(&format!("{path}/restore"), &admin, json!({})).await.problem(409, "conflict");
        assert_eq!(ids(&app.get("/api/v1/customers", &operator).await.expect(200)), vec![id]);
    }

    async fn deleting_with_a_stale_version_is_refused(app: &TestApp) {
        let tenant = app.tenant().await;
        let operator = app.user(tenant, "operator").await;
        let id = app.client(&operator, "Mario", "Rossi").await;
        let path = format!("/api/v1/customers/{id}");
        app.patch(&path, &operator, json!({"first_name": "Luigi"})).await.expect(200);
        let stale = app.request(Method::DELETE, &path, &operator).header("if-match", "1");
        app.send(stale).await.problem(409, "version_conflict");
        let current = app.request(Method::DELETE, &path, &operator).header("if-match", "W/\"2\"");
        app.send(current).await.expect(204);
    }

    async fn notes_form_an_authored_timeline(app: &TestApp) {
        let tenant = app.tenant().await;
        let operator = app.user(tenant, "operator").await;
        let id = app.client(&operator, "Mario", "Rossi").await;
        let path = format!("/api/v1/customers/{id}/notes");
        let first = app.post(&path, &operator, json!({"body": "Called about a booking"})).await.expect(201);
        assert_eq!(first.body["author"]["id"], json!(operator.user_id.unwrap()));
        assert!(first.body["author"]["email"].as_str().unwrap().starts_with("operator-"));
        app.post(&path, &operator, json!({"body": "Line one\nLine two"})).await.expect(201);
        let notes = app.get(&path, &operator).await.expect(200);
        let bodies: Vec<&str> = notes.body["items"].as_array().unwrap().iter().map(|n| n["body"].as_str().unwrap()).collect();
        assert_eq!(bodies, ["Line one\nLine two", "Called about a booking"]);
        app.post(&path, &operator, json!({"body": "   "})).await.problem(422, "validation_failed");
    }

    async fn every_change_is_audited_with_who_when_and_what(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let id = app.client(&admin, "Mario", "Rossi").await;
        let path = format!("/api/v1/customers/{id}");
        let patch = app.request(Method::PATCH, &path, &admin)
            .header("user-agent", "counter-tablet/1.0")
            .json(&json!({"last_name": "Bianchi", "vip": true}));
        app.send(patch).await.expect(200);
        app.delete(&path, &admin).await.expect(204);
        app.post(&format!("{path}/restore"), &admin, json!({})).await.expect(200);
        app.post(&format!("{path}/notes"), &admin, json!({"body": "hello"})).await.expect(201);

        let query = AuditQuery { customer_id: Some(id), limit: 50, ..AuditQuery::default() };
        let entries = app.app.store().list_audit(tenant, &query).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            ["customer.note_added", "customer.restored", "customer.deleted", "customer.vip_set", "customer.updated", "customer.created"]
        );
        for entry in &entries {
            assert_eq!(entry.actor_id, Some(admin.user_id.unwrap().as_uuid()));
            assert_eq!(entry.actor_role, "admin");
            assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"));
            assert!(entry.request_id.is_some());
        }
        let update = &entries[4];
        assert_eq!(update.user_agent.as_deref(), Some("counter-tablet/1.0"));
        assert_eq!(
            update.changes,
            Some(json!({"last_name": {"from": "Rossi", "to": "Bianchi"}, "vip": {"from": false, "to": true}}))
        );
        assert_eq!(entries[5].changes.as_ref().unwrap()["first_name"], json!({"from": null, "to": "Mario"}));
    }

    async fn external_refs_are_unique_per_tenant(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let first = app.post("/api/v1/customers", &admin, json!({"first_name": "A", "last_name": "A", "external_ref": "L-1"})).await.expect(201).id();
        let dup = app.post("/api/v1/customers", &admin, json!({"first_name": "B", "last_name": "B", "external_ref": "L-1"})).await;
        assert_eq!(dup.problem(409, "duplicate_external_ref").body["customer_id"], json!(first));
        let other = app.client(&admin, "C", "C").await;
        app.patch(&format!("/api/v1/customers/{other}"), &admin, json!({"external_ref": "L-1"})).await.problem(409, "duplicate_external_ref");
        // Keeping one's own external_ref is not a duplicate.
        app.patch(&format!("/api/v1/customers/{first}"), &admin, json!({"first_name": "Z"})).await.expect(200);
    }

    async fn keyset_pages_cover_every_customer_once(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let mut created = Vec::new();
        for i in 0..7 {
            created.push(app.client(&admin, &format!("N{i}"), "X").await);
        }
        created.reverse();
        let mut seen = Vec::new();
        let mut path = "/api/v1/customers?limit=3".to_owned();
        loop {
            let page = app.get(&path, &admin).await.expect(200);
            seen.extend(ids(&page));
            match page.body["next_cursor"].as_str() {
                Some(cursor) => path = format!("/api/v1/customers?limit=3&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(seen, created);
    }

    async fn list_filters_select_by_kind_vip_partner_and_creation_date(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let agency = app.partner_company(&admin, "Agency").await;
        let linked = app.post("/api/v1/customers", &admin, json!({"first_name": "L", "last_name": "L", "partner_id": agency, "vip": true})).await.expect(201).id();
        let staff = app.post("/api/v1/customers", &admin, json!({"kind": "staff", "first_name": "S", "last_name": "S"})).await.expect(201).id();
        let list = |query: &'static str| {
            let admin = admin.clone();
            async move { ids(&app.get(&format!("/api/v1/customers?{query}"), &admin).await.expect(200)) }
        };
        assert_eq!(list("kind=partner").await, vec![agency]);
        assert_eq!(list("kind=staff").await, vec![staff]);
        assert_eq!(list("vip=true").await, vec![linked]);
        assert_eq!(list("vip=false").await, vec![staff, agency]);
        assert_eq!(app.get(&format!("/api/v1/customers?partner_id={agency}"), &admin).await.body["items"][0]["id"], json!(linked));
        assert_eq!(list("created_from=2000-01-01&created_to=2999-12-31").await.len(), 3);
        assert!(list("created_to=2000-01-01").await.is_empty());
        assert!(list("created_from=2999-01-01T00:00:00Z").await.is_empty());
    }

    async fn a_partner_link_must_name_a_partner_company_of_the_tenant(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let client = app.client(&admin, "Not", "Apartner").await;
        let reply = app.post("/api/v1/customers", &admin, json!({"first_name": "A", "last_name": "B", "partner_id": client})).await;
        assert_eq!(reply.problem(422, "validation_failed").fields(), [("partner_id".into(), "unknown_reference".into())]);
        let foreign_tenant = app.tenant().await;
        let foreign_admin = app.user(foreign_tenant, "admin").await;
        let foreign_partner = app.partner_company(&foreign_admin, "Elsewhere").await;
        let reply = app.post("/api/v1/customers", &admin, json!({"first_name": "A", "last_name": "B", "partner_id": foreign_partner})).await;
        assert_eq!(reply.problem(422, "validation_failed").fields(), [("partner_id".into(), "unknown_reference".into())]);
    }
}
