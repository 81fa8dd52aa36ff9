//! Bad input gets a clear problem naming what is wrong, never a 500.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Session, TestApp};

async fn admin(app: &TestApp) -> Session {
    let tenant = app.tenant().await;
    app.user(tenant, "admin").await
}

async fn raw(
    app: &TestApp,
    session: &Session,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> crate::harness::Reply {
    let request = app.request(method, path, session).header("content-type", content_type).body(body);
    app.send(request).await
}

/// A small deterministic generator for the fuzz loop.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

fn weird_value(rng: &mut Lcg, depth: u32) -> Value {
    let strings = [
        "",
        " ",
        "+39 123",
        "abc",
        "1980-02-30",
        "ZZ",
        "\u{0}",
        "💥💥",
        "'; DROP TABLE customers; --",
        "%_\\",
        "client",
        "partner",
        "staff",
        "2999-01-01",
        "U1234567X",
        "x@y",
        "01a20b31-8817-7178-b7ce-989be7fa84a7",
    ];
    match rng.next(if depth > 2 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.next(2) == 0),
        2 => json!(i64::MAX),
        3 => json!(-1.5e300),
        4 | 5 => json!(strings[rng.next(strings.len())]),
        6 => Value::Array((0..rng.next(3)).map(|_| weird_value(rng, depth + 1)).collect()),
        _ => {
            let keys = ["number", "issued_on", "expires_on", "type", "city", "country", "code", "x"];
            Value::Object(
                (0..rng.next(4))
                    .map(|_| (keys[rng.next(keys.len())].to_owned(), weird_value(rng, depth + 1)))
                    .collect(),
            )
        }
    }
}

http_test! {
    async fn an_invalid_phone_is_named(app: &TestApp) {
        let admin = admin(app).await;
        for phone in ["+39 123", "abc"] {
            let reply = app.post("/api/v1/customers", &admin, json!({"first_name": "A", "last_name": "B", "phone": phone})).await;
            assert_eq!(reply.problem(422, "validation_failed").fields(), [("phone".into(), "invalid_phone".into())]);
        }
    }

    async fn missing_names_are_each_named(app: &TestApp) {
        let admin = admin(app).await;
        let reply = app.post("/api/v1/customers", &admin, json!({"email": "a@example.com"})).await;
        assert_eq!(
            reply.problem(422, "validation_failed").fields(),
            [("first_name".into(), "required".into()), ("last_name".into(), "required".into())]
        );
        let reply = app.post("/api/v1/customers", &admin, json!({"kind": "partner"})).await;
        assert_eq!(reply.problem(422, "validation_failed").fields(), [("company_name".into(), "required".into())]);
    }

    async fn a_licence_number_without_dates_names_both_dates(app: &TestApp) {
        let admin = admin(app).await;
        let body = json!({"first_name": "A", "last_name": "B", "driver_license": {"number": "U1234567X"}});
        let reply = app.post("/api/v1/customers", &admin, body).await;
        assert_eq!(
            reply.problem(422, "validation_failed").fields(),
            [("driver_license.issued_on".into(), "required".into()), ("driver_license.expires_on".into(), "required".into())]
        );
    }

    async fn malformed_unknown_and_mistyped_bodies_are_4xx(app: &TestApp) {
        let admin = admin(app).await;
        let post = |body: &'static str| raw(app, &admin, Method::POST, "/api/v1/customers", "application/json", body.into());
        post("{\"first_name\": ").await.problem(400, "malformed_json");
        post("").await.problem(400, "malformed_json");
        let unknown = post(r#"{"first_name": "A", "last_name": "B", "nickname": "C"}"#).await;
        assert_eq!(unknown.problem(422, "validation_failed").fields(), [("nickname".into(), "unknown_field".into())]);
        let nested = post(r#"{"first_name": "A", "last_name": "B", "address": {"street": "x"}}"#).await;
        assert_eq!(nested.problem(422, "validation_failed").fields(), [("address.street".into(), "unknown_field".into())]);
        let typed = post(r#"{"first_name": 42, "last_name": "B"}"#).await;
        assert_eq!(typed.problem(422, "validation_failed").fields(), [("first_name".into(), "invalid_type".into())]);
        let kind = post(r#"{"kind": "robot", "first_name": "A", "last_name": "B"}"#).await;
        assert_eq!(kind.problem(422, "validation_failed").fields()[0].0, "kind");
        post("[1, 2]").await.problem(422, "validation_failed");
        raw(app, &admin, Method::POST, "/api/v1/customers", "text/plain", b"{}".to_vec()).await.problem(415, "unsupported_media_type");
        let id = app.client(&admin, "A", "B").await;
        let path = format!("/api/v1/customers/{id}");
        raw(app, &admin, Method::PATCH, &path, "application/json", b"[]".to_vec()).await.problem(422, "validation_failed");
        raw(app, &admin, Method::PATCH, &path, "application/json", b"{\"version\": \"x\"}".to_vec()).await.problem(422, "validation_failed");
        let typed = app.patch(&path, &admin, json!({"vip": "yes"})).await;
        assert_eq!(typed.problem(422, "validation_failed").fields(), [("vip".into(), "invalid_type".into())]);
        let bad_header = app.request(Method::PATCH, &path, &admin).header("if-match", "\"abc\"").json(&json!({}));
        app.send(bad_header).await.problem(400, "invalid_header");
        let kind = app.patch(&path, &admin, json!({"kind": "staff"})).await;
        assert_eq!(kind.problem(422, "validation_failed").fields(), [("kind".into(), "not_allowed".into())]);
        app.patch(&path, &admin, json!({"notes": ["x"]})).await.problem(422, "validation_failed");
        app.patch(&path, &admin, json!({"id": "x"})).await.problem(422, "validation_failed");
    }

    async fn an_oversize_body_is_413(app: &TestApp) {
        let admin = admin(app).await;
        let big = format!("{{\"first_name\": \"{}\", \"last_name\": \"B\"}}", "a".repeat(1024 * 1024 + 1));
        raw(app, &admin, Method::POST, "/api/v1/customers", "application/json", big.into_bytes()).await.problem(413, "payload_too_large");
        let long_name = app.post("/api/v1/customers", &admin, json!({"first_name": "a".repeat(5000), "last_name": "B"})).await;
        assert_eq!(long_name.problem(422, "validation_failed").fields(), [("first_name".into(), "too_long".into())]);
    }

    async fn invalid_ids_queries_and_cursors_are_400(app: &TestApp) {
        let admin = admin(app).await;
        for path in ["/api/v1/customers/not-a-uuid", "/api/v1/customers/%00", "/api/v1/customers/123/notes"] {
            app.get(path, &admin).await.problem(400, "invalid_path_parameter");
        }
        let reply = app.get("/api/v1/customers?vip=maybe&kind=robot&limit=0", &admin).await.problem(400, "invalid_query");
        let names: Vec<String> = reply.fields().into_iter().map(|(field, _)| field).collect();
        assert_eq!(names, ["kind", "vip", "limit"]);
        let unknown = app.get("/api/v1/customers?vipp=true", &admin).await.problem(400, "invalid_query");
        assert_eq!(unknown.fields()[0].0, "vipp");
        app.get("/api/v1/customers?cursor=bm9wZQ", &admin).await.problem(400, "invalid_cursor");
        app.get("/api/v1/customers?cursor=%FF%FE", &admin).await.problem(400, "invalid_cursor");
        app.get("/api/v1/customers?created_from=yesterday", &admin).await.problem(400, "invalid_query");
        // Past the maximum is refused, on every list, naming `limit`.
        for path in [
            "/api/v1/customers?limit=201",
            "/api/v1/customers?q=rossi&limit=100000",
            "/api/v1/cargos/submissions?limit=201",
            "/api/v1/webhooks?limit=201",
            "/api/v1/audit?limit=201",
            "/api/v1/imports?limit=201",
        ] {
            let reply = app.get(path, &admin).await.problem(400, "invalid_query");
            assert_eq!(reply.fields().into_iter().map(|(field, _)| field).collect::<Vec<_>>(), ["limit"], "{path}");
        }
        app.get("/api/v1/customers?limit=200", &admin).await.expect(200);
        app.get("/api/v1/nothing-here", &admin).await.problem(404, "not_found");
        app.call(Method::PUT, "/api/v1/customers", Some(&admin), Some(json!({}))).await.problem(405, "method_not_allowed");
    }

    async fn hostile_search_queries_get_sensible_answers(app: &TestApp) {
        let admin = admin(app).await;
        app.post("/api/v1/customers", &admin, json!({"first_name": "Nicolò", "last_name": "Rossi", "phone": "333 123 4567"})).await.expect(201);
        let found = |reply: &crate::harness::Reply| reply.body["items"].as_array().map_or(usize::MAX, Vec::len);
        // Empty and whitespace-only: the plain list.
        for q in ["", "%20%20%20", "+"] {
            assert_eq!(found(&app.get(&format!("/api/v1/customers?q={q}"), &admin).await.expect(200)), 1, "{q:?}");
        }
        // Symbols, emoji, invalid UTF-8 and SQL-looking input: nobody, or a real match.
        for q in ["%F0%9F%92%A5", "%25", "_", "%27", "%5C", "%27%20OR%201%3D1%20--", "%FF%FE%FD", "%C3%28", "%00"] {
            assert_eq!(found(&app.get(&format!("/api/v1/customers?q={q}"), &admin).await.expect(200)), 0, "{q:?}");
        }
        let nicolo = app.get("/api/v1/customers?q=NICOL%C3%92%20%25ROSS%25", &admin).await.expect(200);
        assert_eq!(found(&nicolo), 1);
        let long = "rossi%20".repeat(2_000);
        app.get(&format!("/api/v1/customers?q={long}"), &admin).await.expect(200);
        assert_eq!(found(&app.get("/api/v1/customers?q=%2B39%20333%2012%2034", &admin).await.expect(200)), 1);
        // Paging: the largest limit, cursors tied to their query.
        let page = app.get("/api/v1/customers?q=rossi&limit=200", &admin).await.expect(200);
        assert_eq!(found(&page), 1);
        app.get("/api/v1/customers?q=rossi&cursor=AAAA", &admin).await.problem(400, "invalid_cursor");
        app.post("/api/v1/customers", &admin, json!({"first_name": "Mario", "last_name": "Rossi"})).await.expect(201);
        let first = app.get("/api/v1/customers?q=rossi&limit=1", &admin).await.expect(200);
        let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
        app.get(&format!("/api/v1/customers?q=rossi&limit=1&cursor={cursor}"), &admin).await.expect(200);
        app.get(&format!("/api/v1/customers?q=bianchi&cursor={cursor}"), &admin).await.problem(400, "invalid_cursor");
        app.get(&format!("/api/v1/customers?q=rossi&vip=false&cursor={cursor}"), &admin).await.problem(400, "invalid_cursor");
        app.get(&format!("/api/v1/customers?cursor={cursor}"), &admin).await.problem(400, "invalid_cursor");
        app.get("/api/v1/customers?q=rossi&phone_status=maybe", &admin).await.problem(400, "invalid_query");
        assert_eq!(found(&app.get("/api/v1/customers?q=rossi&phone_status=valid", &admin).await.expect(200)), 1);
    }

    async fn random_bodies_and_queries_never_cause_a_server_error(app: &TestApp) {
        let admin = admin(app).await;
        let id = app.client(&admin, "Fuzz", "Target").await;
        let fields = ["kind", "first_name", "last_name", "company_name", "vat_number", "email", "phone", "birth_date",
            "birth_place", "citizenship", "tax_code", "address", "language", "driver_license", "id_document", "vip",
            "partner_id", "external_ref", "notes", "version", "bogus"];
        let mut rng = Lcg(42);
        for round in 0..150 {
            let body: serde_json::Map<String, Value> =
                (0..1 + rng.next(6)).map(|_| (fields[rng.next(fields.len())].to_owned(), weird_value(&mut rng, 0))).collect();
            let body = Value::Object(body);
            let reply = if round % 2 == 0 {
                app.post("/api/v1/customers", &admin, body.clone()).await
            } else {
                app.patch(&format!("/api/v1/customers/{id}"), &admin, body.clone()).await
            };
            assert!(reply.status.as_u16() < 500, "{body} gave {}: {}", reply.status, reply.body);
        }
        let params = ["kind", "vip", "partner_id", "created_from", "created_to", "include_deleted", "limit", "cursor", "q"];
        let values = ["", "true", "-1", "%00", "%FF", "2026-13-01", "'", "1e9", "client", "%E2%82%AC", "AAAA"];
        for _ in 0..60 {
            let query: Vec<String> = (0..1 + rng.next(3))
                .map(|_| format!("{}={}", params[rng.next(params.len())], values[rng.next(values.len())]))
                .collect();
            let reply = app.get(&format!("/api/v1/customers?{}", query.join("&")), &admin).await;
            assert!(reply.status.as_u16() < 500, "{query:?} gave {}", reply.status);
        }
    }

    async fn a_key_given_twice_in_a_json_body_is_refused_naming_it(app: &TestApp) {
        let admin = admin(app).await;
        let twice = br#"{"first_name": "Anna", "last_name": "Rossi", "first_name": "Bruno"}"#.to_vec();
        let reply = raw(app, &admin, Method::POST, "/api/v1/customers", "application/json", twice).await;
        let detail = reply.problem(400, "duplicate_key").body["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains("first_name"), "{detail}");
        let nested = br#"{"first_name": "A", "last_name": "B", "address": {"city": "Roma", "city": "Milano"}}"#.to_vec();
        let reply = raw(app, &admin, Method::POST, "/api/v1/customers", "application/json", nested).await;
        let detail = reply.problem(400, "duplicate_key").body["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains("address.city"), "{detail}");
        // The same key in two objects of a list is no duplicate.
        let notes = br#"{"first_name": "A", "last_name": "B", "address": {"city": "Roma"}, "driver_license": {"number": "X1", "issued_on": "2020-01-01", "expires_on": "2030-01-01", "country": "IT"}}"#.to_vec();
        raw(app, &admin, Method::POST, "/api/v1/customers", "application/json", notes).await.expect(201);
    }

    async fn a_json_body_that_starts_with_a_byte_order_mark_is_read(app: &TestApp) {
        let admin = admin(app).await;
        let body = "\u{feff}{\"first_name\": \"Anna\", \"last_name\": \"Rossi\"}".as_bytes().to_vec();
        let reply = raw(app, &admin, Method::POST, "/api/v1/customers", "application/json", body).await.expect(201);
        assert_eq!(reply.body["first_name"], "Anna");
    }

    async fn bidirectional_control_characters_are_refused_in_text_fields(app: &TestApp) {
        let admin = admin(app).await;
        for control in ['\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200e}', '\u{200f}'] {
            let spoofed = format!("Anna{control}gpj.exe");
            let body = json!({"first_name": spoofed, "last_name": "Rossi", "address": {"city": spoofed}});
            let reply = app.post("/api/v1/customers", &admin, body).await.problem(422, "validation_failed");
            assert_eq!(reply.fields(), [("first_name".into(), "invalid".into()), ("address.city".into(), "invalid".into())], "U+{:04X}", control as u32);
            let company = json!({"kind": "partner", "company_name": spoofed});
            let reply = app.post("/api/v1/customers", &admin, company).await.problem(422, "validation_failed");
            assert_eq!(reply.fields(), [("company_name".into(), "invalid".into())]);
        }
        let id = app.client(&admin, "Anna", "Rossi").await;
        let note = json!({"body": "paid \u{202e}0001 EUR"});
        let reply = app.post(&format!("/api/v1/customers/{id}/notes"), &admin, note).await.problem(422, "validation_failed");
        assert_eq!(reply.fields()[0].1, "invalid");
        // Right-to-left text itself is welcome.
        app.post("/api/v1/customers", &admin, json!({"first_name": "\u{5e9}\u{5e8}\u{5d4}", "last_name": "\u{644}\u{64a}\u{644}\u{649}"})).await.expect(201);
    }

    async fn a_client_request_id_is_kept_only_when_short_and_plain(app: &TestApp) {
        let admin = admin(app).await;
        let sent = |id: &str| app.request(Method::GET, "/api/v1/customers", &admin).header("x-request-id", id);
        for good in ["abc-123", "A.b_C-9", &"x".repeat(64)] {
            let reply = app.send(sent(good)).await.expect(200);
            assert_eq!(reply.headers["x-request-id"], good);
        }
        for bad in ["", "has space", "<script>", "ünïcode", &"x".repeat(65), "a/b", "a\"b"] {
            let reply = app.send(sent(bad)).await.expect(200);
            let given = reply.headers["x-request-id"].to_str().unwrap();
            assert_ne!(given, bad);
            assert!(uuid::Uuid::parse_str(given).is_ok(), "{bad:?} became {given:?}");
        }
    }
}
