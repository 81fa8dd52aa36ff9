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
