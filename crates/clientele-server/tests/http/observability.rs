//! Observability: `/metrics` (off unless configured; a token or a listen address of its own),
//! labelled by route template and never by raw path, with the search, import, outbox and pool
//! figures; `/readyz` checking the database and the document store.

use reqwest::Method;
use serde_json::json;

use crate::harness::TestApp;
use clientele_server::MetricsOptions;

const TOKEN: &str = "metrics-token-of-the-tests";

fn token_only() -> MetricsOptions {
    MetricsOptions { token: Some(TOKEN.into()), separate_listener: false }
}

fn own_listener() -> MetricsOptions {
    MetricsOptions { token: None, separate_listener: true }
}

fn own_listener_and_token() -> MetricsOptions {
    MetricsOptions { token: Some(TOKEN.into()), separate_listener: true }
}

/// Declares tests on an app started with metrics options; each a module with `sqlite` and
/// `postgres` tests, like `http_test!`.
macro_rules! metrics_test {
    ($($name:ident($options:ident) => $check:ident;)*) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$check(&crate::harness::TestApp::sqlite_with_metrics(super::$options()).await).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(app) = crate::harness::TestApp::postgres_with_metrics(super::$options()).await {
                    super::$check(&app).await;
                }
            }
        }
    )*};
}

/// `GET {base}/metrics` with an optional bearer token: status, content type, text.
async fn scrape_at(base: &str, token: Option<&str>) -> (u16, String, String) {
    let mut request = reqwest::Client::new().get(format!("{base}/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// The metrics of a token-protected app.
async fn scrape(app: &TestApp) -> String {
    let (status, content_type, text) = scrape_at(&app.base, Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    text
}

/// The value of the sample line that starts with `series ` (name and labels exactly).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The sum of the samples of the series whose name is `name` (any labels).
fn total(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} ")))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

http_test! {
    async fn metrics_are_not_found_without_configuration(app: &TestApp) {
        let reply = app.call(Method::GET, "/metrics", None, None).await;
        reply.problem(404, "not_found");
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        app.get("/metrics", &admin).await.problem(404, "not_found");
    }

    async fn readiness_checks_the_database_and_the_document_store(app: &TestApp) {
        let ready = app.call(Method::GET, "/readyz", None, None).await.expect(200);
        assert_eq!(ready.body["status"], "ok");
        assert_eq!(ready.body["documents"], "ok");
        assert!(["sqlite", "postgres"].contains(&ready.body["database"].as_str().unwrap()));
        // The probe leaves nothing behind.
        let left: Vec<_> = walk(&app.documents_dir);
        assert!(left.is_empty(), "probe objects left behind: {left:?}");

        // The document store's directory is gone and a file stands in its place: nothing can
        // be written there.
        std::fs::remove_dir_all(&app.documents_dir).unwrap();
        std::fs::write(&app.documents_dir, b"not a directory").unwrap();
        let down = app.call(Method::GET, "/readyz", None, None).await.problem(503, "service_unavailable");
        let detail = down.body["detail"].as_str().unwrap();
        assert!(detail.contains("document store"), "{detail}");
        assert!(!detail.contains("database"), "the database is up: {detail}");

        std::fs::remove_file(&app.documents_dir).unwrap();
        std::fs::create_dir(&app.documents_dir).unwrap();
        app.call(Method::GET, "/readyz", None, None).await.expect(200);
    }
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { files.extend(walk(&path)) } else { files.push(path) }
    }
    files
}

metrics_test! {
    metrics_ask_for_the_token_and_label_requests_by_route_template(token_only) => token_and_route_templates;
    searches_and_imports_move_their_metrics(token_only) => searches_and_imports;
    the_outbox_and_the_pools_are_measured(token_only) => outbox_and_pools;
    webhook_delivery_attempts_are_counted_by_outcome(token_only) => delivery_attempts;
    metrics_on_their_own_listen_address_are_not_on_the_public_port(own_listener) => own_listen_address;
    metrics_on_their_own_listen_address_still_ask_for_a_token_when_one_is_set(own_listener_and_token) => own_listen_address_with_token;
}

async fn token_and_route_templates(app: &TestApp) {
    let (status, _, _) = scrape_at(&app.base, None).await;
    assert_eq!(status, 401, "no token");
    let (status, _, _) = scrape_at(&app.base, Some("metrics-token-of-the-test")).await;
    assert_eq!(status, 401, "a wrong token");
    let reply = app.call(Method::GET, "/metrics", None, None).await.problem(401, "unauthenticated");
    assert_eq!(reply.headers["www-authenticate"], "Bearer");

    let tenant = app.tenant().await;
    let admin = app.user(tenant, "admin").await;
    let id = app.client(&admin, "Ottavia", "Quercioli").await;
    app.get(&format!("/api/v1/customers/{id}"), &admin).await.expect(200);
    app.get(&format!("/api/v1/customers/{id}"), &admin).await.expect(200);
    app.get(&format!("/api/v1/customers/{}", uuid::Uuid::now_v7()), &admin).await.expect(404);
    app.get("/api/v1/customers?q=Quercioli", &admin).await.expect(200);
    app.call(Method::GET, "/no/such/path/4242", None, None).await.expect(404);
    let made_up = Method::from_bytes(b"FROBNICATE4242").unwrap();
    app.call(made_up, "/api/v1/customers", Some(&admin), None).await;

    let text = scrape(app).await;
    let series = |method: &str, route: &str, status: u16| {
        format!(
            "clientele_http_request_duration_seconds_count{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
        )
    };
    assert_eq!(sample(&text, &series("GET", "/api/v1/customers/{id}", 200)), Some(2.0), "{text}");
    assert_eq!(sample(&text, &series("GET", "/api/v1/customers/{id}", 404)), Some(1.0), "{text}");
    assert_eq!(sample(&text, &series("POST", "/api/v1/customers", 201)), Some(1.0), "{text}");
    assert_eq!(sample(&text, &series("GET", "unmatched", 404)), Some(1.0), "{text}");
    assert!(text.contains("method=\"other\""), "made-up methods are `other`: {text}");
    let bucket = "clientele_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/customers/{id}\",status=\"200\",le=\"+Inf\"}";
    assert_eq!(sample(&text, bucket), Some(2.0), "a histogram, with buckets: {text}");
    assert!(text.contains("# TYPE clientele_http_request_duration_seconds histogram"), "{text}");
    // Never a raw path, an id, a query or a name.
    for raw in [id.to_string(), "Quercioli".into(), "4242".into(), tenant.to_string(), "FROBNICATE".into()] {
        assert!(!text.contains(&raw), "{raw} leaked into the metrics");
    }
}

async fn searches_and_imports(app: &TestApp) {
    let before = scrape(app).await;
    assert_eq!(total(&before, "clientele_search_duration_seconds_count"), 0.0);
    assert_eq!(sample(&before, "clientele_import_rows_processed_total"), Some(0.0), "{before}");

    let tenant = app.tenant().await;
    let admin = app.user(tenant, "admin").await;
    app.client(&admin, "Ermenegilda", "Scarabelli").await;
    app.get("/api/v1/customers?q=Scarabelli", &admin).await.expect(200);
    app.get("/api/v1/customers?q=Ermenegilda%20Scara", &admin).await.expect(200);
    let file = "first_name;last_name\nAnna;Bianchi\nLuca;Neri\n;Galli\n";
    let job = crate::imports::import(app, &admin, "", file.into()).await;
    assert_eq!(job["status"], "succeeded", "{job}");

    let after = scrape(app).await;
    assert_eq!(total(&after, "clientele_search_duration_seconds_count"), 2.0, "{after}");
    let tiers: Vec<&str> = after
        .lines()
        .filter(|l| l.starts_with("clientele_search_duration_seconds_count{"))
        .map(|l| l.split('"').nth(1).unwrap())
        .collect();
    assert!(!tiers.is_empty() && tiers.iter().all(|t| ["exact", "prefix", "substring", "typo"].contains(t)), "{after}");
    assert_eq!(sample(&after, "clientele_import_rows_processed_total"), Some(3.0), "{after}");
    assert!(!after.contains("Scarabelli") && !after.contains("Ermenegilda"));
}

async fn outbox_and_pools(app: &TestApp) {
    let tenant = app.tenant().await;
    let admin = app.user(tenant, "admin").await;
    app.client(&admin, "Anna", "Bianchi").await;
    let text = scrape(app).await;
    for gauge in [
        "clientele_outbox_pending_deliveries",
        "clientele_outbox_lag_seconds",
        "clientele_outbox_failed_deliveries_last_day",
    ] {
        assert!(sample(&text, gauge).is_some(), "{gauge} missing: {text}");
    }
    let backend = app.app.store().backend();
    let pools: &[&str] = if backend == "sqlite" { &["read", "write"] } else { &["main"] };
    for pool in pools {
        let max = sample(&text, &format!("clientele_db_pool_max_connections{{pool=\"{pool}\"}}"));
        assert!(max.is_some_and(|m| m >= 1.0), "{pool}: {text}");
        let size = sample(&text, &format!("clientele_db_pool_connections{{pool=\"{pool}\"}}")).unwrap();
        let idle = sample(&text, &format!("clientele_db_pool_idle_connections{{pool=\"{pool}\"}}")).unwrap();
        assert!(idle <= size && size <= max.unwrap(), "{pool}: {text}");
    }
}

async fn own_listen_address(app: &TestApp) {
    app.call(Method::GET, "/metrics", None, None).await.problem(404, "not_found");
    let base = app.metrics_base.as_deref().unwrap();
    let tenant = app.tenant().await;
    let admin = app.user(tenant, "admin").await;
    app.post("/api/v1/customers", &admin, json!({"first_name": "Anna", "last_name": "Bianchi"})).await.expect(201);
    let (status, content_type, text) = scrape_at(base, None).await;
    assert_eq!(status, 200, "{text}");
    assert!(content_type.starts_with("text/plain; version=0.0.4"));
    let series =
        "clientele_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/customers\",status=\"201\"}";
    assert_eq!(sample(&text, series), Some(1.0), "{text}");
    // Only /metrics there.
    let other = reqwest::Client::new().get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(other.status(), 404);
}

async fn own_listen_address_with_token(app: &TestApp) {
    app.call(Method::GET, "/metrics", None, None).await.problem(404, "not_found");
    let (status, _, _) = scrape_at(&app.base, Some(TOKEN)).await;
    assert_eq!(status, 404, "not on the public port, even with the token");
    let base = app.metrics_base.as_deref().unwrap();
    assert_eq!(scrape_at(base, None).await.0, 401);
    assert_eq!(scrape_at(base, Some("wrong")).await.0, 401);
    assert_eq!(scrape_at(base, Some(TOKEN)).await.0, 200);
}

async fn delivery_attempts(app: &TestApp) {
    let receiver = crate::receiver::Receiver::start().await;
    let tenant = app.tenant().await;
    let admin = app.user(tenant, "admin").await;
    for path in ["/ok", "/fail"] {
        let body = json!({"url": receiver.url(path), "events": ["customer.created"]});
        app.post("/api/v1/webhooks", &admin, body).await.expect(201);
    }
    app.client(&admin, "Anna", "Bianchi").await;
    receiver.wait("/ok", |r| !r.is_empty()).await;
    receiver.wait("/fail", |r| !r.is_empty()).await;
    // The attempt is counted once its answer is in: wait for it (progress is the metric moving).
    let outcome = |text: &str, outcome: &str| {
        sample(text, &format!("clientele_webhook_delivery_attempts_total{{outcome=\"{outcome}\"}}")).unwrap_or(0.0)
    };
    let started = std::time::Instant::now();
    loop {
        let text = scrape(app).await;
        if outcome(&text, "succeeded") >= 1.0 && outcome(&text, "retrying") + outcome(&text, "failed") >= 1.0 {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "attempts not counted: {text}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
