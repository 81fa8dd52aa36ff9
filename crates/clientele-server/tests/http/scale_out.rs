//! Two servers on one database, as two `serve` processes behind a load balancer: a token, a
//! revocation, a console session and import jobs are the same whichever server a request
//! reaches. (Webhooks with two servers: `webhooks::two_servers_on_one_database_…`.)

use crate::console::{PASSWORD, get, log_in, pair, post, unique, user};
use crate::imports::import;

http_test! {
    async fn two_servers_on_one_database_share_tokens_revocations_sessions_and_imports(app: &TestApp) {
        let twin = app.twin(clientele_store::StoreOptions::default()).await;
        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let operator = app.user(tenant, "operator").await;

        // A token one issued is good at the other; revoked at the other, it is refused at both.
        twin.get("/api/v1/customers", &operator).await.expect(200);
        twin.call(reqwest::Method::POST, "/api/v1/auth/revoke", Some(&operator), None).await.expect(204);
        app.get("/api/v1/customers", &operator).await.problem(401, "unauthenticated");
        twin.get("/api/v1/customers", &operator).await.problem(401, "unauthenticated");

        // A console session made at one is a session at the other; ended at the other, it is
        // over at the first.
        let email = unique("op");
        user(app, tenant, &email, "operator").await;
        let session = pair(&log_in(app, &email, PASSWORD, None, &[]).await.set_cookie("clientele_session").unwrap());
        let page = get(&twin, "/customers", &session).await;
        assert_eq!(page.status, 200);
        let out = post(&twin, "/logout", &session, &[("_csrf", &page.csrf())], &[]).await;
        assert_eq!(out.status, 303);
        assert_eq!(get(app, "/customers", &session).await.status, 303, "logged out everywhere");

        // Imports uploaded to either run on whichever worker claims them, once each, exactly.
        let mut expected = 0;
        for (i, server) in [app, &twin, app, &twin].into_iter().enumerate() {
            let mut file = String::from("first_name,last_name,email\n");
            for row in 0..400 {
                file.push_str(&format!("Anna{i},Rossi{row},anna{i}.{row}@example.com\n"));
            }
            file.push_str(&format!("Bad{i},Row,not-an-email\n"));
            let job = import(server, &admin, "", file.into_bytes()).await;
            assert_eq!(job["status"], "succeeded", "{job}");
            assert_eq!((job["created"].as_i64(), job["failed"].as_i64()), (Some(400), Some(1)), "{job}");
            expected += 400;
        }
        let listed = app.get("/api/v1/customers?limit=1", &admin).await.expect(200);
        let page = twin.get("/api/v1/customers?limit=1", &admin).await.expect(200);
        assert_eq!(listed.body["items"], page.body["items"], "both read the same customers");
        let exported = app.request(reqwest::Method::GET, "/api/v1/exports/customers.csv", &admin).send().await.unwrap();
        let rows = exported.text().await.unwrap().lines().count() - 1;
        assert_eq!(rows, expected, "every imported row once");
        drop(twin);
    }
}
