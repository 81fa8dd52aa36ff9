//! The blacklist invariant, as a property test over the real services on both backends:
//!
//! for any sequence of customer creations (with identities colliding across tenants), blacklist
//! adds and lifts (tenant and global), order creations, override requests and approvals and
//! activations by random roles, no order is ever `confirmed` or `active` for a customer who was
//! blacklisted at the time unless an admin override is recorded for it; and no tenant other than
//! the one that flagged a person ever sees the reason, note, date or flagging tenant.
//!
//! A small model follows the blacklists; each operation's outcome is checked against it, so the
//! test also fails if the services refuse what they should allow. A second test dumps the global
//! list's tables and finds no plaintext identity and no unkeyed hash of it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use clientele_core::accounts::auth::{Actor, Origin};
use clientele_core::accounts::services::{NewUser, TokenSubject};
use clientele_core::blacklist::record::Scope;
use clientele_core::blacklist::services::{BlacklistInput, LiftInput};
use clientele_core::customers::input::CustomerInput;
use clientele_core::ids::{CustomerId, OrderId, TenantId};
use clientele_core::orders::record::{ApproveOverride, OrderInput, OrderPatch, OrderStatus, OverrideInput};
use clientele_core::{App, AppConfig, Error, ErrorCode};
use clientele_store::testing::TestDatabase;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

const TENANTS: usize = 3;
const ROLES: [&str; 4] = ["admin", "operator", "driver", "partner"];
const REASONS: [&str; 6] =
    ["unpaid_balance", "vehicle_not_returned", "unpaid_damage", "chargeback", "misconduct", "other"];

/// The people of the pool: the same person is created in several tenants, spelled differently.
const IDENTITIES: [[(&str, &str); 3]; 3] = [
    [("Nicolò", "De Rossi"), ("NICOLO", "de-rossi"), ("nicolo", "De  Rossi")],
    [("Žofia", "Nováková"), ("Zofia", "Novakova"), ("ŽOFIA", "NOVÁKOVÁ")],
    [("Jörg", "Müller"), ("Jorg", "Muller"), ("JÖRG", "MÜLLER")],
];
const BIRTH_DATES: [&str; 3] = ["1980-02-29", "1991-07-14", "1975-12-01"];

#[derive(Debug, Clone)]
enum Op {
    Create { tenant: usize, identity: usize, spelling: usize, role: usize },
    Blacklist { tenant: usize, customer: usize, global: bool, reason: usize, role: usize },
    Lift { tenant: usize, customer: usize, role: usize },
    Order { tenant: usize, customer: usize, mode: usize, role: usize },
    Approve { tenant: usize, order: usize, role: usize },
    Activate { tenant: usize, order: usize, with_override: bool, role: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let t = 0..TENANTS;
    let r = 0..ROLES.len();
    prop_oneof![
        3 => (t.clone(), 0..IDENTITIES.len(), 0..3usize, r.clone())
            .prop_map(|(tenant, identity, spelling, role)| Op::Create { tenant, identity, spelling, role }),
        2 => (t.clone(), 0..8usize, any::<bool>(), 0..REASONS.len(), r.clone())
            .prop_map(|(tenant, customer, global, reason, role)| Op::Blacklist { tenant, customer, global, reason, role }),
        1 => (t.clone(), 0..8usize, r.clone()).prop_map(|(tenant, customer, role)| Op::Lift { tenant, customer, role }),
        3 => (t.clone(), 0..8usize, 0..3usize, r.clone())
            .prop_map(|(tenant, customer, mode, role)| Op::Order { tenant, customer, mode, role }),
        1 => (t.clone(), 0..8usize, r.clone()).prop_map(|(tenant, order, role)| Op::Approve { tenant, order, role }),
        1 => (t, 0..8usize, any::<bool>(), r)
            .prop_map(|(tenant, order, with_override, role)| Op::Activate { tenant, order, with_override, role }),
    ]
}

/// Tenants with one signed-in user per role, made once per backend.
struct Fixture {
    app: App,
    tenants: Vec<TenantId>,
    actors: Vec<Vec<Actor>>,
}

async fn fixture(db: &TestDatabase) -> Fixture {
    let config = AppConfig { blacklist_key: Some(vec![9; 32]), ..AppConfig::default() };
    let app = App::new(db.store(), config).await.unwrap();
    let mut tenants = Vec::new();
    let mut actors = Vec::new();
    for t in 0..TENANTS {
        let tenant = app.create_tenant(&format!("Tenant {t}"), "IT", None).await.unwrap().id;
        let cli = Actor::command_line(tenant);
        let input = CustomerInput {
            kind: Some(clientele_core::customers::record::CustomerKind::Partner),
            company_name: Some("Agency".into()),
            ..CustomerInput::default()
        };
        let agency = app.create_customer(&cli, input).await.unwrap().view.customer.id;
        let mut by_role = Vec::new();
        for role in ROLES {
            let email = format!("{role}@tenant{t}.example");
            let partner_id = (role == "partner").then_some(agency);
            let user = NewUser {
                tenant_id: tenant,
                email: email.clone(),
                role: role.into(),
                password: "password-123".into(),
                partner_id,
            };
            app.create_user(user).await.unwrap();
            let token = app.issue_token(&TokenSubject::User(tenant, email), Duration::from_secs(3600)).await.unwrap();
            by_role.push(app.authenticate(&token.access_token, Origin::default()).await.unwrap());
        }
        tenants.push(tenant);
        actors.push(by_role);
    }
    Fixture { app, tenants, actors }
}

/// What the test knows about one case's world.
#[derive(Default)]
struct Model {
    /// Per tenant: (customer, identity) in creation order.
    customers: Vec<Vec<(CustomerId, usize)>>,
    /// Per tenant: orders created.
    orders: Vec<Vec<Uuid>>,
    /// The scope of each customer's active entry.
    entries: HashMap<CustomerId, Scope>,
    /// Active global entries: (identity, flagged customer).
    global: Vec<(usize, CustomerId)>,
    /// Strings only the flagging tenant may ever see: its notes, its id, and its entries' dates.
    secrets: Vec<(usize, String)>,
}

impl Model {
    fn blacklisted(&self, customer: CustomerId, identity: usize) -> bool {
        self.entries.contains_key(&customer) || self.global.iter().any(|(i, c)| *i == identity && *c != customer)
    }

    fn identity_of(&self, customer: CustomerId) -> usize {
        self.customers.iter().flatten().find(|(c, _)| *c == customer).map(|(_, i)| *i).unwrap_or(usize::MAX)
    }
}

fn pick<T: Copy>(items: &[T], index: usize) -> Option<T> {
    (!items.is_empty()).then(|| items[index % items.len()])
}

/// What a tenant's user receives, as text, for the leak check.
fn seen(result: &Result<serde_json::Value, Error>) -> String {
    match result {
        Ok(value) => value.to_string(),
        Err(Error::Conflict { message, details, .. }) => format!("{message} {details:?}"),
        Err(other) => other.to_string(),
    }
}

fn order_input(customer: CustomerId, mode: usize) -> OrderInput {
    serde_json::from_value(json!({
        "customer_id": customer,
        "pickup_at": "2027-03-01T09:00:00Z", "return_at": "2027-03-05T09:00:00Z",
        "pickup_place": "Roma", "return_place": "Roma",
        "vehicle": {"plate": "AB123CD"}, "payment_type": "cash",
        "override": (mode == 1).then(|| json!({"reason": "known customer, paid in advance"})),
        "request_override": mode == 2,
    }))
    .unwrap()
}

fn check(condition: bool, message: impl Into<String>) -> Result<(), TestCaseError> {
    if condition { Ok(()) } else { Err(TestCaseError::fail(message.into())) }
}

/// An order as an admin reads it.
async fn order_of(
    f: &Fixture,
    tenant: usize,
    id: Uuid,
) -> Result<clientele_core::orders::record::Order, TestCaseError> {
    match f.app.order(&f.actors[tenant][0], OrderId::from_uuid(id)).await {
        Ok(clientele_core::orders::record::OrderRead::Full(view)) => Ok(view.order),
        other => Err(TestCaseError::fail(format!("an admin could not read order {id}: {other:?}"))),
    }
}

async fn run_case(f: &Fixture, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let nonce: String = Uuid::new_v4().simple().to_string().chars().filter(char::is_ascii_alphabetic).take(6).collect();
    let mut m = Model { customers: vec![Vec::new(); TENANTS], orders: vec![Vec::new(); TENANTS], ..Model::default() };
    for (t, tenant) in f.tenants.iter().enumerate() {
        m.secrets.push((t, tenant.to_string()));
    }
    for op in ops {
        let (tenant, output) = match op {
            Op::Create { tenant, identity, spelling, role } => {
                let (first, last) = IDENTITIES[identity][spelling];
                let input: CustomerInput = serde_json::from_value(json!({
                    "first_name": first, "last_name": format!("{last} {nonce}"), "birth_date": BIRTH_DATES[identity]
                }))
                .unwrap();
                let result = f.app.create_customer(&f.actors[tenant][role], input).await;
                if let Ok(saved) = &result {
                    let id = saved.view.customer.id;
                    let warned = saved.warnings.iter().any(|w| format!("{:?}", w.code) == "GloballyBlacklisted");
                    let expected = m.global.iter().any(|(i, _)| *i == identity);
                    check(warned == expected, format!("global warning {warned}, model says {expected}"))?;
                    m.customers[tenant].push((id, identity));
                } else {
                    check(matches!(ROLES[role], "driver"), format!("{} could not create: {result:?}", ROLES[role]))?;
                }
                (tenant, result.map(|s| serde_json::to_value(s).unwrap()))
            }
            Op::Blacklist { tenant, customer, global, reason, role } => {
                let Some((id, identity)) = pick(&m.customers[tenant], customer) else { continue };
                let note = format!("note-{}", Uuid::new_v4().simple());
                let scope = if global { "global" } else { "tenant" };
                let input: BlacklistInput =
                    serde_json::from_value(json!({"scope": scope, "reason_code": REASONS[reason], "note": note}))
                        .unwrap();
                let result = f.app.blacklist_customer(&f.actors[tenant][role], id, &input).await;
                match &result {
                    Ok(entry) => {
                        check(ROLES[role] == "admin", "only admins blacklist")?;
                        m.entries.insert(id, entry.scope);
                        if entry.scope == Scope::Global {
                            m.global.retain(|(_, c)| *c != id);
                            m.global.push((identity, id));
                        }
                        m.secrets.push((tenant, note));
                        m.secrets.push((tenant, entry.created_at.to_string()));
                    }
                    Err(e) => check(
                        ROLES[role] != "admin" || e.code() == ErrorCode::AlreadyBlacklisted || (global && reason >= 4),
                        format!("admin could not blacklist: {e:?}"),
                    )?,
                }
                (tenant, result.map(|e| serde_json::to_value(e).unwrap()))
            }
            Op::Lift { tenant, customer, role } => {
                let Some((id, _)) = pick(&m.customers[tenant], customer) else { continue };
                let result = f
                    .app
                    .lift_blacklist(&f.actors[tenant][role], id, &LiftInput { note: Some("settled".into()) })
                    .await;
                match &result {
                    Ok(_) => {
                        m.entries.remove(&id);
                        m.global.retain(|(_, c)| *c != id);
                    }
                    Err(e) => check(
                        ROLES[role] != "admin" || e.code() == ErrorCode::NotBlacklisted,
                        format!("admin could not lift: {e:?}"),
                    )?,
                }
                (tenant, result.map(|e| serde_json::to_value(e).unwrap()))
            }
            Op::Order { tenant, customer, mode, role } => {
                let Some((id, identity)) = pick(&m.customers[tenant], customer) else { continue };
                let blacklisted = m.blacklisted(id, identity);
                let result = f.app.create_order(&f.actors[tenant][role], &order_input(id, mode)).await;
                let staff = matches!(ROLES[role], "admin" | "operator");
                match &result {
                    Ok(view) => {
                        let o = &view.order;
                        check(staff, "only staff create orders")?;
                        if blacklisted && matches!(o.status, OrderStatus::Confirmed | OrderStatus::Active) {
                            check(
                                o.override_.is_some(),
                                format!("order {} confirmed for a blacklisted customer", o.id),
                            )?;
                        }
                        check(!blacklisted || mode != 0, "a blacklisted customer's plain order went through")?;
                        check(blacklisted || o.status == OrderStatus::Confirmed, "a clean order was not confirmed")?;
                        m.orders[tenant].push(o.id.as_uuid());
                    }
                    Err(e) => check(
                        !staff
                            || (blacklisted && mode == 0 && e.code() == ErrorCode::CustomerBlacklisted)
                            || (mode == 1 && ROLES[role] == "operator" && e.code() == ErrorCode::Forbidden),
                        format!("{} order (mode {mode}, blacklisted {blacklisted}) refused: {e:?}", ROLES[role]),
                    )?,
                }
                (tenant, result.map(|v| serde_json::to_value(v).unwrap()))
            }
            Op::Approve { tenant, order, role } => {
                let Some(id) = pick(&m.orders[tenant], order) else { continue };
                let input = ApproveOverride { reason: Some("manager approved".into()) };
                let result = f.app.approve_override(&f.actors[tenant][role], OrderId::from_uuid(id), &input).await;
                if let Ok(view) = &result {
                    check(
                        ROLES[role] == "admin" && view.order.override_.is_some(),
                        "approval without a recorded admin override",
                    )?;
                }
                (tenant, result.map(|v| serde_json::to_value(v).unwrap()))
            }
            Op::Activate { tenant, order, with_override, role } => {
                let Some(id) = pick(&m.orders[tenant], order) else { continue };
                let before = order_of(f, tenant, id).await?;
                let identity = m.identity_of(before.customer_id);
                let blacklisted = m.blacklisted(before.customer_id, identity);
                let patch = OrderPatch {
                    status: Some(OrderStatus::Active),
                    override_: with_override.then(|| OverrideInput { reason: Some("handover supervised".into()) }),
                    ..OrderPatch::default()
                };
                let result = f.app.update_order(&f.actors[tenant][role], OrderId::from_uuid(id), &patch, None).await;
                if let Ok(view) = &result
                    && view.order.status == OrderStatus::Active
                    && before.status != OrderStatus::Active
                    && blacklisted
                {
                    check(view.order.override_.is_some(), format!("order {id} activated for a blacklisted customer"))?;
                }
                (tenant, result.map(|v| serde_json::to_value(v).unwrap()))
            }
        };
        // No other tenant's secrets in anything this tenant received.
        let text = seen(&output);
        for (owner, secret) in &m.secrets {
            check(
                *owner == tenant || !text.contains(secret.as_str()),
                format!("tenant {tenant} saw {secret:?}: {text}"),
            )?;
        }
    }
    // Every live order that found its customer blacklisted carries a recorded override.
    for (t, orders) in m.orders.iter().enumerate() {
        for id in orders {
            let o = order_of(f, t, *id).await?;
            let live = matches!(o.status, OrderStatus::Confirmed | OrderStatus::Active | OrderStatus::Completed);
            if live && o.blacklist_at_creation != clientele_core::blacklist::record::BlacklistStatus::None {
                check(o.override_.is_some(), format!("order {id} is {:?} without an override", o.status))?;
            }
        }
    }
    Ok(())
}

fn property_on(db: impl std::future::Future<Output = Option<TestDatabase>>) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let Some(db) = runtime.block_on(db) else { return };
    let f = Arc::new(runtime.block_on(fixture(&db)));
    let cases = std::env::var("CLIENTELE_PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&proptest::collection::vec(op(), 1..40), |ops| runtime.block_on(run_case(&f, ops)));
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn no_order_goes_ahead_for_a_blacklisted_customer_without_an_override_and_nothing_leaks_sqlite() {
    property_on(async { Some(TestDatabase::sqlite().await) });
}

#[test]
fn no_order_goes_ahead_for_a_blacklisted_customer_without_an_override_and_nothing_leaks_postgres() {
    property_on(TestDatabase::postgres());
}

async fn dump_holds_no_identity(db: TestDatabase) {
    let f = fixture(&db).await;
    let admin = &f.actors[0][0];
    let people = [
        ("Nicolò", "De Rossi", "1980-02-29", "CA12345AB", "U1234567X"),
        ("Žofia", "Nováková", "1991-07-14", "YA9876543", "SK-77-1234"),
    ];
    for (first, last, birth, document, license) in people {
        let input: CustomerInput = serde_json::from_value(json!({
            "first_name": first, "last_name": last, "birth_date": birth,
            "id_document": {"type": "passport", "number": document},
            "driver_license": {"number": license, "issued_on": "2015-01-01", "expires_on": "2035-01-01"}
        }))
        .unwrap();
        let id = f.app.create_customer(admin, input).await.unwrap().view.customer.id;
        let flag = BlacklistInput {
            scope: Some(Scope::Global),
            reason_code: Some("unpaid_damage".into()),
            note: Some("damage".into()),
        };
        f.app.blacklist_customer(admin, id, &flag).await.unwrap();
        // A matching record in another tenant leaves a match row too.
        let probe: CustomerInput =
            serde_json::from_value(json!({"first_name": first, "last_name": last, "birth_date": birth})).unwrap();
        f.app.create_customer(&f.actors[1][0], probe).await.unwrap();
    }
    let dump = db.dump_global_list().await.join("\n").to_lowercase();
    assert!(dump.contains("global_blacklist_pseudonyms"), "the dump has the pseudonyms: {dump}");
    let sha = |text: &str| Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>();
    for (first, last, birth, document, license) in people {
        let folded_first = clientele_core::text::fold(first);
        let folded_last = clientele_core::text::fold(last).replace(' ', "");
        let compact_birth = birth.replace('-', "");
        let (y, rest) = birth.split_at(4);
        let european = format!("{}/{}/{y}", &rest[4..6], &rest[1..3]);
        let identity = format!("{folded_first}|{folded_last}|{birth}");
        let forbidden = [
            first.to_lowercase(),
            last.to_lowercase(),
            folded_first.clone(),
            folded_last.clone(),
            birth.to_owned(),
            compact_birth,
            european,
            document.to_lowercase(),
            license.to_lowercase(),
            sha(&identity),
            sha(&format!("{first} {last} {birth}")),
            sha(&format!("{folded_first}{folded_last}{birth}")),
            sha(&format!("{folded_first} {folded_last} {birth}")),
            sha(document),
            sha(license),
        ];
        for needle in forbidden {
            assert!(!dump.contains(&needle), "the global list reveals {needle:?}:\n{dump}");
        }
    }
}

#[tokio::test]
async fn the_global_list_holds_no_plaintext_identity_and_no_unkeyed_hash_sqlite() {
    dump_holds_no_identity(TestDatabase::sqlite().await).await;
}

#[tokio::test]
async fn the_global_list_holds_no_plaintext_identity_and_no_unkeyed_hash_postgres() {
    if let Some(db) = TestDatabase::postgres().await {
        dump_holds_no_identity(db).await;
    }
}
