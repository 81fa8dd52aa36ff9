//! The outbox across a crash: a real `clientele serve` killed (`kill -9`) with webhook
//! deliveries in flight, then started again. Nothing committed is lost, a delivery whose
//! success was recorded before the kill is never sent again, and the CLI shows the outbox.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use crate::{Server, clientele, sqlite_url, tenant_with_admin};

/// What the receiver does with a message: answer 200 now, or hold it (never answer).
#[derive(Debug, Default)]
struct Receiver {
    hold: Mutex<bool>,
    /// Each message's id and customer, with the phase it arrived in (0 before the kill, 1 after).
    got: Mutex<Vec<(String, String, u8)>>,
    phase: Mutex<u8>,
}

async fn receive(State(receiver): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let id = headers["webhook-id"].to_str().unwrap_or_default().to_owned();
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let customer = body["data"]["customer"]["id"].as_str().unwrap_or_default().to_owned();
    let phase = *receiver.phase.lock().unwrap();
    receiver.got.lock().unwrap().push((id, customer, phase));
    if *receiver.hold.lock().unwrap() {
        std::future::pending::<()>().await;
    }
    StatusCode::OK
}

#[test]
fn deliveries_in_flight_when_the_server_is_killed_are_sent_after_it_restarts_and_recorded_ones_never_again_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    survive_a_crash_with_deliveries_in_flight(dir.path(), &sqlite_url(dir.path()));
}

#[test]
fn deliveries_in_flight_when_the_server_is_killed_are_sent_after_it_restarts_and_recorded_ones_never_again_on_postgres()
{
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let Some(db) = runtime.block_on(clientele_store::testing::TestDatabase::postgres()) else { return };
    runtime.block_on(db.sql_store().close());
    let dir = tempfile::tempdir().unwrap();
    survive_a_crash_with_deliveries_in_flight(dir.path(), db.url());
    drop(db);
}

fn survive_a_crash_with_deliveries_in_flight(dir: &Path, url: &str) {
    // Receivers on loopback; a timeout the held messages will not reach before the kill (the
    // test kills as soon as one is held), and a lease that runs out soon after. The master key
    // seals the endpoint's secret (on SQLite one would be made beside the database).
    std::fs::write(
        dir.join("clientele.toml"),
        "[webhooks]\nallow_private_hosts = true\ntimeout = \"5s\"\nretry_schedule = [\"100ms\", \"100ms\", \"100ms\"]\n\
         [documents]\nmaster_key = \"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\"\n",
    )
    .unwrap();
    let (tenant, token) = tenant_with_admin(dir, url, "Outbox");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let receiver = Arc::new(Receiver::default());
    let hook_url = runtime.block_on(async {
        let router = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{address}/hook")
    });
    let http = reqwest::Client::new();
    let first = Server::start(dir, url, &[]);
    let (hook, created) = runtime.block_on(async {
        let made: Value = http
            .post(format!("{}/api/v1/webhooks", first.base))
            .bearer_auth(&token)
            .json(&json!({"url": hook_url, "events": ["customer.created"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hook = made["id"].as_str().expect("an endpoint").to_owned();
        let mut created = Vec::new();
        for i in 0..20 {
            created.push(customer(&http, &first.base, &token, &format!("Before{i}")).await);
        }
        (hook, created)
    });
    // The first twenty are delivered and recorded; then the receiver holds what comes.
    let recorded = runtime.block_on(succeeded(&http, &first.base, &token, &hook, 20));
    *receiver.hold.lock().unwrap() = true;
    let mut after = runtime.block_on(async {
        let mut after = Vec::new();
        for i in 0..20 {
            after.push(customer(&http, &first.base, &token, &format!("After{i}")).await);
        }
        after
    });
    let patience = Instant::now();
    while receiver.got.lock().unwrap().len() <= 20 {
        assert!(patience.elapsed() < Duration::from_secs(60), "no delivery of the second twenty began");
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(first); // kill -9, with deliveries in flight
    *receiver.phase.lock().unwrap() = 1;
    *receiver.hold.lock().unwrap() = false;

    let second = Server::start(dir, url, &[]);
    let done = runtime.block_on(succeeded(&http, &second.base, &token, &hook, 40));
    let got = receiver.got.lock().unwrap().clone();
    // Nothing lost: every customer's event was delivered, and recorded as such.
    assert_eq!(done.len(), 40);
    let mut all = created.clone();
    all.append(&mut after);
    let delivered_customers: HashSet<&String> = got.iter().map(|(_, customer, _)| customer).collect();
    assert_eq!(delivered_customers, all.iter().collect::<HashSet<_>>());
    // A success recorded before the kill is never sent again.
    for (id, _, phase) in &got {
        assert!(!(*phase == 1 && recorded.contains(id)), "{id} was recorded as delivered, and sent again");
    }
    // The outbox, from the command line.
    let status = clientele(dir, url, &["outbox", "status"]);
    let text = String::from_utf8(status.stdout).unwrap();
    assert!(text.contains("deliveries pending: 0"), "{text}");
    let listed =
        clientele(dir, url, &["webhooks", "deliveries", "--tenant", &tenant, "--webhook", &hook, "--limit", "200"]);
    let text = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(text.lines().filter(|l| l.contains("\tsucceeded\t")).count(), 40, "{text}");
    let webhooks = clientele(dir, url, &["webhooks", "list", "--tenant", &tenant]);
    assert!(String::from_utf8(webhooks.stdout).unwrap().starts_with(&format!("{hook}\tenabled\t{hook_url}")));
    drop(second);
}

/// Creates a customer; its id.
async fn customer(http: &reqwest::Client, base: &str, token: &str, last: &str) -> String {
    let reply = http
        .post(format!("{base}/api/v1/customers"))
        .bearer_auth(token)
        .json(&json!({"first_name": "Anna", "last_name": last}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    reply.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// Waits until `count` deliveries of the endpoint succeeded (failing only when nothing changes
/// for two minutes: a restarted server first waits out the lease of what was in flight); their
/// ids.
async fn succeeded(http: &reqwest::Client, base: &str, token: &str, hook: &str, count: usize) -> HashSet<String> {
    let (mut last, mut since) = (String::new(), Instant::now());
    loop {
        let page: Value = http
            .get(format!("{base}/api/v1/webhooks/{hook}/deliveries?limit=200&status=succeeded"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= count {
            return items.iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
        }
        let now = page.to_string();
        if now != last {
            (last, since) = (now, Instant::now());
        }
        assert!(since.elapsed() < Duration::from_secs(120), "deliveries stopped at {}: {page}", items.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
