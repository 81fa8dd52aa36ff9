//! [`App`]: the services the HTTP server and the admin commands both call, and what they are
//! configured with. Each resource adds its services to `App` in its own `services` module.

use std::sync::Arc;
use std::time::Duration;

use crate::accounts::auth::TokenSigner;
use crate::accounts::passwords::{InlinePasswordWork, PasswordWork};
use crate::accounts::throttle::{LoginLimits, LoginThrottle};
use crate::blacklist::pseudonyms::PseudonymKey;
use crate::cargos::api::CargosApi;
use crate::cargos::state::CargosState;
use crate::cargos::tables::{CargosTableTexts, CargosTables, SharedTables};
use crate::error::Result;
use crate::payments::StripeSettings;
use crate::payments::state::PaymentsState;
use crate::store::Store;
use crate::webhooks::WebhookSettings;

/// Settings the services need.
#[derive(Clone)]
pub struct AppConfig {
    /// Token signing key; when absent, a key generated once and kept in the database is used.
    pub token_secret: Option<Vec<u8>>,
    /// Lifetime of tokens issued at login.
    pub token_ttl: Duration,
    /// Where password hashing and checking run. Servers pass a bounded pool of blocking threads
    /// (`clientele_server::BlockingPasswordPool`); the default runs them on the caller's task,
    /// which suits admin commands only.
    pub password_work: Arc<dyn PasswordWork>,
    /// How many failed logins an account and an address may have before a lockout.
    pub login_limits: LoginLimits,
    /// The global blacklist's pseudonym key (never stored in the database); without it the
    /// global list is unavailable.
    pub blacklist_key: Option<Vec<u8>>,
    /// How long a global entry matches before it expires.
    pub global_entry_months: u32,
    /// Where people turn with data-protection requests; shown with every blacklist refusal.
    pub data_protection_contact: String,
    /// The key that links audit entries (HMAC-SHA-256), to verify the chains with; the store
    /// that appends entries is given the same key. Without it, only unkeyed entries verify.
    pub audit_chain_key: Option<crate::audit::chain::ChainKey>,
    /// Encrypted document storage; without it, documents are unavailable.
    pub vault: Option<crate::documents::vault::Vault>,
    /// The largest document file accepted, in bytes.
    pub max_document_bytes: u64,
    /// How old an object of the document store without a document row must be before the
    /// sweep removes it (an upload writes its object before its row).
    pub document_orphan_grace: Duration,
    /// How often `serve` sweeps the document store of orphans; zero: never.
    pub document_sweep_every: Duration,
    /// The largest import file accepted, in bytes.
    pub max_import_bytes: u64,
    /// How long an import worker's lease on a job lasts: the worker renews it while it works,
    /// and once it runs out (the worker's process died) another process resumes the job.
    pub import_lease: Duration,
    /// Import jobs one server process runs at once.
    pub import_workers: usize,
    /// Crash tests only: how long each import batch holds its transaction open between its
    /// writes. Zero (the default) in any real use.
    pub import_crash_test_pause: Duration,
    /// How webhooks are made and delivered.
    pub webhooks: WebhookSettings,
    /// The Ca.R.G.O.S. police API client; without one (the default), checks and sends answer
    /// `503 cargos_unavailable` and everything else about Ca.R.G.O.S. still works.
    pub cargos_api: Option<Arc<dyn CargosApi>>,
    /// Stripe: its client and the platform's keys; without a client, payment methods answer
    /// `503 stripe_unavailable`.
    pub stripe: StripeSettings,
    /// Where the services' measurements go (search tiers, import rows, webhook attempts); by
    /// default nowhere.
    pub telemetry: Arc<dyn crate::telemetry::Telemetry>,
}

impl std::fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConfig")
            .field("token_secret", &self.token_secret.as_ref().map(|_| "[redacted]"))
            .field("token_ttl", &self.token_ttl)
            .field("password_work", &self.password_work)
            .field("login_limits", &self.login_limits)
            .field("blacklist_key", &self.blacklist_key.as_ref().map(|_| "[redacted]"))
            .field("global_entry_months", &self.global_entry_months)
            .field("data_protection_contact", &self.data_protection_contact)
            .field("audit_chain_key", &self.audit_chain_key)
            .field("vault", &self.vault)
            .field("max_document_bytes", &self.max_document_bytes)
            .field("document_orphan_grace", &self.document_orphan_grace)
            .field("document_sweep_every", &self.document_sweep_every)
            .field("max_import_bytes", &self.max_import_bytes)
            .field("import_lease", &self.import_lease)
            .field("import_workers", &self.import_workers)
            .field("import_crash_test_pause", &self.import_crash_test_pause)
            .field("webhooks", &self.webhooks)
            .field("cargos_api", &self.cargos_api)
            .field("stripe", &self.stripe)
            .field("telemetry", &self.telemetry)
            .finish()
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            token_secret: None,
            token_ttl: Duration::from_secs(24 * 3600),
            password_work: Arc::new(InlinePasswordWork),
            login_limits: LoginLimits::default(),
            blacklist_key: None,
            global_entry_months: 36,
            data_protection_contact: DEFAULT_DATA_PROTECTION_CONTACT.to_owned(),
            audit_chain_key: None,
            vault: None,
            max_document_bytes: DEFAULT_MAX_DOCUMENT_BYTES,
            document_orphan_grace: crate::documents::vault::DEFAULT_ORPHAN_GRACE,
            document_sweep_every: crate::documents::vault::DEFAULT_ORPHAN_GRACE,
            max_import_bytes: crate::imports::job::DEFAULT_MAX_IMPORT_BYTES,
            import_lease: crate::imports::job::DEFAULT_LEASE,
            import_workers: 2,
            import_crash_test_pause: Duration::ZERO,
            webhooks: WebhookSettings::default(),
            cargos_api: None,
            stripe: StripeSettings::default(),
            telemetry: Arc::new(crate::telemetry::NoTelemetry),
        }
    }
}

/// The default largest document file: 20 MiB.
pub const DEFAULT_MAX_DOCUMENT_BYTES: u64 = 20 * 1024 * 1024;

/// Import jobs, as the services use them.
#[derive(Debug, Clone)]
pub(crate) struct ImportSettings {
    pub max_bytes: u64,
    pub lease: Duration,
    pub workers: usize,
    pub crash_test_pause: Duration,
}

/// Document storage, as the services use it.
#[derive(Debug, Clone)]
pub(crate) struct DocumentSettings {
    pub vault: Option<crate::documents::vault::Vault>,
    pub max_bytes: u64,
    pub orphan_grace: Duration,
    pub sweep_every: Duration,
}

/// The placeholder contact until one is configured.
pub const DEFAULT_DATA_PROTECTION_CONTACT: &str = "privacy@platform.invalid";

/// The global blacklist's settings, as the services use them.
#[derive(Debug, Clone)]
pub(crate) struct BlacklistSettings {
    pub key: Option<PseudonymKey>,
    pub entry_months: u32,
    pub contact: String,
}

/// The application: services over a [`Store`].
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    pub(crate) tokens: TokenSigner,
    pub(crate) token_ttl: Duration,
    pub(crate) passwords: Arc<dyn PasswordWork>,
    pub(crate) logins: Arc<LoginThrottle>,
    pub(crate) blacklist: BlacklistSettings,
    pub(crate) documents: DocumentSettings,
    pub(crate) audit_chain_key: Option<crate::audit::chain::ChainKey>,
    pub(crate) imports: ImportSettings,
    pub(crate) webhooks: WebhookSettings,
    pub(crate) cargos: CargosState,
    pub(crate) payments: PaymentsState,
    pub(crate) telemetry: Arc<dyn crate::telemetry::Telemetry>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").field("backend", &self.store.backend()).finish_non_exhaustive()
    }
}

impl App {
    /// Builds the services. Loads (or creates) the stored token key unless one is configured.
    pub async fn new(store: Arc<dyn Store>, config: AppConfig) -> Result<Self> {
        let key = match config.token_secret {
            Some(key) => key,
            None => store.token_signing_key(&TokenSigner::generate_key()?).await?,
        };
        let pseudonym_key = config.blacklist_key.as_deref().map(PseudonymKey::new).transpose()?;
        let blacklist = BlacklistSettings {
            key: pseudonym_key,
            entry_months: config.global_entry_months.max(1),
            contact: config.data_protection_contact,
        };
        let documents = DocumentSettings {
            vault: config.vault,
            max_bytes: config.max_document_bytes.max(1),
            orphan_grace: config.document_orphan_grace,
            sweep_every: config.document_sweep_every,
        };
        let imports = ImportSettings {
            max_bytes: config.max_import_bytes.max(1),
            lease: config.import_lease.max(Duration::from_secs(1)),
            workers: config.import_workers.clamp(1, 64),
            // Testing only; capped, so that a stray setting cannot hold a database lock for long.
            crash_test_pause: config.import_crash_test_pause.min(Duration::from_secs(10)),
        };
        let webhooks =
            WebhookSettings { timeout: config.webhooks.timeout.max(Duration::from_millis(100)), ..config.webhooks };
        let (tables, fetched_at) = load_tables(&*store).await?;
        let cargos = CargosState::new(config.cargos_api, tables, fetched_at);
        Ok(Self {
            store,
            tokens: TokenSigner::new(&key)?,
            token_ttl: config.token_ttl,
            passwords: config.password_work,
            logins: Arc::new(LoginThrottle::new(config.login_limits)),
            blacklist,
            documents,
            audit_chain_key: config.audit_chain_key,
            imports,
            webhooks,
            cargos,
            payments: PaymentsState::new(config.stripe),
            telemetry: config.telemetry,
        })
    }

    /// The same services over `store`: the same database through connections of its own (the
    /// import workers' pool, so that a busy API cannot starve an import of connections, nor an
    /// import the API). Everything held in memory (token key, throttles, caches, tables) is
    /// shared with this App.
    #[must_use]
    pub fn with_store(&self, store: Arc<dyn Store>) -> Self {
        Self { store, ..self.clone() }
    }

    /// The store the services run on.
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// Where the services' measurements go.
    pub fn telemetry(&self) -> &Arc<dyn crate::telemetry::Telemetry> {
        &self.telemetry
    }
}

/// The Ca.R.G.O.S. tables refreshed into the database, or the built-in snapshot. Refreshed
/// tables that no longer parse (they were checked when stored) fall back to the snapshot, loudly.
async fn load_tables(store: &dyn Store) -> Result<(SharedTables, Option<crate::time::Timestamp>)> {
    let Some(stored) = store.cargos_tables().await? else { return Ok((SharedTables::default(), None)) };
    let texts = CargosTableTexts {
        payment_types: &stored.payment_types,
        places: &stored.places,
        vehicle_types: &stored.vehicle_types,
        document_types: &stored.document_types,
    };
    match CargosTables::parse(texts) {
        Ok(tables) => Ok((SharedTables::refreshed(tables), Some(stored.fetched_at))),
        Err(error) => {
            tracing::error!(%error, "the refreshed Ca.R.G.O.S. tables do not parse: using the built-in snapshot");
            Ok((SharedTables::default(), None))
        }
    }
}
