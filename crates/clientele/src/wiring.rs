//! From the configuration to the running pieces: the store, the document vault, the App.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clientele_core::accounts::throttle::LoginLimits;
use clientele_core::documents::vault::{MasterKey, Vault};
use clientele_core::{App, AppConfig};
use clientele_server::BlockingPasswordPool;
use clientele_store::{SqlStore, StoreOptions};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;

use crate::commands::explain;
use crate::config::Config;

/// Opens and migrates the configured database.
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<SqlStore> {
    let options = StoreOptions {
        max_connections: config.database.max_connections,
        acquire_timeout: config.database.acquire_timeout,
        ..StoreOptions::default()
    };
    let store = SqlStore::connect(config.database_url.as_str(), &options)
        .await
        .map_err(explain)?
        .with_chain_key(chain_key(config)?);
    store.migrate().await.map_err(explain)?;
    Ok(store)
}

/// The `application_name` of the import workers' connections on PostgreSQL.
pub const IMPORTS_APPLICATION_NAME: &str = "clientele imports";

/// The services `serve`'s import workers run on. On PostgreSQL they get a pool of their own (two
/// connections a worker), so that a busy API cannot starve an import of connections, nor an
/// import the API. On SQLite they share `app`'s store: its single writer connection serialises
/// every write of the process anyway, and a second one would only contend for the file's lock.
pub(crate) async fn import_app(app: &App, config: &Config) -> anyhow::Result<App> {
    if app.store().backend() != "postgres" {
        return Ok(app.clone());
    }
    let workers = u32::try_from(config.imports.workers.clamp(1, 64)).unwrap_or(64);
    let options = StoreOptions {
        max_connections: workers * 2,
        acquire_timeout: config.database.acquire_timeout,
        application_name: IMPORTS_APPLICATION_NAME,
    };
    let store = SqlStore::connect(config.database_url.as_str(), &options)
        .await
        .map_err(explain)?
        .with_chain_key(chain_key(config)?);
    Ok(app.with_store(Arc::new(store)))
}

/// The App of `config`, with the keys an embedded database keeps beside it when none are
/// configured ([`crate::keys`]).
pub(crate) async fn app(config: &Config) -> anyhow::Result<App> {
    configured_app(&crate::keys::complete(config)?).await
}

/// The App of `config`, exactly as configured.
pub(crate) async fn configured_app(config: &Config) -> anyhow::Result<App> {
    let store = Arc::new(open_store(config).await?);
    let app_config = AppConfig {
        token_secret: config.auth.token_secret.as_ref().map(|s| s.expose().to_vec()),
        token_ttl: config.auth.token_ttl,
        password_work: Arc::new(BlockingPasswordPool::for_this_machine()),
        login_limits: LoginLimits {
            per_account: config.auth.max_failed_logins,
            per_address: config.auth.max_failed_logins_per_address,
            lockout: config.auth.lockout,
            max_lockout: config.auth.max_lockout.max(config.auth.lockout),
        },
        blacklist_key: config.blacklist.key.as_ref().map(|s| s.expose().to_vec()),
        global_entry_months: config.blacklist.global_entry_months,
        data_protection_contact: config.blacklist.data_protection_contact.clone(),
        audit_chain_key: chain_key(config)?,
        vault: vault(&config.documents)?,
        max_document_bytes: config.documents.max_file_mib.saturating_mul(1024 * 1024),
        document_orphan_grace: config.documents.orphan_grace,
        document_sweep_every: config.documents.sweep_every,
        max_import_bytes: config.imports.max_file_mib.saturating_mul(1024 * 1024),
        import_lease: config.imports.lease,
        import_workers: config.imports.workers,
        import_crash_test_pause: config.imports.crash_test_pause,
        webhooks: webhooks(&config.webhooks)?,
        cargos_api: Some(Arc::new(
            clientele_integrations::cargos::HttpCargosApi::new(&config.cargos.base_url, config.cargos.timeout)
                .map_err(|e| anyhow!("cargos.base_url: {e}"))?,
        )),
        stripe: stripe(&config.stripe)?,
        // The server reads these back from the App (`AppState::new`) for `/metrics`.
        telemetry: Arc::new(clientele_server::Metrics::new()),
    };
    if !config.imports.crash_test_pause.is_zero() {
        tracing::warn!(
            pause = ?config.imports.crash_test_pause,
            "imports.crash_test_pause is set: every import batch holds its transaction open this long (crash tests only)"
        );
    }
    App::new(store, app_config).await.map_err(explain)
}

/// Stripe's client and the platform's keys.
fn stripe(config: &crate::config::StripeConfig) -> anyhow::Result<clientele_core::payments::StripeSettings> {
    let options = clientele_integrations::stripe::StripeClientOptions {
        base_url: config.api_base.clone(),
        timeout: config.timeout,
        max_retries: config.max_retries.min(5),
        ..clientele_integrations::stripe::StripeClientOptions::default()
    };
    let api =
        clientele_integrations::stripe::HttpStripeApi::new(options).map_err(|e| anyhow!("stripe.api_base: {e}"))?;
    let secret_key = config.secret_key.as_ref().map(|s| String::from_utf8_lossy(s.expose()).trim().to_owned());
    let js = reqwest::Url::parse(&config.js_url).map_err(|e| anyhow!("stripe.js_url: {e}"))?;
    if !matches!(js.scheme(), "https" | "http") || js.host_str().is_none() {
        anyhow::bail!("stripe.js_url: {} is not an http(s) URL", config.js_url);
    }
    Ok(clientele_core::payments::StripeSettings {
        api: Some(Arc::new(api)),
        platform_secret_key: secret_key.filter(|k| !k.is_empty()),
        platform_publishable_key: config.publishable_key.clone().filter(|k| !k.trim().is_empty()),
        list_cache: config.list_cache,
        js_url: js.to_string(),
    })
}

/// How webhooks are made and sent, with the HTTP transport.
fn webhooks(config: &crate::config::WebhooksConfig) -> anyhow::Result<clientele_core::webhooks::WebhookSettings> {
    let transport =
        clientele_integrations::webhooks::HttpWebhooks::new(config.allow_private_hosts).map_err(|e| anyhow!(e))?;
    Ok(clientele_core::webhooks::WebhookSettings {
        transport: Some(Arc::new(transport)),
        timeout: config.timeout,
        retries: config.retry_schedule.clone(),
        allow_http: config.allow_private_hosts,
        disable_after: config.disable_after,
        retention: config.retention,
        secret_overlap: config.secret_overlap,
        concurrency: config.concurrency,
    })
}

/// The audit chain's key, if configured.
fn chain_key(config: &Config) -> anyhow::Result<Option<clientele_core::audit::chain::ChainKey>> {
    let key = config.audit.chain_key.as_ref().map(|k| clientele_core::audit::chain::ChainKey::new(k.expose()));
    key.transpose().map_err(|e| anyhow!("audit.chain_key: {e}"))
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
