//! Documents: upload, metadata, download, change, delete; encryption at rest; bad input; who may
//! do what; completion status; and the audit entry every attempt leaves.

use std::path::{Path, PathBuf};

use clientele_core::ids::{CustomerId, TenantId};
use clientele_core::time::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{MAX_DOCUMENT_BYTES, PDF, Reply, Session, TestApp};

/// Today (UTC) plus `days`, as `YYYY-MM-DD`.
fn day(days: i64) -> String {
    (Timestamp::now().date() + time::Duration::days(days)).to_string()
}

/// Every file under `dir`, recursively.
fn stored_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { pending.push(path) } else { files.push(path) }
        }
    }
    files.sort();
    files
}

/// The stored object of a document.
fn object_of(app: &TestApp, document: &Value) -> PathBuf {
    let id = document["id"].as_str().unwrap();
    stored_files(&app.documents_dir)
        .into_iter()
        .find(|p| p.to_string_lossy().contains(id))
        .unwrap_or_else(|| panic!("no stored object for {id}"))
}

async fn download(app: &TestApp, session: &Session, id: &str) -> (u16, Vec<u8>, Value) {
    let response = app.request(Method::GET, &format!("/api/v1/documents/{id}/file"), session).send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.bytes().await.unwrap().to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, bytes, json!({"content_type": content_type, "problem": body}))
}

/// The tenant's audit entries about documents, oldest first.
async fn document_entries(app: &TestApp, tenant: TenantId) -> Vec<clientele_core::audit::entry::AuditEntry> {
    let query = clientele_core::audit::store::AuditQuery { limit: 1000, ..Default::default() };
    let mut entries: Vec<_> = app
        .app
        .store()
        .list_audit(tenant, &query)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("document."))
        .collect();
    entries.reverse();
    entries
}

/// Sets a stored file's modification time `ago` in the past.
fn age(path: &Path, ago: std::time::Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() - ago).unwrap();
}

http_test! {
    async fn the_sweep_removes_old_files_without_a_document_and_keeps_young_and_referenced_ones(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let customer = app.client(&admin, "Maria", "Verdi").await;
        let kept = app.upload(&admin, customer, "passport", &[], PDF).await.expect(201).body;
        let deleted = app.upload(&admin, customer, "id_card", &[], PDF).await.expect(201).body;
        app.delete(&format!("/api/v1/documents/{}", deleted["id"].as_str().unwrap()), &admin).await.expect(204);
        let hour = std::time::Duration::from_secs(3600);
        // Referenced files, old: kept (a deleted document keeps its file too).
        let (kept_file, deleted_file) = (object_of(app, &kept), object_of(app, &deleted));
        age(&kept_file, 3 * hour);
        age(&deleted_file, 3 * hour);
        // Files left by uploads that crashed between file and row: one old, one young.
        let folder = kept_file.parent().unwrap().to_owned();
        let (old_orphan, young_orphan) = (folder.join(uuid::Uuid::now_v7().to_string()), folder.join(uuid::Uuid::now_v7().to_string()));
        std::fs::write(&old_orphan, b"CLD1 sealed bytes of a crashed upload").unwrap();
        std::fs::write(&young_orphan, b"CLD1 an upload under way").unwrap();
        age(&old_orphan, 2 * hour);
        // Another tenant's old orphan goes too, logged in that tenant's log.
        let other = app.tenant().await;
        let other_folder = app.documents_dir.join(format!("tenants/{other}/documents"));
        std::fs::create_dir_all(&other_folder).unwrap();
        let other_orphan = other_folder.join(uuid::Uuid::now_v7().to_string());
        std::fs::write(&other_orphan, b"CLD1 x").unwrap();
        age(&other_orphan, 2 * hour);

        let report = app.app.sweep_orphaned_documents(hour).await.unwrap();
        assert_eq!((report.tenants, report.objects, report.removed, report.young), (2, 5, 2, 1), "{report:?}");
        assert!(!old_orphan.exists() && !other_orphan.exists(), "old orphans are removed");
        assert!(young_orphan.exists(), "a young orphan (an upload under way) is kept");
        assert!(kept_file.exists() && deleted_file.exists(), "referenced files are kept");
        let (status, bytes, _) = download(app, &admin, kept["id"].as_str().unwrap()).await;
        assert_eq!((status, bytes.as_slice()), (200, PDF));
        let entries = document_entries(app, tenant).await;
        let swept = entries.iter().find(|e| e.action == "document.orphans_removed").expect("the sweep is audited");
        assert_eq!(swept.changes, Some(json!({"removed": 1, "kept_young": 1, "grace_seconds": 3600})));
        assert_eq!(swept.actor_role, "cli");
        assert!(document_entries(app, other).await.iter().any(|e| e.action == "document.orphans_removed"));

        // Once its grace has passed, the young one goes too; a second sweep finds nothing else.
        age(&young_orphan, 2 * hour);
        let again = app.app.sweep_orphaned_documents(hour).await.unwrap();
        assert_eq!((again.removed, again.young), (1, 0));
        assert!(!young_orphan.exists() && kept_file.exists() && deleted_file.exists());
        assert_eq!(app.app.sweep_orphaned_documents(hour).await.unwrap().removed, 0);
    }

    async fn requests_refused_before_their_service_are_logged_but_unauthenticated_ones_are_not(app: &TestApp) {
        let tenant = app.tenant().await;
        let operator = app.user(tenant, "operator").await;
        let driver = app.user(tenant, "driver").await;
        let customer = app.client(&operator, "Maria", "Verdi").await;
        let document = app.upload(&operator, customer, "passport", &[], PDF).await.expect(201).body;
        let id = document["id"].as_str().unwrap().to_owned();
        let before = document_entries(app, tenant).await.len();
        let tagged = |session: &Session, method: Method, path: &str, n: usize| {
            app.request(method, path, session).header("user-agent", format!("probe/{n}"))
        };
        let (doc, bad) = (format!("/api/v1/documents/{id}"), "/api/v1/documents/not-a-uuid".to_owned());
        let list = format!("/api/v1/customers/{customer}/documents");
        // (request, status, code, action, endpoint, the customer named, who)
        type Case<'a> = (reqwest::RequestBuilder, u16, &'a str, &'a str, &'a str, Option<CustomerId>, &'a Session);
        let cases: Vec<Case> = vec![
            (tagged(&operator, Method::PATCH, &bad, 0).json(&json!({"number": "X"})), 400, "invalid_path_parameter", "document.updated", "PATCH /api/v1/documents/{id}", None, &operator),
            (tagged(&operator, Method::PATCH, &doc, 1).header("if-match", "\"two\"").json(&json!({"number": "X"})), 400, "invalid_header", "document.updated", "PATCH /api/v1/documents/{id}", Some(customer), &operator),
            (tagged(&operator, Method::PATCH, &doc, 2).header("content-type", "application/json").body("{\"number\": "), 400, "malformed_json", "document.updated", "PATCH /api/v1/documents/{id}", Some(customer), &operator),
            (tagged(&operator, Method::PATCH, &doc, 3).header("content-type", "text/plain").body("number=X"), 415, "unsupported_media_type", "document.updated", "PATCH /api/v1/documents/{id}", Some(customer), &operator),
            (tagged(&operator, Method::DELETE, &doc, 4).header("if-match", "W/\"x\""), 400, "invalid_header", "document.deleted", "DELETE /api/v1/documents/{id}", Some(customer), &operator),
            (tagged(&operator, Method::DELETE, &bad, 5), 400, "invalid_path_parameter", "document.deleted", "DELETE /api/v1/documents/{id}", None, &operator),
            (tagged(&driver, Method::GET, "/api/v1/documents/not-a-uuid/file", 6), 400, "invalid_path_parameter", "document.downloaded", "GET /api/v1/documents/{id}/file", None, &driver),
            (tagged(&operator, Method::GET, &format!("{list}?include_deleted=maybe"), 7), 400, "invalid_query", "document.viewed", "GET /api/v1/customers/{id}/documents", Some(customer), &operator),
            (tagged(&driver, Method::GET, &format!("{list}?secret=1"), 8), 400, "invalid_query", "document.viewed", "GET /api/v1/customers/{id}/documents", Some(customer), &driver),
            (tagged(&operator, Method::GET, "/api/v1/customers/42/documents", 9), 400, "invalid_path_parameter", "document.viewed", "GET /api/v1/customers/{id}/documents", None, &operator),
            (tagged(&operator, Method::POST, "/api/v1/customers/42/documents", 10).header("content-type", "multipart/form-data; boundary=X").body("--X--\r\n"), 400, "invalid_path_parameter", "document.uploaded", "POST /api/v1/customers/{id}/documents", None, &operator),
        ];
        let count = cases.len();
        for (request, status, code, ..) in &cases {
            app.send(request.try_clone().unwrap()).await.problem(*status, code);
        }
        // Nobody signed in, or a token that is not one: answered, not logged.
        let anonymous = app.client_get(&format!("{bad}/file")).await;
        assert_eq!(anonymous.status().as_u16(), 401);
        let forged = Session { token: "not-a-token".into(), user_id: None };
        app.send(tagged(&forged, Method::PATCH, &bad, 99).json(&json!({}))).await.problem(401, "unauthenticated");

        let entries = document_entries(app, tenant).await;
        let logged = &entries[before..];
        assert_eq!(logged.len(), count, "one entry per refused request: {logged:#?}");
        for (n, (entry, (_, _, code, action, endpoint, named, who))) in logged.iter().zip(&cases).enumerate() {
            assert_eq!(entry.outcome.as_str(), "denied", "case {n}");
            assert_eq!(entry.action, *action, "case {n}");
            assert_eq!(entry.actor_id, Some(who.user_id.unwrap().as_uuid()), "case {n}");
            let role = if std::ptr::eq(*who, &driver) { "driver" } else { "operator" };
            assert_eq!(entry.actor_role, role, "case {n}");
            assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"), "case {n}");
            assert_eq!(entry.user_agent.as_deref(), Some(format!("probe/{n}").as_str()), "case {n}");
            assert_eq!(entry.changes, Some(json!({"endpoint": endpoint})), "case {n}");
            assert!(entry.reason.as_deref().unwrap_or_default().starts_with(code), "case {n}: {:?}", entry.reason);
            assert_eq!(entry.customer_id, *named, "case {n}");
        }
        // The document is untouched.
        let (status, bytes, _) = download(app, &operator, &id).await;
        assert_eq!((status, bytes.as_slice()), (200, PDF));
    }

    async fn files_round_trip_encrypted_and_checked(app: &TestApp) {
        let tenant = app.tenant().await;
        let operator = app.user(tenant, "operator").await;
        let customer = app.client(&operator, "Nicolò", "Rossi").await;
        let fields = [("number", "ya 1234567"), ("issuing_country", "it"), ("issuing_place", "Questura di Roma"),
            ("issued_on", "2020-05-01"), ("expires_on", &day(2000))];
        let created = app.upload(&operator, customer, "passport", &fields, PDF).await.expect(201);
        let document = created.body.clone();
        let id = document["id"].as_str().unwrap().to_owned();
        assert_eq!(created.headers["location"], format!("/api/v1/documents/{id}").as_str());
        assert_eq!(document["kind"], "passport");
        assert_eq!(document["number"], "YA1234567");
        assert_eq!(document["issuing_country"], "IT");
        assert_eq!(document["issued_on"], "2020-05-01");
        assert_eq!(document["customer_id"], json!(customer));
        assert_eq!(document["file"]["content_type"], "application/pdf");
        assert_eq!(document["file"]["name"], "scan.pdf");
        assert_eq!(document["file"]["size"], PDF.len());
        assert_eq!(document["version"], 1);
        for hidden in ["object_key", "key_id", "wrapped_key", "sealed", "tenant_id"] {
            assert!(document.get(hidden).is_none(), "{hidden} is shown");
        }

        let listed = app.get(&format!("/api/v1/customers/{customer}/documents"), &operator).await.expect(200);
        assert_eq!(listed.body["items"], json!([document]));

        let (status, bytes, meta) = download(app, &operator, &id).await;
        assert_eq!((status, bytes.as_slice()), (200, PDF));
        assert_eq!(meta["content_type"], "application/pdf");

        // At rest: no file signature in clear; the same file again is another ciphertext.
        let object = std::fs::read(object_of(app, &document)).unwrap();
        assert!(!object.windows(5).any(|w| w == b"%PDF-"), "the PDF signature is stored in clear");
        assert!(!object.windows(9).any(|w| w == b"YA1234567"));
        let again = app.upload(&operator, customer, "passport", &[], PDF).await.expect(201).body;
        let second = std::fs::read(object_of(app, &again)).unwrap();
        assert_ne!(object[4..], second[4..], "the same file gave the same ciphertext");

        // One flipped byte is detected, not served.
        let path = object_of(app, &document);
        let mut flipped = object.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x01;
        std::fs::write(&path, &flipped).unwrap();
        let (status, _, meta) = download(app, &operator, &id).await;
        assert_eq!(status, 500);
        assert_eq!(meta["problem"]["code"], "document_unreadable");
        // A missing file likewise.
        std::fs::remove_file(&path).unwrap();
        let (status, _, meta) = download(app, &operator, &id).await;
        assert_eq!((status, meta["problem"]["code"].as_str()), (500, Some("document_unreadable")));
        // The intact copy still opens.
        let (status, bytes, _) = download(app, &operator, again["id"].as_str().unwrap()).await;
        assert_eq!((status, bytes.as_slice()), (200, PDF));
    }

    async fn bad_uploads_are_clear_4xx_and_leave_no_file(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let customer = app.client(&admin, "Mario", "Rossi").await;
        let executable = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00 this program cannot be run";
        let reply = app.upload(&admin, customer, "passport", &[], executable).await.problem(422, "validation_failed");
        assert_eq!(reply.fields(), [("file".to_owned(), "invalid_type".to_owned())]);
        let reply = app.upload(&admin, customer, "passport", &[], b"").await.problem(422, "validation_failed");
        assert_eq!(reply.fields(), [("file".to_owned(), "required".to_owned())]);
        let oversize = [PDF, &vec![b'x'; MAX_DOCUMENT_BYTES as usize]].concat();
        app.upload(&admin, customer, "passport", &[], &oversize).await.problem(413, "payload_too_large");
        let reply = app
            .upload(&admin, customer, "passport", &[("issued_on", "2020-05-01"), ("expires_on", "2019-05-01")], PDF)
            .await
            .problem(422, "validation_failed");
        assert_eq!(reply.fields(), [("expires_on".to_owned(), "out_of_range".to_owned())]);
        let reply = app.upload(&admin, customer, "visa", &[("colour", "red")], PDF).await.problem(422, "validation_failed");
        assert_eq!(reply.fields(), [("colour".to_owned(), "unknown_field".to_owned())]);
        let reply = app.upload(&admin, customer, "visa", &[], PDF).await.problem(422, "validation_failed");
        assert_eq!(reply.fields(), [("kind".to_owned(), "invalid".to_owned())]);

        // No file part; not a form at all.
        let form = reqwest::multipart::Form::new().text("kind", "passport");
        let path = format!("/api/v1/customers/{customer}/documents");
        let reply = app.send(app.request(Method::POST, &path, &admin).multipart(form)).await;
        let reply = reply.problem(422, "validation_failed");
        assert_eq!(reply.fields(), [("file".to_owned(), "required".to_owned())]);
        app.post(&path, &admin, json!({"kind": "passport"})).await.problem(415, "unsupported_media_type");

        // A customer of another tenant, or none.
        let other_tenant = app.tenant().await;
        let other_admin = app.user(other_tenant, "admin").await;
        let theirs = app.client(&other_admin, "Anna", "Bianchi").await;
        app.upload(&admin, theirs, "passport", &[], PDF).await.problem(404, "not_found");
        app.upload(&admin, CustomerId::new(), "passport", &[], PDF).await.problem(404, "not_found");

        assert!(stored_files(&app.documents_dir).is_empty(), "a refused upload left a file");
        let listed = app.get(&path, &admin).await.expect(200);
        assert_eq!(listed.body["items"], json!([]));

        // Each refusal was logged, with why.
        let entries = document_entries(app, tenant).await;
        let refused: Vec<&str> = entries
            .iter()
            .filter(|e| e.action == "document.uploaded")
            .map(|e| {
                assert_eq!(e.outcome.as_str(), "denied");
                e.reason.as_deref().unwrap()
            })
            .collect();
        assert_eq!(refused.len(), 10, "{refused:?}");
        assert_eq!(refused[0], "invalid: file");
        assert!(refused[2].starts_with("payload_too_large"), "{}", refused[2]);
        assert!(refused[7].starts_with("unsupported_media_type"), "{}", refused[7]);
        assert!(refused[8].starts_with("not_found"), "{}", refused[8]);

        // A file of exactly the limit is fine.
        let exact = [PDF, &vec![b'x'; MAX_DOCUMENT_BYTES as usize - PDF.len()]].concat();
        app.upload(&admin, customer, "insurance", &[], &exact).await.expect(201);
    }

    async fn documents_of_another_tenant_are_not_found_and_odd_input_is_a_4xx(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let customer = app.client(&admin, "Mario", "Rossi").await;
        let document = app.upload(&admin, customer, "passport", &[], PDF).await.expect(201).body;
        let id = document["id"].as_str().unwrap().to_owned();
        let other = app.tenant().await;
        let intruder = app.user(other, "admin").await;
        let (status, _, _) = download(app, &intruder, &id).await;
        assert_eq!(status, 404);
        app.patch(&format!("/api/v1/documents/{id}"), &intruder, json!({"number": "X"})).await.problem(404, "not_found");
        app.delete(&format!("/api/v1/documents/{id}"), &intruder).await.problem(404, "not_found");
        app.get(&format!("/api/v1/customers/{customer}/documents"), &intruder).await.problem(404, "not_found");
        let theirs = document_entries(app, other).await;
        assert_eq!(theirs.len(), 4, "each attempt logged in the intruder's own tenant");
        assert!(theirs.iter().all(|e| e.outcome.as_str() == "denied"));
        assert!(theirs[..3].iter().all(|e| e.customer_id.is_none()), "nothing of the other tenant's record is copied");
        assert!(document_entries(app, tenant).await.iter().all(|e| e.outcome.as_str() == "allowed"));
        let (status, bytes, _) = download(app, &admin, &id).await;
        assert_eq!((status, bytes.as_slice()), (200, PDF), "untouched");

        // A NUL or a huge unknown member: a clear 422, never a 500.
        let path = format!("/api/v1/documents/{id}");
        let reply = app.patch(&path, &admin, json!({"\u{0}": 1})).await.problem(422, "validation_failed");
        assert_eq!(reply.fields()[0].1, "unknown_field");
        app.patch(&path, &admin, json!({"x".repeat(100_000): 1})).await.problem(422, "validation_failed");
        app.patch(&path, &admin, json!(["not", "an", "object"])).await.problem(422, "validation_failed");
        app.get("/api/v1/audit?action=%00", &admin).await.problem(400, "invalid_query");
        let form = reqwest::multipart::Form::new().text("kind\u{0}", "passport");
        let reply = app.send(app.request(Method::POST, &format!("/api/v1/customers/{customer}/documents"), &admin).multipart(form)).await;
        assert!(reply.status.is_client_error(), "{}", reply.body);
        let garbage = app
            .request(Method::POST, &format!("/api/v1/customers/{customer}/documents"), &admin)
            .header("content-type", "multipart/form-data; boundary=XYZ")
            .body("--XYZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n%PDF-1.4 no closing boundary");
        app.send(garbage).await.problem(400, "malformed_form");
    }

    async fn metadata_changes_are_versioned_and_deletes_are_soft(app: &TestApp) {
        let tenant = app.tenant().await;
        let operator = app.user(tenant, "operator").await;
        let customer = app.client(&operator, "Jan", "Novák").await;
        let document = app.upload(&operator, customer, "id_card", &[("number", "CA1")], PDF).await.expect(201).body;
        let path = format!("/api/v1/documents/{}", document["id"].as_str().unwrap());
        let changed = app.patch(&path, &operator, json!({"number": "CA2", "expires_on": day(30), "version": 1})).await;
        let changed = changed.expect(200);
        assert_eq!((changed.body["number"].as_str(), changed.body["version"].as_i64()), (Some("CA2"), Some(2)));
        assert_eq!(changed.headers["etag"], "\"2\"");
        app.patch(&path, &operator, json!({"number": "CA3", "version": 1})).await.problem(409, "version_conflict");
        let reply = app.patch(&path, &operator, json!({"issued_on": day(60)})).await.problem(422, "validation_failed");
        assert_eq!(reply.fields()[0].0, "issued_on");
        app.patch(&path, &operator, json!({"kind": null})).await.problem(422, "validation_failed");

        let response = app.request(Method::DELETE, &path, &operator).header("if-match", "\"1\"").send().await.unwrap();
        assert_eq!(response.status().as_u16(), 409);
        app.delete(&path, &operator).await.expect(204);
        let list = format!("/api/v1/customers/{customer}/documents");
        assert_eq!(app.get(&list, &operator).await.expect(200).body["items"], json!([]));
        let with_deleted = app.get(&format!("{list}?include_deleted=true"), &operator).await.expect(200);
        assert!(with_deleted.body["items"][0]["deleted_at"].is_string());
        let (status, _, _) = download(app, &operator, document["id"].as_str().unwrap()).await;
        assert_eq!(status, 404);
        app.delete(&path, &operator).await.problem(404, "not_found");
        assert_eq!(stored_files(&app.documents_dir).len(), 1, "the file of a soft-deleted document is kept");
    }

    async fn every_attempt_allowed_or_denied_is_logged_once_with_every_field(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let driver = app.user(tenant, "driver").await;
        let other_driver = app.user(tenant, "driver").await;
        let agency = app.partner_company(&admin, "Agency").await;
        let partner = app.partner_user(tenant, agency).await;
        let customer = app.client(&operator, "Maria", "Verdi").await;
        let order = json!({
            "customer_id": customer, "driver_id": driver.user_id.unwrap(),
            "pickup_at": Timestamp::now().add(std::time::Duration::from_secs(86_400)).to_string(),
            "return_at": Timestamp::now().add(std::time::Duration::from_secs(5 * 86_400)).to_string(),
            "pickup_place": "Roma", "return_place": "Roma",
            "vehicle": {"plate": "AB123CD", "make": "Fiat", "model": "Panda", "type": "car", "colour": "white"},
            "payment_type": "credit_card"
        });
        app.post("/api/v1/orders", &operator, order).await.expect(201);
        let before = document_entries(app, tenant).await.len();
        assert_eq!(before, 0);

        let list = format!("/api/v1/customers/{customer}/documents");
        let tagged = |session: &Session, method: Method, path: &str, n: usize| {
            app.request(method, path, session)
                .header("user-agent", format!("counter-desk/{n}"))
                .header("x-request-id", format!("req-{n}"))
        };
        let upload = |n: usize, session: &Session| {
            let form = reqwest::multipart::Form::new()
                .text("kind", "passport")
                .part("file", reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("p.pdf"));
            tagged(session, Method::POST, &list, n).multipart(form)
        };
        // 1-2 allowed uploads, 3-4 refused ones.
        let first = app.send(upload(1, &admin)).await.expect(201);
        app.send(upload(2, &operator)).await.expect(201);
        app.send(upload(3, &driver)).await.problem(403, "forbidden");
        app.send(upload(4, &partner)).await.problem(403, "forbidden");
        let id = first.body["id"].as_str().unwrap().to_owned();
        let file = format!("/api/v1/documents/{id}/file");
        // 5-8 metadata views: allowed for the operator and the assigned driver, refused otherwise.
        app.send(tagged(&operator, Method::GET, &list, 5)).await.expect(200);
        app.send(tagged(&driver, Method::GET, &list, 6)).await.expect(200);
        app.send(tagged(&other_driver, Method::GET, &list, 7)).await.problem(404, "not_found");
        app.send(tagged(&partner, Method::GET, &list, 8)).await.problem(403, "forbidden");
        // 9-11 downloads.
        let response = tagged(&driver, Method::GET, &file, 9).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let response = tagged(&other_driver, Method::GET, &file, 10).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404);
        let response = tagged(&partner, Method::GET, &file, 11).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 403);
        // 12-13 changes; 14-15 deletes.
        let path = format!("/api/v1/documents/{id}");
        let patch = |n: usize, session: &Session| tagged(session, Method::PATCH, &path, n).json(&json!({"number": "X1"}));
        app.send(patch(12, &driver)).await.problem(403, "forbidden");
        app.send(patch(13, &operator)).await.expect(200);
        app.send(tagged(&driver, Method::DELETE, &path, 14)).await.problem(403, "forbidden");
        assert_eq!(tagged(&admin, Method::DELETE, &path, 15).send().await.unwrap().status().as_u16(), 204);

        let entries = document_entries(app, tenant).await;
        let expected = [
            ("document.uploaded", "allowed", "admin"),
            ("document.uploaded", "allowed", "operator"),
            ("document.uploaded", "denied", "driver"),
            ("document.uploaded", "denied", "partner"),
            ("document.viewed", "allowed", "operator"),
            ("document.viewed", "allowed", "driver"),
            ("document.viewed", "denied", "driver"),
            ("document.viewed", "denied", "partner"),
            ("document.downloaded", "allowed", "driver"),
            ("document.downloaded", "denied", "driver"),
            ("document.downloaded", "denied", "partner"),
            ("document.updated", "denied", "driver"),
            ("document.updated", "allowed", "operator"),
            ("document.deleted", "denied", "driver"),
            ("document.deleted", "allowed", "admin"),
        ];
        let seen: Vec<(&str, &str, &str)> =
            entries.iter().map(|e| (e.action.as_str(), e.outcome.as_str(), e.actor_role.as_str())).collect();
        assert_eq!(seen, expected);
        for (n, entry) in entries.iter().enumerate() {
            let n = n + 1;
            assert!(entry.seq > 0 && entry.hash.as_ref().is_some_and(|h| h.len() == 64), "entry {n}: chain");
            assert!(entry.actor_id.is_some(), "entry {n}: actor");
            assert_eq!(entry.customer_id, Some(customer), "entry {n}: customer");
            assert!(entry.reason.as_ref().is_some_and(|r| !r.is_empty()), "entry {n}: reason");
            assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"), "entry {n}: ip");
            assert_eq!(entry.user_agent, Some(format!("counter-desk/{n}")), "entry {n}: device");
            assert_eq!(entry.request_id, Some(format!("req-{n}")), "entry {n}: request id");
            assert!(!entry.object_type.is_empty() && !entry.object_id.is_nil(), "entry {n}: object");
            assert_eq!(entry.tenant_id, tenant);
        }
        assert_eq!(entries[2].reason.as_deref(), Some("forbidden: your role may not upload documents"));
        assert_eq!(entries[12].changes, Some(json!({"number": {"from": null, "to": "X1"}})));
        let denied_upload = &entries[3];
        assert_eq!(denied_upload.object_type, "document");

        // Platform admins reach no tenant's documents (and leave no tenant entry).
        let platform = app.platform_admin().await;
        app.get(&list, &platform).await.problem(403, "forbidden");
        assert_eq!(document_entries(app, tenant).await.len(), expected.len());
    }

    async fn completion_follows_the_tenants_requirements(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let ready = app.client(&admin, "Ready", "Renter").await;
        let bare = app.client(&admin, "Bare", "Renter").await;
        let stale = app.client(&admin, "Stale", "Renter").await;
        app.upload(&admin, ready, "id_card", &[("expires_on", &day(10))], PDF).await.expect(201);
        app.upload(&admin, ready, "driver_license", &[("expires_on", &day(900))], PDF).await.expect(201);
        app.upload(&admin, stale, "passport", &[("expires_on", &day(-1))], PDF).await.expect(201);
        app.upload(&admin, stale, "driver_license", &[], PDF).await.expect(201);

        let status = |reply: Reply| reply.expect(200).body["documents"].clone();
        let both = ["passport|id_card", "driver_license"];
        assert_eq!(
            status(app.get(&format!("/api/v1/customers/{ready}"), &operator).await),
            json!({"complete": true, "missing": [], "expiring_soon": ["passport|id_card"]})
        );
        assert_eq!(status(app.get(&format!("/api/v1/customers/{bare}"), &operator).await)["missing"], json!(both));
        assert_eq!(
            status(app.get(&format!("/api/v1/customers/{stale}"), &operator).await)["missing"],
            json!(["passport|id_card"]),
            "an expired passport counts as missing"
        );

        let list = |query: &'static str| {
            let operator = operator.clone();
            async move {
                let reply = app.get(&format!("/api/v1/customers?{query}"), &operator).await.expect(200);
                let mut ids = crate::harness::ids(&reply);
                ids.sort();
                ids
            }
        };
        let mut incomplete = vec![bare, stale];
        incomplete.sort();
        assert_eq!(list("documents=incomplete").await, incomplete);
        assert_eq!(list("documents=complete").await, [ready]);
        assert_eq!(list("documents=incomplete&q=renter").await, incomplete, "the filter combines with search");
        let page = app.get("/api/v1/customers?documents=incomplete", &operator).await.expect(200);
        for item in page.body["items"].as_array().unwrap() {
            assert_eq!(item["documents"]["complete"], false);
        }
        let reply = app.get("/api/v1/customers?documents=maybe", &operator).await.problem(400, "invalid_query");
        assert_eq!(reply.fields()[0].0, "documents");

        // A deleted document no longer counts.
        let held = app.get(&format!("/api/v1/customers/{ready}/documents"), &admin).await.expect(200);
        let licence = held.body["items"].as_array().unwrap().iter().find(|d| d["kind"] == "driver_license").unwrap();
        app.delete(&format!("/api/v1/documents/{}", licence["id"].as_str().unwrap()), &admin).await.expect(204);
        assert_eq!(list("documents=complete").await, Vec::<CustomerId>::new());

        // The tenant's own requirements: admins only, audited.
        let settings = "/api/v1/settings/required-documents";
        assert_eq!(app.get(settings, &admin).await.expect(200).body, json!({"required": both}));
        app.call(Method::PUT, settings, Some(&operator), Some(json!({"required": ["passport"]}))).await.problem(403, "forbidden");
        let reply = app.call(Method::PUT, settings, Some(&admin), Some(json!({"required": ["passport", "visa"]}))).await;
        assert_eq!(reply.problem(422, "validation_failed").fields()[0].0, "required[1]");
        let reply = app.call(Method::PUT, settings, Some(&admin), Some(json!({"required": ["id_card|passport"]}))).await;
        assert_eq!(reply.expect(200).body, json!({"required": ["passport|id_card"]}));
        assert_eq!(list("documents=complete").await, [ready]);
        let audit = app.get("/api/v1/audit?action=settings.required_documents_changed", &admin).await.expect(200);
        assert_eq!(audit.body["items"].as_array().unwrap().len(), 1);
        app.call(Method::PUT, settings, Some(&admin), Some(json!({"required": []}))).await.expect(200);
        assert_eq!(list("documents=incomplete").await, Vec::<CustomerId>::new());

        // Partners see no documents: not their status, not a filter on them.
        let agency = app.partner_company(&admin, "Agency").await;
        let partner = app.partner_user(tenant, agency).await;
        let theirs = app.post("/api/v1/customers", &partner, json!({"first_name": "Via", "last_name": "Agency"})).await;
        let theirs = theirs.expect(201);
        assert!(theirs.body.get("documents").is_none(), "{}", theirs.body);
        let listed = app.get("/api/v1/customers", &partner).await.expect(200);
        assert!(listed.body["items"][0].get("documents").is_none());
        let one = app.get(&format!("/api/v1/customers/{}", theirs.id()), &partner).await.expect(200);
        assert!(one.body.get("documents").is_none());
        app.get("/api/v1/customers?documents=incomplete", &partner).await.problem(403, "forbidden");
    }

    async fn the_audit_log_is_for_admins_filtered_and_paged(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let customer = app.client(&operator, "Anna", "Bianchi").await;
        let other = app.client(&admin, "Luca", "Neri").await;
        app.upload(&operator, customer, "passport", &[], PDF).await.expect(201);
        app.get(&format!("/api/v1/customers/{customer}/documents"), &operator).await.expect(200);

        let page = app.get(&format!("/api/v1/audit?customer_id={customer}"), &admin).await.expect(200);
        let actions: Vec<&str> = page.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["document.viewed", "document.uploaded", "customer.created"], "newest first");
        let entry = &page.body["items"][0];
        for field in ["seq", "hash", "id", "at", "actor_id", "actor_role", "action", "object_type", "object_id",
            "customer_id", "outcome", "reason", "ip", "request_id"] {
            assert!(!entry[field].is_null(), "{field} is null in {entry}");
        }
        let by_operator = app.get(&format!("/api/v1/audit?user_id={}", operator.user_id.unwrap()), &admin).await.expect(200);
        assert_eq!(by_operator.body["items"].as_array().unwrap().len(), 3);
        let created = app.get("/api/v1/audit?action=customer.created&limit=1", &admin).await.expect(200);
        assert_eq!(created.body["items"][0]["customer_id"], json!(other));
        let cursor = created.body["next_cursor"].as_str().unwrap().to_owned();
        let next = app.get(&format!("/api/v1/audit?action=customer.created&limit=1&cursor={cursor}"), &admin).await.expect(200);
        assert_eq!(next.body["items"][0]["customer_id"], json!(customer));
        assert!(next.body["next_cursor"].is_null());
        let tomorrow = day(1);
        let none = app.get(&format!("/api/v1/audit?from={tomorrow}"), &admin).await.expect(200);
        assert_eq!(none.body["items"], json!([]));
        let today = app.get(&format!("/api/v1/audit?to={}", day(1)), &admin).await.expect(200);
        assert_eq!(today.body["items"].as_array().unwrap().len(), 4);

        app.get("/api/v1/audit", &operator).await.problem(403, "forbidden");
        app.get(&format!("/api/v1/audit?tenant_id={tenant}"), &admin).await.problem(400, "invalid_query");
        app.get("/api/v1/audit?from=yesterday", &admin).await.problem(400, "invalid_query");
        app.get("/api/v1/audit?cursor=nonsense", &admin).await.problem(400, "invalid_cursor");
        let platform = app.platform_admin().await;
        app.get("/api/v1/audit", &platform).await.problem(400, "invalid_query");
        let theirs = app.get(&format!("/api/v1/audit?tenant_id={tenant}&limit=2"), &platform).await.expect(200);
        assert_eq!(theirs.body["items"].as_array().unwrap().len(), 2);
        // A tenant that does not exist (an answer the OpenAPI document lists).
        let nobody = uuid::Uuid::new_v4();
        app.get(&format!("/api/v1/audit?tenant_id={nobody}"), &platform).await.problem(404, "not_found");
        let other_tenant = app.tenant().await;
        let other_admin = app.user(other_tenant, "admin").await;
        let foreign = app.get(&format!("/api/v1/audit?customer_id={customer}"), &other_admin).await.expect(200);
        assert_eq!(foreign.body["items"], json!([]), "another tenant's admin sees nothing of this tenant");
    }
}
