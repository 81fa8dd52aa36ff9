//! What the services keep of Ca.R.G.O.S. between calls, in this process: the police API client
//! (if this server has one), the tables in use, and each tenant's current session (the token
//! encrypted for its API key), reused until shortly before it expires.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::cargos::api::{CargosApi, CargosSession};
use crate::cargos::tables::SharedTables;
use crate::ids::TenantId;
use crate::time::Timestamp;

/// How long before its stated expiry a token is no longer used (the TypeScript SDK's margin).
pub(crate) const TOKEN_MARGIN: Duration = Duration::from_secs(5 * 60);
/// How long a token whose expiry the service did not state is used.
pub(crate) const TOKEN_DEFAULT_LIFE: Duration = Duration::from_secs(20 * 60);

/// A tenant's session, for the credentials it was made with.
#[derive(Clone)]
struct CachedSession {
    fingerprint: [u8; 32],
    session: CargosSession,
    until: Timestamp,
}

/// See the module documentation.
#[derive(Clone, Default)]
pub(crate) struct CargosState {
    pub api: Option<Arc<dyn CargosApi>>,
    tables: Arc<RwLock<(SharedTables, Option<Timestamp>)>>,
    sessions: Arc<Mutex<HashMap<TenantId, CachedSession>>>,
}

impl fmt::Debug for CargosState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CargosState").field("api", &self.api).finish_non_exhaustive()
    }
}

impl CargosState {
    pub fn new(api: Option<Arc<dyn CargosApi>>, tables: SharedTables, fetched_at: Option<Timestamp>) -> Self {
        Self { api, tables: Arc::new(RwLock::new((tables, fetched_at))), sessions: Arc::default() }
    }

    /// The tables in use, and when they were downloaded (`None`: the built-in snapshot).
    pub fn tables(&self) -> (SharedTables, Option<Timestamp>) {
        self.tables.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub fn set_tables(&self, tables: SharedTables, fetched_at: Timestamp) {
        *self.tables.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = (tables, Some(fetched_at));
    }

    /// The tenant's session made with the same credentials, while it is still good at `now`.
    pub fn session(&self, tenant: TenantId, fingerprint: &[u8; 32], now: Timestamp) -> Option<CargosSession> {
        let sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sessions
            .get(&tenant)
            .filter(|cached| &cached.fingerprint == fingerprint && now < cached.until)
            .map(|cached| cached.session.clone())
    }

    pub fn keep_session(&self, tenant: TenantId, fingerprint: [u8; 32], session: CargosSession, until: Timestamp) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sessions.insert(tenant, CachedSession { fingerprint, session, until });
    }

    pub fn forget_session(&self, tenant: TenantId) {
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&tenant);
    }
}
