//! `clientele bench load`: a mixed read/write load on a running server, for minutes.
//!
//! 1. Makes a new tenant with a deterministic set of customers (loaded through the services the
//!    API uses) and an operator, and starts `clientele serve` as a separate process.
//! 2. The baseline: `GET /healthz` (no database, no authentication) at the same concurrency, for
//!    a tenth of the load's duration: what HTTP and the runtime cost on this machine.
//! 3. The load: `concurrency` clients, each sending its next request as soon as the last one is
//!    answered, for `duration`: searches, profile reads, creates, updates (`If-Match` with the
//!    version the client last saw: each client updates only customers it created, so a `412` is
//!    an error too) and order creations, in fixed proportions. Every answer that is not the
//!    success the request expects is counted as an error, by status.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clientele_core::accounts::auth::Actor;
use clientele_core::accounts::services::{NewUser, TokenSubject};
use clientele_core::customers::input::CustomerInput;
use clientele_core::ids::CustomerId;
use clientele_core::time::Timestamp;
use clientele_core::{App, AppConfig};
use clientele_store::{SqlStore, StoreOptions};
use serde_json::{Value, json};

use super::{Percentiles, ServerProcess, core_error, machine, ms, report};
use crate::dataset::{Names, SplitMix64, customer};

/// Options of `bench load`.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long the load runs.
    pub duration: Duration,
    /// Clients sending at once.
    pub concurrency: usize,
    /// Customers the tenant starts with.
    pub customers: usize,
    /// Database URL.
    pub database_url: String,
    /// Where the report goes.
    pub output: PathBuf,
}

/// What a request does, in report order, with its share of the load (out of 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Search,
    Profile,
    Create,
    Update,
    Order,
}

const MIX: [(Op, u64); 5] = [(Op::Search, 45), (Op::Profile, 25), (Op::Create, 10), (Op::Update, 12), (Op::Order, 8)];

impl Op {
    fn label(self) -> &'static str {
        match self {
            Op::Search => "search (`GET /customers?q=`)",
            Op::Profile => "profile read (`GET /customers/{id}`)",
            Op::Create => "create (`POST /customers`)",
            Op::Update => "update (`PATCH /customers/{id}`, `If-Match`)",
            Op::Order => "order (`POST /orders`)",
        }
    }

    fn draw(rng: &mut SplitMix64) -> Self {
        let mut n = rng.below(100);
        for (op, share) in MIX {
            if n < share {
                return op;
            }
            n -= share;
        }
        Op::Search
    }
}

/// One client's measurements.
#[derive(Debug, Default)]
struct Tally {
    samples: BTreeMap<Op, Vec<Duration>>,
    /// Unexpected answers per (operation, status; 0 for a transport error).
    errors: BTreeMap<(Op, u16), usize>,
    /// The first unexpected answer of each kind, for the report.
    examples: BTreeMap<(Op, u16), String>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        for (op, samples) in other.samples {
            self.samples.entry(op).or_default().extend(samples);
        }
        for (key, n) in other.errors {
            *self.errors.entry(key).or_default() += n;
        }
        for (key, example) in other.examples {
            self.examples.entry(key).or_insert(example);
        }
    }
}

/// What every client shares.
struct World {
    http: reqwest::Client,
    base: String,
    token: String,
    /// Ids of the customers the tenant started with.
    ids: Vec<CustomerId>,
    /// Search terms drawn from those customers: name prefixes, full names, phone fragments.
    terms: Vec<String>,
    deadline: Instant,
}

/// Runs the benchmark and writes its section of the report.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let store = SqlStore::connect(&options.database_url, &StoreOptions::default()).await.map_err(core_error)?;
    store.migrate().await.map_err(core_error)?;
    let store = Arc::new(store);
    let app = App::new(store.clone(), AppConfig::default()).await.map_err(core_error)?;
    let backend = clientele_core::store::Store::backend(&*store);

    eprintln!("loading {} customers into a new tenant", options.customers);
    let (tenant, ids, terms) = load(&app, &store, options.customers).await?;
    let server = ServerProcess::spawn(&options.database_url)?;
    let operator = TokenSubject::User(tenant, OPERATOR.into());
    let lasting = options.duration * 2 + Duration::from_secs(3600);
    let token = app.issue_token(&operator, lasting).await.map_err(core_error)?.access_token;
    let http = reqwest::Client::builder().pool_max_idle_per_host(options.concurrency.max(1) * 2).build()?;

    let baseline_time = (options.duration / 10).clamp(Duration::from_secs(5), Duration::from_secs(60));
    eprintln!("baseline: GET /healthz for {:.0} s at concurrency {}", baseline_time.as_secs_f64(), options.concurrency);
    let (baseline, baseline_errors) = baseline(&http, &server.base, options.concurrency, baseline_time).await;
    let baseline_rate = baseline.len() as f64 / baseline_time.as_secs_f64();

    eprintln!("load: {} clients for {:.0} s", options.concurrency, options.duration.as_secs_f64());
    let started = Instant::now();
    let world =
        Arc::new(World { http, base: server.base.clone(), token, ids, terms, deadline: started + options.duration });
    let clients: Vec<_> =
        (0..options.concurrency.max(1)).map(|index| tokio::spawn(client(world.clone(), index))).collect();
    let mut tally = Tally::default();
    for handle in clients {
        tally.add(handle.await.context("a load client stopped")?);
    }
    let elapsed = started.elapsed();
    let (memory_now, memory_peak) = server.memory_mib();
    drop(server);

    let report = render(
        options,
        backend,
        &tally,
        elapsed,
        (&baseline, baseline_rate, baseline_errors),
        (memory_now, memory_peak),
    );
    println!("{report}");
    report::write_section(&options.output, &format!("load:{backend}"), &report)?;
    eprintln!("written to {}", options.output.display());
    if tally.errors.is_empty() { Ok(()) } else { anyhow::bail!("the load met errors (see the report)") }
}

const OPERATOR: &str = "operator@load.example";
const CHUNK: usize = 1_000;

/// A new tenant with `count` generated customers and an operator; their ids and search terms.
async fn load(
    app: &App,
    store: &SqlStore,
    count: usize,
) -> anyhow::Result<(clientele_core::ids::TenantId, Vec<CustomerId>, Vec<String>)> {
    let names = Names::parse();
    let tenant =
        app.create_tenant(&format!("Load bench {}", uuid::Uuid::now_v7()), "IT", None).await.map_err(core_error)?.id;
    let actor = Actor::command_line(tenant);
    let mut rng = SplitMix64(0x10AD);
    let (mut ids, mut terms) = (Vec::with_capacity(count), Vec::new());
    let mut batch: Vec<CustomerInput> = Vec::with_capacity(CHUNK);
    for i in 0..count {
        let input = customer(&mut rng, &names, &[], i);
        if i % 50 == 0 {
            terms.extend(search_terms(&input));
        }
        batch.push(input);
        if batch.len() == CHUNK || i + 1 == count {
            let outcome = app.create_customers(&actor, std::mem::take(&mut batch)).await.map_err(core_error)?;
            if let Some((row, error)) = outcome.rejected.first() {
                anyhow::bail!("generated customer {row} was refused: {error}");
            }
            if ids.is_empty() {
                // Plans made for empty tables would slow the rest of the load down.
                store.refresh_statistics().await.map_err(core_error)?;
            }
            ids.extend(outcome.created);
        }
    }
    store.refresh_statistics().await.map_err(core_error)?;
    let user = NewUser {
        tenant_id: tenant,
        email: OPERATOR.into(),
        role: "operator".into(),
        password: "load-bench-password".into(),
        partner_id: None,
    };
    app.create_user(user).await.map_err(core_error)?;
    if ids.is_empty() || terms.is_empty() {
        anyhow::bail!("the load needs at least one customer");
    }
    Ok((tenant, ids, terms))
}

/// What an operator types to find this customer: a prefix of the surname, the whole name, part
/// of the phone number.
fn search_terms(input: &CustomerInput) -> Vec<String> {
    let mut terms = Vec::new();
    if let (Some(first), Some(last)) = (&input.first_name, &input.last_name) {
        terms.push(last.chars().take(4).collect());
        terms.push(format!("{first} {last}"));
    }
    if let Some(phone) = &input.phone {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 7 {
            terms.push(digits[digits.len() - 7..].to_owned());
        }
    }
    terms
}

/// `GET /healthz` as fast as `concurrency` clients can: the latencies, and the failures.
async fn baseline(http: &reqwest::Client, base: &str, concurrency: usize, time: Duration) -> (Vec<Duration>, usize) {
    let deadline = Instant::now() + time;
    let clients: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (http, url) = (http.clone(), format!("{base}/healthz"));
            tokio::spawn(async move {
                let (mut samples, mut errors) = (Vec::new(), 0);
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match http.get(&url).send().await {
                        Ok(response) if response.status().is_success() => {
                            let _ = response.bytes().await;
                            samples.push(sent.elapsed());
                        }
                        _ => errors += 1,
                    }
                }
                (samples, errors)
            })
        })
        .collect();
    let (mut samples, mut errors) = (Vec::new(), 0);
    for handle in clients {
        if let Ok((s, e)) = handle.await {
            samples.extend(s);
            errors += e;
        }
    }
    (samples, errors)
}

/// A customer this client created, with the version it last saw.
struct Owned {
    id: String,
    version: i64,
}

/// One client: requests one after another until the deadline.
async fn client(world: Arc<World>, index: usize) -> Tally {
    let mut rng = SplitMix64(0x5EED_0000 + index as u64);
    let names = Names::parse();
    let mut tally = Tally::default();
    let mut owned: Vec<Owned> = Vec::new();
    let mut serial = 0_usize;
    while Instant::now() < world.deadline {
        let mut op = Op::draw(&mut rng);
        if op == Op::Update && owned.is_empty() {
            op = Op::Create;
        }
        let request = match op {
            Op::Search => {
                let term = &world.terms[rng.below(world.terms.len() as u64) as usize];
                world
                    .http
                    .get(format!("{}/api/v1/customers", world.base))
                    .query(&[("q", term.as_str()), ("limit", "20")])
            }
            Op::Profile => {
                let id = world.ids[rng.below(world.ids.len() as u64) as usize];
                world.http.get(format!("{}/api/v1/customers/{id}", world.base))
            }
            Op::Create => {
                serial += 1;
                let mut input = customer(&mut rng, &names, &[], serial);
                // Unique per client and serial, so that no create waits on a duplicate check's
                // warning of another client's row.
                input.email = Some(format!("load.{index}.{serial}@load.example"));
                world.http.post(format!("{}/api/v1/customers", world.base)).json(&input_json(&input))
            }
            Op::Update => {
                let pick = rng.below(owned.len() as u64) as usize;
                let target = &owned[pick];
                serial += 1;
                world
                    .http
                    .patch(format!("{}/api/v1/customers/{}", world.base, target.id))
                    .header("if-match", format!("\"{}\"", target.version))
                    .json(&json!({"email": format!("load.{index}.{serial}@load.example"), "language": if serial.is_multiple_of(2) { "it" } else { "en" }}))
            }
            Op::Order => {
                let renter = world.ids[rng.below(world.ids.len() as u64) as usize];
                world.http.post(format!("{}/api/v1/orders", world.base)).json(&order_json(renter, serial))
            }
        };
        let sent = Instant::now();
        let answer = match request.bearer_auth(&world.token).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                Ok((status, body))
            }
            Err(error) => Err(error.to_string()),
        };
        let took = sent.elapsed();
        let expected = match op {
            Op::Create | Op::Order => 201,
            _ => 200,
        };
        match answer {
            Ok((status, body)) if status == expected => {
                tally.samples.entry(op).or_default().push(took);
                let value: Value = serde_json::from_slice(&body).unwrap_or_default();
                let version = value["version"].as_i64();
                match (op, value["id"].as_str(), version) {
                    (Op::Create, Some(id), Some(version)) => owned.push(Owned { id: id.to_owned(), version }),
                    (Op::Update, _, Some(version)) => {
                        if let Some(target) = value["id"].as_str().and_then(|id| owned.iter_mut().find(|o| o.id == id))
                        {
                            target.version = version;
                        }
                    }
                    _ => {}
                }
            }
            Ok((status, body)) => {
                *tally.errors.entry((op, status)).or_default() += 1;
                let text: String = String::from_utf8_lossy(&body).chars().take(300).collect();
                tally.examples.entry((op, status)).or_insert(text);
            }
            Err(error) => {
                *tally.errors.entry((op, 0)).or_default() += 1;
                tally.examples.entry((op, 0)).or_insert(error);
            }
        }
    }
    tally
}

/// The API's JSON for a generated customer.
fn input_json(input: &CustomerInput) -> Value {
    json!({
        "kind": "client",
        "first_name": input.first_name,
        "last_name": input.last_name,
        "birth_date": input.birth_date,
        "citizenship": input.citizenship,
        "language": input.language,
        "email": input.email,
        "phone": input.phone,
    })
}

/// An order for `renter`, a week from now.
fn order_json(renter: CustomerId, serial: usize) -> Value {
    let at = |days: u64| Timestamp::now().add(Duration::from_secs(days * 86_400)).to_string();
    json!({
        "customer_id": renter,
        "pickup_at": at(7),
        "return_at": at(10),
        "pickup_place": "Roma Termini",
        "return_place": "Roma Fiumicino",
        "vehicle": {"plate": format!("LD {:03} AB", serial % 1000), "make": "Fiat", "model": "Panda", "type": "car"},
        "payment_type": "credit_card",
    })
}

fn render(
    options: &Options,
    backend: &str,
    tally: &Tally,
    elapsed: Duration,
    (baseline, baseline_rate, baseline_errors): (&[Duration], f64, usize),
    (memory_now, memory_peak): (f64, f64),
) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-9);
    let errors_of = |op: Op| tally.errors.iter().filter(|((o, _), _)| *o == op).map(|(_, n)| n).sum::<usize>();
    let mut rows = String::new();
    let mut all = Vec::new();
    for (op, _) in MIX {
        let samples = tally.samples.get(&op).map_or(&[][..], Vec::as_slice);
        all.extend_from_slice(samples);
        let p = Percentiles::of(samples);
        rows.push_str(&format!(
            "| {} | {} | {:.1} | {} | {} | {} | {} |\n",
            op.label(),
            samples.len(),
            samples.len() as f64 / seconds,
            ms(p.p50),
            ms(p.p95),
            ms(p.p99),
            errors_of(op),
        ));
    }
    let total_errors: usize = tally.errors.values().sum();
    let p = Percentiles::of(&all);
    let b = Percentiles::of(baseline);
    let mut errors = String::new();
    if total_errors == 0 {
        errors.push_str("- Errors: none (target: 0): met.\n");
    } else {
        errors.push_str(&format!("- Errors: {total_errors} (target: 0): **not met**.\n"));
        for ((op, status), n) in &tally.errors {
            let example = tally.examples.get(&(*op, *status)).map_or("", String::as_str);
            errors.push_str(&format!("  - {n} × {status} on {}: {example}\n", op.label()));
        }
    }
    let share: Vec<String> = MIX
        .iter()
        .map(|(op, s)| {
            let name = format!("{op:?}").to_lowercase();
            format!("{s}% {name}")
        })
        .collect();
    format!(
        "## Mixed load on {backend}: {span}\n\n\
         Run {date} on {machine}.\n\
         `clientele bench load --duration {secs} --concurrency {concurrency} --customers {customers}`: a new tenant \
         with {customers} generated customers; `clientele serve` in its own process; {concurrency} clients, each \
         sending its next request when the last is answered, for {secs} s ({share}). Updates carry `If-Match` \
         with the version the client last saw, on customers it created; orders are for random customers. \
         Latency is from sending to the whole answer read, on loopback, with the clients on the same two cores. \
         The baseline is `GET /healthz` (no database, no authentication) at the same concurrency, in the same run.\n\n\
         | | requests | per second | p50 ms | p95 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|---:|\n\
         | baseline: `GET /healthz` ({baseline_secs:.0} s) | {baseline_n} | {baseline_rate:.0} | {b50} | {b95} | {b99} | {baseline_errors} |\n\
         {rows}\
         | **all of the mix** | {all_n} | {all_rate:.1} | {p50} | {p95} | {p99} | {total_errors} |\n\n\
         {errors}\
         - The server's memory: {memory_now:.0} MiB at the end, {memory_peak:.0} MiB at its peak.\n",
        span = match options.duration.as_secs() {
            s if s % 60 == 0 => format!("{} minutes", s / 60),
            s => format!("{s} seconds"),
        },
        date = Timestamp::now().date(),
        machine = machine(),
        secs = options.duration.as_secs(),
        concurrency = options.concurrency,
        customers = options.customers,
        share = share.join(", "),
        baseline_secs = (options.duration / 10).clamp(Duration::from_secs(5), Duration::from_secs(60)).as_secs_f64(),
        baseline_n = baseline.len(),
        b50 = ms(b.p50),
        b95 = ms(b.p95),
        b99 = ms(b.p99),
        all_n = all.len(),
        all_rate = all.len() as f64 / seconds,
        p50 = ms(p.p50),
        p95 = ms(p.p95),
        p99 = ms(p.p99),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_adds_up_to_a_hundred_and_every_operation_is_drawn() {
        assert_eq!(MIX.iter().map(|(_, share)| share).sum::<u64>(), 100);
        let mut rng = SplitMix64(1);
        let mut seen = BTreeMap::new();
        for _ in 0..10_000 {
            *seen.entry(Op::draw(&mut rng)).or_insert(0) += 1;
        }
        for (op, share) in MIX {
            let n = seen.get(&op).copied().unwrap_or(0);
            assert!((n as f64 / 100.0 - share as f64).abs() < 3.0, "{op:?}: {n} of 10000 for {share}%");
        }
    }
}
