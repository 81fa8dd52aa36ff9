//! Faults the service must survive without a restart and without half-written state: the
//! database going away under load (PostgreSQL restarting, a network cut), and a document store
//! that is full or not writable.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clientele_store::StoreOptions;
use reqwest::Method;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::harness::{PDF, Reply, TestApp};

/// A TCP proxy in front of PostgreSQL that can go down: then it cuts every open connection and
/// closes new ones as it accepts them, as a restarting server does; up again, it forwards.
struct Proxy {
    /// The database URL, through this proxy.
    url: String,
    up: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
}

impl Proxy {
    /// A proxy in front of the database server `database_url` names.
    async fn start(database_url: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (target, url) = through(database_url, listener.local_addr().unwrap().port());
        let up = Arc::new(AtomicBool::new(true));
        let (cut, cuts) = watch::channel(0_u64);
        let is_up = up.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !is_up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let target = target.clone();
                let mut cuts = cuts.clone();
                // Only cuts from now on end this connection.
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Self { url, up, cut }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// The database server's `host:port` in `url`, and `url` reaching it through `port` on loopback.
fn through(url: &str, port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (user, host) = authority.rsplit_once('@').map_or((None, authority), |(u, h)| (Some(u), h));
    let target = if host.contains(':') { host.to_owned() } else { format!("{host}:5432") };
    let user = user.map(|u| format!("{u}@")).unwrap_or_default();
    (target, format!("{scheme}://{user}127.0.0.1:{port}/{path}"))
}

fn unavailable(reply: &Reply) {
    assert_eq!(reply.status.as_u16(), 503, "{}", reply.body);
    assert_eq!(reply.content_type, "application/problem+json");
    assert!(reply.headers.contains_key("retry-after"), "{:?}", reply.headers);
}

/// PostgreSQL goes away while a server is busy with reads and writes: every request answers
/// `503` with `Retry-After` (never a 500, never a hang), a write made then changed nothing, and
/// once the database is back the same server answers again, without a restart.
#[tokio::test]
async fn a_database_that_goes_away_under_load_is_503_then_recovers_without_a_restart() {
    let Some(app) = TestApp::postgres().await else { return };
    let tenant = app.tenant().await;
    let admin = app.user(tenant, "admin").await;
    let customer = app.client(&admin, "Paola", "Pini").await;
    let proxy = Proxy::start(&app.database_url).await;
    let options = StoreOptions {
        max_connections: 4,
        acquire_timeout: std::time::Duration::from_secs(5),
        ..StoreOptions::default()
    };
    let server = app.twin_at(&proxy.url, options).await;
    let path = format!("/api/v1/customers/{customer}");
    let version = server.get(&path, &admin).await.expect(200).body["version"].clone();

    proxy.down();
    let load = (0..24).map(|i| {
        let (server, admin, path, version) = (&server, &admin, &path, &version);
        async move {
            match i % 3 {
                0 => server.get(path, admin).await,
                1 => server.get("/api/v1/customers?q=pini&limit=5", admin).await,
                _ => {
                    let patch = server.request(Method::PATCH, path, admin).header("if-match", format!("\"{version}\""));
                    server.send(patch.json(&json!({"first_name": "Changed"}))).await
                }
            }
        }
    });
    for reply in futures_util::future::join_all(load).await {
        unavailable(&reply);
    }
    let ready = server.client_get("/readyz").await;
    assert_eq!(ready.status().as_u16(), 503);

    proxy.up();
    // The pool drops the cut connections as it hands them out and opens new ones: the first
    // requests after the database is back succeed.
    let load = (0..12).map(|_| server.get(&path, &admin));
    for reply in futures_util::future::join_all(load).await {
        let body = reply.expect(200).body;
        assert_eq!(body["first_name"], "Paola", "the write made while the database was away changed nothing");
        assert_eq!(body["version"], version);
    }
    let patch = server.request(Method::PATCH, &path, &admin).header("if-match", format!("\"{version}\""));
    server.send(patch.json(&json!({"first_name": "Paolina"}))).await.expect(200);
    assert_eq!(server.client_get("/readyz").await.status().as_u16(), 200);
}

http_test! {
    /// The document store cannot take a file (its directory is gone, replaced by a file): the
    /// upload is `503 documents_unavailable` saying so in words (no server path), nothing is
    /// listed, and no row waits without its file; once the store is back, uploads work.
    async fn an_unwritable_document_store_refuses_the_upload_and_keeps_nothing(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let customer = app.client(&admin, "Dario", "Doni").await;
        let dir = app.documents_dir.clone();
        let moved = dir.with_extension("moved");
        std::fs::rename(&dir, &moved).unwrap();
        std::fs::write(&dir, b"not a directory").unwrap();

        let reply = app.upload(&admin, customer, "passport", &[], PDF).await.problem(503, "documents_unavailable");
        unavailable(&reply);
        let detail = reply.body["detail"].as_str().unwrap();
        assert!(detail.contains("document store could not write the file"), "{detail}");
        assert!(!detail.contains(&*dir.to_string_lossy()), "no server path in {detail}");
        let listed = app.get(&format!("/api/v1/customers/{customer}/documents"), &admin).await.expect(200).body;
        assert_eq!(listed["items"].as_array().map(Vec::len), Some(0), "{listed}");

        std::fs::remove_file(&dir).unwrap();
        std::fs::rename(&moved, &dir).unwrap();
        app.upload(&admin, customer, "passport", &[], PDF).await.expect(201);
        let listed = app.get(&format!("/api/v1/customers/{customer}/documents"), &admin).await.expect(200).body;
        assert_eq!(listed["items"].as_array().map(Vec::len), Some(1), "{listed}");
    }
}
