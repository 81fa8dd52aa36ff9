//! Logging in, bearer tokens, and what makes them stop working.

use std::time::Duration;

use clientele_core::accounts::services::TokenSubject;
use reqwest::Method;
use serde_json::json;

use crate::harness::Session;

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
        app.app.set_user_disabled(tenant, operator.user_id.unwrap(), false).await.unwrap();
        app.get("/api/v1/customers", &operator).await.expect(200);
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
