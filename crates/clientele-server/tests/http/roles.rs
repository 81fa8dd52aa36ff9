//! The customer rows of the roles table (the roles table in README.md), one test per row, every role in each.

use clientele_core::ids::{CustomerId, TenantId};
use serde_json::json;

use crate::harness::{Session, TestApp, ids};

/// One session per role, plus a partner company with one linked and one unlinked client.
struct Cast {
    admin: Session,
    operator: Session,
    driver: Session,
    partner: Session,
    platform: Session,
    agency: CustomerId,
    linked: CustomerId,
    unlinked: CustomerId,
}

async fn cast(app: &TestApp) -> (TenantId, Cast) {
    let tenant = app.tenant().await;
    let admin = app.user(tenant, "admin").await;
    let agency = app.partner_company(&admin, "Agency").await;
    let linked = app
        .post("/api/v1/customers", &admin, json!({"first_name": "Lin", "last_name": "Ked", "partner_id": agency}))
        .await
        .expect(201)
        .id();
    let unlinked = app.client(&admin, "Un", "Linked").await;
    let cast = Cast {
        operator: app.user(tenant, "operator").await,
        driver: app.user(tenant, "driver").await,
        partner: app.partner_user(tenant, agency).await,
        platform: app.platform_admin().await,
        admin,
        agency,
        linked,
        unlinked,
    };
    (tenant, cast)
}

fn person(first: &str) -> serde_json::Value {
    json!({"first_name": first, "last_name": "Test"})
}

http_test! {
    async fn create_customer_admin_operator_and_partner_yes_driver_and_platform_no(app: &TestApp) {
        let (_, c) = cast(app).await;
        app.post("/api/v1/customers", &c.admin, person("A")).await.expect(201);
        app.post("/api/v1/customers", &c.operator, person("O")).await.expect(201);
        app.post("/api/v1/customers", &c.driver, person("D")).await.problem(403, "forbidden");
        app.post("/api/v1/customers", &c.platform, person("P")).await.problem(403, "forbidden");
        // A partner's customers are linked to its own company, without asking.
        let created = app.post("/api/v1/customers", &c.partner, person("Pa")).await.expect(201);
        assert_eq!(created.body["partner_id"], json!(c.agency));
        let explicit = app.post("/api/v1/customers", &c.partner, json!({"first_name": "X", "last_name": "Y", "partner_id": c.agency})).await;
        explicit.expect(201);
        let other_agency = app.partner_company(&c.admin, "Other agency").await;
        let foreign = app.post("/api/v1/customers", &c.partner, json!({"first_name": "X", "last_name": "Y", "partner_id": other_agency})).await;
        assert_eq!(foreign.problem(422, "validation_failed").fields(), [("partner_id".into(), "not_allowed".into())]);
        let company = app.post("/api/v1/customers", &c.partner, json!({"kind": "partner", "company_name": "Sub-agency"})).await;
        assert_eq!(company.problem(422, "validation_failed").fields()[0], ("kind".into(), "not_allowed".into()));
    }

    async fn read_customer_admin_and_operator_all_partner_own_driver_none_platform_no(app: &TestApp) {
        let (_, c) = cast(app).await;
        for staff in [&c.admin, &c.operator] {
            assert_eq!(ids(&app.get("/api/v1/customers", staff).await.expect(200)).len(), 3);
            app.get(&format!("/api/v1/customers/{}", c.unlinked), staff).await.expect(200);
        }
        // Partners: only customers linked to their company, and 404 (not 403) for the rest.
        assert_eq!(ids(&app.get("/api/v1/customers", &c.partner).await.expect(200)), vec![c.linked]);
        app.get(&format!("/api/v1/customers/{}", c.linked), &c.partner).await.expect(200);
        app.get(&format!("/api/v1/customers/{}/notes", c.linked), &c.partner).await.expect(200);
        for hidden in [c.unlinked, c.agency] {
            app.get(&format!("/api/v1/customers/{hidden}"), &c.partner).await.problem(404, "not_found");
            app.get(&format!("/api/v1/customers/{hidden}/notes"), &c.partner).await.problem(404, "not_found");
        }
        let filtered = app.get(&format!("/api/v1/customers?partner_id={}", c.agency), &c.partner).await.expect(200);
        assert_eq!(ids(&filtered), vec![c.linked]);
        app.get("/api/v1/customers?include_deleted=true", &c.partner).await.problem(403, "forbidden");
        // Drivers: nobody until orders are assigned to them.
        assert!(ids(&app.get("/api/v1/customers", &c.driver).await.expect(200)).is_empty());
        for id in [c.linked, c.unlinked] {
            app.get(&format!("/api/v1/customers/{id}"), &c.driver).await.problem(404, "not_found");
        }
        app.get("/api/v1/customers", &c.platform).await.problem(403, "forbidden");
        app.get(&format!("/api/v1/customers/{}", c.linked), &c.platform).await.problem(403, "forbidden");
    }

    async fn update_customer_and_add_note_admin_and_operator_only(app: &TestApp) {
        let (_, c) = cast(app).await;
        let path = format!("/api/v1/customers/{}", c.linked);
        let notes = format!("{path}/notes");
        for staff in [&c.admin, &c.operator] {
            app.patch(&path, staff, json!({"tax_code": format!("T{}", staff.token.len())})).await.expect(200);
            app.post(&notes, staff, json!({"body": "note"})).await.expect(201);
        }
        for refused in [&c.driver, &c.partner, &c.platform] {
            app.patch(&path, refused, json!({"first_name": "Hacked"})).await.problem(403, "forbidden");
            app.post(&notes, refused, json!({"body": "note"})).await.problem(403, "forbidden");
        }
        let after = app.get(&path, &c.admin).await.expect(200);
        assert_eq!(after.body["first_name"], "Lin");
        assert_eq!(after.body["notes"].as_array().unwrap().len(), 2);
    }

    async fn soft_delete_admin_and_operator_only(app: &TestApp) {
        let (_, c) = cast(app).await;
        for refused in [&c.driver, &c.partner, &c.platform] {
            app.delete(&format!("/api/v1/customers/{}", c.linked), refused).await.problem(403, "forbidden");
        }
        app.delete(&format!("/api/v1/customers/{}", c.linked), &c.operator).await.expect(204);
        app.delete(&format!("/api/v1/customers/{}", c.unlinked), &c.admin).await.expect(204);
    }

    async fn restore_admin_only(app: &TestApp) {
        let (_, c) = cast(app).await;
        let path = format!("/api/v1/customers/{}", c.linked);
        app.delete(&path, &c.admin).await.expect(204);
        for refused in [&c.operator, &c.driver, &c.partner, &c.platform] {
            app.post(&format!("{path}/restore"), refused, json!({})).await.problem(403, "forbidden");
        }
        app.post(&format!("{path}/restore"), &c.admin, json!({})).await.expect(200);
    }

    async fn vip_on_and_off_admin_only(app: &TestApp) {
        let (_, c) = cast(app).await;
        let path = format!("/api/v1/customers/{}", c.unlinked);
        app.patch(&path, &c.operator, json!({"vip": true})).await.problem(403, "forbidden");
        app.post("/api/v1/customers", &c.operator, json!({"first_name": "V", "last_name": "I", "vip": true})).await.problem(403, "forbidden");
        app.post("/api/v1/customers", &c.partner, json!({"first_name": "V", "last_name": "I", "vip": true})).await.problem(403, "forbidden");
        assert_eq!(app.patch(&path, &c.admin, json!({"vip": true})).await.expect(200).body["vip"], true);
        // Operators may still edit a VIP's other fields, and sending the unchanged flag is fine.
        app.patch(&path, &c.operator, json!({"vip": true, "language": "it"})).await.expect(200);
        app.patch(&path, &c.operator, json!({"vip": false})).await.problem(403, "forbidden");
        assert_eq!(app.patch(&path, &c.admin, json!({"vip": false})).await.expect(200).body["vip"], false);
        let created = app.post("/api/v1/customers", &c.admin, json!({"first_name": "V", "last_name": "I", "vip": true})).await;
        assert_eq!(created.expect(201).body["vip"], true);
    }

    async fn partners_learn_nothing_about_customers_outside_their_company(app: &TestApp) {
        let (_, c) = cast(app).await;
        let outsider = app
            .post("/api/v1/customers", &c.admin, json!({"first_name": "Out", "last_name": "Side", "email": "shared@example.com", "external_ref": "EXT-1"}))
            .await
            .expect(201)
            .id();
        // Same email as a customer they cannot see: no warning naming (or hinting at) that customer.
        let own = app.post("/api/v1/customers", &c.partner, json!({"first_name": "A", "last_name": "B", "email": "shared@example.com"})).await;
        let own = own.expect(201);
        assert_eq!(own.body["warnings"], json!([]));
        // Among their own clients, the duplicate is worth knowing.
        let twin = app.post("/api/v1/customers", &c.partner, json!({"first_name": "C", "last_name": "D", "email": "shared@example.com"})).await;
        let twin = twin.expect(201);
        assert_eq!(twin.body["warnings"][0]["customer_ids"], json!([own.id()]));
        // Staff see every duplicate.
        let staff = app.post("/api/v1/customers", &c.operator, json!({"first_name": "E", "last_name": "F", "email": "shared@example.com"})).await;
        assert_eq!(staff.expect(201).body["warnings"][0]["customer_ids"].as_array().unwrap().len(), 3);
        // A taken external_ref is refused, but without the holder's id.
        let taken = app.post("/api/v1/customers", &c.partner, json!({"first_name": "G", "last_name": "H", "external_ref": "EXT-1"})).await;
        let taken = taken.problem(409, "duplicate_external_ref");
        assert!(taken.body.get("customer_id").is_none(), "{}", taken.body);
        assert!(!taken.body.to_string().contains(&outsider.to_string()));
        let staff = app.post("/api/v1/customers", &c.admin, json!({"first_name": "G", "last_name": "H", "external_ref": "EXT-1"})).await;
        assert_eq!(staff.problem(409, "duplicate_external_ref").body["customer_id"], json!(outsider));
    }

    async fn notes_sent_at_creation_need_the_note_right_and_are_capped(app: &TestApp) {
        let (_, c) = cast(app).await;
        let with_notes = |n: usize| json!({"first_name": "N", "last_name": "Otes", "notes": vec!["a note"; n]});
        app.post("/api/v1/customers", &c.partner, with_notes(1)).await.problem(403, "forbidden");
        // An empty list is no note at all.
        app.post("/api/v1/customers", &c.partner, with_notes(0)).await.expect(201);
        let too_many = app.post("/api/v1/customers", &c.operator, with_notes(21)).await;
        assert_eq!(too_many.problem(422, "validation_failed").fields(), [("notes".into(), "out_of_range".into())]);
        let created = app.post("/api/v1/customers", &c.operator, with_notes(20)).await.expect(201).id();
        let notes = app.get(&format!("/api/v1/customers/{created}/notes"), &c.admin).await.expect(200);
        assert_eq!(notes.body["items"].as_array().map(Vec::len), Some(20));
    }
}
