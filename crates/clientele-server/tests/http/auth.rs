//! Logging in, bearer tokens, and what makes them stop working.

use std::time::Duration;

use clientele_core::accounts::services::TokenSubject;
use reqwest::Method;
use serde_json::json;

use crate::harness::{Session, TestApp};

/// A new token for `user` of `tenant`, as from a login on another device.
async fn login(app: &TestApp, tenant: clientele_core::ids::TenantId, user: clientele_core::ids::UserId) -> Session {
    let email = app.app.store().get_user(tenant, user).await.unwrap().unwrap().email;
    let login = json!({"email": email.as_str(), "password": "correct horse battery", "tenant": tenant});
    let reply = app.call(Method::POST, "/api/v1/auth/token", None, Some(login)).await.expect(200);
    Session { token: reply.body["access_token"].as_str().unwrap().into(), user_id: Some(user) }
}

http_test! {
    async fn logging_in_returns_a_bearer_token_that_works(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let me = app.app.store().get_user(tenant, admin.user_id.unwrap()).await.unwrap().unwrap();
        let body = json!({"email": me.email.as_str().to_uppercase(), "password": "correct horse battery", "tenant": tenant});
        let reply = app.call(Method::POST, "/api/v1/auth/token", None, Some(body)).await.expect(200);
        assert_eq!(reply.body["token_type"], "Bearer");
        assert!(reply.body["expires_in"].as_i64().unwrap() > 3600);
        let session = Session { token: reply.body["access_token"].as_str().unwrap().into(), user_id: None };
        app.get("/api/v1/customers", &session).await.expect(200);
    }

    async fn wrong_credentials_all_get_the_same_answer(app: &TestApp) {
        let tenant = app.tenant().await;
        let other = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let email = app.app.store().get_user(tenant, admin.user_id.unwrap()).await.unwrap().unwrap().email;
        let attempts = [
            json!({"email": email.as_str(), "password": "wrong password!", "tenant": tenant}),
            json!({"email": "nobody@example.com", "password": "correct horse battery", "tenant": tenant}),
            json!({"email": email.as_str(), "password": "correct horse battery", "tenant": other}),
            json!({"email": email.as_str(), "password": "correct horse battery"}),
            json!({"email": "not an email", "password": "x", "tenant": tenant}),
        ];
        let mut bodies = Vec::new();
        for attempt in attempts {
            let reply = app.call(Method::POST, "/api/v1/auth/token", None, Some(attempt)).await;
            bodies.push(reply.problem(401, "invalid_credentials").body);
        }
        assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]), "{bodies:?}");
    }

    async fn every_login_costs_one_password_check_whoever_it_names_and_whatever_is_wrong(app: &TestApp) {
        let tenant = app.tenant().await;
        let other = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let disabled = app.user(tenant, "driver").await;
        app.app.set_user_disabled(tenant, disabled.user_id.unwrap(), true).await.unwrap();
        let email = |session: &Session| {
            let id = session.user_id.unwrap();
            async move { app.app.store().get_user(tenant, id).await.unwrap().unwrap().email.to_string() }
        };
        let (admin_email, disabled_email) = (email(&admin).await, email(&disabled).await);
        let unknown_tenant = uuid::Uuid::now_v7();
        let cases = [
            ("the right password", json!({"email": admin_email, "password": "correct horse battery", "tenant": tenant}), 200),
            ("a wrong password", json!({"email": admin_email, "password": "wrong password!", "tenant": tenant}), 401),
            ("an email nobody has", json!({"email": "nobody@example.com", "password": "correct horse battery", "tenant": tenant}), 401),
            ("another tenant", json!({"email": admin_email, "password": "correct horse battery", "tenant": other}), 401),
            ("a tenant that does not exist", json!({"email": admin_email, "password": "correct horse battery", "tenant": unknown_tenant}), 401),
            ("no tenant (a platform admin)", json!({"email": admin_email, "password": "correct horse battery"}), 401),
            ("a disabled user", json!({"email": disabled_email, "password": "correct horse battery", "tenant": tenant}), 401),
            ("not an email", json!({"email": "not an email", "password": "x", "tenant": tenant}), 401),
        ];
        for (case, body, status) in cases {
            let before = app.passwords.counts();
            app.call(Method::POST, "/api/v1/auth/token", None, Some(body)).await.expect(status);
            let (hashes, checks) = app.passwords.counts();
            assert_eq!((hashes - before.0, checks - before.1), (0, 1), "{case}: (hashes, checks)");
        }
    }

    async fn requests_without_a_valid_token_are_unauthenticated(app: &TestApp) {
        let reply = app.call(Method::GET, "/api/v1/customers", None, None).await.problem(401, "unauthenticated");
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
        for token in ["garbage", "a.b.c", "", "eyJhbGciOiJub25lIn0.e30."] {
            let session = Session { token: token.into(), user_id: None };
            app.get("/api/v1/customers", &session).await.problem(401, "unauthenticated");
        }
        let basic = app.request(Method::GET, "/api/v1/customers", &Session { token: String::new(), user_id: None })
            .header("authorization", "Basic YWRtaW46YWRtaW4=");
        app.send(basic).await.problem(401, "unauthenticated");
    }

    async fn an_expired_token_is_refused(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let email = app.app.store().get_user(tenant, admin.user_id.unwrap()).await.unwrap().unwrap().email;
        let token = app.app.issue_token(&TokenSubject::User(tenant, email.to_string()), Duration::ZERO).await.unwrap();
        let session = Session { token: token.access_token, user_id: None };
        let reply = app.get("/api/v1/customers", &session).await.problem(401, "unauthenticated");
        assert!(reply.body["detail"].as_str().unwrap().contains("expired"));
    }

    async fn a_disabled_users_tokens_stop_working_at_once(app: &TestApp) {
        let tenant = app.tenant().await;
        let operator = app.user(tenant, "operator").await;
        app.get("/api/v1/customers", &operator).await.expect(200);
        app.app.set_user_disabled(tenant, operator.user_id.unwrap(), true).await.unwrap();
        app.get("/api/v1/customers", &operator).await.problem(401, "unauthenticated");
        let email = app.app.store().get_user(tenant, operator.user_id.unwrap()).await.unwrap().unwrap().email;
        let login = json!({"email": email.as_str(), "password": "correct horse battery", "tenant": tenant});
        app.call(Method::POST, "/api/v1/auth/token", None, Some(login)).await.problem(401, "invalid_credentials");
    }

    async fn a_token_from_before_a_disable_and_enable_is_refused_and_a_new_login_works(app: &TestApp) {
        let tenant = app.tenant().await;
        let operator = app.user(tenant, "operator").await;
        let user = operator.user_id.unwrap();
        app.app.set_user_disabled(tenant, user, true).await.unwrap();
        app.app.set_user_disabled(tenant, user, false).await.unwrap();
        app.get("/api/v1/customers", &operator).await.problem(401, "unauthenticated");
        let fresh = login(app, tenant, user).await;
        app.get("/api/v1/customers", &fresh).await.expect(200);
    }

    async fn revoking_ones_own_tokens_ends_every_one_of_them(app: &TestApp) {
        let tenant = app.tenant().await;
        let driver = app.user(tenant, "driver").await;
        let other_device = login(app, tenant, driver.user_id.unwrap()).await;
        app.get(&format!("/api/v1/orders/{}", uuid::Uuid::now_v7()), &other_device).await.problem(404, "not_found");
        app.call(Method::POST, "/api/v1/auth/revoke", Some(&driver), None).await.expect(204);
        for session in [&driver, &other_device] {
            app.get(&format!("/api/v1/orders/{}", uuid::Uuid::now_v7()), session).await.problem(401, "unauthenticated");
        }
        let fresh = login(app, tenant, driver.user_id.unwrap()).await;
        app.get(&format!("/api/v1/orders/{}", uuid::Uuid::now_v7()), &fresh).await.problem(404, "not_found");
    }

    async fn an_admin_revokes_a_users_tokens_by_id_or_by_email_and_it_is_audited(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let first = app.user(tenant, "operator").await;
        let second = app.user(tenant, "operator").await;
        let by_id = json!({"user_id": first.user_id.unwrap()});
        app.post("/api/v1/auth/revoke", &admin, by_id).await.expect(204);
        app.get("/api/v1/customers", &first).await.problem(401, "unauthenticated");
        app.get("/api/v1/customers", &second).await.expect(200);
        let email = app.app.store().get_user(tenant, second.user_id.unwrap()).await.unwrap().unwrap().email;
        let by_email = json!({"email": email.as_str().to_uppercase()});
        app.post("/api/v1/auth/revoke", &admin, by_email).await.expect(204);
        app.get("/api/v1/customers", &second).await.problem(401, "unauthenticated");
        app.get("/api/v1/customers", &admin).await.expect(200);
        let audit = app.get("/api/v1/audit?action=auth.tokens_revoked", &admin).await.expect(200);
        let revoked: Vec<&str> = audit.body["items"].as_array().unwrap().iter().map(|e| e["object_id"].as_str().unwrap()).collect();
        assert_eq!(revoked, [second.user_id.unwrap().to_string(), first.user_id.unwrap().to_string()]);
    }

    async fn only_admins_revoke_other_users_tokens_and_only_in_their_own_tenant(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let other_tenant = app.tenant().await;
        let stranger = app.user(other_tenant, "operator").await;
        let stranger_email = app.app.store().get_user(other_tenant, stranger.user_id.unwrap()).await.unwrap().unwrap().email;
        // An admin of tenant A cannot tell users of tenant B from users that do not exist.
        app.post("/api/v1/auth/revoke", &admin, json!({"user_id": stranger.user_id.unwrap()})).await.problem(404, "not_found");
        app.post("/api/v1/auth/revoke", &admin, json!({"email": stranger_email.as_str()})).await.problem(404, "not_found");
        app.post("/api/v1/auth/revoke", &admin, json!({"user_id": uuid::Uuid::now_v7()})).await.problem(404, "not_found");
        app.get("/api/v1/customers", &stranger).await.expect(200);
        // Others may name only themselves.
        app.post("/api/v1/auth/revoke", &operator, json!({"user_id": admin.user_id.unwrap()})).await.problem(403, "forbidden");
        app.get("/api/v1/customers", &admin).await.expect(200);
        let both = json!({"user_id": operator.user_id.unwrap(), "email": stranger_email.as_str()});
        app.post("/api/v1/auth/revoke", &admin, both).await.problem(422, "validation_failed");
        app.post("/api/v1/auth/revoke", &operator, json!({"user_id": operator.user_id.unwrap()})).await.expect(204);
        app.get("/api/v1/customers", &operator).await.problem(401, "unauthenticated");
    }

    async fn a_platform_admin_revokes_its_own_tokens(app: &TestApp) {
        let root = app.platform_admin().await;
        app.get("/api/v1/blacklist/global", &root).await.expect(200);
        app.post("/api/v1/auth/revoke", &root, json!({})).await.expect(204);
        app.get("/api/v1/blacklist/global", &root).await.problem(401, "unauthenticated");
    }

    async fn failed_logins_lock_the_account_out_with_429_and_retry_after_and_each_lockout_is_audited(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;
        let email = app.app.store().get_user(tenant, operator.user_id.unwrap()).await.unwrap().unwrap().email;
        let token = |email: &str, password: &str| {
            let body = json!({"email": email, "password": password, "tenant": tenant});
            app.call(Method::POST, "/api/v1/auth/token", None, Some(body))
        };
        for _ in 0..5 {
            token(email.as_str(), "wrong password!").await.problem(401, "invalid_credentials");
        }
        // Locked out: even the right password is not looked at.
        let locked = token(email.as_str(), "correct horse battery").await.problem(429, "too_many_requests");
        let retry_after: u64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        // An email nobody has is locked out the same way: lockouts tell nothing about who has an account.
        for _ in 0..5 {
            token("nobody@example.com", "wrong password!").await.problem(401, "invalid_credentials");
        }
        token("nobody@example.com", "wrong password!").await.problem(429, "too_many_requests");
        // Other accounts log in as usual.
        let admin_email = app.app.store().get_user(tenant, admin.user_id.unwrap()).await.unwrap().unwrap().email;
        token(admin_email.as_str(), "correct horse battery").await.expect(200);
        let audit = app.get("/api/v1/audit?action=auth.login_locked_out", &admin).await.expect(200);
        let entries = audit.body["items"].as_array().unwrap();
        assert_eq!(entries.len(), 2, "{entries:?}");
        let nil = uuid::Uuid::nil().to_string();
        assert_eq!(entries[0]["object_id"], json!(nil), "an unknown account");
        assert_eq!(entries[1]["object_id"], json!(operator.user_id.unwrap()));
        for entry in entries {
            assert_eq!(entry["ip"], "127.0.0.1");
            assert_eq!(entry["actor_role"], "anonymous");
            assert!(entry["reason"].as_str().unwrap().contains("locked out for 60 s"), "{entry}");
        }
    }

    async fn failed_logins_from_one_address_lock_it_out_for_every_account(app: &TestApp) {
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let email = app.app.store().get_user(tenant, admin.user_id.unwrap()).await.unwrap().unwrap().email;
        // Fifty guesses, each at another account: no account reaches its own limit.
        for i in 0..50 {
            let guess = json!({"email": format!("guess{i}@example.com"), "password": "wrong password!", "tenant": tenant});
            app.call(Method::POST, "/api/v1/auth/token", None, Some(guess)).await.problem(401, "invalid_credentials");
        }
        let right = json!({"email": email.as_str(), "password": "correct horse battery", "tenant": tenant});
        let locked = app.call(Method::POST, "/api/v1/auth/token", None, Some(right)).await.problem(429, "too_many_requests");
        assert!(locked.headers.contains_key("retry-after"));
        let audit = app.get("/api/v1/audit?action=auth.login_locked_out", &admin).await.expect(200);
        assert!(audit.body["items"][0]["reason"].as_str().unwrap().contains("address 127.0.0.1"), "{}", audit.body);
    }

    async fn platform_admins_log_in_without_a_tenant_and_see_no_customers(app: &TestApp) {
        app.app.create_platform_admin("root@example.com", "correct horse battery").await.unwrap();
        let login = json!({"email": "root@example.com", "password": "correct horse battery"});
        let reply = app.call(Method::POST, "/api/v1/auth/token", None, Some(login)).await.expect(200);
        let session = Session { token: reply.body["access_token"].as_str().unwrap().into(), user_id: None };
        app.get("/api/v1/customers", &session).await.problem(403, "forbidden");
    }

    async fn health_probes_answer_without_a_token(app: &TestApp) {
        let health = app.call(Method::GET, "/healthz", None, None).await.expect(200);
        assert_eq!(health.body["status"], "ok");
        let ready = app.call(Method::GET, "/readyz", None, None).await.expect(200);
        assert!(["sqlite", "postgres"].contains(&ready.body["database"].as_str().unwrap()));
    }
}
