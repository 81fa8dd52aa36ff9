//! Imports: CSV as people have it, every row accounted for, upserts that settle, dry runs that
//! write nothing, and bad files answered clearly.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{MAX_IMPORT_BYTES, Session, TestApp};

/// Posts `body` as an import with `query`, and waits for the job to finish; returns it.
pub(crate) async fn import(app: &TestApp, session: &Session, query: &str, body: Vec<u8>) -> Value {
    let request = app
        .request(Method::POST, &format!("/api/v1/imports?{query}"), session)
        .header("content-type", "text/csv")
        .body(body);
    let reply = app.send(request).await.expect(202);
    let location = reply.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(reply.body["status"], "queued");
    finished(app, session, &location).await
}

/// Waits for the job at `location` to end; fails only if it reads no row for a minute (a
/// loaded machine may be slow, never stuck).
async fn finished(app: &TestApp, session: &Session, location: &str) -> Value {
    let (mut progress, mut since) = (None, std::time::Instant::now());
    loop {
        let job = app.get(location, session).await.expect(200).body;
        if job["status"] == "succeeded" || job["status"] == "failed" {
            return job;
        }
        let now = (job["status"].clone(), job["rows_read"].clone());
        if progress.as_ref() != Some(&now) {
            (progress, since) = (Some(now), std::time::Instant::now());
        }
        assert!(
            since.elapsed() < Duration::from_secs(60),
            "the import at {location} made no progress for a minute: {job}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A job's `errors.csv`: its header and rows.
async fn errors_csv(app: &TestApp, session: &Session, job: &Value) -> (Vec<String>, Vec<Vec<String>>) {
    let location = format!("/api/v1/imports/{}/errors.csv", job["id"].as_str().unwrap());
    let response = app.request(Method::GET, &location, session).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let header = reader.headers().unwrap().iter().map(str::to_owned).collect();
    (header, reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect())
}

fn counts(job: &Value) -> [i64; 5] {
    ["rows_read", "created", "updated", "unchanged", "failed"].map(|k| job[k].as_i64().unwrap())
}

/// The customers of the tenant as `last_name → customer`.
async fn customers(app: &TestApp, session: &Session) -> Vec<Value> {
    app.get("/api/v1/customers?limit=200", session).await.expect(200).body["items"].as_array().unwrap().clone()
}

http_test! {
    async fn an_italian_excel_file_imports_its_valid_rows_and_reports_the_rest(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        // Windows-1252, semicolons, CRLF, a blank line, quotes and a newline inside a cell,
        // trailing empty columns, an unknown column, and rows that must fail.
        let mut file = b"Nome;Cognome;Telefono;E-mail;Codice Fiscale;Citt\xe0;Data di nascita;Colore preferito\r\n".to_vec();
        file.extend_from_slice(b"Nicol\xf2;Rossi;333 123 4567;nicolo@example.com;RSSNCL80B29H501U;Roma;29/02/1980;blu\r\n");
        file.extend_from_slice(b"J\xfcrgen;M\xfcller;+49 30 1234567;;;\"Berlin; Mitte\";;\"blu\r\nscuro\";;\r\n");
        file.extend_from_slice(b"\r\n");
        file.extend_from_slice(b"Anna;;333 000;anna@example.com;;;;\r\n");
        file.extend_from_slice(b"Marco;Bianchi;;nicolo@example.com;;;;\r\n");
        file.extend_from_slice(b"\"Zo\xeb \"\"Z\"\"\";Verdi;;;;;31/02/1990;\r\n");
        file.extend_from_slice(b"Luca;Neri;;;;;;;extra;cells\r\n");
        let job = import(app, &admin, "file_name=clienti.csv", file).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        assert_eq!(counts(&job), [6, 2, 0, 0, 4], "{job}");
        assert_eq!((job["encoding"].as_str(), job["delimiter"].as_str()), (Some("windows-1252"), Some(";")));
        assert_eq!(job["unmapped_columns"], json!(["Colore preferito"]));
        assert_eq!(job["file_name"], "clienti.csv");

        let people = customers(app, &admin).await;
        let rossi = people.iter().find(|c| c["last_name"] == "Rossi").unwrap();
        assert_eq!(rossi["first_name"], "Nicolò");
        assert_eq!(rossi["phone"], "+393331234567");
        assert_eq!(rossi["birth_date"], "1980-02-29");
        assert_eq!(rossi["address"]["city"], "Roma");
        let muller = people.iter().find(|c| c["last_name"] == "Müller").unwrap();
        assert_eq!(muller["address"]["city"], "Berlin; Mitte");
        // Searchable at once.
        let found = app.get("/api/v1/customers?q=jurgen%20muller", &admin).await.expect(200);
        assert_eq!(found.body["items"][0]["last_name"], "Müller");

        // The refused rows, a line each, as they were, with every reason: ready to fix and
        // upload again.
        let (header, rows) = errors_csv(app, &admin, &job).await;
        assert_eq!(header[..4], ["import_row", "import_errors", "Nome", "Cognome"]);
        let numbers: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(numbers, ["3", "4", "5", "6"], "each refused row once, in order");
        let why = |row: &str| rows.iter().find(|r| r[0] == row).unwrap()[1].clone();
        assert!(why("3").starts_with("last_name: is required; phone: must be a valid phone number"), "{}", why("3"));
        assert!(why("4").starts_with("email: row 1 of this file has the same email"), "{}", why("4"));
        assert!(why("5").starts_with("birth_date: "), "{}", why("5"));
        assert!(why("6").starts_with("row: the row has 10 cells"), "{}", why("6"));
        let zoe = rows.iter().find(|r| r[0] == "5").unwrap();
        assert_eq!(zoe[2], "Zoë \"Z\"", "the cells as they were");
        let location = format!("/api/v1/imports/{}/errors.csv", job["id"].as_str().unwrap());
        let text = app.request(Method::GET, &location, &admin).send().await.unwrap().text().await.unwrap();

        // Fixed and uploaded again, the refused rows import (the explaining columns are ignored).
        let fixed = text.replace("Anna;;333 000", "Anna;Ferri;333 0001234").replace(",Anna,,333 000,", ",Anna,Ferri,333 0001234,");
        let again = import(app, &admin, "", fixed.into_bytes()).await;
        assert_eq!(again["unmapped_columns"], json!(["Colore preferito"]), "{again}");
        assert!(again["created"].as_i64().unwrap() >= 1, "{again}");

        let listed = app.get("/api/v1/imports", &admin).await.expect(200);
        assert_eq!(listed.body["items"][1]["id"], job["id"], "newest first");
        let audit = app.get("/api/v1/audit?action=import.finished", &admin).await.expect(200);
        assert_eq!(audit.body["items"][1]["changes"]["created"], 2);
    }

    async fn upserts_update_matches_and_running_the_file_again_changes_nothing(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let existing = app.post("/api/v1/customers", &admin, json!({
            "first_name": "Anna", "last_name": "Bianchi", "external_ref": "C-1", "address": {"city": "Milano"},
            "phone": "333 111 2222"
        })).await.expect(201).id();
        let by_email = app.post("/api/v1/customers", &admin, json!({
            "first_name": "Luca", "last_name": "Neri", "email": "luca@example.com"
        })).await.expect(201).id();
        let file = "external_ref,First Name,Last Name,Email,City\n\
                    C-1,Anna,Bianchi,,Torino\n\
                    ,Luca,Neri,LUCA@example.com,Napoli\n\
                    C-3,Sara,Galli,sara@example.com,Bari\n";
        let job = import(app, &admin, "mode=upsert", file.into()).await;
        assert_eq!(counts(&job), [3, 1, 2, 0, 0], "{job}");
        let anna = app.get(&format!("/api/v1/customers/{existing}"), &admin).await.expect(200).body;
        assert_eq!(anna["address"]["city"], "Torino");
        assert_eq!(anna["phone"], "+393331112222", "a field the file leaves empty is kept");
        assert_eq!(anna["version"], 2);
        let luca = app.get(&format!("/api/v1/customers/{by_email}"), &admin).await.expect(200).body;
        assert_eq!(luca["address"]["city"], "Napoli");

        let again = import(app, &admin, "mode=upsert", file.into()).await;
        assert_eq!(counts(&again), [3, 0, 0, 3, 0], "{again}");
        assert_eq!(customers(app, &admin).await.len(), 3);
        let anna = app.get(&format!("/api/v1/customers/{existing}"), &admin).await.expect(200).body;
        assert_eq!(anna["version"], 2, "nothing written");

        // In create mode the same rows are duplicates, refused with the customer they match.
        let create = import(app, &admin, "", file.into()).await;
        assert_eq!(counts(&create), [3, 0, 0, 0, 3], "{create}");
        assert_eq!(customers(app, &admin).await.len(), 3);
    }

    async fn an_import_is_undone_as_a_whole_except_what_changed_since(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let anna = app.post("/api/v1/customers", &admin, json!({
            "first_name": "Anna", "last_name": "Bianchi", "external_ref": "C-1", "address": {"city": "Milano"}
        })).await.expect(201).id();
        let file = "external_ref,first_name,last_name,city,email\n\
                    C-1,Anna,Bianchi,Torino,anna@example.com\n\
                    C-2,Luca,Neri,,\n\
                    C-3,Sara,Galli,,\n";
        let job = import(app, &admin, "mode=upsert", file.into()).await;
        assert_eq!(counts(&job), [3, 2, 1, 0, 0], "{job}");
        let id = job["id"].as_str().unwrap();
        // Someone changes Sara after the import: she stays.
        let sara = customers(app, &admin).await.into_iter().find(|c| c["external_ref"] == "C-3").unwrap();
        app.patch(&format!("/api/v1/customers/{}", sara["id"].as_str().unwrap()), &admin, json!({"phone": "333 1234567"})).await.expect(200);

        app.post(&format!("/api/v1/imports/{id}/undo"), &operator, json!({})).await.problem(403, "forbidden");
        let undone = app.post(&format!("/api/v1/imports/{id}/undo"), &admin, json!({})).await.expect(200);
        assert_eq!(
            (undone.body["undo"]["deleted"].as_i64(), undone.body["undo"]["restored"].as_i64(), undone.body["undo"]["kept"].as_i64()),
            (Some(1), Some(1), Some(1)),
            "{}", undone.body
        );
        let back = app.get(&format!("/api/v1/customers/{anna}"), &admin).await.expect(200).body;
        assert_eq!(back["address"]["city"], "Milano");
        assert_eq!(back["email"], json!(null), "the email the import added is gone again");
        let left: Vec<String> = customers(app, &admin).await.iter().map(|c| c["external_ref"].as_str().unwrap().to_owned()).collect();
        assert_eq!(left.len(), 2);
        assert!(left.contains(&"C-1".to_owned()) && left.contains(&"C-3".to_owned()), "{left:?}");
        app.post(&format!("/api/v1/imports/{id}/undo"), &admin, json!({})).await.problem(409, "import_not_undoable");
        let audit = app.get("/api/v1/audit?action=import.undone", &admin).await.expect(200);
        assert_eq!(audit.body["items"][0]["changes"]["deleted"], 1);
        let dry = import(app, &admin, "dry_run=true", "first_name,last_name\nA,B\n".into()).await;
        let dry_id = dry["id"].as_str().unwrap();
        app.post(&format!("/api/v1/imports/{dry_id}/undo"), &admin, json!({})).await.problem(409, "import_not_undoable");
    }

    async fn utf16_files_and_stray_windows_1252_rows_read_right(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        // Excel's "Unicode text": UTF-16 LE with a BOM, tab-separated.
        let mut utf16 = vec![0xFF, 0xFE];
        // No newline at the end, as Excel leaves it.
        utf16.extend("Nome\tCognome\r\nZoë\tŽáková\r\nJürgen\tMüller".encode_utf16().flat_map(u16::to_le_bytes));
        let job = import(app, &admin, "", utf16).await;
        assert_eq!((job["encoding"].as_str(), job["delimiter"].as_str()), (Some("utf-16le"), Some("tab")), "{job}");
        assert_eq!(counts(&job), [2, 2, 0, 0, 0], "{job}");
        // A UTF-8 file with one row pasted from a Windows-1252 source.
        let mut mixed = "first_name,last_name\nNicolò,Rossi\n".as_bytes().to_vec();
        mixed.extend_from_slice(b"Fran\xe7ois,Lef\xe8vre\n");
        let job = import(app, &admin, "", mixed).await;
        assert_eq!(counts(&job), [2, 2, 0, 0, 0], "{job}");
        let names: Vec<String> = customers(app, &admin).await.iter().map(|c| c["last_name"].as_str().unwrap().to_owned()).collect();
        for expected in ["Žáková", "Müller", "Rossi", "Lefèvre"] {
            assert!(names.contains(&expected.to_owned()), "{expected} in {names:?}");
        }
    }

    async fn duplicates_far_apart_in_a_big_file_are_caught(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        // Rows 1 and 1,200 share an email, rows 2 and 1,300 an external_ref: batches apart.
        let mut file = String::from("external_ref,first_name,last_name,email\n");
        for i in 1..=1_400 {
            let email = if i == 1 || i == 1_200 { "first@example.com".to_owned() } else { format!("p{i}@example.com") };
            let external_ref = if i == 1_300 { "R2".to_owned() } else { format!("R{i}") };
            file.push_str(&format!("{external_ref},Anna,Rossi,{email}\n"));
        }
        for (query, expected) in [("", [1_400, 1_398, 0, 0, 2]), ("mode=upsert&dry_run=true", [1_400, 0, 0, 0, 2])] {
            let job = import(app, &admin, query, file.clone().into_bytes()).await;
            let got = counts(&job);
            assert_eq!((got[0], got[4]), (expected[0], expected[4]), "{query}: {job}");
            let csv = app.request(Method::GET, &format!("/api/v1/imports/{}/errors.csv", job["id"].as_str().unwrap()), &admin).send().await.unwrap().text().await.unwrap();
            assert!(csv.contains("\n1200,email: row 1 of this file has the same email,"), "{query}: {csv}");
            assert!(csv.contains("\n1300,external_ref: row 2 of this file has the same external_ref,"), "{query}: {csv}");
        }
    }

    async fn our_own_export_imports_back_unchanged(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        app.post("/api/v1/customers", &admin, json!({
            "first_name": "Nicolò", "last_name": "Rossi", "email": "nicolo@example.com", "phone": "333 123 4567",
            "external_ref": "-7", "address": {"line1": "Via Roma 1", "city": "Roma", "country": "IT"},
            "driver_license": {"number": "U1234567A", "issued_on": "2015-01-01", "expires_on": "2035-01-01"}
        })).await.expect(201);
        app.post("/api/v1/customers", &admin, json!({"kind": "partner", "company_name": "=Agenzia", "email": "a@example.com"}))
            .await
            .expect(201);
        for format in ["csv", "excel"] {
            let exported = app
                .request(Method::GET, &format!("/api/v1/exports/customers.csv?format={format}"), &admin)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec();
            let job = import(app, &admin, "mode=upsert", exported).await;
            assert_eq!(counts(&job), [2, 0, 0, 2, 0], "{format}: {job}");
            assert_eq!(job["unmapped_columns"], json!([]), "{format}: every column of our export is known");
        }
    }

    async fn a_dry_run_reports_and_writes_nothing(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        app.post("/api/v1/customers", &admin, json!({"first_name": "A", "last_name": "B", "external_ref": "X1"})).await.expect(201);
        // The last row has nothing to match it by: an upsert refuses it rather than adding it anew on every run.
        let file = "external_ref;first_name;last_name\nX1;Anna;Bianchi\nX2;Luca;Neri\nX3;;Galli\n;Marco;Verdi\n";
        let job = import(app, &admin, "mode=upsert&dry_run=true", file.into()).await;
        assert_eq!(job["dry_run"], true);
        assert_eq!(counts(&job), [4, 1, 1, 0, 2], "{job}");
        let people = customers(app, &admin).await;
        assert_eq!(people.len(), 1);
        assert_eq!(people[0]["first_name"], "A", "not updated either");
    }

    async fn explicit_mappings_and_multipart_uploads_work(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let file = "Cliente,Nome,Cognome,Interno\n17,Anna,Rossi,x\n";
        let form = reqwest::multipart::Form::new()
            .text("mode", "upsert")
            .text("mapping", r#"{"Cliente": "external_ref", "Interno": ""}"#)
            .part("file", reqwest::multipart::Part::bytes(file.as_bytes().to_vec()).file_name("legacy.csv"));
        let reply = app.send(app.request(Method::POST, "/api/v1/imports", &admin).multipart(form)).await.expect(202);
        let job = finished(app, &admin, reply.headers["location"].to_str().unwrap()).await;
        assert_eq!(counts(&job), [1, 1, 0, 0, 0], "{job}");
        assert_eq!((job["mode"].as_str(), job["file_name"].as_str()), (Some("upsert"), Some("legacy.csv")));
        assert_eq!(job["unmapped_columns"], json!([]));
        assert_eq!(customers(app, &admin).await[0]["external_ref"], "17");
    }

    async fn imports_running_at_once_in_one_tenant_do_not_interfere(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let file = |prefix: &str, rows: usize| {
            let mut text = String::from("external_ref,first_name,last_name\n");
            for i in 0..rows {
                text.push_str(&format!("{prefix}{i},Anna,{}\n", if i % 50 == 0 { "" } else { "Rossi" }));
            }
            text.into_bytes()
        };
        let (a, b) = tokio::join!(import(app, &admin, "", file("A", 1_200)), import(app, &admin, "mode=upsert", file("B", 900)));
        assert_eq!(counts(&a), [1_200, 1_176, 0, 0, 24], "{a}");
        assert_eq!(counts(&b), [900, 882, 0, 0, 18], "{b}");
        let exported = app.request(Method::GET, "/api/v1/exports/customers.csv?columns=external_ref", &admin).send().await.unwrap();
        let text = exported.text().await.unwrap();
        let mut refs: Vec<&str> = text.lines().skip(1).collect();
        refs.sort_unstable();
        refs.dedup();
        assert_eq!(refs.len(), 1_176 + 882);
    }

    async fn imports_racing_for_the_same_external_refs_create_each_once(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let mut file = String::from("external_ref,first_name,last_name\n");
        for i in 0..1_200 {
            file.push_str(&format!("S{i},Anna,Rossi\n"));
        }
        let (a, b) =
            tokio::join!(import(app, &admin, "", file.clone().into_bytes()), import(app, &admin, "", file.into_bytes()));
        assert_eq!((a["status"].as_str(), b["status"].as_str()), (Some("succeeded"), Some("succeeded")), "{a} {b}");
        let created = a["created"].as_i64().unwrap() + b["created"].as_i64().unwrap();
        let failed = a["failed"].as_i64().unwrap() + b["failed"].as_i64().unwrap();
        assert_eq!((created, failed), (1_200, 1_200), "{a} {b}");
    }

    async fn mangled_files_end_in_a_clear_state_with_every_row_counted(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let valid = "Nome;Cognome;Telefono;E-mail;Città\r\nNicolò;Rossi;333 1234567;n@example.com;Roma\r\n\
            \"Zoë\";\"Žáková\";;z@example.com;\"Praha\r\n1\"\r\nAnna;Bianchi;;;\r\n";
        // A small deterministic generator: the same mangled files on every run.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..12 {
            let mut bytes = valid.as_bytes().to_vec();
            for _ in 0..(next() % 8 + 1) {
                let at = (next() as usize) % (bytes.len() + 1);
                let byte = (next() % 256) as u8;
                match next() % 3 {
                    0 => bytes.insert(at, byte),
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ if at < bytes.len() => bytes[at] = byte,
                    _ => {}
                }
            }
            let job = import(app, &admin, "mode=upsert", bytes).await;
            match job["status"].as_str() {
                Some("succeeded") => {
                    let [read, created, updated, unchanged, failed] = counts(&job);
                    assert_eq!(read, created + updated + unchanged + failed, "every row accounted for: {job}");
                }
                Some("failed") => assert!(job["failure"].is_string(), "{job}"),
                other => panic!("unexpected status {other:?}: {job}"),
            }
        }
    }

    async fn bad_files_and_requests_get_clear_answers(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let failed = |job: &Value| (job["status"].as_str().unwrap().to_owned(), job["failure"].as_str().unwrap_or("").to_owned());

        let empty = import(app, &admin, "", Vec::new()).await;
        assert_eq!(failed(&empty).0, "failed");
        assert!(failed(&empty).1.contains("empty"), "{empty}");
        let binary = import(app, &admin, "", b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00".to_vec()).await;
        assert!(failed(&binary).1.contains("binary"), "{binary}");
        let png = import(app, &admin, "", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec()).await;
        assert_eq!(failed(&png).0, "failed");
        let unmapped = import(app, &admin, "", "colour,size\nred,XL\n".into()).await;
        assert!(failed(&unmapped).1.contains("no column maps"), "{unmapped}");
        let header_only = import(app, &admin, "", "first_name,last_name\r\n".into()).await;
        assert_eq!(header_only["status"], "succeeded");
        assert_eq!(counts(&header_only), [0, 0, 0, 0, 0]);
        let few = import(app, &admin, "", "first_name,last_name,email\nAnna,Rossi\n".into()).await;
        assert_eq!(counts(&few), [1, 1, 0, 0, 0], "a short row is read with empty cells: {few}");

        let oversize = vec![b'a'; MAX_IMPORT_BYTES as usize + 1];
        let request = app.request(Method::POST, "/api/v1/imports", &admin).header("content-type", "text/csv").body(oversize);
        app.send(request).await.problem(413, "payload_too_large");
        let abandoned = app.get("/api/v1/imports?limit=1", &admin).await.expect(200);
        assert_eq!(abandoned.body["items"][0]["status"], "failed");

        app.send(app.request(Method::POST, "/api/v1/imports", &operator).body("first_name\nA\n")).await.problem(403, "forbidden");
        let reply = app.send(app.request(Method::POST, "/api/v1/imports?mode=merge&dry_run=perhaps", &admin).body("a\n")).await;
        let reply = reply.problem(400, "invalid_query");
        assert_eq!(reply.fields().iter().map(|f| f.0.as_str()).collect::<Vec<_>>(), ["mode", "dry_run"]);
        let reply = app.send(app.request(Method::POST, "/api/v1/imports?mapping=%7B%22A%22%3A%22password%22%7D", &admin).body("a\n")).await;
        assert_eq!(reply.problem(400, "invalid_query").fields()[0].0, "mapping.A");

        let other = app.tenant().await;
        let other_admin = app.user(other, "admin").await;
        let id = header_only["id"].as_str().unwrap();
        app.get(&format!("/api/v1/imports/{id}"), &other_admin).await.problem(404, "not_found");
        let response = app.request(Method::GET, &format!("/api/v1/imports/{id}/errors.csv"), &other_admin).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404);
        assert_eq!(app.get("/api/v1/imports", &other_admin).await.expect(200).body["items"], json!([]));
        app.get("/api/v1/imports", &operator).await.problem(403, "forbidden");
    }
    async fn a_refused_row_is_one_line_with_all_its_problems_and_fixed_it_creates_each_person_once(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        // Rows with no problem, one problem, and three problems (a cell the mapping refuses, and
        // two the validation refuses).
        let file = "First Name,Last Name,Phone,Country,VIP\n\
                    Anna,Rossi,333 1234567,Italia,no\n\
                    Luca,Neri,12,IT,no\n\
                    Sara,,12,Narnia,no\n\
                    Marco,Verdi,,ITA,yes\n";
        let job = import(app, &admin, "", file.into()).await;
        assert_eq!(counts(&job), [4, 2, 0, 0, 2], "{job}");
        let (header, rows) = errors_csv(app, &admin, &job).await;
        assert_eq!(header, ["import_row", "import_errors", "First Name", "Last Name", "Phone", "Country", "VIP"]);
        assert_eq!(rows.len(), 2, "a line per refused row: {rows:?}");
        assert_eq!(rows[0][0], "2");
        assert!(rows[0][1].starts_with("phone: must be a valid phone number"), "{}", rows[0][1]);
        assert!(!rows[0][1].contains("; "), "one problem: {}", rows[0][1]);
        assert_eq!(rows[1][0], "3");
        let why = &rows[1][1];
        for field in ["address.country: \"Narnia\" is not a country", "last_name: is required", "phone: must be"] {
            assert!(why.contains(field), "{field} in {why}");
        }
        assert_eq!(why.matches("; ").count(), 2, "three problems in one cell: {why}");
        assert_eq!(rows[1][2..], ["Sara", "", "12", "Narnia", "no"], "the cells as they were");

        // The same, as JSON: each row once, every problem listed.
        let listed = app.get(&format!("/api/v1/imports/{}/errors?limit=1", job["id"].as_str().unwrap()), &admin).await.expect(200);
        assert_eq!(listed.body["items"][0]["row"], 2);
        assert_eq!(listed.body["items"][0]["errors"][0]["code"], "invalid_phone");
        let cursor = listed.body["next_cursor"].as_str().unwrap().to_owned();
        let next = app.get(&format!("/api/v1/imports/{}/errors?limit=1&cursor={cursor}", job["id"].as_str().unwrap()), &admin).await.expect(200);
        assert_eq!(next.body["items"][0]["row"], 3);
        assert_eq!(next.body["items"][0]["errors"].as_array().unwrap().len(), 3);
        assert_eq!(next.body["items"][0]["cells"], json!(["Sara", "", "12", "Narnia", "no"]));
        assert_eq!(next.body["next_cursor"], Value::Null);

        // Fixed and uploaded again: each person exists once.
        let mut fixed = String::from("import_row,import_errors,First Name,Last Name,Phone,Country,VIP\n");
        fixed.push_str("2,\"phone: must be a valid phone number\",Luca,Neri,333 7654321,IT,no\n");
        fixed.push_str("3,\"address.country: …; last_name: …; phone: …\",Sara,Galli,333 0001112,Norway,no\n");
        let again = import(app, &admin, "", fixed.into_bytes()).await;
        assert_eq!(counts(&again), [2, 2, 0, 0, 0], "{again}");
        let people = customers(app, &admin).await;
        let mut names: Vec<&str> = people.iter().map(|c| c["first_name"].as_str().unwrap()).collect();
        names.sort_unstable();
        assert_eq!(names, ["Anna", "Luca", "Marco", "Sara"]);
        let sara = people.iter().find(|c| c["first_name"] == "Sara").unwrap();
        assert_eq!(sara["address"]["country"], "NO");
        let marco = people.iter().find(|c| c["first_name"] == "Marco").unwrap();
        assert_eq!((marco["address"]["country"].as_str(), marco["vip"].as_bool()), (Some("IT"), Some(true)));
    }

    async fn a_generic_customers_file_maps_its_id_phones_and_country_names_and_says_where_each_column_went(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let file = "Index,Customer Id,First Name,Last Name,Company,City,Country,Phone 1,Phone 2,Email,Subscription Date,Website\n\
            1,DD37Cf93aecA6Dc,Sheryl,Baxter,Rasmussen Group,East Leonard,Norway,+47 412 34 567,+47 22 12 34 56,zunigavanessa@smith.info,2020-08-24,http://www.stephenson.com/\n\
            2,1Ef7b82A4CAAD10,Preston,Lozano,Vega-Gentry,East Jimmychester,Deutschland,+49 (0) 30 1234567,,vmata@colon.com,2021-04-23,https://goodwin-ingram.com/\n\
            3,6F94879bDAfE5a6,Roy,Berry,Murillo-Perry,Isabelborough,Österreich,0043 (0)1 5123456,,beckycarr@hogan.com,2020-03-25,http://www.lawrence.com/\n";
        let dry = import(app, &admin, "dry_run=true", file.into()).await;
        let expected = json!([
            {"column": "Index", "target": "ignored"},
            {"column": "Customer Id", "target": "external_ref"},
            {"column": "First Name", "target": "first_name"},
            {"column": "Last Name", "target": "last_name"},
            {"column": "Company", "target": "company_name"},
            {"column": "City", "target": "address.city"},
            {"column": "Country", "target": "address.country"},
            {"column": "Phone 1", "target": "phone"},
            {"column": "Phone 2", "target": "secondary_phone"},
            {"column": "Email", "target": "email"},
            {"column": "Subscription Date", "target": "ignored"},
            {"column": "Website", "target": "ignored"},
        ]);
        assert_eq!(dry["columns"], expected, "the dry run says where every column goes");
        assert_eq!(counts(&dry), [3, 3, 0, 0, 0], "{dry}");
        let job = import(app, &admin, "", file.into()).await;
        assert_eq!(job["columns"], expected);
        assert_eq!(job["unmapped_columns"], json!(["Index", "Subscription Date", "Website"]));
        assert_eq!(counts(&job), [3, 3, 0, 0, 0], "{job}");
        let people = customers(app, &admin).await;
        let baxter = people.iter().find(|c| c["last_name"] == "Baxter").unwrap();
        assert_eq!(baxter["external_ref"], "DD37Cf93aecA6Dc");
        assert_eq!(baxter["address"]["country"], "NO");
        assert_eq!((baxter["phone"].as_str(), baxter["secondary_phone"].as_str()), (Some("+4741234567"), Some("+4722123456")));
        let lozano = people.iter().find(|c| c["last_name"] == "Lozano").unwrap();
        assert_eq!((lozano["phone"].as_str(), lozano["address"]["country"].as_str()), (Some("+49301234567"), Some("DE")));
        let berry = people.iter().find(|c| c["last_name"] == "Berry").unwrap();
        assert_eq!((berry["phone"].as_str(), berry["address"]["country"].as_str()), (Some("+4315123456"), Some("AT")));
        // The second phone is searchable like the first; the source id matches a later upsert.
        let found = app.get("/api/v1/customers?q=22123456", &admin).await.expect(200);
        assert_eq!(found.body["items"][0]["last_name"], "Baxter");
        let update = "Customer Id,City\nDD37Cf93aecA6Dc,Oslo\n";
        let upserted = import(app, &admin, "mode=upsert", update.into()).await;
        assert_eq!(counts(&upserted), [1, 0, 1, 0, 0], "{upserted}");
    }

    async fn a_multipart_import_with_two_files_is_refused_and_queues_nothing(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let part = |name: &str| reqwest::multipart::Part::bytes(format!("first_name,last_name\n{name},Rossi\n").into_bytes()).file_name("a.csv");
        let form = reqwest::multipart::Form::new().part("file", part("Anna")).part("file", part("Bruno"));
        let reply = app.send(app.request(Method::POST, "/api/v1/imports", &admin).multipart(form)).await;
        let detail = reply.problem(400, "malformed_form").body["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains("file"), "{detail}");
        let jobs = app.get("/api/v1/imports", &admin).await.expect(200).body;
        for job in jobs["items"].as_array().unwrap() {
            assert_eq!(job["status"], "failed", "{job}");
        }
        assert!(customers(app, &admin).await.is_empty());
    }

    async fn two_undos_of_one_import_at_once_undo_it_once(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let mut file = String::from("first_name,last_name\n");
        for i in 0..40 {
            file.push_str(&format!("Person{i},Undone\n"));
        }
        let job = import(app, &admin, "", file.into()).await;
        assert_eq!(counts(&job)[1], 40, "{job}");
        let path = format!("/api/v1/imports/{}/undo", job["id"].as_str().unwrap());
        let (first, second) = tokio::join!(app.post(&path, &admin, json!({})), app.post(&path, &admin, json!({})));
        let mut statuses = [first.status.as_u16(), second.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "{} / {}", first.body, second.body);
        let (done, refused) = if first.status == 200 { (first, second) } else { (second, first) };
        assert_eq!(refused.problem(409, "import_not_undoable").code(), "import_not_undoable");
        assert_eq!(done.body["undo"]["deleted"], 40, "{}", done.body);
        let audit = app.get("/api/v1/audit?action=import.undone", &admin).await.expect(200);
        assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);
        assert!(customers(app, &admin).await.is_empty());
        let read = app.get(&format!("/api/v1/imports/{}", job["id"].as_str().unwrap()), &admin).await.expect(200);
        assert_eq!(read.body["undo"]["deleted"], 40);
    }
    async fn a_huge_cell_refuses_its_row_only_and_is_never_kept_whole(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let mut file = String::from("First Name,Last Name,Notes\nAnna,Rossi,ok\nLuca,Neri,");
        file.push_str(&"x".repeat(200 * 1024));
        file.push_str("\nSara,\"Galli");
        file.push_str(&"y".repeat(3 * 1024 * 1024));
        file.push_str("\"\nMarco,Verdi,fine\n");
        let job = import(app, &admin, "", file.into_bytes()).await;
        assert_eq!(counts(&job), [4, 2, 0, 0, 2], "{job}");
        let listed = app.get(&format!("/api/v1/imports/{}/errors", job["id"].as_str().unwrap()), &admin).await.expect(200);
        let messages: Vec<&str> = listed.body["items"].as_array().unwrap().iter().map(|r| r["errors"][0]["message"].as_str().unwrap()).collect();
        assert_eq!(messages, ["the cell of \"Notes\" is longer than 64 KiB", "the row is longer than 1 MiB (an unclosed quote?)"]);
        assert_eq!(listed.body["items"][0]["errors"][0]["code"], "too_long");
    }
}
