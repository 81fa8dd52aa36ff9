//! `clientele bench search`: search latency over HTTP at a million customers in one tenant.
//!
//! 1. Generates a deterministic data set (one large tenant, two medium, thirty small; names with
//!    diacritics, phones in several countries) and loads it through the real services, once: a
//!    later run on the same database reuses it.
//! 2. Starts `clientele serve` as a separate process and measures a fixed mix of queries over
//!    HTTP, at concurrency 1 and 8: p50/p95/p99, queries per second, the server's memory.
//! 3. Measures the same queries as a plain `LIKE '%q%'` scan in the same run, as the baseline.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clientele_core::accounts::auth::Actor;
use clientele_core::accounts::services::{NewUser, TokenSubject};
use clientele_core::customers::input::CustomerInput;
use clientele_core::ids::TenantId;
use clientele_core::text::fold;
use clientele_core::{App, AppConfig};
use clientele_store::{SqlStore, StoreOptions};

use super::{Percentiles, ServerProcess, core_error, machine, ms, report};
use crate::dataset::{Names, SplitMix64, customer};

/// Options of `bench search`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Customers in the large tenant.
    pub customers: usize,
    /// Measured requests per query kind and concurrency level.
    pub requests: usize,
    /// Baseline samples per query kind.
    pub baseline_samples: usize,
    /// Database URL.
    pub database_url: String,
    /// Where the report goes.
    pub output: PathBuf,
}

const OPERATOR: &str = "operator@bench.example";
const LOADED_MARKER: &str = "loaded@bench.example";
const CHUNK: usize = 1_000;

/// The kinds of query measured, in report order.
const KINDS: [&str; 8] =
    ["1 char", "3 chars", "full name", "email fragment", "phone fragment", "typo", "filtered", "paginated"];

struct Tenants {
    large: TenantId,
}

/// Runs the benchmark and writes its section of the report.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let store = SqlStore::connect(&options.database_url, &StoreOptions::default()).await.map_err(core_error)?;
    store.migrate().await.map_err(core_error)?;
    let store = Arc::new(store);
    let app = App::new(store.clone(), AppConfig::default()).await.map_err(core_error)?;
    let backend = clientele_core::store::Store::backend(&*store);

    let load_started = Instant::now();
    let (tenants, loaded) = ensure_dataset(&app, &store, options.customers).await?;
    let load_time = load_started.elapsed();
    if loaded > 0 {
        eprintln!(
            "loaded {loaded} customers in {:.1} s ({:.0} customers/s)",
            load_time.as_secs_f64(),
            loaded as f64 / load_time.as_secs_f64()
        );
    }

    eprintln!("preparing the query mix");
    let samples = samples(options.customers);
    let server = ServerProcess::spawn(&options.database_url)?;
    let token = app
        .issue_token(&TokenSubject::User(tenants.large, OPERATOR.into()), Duration::from_secs(4 * 3600))
        .await
        .map_err(core_error)?
        .access_token;
    let http = reqwest::Client::builder().pool_max_idle_per_host(16).build()?;
    let mix = QueryMix::build(&samples, &http, &server.base, &token).await?;

    let mut results = Vec::new();
    for concurrency in [1, 8] {
        eprintln!("measuring at concurrency {concurrency}");
        // Warm up caches and connections; not measured.
        measure(&http, &server.base, &token, &mix, concurrency, 3).await?;
        let (per_kind, overall, queries_per_second) =
            measure(&http, &server.base, &token, &mix, concurrency, options.requests).await?;
        results.push(Level { concurrency, per_kind, overall, queries_per_second, memory: server.memory_mib() });
    }

    eprintln!("measuring the LIKE baseline");
    let baseline = measure_baseline(&store, tenants.large, &mix, options.baseline_samples).await?;
    let report = render(options, backend, &results, &baseline);
    println!("{report}");
    report::write_section(&options.output, &format!("search:{backend}"), &report)?;
    eprintln!("written to {}", options.output.display());
    Ok(())
}

fn tenant_plan(customers: usize) -> Vec<(String, usize, u64)> {
    let mut plan = vec![(format!("Bench large ({customers})"), customers, 1)];
    let medium = (customers / 20).max(1_000);
    plan.push((format!("Bench medium 1 ({customers})"), medium, 2));
    plan.push((format!("Bench medium 2 ({customers})"), medium, 3));
    for i in 0..30 {
        plan.push((format!("Bench small {i} ({customers})"), 300, 100 + i));
    }
    plan
}

/// Creates the bench tenants and their customers, unless an earlier run did. Returns the tenants
/// and how many customers this run loaded.
async fn ensure_dataset(app: &App, store: &SqlStore, customers: usize) -> anyhow::Result<(Tenants, usize)> {
    let names = Names::parse();
    let mut large = None;
    let mut loaded = 0;
    for (index, (name, count, seed)) in tenant_plan(customers).into_iter().enumerate() {
        let tenant = match app.store().find_tenant_by_name(&name).await.map_err(core_error)? {
            Some(existing) => {
                let done = app.store().find_user_by_email(existing.id, &marker()).await.map_err(core_error)?;
                if done.is_none() {
                    bail!("an earlier load of {name:?} did not finish: use a fresh bench database");
                }
                existing.id
            }
            None => {
                let tenant = app.create_tenant(&name, "IT", None).await.map_err(core_error)?;
                let actor = Actor::command_line(tenant.id);
                let mut rng = SplitMix64(seed);
                let started = Instant::now();
                let mut batch: Vec<CustomerInput> = Vec::with_capacity(CHUNK);
                for i in 0..count {
                    batch.push(customer(&mut rng, &names, &[], i));
                    if batch.len() == CHUNK || i + 1 == count {
                        let outcome =
                            app.create_customers(&actor, std::mem::take(&mut batch)).await.map_err(core_error)?;
                        if let Some((row, error)) = outcome.rejected.first() {
                            bail!("generated customer {row} was refused: {error}");
                        }
                        if loaded == 0 || i + 1 == count {
                            // Plans made for empty tables would slow the rest of the load down.
                            store.refresh_statistics().await.map_err(core_error)?;
                        }
                        loaded += outcome.created.len();
                        if index == 0 && (i + 1) % (count / 10).max(CHUNK) < CHUNK {
                            let rate = (i + 1) as f64 / started.elapsed().as_secs_f64();
                            eprintln!("  {name}: {} of {count} ({rate:.0}/s)", i + 1);
                        }
                    }
                }
                for (email, role) in [(OPERATOR, "operator"), (LOADED_MARKER, "admin")] {
                    let user = NewUser {
                        tenant_id: tenant.id,
                        email: email.into(),
                        role: role.into(),
                        password: "bench-password".into(),
                        partner_id: None,
                    };
                    app.create_user(user).await.map_err(core_error)?;
                }
                tenant.id
            }
        };
        large.get_or_insert(tenant);
    }
    let large = large.context("no tenant planned")?;
    Ok((Tenants { large }, loaded))
}

fn marker() -> clientele_core::values::Email {
    clientele_core::values::Email::from_stored(LOADED_MARKER.into())
}

/// Every 997th customer of the large tenant, regenerated from its seed (no database needed).
fn samples(customers: usize) -> Vec<CustomerInput> {
    let names = Names::parse();
    let mut rng = SplitMix64(1);
    (0..customers).map(|i| customer(&mut rng, &names, &[], i)).step_by(997).take(400).collect()
}

/// The concrete requests of each kind (query strings, ready to append to `/api/v1/customers?`).
struct QueryMix {
    kinds: BTreeMap<&'static str, Vec<String>>,
}

impl QueryMix {
    async fn build(samples: &[CustomerInput], http: &reqwest::Client, base: &str, token: &str) -> anyhow::Result<Self> {
        let mut rng = SplitMix64(42);
        let pick = |rng: &mut SplitMix64| &samples[rng.below(samples.len() as u64) as usize];
        let last = |c: &CustomerInput| fold(c.last_name.as_deref().unwrap_or("x"));
        let enc = |q: &str| q.replace(' ', "%20").replace('+', "%2B");
        let mut kinds: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        for _ in 0..50 {
            let c = pick(&mut rng);
            let l = last(c);
            kinds.entry("1 char").or_default().push(format!("q={}", &l[..1]));
            let three: String = l.chars().take(3).collect();
            kinds.entry("3 chars").or_default().push(format!("q={three}"));
            let c2 = pick(&mut rng);
            let full = format!("{} {}", fold(c2.first_name.as_deref().unwrap_or("")), last(c2));
            kinds.entry("full name").or_default().push(format!("q={}", enc(&full)));
            let with_email = (0..20).map(|_| pick(&mut rng)).find(|c| c.email.is_some()).unwrap_or(c);
            let local: String = with_email.email.as_deref().unwrap_or("mario").chars().take(8).collect();
            kinds.entry("email fragment").or_default().push(format!("q={}", enc(&local)));
            let with_phone = (0..20).map(|_| pick(&mut rng)).find(|c| c.phone.is_some()).unwrap_or(c);
            let digits: String =
                with_phone.phone.as_deref().unwrap_or("3331234567").chars().filter(char::is_ascii_digit).collect();
            let start = digits.len().saturating_sub(8);
            kinds
                .entry("phone fragment")
                .or_default()
                .push(format!("q={}", &digits[start..digits.len().min(start + 7)]));
            let long = (0..50)
                .map(|_| last(pick(&mut rng)))
                .find(|l| l.len() >= 6 && l.is_ascii())
                .unwrap_or_else(|| "rossini".into());
            let mut typo: Vec<char> = long.chars().collect();
            typo.swap(2, 3);
            kinds.entry("typo").or_default().push(format!("q={}", typo.iter().collect::<String>()));
            kinds.entry("filtered").or_default().push(format!("q={three}&kind=client&blacklisted=false"));
        }
        // Paginated: the second page of a short query (its first page fetched here, unmeasured).
        for three in kinds["3 chars"].clone() {
            let page: serde_json::Value = http
                .get(format!("{base}/api/v1/customers?{three}&limit=20"))
                .bearer_auth(token)
                .send()
                .await?
                .json()
                .await?;
            if let Some(cursor) = page["next_cursor"].as_str() {
                kinds.entry("paginated").or_default().push(format!("{three}&limit=20&cursor={cursor}"));
            }
        }
        Ok(Self { kinds })
    }
}

type Measured = BTreeMap<&'static str, Percentiles>;

/// One concurrency level's figures.
struct Level {
    concurrency: usize,
    per_kind: Measured,
    overall: Percentiles,
    queries_per_second: f64,
    /// Server memory after the level: resident and peak, MiB.
    memory: (f64, f64),
}

/// `requests` of each kind, interleaved, over `concurrency` connections. Returns the percentiles
/// per kind and overall, and the throughput.
async fn measure(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    mix: &QueryMix,
    concurrency: usize,
    requests: usize,
) -> anyhow::Result<(Measured, Percentiles, f64)> {
    let mut plan: Vec<(&'static str, String)> = Vec::new();
    for i in 0..requests {
        for (kind, queries) in &mix.kinds {
            plan.push((kind, format!("{base}/api/v1/customers?{}", queries[i % queries.len()])));
        }
    }
    let plan = Arc::new(plan);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (plan, next, http, token) = (plan.clone(), next.clone(), http.clone(), token.to_owned());
        workers.push(tokio::spawn(async move {
            let mut timings = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some((kind, url)) = plan.get(index) else { break };
                let start = Instant::now();
                let response = http.get(url).bearer_auth(&token).send().await?;
                let status = response.status();
                let _ = response.bytes().await?;
                if !status.is_success() {
                    anyhow::bail!("{url} answered {status}");
                }
                timings.push((*kind, start.elapsed()));
            }
            anyhow::Ok(timings)
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    let mut per_kind: Measured = BTreeMap::new();
    for kind in KINDS {
        let samples: Vec<Duration> = all.iter().filter(|(k, _)| *k == kind).map(|(_, d)| *d).collect();
        per_kind.insert(kind, Percentiles::of(&samples));
    }
    let overall = Percentiles::of(&all.iter().map(|(_, d)| *d).collect::<Vec<_>>());
    Ok((per_kind, overall, all.len() as f64 / elapsed.as_secs_f64()))
}

/// The same queries as a `LIKE '%q%'` scan, in process (no HTTP: the baseline gets the benefit).
async fn measure_baseline(
    store: &SqlStore,
    tenant: TenantId,
    mix: &QueryMix,
    samples: usize,
) -> anyhow::Result<(Measured, Percentiles)> {
    let mut per_kind = BTreeMap::new();
    let mut all = Vec::new();
    for kind in KINDS {
        let mut timings = Vec::new();
        for query in mix.kinds.get(kind).into_iter().flatten().take(samples) {
            let q =
                query.split('&').next().unwrap_or("").trim_start_matches("q=").replace("%20", " ").replace("%2B", "+");
            let start = Instant::now();
            store.baseline_like_search(tenant, &q, 20).await.map_err(core_error)?;
            timings.push(start.elapsed());
        }
        all.extend(timings.iter().copied());
        per_kind.insert(kind, Percentiles::of(&timings));
    }
    Ok((per_kind, Percentiles::of(&all)))
}

fn render(options: &Options, backend: &str, results: &[Level], baseline: &(Measured, Percentiles)) -> String {
    let date = clientele_core::time::Timestamp::now().to_string();
    let mut out = format!(
        "## Search on {backend}: {} customers in the largest tenant\n\n\
         Run {} on {}.\n\
         `clientele bench search --customers {} --requests {}`: the same requests over HTTP against a \
         `clientele serve` process, {} per kind and concurrency level; the baseline runs each kind's first \
         {} queries as a `LIKE '%q%'` scan in process (no HTTP). Latencies in milliseconds.\n\n",
        options.customers,
        &date[..10],
        machine(),
        options.customers,
        options.requests,
        options.requests,
        options.baseline_samples,
    );
    out.push_str(
        "| query | c=1 p50 | c=1 p95 | c=1 p99 | c=8 p50 | c=8 p95 | c=8 p99 | LIKE p95 | LIKE p95 ÷ c=1 p95 |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let (c1, c8) = (&results[0], &results[1]);
    // One row: its label, then latencies at c=1 and c=8, the baseline, and how far below it.
    let row = |label: &str, a: Percentiles, b: Percentiles, l: Percentiles, bold: &str| {
        let ratio = l.p95.as_secs_f64() / a.p95.as_secs_f64().max(1e-9);
        format!(
            "| {label} | {} | {bold}{}{bold} | {} | {} | {bold}{}{bold} | {} | {} | {bold}{}{bold} |\n",
            ms(a.p50),
            ms(a.p95),
            ms(a.p99),
            ms(b.p50),
            ms(b.p95),
            ms(b.p99),
            ms(l.p95),
            times(ratio)
        )
    };
    for kind in KINDS {
        out.push_str(&row(kind, c1.per_kind[kind], c8.per_kind[kind], baseline.0[kind], ""));
    }
    out.push_str(&row("**all**", c1.overall, c8.overall, baseline.1, "**"));
    out.push('\n');
    let (a, b) = (c1.overall, c8.overall);
    let ratio = baseline.1.p95.as_secs_f64() / a.p95.as_secs_f64().max(1e-9);
    for level in results {
        let (rss, peak) = level.memory;
        out.push_str(&format!(
            "- Concurrency {}: {:.0} queries/s; server memory {rss:.0} MiB resident ({peak:.0} MiB peak).\n",
            level.concurrency, level.queries_per_second
        ));
    }
    let met = |ok: bool| if ok { "met" } else { "**not met**" };
    out.push_str(&format!(
        "- Targets: p95 ≤ 10 ms at concurrency 1: {}; ≥ 20× below the LIKE baseline's p95: {}; p95 ≤ 50 ms at \
         concurrency 8: {}. Freshness (found by the very next search) is proven by the test suite.\n",
        met(a.p95 <= Duration::from_millis(10)),
        met(ratio >= 20.0),
        met(b.p95 <= Duration::from_millis(50)),
    ));
    out
}

/// How many times below the baseline: one decimal under 10 (a query the baseline answers faster
/// shows as `0.2×`, not `0×`), whole numbers above.
fn times(ratio: f64) -> String {
    if ratio < 10.0 { format!("{ratio:.1}×") } else { format!("{ratio:.0}×") }
}
