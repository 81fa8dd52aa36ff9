//! Several server processes on one SQLite file: their writes wait for each other instead of
//! failing, and a write that waits too long is a `503` to retry, never a `500`.

use std::time::Duration;

use clientele_store::StoreOptions;
use clientele_store::testing::SqliteWriteLock;
use serde_json::json;

use crate::harness::{Reply, TestApp};

/// True for the answers a client may get to a write while another process writes: done, or
/// `503 database_busy` with a `Retry-After`.
fn done_or_retry_later(reply: &Reply) -> bool {
    match reply.status.as_u16() {
        201 => true,
        503 => reply.code() == "database_busy" && reply.headers.contains_key("retry-after"),
        _ => false,
    }
}

#[tokio::test]
async fn two_servers_on_one_sqlite_file_create_customers_at_once_and_none_gets_a_500() {
    let first = TestApp::sqlite().await;
    let second = first.twin(StoreOptions::default()).await;
    let tenant = first.tenant().await;
    let admin = first.user(tenant, "admin").await;
    let mut writes = Vec::new();
    for i in 0..40 {
        for app in [&first, &second] {
            let body = json!({"first_name": format!("Writer{i}"), "last_name": "Concurrent", "email": format!("w{i}@example.com")});
            writes.push(app.post("/api/v1/customers", &admin, body));
        }
    }
    let replies = futures_util::future::join_all(writes).await;
    let wrong: Vec<String> =
        replies.iter().filter(|r| !done_or_retry_later(r)).map(|r| format!("{} {}", r.status, r.body)).collect();
    assert!(wrong.is_empty(), "{} of {} writes failed:\n{}", wrong.len(), replies.len(), wrong.join("\n"));
    let created = replies.iter().filter(|r| r.status == 201).count();
    let listed = first.get("/api/v1/customers?limit=200", &admin).await.expect(200);
    assert_eq!(listed.body["items"].as_array().unwrap().len(), created);
}

#[tokio::test]
async fn a_write_that_waits_longer_than_the_busy_timeout_is_a_503_with_retry_after() {
    let app = TestApp::sqlite().await;
    let tenant = app.tenant().await;
    let admin = app.user(tenant, "admin").await;
    // The test holds the lock, so only a short wait is needed to see the writer give up.
    let impatient =
        app.twin(StoreOptions { acquire_timeout: Duration::from_millis(200), ..StoreOptions::default() }).await;
    let body = json!({"first_name": "Anna", "last_name": "Waits"});
    let lock = SqliteWriteLock::take(&app.database_url).await;
    let reply = impatient.post("/api/v1/customers", &admin, body.clone()).await.problem(503, "database_busy");
    let retry_after: u64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    lock.release().await;
    impatient.post("/api/v1/customers", &admin, body).await.expect(201);
}
