//! schemathesis against the real `clientele serve`: for every role, requests generated from the
//! served OpenAPI document (its examples, boundary values, random and stateful sequences) must
//! never be answered 5xx, nor with a status, content type, header or body the document does not
//! list. The run's settings are `tools/schemathesis/schemathesis.toml`.
//!
//! schemathesis comes from the virtual environment `.ci/run` makes (`target/ci-venv`, from
//! `tools/schemathesis/requirements.txt`; `CLIENTELE_SCHEMATHESIS` names another executable).
//! Without it the test fails when `CI` is set, and elsewhere says on the terminal that it was
//! skipped, as the PostgreSQL halves do.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use super::{Server, one_line, sqlite_url};

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The schemathesis executable, if there is one; when not, fails under CI, or says so on the
/// terminal (not captured like a test's output).
fn schemathesis() -> Option<PathBuf> {
    let path = std::env::var_os("CLIENTELE_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/ci-venv/bin/schemathesis"));
    let runs = Command::new(&path).arg("--version").output().is_ok_and(|o| o.status.success());
    if runs {
        return Some(path);
    }
    assert!(!ci(), "CI is set but schemathesis is not at {} (.ci/run installs it)", path.display());
    let _ = writeln!(
        std::io::stderr(),
        "note: the schemathesis test was SKIPPED (no {}): python3 -m venv target/ci-venv && \
         target/ci-venv/bin/pip install -r tools/schemathesis/requirements.txt",
        path.display()
    );
    None
}

/// A port on this machine that nothing listens on: the police API and Stripe are pointed at it,
/// so that whatever settings the run makes, no request leaves the machine (it is refused at once).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Left out of every run. Creating or changing a webhook endpoint resolves the URL's host through
/// the system resolver (the guard against private addresses), and the dispatcher then calls it:
/// generated host names would send DNS queries, and deliveries, off this machine. Their bad input
/// is tested in `crates/clientele-server/tests/http/webhooks.rs`; every other webhook operation
/// runs here. (Left out here rather than in the configuration file: operations disabled there
/// still feed schemathesis's link inference, whose stateful phase then fails on links to them.)
const LEFT_OUT: [&str; 4] =
    ["--exclude-name", "POST /api/v1/webhooks", "--exclude-name", "PATCH /api/v1/webhooks/{id}"];

/// One schemathesis run with `token` and `extra` arguments; panics with its report unless it
/// found nothing.
fn run(schemathesis: &Path, dir: &Path, base: &str, role: &str, token: &str, extra: &[&str]) {
    let seed = std::env::var("CLIENTELE_SCHEMATHESIS_SEED").unwrap_or_else(|_| "17".into());
    let started = Instant::now();
    let output = Command::new(schemathesis)
        // Its reports and example database go to the test's directory, not the repository.
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .arg("--config-file")
        .arg(root().join("tools/schemathesis/schemathesis.toml"))
        .arg("run")
        .arg(format!("{base}/api/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--seed", &seed, "--workers", "1", "--request-timeout", "60", "--wait-for-schema", "60"])
        .args(LEFT_OUT)
        .args(extra)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    // Its last line sums the run up: `===== 65 passed, 3 warnings in 45.2s =====`.
    let summary = report.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default().trim_matches(['=', ' ']);
    let _ = writeln!(std::io::stderr(), "schemathesis as {role}: {summary} ({:.0?})", started.elapsed());
    assert!(
        output.status.success(),
        "schemathesis as {role} (seed {seed}) found problems:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn schemathesis_finds_no_server_error_and_no_answer_off_the_document_for_any_role() {
    let Some(schemathesis) = schemathesis() else { return };
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let tenant = one_line(dir.path(), &url, &["tenant", "create", "--name", "Rent & Go", "--country", "IT"]);
    let password = "s3cret-pass";
    let user = |role: &str, more: &[&str]| {
        let email = format!("{role}@rentandgo.example");
        let args = ["user", "create", "--tenant", &tenant, "--email", &email, "--role", role, "--password", password];
        one_line(dir.path(), &url, &[&args[..], more].concat());
        email
    };
    let staff: Vec<(&str, String)> =
        ["admin", "operator", "driver"].into_iter().map(|role| (role, user(role, &[]))).collect();
    let root_email = "root@platform.example";
    one_line(dir.path(), &url, &["user", "create", "--platform-admin", "--email", root_email, "--password", password]);

    let dead = format!("http://127.0.0.1:{}/", closed_port());
    let env = [("CLIENTELE_CARGOS__BASE_URL", dead.as_str()), ("CLIENTELE_STRIPE__API_BASE", dead.as_str())];
    let server = Server::start_with(dir.path(), &url, &[], &env);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let http = reqwest::Client::new();
    let login = |body: Value| {
        let request = http.post(format!("{}/api/v1/auth/token", server.base)).json(&body);
        runtime.block_on(async {
            let reply = request.send().await.unwrap();
            assert_eq!(reply.status(), 200, "{body}");
            reply.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
        })
    };
    let mut tokens: Vec<(&str, String)> = staff
        .iter()
        .map(|(role, email)| (*role, login(json!({"email": email, "password": password, "tenant": tenant}))))
        .collect();
    // A partner user belongs to a partner company; and a customer and an order give the readers
    // something to read.
    let admin = tokens[0].1.clone();
    let post = |path: &str, body: Value| {
        let request = http.post(format!("{}{path}", server.base)).bearer_auth(&admin).json(&body);
        runtime.block_on(async {
            let reply = request.send().await.unwrap();
            let status = reply.status();
            let body = reply.json::<Value>().await.unwrap();
            assert_eq!(status, 201, "{path}: {body}");
            body["id"].as_str().unwrap().to_owned()
        })
    };
    let company = post("/api/v1/customers", json!({"kind": "partner", "company_name": "Viaggi Bellini Srl"}));
    let customer = post(
        "/api/v1/customers",
        json!({"first_name": "Nicolò", "last_name": "Rossi", "phone": "333 1234567", "partner_id": company}),
    );
    let order = json!({"customer_id": customer, "pickup_at": "2099-03-01T09:00:00Z", "return_at": "2099-03-04T09:00:00Z",
        "pickup_place": "Roma Termini", "return_place": "Roma Termini",
        "vehicle": {"plate": "AB123CD", "make": "Fiat", "model": "Panda"}, "payment_type": "cash"});
    post("/api/v1/orders", order);
    let partner = user("partner", &["--partner-id", &company]);
    tokens.push(("partner", login(json!({"email": partner, "password": password, "tenant": tenant}))));
    tokens.push(("platform admin", login(json!({"email": root_email, "password": password}))));

    // Revoking ends every token of its caller, the run's own included: every other operation
    // first, each role for a time, then revoking alone (it has no links to follow).
    for (role, token) in &tokens {
        let budget = if *role == "admin" { "40" } else { "20" };
        let others = ["--exclude-path", "/api/v1/auth/revoke", "--max-time", budget];
        run(&schemathesis, dir.path(), &server.base, role, token, &others);
    }
    for (role, token) in &tokens {
        let revoke = ["--include-path", "/api/v1/auth/revoke", "--phases", "coverage,fuzzing", "--max-time", "3"];
        run(&schemathesis, dir.path(), &server.base, role, token, &revoke);
    }
}
