//! Tenant isolation: a user of one tenant can neither read, list, change nor delete another
//! tenant's customers, by id or by list, and such an id answers exactly like one that does not
//! exist.

use clientele_core::ids::CustomerId;
use reqwest::Method;
use serde_json::json;

use crate::harness::ids;

http_test! {
    async fn another_tenants_customer_is_not_found_for_every_verb(app: &TestApp) {
        let tenant_a = app.tenant().await;
        let tenant_b = app.tenant().await;
        let admin_a = app.user(tenant_a, "admin").await;
        let admin_b = app.user(tenant_b, "admin").await;
        let theirs = app.client(&admin_b, "Bruno", "Bianchi").await;
        let nobody = CustomerId::new();

        for id in [theirs, nobody] {
            let path = format!("/api/v1/customers/{id}");
            let replies = [
                app.get(&path, &admin_a).await,
                app.patch(&path, &admin_a, json!({"first_name": "Hacked"})).await,
                app.delete(&path, &admin_a).await,
                app.post(&format!("{path}/restore"), &admin_a, json!({})).await,
                app.get(&format!("{path}/notes"), &admin_a).await,
                app.post(&format!("{path}/notes"), &admin_a, json!({"body": "hi"})).await,
            ];
            for reply in replies {
                assert_eq!(reply.problem(404, "not_found").body["detail"], "customer not found");
            }
        }
        let filtered = format!("/api/v1/customers?partner_id={theirs}&include_deleted=true");
        assert!(ids(&app.get(&filtered, &admin_a).await.expect(200)).is_empty());
        assert!(ids(&app.get("/api/v1/customers", &admin_a).await.expect(200)).is_empty());

        let untouched = app.get(&format!("/api/v1/customers/{theirs}"), &admin_b).await.expect(200);
        assert_eq!(untouched.body["first_name"], "Bruno");
        assert_eq!(untouched.body["version"], 1);
        assert_eq!(untouched.body["notes"], json!([]));
        assert_eq!(ids(&app.get("/api/v1/customers", &admin_b).await.expect(200)), vec![theirs]);
    }

    async fn a_customer_cannot_be_linked_to_another_tenants_partner(app: &TestApp) {
        let tenant_a = app.tenant().await;
        let tenant_b = app.tenant().await;
        let admin_a = app.user(tenant_a, "admin").await;
        let admin_b = app.user(tenant_b, "admin").await;
        let agency_b = app.partner_company(&admin_b, "B agency").await;
        let mine = app.client(&admin_a, "Mario", "Rossi").await;
        let reply = app.patch(&format!("/api/v1/customers/{mine}"), &admin_a, json!({"partner_id": agency_b})).await;
        reply.problem(422, "validation_failed");
    }

    async fn a_partner_sees_neither_other_partners_clients_nor_other_tenants(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let mine = app.partner_company(&admin, "Mine").await;
        let theirs = app.partner_company(&admin, "Theirs").await;
        let partner = app.partner_user(tenant, mine).await;
        let their_client = app.post("/api/v1/customers", &admin, json!({"first_name": "T", "last_name": "C", "partner_id": theirs})).await.expect(201).id();
        let my_client = app.post("/api/v1/customers", &partner, json!({"first_name": "M", "last_name": "C"})).await.expect(201).id();
        assert_eq!(ids(&app.get("/api/v1/customers", &partner).await.expect(200)), vec![my_client]);
        let filtered = app.get(&format!("/api/v1/customers?partner_id={theirs}"), &partner).await.expect(200);
        assert!(ids(&filtered).is_empty());
        app.get(&format!("/api/v1/customers/{their_client}"), &partner).await.problem(404, "not_found");

        // A token only works for its own tenant: it cannot be replayed against another.
        let other_tenant = app.tenant().await;
        let other_admin = app.user(other_tenant, "admin").await;
        let other_client = app.client(&other_admin, "O", "T").await;
        let request = app.request(Method::GET, &format!("/api/v1/customers/{other_client}"), &partner);
        app.send(request).await.problem(404, "not_found");
    }
}
