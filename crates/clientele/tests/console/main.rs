//! The operator console in a real browser: headless Chromium (Debian's `chromium` package)
//! driven by playwright-core (`e2e/`, installed with `npm ci`), against a real
//! `clientele serve --demo` on SQLite (with a local fake of Stripe and its Stripe.js, for the
//! card form), and the smoke path on PostgreSQL. The script is
//! `e2e/console.test.mjs`; its screenshots land in a folder this test prints.
//!
//! Without Chromium, Node.js or `e2e/node_modules` the browser tests cannot run: they fail when
//! `CI` is set (`.ci/run` installs all three), and elsewhere say on the terminal that they were
//! skipped, as the PostgreSQL halves do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use clientele_integrations::testing::stripe::{FakeStripe, PUBLISHABLE_KEY, SECRET_KEY};

const BIN: &str = env!("CARGO_BIN_EXE_clientele");

/// The repository's `e2e/` folder.
fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../e2e")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Whether the browser tests can run here; when not, fails under CI, or says why on the
/// terminal (not captured like a test's output) and returns false.
fn browser_ready() -> bool {
    let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    let missing: Vec<&str> = [
        (!chromium().exists()).then_some("chromium (apt-get install chromium chromium-driver)"),
        (!node).then_some("node"),
        (!e2e_dir().join("node_modules/playwright-core").exists()).then_some("e2e/node_modules (npm ci in e2e/)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(!ci(), "CI is set but the browser tests cannot run: missing {}", missing.join(", "));
    let _ = writeln!(
        std::io::stderr(),
        "note: the console's browser tests were SKIPPED (missing {}); .ci/run installs what they need",
        missing.join(", ")
    );
    false
}

/// A `clientele serve --demo` on a free port; killed when dropped.
struct Server {
    child: Child,
    base: String,
    /// The demo tenant's id.
    tenant: String,
    _lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Server {
    fn start(dir: &Path, database_url: &str, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .current_dir(dir)
            .env("CLIENTELE_DATABASE_URL", database_url)
            .envs(env.iter().copied())
            .args(["serve", "--listen", "127.0.0.1:0", "--demo"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("serve exited before listening").unwrap();
            if let Some(rest) = line.strip_prefix("Listening on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // `Created the demo tenant "…": <id>` (or `Using …`) follows.
        let tenant = loop {
            let line = lines.next().expect("serve exited before naming the demo tenant").unwrap();
            if line.contains(" the demo tenant ") {
                break line.rsplit(' ').next().unwrap().to_owned();
            }
        };
        Self { child, base, tenant, _lines: lines }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the browser script against `base`; its screenshots go to `shots`.
fn run_script(base: &str, shots: &Path, smoke: bool, platform_admin: &str, stripe: bool) {
    let started = std::time::Instant::now();
    let output = Command::new("node")
        .current_dir(e2e_dir())
        .arg("console.test.mjs")
        .env("BASE_URL", base)
        .env("SCREENSHOTS", shots)
        .env("SMOKE", if smoke { "1" } else { "0" })
        .env("PLATFORM_ADMIN", platform_admin)
        .env("STRIPE", if stripe { "1" } else { "0" })
        .env("CHROMIUM", chromium())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(output.status.success(), "the browser tests failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    let _ = writeln!(
        std::io::stderr(),
        "note: console browser tests{} passed in {:.1} s; screenshots in {}",
        if smoke { " (PostgreSQL smoke path)" } else { "" },
        started.elapsed().as_secs_f64(),
        shots.display()
    );
}

/// Makes a platform admin with the command line, for the global blacklist's page.
fn platform_admin(dir: &Path, database_url: &str) -> String {
    let email = "platform@demo.example";
    let output = Command::new(BIN)
        .current_dir(dir)
        .env("CLIENTELE_DATABASE_URL", database_url)
        .args(["user", "create", "--platform-admin", "--email", email, "--password", "demo-password"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    email.to_owned()
}

fn screenshots(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn every_page_works_for_every_role_in_chromium_on_sqlite() {
    if !browser_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("clientele.db").display());
    // The platform admin is made first; `serve --demo` then migrates nothing new and adds the demo.
    Command::new(BIN).current_dir(dir.path()).env("CLIENTELE_DATABASE_URL", &url).arg("migrate").output().unwrap();
    let admin = platform_admin(dir.path(), &url);
    // A local fake of Stripe, with its fake Stripe.js, serving while the browser runs.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let stripe = runtime.block_on(FakeStripe::start());
    let env = [("CLIENTELE_STRIPE__API_BASE", stripe.base_url.clone()), ("CLIENTELE_STRIPE__JS_URL", stripe.js_url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(dir.path(), &url, &env);
    // The demo company takes cards on its own Stripe account, as an admin would set it up.
    let configured = Command::new(BIN)
        .current_dir(dir.path())
        .env("CLIENTELE_DATABASE_URL", &url)
        .args(["stripe", "configure", "--tenant", &server.tenant, "--mode", "own-key"])
        .args(["--secret-key", SECRET_KEY, "--publishable-key", PUBLISHABLE_KEY])
        .output()
        .unwrap();
    assert!(configured.status.success(), "{}", String::from_utf8_lossy(&configured.stderr));
    run_script(&server.base, &screenshots("sqlite"), false, &admin, true);
    drop(server);
    drop(stripe);
}

#[test]
fn the_console_smoke_path_works_in_chromium_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let Some(db) = runtime.block_on(clientele_store::testing::TestDatabase::postgres()) else { return };
    if !browser_ready() {
        return;
    }
    runtime.block_on(db.sql_store().close());
    let dir = tempfile::tempdir().unwrap();
    let admin = platform_admin(dir.path(), db.url());
    let keys = [
        ("CLIENTELE_BLACKLIST__KEY", "console-test-key-console-test-key-0"),
        ("CLIENTELE_DOCUMENTS__MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
    ];
    let server = Server::start(dir.path(), db.url(), &keys);
    run_script(&server.base, &screenshots("postgres"), true, &admin, false);
    drop(server);
    drop(db);
}

#[test]
fn the_postgresql_half_runs_or_is_reported_skipped() {
    clientele_store::testing::postgres_half_runs_or_is_reported_skipped("console");
}
