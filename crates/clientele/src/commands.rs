//! The commands' bodies: what each subcommand does, on the library crates, printing only the new
//! id (or token) on stdout.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clientele_core::accounts::services::{NewUser, TokenSubject};
use clientele_core::customers::list::CustomerFilters;
use clientele_core::exports::csv::ExportRequest;
use clientele_server::AppState;

use crate::cli::{
    AuditCommand, BenchCommand, BlacklistCommand, CargosCommand, CargosTablesCommand, Cli, Command, ConfigCommand,
    DocumentsCommand, ExportArgs, ImportArgs, OrderRef, OutboxCommand, StripeCommand, TenantCommand, TokenCommand,
    UserCommand, UserRef, WebhooksCommand,
};
use crate::config::{Config, DEFAULT_TOML};
use crate::demo;
use crate::wiring::{app, configured_app, import_app, open_store};
use clientele_core::time::Timestamp;

/// Prints a line on stdout, ignoring a closed stdout: a server must not die because nobody reads
/// what it says (`println!` panics on a broken pipe).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The database a benchmark uses: the configured one, unless that is the default, which a
/// benchmark's large data set must never go into.
fn bench_database(config: &Config) -> String {
    if config.database_url == Config::default().database_url {
        "sqlite://clientele-bench.db".to_owned()
    } else {
        config.database_url.as_str().to_owned()
    }
}

/// Runs one command.
pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command {
        Command::Blacklist(BlacklistCommand::RotateKey { new_key }) => {
            let app = app(&config).await?;
            let new_key = read_password(new_key)?;
            let (rekeyed, skipped) = app.rotate_blacklist_key(new_key.as_bytes()).await.map_err(explain)?;
            eprintln!(
                "re-keyed {rekeyed} active global entries; {skipped} kept their old pseudonyms (their customer record \
                 lacks a name or birth date). Now set blacklist.key to the new key and restart."
            );
            println!("{rekeyed}");
            Ok(())
        }
        Command::Export(args) => export(&config, args).await,
        Command::Cargos(command) => cargos(&config, command).await,
        Command::Stripe(command) => stripe(&config, command).await,
        Command::Import(args) => import(&config, args).await,
        Command::Audit(AuditCommand::Heads) => {
            let app = app(&config).await?;
            let heads = app.export_audit_heads().await.map_err(explain)?;
            say!("{}", serde_json::to_string_pretty(&heads)?);
            Ok(())
        }
        Command::Audit(AuditCommand::Verify { heads }) => {
            let exported: Vec<clientele_core::audit::chain::ExportedHead> = match heads {
                Some(path) => {
                    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                    serde_json::from_str(&text)
                        .with_context(|| format!("{} is not an audit heads export", path.display()))?
                }
                None => Vec::new(),
            };
            let app = app(&config).await?;
            match app.verify_audit_against(&exported).await.map_err(explain)? {
                Ok(checked) => {
                    say!("audit log intact: {checked} entries checked");
                    Ok(())
                }
                Err(broken) => Err(anyhow!("audit chain broken: {broken}")),
            }
        }
        Command::Documents(DocumentsCommand::RotateKey) => {
            let app = app(&config).await?;
            let rewrapped = app.rotate_document_keys().await.map_err(explain)?;
            let resealed = app.reseal_webhook_secrets().await.map_err(explain)?;
            let credentials = app.reseal_cargos_credentials().await.map_err(explain)?;
            let stripe = app.reseal_stripe_secrets().await.map_err(explain)?;
            eprintln!(
                "re-wrapped {rewrapped} file keys, and re-sealed the secrets of {resealed} webhook endpoints, {credentials} \
                 tenants' Ca.R.G.O.S. credentials and {stripe} tenants' Stripe keys, with the current master key"
            );
            say!("{rewrapped}");
            Ok(())
        }
        Command::Documents(DocumentsCommand::Sweep { grace }) => {
            let app = app(&config).await?;
            if !app.stores_documents() {
                return Err(anyhow!("documents are not configured here (documents.master_key): nothing to sweep"));
            }
            let grace = grace.unwrap_or(config.documents.orphan_grace);
            let report = app.sweep_orphaned_documents(grace).await.map_err(explain)?;
            eprintln!(
                "looked at {} files of {} tenants: removed {} that no document points at, kept {} such files younger                  than {}",
                report.objects,
                report.tenants,
                report.removed,
                report.young,
                humantime::format_duration(grace)
            );
            say!("{}", report.removed);
            Ok(())
        }
        Command::Webhooks(command) => webhooks(&config, command).await,
        Command::Outbox(OutboxCommand::Status) => {
            let app = app(&config).await?;
            let status = app.outbox_status().await.map_err(explain)?;
            let oldest = status.oldest_pending_at.map_or_else(
                || "none".to_owned(),
                |at| format!("{:.0} s old", Timestamp::now().duration_since(at).as_secs_f64()),
            );
            say!("events kept: {}", status.events);
            say!("deliveries pending: {} (oldest: {oldest})", status.pending);
            say!("deliveries failed in the last day: {}", status.failed_last_day);
            Ok(())
        }
        Command::Bench(BenchCommand::Search { customers, requests, baseline_samples, output }) => {
            let database_url = bench_database(&config);
            let options = crate::bench::search::Options { customers, requests, baseline_samples, database_url, output };
            crate::bench::search::run(&options).await
        }
        Command::Bench(BenchCommand::Load { duration, concurrency, customers, output }) => {
            let database_url = bench_database(&config);
            let duration = std::time::Duration::from_secs(duration.max(1));
            let options = crate::bench::load::Options { duration, concurrency, customers, database_url, output };
            crate::bench::load::run(&options).await
        }
        Command::Bench(BenchCommand::Import { rows, output }) => {
            let database_url = bench_database(&config);
            crate::bench::import::run(&crate::bench::import::Options { rows, database_url, output }).await
        }
        Command::Bench(BenchCommand::Outbox { changes, rate, import_rows, output }) => {
            let database_url = bench_database(&config);
            let options = crate::bench::outbox::Options { changes, rate, import_rows, database_url, output };
            crate::bench::outbox::run(&options).await
        }
        Command::Config(ConfigCommand::Default) => {
            print!("{DEFAULT_TOML}");
            Ok(())
        }
        Command::Migrate => {
            let store = open_store(&config).await?;
            store.close().await;
            Ok(())
        }
        Command::Serve { demo, .. } => serve(&config, demo).await,
        Command::Tenant(TenantCommand::Create { name, country, phone_region }) => {
            let app = app(&config).await?;
            let tenant = app.create_tenant(&name, &country, phone_region.as_deref()).await.map_err(explain)?;
            println!("{}", tenant.id);
            Ok(())
        }
        Command::User(UserCommand::Create(args)) => {
            let app = app(&config).await?;
            let password = read_password(args.password)?;
            let id = match (args.platform_admin, args.tenant, args.role) {
                (true, _, _) => {
                    app.create_platform_admin(&args.email, &password).await.map_err(explain)?.id.to_string()
                }
                (false, Some(tenant_id), Some(role)) => {
                    let new = NewUser { tenant_id, email: args.email, role, password, partner_id: args.partner_id };
                    app.create_user(new).await.map_err(explain)?.id.to_string()
                }
                _ => return Err(anyhow!("--tenant and --role are required (or --platform-admin)")),
            };
            println!("{id}");
            Ok(())
        }
        Command::User(UserCommand::Disable(user)) => set_disabled(&config, user, true).await,
        Command::User(UserCommand::Enable(user)) => set_disabled(&config, user, false).await,
        Command::Token(TokenCommand::Issue { tenant, platform_admin, email, ttl }) => {
            let app = app(&config).await?;
            let subject = match (platform_admin, tenant) {
                (true, _) => TokenSubject::PlatformAdmin(email),
                (false, Some(tenant)) => TokenSubject::User(tenant, email),
                (false, None) => return Err(anyhow!("--tenant is required (or --platform-admin)")),
            };
            let token = app.issue_token(&subject, ttl).await.map_err(explain)?;
            println!("{}", token.access_token);
            Ok(())
        }
    }
}

async fn serve(config: &Config, with_demo: bool) -> anyhow::Result<()> {
    let config = &crate::keys::complete(config)?;
    let app = configured_app(config).await?;
    if config.blacklist.key.is_none() {
        tracing::warn!("no blacklist.key configured: the global blacklist is unavailable (set it in configuration)");
    }
    if config.documents.master_key.is_none() {
        tracing::warn!("no documents.master_key configured: documents are unavailable (set it in configuration)");
    }
    let demo = if with_demo {
        tracing::info!("preparing the demo tenant");
        Some(demo::ensure(&app).await.map_err(explain)?)
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let json = config.log.format == crate::config::LogFormat::Json;
    // With JSON logs, what serve says goes out as log lines too, so that every line is JSON.
    let tell = |text: String| {
        if json {
            tracing::info!("{text}");
        } else {
            say!("{text}");
        }
    };
    let metrics_listener = match config.metrics.listen {
        Some(at) => {
            let listener =
                tokio::net::TcpListener::bind(at).await.with_context(|| format!("cannot listen on {at} (metrics)"))?;
            Some(listener)
        }
        None => None,
    };
    if json {
        tracing::info!(%address, "listening");
    } else {
        say!("Listening on http://{address} (console: http://{address}/, API docs: http://{address}/api/docs)");
    }
    if let Some(listener) = &metrics_listener {
        let at = listener.local_addr()?;
        tell(format!("Serving /metrics on http://{at}/metrics"));
    }
    if let Some(demo) = demo {
        demo_login(&demo, address).into_iter().for_each(&tell);
        if config.blacklist.key.is_none() {
            tell("The global blacklist needs a key: set CLIENTELE_BLACKLIST__KEY (32 bytes or more) to try it.".into());
        }
    }
    let imports = import_app(&app, config).await?;
    let state = AppState::new(app)
        .with_import_app(imports)
        .with_http(config.http.options())
        .with_session_lifetime(config.auth.session_ttl)
        .with_metrics_options(config.metrics.options());
    if let Some(listener) = metrics_listener {
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(error) = clientele_server::serve_metrics(listener, state, std::future::pending()).await {
                tracing::error!(%error, "serving /metrics");
            }
        });
    }
    clientele_server::serve(listener, state, shutdown_signal()).await.context("serving HTTP")
}

/// How to log in to the demo, line by line.
fn demo_login(demo: &demo::Demo, address: std::net::SocketAddr) -> Vec<String> {
    let verb = if demo.created { "Created" } else { "Using" };
    let users: Vec<String> = demo::USERS.iter().map(|(email, role)| format!("{email} ({role})")).collect();
    vec![
        format!("{verb} the demo tenant \"{}\": {}", demo::TENANT_NAME, demo.tenant_id),
        format!("Users, all with password \"{}\": {}", demo::PASSWORD, users.join(", ")),
        "Get a token:".to_owned(),
        format!(
            "  curl -s http://{address}/api/v1/auth/token -H 'content-type: application/json' \\\n    -d '{{\"email\":\"{}\",\"password\":\"{}\",\"tenant\":\"{}\"}}'",
            demo::USERS[0].0,
            demo::PASSWORD,
            demo.tenant_id
        ),
    ]
}

/// `import`: runs the job here (or watches another process run it), shows a progress bar on a
/// terminal, prints a summary (counts and where each column went), and writes the refused rows
/// next to the file.
async fn import(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    use clientele_core::imports::job::{ImportStatus, NewImport};
    use std::io::IsTerminal;
    let app = app(config).await?;
    app.tenant(args.tenant).await.map_err(explain)?;
    let size = tokio::fs::metadata(&args.file).await.with_context(|| format!("opening {}", args.file.display()))?.len();
    if size > app.max_import_bytes() {
        return Err(anyhow!("{} is larger than imports.max_file_mib", args.file.display()));
    }
    let new = NewImport {
        mode: args.mode,
        dry_run: args.dry_run,
        mapping: args.mapping.unwrap_or_default(),
        file_name: args.file.file_name().map(|n| n.to_string_lossy().into_owned()),
    };
    let started = std::time::Instant::now();
    let actor = clientele_core::accounts::auth::Actor::command_line(args.tenant);
    let mut job = app.begin_import(&actor, new).await.map_err(explain)?;
    clientele_runtime::imports::upload_file(&app, &mut job, &args.file).await.map_err(explain)?;
    let bar = std::io::stderr().is_terminal().then(|| progress::file_bar(size));
    let worker = uuid::Uuid::new_v4();
    let read = clientele_runtime::imports::ReadProgress::default();
    let job = loop {
        // Run ours here, unless a server took it: then watch it.
        let run = clientele_runtime::imports::run_job(&app, args.tenant, job.id, worker, &read);
        let ran = match &bar {
            Some(bar) => progress::while_running(run, || progress::show_import(&app, &actor, job.id, &read, bar)).await,
            None => run.await,
        }
        .map_err(explain)?
            != clientele_runtime::imports::Ran::Nothing;
        let current = app.import_job(&actor, job.id).await.map_err(explain)?;
        if matches!(current.status, ImportStatus::Succeeded | ImportStatus::Failed) {
            break current;
        }
        if let Some(bar) = &bar {
            bar.set_message(format!(
                "{} rows read, {} failed (another process runs this import)",
                current.rows_read, current.failed
            ));
        }
        if !ran {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(failure) = &job.failure {
        return Err(anyhow!("import failed: {failure}"));
    }
    let seconds = started.elapsed().as_secs_f64();
    let verb = if job.dry_run { "dry run of" } else { "imported" };
    eprintln!(
        "{verb} {} rows in {seconds:.1} s ({:.0} rows/s): {} created, {} updated, {} unchanged, {} failed",
        job.rows_read,
        job.rows_read as f64 / seconds.max(1e-9),
        job.created,
        job.updated,
        job.unchanged,
        job.failed,
    );
    eprintln!("columns:");
    let width = job.columns.iter().map(|c| c.column.chars().count()).max().unwrap_or(0);
    for column in &job.columns {
        eprintln!("  {:<width$}  -> {}", column.column, column.target);
    }
    if job.failed > 0 {
        let mut path = args.file.clone().into_os_string();
        path.push(".errors.csv");
        let path = PathBuf::from(path);
        write_errors_file(&app, &actor, job.id, &path).await?;
        eprintln!("refused rows, a line each with why (fix them and import this file again): {}", path.display());
    }
    say!("{}", job.id);
    Ok(())
}

/// Streams a job's `errors.csv` to `path`.
async fn write_errors_file(
    app: &clientele_core::App,
    actor: &clientele_core::accounts::auth::Actor,
    job: clientele_core::ids::ImportJobId,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut errors = app.import_errors_csv(actor, job).await.map_err(explain)?;
    let context = || format!("writing {}", path.display());
    let mut out = tokio::io::BufWriter::new(tokio::fs::File::create(path).await.with_context(context)?);
    while let Some(chunk) = errors.next_chunk().await.map_err(explain)? {
        out.write_all(&chunk).await.with_context(context)?;
    }
    out.flush().await.with_context(context)
}

/// `export`: the CSV on standard output, progress and a summary on standard error.
async fn export(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    let app = app(config).await?;
    app.tenant(args.tenant).await.map_err(explain)?;
    let request = ExportRequest {
        columns: args.columns.map_or_else(|| ExportRequest::everything().columns, |c| c.0),
        excel: args.excel,
        filters: CustomerFilters {
            kind: args.kind,
            vip: args.vip,
            blacklisted: args.blacklisted,
            created_from: args.created_from,
            created_before: args.created_to,
            documents: args.documents,
            include_deleted: args.include_deleted,
            ..CustomerFilters::default()
        },
    };
    let started = std::time::Instant::now();
    let actor = clientele_core::accounts::auth::Actor::command_line(args.tenant);
    let mut export = app.export_customers(&actor, &request).await.map_err(explain)?;
    let bar = std::io::stderr().is_terminal().then(progress::rows_bar);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    while let Some(chunk) = export.next_chunk().await.map_err(explain)? {
        out.write_all(&chunk).context("writing the export")?;
        if let Some(bar) = &bar {
            bar.set_position(export.rows);
        }
    }
    out.flush().context("writing the export")?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "exported {} customers in {seconds:.1} s ({:.0} rows/s)",
        export.rows,
        export.rows as f64 / seconds.max(1e-9)
    );
    Ok(())
}

/// Progress bars on the terminal (standard error), for commands that take a while.
mod progress {
    use std::future::Future;
    use std::time::Duration;

    use clientele_core::App;
    use clientele_core::accounts::auth::Actor;
    use clientele_core::ids::ImportJobId;
    use clientele_runtime::imports::ReadProgress;
    use indicatif::{ProgressBar, ProgressStyle};

    /// How often a bar is redrawn from the job's progress.
    const TICK: Duration = Duration::from_millis(250);

    /// A bar over a file's bytes, with a message for rows.
    pub(super) fn file_bar(bytes: u64) -> ProgressBar {
        let bar = ProgressBar::new(bytes);
        let style = ProgressStyle::with_template("{bar:30.cyan/blue} {percent:>3}%  {msg}  [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style.progress_chars("=> "));
        bar
    }

    /// A counter of rows written, with their rate.
    pub(super) fn rows_bar() -> ProgressBar {
        let bar = ProgressBar::new_spinner();
        let style = ProgressStyle::with_template("{spinner} {human_pos} rows  {per_sec}  [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.enable_steady_tick(TICK);
        bar
    }

    /// Runs `work`, calling `show` every tick until it is done.
    pub(super) async fn while_running<T, S: Future<Output = ()>>(
        work: impl Future<Output = T>,
        mut show: impl FnMut() -> S,
    ) -> T {
        tokio::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return done,
                () = tokio::time::sleep(TICK) => show().await,
            }
        }
    }

    /// Draws an import's progress: the bytes read of its file, rows and their rate.
    pub(super) async fn show_import(app: &App, actor: &Actor, id: ImportJobId, read: &ReadProgress, bar: &ProgressBar) {
        bar.set_position(read.bytes().min(bar.length().unwrap_or(u64::MAX)));
        if let Ok(job) = app.import_job(actor, id).await {
            let seconds = bar.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!(
                "{} rows ({:.0}/s): {} created, {} updated, {} failed",
                job.rows_read,
                job.rows_read as f64 / seconds,
                job.created,
                job.updated,
                job.failed
            ));
        }
    }
}

/// `webhooks list|deliveries|replay`, as the tenant's admin.
async fn webhooks(config: &Config, command: WebhooksCommand) -> anyhow::Result<()> {
    use clientele_core::accounts::auth::Actor;
    use clientele_core::paging::Paging;
    let app = app(config).await?;
    match command {
        WebhooksCommand::List { tenant } => {
            app.tenant(tenant).await.map_err(explain)?;
            let actor = Actor::command_line(tenant);
            let mut paging = Paging { after: None, limit: 200 };
            loop {
                let page = app.webhooks(&actor, paging).await.map_err(explain)?;
                for w in &page.items {
                    let state = if w.enabled {
                        "enabled".to_owned()
                    } else {
                        format!("disabled ({})", w.disabled_reason.as_deref().unwrap_or("by an admin"))
                    };
                    say!("{}\t{state}\t{}\t{}", w.id, w.url, w.events.join(","));
                }
                match page.items.last() {
                    Some(last) if page.next_cursor.is_some() => paging.after = Some(last.id.as_uuid()),
                    _ => return Ok(()),
                }
            }
        }
        WebhooksCommand::Deliveries { tenant, webhook, status, limit } => {
            app.tenant(tenant).await.map_err(explain)?;
            let actor = Actor::command_line(tenant);
            let paging = Paging { after: None, limit: limit.clamp(1, 200) };
            let page = app.webhook_deliveries(&actor, webhook, status, paging).await.map_err(explain)?;
            for d in &page.items {
                let last = d.history.last().map_or_else(String::new, |a| match (a.status_code, &a.error) {
                    (Some(code), _) => format!("HTTP {code}"),
                    (None, Some(error)) => error.clone(),
                    (None, None) => String::new(),
                });
                say!("{}\t{}\t{} attempts\t{}\t{last}", d.id, d.status.as_str(), d.attempts, d.event_type);
            }
            Ok(())
        }
        WebhooksCommand::Replay { tenant, webhook, delivery } => {
            app.tenant(tenant).await.map_err(explain)?;
            app.replay_delivery(&Actor::command_line(tenant), webhook, delivery).await.map_err(explain)?;
            eprintln!("delivery {delivery} queued again");
            Ok(())
        }
    }
}

/// `cargos ...`: an order's record, its check and send, and the tables, as the command line
/// (a tenant admin) of the order's tenant.
async fn cargos(config: &Config, command: CargosCommand) -> anyhow::Result<()> {
    use clientele_core::accounts::auth::Actor;
    use clientele_core::cargos::submissions::{Submission, SubmissionStatus};
    let app = app(config).await?;
    let refused = |submission: &Submission| {
        let reasons: Vec<String> = submission
            .errors
            .iter()
            .map(|e| format!("  {}: {}", e.field.as_deref().unwrap_or("record"), e.message))
            .collect();
        anyhow!("the police refused the record:\n{}", reasons.join("\n"))
    };
    match command {
        CargosCommand::Format(OrderRef { tenant, order }) => {
            let report = app.order_report(&Actor::command_line(tenant), order).await.map_err(explain)?;
            match report.record {
                Some(record) => {
                    say!("{}", record.text);
                    Ok(())
                }
                None => {
                    let lines: Vec<String> = report
                        .problems
                        .iter()
                        .map(|p| {
                            format!(
                                "  {} ({}): {}",
                                p.field.as_deref().unwrap_or("record"),
                                p.column.as_deref().unwrap_or("-"),
                                p.message
                            )
                        })
                        .collect();
                    Err(anyhow!("the record cannot be made:\n{}", lines.join("\n")))
                }
            }
        }
        CargosCommand::Check(OrderRef { tenant, order }) => {
            let submission = app.check_order(&Actor::command_line(tenant), order).await.map_err(explain_cargos)?;
            if submission.status != SubmissionStatus::Checked {
                return Err(refused(&submission));
            }
            eprintln!("the police found nothing wrong with the record of order {order}");
            say!("checked");
            Ok(())
        }
        CargosCommand::Send(OrderRef { tenant, order }) => {
            let submission = app.send_order(&Actor::command_line(tenant), order).await.map_err(explain_cargos)?;
            match (submission.status, &submission.transaction_id) {
                (SubmissionStatus::Accepted, Some(receipt)) => {
                    eprintln!("the police accepted the contract of order {order}; the receipt:");
                    say!("{receipt}");
                    Ok(())
                }
                _ => Err(refused(&submission)),
            }
        }
        CargosCommand::Tables(CargosTablesCommand::Refresh { tenant }) => {
            let refresh = app.refresh_cargos_tables(&Actor::command_line(tenant)).await.map_err(explain)?;
            eprintln!(
                "downloaded the Ca.R.G.O.S. tables: {} places, {} payment types, {} vehicle types, {} document types; \
                 servers use them from their next start",
                refresh.places, refresh.payment_types, refresh.vehicle_types, refresh.document_types
            );
            say!("{}", refresh.fetched_at);
            Ok(())
        }
    }
}

/// `stripe ...`: a tenant's Stripe settings, as the command line (a tenant admin) of the tenant.
async fn stripe(config: &Config, command: StripeCommand) -> anyhow::Result<()> {
    use clientele_core::accounts::auth::Actor;
    use clientele_core::payments::settings::{PaymentSettingsPatch, StripeMode};
    let app = app(config).await?;
    let view = match command {
        StripeCommand::Show { tenant } => {
            app.tenant(tenant).await.map_err(explain)?;
            app.stripe_settings(&Actor::command_line(tenant)).await.map_err(explain)?
        }
        StripeCommand::Disable { tenant } => {
            app.tenant(tenant).await.map_err(explain)?;
            let patch = PaymentSettingsPatch { mode: Some(None), ..PaymentSettingsPatch::default() };
            app.update_stripe_settings(&Actor::command_line(tenant), &patch).await.map_err(explain)?
        }
        StripeCommand::Configure(args) => {
            app.tenant(args.tenant).await.map_err(explain)?;
            if args.secret_key.as_deref() == Some("-") && args.webhook_secret.as_deref() == Some("-") {
                return Err(anyhow!("only one of --secret-key and --webhook-secret can be read from standard input"));
            }
            let secret = |value: Option<String>| value.map(read_password).transpose();
            let patch = PaymentSettingsPatch {
                mode: args.mode.map(|m| Some(if m == "connect" { StripeMode::Connect } else { StripeMode::OwnKey })),
                connect_account_id: args.account.map(Some),
                secret_key: secret(args.secret_key)?.map(Some),
                publishable_key: args.publishable_key.map(Some),
                webhook_secret: secret(args.webhook_secret)?.map(Some),
            };
            app.update_stripe_settings(&Actor::command_line(args.tenant), &patch).await.map_err(explain)?
        }
    };
    say!("{}", serde_json::to_string_pretty(&view)?);
    Ok(())
}

/// A Ca.R.G.O.S. error, with the record's problems when that is what it is.
fn explain_cargos(error: clientele_core::Error) -> anyhow::Error {
    if let clientele_core::Error::Conflict { details: Some(details), message, .. } = &error
        && let Some(problems) = details.get("problems").and_then(|p| p.as_array())
    {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| format!("  {}: {}", p["field"].as_str().unwrap_or("record"), p["message"].as_str().unwrap_or("")))
            .collect();
        return anyhow!("{message}\n{}", lines.join("\n"));
    }
    explain(error)
}

/// `user disable` / `user enable`: prints nothing on stdout, the change on stderr.
async fn set_disabled(config: &Config, user: UserRef, disabled: bool) -> anyhow::Result<()> {
    let app = app(config).await?;
    let email = clientele_core::values::Email::parse(&user.email)
        .map_err(|_| anyhow!("invalid input:\n  email: must be an email address"))?;
    let found = app.store().find_user_by_email(user.tenant, &email).await.map_err(explain)?;
    let found = found.ok_or_else(|| anyhow!("no user {email} in tenant {}", user.tenant))?;
    app.set_user_disabled(user.tenant, found.id, disabled).await.map_err(explain)?;
    eprintln!("{email} is {}", if disabled { "disabled" } else { "enabled" });
    Ok(())
}

fn read_password(argument: String) -> anyhow::Result<String> {
    if argument != "-" {
        return Ok(argument);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// A domain error as a person at a terminal wants to read it.
pub(crate) fn explain(error: clientele_core::Error) -> anyhow::Error {
    match error {
        clientele_core::Error::Invalid(fields) | clientele_core::Error::InvalidQuery(fields) => {
            let lines: Vec<String> = fields.iter().map(|f| format!("  {}: {}", f.field, f.message)).collect();
            anyhow!("invalid input:\n{}", lines.join("\n"))
        }
        other => anyhow!(other.to_string()),
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
