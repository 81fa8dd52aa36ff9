//! Security headers: every answer, API answers, the docs page, and HSTS behind TLS.

use clientele_server::HttpOptions;
use reqwest::Method;

use crate::harness::{Reply, TestApp};

/// Every kind of answer: a probe, an API page, an API error, a route that does not exist, the
/// OpenAPI document and the docs page.
async fn every_kind_of_answer(app: &TestApp) -> Vec<(String, Reply)> {
    let tenant = app.tenant().await;
    let admin = app.user(tenant, "admin").await;
    let mut replies = Vec::new();
    for path in ["/healthz", "/api/v1/customers", "/api/v1/nothing-here", "/api/openapi.json", "/api/docs/"] {
        replies.push((format!("{path} signed in"), app.get(path, &admin).await));
        replies.push((path.to_owned(), app.call(Method::GET, path, None, None).await));
    }
    replies.push(("an export".into(), app.get("/api/v1/exports/customers.csv", &admin).await));
    replies
}

fn header<'a>(reply: &'a Reply, name: &str) -> &'a str {
    reply.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

http_test! {
    async fn every_answer_forbids_content_sniffing_and_sends_no_referrer(app: &TestApp) {
        for (what, reply) in every_kind_of_answer(app).await {
            assert_eq!(header(&reply, "x-content-type-options"), "nosniff", "{what}");
            assert_eq!(header(&reply, "referrer-policy"), "no-referrer", "{what}");
            assert_eq!(header(&reply, "strict-transport-security"), "", "{what}: no HSTS unless behind TLS");
        }
    }

    async fn api_answers_which_carry_personal_data_are_never_stored_by_caches(app: &TestApp) {
        for (what, reply) in every_kind_of_answer(app).await {
            if what.starts_with("/api/v1/") || what == "an export" {
                assert_eq!(header(&reply, "cache-control"), "no-store", "{what}");
            }
        }
    }

    async fn the_docs_page_may_not_be_framed_and_runs_only_its_own_scripts(app: &TestApp) {
        let page = app.client_get("/api/docs/").await;
        assert_eq!(page.status(), 200);
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("'unsafe-eval'"), "{csp}");
        assert_eq!(page.headers()["x-frame-options"], "DENY");
        // Its scripts are the server's own files, allowed by the policy, and each is served.
        let html = page.text().await.unwrap();
        assert!(!html.contains("<script>"), "an inline script the policy would block");
        let scripts: Vec<&str> = html.split("<script src=\"").skip(1).filter_map(|s| s.split('"').next()).collect();
        assert!(!scripts.is_empty());
        for script in scripts {
            assert!(!script.contains("://"), "{script} is not the server's own");
            let served = app.client_get(&format!("/api/docs/{}", script.trim_start_matches("./"))).await;
            assert_eq!(served.status(), 200, "{script}");
        }
    }
}

#[tokio::test]
async fn behind_tls_every_answer_asks_browsers_to_use_https_only() {
    let app = TestApp::sqlite_with_http(HttpOptions { behind_tls: true, ..HttpOptions::default() }).await;
    for (what, reply) in every_kind_of_answer(&app).await {
        assert_eq!(header(&reply, "strict-transport-security"), "max-age=31536000", "{what}");
    }
}
