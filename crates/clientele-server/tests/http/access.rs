//! Every route, with the row of README's roles table that says who may call it: each role gets
//! `403` where the table says "no", and never where it does not. A new route must be given its
//! row here, and a change to the table or to a route's guard that disagrees fails.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::json;

use crate::harness::Session;

/// Who may call each operation: the README row (its first cell), or `None` for anyone.
const ROUTES: &[(&str, &str, Option<&str>)] = &[
    ("POST", "/api/v1/auth/token", None),
    ("GET", "/healthz", None),
    ("GET", "/readyz", None),
    ("POST", "/api/v1/customers", Some("create customer")),
    ("GET", "/api/v1/customers", Some("read customers and their notes")),
    ("GET", "/api/v1/customers/{id}", Some("read customers and their notes")),
    ("GET", "/api/v1/customers/{id}/notes", Some("read customers and their notes")),
    ("PATCH", "/api/v1/customers/{id}", Some("change customer, add note, soft-delete")),
    ("DELETE", "/api/v1/customers/{id}", Some("change customer, add note, soft-delete")),
    ("POST", "/api/v1/customers/{id}/notes", Some("change customer, add note, soft-delete")),
    ("POST", "/api/v1/customers/{id}/restore", Some("restore, set or clear VIP")),
    ("POST", "/api/v1/customers/{id}/blacklist", Some(TENANT_BLACKLIST)),
    ("DELETE", "/api/v1/customers/{id}/blacklist", Some(TENANT_BLACKLIST)),
    ("GET", "/api/v1/customers/{id}/blacklist", Some("read a customer's blacklist history")),
    ("GET", "/api/v1/blacklist/global", Some(GLOBAL_LIST)),
    ("GET", "/api/v1/blacklist/global/{id}", Some(GLOBAL_LIST)),
    ("DELETE", "/api/v1/blacklist/global/{id}", Some(GLOBAL_LIST)),
    ("POST", "/api/v1/orders", Some(ORDERS)),
    ("PATCH", "/api/v1/orders/{id}", Some(ORDERS)),
    ("GET", "/api/v1/customers/{id}/orders", Some(ORDERS)),
    ("GET", "/api/v1/customers/{id}/order-form", Some(ORDERS)),
    ("GET", "/api/v1/orders/{id}", Some("read an order")),
    ("POST", "/api/v1/orders/{id}/approve-override", Some("override a blacklist hit")),
    ("POST", "/api/v1/customers/{id}/documents", Some("documents: upload, change, delete")),
    ("PATCH", "/api/v1/documents/{id}", Some("documents: upload, change, delete")),
    ("DELETE", "/api/v1/documents/{id}", Some("documents: upload, change, delete")),
    ("GET", "/api/v1/customers/{id}/documents", Some(DOCUMENTS_READ)),
    ("GET", "/api/v1/documents/{id}/file", Some(DOCUMENTS_READ)),
    ("GET", "/api/v1/settings/required-documents", Some("required documents")),
    ("PUT", "/api/v1/settings/required-documents", Some("required documents")),
    ("GET", "/api/v1/audit", Some("audit log")),
    ("POST", "/api/v1/imports", Some(BULK)),
    ("GET", "/api/v1/imports", Some(BULK)),
    ("GET", "/api/v1/imports/{id}", Some(BULK)),
    ("GET", "/api/v1/imports/{id}/errors", Some(BULK)),
    ("GET", "/api/v1/imports/{id}/errors.csv", Some(BULK)),
    ("POST", "/api/v1/imports/{id}/undo", Some(BULK)),
    ("GET", "/api/v1/exports/customers.csv", Some(BULK)),
    ("GET", "/api/v1/customers/{id}/export", Some(BULK)),
    ("POST", "/api/v1/webhooks", Some(WEBHOOKS)),
    ("GET", "/api/v1/webhooks", Some(WEBHOOKS)),
    ("GET", "/api/v1/webhooks/{id}", Some(WEBHOOKS)),
    ("PATCH", "/api/v1/webhooks/{id}", Some(WEBHOOKS)),
    ("DELETE", "/api/v1/webhooks/{id}", Some(WEBHOOKS)),
    ("POST", "/api/v1/webhooks/{id}/rotate-secret", Some(WEBHOOKS)),
    ("GET", "/api/v1/webhooks/{id}/deliveries", Some(WEBHOOKS)),
    ("POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/replay", Some(WEBHOOKS)),
    ("POST", "/api/v1/webhooks/{id}/test", Some(WEBHOOKS)),
    ("GET", "/api/v1/cargos/places", Some(CARGOS)),
    ("GET", "/api/v1/cargos/agencies", Some(CARGOS)),
    ("GET", "/api/v1/cargos/agencies/{id}", Some(CARGOS)),
    ("GET", "/api/v1/cargos/submissions", Some(CARGOS)),
    ("GET", "/api/v1/orders/{id}/cargos", Some(CARGOS)),
    ("POST", "/api/v1/orders/{id}/cargos/check", Some(CARGOS)),
    ("POST", "/api/v1/orders/{id}/cargos/send", Some(CARGOS)),
    ("POST", "/api/v1/cargos/agencies", Some(CARGOS_SETUP)),
    ("PATCH", "/api/v1/cargos/agencies/{id}", Some(CARGOS_SETUP)),
    ("DELETE", "/api/v1/cargos/agencies/{id}", Some(CARGOS_SETUP)),
    ("GET", "/api/v1/cargos/settings", Some(CARGOS_SETUP)),
    ("PATCH", "/api/v1/cargos/settings", Some(CARGOS_SETUP)),
    ("POST", "/api/v1/customers/{id}/payment-methods/setup", Some(PAYMENTS)),
    ("GET", "/api/v1/customers/{id}/payment-methods", Some(PAYMENTS)),
    ("DELETE", "/api/v1/customers/{id}/payment-methods/{pm_id}", Some(PAYMENTS)),
    ("POST", "/api/v1/customers/{id}/payment-methods/{pm_id}/default", Some(PAYMENTS)),
    ("GET", "/api/v1/settings/stripe", Some(STRIPE_SETTINGS)),
    ("PATCH", "/api/v1/settings/stripe", Some(STRIPE_SETTINGS)),
    // Called by Stripe, signed with the tenant's webhook secret: no bearer token.
    ("POST", "/api/v1/integrations/stripe/webhook", None),
    // Last: called with `{}`, it revokes the caller's own tokens, ending its session here.
    ("POST", "/api/v1/auth/revoke", Some("revoke tokens")),
];

const TENANT_BLACKLIST: &str = "tenant blacklist add/lift; global blacklist add/lift (own customers)";
const GLOBAL_LIST: &str = "global blacklist: list, view, lift any entry";
const ORDERS: &str = "create and change orders; a customer's orders and order form";
const DOCUMENTS_READ: &str = "documents: view metadata, download (each logged)";
const BULK: &str = "import, export (lists and one person's data), undo an import";
const WEBHOOKS: &str = "webhooks: endpoints, secrets, deliveries, replays, tests";
const CARGOS: &str =
    "Ca.R.G.O.S.: search places, list and read agencies, an order's record and submissions, check and send";
const PAYMENTS: &str = "payment methods: set up a card (Stripe.js), list, remove, choose the default";
const STRIPE_SETTINGS: &str = "Stripe settings (mode, connected account or keys, webhook secret)";
const CARGOS_SETUP: &str = "Ca.R.G.O.S. settings (credentials, automation); create, change and delete agencies";

const ROLES: [&str; 5] = ["admin", "operator", "driver", "partner", "platform admin"];

/// README's roles table: row → (role → whether the role may, i.e. its cell is not "no").
fn roles_table() -> BTreeMap<String, BTreeMap<&'static str, bool>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let mut rows = readme.lines().skip_while(|l| !l.starts_with("| capability | admin | operator | driver |"));
    let header: Vec<String> = rows.next().unwrap().split('|').map(|c| c.trim().to_owned()).collect();
    assert_eq!(&header[2..7], ROLES, "the roles table's columns");
    rows.skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let may = ROLES
                .iter()
                .zip(&cells[2..7])
                .map(|(role, cell)| (*role, !(*cell == "no" || cell.starts_with("no ") || cell.starts_with("no("))))
                .collect();
            (cells[1].to_owned(), may)
        })
        .collect()
}

http_test! {
    async fn every_route_refuses_exactly_the_roles_the_readme_table_refuses(app: &TestApp) {
        let table = roles_table();
        // The router's own list of operations: none may be missing from ROUTES.
        let document = serde_json::to_value(clientele_server::openapi()).unwrap();
        let mut operations = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys().filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str())) {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
        for (method, path) in &operations {
            assert!(ROUTES.iter().any(|(m, p, _)| m == method && p == path), "{method} {path} has no row in ROUTES");
        }
        assert_eq!(operations.len(), ROUTES.len(), "ROUTES names operations the router does not have");

        let tenant = app.tenant().await;
        let admin = app.user(tenant, "admin").await;
        let agency = app.partner_company(&admin, "Agency").await;
        let sessions: Vec<(&str, Session)> = vec![
            ("operator", app.user(tenant, "operator").await),
            ("driver", app.user(tenant, "driver").await),
            ("partner", app.partner_user(tenant, agency).await),
            ("platform admin", app.platform_admin().await),
            ("admin", admin),
        ];
        let mut wrong = Vec::new();
        for (method, path, row) in ROUTES {
            let Some(row) = row else { continue };
            let may = table.get(*row).unwrap_or_else(|| panic!("README's roles table has no row {row:?}"));
            let path = path.replace("{id}", &uuid::Uuid::now_v7().to_string()).replace("{delivery_id}", &uuid::Uuid::now_v7().to_string()).replace("{pm_id}", "pm_1Access");
            for (role, session) in &sessions {
                let method = Method::from_bytes(method.as_bytes()).unwrap();
                let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
                let reply = app.call(method.clone(), &path, Some(session), body).await;
                if (reply.status == 403) == may[role] {
                    wrong.push(format!(
                        "{method} {path} as {role} answered {} ({}); README's row {row:?} says {}",
                        reply.status,
                        reply.code(),
                        if may[role] { "it may" } else { "it may not" },
                    ));
                }
            }
        }
        assert!(wrong.is_empty(), "routes and the roles table disagree:\n{}", wrong.join("\n"));
    }
}
