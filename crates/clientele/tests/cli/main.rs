//! The command-line contract, exercised on the built binary: each creating command prints only
//! the new id or token; database URLs are strict; `serve` answers with what the CLI created.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};

mod logs;
mod outbox;
mod schemathesis;

const BIN: &str = env!("CARGO_BIN_EXE_clientele");

fn clientele(dir: &Path, database_url: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("CLIENTELE_DATABASE_URL", database_url)
        .args(args)
        .output()
        .unwrap()
}

/// Runs a command that must succeed and print exactly one line; returns that line.
fn one_line(dir: &Path, database_url: &str, args: &[&str]) -> String {
    let output = clientele(dir, database_url, args);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?} printed {stdout:?}");
    lines[0].to_owned()
}

/// A `clientele serve` process on a free port; killed when dropped.
struct Server {
    child: Child,
    base: String,
    stdout: Vec<String>,
    // Kept open for the life of the server.
    _reader: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl Server {
    fn start(dir: &Path, database_url: &str, extra: &[&str]) -> Self {
        Self::start_with(dir, database_url, extra, &[])
    }

    fn start_with(dir: &Path, database_url: &str, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .current_dir(dir)
            .env("CLIENTELE_DATABASE_URL", database_url)
            .envs(env.iter().copied())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut stdout = Vec::new();
        let base = loop {
            let line = lines.next().expect("serve exited before listening").unwrap();
            stdout.push(line.clone());
            if let Some(rest) = line.strip_prefix("Listening on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // What serve prints after the address (the demo login) is already written by then.
        if extra.contains(&"--demo") {
            stdout.extend(lines.by_ref().take(5).map(Result::unwrap));
        }
        Self { child, base, stdout, _reader: lines }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("clientele.db").display())
}

#[test]
fn config_default_prints_the_annotated_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let output = clientele(dir.path(), "sqlite://unused.db", &["config", "default"]);
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("database_url = \"sqlite://clientele.db\""));
    assert!(text.contains("token_ttl = \"24h\""));
    assert!(!dir.path().join("unused.db").exists(), "printing the defaults opens no database");
}

#[test]
fn an_unknown_database_scheme_is_an_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["clientele.db", "sqlit://clientele.db", "mysql://root@localhost/c", "file:clientele.db"] {
        let output = clientele(dir.path(), url, &["migrate"]);
        assert!(!output.status.success(), "{url} was accepted");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains("unsupported database URL"), "{url}: {stderr}");
        assert!(output.stdout.is_empty());
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no file was created");
}

#[test]
fn invalid_input_names_the_field_and_prints_nothing_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let output = clientele(dir.path(), &url, &["tenant", "create", "--name", "X", "--country", "ZZ"]);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8(output.stderr).unwrap().contains("country:"));
    let output = clientele(dir.path(), &url, &["config", "default", "--bogus"]);
    assert_eq!(output.status.code(), Some(2), "usage errors exit with 2");
}

#[test]
fn unknown_configuration_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("clientele.toml"), "databse_url = \"sqlite://x.db\"\n").unwrap();
    let output =
        Command::new(BIN).current_dir(dir.path()).env_remove("CLIENTELE_DATABASE_URL").arg("migrate").output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8(output.stderr).unwrap().contains("databse_url"));
}

/// The README walk-through, with ids and tokens from the CLI and requests to a served process.
fn walk_through(database_url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let tenant = one_line(dir.path(), database_url, &["tenant", "create", "--name", "Rent & Go", "--country", "IT"]);
    uuid::Uuid::parse_str(&tenant).unwrap();
    let admin = one_line(
        dir.path(),
        database_url,
        &[
            "user",
            "create",
            "--tenant",
            &tenant,
            "--email",
            "admin@rentandgo.example",
            "--role",
            "admin",
            "--password",
            "s3cret-pass",
        ],
    );
    uuid::Uuid::parse_str(&admin).unwrap();
    let root = one_line(
        dir.path(),
        database_url,
        &["user", "create", "--platform-admin", "--email", "root@platform.example", "--password", "s3cret-pass"],
    );
    uuid::Uuid::parse_str(&root).unwrap();
    let issued = one_line(
        dir.path(),
        database_url,
        &["token", "issue", "--tenant", &tenant, "--email", "admin@rentandgo.example", "--ttl", "1h"],
    );
    let platform_token =
        one_line(dir.path(), database_url, &["token", "issue", "--platform-admin", "--email", "root@platform.example"]);
    let duplicate = clientele(
        dir.path(),
        database_url,
        &[
            "user",
            "create",
            "--tenant",
            &tenant,
            "--email",
            "admin@rentandgo.example",
            "--role",
            "operator",
            "--password",
            "another-pass",
        ],
    );
    assert!(!duplicate.status.success());

    let server = Server::start(dir.path(), database_url, &[]);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let login = http
            .post(format!("{}/api/v1/auth/token", server.base))
            .json(&json!({"email": "admin@rentandgo.example", "password": "s3cret-pass", "tenant": tenant}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200);
        let token = login.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
        for bearer in [&token, &issued] {
            let created = http
                .post(format!("{}/api/v1/customers", server.base))
                .bearer_auth(bearer)
                .json(&json!({"first_name": "Mario", "last_name": "Rossi", "phone": "333 1234567"}))
                .send()
                .await
                .unwrap();
            assert_eq!(created.status(), 201);
            let id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
            let fetched =
                http.get(format!("{}/api/v1/customers/{id}", server.base)).bearer_auth(bearer).send().await.unwrap();
            assert_eq!(fetched.json::<Value>().await.unwrap()["phone"], "+393331234567");
        }
        let list = http.get(format!("{}/api/v1/customers", server.base)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(list.json::<Value>().await.unwrap()["items"].as_array().unwrap().len(), 2);
        let platform =
            http.get(format!("{}/api/v1/customers", server.base)).bearer_auth(&platform_token).send().await.unwrap();
        assert_eq!(platform.status(), 403);

        // Disabling a user stops its tokens and logins at once; enabling brings back logins, not
        // the tokens from before.
        let user_args = |verb| ["user", verb, "--tenant", &tenant, "--email", "Admin@RentAndGo.example"];
        let disabled = clientele(dir.path(), database_url, &user_args("disable"));
        assert!(disabled.status.success(), "{}", String::from_utf8_lossy(&disabled.stderr));
        assert!(disabled.stdout.is_empty());
        let list = |bearer: String| http.get(format!("{}/api/v1/customers", server.base)).bearer_auth(bearer).send();
        assert_eq!(list(token.clone()).await.unwrap().status(), 401);
        assert_eq!(list(issued.clone()).await.unwrap().status(), 401);
        let relogin = http
            .post(format!("{}/api/v1/auth/token", server.base))
            .json(&json!({"email": "admin@rentandgo.example", "password": "s3cret-pass", "tenant": tenant}));
        assert_eq!(relogin.try_clone().unwrap().send().await.unwrap().status(), 401);
        assert!(clientele(dir.path(), database_url, &user_args("enable")).status.success());
        assert_eq!(list(token.clone()).await.unwrap().status(), 401);
        let relogin = relogin.send().await.unwrap();
        assert_eq!(relogin.status(), 200);
        let fresh = relogin.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
        assert_eq!(list(fresh).await.unwrap().status(), 200);
        let unknown = clientele(
            dir.path(),
            database_url,
            &["user", "disable", "--tenant", &tenant, "--email", "nobody@x.example"],
        );
        assert!(!unknown.status.success());
        assert!(String::from_utf8_lossy(&unknown.stderr).contains("no user"));
    });
}

#[test]
fn the_walk_through_works_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    walk_through(&sqlite_url(dir.path()));
}

#[test]
fn the_walk_through_works_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let Some(db) = runtime.block_on(clientele_store::testing::TestDatabase::postgres()) else { return };
    runtime.block_on(db.sql_store().close());
    walk_through(db.url());
    drop(db);
}

#[test]
fn rotating_the_blacklist_key_keeps_global_entries_matching_under_the_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let (old_key, new_key) = ("old-key-old-key-old-key-old-key-1", "new-key-new-key-new-key-new-key-2");
    let mut tokens = Vec::new();
    for name in ["Flagging", "Checking"] {
        let tenant = one_line(dir.path(), &url, &["tenant", "create", "--name", name]);
        let email = format!("admin@{}.example", name.to_lowercase());
        one_line(
            dir.path(),
            &url,
            &["user", "create", "--tenant", &tenant, "--email", &email, "--role", "admin", "--password", "s3cret-pass"],
        );
        tokens.push(one_line(dir.path(), &url, &["token", "issue", "--tenant", &tenant, "--email", &email]));
    }
    let person = json!({"first_name": "Nicolò", "last_name": "Rossi", "birth_date": "1980-02-29"});
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let create = |base: String, token: String| {
        let person = person.clone();
        async move {
            let reply = reqwest::Client::new()
                .post(format!("{base}/api/v1/customers"))
                .bearer_auth(token)
                .json(&person)
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 201);
            reply.json::<Value>().await.unwrap()
        }
    };
    {
        let server = Server::start_with(dir.path(), &url, &[], &[("CLIENTELE_BLACKLIST__KEY", old_key)]);
        runtime.block_on(async {
            let id = create(server.base.clone(), tokens[0].clone()).await["id"].as_str().unwrap().to_owned();
            let flagged = reqwest::Client::new()
                .post(format!("{}/api/v1/customers/{id}/blacklist", server.base))
                .bearer_auth(&tokens[0])
                .json(&json!({"scope": "global", "reason_code": "unpaid_balance"}))
                .send()
                .await
                .unwrap();
            assert_eq!(flagged.status(), 201);
        });
    }
    let rotated = Command::new(BIN)
        .current_dir(dir.path())
        .env("CLIENTELE_DATABASE_URL", &url)
        .env("CLIENTELE_BLACKLIST__KEY", old_key)
        .args(["blacklist", "rotate-key", "--new-key", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(format!("{new_key}\n").as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(rotated.status.success());
    assert_eq!(String::from_utf8(rotated.stdout).unwrap().trim(), "1");
    for (key, matches) in [(old_key, false), (new_key, true)] {
        let server = Server::start_with(dir.path(), &url, &[], &[("CLIENTELE_BLACKLIST__KEY", key)]);
        let created = runtime.block_on(create(server.base.clone(), tokens[1].clone()));
        let warned = created["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "globally_blacklisted");
        assert_eq!(warned, matches, "with the {} key", if matches { "new" } else { "old" });
    }
}

#[test]
fn documents_survive_a_master_key_rotation_and_audit_verify_finds_tampering() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let b64 = |byte: u8| base64::engine::general_purpose::STANDARD.encode([byte; 32]);
    let (old_key, new_key) = (b64(1), b64(2));
    let tenant = one_line(dir.path(), &url, &["tenant", "create", "--name", "Docs"]);
    let email = "admin@docs.example";
    one_line(
        dir.path(),
        &url,
        &["user", "create", "--tenant", &tenant, "--email", email, "--role", "admin", "--password", "s3cret-pass"],
    );
    let token = one_line(dir.path(), &url, &["token", "issue", "--tenant", &tenant, "--email", email]);
    let pdf = b"%PDF-1.4\n% a scanned passport\n%%EOF\n".to_vec();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = reqwest::Client::new();
    let document_id = {
        let server = Server::start_with(dir.path(), &url, &[], &[("CLIENTELE_DOCUMENTS__MASTER_KEY", &old_key)]);
        runtime.block_on(async {
            let customer: Value = client
                .post(format!("{}/api/v1/customers", server.base))
                .bearer_auth(&token)
                .json(&json!({"first_name": "Anna", "last_name": "Rossi"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let form = reqwest::multipart::Form::new()
                .text("kind", "passport")
                .part("file", reqwest::multipart::Part::bytes(pdf.clone()).file_name("passport.pdf"));
            let uploaded = client
                .post(format!("{}/api/v1/customers/{}/documents", server.base, customer["id"].as_str().unwrap()))
                .bearer_auth(&token)
                .multipart(form)
                .send()
                .await
                .unwrap();
            assert_eq!(uploaded.status(), 201);
            uploaded.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
        })
    };
    assert!(dir.path().join("clientele-documents").is_dir(), "the default store is a directory beside the data");

    let verified = one_line(dir.path(), &url, &["audit", "verify"]);
    assert_eq!(verified, "audit log intact: 2 entries checked");

    // The customers, exported from the command line (audited like any export).
    let exported = clientele(dir.path(), &url, &["export", "--tenant", &tenant, "--columns", "first_name,last_name"]);
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    assert_eq!(String::from_utf8(exported.stdout).unwrap(), "first_name,last_name\nAnna,Rossi\n");
    assert!(String::from_utf8(exported.stderr).unwrap().contains("exported 1 customers"));
    let unknown = clientele(dir.path(), &url, &["export", "--tenant", &uuid::Uuid::now_v7().to_string()]);
    assert!(!unknown.status.success() && unknown.stdout.is_empty());
    let verified = one_line(dir.path(), &url, &["audit", "verify"]);
    assert_eq!(verified, "audit log intact: 3 entries checked");

    // Rotate: the new key current, the old one still accepted while file keys are re-wrapped.
    let previous = format!("[\"{old_key}\"]");
    let rotate = |keys: &[(&str, &str)]| {
        Command::new(BIN)
            .current_dir(dir.path())
            .env("CLIENTELE_DATABASE_URL", &url)
            .envs(keys.iter().copied())
            .args(["documents", "rotate-key"])
            .output()
            .unwrap()
    };
    let rotated = rotate(&[
        ("CLIENTELE_DOCUMENTS__MASTER_KEY", &new_key),
        ("CLIENTELE_DOCUMENTS__PREVIOUS_MASTER_KEYS", &previous),
    ]);
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    assert_eq!(String::from_utf8(rotated.stdout).unwrap().trim(), "1");
    let again = rotate(&[("CLIENTELE_DOCUMENTS__MASTER_KEY", &new_key)]);
    assert_eq!(String::from_utf8(again.stdout).unwrap().trim(), "0", "nothing left under the old key");
    // Without a configured key, the embedded database's own key file is used: it never wrapped
    // these files, so rotating to it alone cannot open them.
    let unconfigured = rotate(&[]);
    assert!(!unconfigured.status.success(), "rotating to a key that cannot open the files is an error");
    {
        let server = Server::start_with(dir.path(), &url, &[], &[("CLIENTELE_DOCUMENTS__MASTER_KEY", &new_key)]);
        let bytes = runtime.block_on(async {
            let reply = client
                .get(format!("{}/api/v1/documents/{document_id}/file", server.base))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(reply.status(), 200);
            reply.bytes().await.unwrap().to_vec()
        });
        assert_eq!(bytes, pdf, "the new key alone opens the file");
    }

    // Someone with the database file edits an entry: verify names it and fails.
    runtime.block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let refused =
            sqlx::query("/* test */ UPDATE audit_log SET actor_role = 'operator' WHERE seq = 2").execute(&pool).await;
        assert!(refused.is_err(), "the database guards the log");
        for guard in ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"] {
            sqlx::query(guard).execute(&pool).await.unwrap();
        }
        sqlx::query("/* test */ UPDATE audit_log SET actor_role = 'operator' WHERE seq = 2")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let broken = clientele(dir.path(), &url, &["audit", "verify"]);
    assert!(!broken.status.success());
    let message = String::from_utf8(broken.stderr).unwrap();
    assert!(message.contains(&format!("tenant {tenant}: audit entry #2")) && message.contains("altered"), "{message}");
}

#[test]
fn an_import_survives_a_crash_of_its_server_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    import_survives_a_crash(dir.path(), &sqlite_url(dir.path()));
}

#[test]
fn an_import_survives_a_crash_of_its_server_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let Some(db) = runtime.block_on(clientele_store::testing::TestDatabase::postgres()) else { return };
    runtime.block_on(db.sql_store().close());
    let dir = tempfile::tempdir().unwrap();
    import_survives_a_crash(dir.path(), db.url());
    drop(db);
}

/// A tenant with an admin, and that admin's token.
fn tenant_with_admin(dir: &Path, url: &str, name: &str) -> (String, String) {
    let tenant = one_line(dir, url, &["tenant", "create", "--name", name]);
    let email = "admin@crashy.example";
    one_line(
        dir,
        url,
        &["user", "create", "--tenant", &tenant, "--email", email, "--role", "admin", "--password", "s3cret-pass"],
    );
    let token = one_line(dir, url, &["token", "issue", "--tenant", &tenant, "--email", email]);
    (tenant, token)
}

/// Follows import jobs over HTTP.
struct Jobs {
    client: reqwest::Client,
    token: String,
}

impl Jobs {
    async fn upload(&self, server: &Server, file: String, query: &str) -> String {
        let reply = self
            .client
            .post(format!("{}/api/v1/imports{query}", server.base))
            .bearer_auth(&self.token)
            .header("content-type", "text/csv")
            .body(file)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 202);
        reply.headers()["location"].to_str().unwrap().to_owned()
    }

    async fn get(&self, server: &Server, location: &str) -> Value {
        let reply =
            self.client.get(format!("{}{location}", server.base)).bearer_auth(&self.token).send().await.unwrap();
        reply.json().await.unwrap()
    }

    /// Waits until the job has read more than `rows` rows (or ended), failing only if it reads
    /// nothing for a whole minute.
    async fn progress_beyond(&self, server: &Server, location: &str, rows: i64) -> Value {
        self.wait(server, location, |state| state["rows_read"].as_i64().unwrap() > rows).await
    }

    /// Waits until the job has ended, failing only if it reads nothing for a whole minute.
    async fn ended(&self, server: &Server, location: &str) -> Value {
        self.wait(server, location, |_| false).await
    }

    async fn wait(&self, server: &Server, location: &str, enough: impl Fn(&Value) -> bool) -> Value {
        let patience = std::time::Duration::from_secs(60);
        let (mut seen, mut since) = (-1, std::time::Instant::now());
        loop {
            let state = self.get(server, location).await;
            if matches!(state["status"].as_str(), Some("succeeded" | "failed")) || enough(&state) {
                return state;
            }
            let rows = state["rows_read"].as_i64().unwrap();
            if rows != seen {
                (seen, since) = (rows, std::time::Instant::now());
            }
            assert!(since.elapsed() < patience, "the import made no progress for a minute: {state}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// A server is killed in the middle of an import; another one resumes it: every valid row is
/// created exactly once, every invalid one reported.
fn import_survives_a_crash(dir: &Path, url: &str) {
    let url = url.to_owned();
    let (tenant, token) = tenant_with_admin(dir, &url, "Crashy");
    // Every tenth row lacks its last name.
    let rows = 6_000;
    let mut file = String::from("external_ref,first_name,last_name,email\n");
    for i in 0..rows {
        let last = if i % 10 == 7 { String::new() } else { format!("Rossi{i}") };
        file.push_str(&format!("R{i},Mario,{last},m{i}@example.com\n"));
    }
    let (valid, invalid) = (rows - rows / 10, rows / 10);
    let lease = [("CLIENTELE_IMPORTS__LEASE", "1s")];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let jobs = Jobs { client: reqwest::Client::new(), token };
    let location = {
        let server = Server::start_with(dir, &url, &[], &lease);
        runtime.block_on(async {
            let location = jobs.upload(&server, file.clone(), "").await;
            // Kill the server once the job is part-way.
            let state = jobs.progress_beyond(&server, &location, 0).await;
            assert_ne!(state["status"], "succeeded", "the job finished before the crash: make the file longer");
            location
        })
        // The server is killed (SIGKILL) here, mid-import.
    };
    let server = Server::start_with(dir, &url, &[], &lease);
    let done = runtime.block_on(jobs.ended(&server, &location));
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["rows_read"], rows, "{done}");
    assert_eq!(done["created"], valid, "{done}");
    assert_eq!(done["failed"], invalid, "{done}");
    drop(server);
    let exported = clientele(dir, &url, &["export", "--tenant", &tenant, "--columns", "external_ref"]);
    let text = String::from_utf8(exported.stdout).unwrap();
    let mut refs: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(refs.len(), valid, "every valid row once");
    refs.sort_unstable();
    refs.dedup();
    assert_eq!(refs.len(), valid, "no row twice");
}

#[test]
fn an_import_killed_again_and_again_finishes_exactly_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    import_survives_repeated_kills(dir.path(), &sqlite_url(dir.path()));
}

#[test]
fn an_import_killed_again_and_again_finishes_exactly_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let Some(db) = runtime.block_on(clientele_store::testing::TestDatabase::postgres()) else { return };
    runtime.block_on(db.sql_store().close());
    let dir = tempfile::tempdir().unwrap();
    import_survives_repeated_kills(dir.path(), db.url());
    drop(db);
}

/// On PostgreSQL, `serve`'s import workers have connections of their own (`application_name`
/// `clientele imports`): every batch's transaction (held open by the crash-test pause) is on one
/// of them, none on the API's, which has a single connection here and keeps answering.
#[test]
fn imports_run_on_connections_of_their_own_on_postgres() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let Some(db) = runtime.block_on(clientele_store::testing::TestDatabase::postgres()) else { return };
    runtime.block_on(db.sql_store().close());
    let dir = tempfile::tempdir().unwrap();
    let url = db.url().to_owned();
    let (_, token) = tenant_with_admin(dir.path(), &url, "Pools");
    // Twenty batches, each held open 200 ms: plenty of chances to see one open.
    let rows = 10_000;
    let mut file = String::from("external_ref,first_name,last_name\n");
    for i in 0..rows {
        file.push_str(&format!("P{i},Mario,Rossi{i}\n"));
    }
    let env = [("CLIENTELE_IMPORTS__CRASH_TEST_PAUSE", "200ms"), ("CLIENTELE_DATABASE__MAX_CONNECTIONS", "1")];
    let server = Server::start_with(dir.path(), &url, &[], &env);
    let jobs = Jobs { client: reqwest::Client::new(), token };
    runtime.block_on(async {
        let location = jobs.upload(&server, file, "").await;
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let mut batches_seen = 0;
        let (mut rows_read, mut since) = (-1, std::time::Instant::now());
        loop {
            // Sessions inside a transaction for a while: a batch held open by the pause.
            let holders: Vec<Option<String>> = sqlx::query_scalar(
                "SELECT application_name FROM pg_stat_activity WHERE datname = current_database() \
                 AND state = 'idle in transaction' AND state_change < now() - interval '50 milliseconds'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            for holder in &holders {
                assert_eq!(holder.as_deref(), Some("clientele imports"), "a batch on another pool's connection");
            }
            batches_seen += usize::from(!holders.is_empty());
            let listed = jobs.client.get(format!("{}/api/v1/customers?limit=1", server.base)).bearer_auth(&jobs.token);
            assert_eq!(listed.send().await.unwrap().status(), 200, "the API beside an import");
            let state = jobs.get(&server, &location).await;
            if matches!(state["status"].as_str(), Some("succeeded" | "failed")) {
                assert_eq!(state["status"], "succeeded", "{state}");
                assert_eq!(state["created"], rows, "{state}");
                break;
            }
            let now_read = state["rows_read"].as_i64().unwrap();
            if now_read != rows_read {
                (rows_read, since) = (now_read, std::time::Instant::now());
            }
            assert!(
                since.elapsed() < std::time::Duration::from_secs(60),
                "the import made no progress for a minute: {state}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(batches_seen > 0, "no batch's transaction was seen open: make the file longer");
        pool.close().await;
    });
    drop(server);
    drop(db);
}

/// Whether a batch's transaction is open on the database right now, held open by the crash-test
/// pause: on PostgreSQL a session idle inside a transaction for a while, which the quick
/// transactions of claims and heartbeats never are; on SQLite the file's write lock held at two
/// looks a tenth of a second apart.
async fn in_batch_transaction(url: &str) -> bool {
    if url.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND state = 'idle in transaction' AND state_change < now() - interval '50 milliseconds'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        pool.close().await;
        open > 0
    } else {
        use sqlx::ConnectOptions;
        let locked = || async {
            let options: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
            let mut connection = options.busy_timeout(std::time::Duration::ZERO).connect().await.unwrap();
            let locked = sqlx::query("BEGIN IMMEDIATE").execute(&mut connection).await.is_err();
            if !locked {
                sqlx::query("ROLLBACK").execute(&mut connection).await.unwrap();
            }
            locked
        };
        locked().await && {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            locked().await
        }
    }
}

/// An upsert of 10,000 rows (2,000 of them updates of existing customers, a tenth of them
/// invalid) whose server is killed (SIGKILL) at eight points, every other time while a batch's
/// transaction is open (held open by the crash-test pause) and otherwise at a random moment (the
/// seed is printed; `CLIENTELE_KILL_SEED` replays one), each time after
/// its attempt committed a batch, with a short lease: the job still succeeds, with exact counts, every valid row applied exactly once
/// (each update makes version 2, never 3), every refused row reported once, and the audit log
/// holding one entry per change.
fn import_survives_repeated_kills(dir: &Path, url: &str) {
    const KILLS: usize = 8;
    let url = url.to_owned();
    let (tenant, token) = tenant_with_admin(dir, &url, "Crashy");
    let (existing, rows) = (2_000, 10_000);
    let seed: String = std::iter::once("external_ref,first_name,last_name,email\n".to_owned())
        .chain((0..existing).map(|i| format!("R{i},Mario,Rossi{i},m{i}@example.com\n")))
        .collect();
    std::fs::write(dir.join("seed.csv"), seed).unwrap();
    let seeded = clientele(dir, &url, &["import", "seed.csv", "--tenant", &tenant]);
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let mut file = String::from("external_ref,first_name,last_name,email\n");
    for i in 0..rows {
        let email = if i % 10 == 7 { format!("m{i}@") } else { format!("m{i}@example.com") };
        file.push_str(&format!("R{i},Mario,Bianchi{i},{email}\n"));
    }
    let refused = (0..rows).filter(|i| i % 10 == 7).count();
    let updated = (0..existing).filter(|i| i % 10 != 7).count();
    let created = rows - existing - (existing..rows).filter(|i| i % 10 == 7).count();

    let env = [("CLIENTELE_IMPORTS__LEASE", "1s"), ("CLIENTELE_IMPORTS__CRASH_TEST_PAUSE", "250ms")];
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let jobs = Jobs { client: reqwest::Client::new(), token };
    let seed = std::env::var("CLIENTELE_KILL_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    eprintln!("kill points from CLIENTELE_KILL_SEED={seed}");
    let mut random = seed | 1;
    let mut location = None;
    let mut attempts = 0;
    for kill in 0..KILLS {
        let server = Server::start_with(dir, &url, &[], &env);
        runtime.block_on(async {
            let job = match &location {
                Some(job) => job,
                None => location.insert(jobs.upload(&server, file.clone(), "?mode=upsert").await),
            };
            // This server's own attempt: it has claimed the job (the killed one is gone, so any
            // progress from here on is this attempt's), and it commits a batch before it is
            // killed, so the job never counts as stalled.
            let claimed = jobs.wait(&server, job, |s| s["attempts"].as_i64().unwrap() > attempts).await;
            let state = jobs.progress_beyond(&server, job, claimed["rows_read"].as_i64().unwrap()).await;
            assert_eq!(state["status"], "running", "the job ended before kill {kill}: make the file longer: {state}");
            attempts = state["attempts"].as_i64().unwrap();
            if kill % 2 == 0 {
                // Kill it in the middle of a batch's transaction (held open by the pause).
                let patience = std::time::Instant::now();
                while !in_batch_transaction(&url).await {
                    assert!(patience.elapsed() < std::time::Duration::from_secs(60), "no batch was written");
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            } else {
                random ^= random << 13;
                random ^= random >> 7;
                random ^= random << 17;
                tokio::time::sleep(std::time::Duration::from_millis(random % 800)).await;
            }
        });
        drop(server);
    }
    let location = location.unwrap();
    let server = Server::start_with(dir, &url, &[], &env);
    let done = runtime.block_on(jobs.ended(&server, &location));
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["rows_read"], rows, "{done}");
    assert_eq!(done["created"], created, "{done}");
    assert_eq!(done["updated"], updated, "{done}");
    assert_eq!(done["unchanged"], 0, "{done}");
    assert_eq!(done["failed"], refused, "{done}");
    assert!(done["attempts"].as_i64().unwrap() > KILLS as i64, "{done}");
    let errors = runtime.block_on(async {
        let reply = jobs
            .client
            .get(format!("{}{location}/errors.csv", server.base))
            .bearer_auth(&jobs.token)
            .send()
            .await
            .unwrap();
        reply.text().await.unwrap()
    });
    let mut refused_rows: Vec<&str> = errors.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(refused_rows.len(), refused, "each refused row is reported once");
    refused_rows.dedup();
    assert_eq!(refused_rows.len(), refused);
    drop(server);

    let exported =
        clientele(dir, &url, &["export", "--tenant", &tenant, "--columns", "external_ref,last_name,version"]);
    let text = String::from_utf8(exported.stdout).unwrap();
    let mut customers: Vec<(usize, String, String)> = text
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (cells[0][1..].parse().unwrap(), cells[1].to_owned(), cells[2].to_owned())
        })
        .collect();
    customers.sort();
    assert_eq!(customers.len(), existing + created, "every valid row once");
    customers.dedup_by_key(|c| c.0);
    assert_eq!(customers.len(), existing + created, "no row twice");
    for (i, last_name, version) in &customers {
        let expected = match (*i < existing, i % 10 == 7) {
            (true, true) => (format!("Rossi{i}"), "1"),
            (true, false) => (format!("Bianchi{i}"), "2"),
            (false, _) => (format!("Bianchi{i}"), "1"),
        };
        assert_eq!((last_name.clone(), version.as_str()), (expected.0, expected.1), "customer R{i}");
    }
    // One entry per customer created or updated, each job's start and end, and the export.
    let verified = one_line(dir, &url, &["audit", "verify"]);
    let entries = existing + 2 + created + updated + 2 + 1;
    assert_eq!(verified, format!("audit log intact: {entries} entries checked"));
}

#[test]
fn import_runs_a_file_prints_a_summary_and_writes_the_failed_rows_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let tenant = one_line(dir.path(), &url, &["tenant", "create", "--name", "Importer"]);
    let file = dir.path().join("contacts.csv");
    std::fs::write(
        &file,
        "Given Name,Family Name,E-mail 1 - Value,Phone 1 - Value,Group Membership\n\
        Anna,Rossi,anna@example.com,333 1234567,* myContacts\n\
        Luca,,luca@example.com,,* myContacts\n\
        Sara,Galli,sara@example.com,,\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let dry = clientele(dir.path(), &url, &["import", path, "--tenant", &tenant, "--dry-run"]);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let summary = String::from_utf8(dry.stderr).unwrap();
    assert!(summary.contains("dry run of 3 rows in "), "{summary}");
    assert!(summary.contains("2 created, 0 updated, 0 unchanged, 1 failed"), "{summary}");
    // Not a terminal: a plain summary, with where every column went.
    assert!(!summary.contains('\r'), "no progress bar when standard error is not a terminal: {summary:?}");
    for line in ["  Given Name        -> first_name", "  Phone 1 - Value   -> phone", "  Group Membership  -> ignored"]
    {
        assert!(summary.lines().any(|l| l == line), "{line:?} in {summary}");
    }

    let run = clientele(dir.path(), &url, &["import", path, "--tenant", &tenant]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let job_id = String::from_utf8(run.stdout).unwrap().trim().to_owned();
    assert!(uuid::Uuid::parse_str(&job_id).is_ok(), "prints the job id: {job_id}");
    let summary = String::from_utf8(run.stderr).unwrap();
    assert!(summary.contains("imported 3 rows in ") && summary.contains("2 created, 0 updated, 0 unchanged, 1 failed"));
    let errors = std::fs::read_to_string(dir.path().join("contacts.csv.errors.csv")).unwrap();
    assert_eq!(
        errors,
        "import_row,import_errors,Given Name,Family Name,E-mail 1 - Value,Phone 1 - Value,Group Membership\n\
         2,last_name: is required,Luca,,luca@example.com,,* myContacts\n"
    );

    let exported = clientele(dir.path(), &url, &["export", "--tenant", &tenant, "--columns", "last_name,email"]);
    let text = String::from_utf8(exported.stdout).unwrap();
    assert!(text.contains("Rossi,anna@example.com") && text.contains("Galli,sara@example.com"), "{text}");
    let again = clientele(dir.path(), &url, &["import", path, "--tenant", &tenant, "--mode", "upsert"]);
    assert!(String::from_utf8(again.stderr).unwrap().contains("0 created, 0 updated, 2 unchanged, 1 failed"));
    let missing = clientele(dir.path(), &url, &["import", "nope.csv", "--tenant", &tenant]);
    assert!(!missing.status.success());
}

#[test]
fn serve_demo_creates_the_demo_once_and_prints_how_to_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let first = Server::start(dir.path(), &url, &["--demo"]);
    let tenant_line = first.stdout.iter().find(|l| l.starts_with("Created the demo tenant")).expect("demo created");
    let tenant = tenant_line.rsplit(' ').next().unwrap().to_owned();
    assert!(first.stdout.iter().any(|l| l.contains("admin@demo.example") && l.contains("demo-password")));
    let base = first.base.clone();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let count = |base: String, tenant: String| async move {
        let http = reqwest::Client::new();
        let login = http
            .post(format!("{base}/api/v1/auth/token"))
            .json(&json!({"email": "operator@demo.example", "password": "demo-password", "tenant": tenant}))
            .send()
            .await
            .unwrap();
        let token = login.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned();
        let (mut total, mut accented, mut cursor) = (0, 0, None::<String>);
        loop {
            let mut url = format!("{base}/api/v1/customers?limit=200");
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let page: Value = http.get(url).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
            for item in page["items"].as_array().unwrap() {
                total += 1;
                let name = format!(
                    "{}{}",
                    item["first_name"].as_str().unwrap_or(""),
                    item["last_name"].as_str().unwrap_or("")
                );
                accented += usize::from(!name.is_ascii());
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break (total, accented),
            }
        }
    };
    let (total, accented) = runtime.block_on(count(base.clone(), tenant.clone()));
    assert_eq!(total, 3_000);
    assert!(accented > 300, "names with diacritics: {accented}");
    // With no keys configured, documents and the global blacklist work on the first run...
    let pdf = b"%PDF-1.4\n% a scanned licence\n%%EOF\n".to_vec();
    let document = runtime.block_on(demo_document_and_global_entry(base, tenant.clone(), pdf.clone()));
    assert!(!first.stdout.iter().any(|l| l.contains("needs a key")), "{:?}", first.stdout);
    drop(first);
    let keys = std::fs::read_to_string(dir.path().join("clientele.db.keys")).unwrap();
    assert!(keys.contains("blacklist.key = ") && keys.contains("documents.master_key = "), "{keys}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("clientele.db.keys")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is the owner's alone");
    }

    let second = Server::start(dir.path(), &url, &["--demo"]);
    assert!(second.stdout.iter().any(|l| l == &format!("Using the demo tenant \"Demo Rentals\": {tenant}")));
    let (total, _) = runtime.block_on(count(second.base.clone(), tenant.clone()));
    assert_eq!(total, 3_002, "the demo is created once (and the two customers added above)");
    // ...and after a restart, with the same keys: the document opens, the global entry matches.
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let token = demo_token(&http, &second.base, &tenant).await;
        let file = http.get(format!("{}/api/v1/documents/{document}/file", second.base)).bearer_auth(&token);
        let file = file.send().await.unwrap();
        assert_eq!(file.status(), 200);
        assert_eq!(file.bytes().await.unwrap().to_vec(), pdf);
        let again: Value = http
            .post(format!("{}/api/v1/customers", second.base))
            .bearer_auth(&token)
            .json(&json!({"first_name": "Ottone", "last_name": "Brambilla", "birth_date": "1971-04-02"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(again["warnings"].as_array().unwrap().iter().any(|w| w["code"] == "globally_blacklisted"), "{again}");
    });
}

/// A demo admin's token.
async fn demo_token(http: &reqwest::Client, base: &str, tenant: &str) -> String {
    let login = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&json!({"email": "admin@demo.example", "password": "demo-password", "tenant": tenant}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    login.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
}

/// Uploads a document for a new demo customer and puts another on the global blacklist; the
/// document's id.
async fn demo_document_and_global_entry(base: String, tenant: String, pdf: Vec<u8>) -> String {
    let http = reqwest::Client::new();
    let token = demo_token(&http, &base, &tenant).await;
    let create = |body: Value| http.post(format!("{base}/api/v1/customers")).bearer_auth(&token).json(&body).send();
    let customer: Value =
        create(json!({"first_name": "Anna", "last_name": "Rossi"})).await.unwrap().json().await.unwrap();
    let form = reqwest::multipart::Form::new()
        .text("kind", "passport")
        .part("file", reqwest::multipart::Part::bytes(pdf).file_name("passport.pdf"));
    let uploaded = http
        .post(format!("{base}/api/v1/customers/{}/documents", customer["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 201, "{}", uploaded.text().await.unwrap_or_default());
    let document = uploaded.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let person = json!({"first_name": "Ottone", "last_name": "Brambilla", "birth_date": "1971-04-02"});
    let flagged: Value = create(person).await.unwrap().json().await.unwrap();
    let listed = http
        .post(format!("{base}/api/v1/customers/{}/blacklist", flagged["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .json(&json!({"scope": "global", "reason_code": "unpaid_damage", "note": "never paid"}))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 201, "{}", listed.text().await.unwrap_or_default());
    document
}

#[test]
fn the_search_bench_loads_once_measures_every_query_kind_and_writes_its_section() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let args =
        ["bench", "search", "--customers", "1500", "--requests", "4", "--baseline-samples", "1", "--output", "B.md"];
    let first = clientele(dir.path(), &url, &args);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(String::from_utf8_lossy(&first.stderr).contains("loaded "), "the first run loads the data set");
    let report = std::fs::read_to_string(dir.path().join("B.md")).unwrap();
    assert_eq!(report.matches("<!-- bench:search:sqlite -->").count(), 1);
    for kind in ["1 char", "3 chars", "full name", "email fragment", "phone fragment", "typo", "filtered", "paginated"]
    {
        assert!(report.contains(&format!("| {kind} ")), "no row for {kind}: {report}");
    }
    // A second run reuses the data and replaces its section instead of adding one.
    let second = clientele(dir.path(), &url, &args);
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    assert!(!String::from_utf8_lossy(&second.stderr).contains("loaded "));
    let report = std::fs::read_to_string(dir.path().join("B.md")).unwrap();
    assert_eq!(report.matches("<!-- bench:search:sqlite -->").count(), 1);
}

#[test]
fn the_postgresql_half_runs_or_is_reported_skipped() {
    clientele_store::testing::postgres_half_runs_or_is_reported_skipped("cli");
}

/// `clientele` with the Ca.R.G.O.S. client pointed at `fake`.
fn with_fake(dir: &Path, url: &str, fake: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("CLIENTELE_DATABASE_URL", url)
        .env("CLIENTELE_CARGOS__BASE_URL", fake)
        .args(args)
        .output()
        .unwrap()
}

/// An Italian tenant's order, made over HTTP with everything its record needs; its id.
async fn cargos_order(http: &reqwest::Client, base: &str, token: &str) -> String {
    use clientele_integrations::testing::{API_KEY, PASSWORD, USERNAME};
    let call = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base}{path}")).bearer_auth(token).json(&body).send()
    };
    let credentials = json!({"credentials": {"username": USERNAME, "password": PASSWORD, "api_key": API_KEY}});
    assert_eq!(call(reqwest::Method::PATCH, "/api/v1/cargos/settings", credentials).await.unwrap().status(), 200);
    let agency = json!({"code": "RM-01", "name": "Rent and Go Roma", "place_code": "412058091",
        "address": "Via Marsala 29", "phone": "06 1234567"});
    assert_eq!(call(reqwest::Method::POST, "/api/v1/cargos/agencies", agency).await.unwrap().status(), 201);
    let customer = json!({"first_name": "Mario", "last_name": "Rossi", "birth_date": "1980-05-01",
        "birth_place": {"code": "408040012"}, "citizenship_code": "100000100", "phone": "333 1234567",
        "driver_license": {"number": "U1234567X", "issued_on": "2015-01-01", "expires_on": "2035-01-01",
                           "issuing_place_code": "412058091"}});
    let customer = call(reqwest::Method::POST, "/api/v1/customers", customer).await.unwrap();
    assert_eq!(customer.status(), 201);
    let customer = customer.json::<Value>().await.unwrap()["id"].clone();
    let order = json!({"customer_id": customer, "pickup_at": "2099-03-01T09:00:00Z", "return_at": "2099-03-04T09:00:00Z",
        "vehicle": {"plate": "AB123CD", "make": "Fiat", "model": "Panda"}, "payment_type": "cash"});
    let order = call(reqwest::Method::POST, "/api/v1/orders", order).await.unwrap();
    assert_eq!(order.status(), 201);
    order.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

#[test]
fn cargos_commands_format_check_and_send_an_order_once_and_refresh_the_tables() {
    use clientele_integrations::testing::FakeCargos;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    // The fake police API runs on this runtime's thread while the commands run as processes.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let fake = runtime.block_on(FakeCargos::start());
    let (tenant, token) = tenant_with_admin(dir.path(), &url, "Rent & Go");
    let order = {
        let server = Server::start(dir.path(), &url, &[]);
        runtime.block_on(cargos_order(&reqwest::Client::new(), &server.base, &token))
    };
    let run = |args: &[&str]| with_fake(dir.path(), &url, &fake.base_url, args);
    let order_args = |verb: &'static str| ["cargos", verb, "--tenant", tenant.as_str(), "--order", order.as_str()];

    let formatted = run(&order_args("format"));
    assert!(formatted.status.success(), "{}", String::from_utf8_lossy(&formatted.stderr));
    let record = String::from_utf8(formatted.stdout).unwrap().trim_end_matches('\n').to_owned();
    assert_eq!(record.chars().count(), 1505);
    assert!(record.starts_with(&order));

    let early = run(&order_args("send"));
    assert!(!early.status.success() && early.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("check it first"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    let checked = run(&order_args("check"));
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    assert_eq!(String::from_utf8(checked.stdout).unwrap(), "checked\n");
    let sent = run(&order_args("send"));
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    assert_eq!(String::from_utf8(sent.stdout).unwrap(), "2026/FK/1\n");
    assert_eq!(fake.records("send"), [record], "the police got the record the format command showed");
    let again = run(&order_args("send"));
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("2026/FK/1"));
    assert_eq!(fake.records("send").len(), 1, "never sent twice");

    // Fresh tables from the police: a comune the snapshot lacks, read as the service writes them.
    let hashed = |text: &str| text.replace(',', "#");
    let builtin = clientele_core::cargos::tables::BUILTIN_TEXTS;
    let places = format!("{}499999999#BORGO DI PROVA#RM#\n", hashed(builtin.places));
    fake.set_tables(
        &hashed(builtin.payment_types),
        &places,
        &hashed(builtin.vehicle_types),
        &hashed(builtin.document_types),
    );
    let refreshed = run(&["cargos", "tables", "refresh", "--tenant", &tenant]);
    assert!(refreshed.status.success(), "{}", String::from_utf8_lossy(&refreshed.stderr));
    assert!(String::from_utf8_lossy(&refreshed.stderr).contains("11420 places"));
    let server = Server::start(dir.path(), &url, &[]);
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let get = |path: &str| http.get(format!("{}{path}", server.base)).bearer_auth(&token).send();
        let found: Value = get("/api/v1/cargos/places?q=borgo%20di%20prova").await.unwrap().json().await.unwrap();
        assert_eq!(found["items"][0]["code"], "499999999");
        let settings: Value = get("/api/v1/cargos/settings").await.unwrap().json().await.unwrap();
        assert_eq!(settings["tables"]["source"], "refreshed");
    });
}

#[test]
fn stripe_settings_are_set_from_the_command_line_with_keys_read_from_stdin_and_never_printed() {
    use clientele_integrations::testing::stripe::{PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET};
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let tenant = one_line(dir.path(), &url, &["tenant", "create", "--name", "Rent & Go"]);
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env("CLIENTELE_DATABASE_URL", &url)
        .args(["stripe", "configure", "--tenant", &tenant, "--mode", "own-key", "--secret-key", "-"])
        .args(["--publishable-key", PUBLISHABLE_KEY, "--webhook-secret", WEBHOOK_SECRET])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{SECRET_KEY}").unwrap();
    let configured = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&configured.stdout), String::from_utf8_lossy(&configured.stderr));
    assert!(configured.status.success(), "{stderr}");
    let view: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((view["configured"].clone(), view["mode"].clone()), (json!(true), json!("own_key")));
    assert_eq!((view["secret_key_set"].clone(), view["webhook_secret_set"].clone()), (json!(true), json!(true)));
    let shown = clientele(dir.path(), &url, &["stripe", "show", "--tenant", &tenant]);
    for text in [stdout.to_string(), stderr.to_string(), String::from_utf8_lossy(&shown.stdout).into_owned()] {
        assert!(!text.contains(SECRET_KEY) && !text.contains(WEBHOOK_SECRET), "{text}");
    }
    // Connect needs the platform's keys, which this configuration lacks: refused, naming why.
    let refused = clientele(
        dir.path(),
        &url,
        &["stripe", "configure", "--tenant", &tenant, "--mode", "connect", "--account", "acct_1Example000"],
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("stripe.secret_key"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let off = clientele(dir.path(), &url, &["stripe", "disable", "--tenant", &tenant]);
    assert!(off.status.success());
    assert_eq!(serde_json::from_slice::<Value>(&off.stdout).unwrap()["configured"], json!(false));
}
