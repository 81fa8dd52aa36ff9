//! Randomised isolation: at least 100,000 requests, drawn by a seeded generator, from every role
//! of several tenants, each aimed as often at another tenant's records as at its own; no answer
//! (errors included) may carry data outside the reader's scope, no request may change data
//! outside the writer's, and none may answer `5xx`.
//!
//! Every record carries markers that name whose it is, so a body is checked by scanning it once,
//! whatever the route: `xq` + class + tenant + serial, in letters (`xqcbaak`: the contact fields
//! of tenant b's customer 10; `p` for the fields only staff and the customer's partner may read,
//! `o` for orders, `w` for what a writer sent). Phones (`+39347` / `+39348`, then the tenant's
//! digit and the serial) and birth dates (a day per customer from 1930 on) say the same in their
//! own alphabet. Who may read what follows the roles table: staff their tenant, partners their
//! own clients, drivers the contact fields of the people on their live orders and the orders
//! assigned to them; the platform admin anything.
//!
//! Each tenant's users run in a sequence of their own (the tenants side by side), so a tenant's
//! model of its records (versions, deleted, orders and their drivers) is exact: any answer that
//! disagrees with it, and any write that succeeds outside its writer's scope, is a failure too.
//! At the end each tenant's customers, orders and audit log are read back and compared.
//!
//! `CLIENTELE_ISOLATION_SEED=N` replays a run (the seed is printed, and named in every failure);
//! `CLIENTELE_ISOLATION_REQUESTS=N` asks for more requests than the 100,000 floor.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, header};
use clientele_core::accounts::services::{NewUser, TokenSubject};
use clientele_core::audit::store::AuditQuery;
use clientele_core::ids::{CustomerId, TenantId, UserId};
use clientele_core::time::Timestamp;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::TestApp;

/// The least number of requests a run makes, per backend.
const REQUESTS_FLOOR: usize = 100_000;
/// Tenants in the run.
const TENANTS: usize = 3;
/// Customers each tenant starts with (two of them partner companies, one on the global list).
const CUSTOMERS: usize = 36;
/// Orders each tenant starts with.
const ORDERS: usize = 14;
/// Documents each tenant starts with.
const DOCUMENTS: usize = 6;
/// Users per role in each tenant.
const ADMINS: usize = 2;
const OPERATORS: usize = 2;
const DRIVERS: usize = 3;
/// Partner companies (each with one user) per tenant.
const PARTNERS: usize = 2;
/// The users' password (for the console's log-in).
const PASSWORD: &str = "correct horse battery";

/// The twins of `http_test!`, on a runtime of two threads: the tenants' sequences run side by
/// side on both cores (a single thread would take twice as long).
mod no_answer_carries_another_scopes_data_and_no_write_crosses_one {
    use crate::harness::TestApp;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::run(&TestApp::sqlite().await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(app) = TestApp::postgres().await {
            super::run(&app).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The generator: a seeded PRNG and the actions with their weights.
// ---------------------------------------------------------------------------------------------

/// SplitMix64: small, fast, and the same sequence for a seed on every machine and version.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// What a request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Action {
    ListCustomers,
    SearchCustomers,
    GetCustomer,
    ListNotes,
    PatchCustomer,
    DeleteCustomer,
    RestoreCustomer,
    AddNote,
    CreateCustomer,
    CreateOrder,
    GetOrder,
    PatchOrder,
    CustomerOrders,
    OrderForm,
    OrderCargosRecord,
    ListDocuments,
    DocumentFile,
    ExportCsv,
    PersonalExport,
    AuditLog,
    BlacklistHistory,
    BlacklistAddOrLift,
    GlobalBlacklist,
    GlobalCheck,
    DuplicateEmail,
    ConsoleDriver,
    ConsoleSearch,
    ConsoleProfile,
}

/// How often each action is drawn, relative to the others.
const WEIGHTS: &[(Action, u32)] = &[
    (Action::ListCustomers, 8),
    (Action::SearchCustomers, 20),
    (Action::GetCustomer, 14),
    (Action::ListNotes, 5),
    (Action::PatchCustomer, 6),
    (Action::DeleteCustomer, 2),
    (Action::RestoreCustomer, 2),
    (Action::AddNote, 4),
    (Action::CreateCustomer, 2),
    (Action::CreateOrder, 3),
    (Action::GetOrder, 6),
    (Action::PatchOrder, 2),
    (Action::CustomerOrders, 3),
    (Action::OrderForm, 2),
    (Action::OrderCargosRecord, 1),
    (Action::ListDocuments, 4),
    (Action::DocumentFile, 2),
    (Action::ExportCsv, 1),
    (Action::PersonalExport, 2),
    (Action::AuditLog, 3),
    (Action::BlacklistHistory, 3),
    (Action::BlacklistAddOrLift, 1),
    (Action::GlobalBlacklist, 1),
    (Action::GlobalCheck, 1),
    (Action::DuplicateEmail, 1),
    (Action::ConsoleDriver, 2),
    (Action::ConsoleSearch, 3),
    (Action::ConsoleProfile, 3),
];

fn draw_action(rng: &mut Rng) -> Action {
    let total: u32 = WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut n = (rng.next() % u64::from(total)) as u32;
    for (action, weight) in WEIGHTS {
        if n < *weight {
            return *action;
        }
        n -= weight;
    }
    unreachable!("the weights add up to the total")
}

// ---------------------------------------------------------------------------------------------
// Markers: what each piece of data says about whose it is.
// ---------------------------------------------------------------------------------------------

/// The class of a marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// A customer's contact fields (names, email, address): `c`.
    Contact,
    /// A customer's other fields (tax code, licence, identity document, notes, documents): `p`.
    Private,
    /// An order: `o`.
    Order,
    /// Text a writer sent: `w`.
    Written,
}

/// `serial` in three letters.
fn letters(serial: usize) -> String {
    assert!(serial < 26 * 26 * 26, "serial {serial} too large for a marker");
    let digit = |n: usize| char::from(b'a' + (n % 26) as u8);
    [digit(serial / 676), digit(serial / 26), digit(serial)].iter().collect()
}

fn marker(class: Class, tenant: usize, serial: usize) -> String {
    let class = match class {
        Class::Contact => 'c',
        Class::Private => 'p',
        Class::Order => 'o',
        Class::Written => 'w',
    };
    format!("xq{class}{}{}", char::from(b'a' + tenant as u8), letters(serial))
}

/// A customer's phone: `+39347` (or `+39348`, the second) then the tenant's digit and the serial.
fn phone(tenant: usize, serial: usize, second: bool) -> String {
    format!("+3934{}{tenant}{serial:06}", if second { 8 } else { 7 })
}

/// The first day of the customers' birth dates; the people on the global list were born before.
fn first_birth_day() -> time::Date {
    time::Date::from_calendar_date(1930, time::Month::January, 1).unwrap()
}

/// Birth dates per tenant (each customer its own day).
const DAYS_PER_TENANT: usize = 5000;

fn birth_date(tenant: usize, serial: usize) -> String {
    assert!(serial < DAYS_PER_TENANT);
    (first_birth_day() + time::Duration::days((tenant * DAYS_PER_TENANT + serial) as i64)).to_string()
}

/// The birth date of tenant `tenant`'s person on the global list (before 1930: owned by nobody,
/// since other tenants' customers share it on purpose).
fn global_birth_date(tenant: usize) -> String {
    (first_birth_day() - time::Duration::days(1000 + tenant as i64)).to_string()
}

/// What a found piece of data belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// A customer's field of `class` (`Contact` or `Private`).
    Customer {
        class: Class,
        tenant: usize,
        serial: usize,
    },
    Order {
        tenant: usize,
        serial: usize,
    },
    Written {
        tenant: usize,
    },
    /// A record's id (customers', orders', documents'; the registry says whose).
    Id(uuid::Uuid),
    /// A birth date (any: even one nobody owns is not for drivers).
    BirthDate {
        owner: Option<(usize, usize)>,
    },
}

/// Finds every marker, phone and birth date in a (lower-cased) body.
struct Scanner {
    dates: HashMap<String, (usize, usize)>,
}

impl Scanner {
    fn new() -> Self {
        let dates = (0..TENANTS).flat_map(|t| (0..DAYS_PER_TENANT).map(move |s| (birth_date(t, s), (t, s)))).collect();
        Self { dates }
    }

    fn scan(&self, body: &[u8]) -> Vec<Found> {
        let mut found = Vec::new();
        let letter = |b: u8| b.is_ascii_lowercase();
        let mut i = 0;
        while i + 1 < body.len() {
            match (body[i], body[i + 1]) {
                (b'x', b'q')
                    if i + 7 <= body.len()
                        && body[i + 2..i + 7].iter().all(|b| letter(*b))
                        && !inside_random_token(body, i) =>
                {
                    let tenant = usize::from(body[i + 3] - b'a');
                    let serial = body[i + 4..i + 7].iter().fold(0, |n, b| n * 26 + usize::from(b - b'a'));
                    let item = match body[i + 2] {
                        b'c' => Some(Found::Customer { class: Class::Contact, tenant, serial }),
                        b'p' => Some(Found::Customer { class: Class::Private, tenant, serial }),
                        b'o' => Some(Found::Order { tenant, serial }),
                        b'w' => Some(Found::Written { tenant }),
                        _ => None,
                    };
                    if let Some(item) = item.filter(|_| tenant < TENANTS) {
                        found.push(item);
                        i += 7;
                        continue;
                    }
                }
                (b'+', b'3') if body[i..].starts_with(b"+3934") && i + 13 <= body.len() => {
                    let digits = &body[i + 5..i + 13];
                    if (digits[0] == b'7' || digits[0] == b'8') && digits[1..].iter().all(u8::is_ascii_digit) {
                        let tenant = usize::from(digits[1] - b'0');
                        let serial = digits[2..].iter().fold(0, |n, b| n * 10 + usize::from(b - b'0'));
                        if tenant < TENANTS {
                            found.push(Found::Customer { class: Class::Contact, tenant, serial });
                        }
                        i += 13;
                        continue;
                    }
                }
                (b'1', b'9') if i + 10 <= body.len() => {
                    let date = &body[i..i + 10];
                    let shape = date
                        .iter()
                        .enumerate()
                        .all(|(k, b)| if k == 4 || k == 7 { *b == b'-' } else { b.is_ascii_digit() });
                    let before = i.checked_sub(1).map(|k| body[k]);
                    if shape && !before.is_some_and(|b| b.is_ascii_digit()) {
                        let text = std::str::from_utf8(date).unwrap_or_default();
                        found.push(Found::BirthDate { owner: self.dates.get(text).copied() });
                        i += 10;
                        continue;
                    }
                }
                _ if i + 36 <= body.len() && is_uuid(&body[i..i + 36]) => {
                    if let Ok(id) = std::str::from_utf8(&body[i..i + 36]).unwrap_or_default().parse() {
                        found.push(Found::Id(id));
                    }
                    i += 36;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        found
    }
}

/// Random tokens the server writes (cursors: 19 and 23 characters of URL-safe base64; CSRF
/// tokens: 43) spell a marker now and then once lower-cased (`…XqObmEi…`); no marker is written
/// inside a run of token characters this long.
const RANDOM_TOKEN_RUN: usize = 19;

/// The text at `at` lies in a run of at least [`RANDOM_TOKEN_RUN`] URL-safe base64 characters.
fn inside_random_token(body: &[u8], at: usize) -> bool {
    let token = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
    let before = body[..at].iter().rev().take_while(|b| token(b)).count();
    let after = body[at..].iter().take_while(|b| token(b)).count();
    before + after >= RANDOM_TOKEN_RUN
}

/// `bytes` (36 of them) are a hyphenated, lower-case UUID.
fn is_uuid(bytes: &[u8]) -> bool {
    let hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    [8, 13, 18, 23].iter().all(|k| bytes[*k] == b'-')
        && bytes.iter().enumerate().all(|(k, b)| matches!(k, 8 | 13 | 18 | 23) || hex(b))
}

/// A record whose id may turn up in an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    Customer(usize),
    Order(usize),
    /// A document of the customer with this serial.
    Document(usize),
}

/// Every tenant's records by id, as they are made (tenants' sequences add theirs as they go).
#[derive(Default)]
struct Registry(std::sync::RwLock<HashMap<uuid::Uuid, (usize, Record)>>);

impl Registry {
    fn add(&self, id: &str, tenant: usize, record: Record) {
        self.0.write().unwrap().insert(id.parse().unwrap(), (tenant, record));
    }

    fn get(&self, id: &uuid::Uuid) -> Option<(usize, Record)> {
        self.0.read().unwrap().get(id).copied()
    }
}

// ---------------------------------------------------------------------------------------------
// The world: tenants, their users and records, and each tenant's model of them.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Role {
    Admin,
    Operator,
    Driver,
    Partner,
}

/// A user of a tenant, signed in for the API and the console.
#[derive(Debug, Clone)]
struct User {
    role: Role,
    id: UserId,
    token: String,
    cookie: String,
    /// For drivers, their index in the tenant's drivers; for partners, their company's serial.
    scope: usize,
}

impl User {
    fn label(&self) -> String {
        format!("{:?}({})", self.role, self.id)
    }
}

#[derive(Debug, Clone)]
struct CustomerModel {
    id: CustomerId,
    /// The serial of the partner company the customer is a client of.
    partner: Option<usize>,
    /// A partner company.
    company: bool,
    version: i64,
    deleted: bool,
    blacklisted: bool,
}

#[derive(Debug, Clone)]
struct OrderModel {
    id: String,
    renter: usize,
    second: Option<usize>,
    /// The index of the assigned driver.
    driver: Option<usize>,
    status: String,
    version: i64,
}

impl OrderModel {
    fn live(&self) -> bool {
        self.status == "confirmed" || self.status == "active"
    }
}

/// One tenant: its users, and the model of its records, changed only by its own sequence.
struct Tenant {
    index: usize,
    id: TenantId,
    users: Vec<User>,
    customers: Vec<CustomerModel>,
    orders: Vec<OrderModel>,
    documents: Vec<String>,
    /// The serial of each document's customer.
    document_owners: Vec<usize>,
    by_id: HashMap<String, usize>,
    written: usize,
}

impl Tenant {
    fn driver_id(&self, driver: usize) -> UserId {
        self.users.iter().filter(|u| u.role == Role::Driver).nth(driver).unwrap().id
    }

    /// Whether `user` of this tenant may read `found`; `documents` when the answer is a
    /// customer's documents (their metadata or a file), which drivers read for the people on their
    /// live orders.
    fn may_read(&self, user: &User, found: Found, documents: bool) -> bool {
        match (user.role, found) {
            (Role::Admin | Role::Operator, Found::Customer { tenant, .. } | Found::Order { tenant, .. }) => {
                tenant == self.index
            }
            (Role::Admin | Role::Operator, Found::BirthDate { owner }) => owner.is_none_or(|(t, _)| t == self.index),
            (Role::Partner, Found::Customer { tenant, serial, .. }) => {
                tenant == self.index
                    && self.customers.get(serial).is_some_and(|c| serial == user.scope || c.partner == Some(user.scope))
            }
            (Role::Partner, Found::BirthDate { owner }) => owner.is_none_or(|(t, serial)| {
                t == self.index && self.customers.get(serial).is_some_and(|c| c.partner == Some(user.scope))
            }),
            (Role::Driver, Found::Customer { class, tenant, serial }) => {
                (class == Class::Contact || documents)
                    && tenant == self.index
                    && self.orders.iter().any(|o| {
                        o.driver == Some(user.scope) && o.live() && (o.renter == serial || o.second == Some(serial))
                    })
            }
            (Role::Driver, Found::Order { tenant, serial }) => {
                tenant == self.index && self.orders.get(serial).is_some_and(|o| o.driver == Some(user.scope))
            }
            _ => false,
        }
    }

    /// Whether `user` of this tenant may see the id of `record` of `tenant`.
    fn may_see(&self, user: &User, tenant: usize, record: Record) -> bool {
        let on_assigned = |serial: usize, live_only: bool| {
            self.orders.iter().any(|o| {
                o.driver == Some(user.scope)
                    && (o.live() || !live_only)
                    && (o.renter == serial || o.second == Some(serial))
            })
        };
        tenant == self.index
            && match (user.role, record) {
                (Role::Admin | Role::Operator, _) => true,
                (Role::Partner, Record::Customer(serial)) => {
                    serial == user.scope || self.customers.get(serial).is_some_and(|c| c.partner == Some(user.scope))
                }
                (Role::Driver, Record::Customer(serial)) => on_assigned(serial, false),
                (Role::Driver, Record::Order(serial)) => {
                    self.orders.get(serial).is_some_and(|o| o.driver == Some(user.scope))
                }
                (Role::Driver, Record::Document(serial)) => on_assigned(serial, true),
                _ => false,
            }
    }

    fn new_written(&mut self) -> String {
        self.written += 1;
        marker(Class::Written, self.index, self.written)
    }
}

/// Ids of every tenant's records as the run starts (with ids nobody has), to aim requests at.
struct Targets {
    /// `(tenant, id)`.
    customers: Vec<(usize, String)>,
    orders: Vec<(usize, String)>,
    documents: Vec<(usize, String)>,
    users: Vec<(usize, String)>,
    /// Partner companies.
    companies: Vec<(usize, String)>,
    /// Search terms from every tenant's names, emails, phones, tax codes.
    terms: Vec<String>,
}

/// Where a request's target belongs, as the actor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Aim {
    /// No single record (lists, searches).
    None,
    Own,
    Foreign,
    Unknown,
}

// ---------------------------------------------------------------------------------------------
// Requests, answers, and what is counted.
// ---------------------------------------------------------------------------------------------

/// The in-process server.
struct Wire {
    router: axum::Router,
}

struct Answer {
    status: u16,
    json: bool,
    body: Vec<u8>,
}

impl Answer {
    fn value(&self) -> Value {
        if self.json { serde_json::from_slice(&self.body).unwrap_or(Value::Null) } else { Value::Null }
    }
}

enum Credentials<'a> {
    Token(&'a str),
    Cookie(&'a str),
}

impl Wire {
    async fn send(
        &self,
        method: Method,
        path: &str,
        credentials: Credentials<'_>,
        body: Option<&Value>,
        if_match: Option<i64>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        request = match credentials {
            Credentials::Token(token) => request.header(header::AUTHORIZATION, format!("Bearer {token}")),
            Credentials::Cookie(cookie) => request.header(header::COOKIE, cookie).header(header::ACCEPT, "text/html"),
        };
        if let Some(version) = if_match {
            request = request.header(header::IF_MATCH, format!("\"{version}\""));
        }
        let body = match body {
            Some(value) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(value).unwrap())
            }
            None => Body::empty(),
        };
        let mut request = request.body(body).unwrap();
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let json = content_type.contains("json");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec();
        Answer { status, json, body }
    }
}

#[derive(Default)]
struct Tally {
    requests: usize,
    per_action: BTreeMap<Action, usize>,
    /// Time spent waiting for answers, per action.
    per_action_time: BTreeMap<Action, Duration>,
    per_status: BTreeMap<u16, usize>,
    per_class: BTreeMap<u16, usize>,
    /// Statuses answered per (action, role, aim): an id of another tenant must be answered as
    /// one that does not exist.
    per_aim: BTreeMap<(Action, Role, Aim), BTreeMap<u16, usize>>,
    /// The first answer of each status other than 2xx, 403, 404, 409 and 422, per action.
    unusual: BTreeMap<(Action, u16), String>,
    /// Answers showing the reader data of its own scope, per role (so the run is not vacuous).
    own_data_seen: BTreeMap<Role, usize>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.requests += other.requests;
        for (k, v) in other.per_action {
            *self.per_action.entry(k).or_default() += v;
        }
        for (k, v) in other.per_action_time {
            *self.per_action_time.entry(k).or_default() += v;
        }
        for (k, v) in other.per_status {
            *self.per_status.entry(k).or_default() += v;
        }
        for (k, v) in other.per_class {
            *self.per_class.entry(k).or_default() += v;
        }
        for (k, statuses) in other.per_aim {
            let mine = self.per_aim.entry(k).or_default();
            for (s, n) in statuses {
                *mine.entry(s).or_default() += n;
            }
        }
        for (k, v) in other.unusual {
            self.unusual.entry(k).or_insert(v);
        }
        for (k, v) in other.own_data_seen {
            *self.own_data_seen.entry(k).or_default() += v;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Setting up the world.
// ---------------------------------------------------------------------------------------------

fn licence(number: &str) -> Value {
    let expires = (Timestamp::now().date() + time::Duration::days(3 * 365)).to_string();
    json!({"number": number, "issued_on": "2015-01-01", "expires_on": expires})
}

/// A complete customer of tenant `t` with serial `s`: every field carries its markers.
fn customer_body(t: usize, s: usize, partner: Option<&str>) -> Value {
    let contact = marker(Class::Contact, t, s);
    let private = marker(Class::Private, t, s);
    let surnames = ["Rossi", "Bianchi", "Ferrari", "Esposito", "Romano", "Colombo"];
    let mut body = json!({
        "first_name": format!("Anna {contact}"),
        "last_name": surnames[s % surnames.len()],
        "email": format!("{contact}@mail{t}.example"),
        "phone": phone(t, s, false),
        "secondary_phone": phone(t, s, true),
        "birth_date": birth_date(t, s),
        "birth_place": {"city": format!("Borgo {private}"), "country": "IT"},
        "tax_code": private.to_uppercase(),
        "address": {"line1": format!("Via {contact} 1"), "city": "Roma", "postal_code": "00100", "country": "IT"},
        "driver_license": licence(&format!("{}L", private.to_uppercase())),
        "id_document": {"type": "passport", "number": format!("{}P", private.to_uppercase())},
        "notes": [format!("First met {private}")],
    });
    if let Some(partner) = partner {
        body["partner_id"] = json!(partner);
    }
    body
}

/// Every this many customers of each tenant, one has an address every tenant has.
const SHARED_EMAIL_EVERY: usize = 5;

/// An email address customers of every tenant have.
fn shared_email(k: usize) -> String {
    format!("shared{k}@common.example")
}

/// A partner company of tenant `t` with serial `s`.
fn company_body(t: usize, s: usize) -> Value {
    let contact = marker(Class::Contact, t, s);
    json!({
        "kind": "partner",
        "company_name": format!("Agency {contact}"),
        "email": format!("{contact}@agency{t}.example"),
        "phone": phone(t, s, false),
        "vat_number": marker(Class::Private, t, s).to_uppercase(),
    })
}

/// The person tenant `t` puts on the global list: names any tenant may share, on purpose.
fn listed_person(t: usize, s: usize, owner: usize) -> Value {
    let contact = marker(Class::Contact, owner, s);
    json!({
        "first_name": "Gianni",
        "last_name": format!("Nero{}", char::from(b'a' + t as u8)),
        "birth_date": global_birth_date(t),
        "email": format!("{contact}@listed{owner}.example"),
        "tax_code": marker(Class::Private, owner, s).to_uppercase(),
    })
}

fn order_body(
    t: usize,
    serial: usize,
    renter: &CustomerId,
    second: Option<&CustomerId>,
    driver: Option<UserId>,
) -> Value {
    let order = marker(Class::Order, t, serial);
    let at = |days: u64| Timestamp::now().add(Duration::from_secs(days * 86_400)).to_string();
    let mut body = json!({
        "customer_id": renter,
        "pickup_at": at(10),
        "return_at": at(20),
        "pickup_place": format!("Roma {order}"),
        "return_place": "Roma Fiumicino",
        "vehicle": {"plate": "AB 123 CD", "make": "Fiat", "model": "Panda", "type": "car"},
        "payment_type": "credit_card",
    });
    if let Some(second) = second {
        body["second_driver_id"] = json!(second);
    }
    if let Some(driver) = driver {
        body["driver_id"] = json!(driver);
    }
    body
}

/// A PDF whose text names its customer's private marker.
fn pdf(private: &str) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj << /Type /Catalog /Title ({private}) >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
        .into_bytes()
}

async fn new_user(
    app: &TestApp,
    tenant: TenantId,
    t: usize,
    role: Role,
    n: usize,
    partner: Option<CustomerId>,
) -> User {
    let name = format!("{role:?}").to_lowercase();
    let email = format!("{name}{n}-t{t}-{}@isolation.example", uuid::Uuid::new_v4().simple());
    let created = app
        .app
        .create_user(NewUser {
            tenant_id: tenant,
            email: email.clone(),
            role: name,
            password: PASSWORD.into(),
            partner_id: partner,
        })
        .await
        .unwrap();
    let subject = TokenSubject::User(tenant, email.clone());
    let token = app.app.issue_token(&subject, Duration::from_secs(4 * 3600)).await.unwrap().access_token;
    let page = crate::console::log_in(app, &email, PASSWORD, None, &[]).await;
    let cookie = crate::console::pair(&page.set_cookie("clientele_session").expect("a console session"));
    User { role, id: created.id, token, cookie, scope: 0 }
}

async fn build_tenant(app: &TestApp, t: usize) -> Tenant {
    let id = app.app.create_tenant(&format!("Isolation {t}"), "IT", None).await.unwrap().id;
    let mut users = Vec::new();
    for n in 0..ADMINS {
        users.push(new_user(app, id, t, Role::Admin, n, None).await);
    }
    for n in 0..OPERATORS {
        users.push(new_user(app, id, t, Role::Operator, n, None).await);
    }
    for n in 0..DRIVERS {
        let mut driver = new_user(app, id, t, Role::Driver, n, None).await;
        driver.scope = n;
        users.push(driver);
    }
    let admin = crate::harness::Session { token: users[0].token.clone(), user_id: Some(users[0].id) };
    let mut tenant = Tenant {
        index: t,
        id,
        users,
        customers: Vec::new(),
        orders: Vec::new(),
        documents: Vec::new(),
        document_owners: Vec::new(),
        by_id: HashMap::new(),
        written: 0,
    };

    // Serials 0..PARTNERS are the partner companies; the last customer is the listed person.
    let add = |tenant: &mut Tenant, id: CustomerId, partner: Option<usize>, company: bool| {
        tenant.by_id.insert(id.to_string(), tenant.customers.len());
        tenant.customers.push(CustomerModel { id, partner, company, version: 1, deleted: false, blacklisted: false });
    };
    for s in 0..PARTNERS {
        let reply = app.post("/api/v1/customers", &admin, company_body(t, s)).await.expect(201);
        add(&mut tenant, reply.id(), None, true);
    }
    for s in PARTNERS..CUSTOMERS - 1 {
        let partner = (s % 3 < PARTNERS).then_some(s % 3);
        let partner_id = partner.map(|p| tenant.customers[p].id.to_string());
        let mut body = customer_body(t, s, partner_id.as_deref());
        if s % SHARED_EMAIL_EVERY == 0 {
            body["email"] = json!(shared_email(s / SHARED_EMAIL_EVERY));
        }
        let reply = app.post("/api/v1/customers", &admin, body).await.expect(201);
        add(&mut tenant, reply.id(), partner, false);
    }
    let s = CUSTOMERS - 1;
    let listed = app.post("/api/v1/customers", &admin, listed_person(t, s, t)).await.expect(201).id();
    add(&mut tenant, listed, None, false);
    let body = json!({"scope": "global", "reason_code": "unpaid_balance", "note": format!("Owes {}", marker(Class::Private, t, s))});
    app.post(&format!("/api/v1/customers/{listed}/blacklist"), &admin, body).await.expect(201);
    tenant.customers[s].version += 1;
    tenant.customers[s].blacklisted = true;

    for p in 0..PARTNERS {
        let mut partner = new_user(app, id, t, Role::Partner, p, Some(tenant.customers[p].id)).await;
        partner.scope = p;
        tenant.users.push(partner);
    }

    // Orders: live ones for every driver, and some completed and cancelled.
    for o in 0..ORDERS {
        let renter = PARTNERS + (o * 7) % (CUSTOMERS - 1 - PARTNERS);
        let second =
            (o % 3 == 0).then(|| PARTNERS + (o * 11 + 5) % (CUSTOMERS - 1 - PARTNERS)).filter(|s| *s != renter);
        let driver = (o % 4 != 3).then_some(o % DRIVERS);
        let body = order_body(
            t,
            o,
            &tenant.customers[renter].id,
            second.map(|s| &tenant.customers[s].id),
            driver.map(|d| tenant.driver_id(d)),
        );
        let reply = app.post("/api/v1/orders", &admin, body).await.expect(201);
        let order_id = reply.body["id"].as_str().unwrap().to_owned();
        let mut model =
            OrderModel { id: order_id.clone(), renter, second, driver, status: "confirmed".into(), version: 1 };
        let path = format!("/api/v1/orders/{order_id}");
        for status in match o % 5 {
            1 => &["active"][..],
            2 => &["active", "completed"][..],
            3 => &["cancelled"][..],
            _ => &[][..],
        } {
            let reply = app.patch(&path, &admin, json!({"status": status})).await.expect(200);
            model.status = (*status).into();
            model.version = reply.body["version"].as_i64().unwrap();
        }
        tenant.orders.push(model);
    }

    for d in 0..DOCUMENTS {
        let s = PARTNERS + d * 3;
        let number = format!("{}D", marker(Class::Private, t, s).to_uppercase());
        let reply = app
            .upload(
                &admin,
                tenant.customers[s].id,
                "passport",
                &[("number", &number)],
                &pdf(&marker(Class::Private, t, s)),
            )
            .await;
        tenant.documents.push(reply.expect(201).body["id"].as_str().unwrap().to_owned());
        tenant.document_owners.push(s);
    }
    tenant
}

fn targets(tenants: &[Tenant]) -> Targets {
    let mut t = Targets {
        customers: Vec::new(),
        orders: Vec::new(),
        documents: Vec::new(),
        users: Vec::new(),
        companies: Vec::new(),
        terms: Vec::new(),
    };
    for tenant in tenants {
        let i = tenant.index;
        for (s, c) in tenant.customers.iter().enumerate() {
            t.customers.push((i, c.id.to_string()));
            if c.company {
                t.companies.push((i, c.id.to_string()));
            }
            let contact = marker(Class::Contact, i, s);
            let private = marker(Class::Private, i, s);
            let phone = phone(i, s, false);
            t.terms.extend([
                contact.clone(),
                contact[..5].to_owned(),
                format!("{contact}@mail{i}.example"),
                private.clone(),
                phone.clone(),
                phone[3..].to_owned(),
                phone[6..11].to_owned(),
                format!("anna {}", &contact[..6]),
            ]);
            // One typo (a letter changed), which the search's typo tier answers.
            let mut typo = contact.into_bytes();
            typo[6] = if typo[6] == b'a' { b'b' } else { b'a' };
            t.terms.push(String::from_utf8(typo).unwrap());
        }
        t.orders.extend(tenant.orders.iter().map(|o| (i, o.id.clone())));
        t.documents.extend(tenant.documents.iter().map(|d| (i, d.clone())));
        t.users.extend(tenant.users.iter().map(|u| (i, u.id.to_string())));
    }
    t.terms.extend(["Rossi", "gianni nero", "anna", "xq", "ros", "347", "+39", "mail0", "example"].map(String::from));
    t
}

// ---------------------------------------------------------------------------------------------
// The run.
// ---------------------------------------------------------------------------------------------

/// What a tenant's sequence needs besides its own model.
struct Shared {
    /// Set by the first failure: the other sequences stop, so that the test's database outlives
    /// their requests.
    stop: std::sync::atomic::AtomicBool,
    registry: Registry,
    wire: Wire,
    targets: Targets,
    scanner: Scanner,
    seed: u64,
    backend: &'static str,
    platform_token: String,
}

async fn run(app: &TestApp) {
    let seed = match std::env::var("CLIENTELE_ISOLATION_SEED") {
        Ok(text) => text.trim().parse().expect("CLIENTELE_ISOLATION_SEED is a number"),
        Err(_) => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64,
    };
    let requested = std::env::var("CLIENTELE_ISOLATION_REQUESTS").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(0);
    let total = REQUESTS_FLOOR.max(requested);
    let backend = if app.database_url.starts_with("postgres") { "postgresql" } else { "sqlite" };
    eprintln!(
        "isolation_random ({backend}): seed {seed} (replay with CLIENTELE_ISOLATION_SEED={seed}), {total} requests"
    );

    // A 5xx is logged by the server with its cause: shown with the failure.
    let _ = tracing_subscriber::fmt().with_max_level(tracing::Level::ERROR).with_test_writer().try_init();
    let setup = Instant::now();
    let mut tenants = Vec::new();
    for t in 0..TENANTS {
        tenants.push(build_tenant(app, t).await);
    }
    // The harness's tokens last ten minutes; a run on a busy machine may take longer.
    let platform_email = format!("root-{}@isolation.example", uuid::Uuid::new_v4().simple());
    app.app.create_platform_admin(&platform_email, PASSWORD).await.unwrap();
    let subject = TokenSubject::PlatformAdmin(platform_email);
    let platform = app.app.issue_token(&subject, Duration::from_secs(4 * 3600)).await.unwrap().access_token;
    let targets = targets(&tenants);
    let scanner = Scanner::new();
    let wire = Wire { router: app.router() };
    let registry = Registry::default();
    for tenant in &tenants {
        for (s, c) in tenant.customers.iter().enumerate() {
            registry.add(&c.id.to_string(), tenant.index, Record::Customer(s));
        }
        for (o, order) in tenant.orders.iter().enumerate() {
            registry.add(&order.id, tenant.index, Record::Order(o));
        }
        for (d, owner) in tenant.documents.iter().zip(&tenant.document_owners) {
            registry.add(d, tenant.index, Record::Document(*owner));
        }
    }
    let shared = Arc::new(Shared {
        stop: Default::default(),
        registry,
        wire,
        targets,
        scanner,
        seed,
        backend,
        platform_token: platform,
    });
    eprintln!("isolation_random ({backend}): set up in {:.1?}", setup.elapsed());

    let started = Instant::now();
    let share = total.div_ceil(TENANTS);
    let sequences: Vec<_> = tenants
        .into_iter()
        .map(|mut tenant| {
            let shared = shared.clone();
            let rng = Rng(seed ^ (tenant.index as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F));
            tokio::spawn(async move {
                let tally = sequence(&shared, &mut tenant, rng, share).await;
                (tenant, tally)
            })
        })
        .collect();
    let mut tenants = Vec::new();
    let mut tally = Tally::default();
    let mut failure = None;
    for sequence in sequences {
        match sequence.await {
            Ok((tenant, t)) => {
                tenants.push(tenant);
                tally.add(t);
            }
            Err(error) => failure = failure.or(Some(error.into_panic())),
        }
    }
    // Once every sequence has stopped: a panic's message was printed where it happened.
    if let Some(panic) = failure {
        std::panic::resume_unwind(panic);
    }
    let elapsed = started.elapsed();

    let checked = Instant::now();
    let mut final_requests = 0;
    for tenant in &tenants {
        final_requests += check_afterwards(app, &shared, tenant).await;
    }
    summary(backend, seed, &tally, elapsed, final_requests, checked.elapsed());

    assert!(tally.requests >= REQUESTS_FLOOR, "seed {seed}: only {} requests", tally.requests);
    let server_errors: usize = tally.per_status.iter().filter(|(s, _)| **s >= 500).map(|(_, n)| n).sum();
    assert_eq!(server_errors, 0, "seed {seed} ({backend}): answers with status 5xx");
    // Every token and session lasts the run: none is refused.
    assert!(!tally.per_status.contains_key(&401), "seed {seed} ({backend}): answers with status 401");
    for role in [Role::Admin, Role::Operator, Role::Driver, Role::Partner] {
        let seen = tally.own_data_seen.get(&role).copied().unwrap_or(0);
        assert!(seen > 100, "seed {seed} ({backend}): {role:?} saw its own scope's data in only {seen} answers");
    }
    // An id of another tenant is answered as an id that does not exist.
    for ((action, role, aim), statuses) in &tally.per_aim {
        if *aim != Aim::Foreign {
            continue;
        }
        let Some(unknown) = tally.per_aim.get(&(*action, *role, Aim::Unknown)) else { continue };
        for status in statuses.keys() {
            assert!(
                unknown.contains_key(status),
                "seed {seed} ({backend}): {action:?} by a {role:?} on another tenant's id answered {status}, \
                 never answered for an id that does not exist ({unknown:?})"
            );
        }
    }
}

fn summary(backend: &str, seed: u64, tally: &Tally, elapsed: Duration, final_requests: usize, final_elapsed: Duration) {
    let mut out = String::new();
    let rate = tally.requests as f64 / elapsed.as_secs_f64();
    let _ = writeln!(
        out,
        "isolation_random ({backend}), seed {seed}: {} requests in {elapsed:.1?} ({rate:.0}/s); checked afterwards with {final_requests} more in {final_elapsed:.1?}",
        tally.requests
    );
    let _ = writeln!(out, "  per status class: {:?}", tally.per_class);
    let _ = writeln!(out, "  per status: {:?}", tally.per_status);
    let _ = writeln!(out, "  per action:");
    for (action, n) in &tally.per_action {
        let mean = tally.per_action_time.get(action).copied().unwrap_or_default() / (*n).max(1) as u32;
        let _ = writeln!(out, "    {action:?}: {n} (mean {mean:.1?})");
    }
    let _ = writeln!(out, "  answers showing own-scope data, per role: {:?}", tally.own_data_seen);
    for ((action, status), example) in &tally.unusual {
        let _ = writeln!(out, "  first {status} of {action:?}: {example}");
    }
    eprint!("{out}");
}

/// Everything about one request, for the failure message.
struct Context<'a> {
    shared: &'a Shared,
    tenant: usize,
    step: usize,
    user: &'a User,
    action: Action,
    method: &'a Method,
    path: &'a str,
}

impl Context<'_> {
    #[track_caller]
    fn fail(&self, what: &str, answer: &Answer) -> ! {
        self.shared.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let body = String::from_utf8_lossy(&answer.body);
        let excerpt: String = body.chars().take(1500).collect();
        panic!(
            "isolation_random ({}), seed {} (replay: CLIENTELE_ISOLATION_SEED={}), tenant {} step {}: {what}\n  \
             {} {:?} {} {}\n  answered {}: {excerpt}",
            self.shared.backend,
            self.shared.seed,
            self.shared.seed,
            self.tenant,
            self.step,
            self.user.label(),
            self.action,
            self.method,
            self.path,
            answer.status,
        );
    }
}

/// A request about to be sent.
struct Planned {
    method: Method,
    path: String,
    body: Option<Value>,
    if_match: Option<i64>,
    console: bool,
    aim: Aim,
    /// The target customer's serial in this tenant's model, when it is the tenant's own.
    customer: Option<usize>,
    order: Option<usize>,
    /// Use the platform admin's token instead of the user's.
    platform: bool,
}

impl Planned {
    fn new(method: Method, path: String, aim: Aim) -> Self {
        Self {
            method,
            path,
            body: None,
            if_match: None,
            console: false,
            aim,
            customer: None,
            order: None,
            platform: false,
        }
    }
}

/// A customer to aim at: mostly the tenant's own, often another tenant's, sometimes nobody's.
fn aim_customer(rng: &mut Rng, tenant: &Tenant, targets: &Targets) -> (String, Aim, Option<usize>) {
    let roll = rng.below(100);
    if roll < 55 {
        let s = rng.below(tenant.customers.len());
        (tenant.customers[s].id.to_string(), Aim::Own, Some(s))
    } else if roll < 93 {
        let foreign: Vec<_> = targets.customers.iter().filter(|(t, _)| *t != tenant.index).collect();
        (rng.pick(&foreign).1.clone(), Aim::Foreign, None)
    } else {
        (uuid::Uuid::now_v7().to_string(), Aim::Unknown, None)
    }
}

fn aim_in(rng: &mut Rng, tenant: usize, own: &[String], all: &[(usize, String)]) -> (String, Aim, Option<usize>) {
    let roll = rng.below(100);
    if roll < 55 && !own.is_empty() {
        let i = rng.below(own.len());
        (own[i].clone(), Aim::Own, Some(i))
    } else if roll < 93 {
        let foreign: Vec<_> = all.iter().filter(|(t, _)| *t != tenant).collect();
        (rng.pick(&foreign).1.clone(), Aim::Foreign, None)
    } else {
        (uuid::Uuid::now_v7().to_string(), Aim::Unknown, None)
    }
}

/// `text` percent-encoded for a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// `text` with its percent-escapes decoded.
fn decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Plans a request of `action` by `user`.
fn plan(rng: &mut Rng, action: Action, user: &User, tenant: &mut Tenant, targets: &Targets) -> Planned {
    use Method as M;
    let t = tenant.index;
    let staff = matches!(user.role, Role::Admin | Role::Operator);
    match action {
        Action::ListCustomers => {
            let mut query = vec![format!("limit={}", 1 + rng.below(30))];
            if rng.chance(30) {
                query.push(format!("kind={}", rng.pick(&["client", "partner", "staff"])));
            }
            if rng.chance(20) {
                query.push(format!("partner_id={}", rng.pick(&targets.companies).1));
            }
            if rng.chance(15) {
                query.push("include_deleted=true".into());
            }
            if rng.chance(10) {
                query.push(format!("blacklisted={}", rng.chance(50)));
            }
            if rng.chance(10) {
                query.push(format!("documents={}", rng.pick(&["complete", "incomplete"])));
            }
            Planned::new(M::GET, format!("/api/v1/customers?{}", query.join("&")), Aim::None)
        }
        Action::SearchCustomers => {
            let term = rng.pick(&targets.terms).clone();
            let mut path = format!("/api/v1/customers?q={}&limit={}", encode(&term), 1 + rng.below(20));
            if rng.chance(15) {
                path.push_str(&format!("&partner_id={}", rng.pick(&targets.companies).1));
            }
            Planned::new(M::GET, path, Aim::None)
        }
        Action::GetCustomer
        | Action::ListNotes
        | Action::CustomerOrders
        | Action::OrderForm
        | Action::ListDocuments
        | Action::BlacklistHistory
        | Action::PersonalExport => {
            let (id, aim, customer) = aim_customer(rng, tenant, targets);
            let suffix = match action {
                Action::GetCustomer => "",
                Action::ListNotes => "/notes",
                Action::CustomerOrders => "/orders",
                Action::OrderForm => "/order-form",
                Action::ListDocuments => "/documents",
                Action::BlacklistHistory => "/blacklist",
                _ => "/export",
            };
            Planned { customer, ..Planned::new(M::GET, format!("/api/v1/customers/{id}{suffix}"), aim) }
        }
        Action::PatchCustomer => {
            let (id, aim, customer) = aim_customer(rng, tenant, targets);
            let allowed = staff && aim == Aim::Own;
            let body = match (allowed, rng.below(5)) {
                // What a writer in scope writes keeps the record's own markers.
                (true, 0) => json!({"language": rng.pick(&["it", "en", "de"])}),
                (true, 1) => {
                    let s = customer.unwrap();
                    json!({"address": {"line2": format!("Scala {} {}", marker(Class::Contact, t, s), rng.below(9))}})
                }
                (true, 2) if user.role == Role::Admin => json!({"vip": rng.chance(50)}),
                (true, 3) if !tenant.customers[customer.unwrap()].company => {
                    json!({"secondary_phone": if rng.chance(50) { Value::Null } else { json!(phone(t, customer.unwrap(), true)) }})
                }
                (true, _) => json!({"language": "fr"}),
                // Anyone else writes text of their own, which must never appear in the record.
                (false, _) => {
                    let written = tenant.new_written();
                    json!({"first_name": format!("Hacked {written}"), "address": {"line2": written}})
                }
            };
            let if_match = match (aim, customer) {
                (Aim::Own, Some(s)) if rng.chance(70) => Some(tenant.customers[s].version),
                (_, _) if rng.chance(30) => Some(1),
                _ => None,
            };
            Planned {
                body: Some(body),
                if_match,
                customer,
                ..Planned::new(M::PATCH, format!("/api/v1/customers/{id}"), aim)
            }
        }
        Action::DeleteCustomer | Action::RestoreCustomer => {
            let (id, aim, customer) = aim_customer(rng, tenant, targets);
            // Keep most customers alive: deleting one often would leave few to read.
            if action == Action::DeleteCustomer {
                Planned { customer, ..Planned::new(M::DELETE, format!("/api/v1/customers/{id}"), aim) }
            } else {
                Planned {
                    body: Some(json!({})),
                    customer,
                    ..Planned::new(M::POST, format!("/api/v1/customers/{id}/restore"), aim)
                }
            }
        }
        Action::AddNote => {
            let (id, aim, customer) = aim_customer(rng, tenant, targets);
            let text = match customer {
                Some(s) if staff => format!("Called back {}", marker(Class::Private, t, s)),
                _ => format!("Note {}", tenant.new_written()),
            };
            Planned {
                body: Some(json!({"body": text})),
                customer,
                ..Planned::new(M::POST, format!("/api/v1/customers/{id}/notes"), aim)
            }
        }
        Action::CreateCustomer => {
            let s = tenant.customers.len();
            let partner = match user.role {
                Role::Partner => None,
                _ if rng.chance(40) => Some(tenant.customers[rng.below(PARTNERS)].id.to_string()),
                _ => None,
            };
            Planned {
                body: Some(customer_body(t, s, partner.as_deref())),
                ..Planned::new(M::POST, "/api/v1/customers".into(), Aim::None)
            }
        }
        Action::GlobalCheck => {
            // A person another tenant put on the global list, as this tenant's new customer.
            let listed = (t + 1 + rng.below(TENANTS - 1)) % TENANTS;
            let s = tenant.customers.len();
            Planned {
                body: Some(listed_person(listed, s, t)),
                ..Planned::new(M::POST, "/api/v1/customers".into(), Aim::None)
            }
        }
        Action::DuplicateEmail => {
            // Every tenant has customers with these addresses: a warning may name only the
            // writer's own.
            let s = tenant.customers.len();
            let mut body = customer_body(t, s, None);
            body["email"] = json!(shared_email(rng.below(CUSTOMERS / SHARED_EMAIL_EVERY)));
            Planned { body: Some(body), ..Planned::new(M::POST, "/api/v1/customers".into(), Aim::None) }
        }
        Action::CreateOrder => {
            let (id, aim, customer) = aim_customer(rng, tenant, targets);
            let serial = tenant.orders.len();
            let driver = rng.chance(70).then(|| rng.below(DRIVERS));
            let renter: CustomerId = id.parse().unwrap();
            let second = rng
                .chance(30)
                .then(|| tenant.customers[PARTNERS + rng.below(tenant.customers.len() - PARTNERS)].id)
                .filter(|s| *s != renter);
            let body = if aim == Aim::Own {
                order_body(t, serial, &renter, second.as_ref(), driver.map(|d| tenant.driver_id(d)))
            } else {
                // Nothing of this tenant's own: an order for another tenant's customer carries
                // only what this writer wrote.
                let mut body = order_body(t, serial, &renter, None, None);
                body["pickup_place"] = json!(format!("Roma {}", tenant.new_written()));
                body
            };
            Planned { body: Some(body), customer, ..Planned::new(M::POST, "/api/v1/orders".into(), aim) }
        }
        Action::GetOrder | Action::PatchOrder | Action::OrderCargosRecord => {
            let own: Vec<String> = tenant.orders.iter().map(|o| o.id.clone()).collect();
            let (id, aim, order) = aim_in(rng, t, &own, &targets.orders);
            match action {
                Action::GetOrder => Planned { order, ..Planned::new(M::GET, format!("/api/v1/orders/{id}"), aim) },
                Action::OrderCargosRecord => {
                    Planned { order, ..Planned::new(M::GET, format!("/api/v1/orders/{id}/cargos"), aim) }
                }
                _ => {
                    let body = match rng.below(4) {
                        0 => json!({"status": "active"}),
                        1 => json!({"status": "completed"}),
                        2 => json!({"status": "cancelled"}),
                        _ => {
                            json!({"driver_id": if rng.chance(30) { Value::Null } else { json!(tenant.driver_id(rng.below(DRIVERS))) }})
                        }
                    };
                    Planned { body: Some(body), order, ..Planned::new(M::PATCH, format!("/api/v1/orders/{id}"), aim) }
                }
            }
        }
        Action::DocumentFile => {
            let (id, aim, _) = aim_in(rng, t, &tenant.documents, &targets.documents);
            Planned::new(M::GET, format!("/api/v1/documents/{id}/file"), aim)
        }
        Action::ExportCsv => {
            let mut query = vec![format!("format={}", rng.pick(&["csv", "excel"]))];
            if rng.chance(40) {
                query.push(format!("partner_id={}", rng.pick(&targets.companies).1));
            }
            if rng.chance(30) {
                query.push("include_deleted=true".into());
            }
            Planned::new(M::GET, format!("/api/v1/exports/customers.csv?{}", query.join("&")), Aim::None)
        }
        Action::AuditLog => {
            let mut query = vec![format!("limit={}", 1 + rng.below(100))];
            match rng.below(3) {
                0 => query.push(format!("customer_id={}", rng.pick(&targets.customers).1)),
                1 => query.push(format!("user_id={}", rng.pick(&targets.users).1)),
                _ => {}
            }
            let platform = rng.chance(10);
            if platform {
                query.push(format!("tenant_id={}", tenant.id));
            }
            Planned { platform, ..Planned::new(M::GET, format!("/api/v1/audit?{}", query.join("&")), Aim::None) }
        }
        Action::BlacklistAddOrLift => {
            let (id, aim, customer) = aim_customer(rng, tenant, targets);
            let listed = customer.is_some_and(|s| tenant.customers[s].blacklisted);
            let note = match customer {
                Some(s) if user.role == Role::Admin => marker(Class::Private, t, s),
                _ => tenant.new_written(),
            };
            let path = format!("/api/v1/customers/{id}/blacklist");
            if listed || (customer.is_none() && rng.chance(50)) {
                Planned {
                    body: Some(json!({"note": format!("Paid {note}")})),
                    customer,
                    ..Planned::new(M::DELETE, path, aim)
                }
            } else {
                let body = json!({"scope": "tenant", "reason_code": "unpaid_balance", "note": format!("Owes {note}")});
                Planned { body: Some(body), customer, ..Planned::new(M::POST, path, aim) }
            }
        }
        Action::GlobalBlacklist => {
            let platform = rng.chance(50);
            Planned { platform, ..Planned::new(M::GET, "/api/v1/blacklist/global?limit=50".into(), Aim::None) }
        }
        Action::ConsoleDriver => Planned { console: true, ..Planned::new(M::GET, "/driver".into(), Aim::None) },
        Action::ConsoleSearch => {
            let term = rng.pick(&targets.terms).clone();
            Planned { console: true, ..Planned::new(M::GET, format!("/customers?q={}", encode(&term)), Aim::None) }
        }
        Action::ConsoleProfile => {
            let (id, aim, customer) = aim_customer(rng, tenant, targets);
            Planned { console: true, customer, ..Planned::new(M::GET, format!("/customers/{id}"), aim) }
        }
    }
}

/// One tenant's sequence of `count` requests.
async fn sequence(shared: &Shared, tenant: &mut Tenant, mut rng: Rng, count: usize) -> Tally {
    let mut tally = Tally::default();
    for step in 0..count {
        if shared.stop.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        let action = draw_action(&mut rng);
        let user = tenant.users[rng.below(tenant.users.len())].clone();
        let planned = plan(&mut rng, action, &user, tenant, &shared.targets);
        let credentials = if planned.platform {
            Credentials::Token(&shared.platform_token)
        } else if planned.console {
            Credentials::Cookie(&user.cookie)
        } else {
            Credentials::Token(&user.token)
        };
        let sent = Instant::now();
        let answer = shared
            .wire
            .send(planned.method.clone(), &planned.path, credentials, planned.body.as_ref(), planned.if_match)
            .await;
        let context = Context {
            shared,
            tenant: tenant.index,
            step,
            user: &user,
            action,
            method: &planned.method,
            path: &planned.path,
        };

        tally.requests += 1;
        *tally.per_action.entry(action).or_default() += 1;
        *tally.per_action_time.entry(action).or_default() += sent.elapsed();
        *tally.per_status.entry(answer.status).or_default() += 1;
        *tally.per_class.entry(answer.status / 100 * 100).or_default() += 1;
        if !planned.platform {
            *tally.per_aim.entry((action, user.role, planned.aim)).or_default().entry(answer.status).or_default() += 1;
        }
        if !matches!(answer.status, 200..=299 | 403 | 404 | 409 | 422) {
            let excerpt: String = String::from_utf8_lossy(&answer.body).chars().take(300).collect();
            tally
                .unusual
                .entry((action, answer.status))
                .or_insert_with(|| format!("{} {}: {excerpt}", planned.method, planned.path));
        }
        if answer.status >= 500 {
            context.fail("a server error", &answer);
        }
        if planned.platform {
            continue;
        }
        check_leaks(&context, tenant, &planned, &answer, &mut tally);
        if (200..300).contains(&answer.status) {
            if planned.aim == Aim::Foreign || planned.aim == Aim::Unknown {
                let by_filter = matches!(action, Action::AuditLog | Action::ListCustomers | Action::SearchCustomers);
                if !by_filter {
                    context.fail("a request aimed at another tenant's record (or none) succeeded", &answer);
                }
            }
            apply(&context, tenant, &planned, &answer);
        }
        let conflict = answer.status == 409 && answer.value()["code"] == "version_conflict";
        if let (Aim::Own, true, Some(expected), Some(s)) = (planned.aim, conflict, planned.if_match, planned.customer)
            && expected == tenant.customers[s].version
        {
            context.fail("the model's version was refused: someone else changed the customer", &answer);
        }
    }
    tally
}

/// The body holds nothing outside the reader's scope (beyond what the request itself sent).
fn check_leaks(context: &Context<'_>, tenant: &Tenant, planned: &Planned, answer: &Answer, tally: &mut Tally) {
    let scanner = &context.shared.scanner;
    let lower = answer.body.to_ascii_lowercase();
    let sent: Vec<Found> = {
        let mut sent = decode(&planned.path).to_ascii_lowercase();
        if let Some(body) = &planned.body {
            sent.extend(serde_json::to_vec(body).unwrap().to_ascii_lowercase());
        }
        scanner.scan(&sent)
    };
    // The tenant's log records its own users' requests, refused ones too, naming what they
    // asked for (an id, a filter): the ids that count there are those of the records an allowed
    // entry says were read or changed.
    let refused_requests_log = context.action == Action::AuditLog && answer.json;
    let ids_shown: HashSet<uuid::Uuid> = if refused_requests_log {
        let value = answer.value();
        value["items"].as_array().map(|items| touched_records(items)).unwrap_or_default()
    } else {
        HashSet::new()
    };
    let mut own = false;
    for found in scanner.scan(&lower) {
        if let Found::Id(id) = found {
            let Some((owner, record)) = context.shared.registry.get(&id) else { continue };
            if refused_requests_log && !ids_shown.contains(&id) {
                continue;
            }
            if tenant.may_see(context.user, owner, record) || sent.contains(&found) {
                continue;
            }
            context
                .fail(&format!("the id of a record outside the reader's scope: tenant {owner}'s {record:?}"), answer);
        }
        let documents = matches!(context.action, Action::ListDocuments | Action::DocumentFile);
        if tenant.may_read(context.user, found, documents) {
            own |= matches!(found, Found::Customer { .. } | Found::Order { .. });
            continue;
        }
        if sent.contains(&found) {
            continue;
        }
        context.fail(&format!("data outside the reader's scope: {found:?}"), answer);
    }
    if own && (200..300).contains(&answer.status) {
        *tally.own_data_seen.entry(context.user.role).or_default() += 1;
    }
    if context.user.role == Role::Driver && answer.json {
        let forbidden = [
            "\"birth_date\"",
            "\"tax_code\"",
            "\"driver_license\"",
            "\"id_document\"",
            "\"notes\"",
            "\"vip\"",
            "\"birth_place\"",
        ];
        let text = String::from_utf8_lossy(&answer.body);
        if let Some(key) = forbidden.iter().find(|k| text.contains(**k)) {
            context.fail(&format!("a driver was shown {key}"), answer);
        }
    }
    // Every customer the tenant's model knows is shown as the model has it.
    if answer.json
        && (200..300).contains(&answer.status)
        && matches!(
            context.action,
            Action::GetCustomer
                | Action::ListCustomers
                | Action::SearchCustomers
                | Action::PatchCustomer
                | Action::RestoreCustomer
        )
    {
        let value = answer.value();
        let items = match value.get("items").and_then(Value::as_array) {
            Some(items) => items.clone(),
            None => vec![value],
        };
        for item in items {
            let (Some(id), Some(version)) = (item["id"].as_str(), item["version"].as_i64()) else { continue };
            let Some(&s) = tenant.by_id.get(id) else { continue };
            let model = &tenant.customers[s];
            // A write's answer is the new state, applied to the model after this check.
            let writing = matches!(context.action, Action::PatchCustomer | Action::RestoreCustomer);
            if !writing && (version != model.version || item["deleted"].as_bool() != Some(model.deleted)) {
                context.fail(
                    &format!(
                        "customer {s} is not as its tenant left it (model: version {}, deleted {})",
                        model.version, model.deleted
                    ),
                    answer,
                );
            }
        }
    }
}

/// The records that the allowed entries of an audit log say were read or changed.
fn touched_records(entries: &[Value]) -> HashSet<uuid::Uuid> {
    entries
        .iter()
        .filter(|entry| entry["outcome"] != "denied")
        .flat_map(|entry| [&entry["object_id"], &entry["customer_id"]])
        .filter_map(|id| id.as_str()?.parse().ok())
        .collect()
}

/// A successful write by this tenant's own user, applied to the model.
fn apply(context: &Context<'_>, tenant: &mut Tenant, planned: &Planned, answer: &Answer) {
    let staff = matches!(context.user.role, Role::Admin | Role::Operator);
    let value = answer.value();
    let writer_may = |roles: &[Role]| roles.contains(&context.user.role);
    match context.action {
        Action::PatchCustomer => {
            if !staff {
                context.fail("a user who may not change customers changed one", answer);
            }
            let s = planned.customer.unwrap();
            tenant.customers[s].version = value["version"].as_i64().unwrap();
        }
        Action::DeleteCustomer => {
            if !staff {
                context.fail("a user who may not delete customers deleted one", answer);
            }
            let c = &mut tenant.customers[planned.customer.unwrap()];
            if !c.deleted {
                c.deleted = true;
                c.version += 1;
            }
        }
        Action::RestoreCustomer => {
            if !writer_may(&[Role::Admin]) {
                context.fail("a user who may not restore customers restored one", answer);
            }
            let c = &mut tenant.customers[planned.customer.unwrap()];
            c.deleted = false;
            c.version = value["version"].as_i64().unwrap();
        }
        Action::AddNote if !staff => context.fail("a user who may not add notes added one", answer),
        Action::BlacklistAddOrLift => {
            if !writer_may(&[Role::Admin]) {
                context.fail("a user who may not blacklist changed a blacklist", answer);
            }
            let c = &mut tenant.customers[planned.customer.unwrap()];
            c.blacklisted = planned.method == Method::POST;
            c.version += 1;
        }
        Action::CreateCustomer | Action::GlobalCheck | Action::DuplicateEmail => {
            if !writer_may(&[Role::Admin, Role::Operator, Role::Partner]) {
                context.fail("a user who may not create customers created one", answer);
            }
            let id: CustomerId = value["id"].as_str().unwrap().parse().unwrap();
            let partner = match context.user.role {
                Role::Partner => Some(context.user.scope),
                _ => value["partner_id"].as_str().and_then(|p| tenant.by_id.get(p).copied()),
            };
            if context.user.role == Role::Partner
                && value["partner_id"].as_str() != Some(&tenant.customers[context.user.scope].id.to_string())
            {
                context.fail("a partner's new customer is not linked to its company", answer);
            }
            context.shared.registry.add(&id.to_string(), tenant.index, Record::Customer(tenant.customers.len()));
            tenant.by_id.insert(id.to_string(), tenant.customers.len());
            tenant.customers.push(CustomerModel {
                id,
                partner,
                company: false,
                version: 1,
                deleted: false,
                blacklisted: false,
            });
        }
        Action::CreateOrder => {
            if !staff {
                context.fail("a user who may not create orders created one", answer);
            }
            let by_id = |key: &str| value[key].as_str().and_then(|id| tenant.by_id.get(id).copied());
            let driver = value["driver_id"].as_str().map(|d| {
                (0..DRIVERS).find(|n| tenant.driver_id(*n).to_string() == d).expect("a driver of this tenant")
            });
            let id = value["id"].as_str().unwrap().to_owned();
            context.shared.registry.add(&id, tenant.index, Record::Order(tenant.orders.len()));
            tenant.orders.push(OrderModel {
                id,
                renter: by_id("customer_id").unwrap(),
                second: by_id("second_driver_id"),
                driver,
                status: value["status"].as_str().unwrap().to_owned(),
                version: value["version"].as_i64().unwrap(),
            });
        }
        Action::PatchOrder => {
            if !staff {
                context.fail("a user who may not change orders changed one", answer);
            }
            let driver = value["driver_id"].as_str().map(|d| {
                (0..DRIVERS).find(|n| tenant.driver_id(*n).to_string() == d).expect("a driver of this tenant")
            });
            let o = &mut tenant.orders[planned.order.unwrap()];
            o.status = value["status"].as_str().unwrap().to_owned();
            o.version = value["version"].as_i64().unwrap();
            o.driver = driver;
        }
        _ => {}
    }
}

/// After the run: every customer and order of the tenant is as its own users left it, the
/// tenant's lists and log hold nothing of another tenant's, and every entry of its log was
/// written by one of its own users. Returns the requests made.
async fn check_afterwards(app: &TestApp, shared: &Shared, tenant: &Tenant) -> usize {
    let seed = shared.seed;
    let t = tenant.index;
    let admin = tenant.users.iter().find(|u| u.role == Role::Admin).unwrap();
    let mut requests = 0;
    let fail = |what: String| -> ! {
        panic!("isolation_random ({}), seed {seed}, tenant {t} afterwards: {what}", shared.backend)
    };
    let check_markers = |body: &[u8], what: &str| {
        for found in shared.scanner.scan(&body.to_ascii_lowercase()) {
            if !matches!(found, Found::Id(_)) && !tenant.may_read(admin, found, false) {
                fail(format!("{what} holds {found:?}"));
            }
        }
    };
    let check_body = |body: &[u8], what: &str| {
        for found in shared.scanner.scan(&body.to_ascii_lowercase()) {
            if let Found::Id(id) = found {
                match shared.registry.get(&id) {
                    Some((owner, record)) if !tenant.may_see(admin, owner, record) => {
                        fail(format!("{what} holds the id of tenant {owner}'s {record:?}"))
                    }
                    _ => continue,
                }
            }
            if !tenant.may_read(admin, found, false) {
                fail(format!("{what} holds {found:?}"));
            }
        }
    };

    // Every customer, deleted ones too, page after page.
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/v1/customers?include_deleted=true&limit=200".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", encode(c)));
        }
        let answer = shared.wire.send(Method::GET, &path, Credentials::Token(&admin.token), None, None).await;
        requests += 1;
        assert_eq!(answer.status, 200, "seed {seed}: the final list");
        check_body(&answer.body, "the customer list");
        let page = answer.value();
        for item in page["items"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap();
            let Some(&s) = tenant.by_id.get(id) else { fail(format!("customer {id} is not one this tenant made")) };
            let model = &tenant.customers[s];
            if item["version"].as_i64() != Some(model.version) || item["deleted"].as_bool() != Some(model.deleted) {
                fail(format!(
                    "customer {s} is at version {} (deleted {}), its tenant left it at {} ({})",
                    item["version"], item["deleted"], model.version, model.deleted
                ));
            }
            if !item.to_string().to_ascii_lowercase().contains(&marker(Class::Contact, t, s)) {
                fail(format!("customer {s} lost its own data: {item}"));
            }
            seen.insert(s);
        }
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    if seen.len() != tenant.customers.len() {
        fail(format!("{} customers listed, the tenant made {}", seen.len(), tenant.customers.len()));
    }

    for (o, model) in tenant.orders.iter().enumerate() {
        let answer = shared
            .wire
            .send(Method::GET, &format!("/api/v1/orders/{}", model.id), Credentials::Token(&admin.token), None, None)
            .await;
        requests += 1;
        assert_eq!(answer.status, 200, "seed {seed}: order {o}");
        check_body(&answer.body, "an order");
        let value = answer.value();
        if value["version"].as_i64() != Some(model.version) || value["status"].as_str() != Some(&model.status) {
            fail(format!(
                "order {o} is {} at version {}; its tenant left it {} at {}",
                value["status"], value["version"], model.status, model.version
            ));
        }
    }

    let answer = shared
        .wire
        .send(
            Method::GET,
            "/api/v1/exports/customers.csv?include_deleted=true",
            Credentials::Token(&admin.token),
            None,
            None,
        )
        .await;
    requests += 1;
    assert_eq!(answer.status, 200, "seed {seed}: the export");
    check_body(&answer.body, "the export");

    // The audit log, read from the store: each entry by one of the tenant's own users (or by
    // nobody: the system), with nothing of another tenant's in it.
    let users: HashSet<String> = tenant.users.iter().map(|u| u.id.to_string()).collect();
    let mut query = AuditQuery { limit: 500, ..AuditQuery::default() };
    let mut entries = 0;
    loop {
        let page = app.app.store().list_audit(tenant.id, &query).await.unwrap();
        for entry in &page {
            if let Some(actor) = entry.actor_id.filter(|a| !users.contains(&a.to_string())) {
                fail(format!(
                    "audit entry {} ({}) was written by {actor}, not a user of this tenant",
                    entry.seq, entry.action
                ));
            }
            // Ids only where the entry says which records were read or changed: elsewhere, and in
            // refused requests, they are what the tenant's own user asked for.
            let entry = serde_json::to_value(entry).unwrap();
            for id in touched_records(std::slice::from_ref(&entry)) {
                check_body(id.to_string().as_bytes(), "the audit log");
            }
            check_markers(&serde_json::to_vec(&entry).unwrap(), "the audit log");
        }
        entries += page.len();
        match page.last() {
            Some(last) if page.len() == 500 => query.after = Some(last.id),
            _ => break,
        }
    }
    assert!(entries > 0, "seed {seed}: tenant {t} has an audit log");
    requests
}

/// The scanner finds markers where the server writes data, and not in random tokens that happen
/// to spell one once lower-cased (a failure of a real run: a cursor).
#[test]
fn markers_are_found_in_data_but_not_inside_random_tokens() {
    let scanner = Scanner { dates: HashMap::new() };
    let order = Found::Order { tenant: 1, serial: 8224 };
    let data = br#"{"pickup_place":"roma xqobmei","number":"xqobmeil","email":"xqobmei@mail1.example"}"#;
    assert_eq!(scanner.scan(data), [order, order, order]);
    let cursor = br#"{"items":[],"next_cursor":"aqe3xqobmei0kdl2h-pq_zt"}"#;
    assert_eq!(scanner.scan(cursor), []);
    let csrf = br#"<input name="_csrf" value="k2xqobmeiq9w0dkf8vnbq2ldk3mf0q_zz-ab4kd9sl2">"#;
    assert_eq!(scanner.scan(csrf), []);
}
