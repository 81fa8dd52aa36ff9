//! Keys on the embedded default: with SQLite and no configured blacklist key or document master
//! key, the missing keys are made on first use and kept in a file beside the database
//! (`clientele.db.keys`, mode 0600), so that a first run has every feature and a restart still
//! reads what was stored before it. Production deployments set the keys in configuration (and
//! on PostgreSQL they must: several servers share one database, and a key file on one machine
//! would be one server's secret only).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::config::{Config, Secret};

/// The names of the keys in the file, as in the configuration.
const BLACKLIST_KEY: &str = "blacklist.key";
const MASTER_KEY: &str = "documents.master_key";
const CHAIN_KEY: &str = "audit.chain_key";

/// `config` with the keys it lacks taken from (or first written to) the key file beside its
/// SQLite database. Unchanged when every key is configured or the database is not SQLite.
pub(crate) fn complete(config: &Config) -> anyhow::Result<Config> {
    let mut config = config.clone();
    let missing =
        config.blacklist.key.is_none() || config.documents.master_key.is_none() || config.audit.chain_key.is_none();
    let Some(database) = sqlite_path(config.database_url.as_str()).filter(|_| missing) else {
        return Ok(config);
    };
    let mut path = database.into_os_string();
    path.push(".keys");
    let path = PathBuf::from(path);
    let keys = load_or_create(&path)?;
    if config.blacklist.key.is_none() {
        config.blacklist.key = Some(Secret::from(keys.blacklist));
    }
    if config.documents.master_key.is_none() {
        config.documents.master_key = Some(Secret::from(keys.master));
    }
    if config.audit.chain_key.is_none() {
        config.audit.chain_key = Some(Secret::from(keys.chain));
    }
    Ok(config)
}

/// The database file of a `sqlite://path` (or `sqlite:path`) URL.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty()).then(|| PathBuf::from(path))
}

#[derive(Debug)]
struct Keys {
    blacklist: String,
    master: String,
    chain: String,
}

/// Reads the key file, or makes it: atomically, so that two processes starting together on a
/// new database agree on one set of keys.
fn load_or_create(path: &Path) -> anyhow::Result<Keys> {
    if !path.exists() {
        create(path)?;
    }
    let read = || std::fs::read_to_string(path).with_context(|| format!("reading the key file {}", path.display()));
    let mut text = read()?;
    // A key file from before the audit chain was keyed gains that key (the first line wins,
    // should two processes add one at once).
    if !text.lines().any(|line| line.split_once('=').is_some_and(|(key, _)| key.trim() == CHAIN_KEY)) {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .with_context(|| format!("adding {CHAIN_KEY} to the key file {}", path.display()))?;
        std::io::Write::write_all(&mut file, format!("{CHAIN_KEY} = \"{}\"\n", random_key()?).as_bytes())
            .with_context(|| format!("adding {CHAIN_KEY} to the key file {}", path.display()))?;
        text = read()?;
    }
    let value = |name: &str| {
        text.lines()
            .filter_map(|line| line.split_once('='))
            .find(|(key, _)| key.trim() == name)
            .map(|(_, value)| value.trim().trim_matches('"').to_owned())
            .filter(|value| !value.is_empty())
            .ok_or_else(|| anyhow!("the key file {} has no {name}: restore it from a backup", path.display()))
    };
    let keys = Keys { blacklist: value(BLACKLIST_KEY)?, master: value(MASTER_KEY)?, chain: value(CHAIN_KEY)? };
    tracing::info!(path = %path.display(), "using the keys kept beside the database");
    Ok(keys)
}

/// A new key: 32 random bytes, base64.
fn random_key() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow!("no randomness for a new key: {e}"))?;
    Ok(STANDARD.encode(bytes))
}

fn create(path: &Path) -> anyhow::Result<()> {
    let random = random_key;
    let text = format!(
        "# Keys of the Clientele database beside this file, made on its first use because none were\n\
         # configured. Keep this file with the database, back them up together, and never share it:\n\
         # without it, stored documents cannot be read and global blacklist entries no longer match.\n\
         # In production, set blacklist.key, documents.master_key and audit.chain_key in the\n\
         # configuration instead.\n\
         {BLACKLIST_KEY} = \"{}\"\n{MASTER_KEY} = \"{}\"\n{CHAIN_KEY} = \"{}\"\n",
        random()?,
        random()?,
        random()?
    );
    // Written whole under a temporary name, then linked into place: the link fails if another
    // process made the file first, and then its keys are the ones used.
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let temporary = dir.join(format!(".clientele-keys-{}", uuid::Uuid::new_v4().simple()));
    let written = write_private(&temporary, &text);
    let linked = written.and_then(|()| match std::fs::hard_link(&temporary, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    });
    let _ = std::fs::remove_file(&temporary);
    if linked.with_context(|| format!("writing the key file {}", path.display()))? {
        tracing::warn!(
            path = %path.display(),
            "no blacklist.key or documents.master_key configured: made new keys and kept them beside the database; \
             back this file up with the database, and set the keys in configuration in production"
        );
    }
    Ok(())
}

/// Writes a file only its owner may read.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_path("sqlite://clientele.db"), Some(PathBuf::from("clientele.db")));
        assert_eq!(sqlite_path("sqlite:data/c.db?mode=rwc"), Some(PathBuf::from("data/c.db")));
        assert_eq!(sqlite_path("postgres://localhost/db"), None);
    }

    #[test]
    fn missing_keys_are_made_once_kept_private_and_configured_ones_win() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("c.db").display());
        let mut config = Config { database_url: url.as_str().into(), ..Config::default() };
        let first = complete(&config).unwrap();
        let second = complete(&config).unwrap();
        let path = dir.path().join("c.db.keys");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let key = |c: &Config| c.documents.master_key.as_ref().map(|k| k.expose().to_vec());
        assert!(key(&first).is_some());
        assert_eq!(key(&first), key(&second), "the same keys after a restart");
        assert_eq!(STANDARD.decode(key(&first).unwrap()).unwrap().len(), 32);
        assert!(first.blacklist.key.as_ref().is_some_and(|k| k.expose().len() >= 32));
        config.blacklist.key = Some(Secret::from("configured-key-of-at-least-32-bytes!".to_owned()));
        let configured = complete(&config).unwrap();
        assert_eq!(configured.blacklist.key.unwrap().expose(), b"configured-key-of-at-least-32-bytes!");
        let postgres = Config { database_url: "postgres://localhost/db".into(), ..Config::default() };
        assert!(complete(&postgres).unwrap().documents.master_key.is_none());
    }
}
