//! `serve --log-format json`: every line the process writes is a JSON object; the lines logged
//! while a request is handled carry its request id, tenant id and user id; no personal data
//! (names, emails, phones, searches) is ever logged.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{BIN, one_line, sqlite_url};

#[test]
fn json_logs_are_one_object_a_line_with_the_request_tenant_and_user_ids_and_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let tenant = one_line(dir.path(), &url, &["tenant", "create", "--name", "Rent & Go", "--country", "IT"]);
    let email = "admin@rentandgo.example";
    let user = one_line(
        dir.path(),
        &url,
        &["user", "create", "--tenant", &tenant, "--email", email, "--role", "admin", "--password", "s3cret-pass"],
    );
    let token = one_line(dir.path(), &url, &["token", "issue", "--tenant", &tenant, "--email", email]);

    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env("CLIENTELE_DATABASE_URL", &url)
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Both streams are read to their end, line by line, on threads of their own.
    let (lines, received) = mpsc::channel::<(&'static str, String)>();
    let readers: Vec<_> = [
        ("stdout", Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>),
        ("stderr", Box::new(child.stderr.take().unwrap())),
    ]
    .into_iter()
    .map(|(stream, pipe)| {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let _ = lines.send((stream, line.unwrap()));
            }
        })
    })
    .collect();
    drop(lines);

    let mut all = Vec::new();
    let address = loop {
        let (stream, line) = received.recv_timeout(Duration::from_secs(60)).expect("serve said where it listens");
        all.push((stream, line.clone()));
        let parsed: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON on {stream}: {line}"));
        if parsed["fields"]["message"] == "listening" {
            break parsed["fields"]["address"].as_str().unwrap().to_owned();
        }
    };
    let base = format!("http://{address}");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let created = http
            .post(format!("{base}/api/v1/customers"))
            .bearer_auth(&token)
            .header("x-request-id", "json-logs-create")
            .json(&json!({
                "first_name": "Zebedeo",
                "last_name": "Quintavalle-Ossola",
                "email": "zebedeo.quintavalle@ossola-mail.example",
                "phone": "+39 347 555 0199",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
        let found = http
            .get(format!("{base}/api/v1/customers?q=Quintavalle"))
            .bearer_auth(&token)
            .header("x-request-id", "json-logs-search")
            .send()
            .await
            .unwrap();
        assert_eq!(found.status(), 200);
        // A duplicate email and a refused body: problems are logged as ids and codes only.
        let refused = http
            .post(format!("{base}/api/v1/customers"))
            .bearer_auth(&token)
            .json(&json!({"first_name": "Zebedeo", "last_name": "", "email": "zebedeo.quintavalle@ossola-mail"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 422);
    });
    let _ = child.kill();
    let _ = child.wait();
    all.extend(received.iter());
    for reader in readers {
        reader.join().unwrap();
    }

    let parsed: Vec<Value> = all
        .iter()
        .map(|(stream, line)| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON on {stream}: {line}")))
        .collect();
    assert!(parsed.iter().all(Value::is_object));
    for request_id in ["json-logs-create", "json-logs-search"] {
        let mine: Vec<&Value> = parsed.iter().filter(|l| l["span"]["request_id"] == request_id).collect();
        assert!(!mine.is_empty(), "no line of {request_id}: {all:?}");
        for line in mine {
            assert_eq!(line["span"]["tenant_id"], tenant.as_str(), "{line}");
            assert_eq!(line["span"]["user_id"], user.as_str(), "{line}");
            assert!(line["span"]["route"] == "/api/v1/customers", "{line}");
        }
    }
    let text = all.iter().map(|(_, line)| line.to_lowercase()).collect::<Vec<_>>().join("\n");
    for personal in ["zebedeo", "quintavalle", "ossola", "3475550199", "347 555"] {
        assert!(!text.contains(personal), "{personal} was logged:\n{text}");
    }
}
