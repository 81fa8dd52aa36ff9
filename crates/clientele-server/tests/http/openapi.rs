//! The OpenAPI document is generated from the router and snapshot-tested, so it cannot drift
//! unnoticed. After an intended API change: `cargo insta review` (or INSTA_UPDATE=always).

use reqwest::Method;

#[test]
fn the_openapi_document_matches_the_snapshot() {
    let document = serde_json::to_value(clientele_server::openapi()).unwrap();
    insta::assert_json_snapshot!("openapi", document);
}

http_test! {
    async fn the_served_document_is_the_generated_one_and_the_docs_page_is_self_contained(app: &TestApp) {
        let served = app.call(Method::GET, "/api/openapi.json", None, None).await.expect(200);
        assert_eq!(served.body, serde_json::to_value(clientele_server::openapi()).unwrap());
        let page = reqwest::get(format!("{}/api/docs/", app.base)).await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("swagger-ui-bundle.js"));
        assert!(!html.contains("http://") && !html.contains("https://"), "no assets from elsewhere");
        let script = reqwest::get(format!("{}/api/docs/swagger-ui-bundle.js", app.base)).await.unwrap();
        assert_eq!(script.status(), 200);
    }
}

/// The document is exact where a client relies on it: every operation lists what it may answer
/// (400 for what is refused before its service, 401 and 403 when it needs a token, 404 when its
/// path names a resource, 413, 415 and 422 when it takes a body, 503 when the database stays
/// busy), each as problem+json; and a reader's narrow view is closed, so that a full response
/// matches one branch of a `oneOf`, not both.
#[test]
fn every_operation_lists_its_refusals_and_narrow_views_match_only_narrow_responses() {
    let document = serde_json::to_value(clientele_server::openapi()).unwrap();
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let responses = operation["responses"].as_object().unwrap();
            let mut expected = vec!["400", "503"];
            if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
                expected.extend(["401", "403"]);
            }
            if path.contains('{') {
                expected.push("404");
            }
            if operation.get("requestBody").is_some() {
                expected.extend(["413", "415", "422"]);
            }
            for code in expected {
                let response = responses.get(code).unwrap_or_else(|| panic!("{method} {path} lists no {code}"));
                assert!(response["content"].get("application/problem+json").is_some(), "{method} {path} {code}");
            }
        }
    }
    assert!(operations > 60, "{operations} operations");
    let schemas = &document["components"]["schemas"];
    for (view, narrow) in [("CustomerRead", "CustomerContact"), ("OrderRead", "DriverOrder")] {
        assert_eq!(schemas[narrow]["additionalProperties"], false, "{narrow} is closed");
        let branches: Vec<&str> =
            schemas[view]["oneOf"].as_array().unwrap().iter().map(|b| b["$ref"].as_str().unwrap()).collect();
        let full = branches.iter().find(|b| !b.ends_with(narrow)).unwrap().rsplit('/').next().unwrap();
        // The full view requires a field the narrow one has not: a full response carries it, so
        // it fails the closed narrow schema, and a narrow response lacks it, so it fails the full.
        let narrow_fields: Vec<&String> = schemas[narrow]["properties"].as_object().unwrap().keys().collect();
        let required: Vec<&str> = schemas[full]["allOf"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|part| part["required"].as_array())
            .flatten()
            .filter_map(|r| r.as_str())
            .collect();
        assert!(required.iter().any(|r| !narrow_fields.iter().any(|n| n == r)), "{view}: {full} requires {required:?}");
    }
    assert!(schemas["CustomerPage"].get("anyOf").is_some(), "an empty page is either view's");
}

/// Every `limit` parameter says its bounds (1 to 200, or to 50 for the place search).
#[test]
fn every_limit_parameter_is_bounded() {
    let document = serde_json::to_value(clientele_server::openapi()).unwrap();
    let mut limits = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["name"] != "limit" {
                    continue;
                }
                limits += 1;
                let schema = &parameter["schema"];
                assert_eq!(schema["minimum"], 1, "{method} {path}: {schema}");
                assert!(schema["maximum"] == 200 || schema["maximum"] == 50, "{method} {path}: {schema}");
            }
        }
    }
    assert!(limits >= 9, "{limits} limit parameters");
}

/// Every operation has an id of its own, as OpenAPI requires: generated clients name their
/// methods after them, and links between operations (schemathesis infers them from `Location`
/// headers) name their target by it. Nine ids were shared (`get`, `list`, `get_settings`, ...)
/// until schemathesis's stateful phase followed a link to the wrong operation.
#[test]
fn every_operation_id_is_unique() {
    let document = serde_json::to_value(clientele_server::openapi()).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(id) = operation.get("operationId").and_then(|id| id.as_str()) else { continue };
            if let Some(other) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("{id} is the id of {other} and of {method} {path}");
            }
        }
    }
    assert!(seen.len() > 60, "{} operation ids", seen.len());
}

/// The statuses the document lists for `method` on the path template `template`.
fn documented(method: &Method, template: &str) -> Vec<String> {
    let document = serde_json::to_value(clientele_server::openapi()).unwrap();
    let operation = &document["paths"][template][method.as_str().to_ascii_lowercase()];
    operation["responses"].as_object().unwrap_or_else(|| panic!("no {method} {template}")).keys().cloned().collect()
}

http_test! {
    /// What schemathesis met that the document did not list (`crates/clientele/tests/cli/
    /// schemathesis.rs` runs it): a role refused (403) where the annotation forgot it, an unknown
    /// id (404) on the blacklist's lift and an override's approval, a JSON `null` for a body
    /// (422). Each answer is the right one, and now a documented one.
    async fn the_refusals_schemathesis_met_are_in_the_document(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let driver = app.user(tenant, "driver").await;
        let agency = app.partner_company(&admin, "Agency").await;
        let partner = app.partner_user(tenant, agency).await;
        let platform = app.platform_admin().await;
        let customer = app.client(&admin, "Anna", "Rossi").await;
        let unknown = uuid::Uuid::now_v7();
        let cases = [
            (Method::PATCH, "/api/v1/customers/{id}", format!("/api/v1/customers/{customer}"), &driver, Some(serde_json::json!({"language": "it"})), 403),
            (Method::DELETE, "/api/v1/customers/{id}", format!("/api/v1/customers/{customer}"), &partner, None, 403),
            (Method::GET, "/api/v1/customers/{id}", format!("/api/v1/customers/{customer}"), &platform, None, 403),
            (Method::GET, "/api/v1/orders/{id}", format!("/api/v1/orders/{unknown}"), &partner, None, 403),
            (Method::PATCH, "/api/v1/orders/{id}", format!("/api/v1/orders/{unknown}"), &driver, Some(serde_json::json!({"status": "cancelled"})), 403),
            (Method::DELETE, "/api/v1/customers/{id}/blacklist", format!("/api/v1/customers/{unknown}/blacklist"), &admin, Some(serde_json::json!({"note": "00"})), 404),
            (Method::POST, "/api/v1/orders/{id}/approve-override", format!("/api/v1/orders/{unknown}/approve-override"), &admin, Some(serde_json::json!({"reason": "00"})), 404),
            (Method::DELETE, "/api/v1/blacklist/global/{id}", format!("/api/v1/blacklist/global/{unknown}"), &platform, Some(serde_json::Value::Null), 422),
        ];
        for (method, template, path, session, body, status) in cases {
            let reply = app.call(method.clone(), &path, Some(session), body).await;
            assert_eq!(reply.status.as_u16(), status, "{method} {path}: {}", reply.body);
            assert_eq!(reply.content_type, "application/problem+json");
            let listed = documented(&method, template);
            assert!(listed.contains(&status.to_string()), "{method} {template} answered {status}, listing only {listed:?}");
        }
    }
}
