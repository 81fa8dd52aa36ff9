//! Exports: streamed CSV with chosen columns and filters, neutralised formulas, the Excel variant,
//! large lists across pages; and one person's data as JSON.

use clientele_core::accounts::auth::Actor;
use clientele_core::customers::input::CustomerInput;
use clientele_core::ids::TenantId;
use reqwest::Method;
use serde_json::json;

use crate::harness::{PDF, Session, TestApp};

/// The raw body and content type of a GET.
async fn fetch(app: &TestApp, path: &str, session: &Session) -> (u16, String, Vec<u8>) {
    let response = app.request(Method::GET, path, session).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, content_type, response.bytes().await.unwrap().to_vec())
}

/// CSV rows (header first).
fn rows(body: &[u8], delimiter: u8) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .from_reader(body)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

async fn bulk(app: &TestApp, tenant: TenantId, count: usize) {
    let inputs: Vec<CustomerInput> = (0..count)
        .map(|i| serde_json::from_value(json!({"first_name": format!("Bulk{i}"), "last_name": "Export"})).unwrap())
        .collect();
    let outcome = app.app.create_customers(&Actor::command_line(tenant), inputs).await.unwrap();
    assert_eq!(outcome.created.len(), count);
}

http_test! {
    async fn customers_export_as_csv_with_columns_filters_and_safe_cells(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let rossi = app.post("/api/v1/customers", &admin, json!({
            "first_name": "Nicolò", "last_name": "Rossi", "email": "nicolo@example.com", "phone": "333 123 4567",
            "address": {"line1": "Via Roma 1, \"interno\" 2; scala B", "city": "Roma", "country": "IT"}
        })).await.expect(201).id();
        let formula = app.post("/api/v1/customers", &admin, json!({
            "first_name": "=HYPERLINK(\"x\")", "last_name": "@Evil", "external_ref": "-42"
        })).await.expect(201).id();
        let agency = app.partner_company(&admin, "Agenzia Sole").await;
        let other_tenant = app.tenant().await;
        let other_admin = app.user(other_tenant, "admin").await;
        app.client(&other_admin, "Not", "Mine").await;

        let (status, content_type, body) = fetch(app, "/api/v1/exports/customers.csv", &admin).await;
        assert_eq!((status, content_type.as_str()), (200, "text/csv; charset=utf-8"));
        let table = rows(&body, b',');
        assert_eq!(table[0], clientele_core::exports::columns::COLUMNS);
        assert_eq!(table.len(), 4, "header and this tenant's three customers");
        let column = |name: &str| table[0].iter().position(|c| c == name).unwrap();
        let row_of = |id: clientele_core::ids::CustomerId| table.iter().find(|r| r[0] == id.to_string()).unwrap();
        let rossi_row = row_of(rossi);
        assert_eq!(rossi_row[column("first_name")], "Nicolò");
        assert_eq!(rossi_row[column("phone")], "'+393331234567", "a leading + is neutralised");
        assert_eq!(rossi_row[column("address.line1")], "Via Roma 1, \"interno\" 2; scala B", "quoting round-trips");
        assert_eq!(rossi_row[column("blacklist")], "none");
        let formula_row = row_of(formula);
        assert_eq!(formula_row[column("first_name")], "'=HYPERLINK(\"x\")");
        assert_eq!(formula_row[column("last_name")], "'@Evil");
        assert_eq!(formula_row[column("external_ref")], "'-42");
        assert!(!String::from_utf8_lossy(&body).contains("Not,Mine"), "another tenant's customer leaked");

        let (_, _, body) = fetch(app, "/api/v1/exports/customers.csv?columns=last_name,email&kind=client", &admin).await;
        let table = rows(&body, b',');
        assert_eq!(table[0], ["last_name", "email"]);
        assert_eq!(table.len(), 3, "the partner company is filtered out");
        assert!(table.iter().any(|r| r == &["Rossi", "nicolo@example.com"]));

        let (_, _, body) = fetch(app, "/api/v1/exports/customers.csv?format=excel&columns=company_name&kind=partner", &admin).await;
        assert!(body.starts_with("\u{feff}".as_bytes()), "Excel needs the BOM");
        assert_eq!(String::from_utf8(body[3..].to_vec()).unwrap(), "company_name\r\nAgenzia Sole\r\n");
        let _ = agency;

        app.delete(&format!("/api/v1/customers/{formula}"), &admin).await.expect(204);
        let (_, _, body) = fetch(app, "/api/v1/exports/customers.csv?columns=id", &admin).await;
        assert_eq!(rows(&body, b',').len(), 3);
        let (_, _, body) = fetch(app, "/api/v1/exports/customers.csv?columns=id,deleted&include_deleted=true", &admin).await;
        assert!(rows(&body, b',').iter().any(|r| r == &[formula.to_string(), "true".to_owned()]));

        let reply = app.get("/api/v1/exports/customers.csv?columns=id,password", &admin).await.problem(400, "invalid_query");
        assert_eq!(reply.fields()[0].0, "columns");
        app.get("/api/v1/exports/customers.csv?format=xlsx", &admin).await.problem(400, "invalid_query");
        app.get("/api/v1/exports/customers.csv?vip=perhaps", &admin).await.problem(400, "invalid_query");
        app.get("/api/v1/exports/customers.csv", &operator).await.problem(403, "forbidden");

        let audit = app.get("/api/v1/audit?action=customers.exported", &admin).await.expect(200);
        assert_eq!(audit.body["items"].as_array().unwrap().len(), 5, "every export is audited");
        assert_eq!(audit.body["items"][0]["changes"]["columns"], json!(["id", "deleted"]));
    }

    async fn a_large_export_streams_every_page_exactly_once(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        bulk(app, tenant, 2_345).await;
        let (status, _, body) = fetch(app, "/api/v1/exports/customers.csv?columns=id,first_name", &admin).await;
        assert_eq!(status, 200);
        let table = rows(&body, b',');
        assert_eq!(table.len(), 2_346);
        let mut ids: Vec<&String> = table[1..].iter().map(|r| &r[0]).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 2_345, "no row twice, none lost across pages");
    }

    async fn one_persons_data_exports_as_versioned_json(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let customer = app.post("/api/v1/customers", &operator, json!({
            "first_name": "Anna", "last_name": "Bianchi", "email": "anna@example.com",
            "notes": ["prefers automatic cars"]
        })).await.expect(201).id();
        app.upload(&operator, customer, "passport", &[], PDF).await.expect(201);
        app.get(&format!("/api/v1/customers/{customer}/documents"), &operator).await.expect(200);

        let export = app.get(&format!("/api/v1/customers/{customer}/export"), &admin).await.expect(200);
        let body = &export.body;
        assert_eq!(body["schema"], "clientele.personal-data/2");
        assert_eq!(body["customer"]["id"], json!(customer));
        assert_eq!(body["customer"]["email"], "anna@example.com");
        assert_eq!(body["notes"][0]["body"], "prefers automatic cars");
        assert_eq!(body["documents"][0]["kind"], "passport");
        assert_eq!(body["orders"], json!([]));
        let actions: Vec<&str> = body["access"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["document.viewed", "document.uploaded", "customer.created"]);
        assert_eq!(body["access"][0]["actor_role"], "operator");
        assert!(body["access"][0].get("actor_id").is_none(), "who exactly is not disclosed");

        app.get(&format!("/api/v1/customers/{customer}/export"), &operator).await.problem(403, "forbidden");
        let other = app.tenant().await;
        let other_admin = app.user(other, "admin").await;
        app.get(&format!("/api/v1/customers/{customer}/export"), &other_admin).await.problem(404, "not_found");
        let audit = app.get(&format!("/api/v1/audit?customer_id={customer}&action=customer.personal_data_exported"), &admin).await;
        assert_eq!(audit.expect(200).body["items"].as_array().unwrap().len(), 1);
    }
}
