//! The command line's shape: subcommands and flags (clap), with the parsers that give each flag
//! its type. What the commands do is in `commands`; how the pieces are built, in `wiring`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use clientele_core::customers::record::CustomerKind;
use clientele_core::ids::{CustomerId, EventId, OrderId, TenantId, WebhookId};
use clientele_core::imports::job::ImportMode;
use clientele_core::time::Timestamp;
use clientele_core::webhooks::record::DeliveryStatus;

use crate::config::{Config, DatabaseUrl, LogFormat, LogOverrides, Overrides};

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
        /// Log format: text (for people) or json (one object per line, for log collectors)
        /// [default: text; env: CLIENTELE_LOG__FORMAT; config: log.format].
        #[arg(long, value_name = "FORMAT", value_parser = log_format)]
        log_format: Option<LogFormat>,
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
    /// A tenant's webhook endpoints and their deliveries.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// The outbox of events waiting to be delivered.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Ca.R.G.O.S., the police contract report: an order's record, check and send; the tables.
    #[command(subcommand)]
    Cargos(CargosCommand),
    /// A tenant's Stripe settings (payment methods).
    #[command(subcommand)]
    Stripe(StripeCommand),
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
    /// A mixed read/write load (searches, profile reads, creates, updates, orders) over HTTP on a
    /// server process for a fixed time, beside `GET /healthz` at the same concurrency; fails when
    /// any request met an error. Default database sqlite://clientele-bench.db.
    Load {
        /// How long the load runs, in seconds.
        #[arg(long, default_value_t = 600)]
        duration: u64,
        /// Clients sending at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Customers the new tenant starts with.
        #[arg(long, default_value_t = 100_000)]
        customers: usize,
        /// The report file.
        #[arg(long, default_value = "BENCHMARKS.md")]
        output: PathBuf,
    },
    /// Webhook delivery: the lag from a change's commit to its message's arrival at a receiver on
    /// loopback at a steady rate of changes, the delivery rate beside the HTTP client's own, and
    /// what the outbox costs an import. Default database sqlite://clientele-bench.db.
    Outbox {
        /// Changes made (customers created), each one message.
        #[arg(long, default_value_t = 100_000)]
        changes: usize,
        /// Changes per second.
        #[arg(long, default_value_t = 500)]
        rate: usize,
        /// Rows of each of the two imports (without and with a subscribed endpoint).
        #[arg(long, default_value_t = 50_000)]
        import_rows: usize,
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
    Verify {
        /// Also check each chain against the heads `clientele audit heads` exported earlier
        /// into this file: a chain cut short or rewritten since is named.
        #[arg(long)]
        heads: Option<PathBuf>,
    },
    /// Print each tenant's chain head (tenant, last sequence number, last hash) as JSON, to keep
    /// outside the database for `audit verify --heads`.
    Heads,
}

/// `documents ...`
#[derive(Debug, Subcommand)]
pub enum DocumentsCommand {
    /// Re-wrap every document's file key with documents.master_key. Rotate by making the new key
    /// master_key and moving the old one to previous_master_keys, running this, then removing
    /// the old key. Servers may keep running: they open files wrapped by either key.
    RotateKey,
    /// Remove the files of the document store that no document points at (left by a crash
    /// between an upload's file and its row) and that are older than the grace period; prints
    /// the number removed. `serve` also does this every documents.sweep_every.
    Sweep {
        /// Keep files younger than this (default: documents.orphan_grace), so uploads under way
        /// are safe.
        #[arg(long, value_parser = humantime::parse_duration)]
        grace: Option<Duration>,
    },
}

/// `webhooks ...`
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List a tenant's endpoints, a line each: id, enabled, URL, events (and why one is disabled).
    List {
        /// The tenant.
        #[arg(long)]
        tenant: TenantId,
    },
    /// An endpoint's deliveries, newest first, a line each: id, status, attempts, event type,
    /// last status code or error.
    Deliveries {
        /// The tenant.
        #[arg(long)]
        tenant: TenantId,
        /// The endpoint.
        #[arg(long)]
        webhook: WebhookId,
        /// Only deliveries with this status: pending, succeeded or failed.
        #[arg(long, value_parser = parse_delivery_status)]
        status: Option<DeliveryStatus>,
        /// At most this many (1 to 200).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Send a delivery again, now, with a fresh round of retries.
    Replay {
        /// The tenant.
        #[arg(long)]
        tenant: TenantId,
        /// The endpoint.
        #[arg(long)]
        webhook: WebhookId,
        /// The delivery (its event's id).
        #[arg(long)]
        delivery: EventId,
    },
}

/// `outbox ...`
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// How the outbox stands, across tenants: events kept, deliveries pending, the oldest pending
    /// one's age, failures in the last day.
    Status,
}

fn parse_delivery_status(text: &str) -> Result<DeliveryStatus, String> {
    DeliveryStatus::parse(text).ok_or_else(|| "must be pending, succeeded or failed".to_owned())
}

/// `cargos ...`
#[derive(Debug, Subcommand)]
pub enum CargosCommand {
    /// Print an order's 1505-character record (or, exit status 1, every problem that stops it).
    Format(OrderRef),
    /// Check an order's record with the police; prints `checked` (refusals on stderr, exit status 1).
    Check(OrderRef),
    /// Send an order's contract to the police (only after a check of the same record); prints
    /// the receipt (transactionid).
    Send(OrderRef),
    /// The coding tables.
    #[command(subcommand)]
    Tables(CargosTablesCommand),
}

/// `stripe ...`
#[derive(Debug, Subcommand)]
pub enum StripeCommand {
    /// Print the tenant's Stripe settings as JSON (never a key: only whether each is set).
    Show {
        /// The tenant.
        #[arg(long)]
        tenant: TenantId,
    },
    /// Change the tenant's Stripe settings (only what is given changes); prints them as JSON.
    /// A value `-` is read from standard input (for one of them).
    Configure(StripeConfigureArgs),
    /// Turn Stripe off for the tenant: removes its mode, account, keys and webhook secret.
    Disable {
        /// The tenant.
        #[arg(long)]
        tenant: TenantId,
    },
}

/// `stripe configure` arguments.
#[derive(Debug, Args)]
pub struct StripeConfigureArgs {
    /// The tenant.
    #[arg(long)]
    pub tenant: TenantId,
    /// `connect` (a connected account of the platform) or `own-key`.
    #[arg(long, value_parser = ["connect", "own-key"])]
    pub mode: Option<String>,
    /// The connected account, acct_… (connect).
    #[arg(long)]
    pub account: Option<String>,
    /// The tenant's secret key, sk_… or rk_… (own-key); `-` reads it from standard input.
    #[arg(long)]
    pub secret_key: Option<String>,
    /// The tenant's publishable key, pk_… (own-key).
    #[arg(long)]
    pub publishable_key: Option<String>,
    /// The webhook endpoint's signing secret, whsec_…; `-` reads it from standard input.
    #[arg(long)]
    pub webhook_secret: Option<String>,
}

/// An order of a tenant.
#[derive(Debug, Args)]
pub struct OrderRef {
    /// The order's tenant.
    #[arg(long)]
    pub tenant: TenantId,
    /// The order.
    #[arg(long)]
    pub order: OrderId,
}

/// `cargos tables ...`
#[derive(Debug, Subcommand)]
pub enum CargosTablesCommand {
    /// Download the four tables from the police's Tabella endpoint (with this tenant's
    /// credentials) into the database, for every tenant; without them the built-in snapshot is used.
    Refresh {
        /// The tenant whose credentials are used.
        #[arg(long)]
        tenant: TenantId,
    },
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
        let (listen, log_format) = match &self.command {
            Command::Serve { listen, log_format, .. } => (*listen, *log_format),
            _ => (None, None),
        };
        Config::load(
            self.config.as_deref(),
            &Overrides {
                database_url: self.database_url.as_deref().map(DatabaseUrl::from),
                listen,
                log: log_format.map(|format| LogOverrides { format }),
            },
        )
    }
}

/// Export columns, as `--columns` names them.
#[derive(Debug, Clone)]
pub struct Columns(pub Vec<usize>);

fn columns(text: &str) -> Result<Columns, String> {
    clientele_core::exports::columns::parse_columns(Some(text)).map(Columns).map_err(|e| e.to_string())
}

fn log_format(text: &str) -> Result<LogFormat, String> {
    match text {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err("must be text or json".to_owned()),
    }
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
