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

[imports]
# Largest import file accepted, in MiB (uploads over it are refused as they stream in).
max_file_mib = 512
# How long a server's lease on an import job lasts. The server renews it while it works; if the
# server dies, another server (or the same one, restarted) resumes the job from its last saved
# batch once the lease has run out.
lease = "1m"
# Import jobs one server process runs at once.
workers = 2

[log]
# Log filter, in tracing's EnvFilter syntax (e.g. "info,clientele_server=debug").
# RUST_LOG, when set, wins.
level = "info"
# "text" for people, "json" for log collectors.
format = "text"
"#;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Database URL; see [`DEFAULT_TOML`].
    pub database_url: DatabaseUrl,
    /// Address to serve HTTP on.
    pub listen: SocketAddr,
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
    /// Logging.
    pub log: LogConfig,
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
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        Self {
            store: "clientele-documents".to_owned(),
            master_key: None,
            previous_master_keys: Vec::new(),
            max_file_mib: 20,
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
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            blacklist: BlacklistConfig::default(),
            documents: DocumentsConfig::default(),
            imports: ImportsConfig::default(),
            log: LogConfig::default(),
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
        Self {
            token_ttl: Duration::from_secs(24 * 3600),
            session_ttl: Duration::from_secs(12 * 3600),
            token_secret: None,
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
        assert!(!format!("{config:?}").contains("super-secret-value"));
        assert!(!format!("{config:?}").contains("another-secret-value"));
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
