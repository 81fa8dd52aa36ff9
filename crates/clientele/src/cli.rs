//! The command line. Commands that create something print only the new id (or token) on stdout,
//! so scripts can capture it; everything else (logs, errors) goes to stderr.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::{Args, Parser, Subcommand};
use clientele_core::accounts::services::{NewUser, TokenSubject};
use clientele_core::customers::list::CustomerFilters;
use clientele_core::customers::record::CustomerKind;
use clientele_core::documents::vault::{MasterKey, Vault};
use clientele_core::exports::csv::ExportRequest;
use clientele_core::ids::{CustomerId, TenantId};
use clientele_core::imports::job::ImportMode;
use clientele_core::time::Timestamp;
use clientele_core::{App, AppConfig};
use clientele_server::AppState;
use clientele_store::{SqlStore, StoreOptions};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;

use crate::config::{Config, DEFAULT_TOML, DatabaseUrl, Overrides};
use crate::demo;

/// Prints a line on stdout, ignoring a closed stdout: a server must not die because nobody reads
/// what it says (`println!` panics on a broken pipe).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Clientele: customer management for vehicle-rental companies.
#[derive(Debug, Parser)]
#[command(version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file (default: ./clientele.toml if present; or CLIENTELE_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://path/to/file.db or postgres://user@host/db [env: CLIENTELE_DATABASE_URL].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080; env: CLIENTELE_LISTEN].
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Create (once) a demo tenant with users and a few thousand customers, and print how to log in.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Issue bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The global blacklist.
    #[command(subcommand)]
    Blacklist(BlacklistCommand),
    /// Import customers from a CSV file; failed rows go to FILE.errors.csv.
    Import(ImportArgs),
    /// Export a tenant's customers as CSV on standard output (see --columns and the filters).
    Export(ExportArgs),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Document storage.
    #[command(subcommand)]
    Documents(DocumentsCommand),
    /// Benchmarks: print a table and write it to BENCHMARKS.md.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `bench ...`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Search latency over HTTP, beside a LIKE-scan baseline. Loads a deterministic data set into
    /// the database once (default sqlite://clientele-bench.db; pass --database-url for PostgreSQL).
    Search {
        /// Customers in the largest tenant (the others get a twentieth and 300).
        #[arg(long, default_value_t = 1_000_000)]
        customers: usize,
        /// Measured requests per query kind and concurrency level.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// LIKE-baseline samples per query kind (each scans the whole tenant).
        #[arg(long, default_value_t = 5)]
        baseline_samples: usize,
        /// The report file.
        #[arg(long, default_value = "BENCHMARKS.md")]
        output: PathBuf,
    },
    /// Import speed (CSV to validated, committed customers) beside the database's own bulk loader,
    /// and export speed. Default database sqlite://clientele-bench.db; the file goes to
    /// ./bench-import.csv.
    Import {
        /// Data rows in the generated file.
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        /// The report file.
        #[arg(long, default_value = "BENCHMARKS.md")]
        output: PathBuf,
    },
}

/// `import` arguments.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file.
    pub file: PathBuf,
    /// The tenant to import into.
    #[arg(long)]
    pub tenant: TenantId,
    /// create (default): new customers only; upsert: update those matching by external_ref or email.
    #[arg(long, default_value = "create", value_parser = import_mode)]
    pub mode: ImportMode,
    /// Report what would happen; write no customer.
    #[arg(long)]
    pub dry_run: bool,
    /// Explicit column mapping as JSON, e.g. '{"Cliente": "external_ref"}'.
    #[arg(long, value_parser = json_object)]
    pub mapping: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `export` arguments: the columns, the format, and the list's filters.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The tenant whose customers to export.
    #[arg(long)]
    pub tenant: TenantId,
    /// Comma-separated columns (default: all), e.g. first_name,last_name,email,address.city.
    #[arg(long, value_parser = columns)]
    pub columns: Option<Columns>,
    /// Excel-friendly: a BOM, `;` between cells, CRLF line ends.
    #[arg(long)]
    pub excel: bool,
    /// Only this kind: client, partner or staff.
    #[arg(long, value_parser = customer_kind)]
    pub kind: Option<CustomerKind>,
    /// Only VIPs (true) or only the others (false).
    #[arg(long)]
    pub vip: Option<bool>,
    /// Only blacklisted customers (true) or only the others (false).
    #[arg(long)]
    pub blacklisted: Option<bool>,
    /// Created on or after this date (YYYY-MM-DD) or instant.
    #[arg(long, value_parser = lower_bound)]
    pub created_from: Option<Timestamp>,
    /// Created on or before this date (YYYY-MM-DD) or before this instant.
    #[arg(long, value_parser = upper_bound)]
    pub created_to: Option<Timestamp>,
    /// complete or incomplete (required documents).
    #[arg(long, value_parser = documents_wanted)]
    pub documents: Option<bool>,
    /// Include soft-deleted customers.
    #[arg(long)]
    pub include_deleted: bool,
}

/// `audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every tenant's audit chain; names the first altered or missing entry and exits 1.
    Verify,
}

/// `documents ...`
#[derive(Debug, Subcommand)]
pub enum DocumentsCommand {
    /// Re-wrap every document's file key with documents.master_key. Rotate by making the new key
    /// master_key and moving the old one to previous_master_keys, running this, then removing
    /// the old key. Servers may keep running: they open files wrapped by either key.
    RotateKey,
}

/// `blacklist ...`
#[derive(Debug, Subcommand)]
pub enum BlacklistCommand {
    /// Re-derive every active global entry's pseudonyms under a new key, from the flagging tenants'
    /// customer records. Stop the servers, run this, then configure the new key and restart.
    RotateKey {
        /// The new key (at least 32 bytes); `-` reads it from standard input.
        #[arg(long)]
        new_key: String,
    },
}

/// `tenant ...`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant; prints its id.
    Create {
        /// Company name.
        #[arg(long)]
        name: String,
        /// Country (ISO 3166-1 alpha-2).
        #[arg(long, default_value = "IT")]
        country: String,
        /// Region for phone numbers without a country prefix [default: the country].
        #[arg(long)]
        phone_region: Option<String>,
    },
}

/// `user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a tenant user (or, with --platform-admin, a platform administrator); prints its id.
    Create(CreateUser),
    /// Disable a tenant user: logins are refused and its tokens stop working at once.
    Disable(UserRef),
    /// Re-enable a disabled tenant user.
    Enable(UserRef),
}

/// `user disable` and `user enable` arguments.
#[derive(Debug, Args)]
pub struct UserRef {
    /// The user's tenant.
    #[arg(long)]
    pub tenant: TenantId,
    /// The user's login email.
    #[arg(long)]
    pub email: String,
}

/// `user create` arguments.
#[derive(Debug, Args)]
pub struct CreateUser {
    /// The user's tenant.
    #[arg(long, required_unless_present = "platform_admin", conflicts_with = "platform_admin")]
    pub tenant: Option<TenantId>,
    /// Create a platform administrator (no tenant).
    #[arg(long)]
    pub platform_admin: bool,
    /// Login email.
    #[arg(long)]
    pub email: String,
    /// Role: admin, operator, driver or partner.
    #[arg(long, required_unless_present = "platform_admin", conflicts_with = "platform_admin")]
    pub role: Option<String>,
    /// Initial password (at least 8 characters); `-` reads it from standard input.
    #[arg(long)]
    pub password: String,
    /// For partner users: their partner company (a customer of kind partner).
    #[arg(long)]
    pub partner_id: Option<CustomerId>,
}

/// `token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a bearer token for a user without its password; prints the token.
    Issue {
        /// The user's tenant.
        #[arg(long, required_unless_present = "platform_admin", conflicts_with = "platform_admin")]
        tenant: Option<TenantId>,
        /// Issue for a platform administrator.
        #[arg(long)]
        platform_admin: bool,
        /// The user's login email.
        #[arg(long)]
        email: String,
        /// Lifetime, e.g. 30m, 24h, 7d.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        ttl: Duration,
    },
}

/// `config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print an annotated configuration file with every key at its default.
    Default,
}

impl Cli {
    /// The configuration for this invocation.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        let listen = match &self.command {
            Command::Serve { listen, .. } => *listen,
            _ => None,
        };
        Config::load(
            self.config.as_deref(),
            &Overrides { database_url: self.database_url.as_deref().map(DatabaseUrl::from), listen },
        )
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
        Command::Import(args) => import(&config, args).await,
        Command::Audit(AuditCommand::Verify) => {
            let app = app(&config).await?;
            match app.verify_audit().await.map_err(explain)? {
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
            eprintln!("re-wrapped {rewrapped} file keys with the current master key");
            say!("{rewrapped}");
            Ok(())
        }
        Command::Bench(BenchCommand::Search { customers, requests, baseline_samples, output }) => {
            // The bench loads a large data set: never into the service's own database by default.
            let database_url = if config.database_url == Config::default().database_url {
                "sqlite://clientele-bench.db".to_owned()
            } else {
                config.database_url.as_str().to_owned()
            };
            let options = crate::bench::search::Options { customers, requests, baseline_samples, database_url, output };
            crate::bench::search::run(&options).await
        }
        Command::Bench(BenchCommand::Import { rows, output }) => {
            let database_url = if config.database_url == Config::default().database_url {
                "sqlite://clientele-bench.db".to_owned()
            } else {
                config.database_url.as_str().to_owned()
            };
            crate::bench::import::run(&crate::bench::import::Options { rows, database_url, output }).await
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
    let app = app(config).await?;
    if config.blacklist.key.is_none() {
        tracing::warn!("no blacklist.key configured: the global blacklist is unavailable");
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
    say!("Listening on http://{address} (API docs: http://{address}/api/docs)");
    if let Some(demo) = demo {
        print_demo_login(&demo, address);
        if config.blacklist.key.is_none() {
            say!("The global blacklist needs a key: set CLIENTELE_BLACKLIST__KEY (32 bytes or more) to try it.");
        }
    }
    clientele_server::serve(listener, AppState::new(app), shutdown_signal()).await.context("serving HTTP")
}

fn print_demo_login(demo: &demo::Demo, address: std::net::SocketAddr) {
    let verb = if demo.created { "Created" } else { "Using" };
    say!("{verb} the demo tenant \"{}\": {}", demo::TENANT_NAME, demo.tenant_id);
    let users: Vec<String> = demo::USERS.iter().map(|(email, role)| format!("{email} ({role})")).collect();
    say!("Users, all with password \"{}\": {}", demo::PASSWORD, users.join(", "));
    say!("Get a token:");
    say!(
        "  curl -s http://{address}/api/v1/auth/token -H 'content-type: application/json' \\\n    -d '{{\"email\":\"{}\",\"password\":\"{}\",\"tenant\":\"{}\"}}'",
        demo::USERS[0].0,
        demo::PASSWORD,
        demo.tenant_id
    );
}

/// Opens and migrates the configured database.
async fn open_store(config: &Config) -> anyhow::Result<SqlStore> {
    let options = StoreOptions {
        max_connections: config.database.max_connections,
        acquire_timeout: config.database.acquire_timeout,
    };
    let store = SqlStore::connect(config.database_url.as_str(), &options).await.map_err(explain)?;
    store.migrate().await.map_err(explain)?;
    Ok(store)
}

async fn app(config: &Config) -> anyhow::Result<App> {
    let store = Arc::new(open_store(config).await?);
    let app_config = AppConfig {
        token_secret: config.auth.token_secret.as_ref().map(|s| s.expose().to_vec()),
        token_ttl: config.auth.token_ttl,
        blacklist_key: config.blacklist.key.as_ref().map(|s| s.expose().to_vec()),
        global_entry_months: config.blacklist.global_entry_months,
        data_protection_contact: config.blacklist.data_protection_contact.clone(),
        vault: vault(&config.documents)?,
        max_document_bytes: config.documents.max_file_mib.saturating_mul(1024 * 1024),
        max_import_bytes: config.imports.max_file_mib.saturating_mul(1024 * 1024),
        import_lease: config.imports.lease,
        import_workers: config.imports.workers,
        import_crash_test_pause: config.imports.crash_test_pause,
    };
    App::new(store, app_config).await.map_err(explain)
}

/// The document vault over the configured object store, if a master key is configured.
fn vault(config: &crate::config::DocumentsConfig) -> anyhow::Result<Option<Vault>> {
    use base64::Engine;
    let Some(master) = &config.master_key else { return Ok(None) };
    let key = |secret: &crate::config::Secret, name: &str| -> anyhow::Result<MasterKey> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(secret.expose().trim_ascii())
            .map_err(|_| anyhow!("{name} must be base64 (head -c 32 /dev/urandom | base64)"))?;
        MasterKey::new(&bytes).map_err(|_| anyhow!("{name} must be 32 bytes, base64-encoded"))
    };
    let current = key(master, "documents.master_key")?;
    let previous = config
        .previous_master_keys
        .iter()
        .map(|k| key(k, "documents.previous_master_keys"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let objects: Arc<dyn ObjectStore> = match config.store.strip_prefix("s3://") {
        Some(rest) => {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let s3 = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .with_context(|| format!("documents.store {}", config.store))?;
            if prefix.trim_matches('/').is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, prefix.trim_matches('/')))
            }
        }
        None => {
            let dir = PathBuf::from(&config.store);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating the documents directory {}", dir.display()))?;
            Arc::new(
                LocalFileSystem::new_with_prefix(&dir).with_context(|| format!("documents.store {}", dir.display()))?,
            )
        }
    };
    Ok(Some(Vault::new(objects, current, previous)))
}

/// `import`: runs the job here (or watches another process run it), shows progress on a
/// terminal, prints a summary line, and writes the refused rows next to the file.
async fn import(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    use clientele_core::imports::job::{ImportStatus, NewImport};
    use std::io::{IsTerminal, Write};
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
    let terminal = std::io::stderr().is_terminal();
    let worker = uuid::Uuid::new_v4();
    let job = loop {
        // Run ours here, unless a server took it: then watch it.
        let ran = clientele_runtime::imports::run_job(&app, args.tenant, job.id, worker).await.map_err(explain)?
            != clientele_runtime::imports::Ran::Nothing;
        let current = app.import_job(&actor, job.id).await.map_err(explain)?;
        if matches!(current.status, ImportStatus::Succeeded | ImportStatus::Failed) {
            break current;
        }
        if terminal {
            eprint!("\r{} rows read, {} failed", current.rows_read, current.failed);
        }
        if !ran {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    if terminal {
        eprintln!();
    }
    if let Some(failure) = &job.failure {
        return Err(anyhow!("import failed: {failure}"));
    }
    if !job.unmapped_columns.is_empty() {
        eprintln!("columns not imported (no matching field): {}", job.unmapped_columns.join(", "));
    }
    let seconds = started.elapsed().as_secs_f64();
    let verb = if job.dry_run { "dry run: would create" } else { "created" };
    eprintln!(
        "{verb} {}, updated {}, unchanged {}, failed {} of {} rows in {seconds:.1} s ({:.0} rows/s)",
        job.created,
        job.updated,
        job.unchanged,
        job.failed,
        job.rows_read,
        job.rows_read as f64 / seconds.max(1e-9)
    );
    if job.failed > 0 {
        let errors = app.import_errors_csv(&actor, job.id).await.map_err(explain)?;
        let mut path = args.file.clone().into_os_string();
        path.push(".errors.csv");
        let path = PathBuf::from(path);
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&errors))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("failed rows, with why: {}", path.display());
    }
    say!("{}", job.id);
    Ok(())
}

/// `export`: the CSV on standard output, a summary on standard error.
async fn export(config: &Config, args: ExportArgs) -> anyhow::Result<()> {
    use std::io::Write;
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
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    while let Some(chunk) = export.next_chunk().await.map_err(explain)? {
        out.write_all(&chunk).context("writing the export")?;
    }
    out.flush().context("writing the export")?;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "exported {} customers in {seconds:.1} s ({:.0} rows/s)",
        export.rows,
        export.rows as f64 / seconds.max(1e-9)
    );
    Ok(())
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
fn explain(error: clientele_core::Error) -> anyhow::Error {
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

/// Export columns, as `--columns` names them.
#[derive(Debug, Clone)]
pub struct Columns(Vec<usize>);

fn columns(text: &str) -> Result<Columns, String> {
    clientele_core::exports::columns::parse_columns(Some(text)).map(Columns).map_err(|e| e.to_string())
}

fn import_mode(text: &str) -> Result<ImportMode, String> {
    ImportMode::parse(text).ok_or_else(|| "must be create or upsert".to_owned())
}

fn json_object(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err("must be a JSON object of header to field, e.g. '{\"Cliente\": \"external_ref\"}'".to_owned()),
    }
}

fn customer_kind(text: &str) -> Result<CustomerKind, String> {
    CustomerKind::parse(text).ok_or_else(|| "must be client, partner or staff".to_owned())
}

fn lower_bound(text: &str) -> Result<Timestamp, String> {
    clientele_core::values::parse_bound(text, false)
}

fn upper_bound(text: &str) -> Result<Timestamp, String> {
    clientele_core::values::parse_bound(text, true)
}

fn documents_wanted(text: &str) -> Result<bool, String> {
    match text {
        "complete" => Ok(true),
        "incomplete" => Ok(false),
        _ => Err("must be complete or incomplete".to_owned()),
    }
}
