//! Configuration: one typed struct, layered defaults → `clientele.toml` → `CLIENTELE_*`
//! environment → command-line flags. Unknown keys are refused; secrets never show in `Debug`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// The annotated example printed by `clientele config default`; a test proves it parses to the
/// defaults, so it cannot drift from them.
pub const DEFAULT_TOML: &str = r#"# Clientele configuration. Every key is optional; shown here with its default.
# Layers, later ones winning: these defaults, this file (clientele.toml in the working directory,
# or --config PATH, or CLIENTELE_CONFIG), CLIENTELE_* environment variables (nested keys with a
# double underscore: CLIENTELE_AUTH__TOKEN_TTL), then command-line flags.

# Where the data lives, chosen strictly by scheme: sqlite://path/to/file.db (embedded; created if
# missing) or postgres://user:password@host:5432/database. Anything else is refused.
# Environment: CLIENTELE_DATABASE_URL. Flag: --database-url.
database_url = "sqlite://clientele.db"

# Address the HTTP server listens on. Environment: CLIENTELE_LISTEN. Flag: serve --listen.
listen = "127.0.0.1:8080"

[http]
# Longest a client may take to send a request's line and headers (counted from when the server
# starts reading them; on a kept-alive connection, from its previous answer). Past it the
# connection is closed, so clients that trickle headers in cannot hold connections open.
header_read_timeout = "10s"
# Most connections open at once from one client address (the connection's peer: behind a
# proxy, the proxy's, so raise it there); more are closed as soon as they are accepted. 0: no limit.
max_connections_per_ip = 256
# Set when clients reach the server over HTTPS only (a TLS-terminating proxy in front): every
# answer then carries Strict-Transport-Security, so browsers never use plain HTTP for it again.
# Leave it off while the server is reached over plain HTTP.
behind_tls = false

[database]
# Connections in the pool (on SQLite: reader connections; writes use one dedicated connection).
max_connections = 8
# How long to wait for a connection or a lock before failing the request.
acquire_timeout = "10s"

[auth]
# How long tokens issued by POST /api/v1/auth/token stay valid.
token_ttl = "24h"
# How long a log-in to the web console lasts (logging out, or disabling the user, ends it sooner).
session_ttl = "12h"
# Key that signs bearer tokens (at least 32 bytes). When unset, a random key is generated once and
# kept in the database, so every server process on the same database shares it. Set it to rotate:
# tokens signed with the old key stop working. Environment: CLIENTELE_AUTH__TOKEN_SECRET.
# token_secret = "..."
# Failed logins in a row for one account (a tenant and an email, whether or not such a user
# exists) before it is locked out; 0 turns the limit off. A successful login clears the count.
max_failed_logins = 5
# Failed logins in a row from one client address (the connection's peer: behind a proxy, the
# proxy's) before it is locked out, for every account; 0 turns the limit off.
max_failed_logins_per_address = 50
# The first lockout. Each further lockout of the same account or address lasts twice as long,
# up to max_lockout. Counts are kept in each server process's memory.
lockout = "1m"
max_lockout = "1h"

[blacklist]
# Key of the global blacklist's pseudonyms (HMAC-SHA-256; at least 32 bytes). It is never stored
# in the database: without it, entries cannot be tested against guessed names. Unset on SQLite, a
# key is made on first use and kept beside the database (<database>.keys, mode 0600); unset on
# PostgreSQL, the global blacklist is unavailable (tenant blacklists still work). Rotate with
# `clientele blacklist rotate-key`. Environment: CLIENTELE_BLACKLIST__KEY.
# key = "..."
# How long a global entry matches before it expires.
global_entry_months = 36
# Where people turn with data-protection requests; shown with every blacklist refusal.
data_protection_contact = "privacy@platform.invalid"

[documents]
# Where document files are kept, encrypted: a directory (created if missing), or
# s3://bucket/prefix for an S3-compatible store, which reads its credentials and endpoint from the
# AWS_* environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT,
# AWS_ALLOW_HTTP). Environment: CLIENTELE_DOCUMENTS__STORE.
store = "clientele-documents"
# Master key: 32 random bytes, base64 (`head -c 32 /dev/urandom | base64`). It wraps each file's
# own key and is never stored in the database. Unset on SQLite, a key is made on first use and
# kept beside the database (<database>.keys, mode 0600); unset on PostgreSQL, documents are
# unavailable (503).
# Environment: CLIENTELE_DOCUMENTS__MASTER_KEY.
# master_key = "..."
# Earlier master keys, still accepted for reading until `clientele documents rotate-key` has
# re-wrapped every file key with master_key. Then remove them.
previous_master_keys = []
# Largest document file accepted, in MiB.
max_file_mib = 20
# An upload writes its file before its row, so a crash between the two leaves a file no document
# points at. `serve` sweeps them every `sweep_every` ("0s": never; `clientele documents sweep`
# runs one sweep), removing those older than `orphan_grace`, which must be longer than any upload.
orphan_grace = "1h"
sweep_every = "1h"

[imports]
# Largest import file accepted, in MiB (uploads over it are refused as they stream in).
max_file_mib = 512
# How long a server's lease on an import job lasts. The server renews it while it works; if the
# server dies, another server (or the same one, restarted) resumes the job from its last saved
# batch once the lease has run out.
lease = "1m"
# Import jobs one server process runs at once.
workers = 2

[webhooks]
# How long a receiver has to answer a delivery.
timeout = "10s"
# The waits before each retry of a failed delivery (a non-2xx answer, a timeout, a connection
# or TLS error): as many retries as entries, each with up to a fifth more or less of jitter.
# After the last, the delivery is marked failed (and can be replayed).
retry_schedule = ["30s", "5m", "30m"]
# An endpoint whose every delivery failed for this long is disabled (410 Gone disables at once).
disable_after = "3days"
# How long events are kept after they were delivered (or failed for good).
retention = "30days"
# How long the previous signing secret keeps signing after a rotation, unless the rotation says.
secret_overlap = "1day"
# Deliveries one server process sends at once.
concurrency = 16
# Let endpoints point at loopback, private or link-local addresses, and use plain http (tests,
# receivers on a private network). Off, both are refused when an endpoint is made and at every
# delivery.
allow_private_hosts = false


[cargos]
# The Ca.R.G.O.S. police API, to which Italian tenants report rental contracts (each tenant sets
# its own credentials: PATCH /api/v1/cargos/settings). There is no test service: Check is the
# police's own dry run. Environment: CLIENTELE_CARGOS__BASE_URL.
base_url = "https://cargos.poliziadistato.it/CARGOS_API/"
# How long one call to the police may take before it is given up and reported as unavailable
# (keep it under the API's own 30 s request limit).
timeout = "20s"

[stripe]
# Stripe, through which tenants link their customers' payment methods (cards never reach
# Clientele). Each tenant sets its own mode in its settings (PATCH /api/v1/settings/stripe or
# `clientele stripe configure`): a connected account of this platform, or its own keys. These are
# the platform's own keys, used for connected accounts only.
# The platform's secret key (sk_live_… or a restricted rk_live_…). Environment:
# CLIENTELE_STRIPE__SECRET_KEY.
# secret_key = "..."
# The platform's publishable key (pk_live_…), which connected tenants' browsers use with Stripe.js.
# publishable_key = "..."
# Stripe's API (tests point it at a local fake).
api_base = "https://api.stripe.com/"
# How long one attempt of a call may take. Stripe's own libraries wait up to 80 s; a request here
# has 30 s in all, so each attempt gets less, and failed attempts are retried (below).
timeout = "8s"
# Retries of a call that timed out, could not connect, or was answered 409 (a lock), 429 or 5xx
# (unless Stripe says Stripe-Should-Retry: false), with its idempotency key, after 0.5 s, then 1 s
# (each with jitter).
max_retries = 2
# How long a customer's list of payment methods read from Stripe is reused (a change made here,
# or told by Stripe's webhook, forgets it at once). At most 1m.
list_cache = "5s"
# Where the console's card form loads Stripe.js from. Stripe asks that it always be loaded from
# its own host (never bundled or copied); the card form's page allows that origin in its
# Content-Security-Policy. Tests point it at a local fake.
js_url = "https://js.stripe.com/v3/"

[audit]
# Key of the audit log's chain (HMAC-SHA-256; at least 32 bytes), never stored in the database:
# without it, someone able to write to the database cannot rewrite entries and recompute the
# chain after them. Entries written before it was set stay linked by plain SHA-256 and still
# verify. Unset on SQLite, a key is made on first use and kept beside the database
# (<database>.keys); unset on PostgreSQL, new entries are linked by plain SHA-256.
# Environment: CLIENTELE_AUDIT__CHAIN_KEY.
# chain_key = "..."

[log]
# Log filter, in tracing's EnvFilter syntax (e.g. "info,clientele_server=debug").
# RUST_LOG, when set, wins.
level = "info"
# "text" for people, "json" for log collectors: one JSON object per line, each line logged while
# a request is handled carrying its request_id and, once authenticated, its tenant_id and user_id.
# Environment: CLIENTELE_LOG__FORMAT. Flag: serve --log-format.
format = "text"

[metrics]
# /metrics (Prometheus text format) is off, answering 404, unless one of these is set.
# A listen address of its own (e.g. "127.0.0.1:9090"): /metrics is served there, and not on the
# public port. Environment: CLIENTELE_METRICS__LISTEN.
# listen = "127.0.0.1:9090"
# A bearer token that scrapers send (Authorization: Bearer <token>); with no listen address,
# /metrics is served on the public port to whoever sends it. Environment:
# CLIENTELE_METRICS__TOKEN.
# token = "..."
"#;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Database URL; see [`DEFAULT_TOML`].
    pub database_url: DatabaseUrl,
    /// Address to serve HTTP on.
    pub listen: SocketAddr,
    /// Serving connections.
    pub http: HttpConfig,
    /// Connection pool.
    pub database: DatabaseConfig,
    /// Tokens.
    pub auth: AuthConfig,
    /// The global blacklist.
    pub blacklist: BlacklistConfig,
    /// Document storage.
    pub documents: DocumentsConfig,
    /// Import jobs.
    pub imports: ImportsConfig,
    /// Webhooks and the outbox.
    pub webhooks: WebhooksConfig,
    /// The Ca.R.G.O.S. police API.
    pub cargos: CargosConfig,
    /// Stripe: the platform's keys and the client.
    pub stripe: StripeConfig,
    /// Logging.
    pub log: LogConfig,
    /// Who may read `/metrics`.
    pub metrics: MetricsConfig,
    /// The audit log.
    pub audit: AuditConfig,
}

/// Audit log settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// The key that links the audit chain (HMAC-SHA-256).
    pub chain_key: Option<Secret>,
}

/// `/metrics`: off unless a token or a listen address of its own is set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// A listen address of its own for `/metrics` (then not served on the public port).
    pub listen: Option<SocketAddr>,
    /// The bearer token scrapers send; required wherever `/metrics` is served when set.
    pub token: Option<Secret>,
}

impl MetricsConfig {
    /// The server's options.
    pub fn options(&self) -> clientele_server::MetricsOptions {
        let token = self.token.as_ref().map(|t| String::from_utf8_lossy(t.expose()).trim().to_owned());
        clientele_server::MetricsOptions {
            token: token.filter(|t| !t.is_empty()),
            separate_listener: self.listen.is_some(),
        }
    }
}

/// How connections are served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Longest a client may take to send its request's headers.
    #[serde(with = "humantime_serde_compat")]
    pub header_read_timeout: Duration,
    /// Most connections at once from one address (0: no limit).
    pub max_connections_per_ip: usize,
    /// Clients reach the server over HTTPS only: answers carry HSTS.
    pub behind_tls: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        let http = clientele_server::HttpOptions::default();
        Self {
            header_read_timeout: http.header_read_timeout,
            max_connections_per_ip: http.max_connections_per_ip,
            behind_tls: http.behind_tls,
        }
    }
}

impl HttpConfig {
    /// The server's options.
    pub fn options(&self) -> clientele_server::HttpOptions {
        clientele_server::HttpOptions {
            header_read_timeout: self.header_read_timeout,
            max_connections_per_ip: self.max_connections_per_ip,
            behind_tls: self.behind_tls,
        }
    }
}

/// Connection pool settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Connections in the pool.
    pub max_connections: u32,
    /// How long to wait for a connection.
    #[serde(with = "humantime_serde_compat")]
    pub acquire_timeout: Duration,
}

/// Token settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of tokens issued at login.
    #[serde(with = "humantime_serde_compat")]
    pub token_ttl: Duration,
    /// Lifetime of a console session.
    #[serde(with = "humantime_serde_compat")]
    pub session_ttl: Duration,
    /// Signing key; generated and kept in the database when unset.
    pub token_secret: Option<Secret>,
    /// Failed logins in a row per account before a lockout (0: no limit).
    pub max_failed_logins: u32,
    /// Failed logins in a row per client address before a lockout (0: no limit).
    pub max_failed_logins_per_address: u32,
    /// The first lockout; each further one doubles.
    #[serde(with = "humantime_serde_compat")]
    pub lockout: Duration,
    /// The longest lockout.
    #[serde(with = "humantime_serde_compat")]
    pub max_lockout: Duration,
}

/// Global blacklist settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlacklistConfig {
    /// Pseudonym key; the global list is unavailable without it.
    pub key: Option<Secret>,
    /// Months a global entry matches.
    pub global_entry_months: u32,
    /// Data-protection contact.
    pub data_protection_contact: String,
}

impl Default for BlacklistConfig {
    fn default() -> Self {
        Self {
            key: None,
            global_entry_months: 36,
            data_protection_contact: clientele_core::app::DEFAULT_DATA_PROTECTION_CONTACT.to_owned(),
        }
    }
}

/// Import settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportsConfig {
    /// Largest file, in MiB.
    pub max_file_mib: u64,
    /// How long a worker's lease on a job lasts (renewed while it works) before another
    /// process may resume the job.
    #[serde(with = "humantime_serde_compat")]
    pub lease: Duration,
    /// Jobs run at once per process.
    pub workers: usize,
    /// Crash tests only: how long each batch holds its transaction open between its writes, so
    /// that a test can kill a server in the middle of one. Not in the documented defaults.
    #[serde(with = "humantime_serde_compat")]
    pub crash_test_pause: Duration,
}

impl Default for ImportsConfig {
    fn default() -> Self {
        Self { max_file_mib: 512, lease: Duration::from_secs(60), workers: 2, crash_test_pause: Duration::ZERO }
    }
}

/// Webhook settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// How long a receiver has to answer.
    #[serde(with = "humantime_serde_compat")]
    pub timeout: Duration,
    /// The waits before each retry.
    #[serde(with = "humantime_list")]
    pub retry_schedule: Vec<Duration>,
    /// Every delivery failing this long disables an endpoint.
    #[serde(with = "humantime_serde_compat")]
    pub disable_after: Duration,
    /// How long ended deliveries' events are kept.
    #[serde(with = "humantime_serde_compat")]
    pub retention: Duration,
    /// The previous secret's default overlap after a rotation.
    #[serde(with = "humantime_serde_compat")]
    pub secret_overlap: Duration,
    /// Deliveries sent at once per process.
    pub concurrency: usize,
    /// Loopback, private and link-local hosts, and plain http, allowed.
    pub allow_private_hosts: bool,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        let core = clientele_core::webhooks::WebhookSettings::default();
        Self {
            timeout: core.timeout,
            retry_schedule: core.retries,
            disable_after: core.disable_after,
            retention: core.retention,
            secret_overlap: core.secret_overlap,
            concurrency: core.concurrency,
            allow_private_hosts: false,
        }
    }
}

/// The Ca.R.G.O.S. police API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CargosConfig {
    /// The API's root URL.
    pub base_url: String,
    /// How long one call may take.
    #[serde(with = "humantime_serde_compat")]
    pub timeout: Duration,
}

impl Default for CargosConfig {
    fn default() -> Self {
        Self { base_url: clientele_integrations::cargos::DEFAULT_BASE_URL.to_owned(), timeout: Duration::from_secs(20) }
    }
}

/// Stripe: the platform's keys (for connected accounts) and how its API is called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StripeConfig {
    /// The platform's secret key.
    pub secret_key: Option<Secret>,
    /// The platform's publishable key.
    pub publishable_key: Option<String>,
    /// The API's root URL.
    pub api_base: String,
    /// How long one attempt may take.
    #[serde(with = "humantime_serde_compat")]
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// How long a customer's list is reused.
    #[serde(with = "humantime_serde_compat")]
    pub list_cache: Duration,
    /// Where browsers load Stripe.js from.
    pub js_url: String,
}

impl Default for StripeConfig {
    fn default() -> Self {
        let client = clientele_integrations::stripe::StripeClientOptions::default();
        Self {
            secret_key: None,
            publishable_key: None,
            api_base: client.base_url,
            timeout: client.timeout,
            max_retries: client.max_retries,
            list_cache: Duration::from_secs(5),
            js_url: clientele_core::payments::STRIPE_JS_URL.to_owned(),
        }
    }
}

/// Document storage settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DocumentsConfig {
    /// A directory, or `s3://bucket/prefix`.
    pub store: String,
    /// The master key, base64 of 32 bytes; documents are unavailable without it.
    pub master_key: Option<Secret>,
    /// Earlier master keys, for reading until re-wrapped.
    pub previous_master_keys: Vec<Secret>,
    /// Largest file, in MiB.
    pub max_file_mib: u64,
    /// How old a file no document points at must be before a sweep removes it.
    #[serde(with = "humantime_serde_compat")]
    pub orphan_grace: Duration,
    /// How often `serve` sweeps the store of such files; zero: never.
    #[serde(with = "humantime_serde_compat")]
    pub sweep_every: Duration,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        Self {
            store: "clientele-documents".to_owned(),
            master_key: None,
            previous_master_keys: Vec::new(),
            max_file_mib: 20,
            orphan_grace: clientele_core::documents::sweep::DEFAULT_ORPHAN_GRACE,
            sweep_every: clientele_core::documents::sweep::DEFAULT_ORPHAN_GRACE,
        }
    }
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// EnvFilter directives.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// A secret string: `Debug` shows `[redacted]`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl Secret {
    /// The secret's bytes.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A database URL, whose password (if any) never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The URL itself, to connect with.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for DatabaseUrl {
    fn from(url: &str) -> Self {
        Self(url.to_owned())
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", clientele_store::redact(&self.0))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: DatabaseUrl::from("sqlite://clientele.db"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            http: HttpConfig::default(),
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            blacklist: BlacklistConfig::default(),
            documents: DocumentsConfig::default(),
            imports: ImportsConfig::default(),
            webhooks: WebhooksConfig::default(),
            cargos: CargosConfig::default(),
            stripe: StripeConfig::default(),
            log: LogConfig::default(),
            metrics: MetricsConfig::default(),
            audit: AuditConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self { max_connections: 8, acquire_timeout: Duration::from_secs(10) }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        let limits = clientele_core::accounts::throttle::LoginLimits::default();
        Self {
            token_ttl: Duration::from_secs(24 * 3600),
            session_ttl: Duration::from_secs(12 * 3600),
            token_secret: None,
            max_failed_logins: limits.per_account,
            max_failed_logins_per_address: limits.per_address,
            lockout: limits.lockout,
            max_lockout: limits.max_lockout,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: "info".into(), format: LogFormat::Text }
    }
}

/// Values given as command-line flags: the last layer.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<DatabaseUrl>,
    /// `serve --listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// `serve --log-format`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogOverrides>,
}

/// The `log` values given as flags.
#[derive(Debug, Serialize)]
pub struct LogOverrides {
    /// `serve --log-format`.
    pub format: LogFormat,
}

impl Config {
    /// Loads the layers. `file` is `--config`; without it, `CLIENTELE_CONFIG` or, if present,
    /// `./clientele.toml`. A file named explicitly must exist.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Self> {
        let explicit = file.map(Path::to_path_buf).or_else(|| std::env::var_os("CLIENTELE_CONFIG").map(PathBuf::from));
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match explicit {
            Some(path) => {
                if !path.is_file() {
                    bail!("configuration file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new("clientele.toml").is_file() => {
                figment = figment.merge(Toml::file_exact("clientele.toml"))
            }
            None => {}
        }
        let env = Env::prefixed("CLIENTELE_")
            .split("__")
            // Variables for tooling, not for the service.
            .filter(|key| {
                let key = key.as_str().to_ascii_lowercase();
                !key.starts_with("test_") && key != "config"
            });
        figment
            .merge(env)
            .merge(Serialized::defaults(overrides))
            .extract()
            .context("invalid configuration (see `clientele config default` for every key)")
    }
}

/// Durations written as `30s`, `10m`, `24h`, `7d`.
mod humantime_serde_compat {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*duration).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
    }
}

mod humantime_list {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(durations: &[Duration], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(durations.iter().map(|d| humantime::format_duration(*d).to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Duration>, D::Error> {
        let texts = Vec::<String>::deserialize(deserializer)?;
        let durations = texts
            .iter()
            .map(|text| humantime::parse_duration(text).map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        if durations.len() > 10 {
            return Err(serde::de::Error::custom("at most 10 retries"));
        }
        Ok(durations)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_never_show_in_debug_output() {
        let url = super::DatabaseUrl::from("postgres://app:s3cret@db/clientele");
        let config = super::Config { database_url: url, ..super::Config::default() };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret") && shown.contains("postgres://app:***@db/clientele"), "{shown}");
    }

    use super::*;

    #[test]
    fn the_annotated_example_is_exactly_the_defaults() {
        let parsed: Config = Figment::from(Toml::string(DEFAULT_TOML)).extract().unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let result: Result<Config, _> = Figment::from(Toml::string("databse_url = \"x\"")).extract();
        assert!(result.unwrap_err().to_string().contains("databse_url"));
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let mut config = Config::default();
        config.auth.token_secret = Some(Secret("super-secret-value".into()));
        config.blacklist.key = Some(Secret("another-secret-value".into()));
        config.stripe.secret_key = Some(Secret("sk_live_platform_secret".into()));
        config.metrics.token = Some(Secret("metrics-scrape-token".into()));
        assert!(!format!("{config:?}").contains("metrics-scrape-token"));
        assert!(!format!("{config:?}").contains("super-secret-value"));
        assert!(!format!("{config:?}").contains("another-secret-value"));
        assert!(!format!("{config:?}").contains("sk_live_platform_secret"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail closure signature, not ours
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("clientele.toml", "database_url = \"sqlite://file.db\"\nlisten = \"127.0.0.1:1\"")?;
            jail.set_env("CLIENTELE_LISTEN", "127.0.0.1:2");
            jail.set_env("CLIENTELE_AUTH__TOKEN_TTL", "1h");
            jail.set_env("CLIENTELE_TEST_POSTGRES_URL", "postgres://ignored");
            let config = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(config.database_url.as_str(), "sqlite://file.db");
            assert_eq!(config.listen, "127.0.0.1:2".parse().unwrap());
            assert_eq!(config.auth.token_ttl, Duration::from_secs(3600));
            let flags = Overrides { listen: Some("127.0.0.1:3".parse().unwrap()), ..Overrides::default() };
            assert_eq!(Config::load(None, &flags).unwrap().listen, "127.0.0.1:3".parse().unwrap());
            Ok(())
        });
    }
}
