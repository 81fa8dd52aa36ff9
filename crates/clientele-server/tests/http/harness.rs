//! The real router served on `127.0.0.1:0` over a fresh database, and a small client for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clientele_core::App;
use clientele_core::accounts::passwords::{PasswordJob, PasswordOutcome, PasswordWork};
use clientele_core::accounts::services::{NewUser, TokenSubject};
use clientele_core::ids::{CustomerId, TenantId, UserId};
use clientele_server::{AppState, MetricsOptions};
use clientele_store::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The global blacklist's pseudonym key in tests.
pub const BLACKLIST_KEY: &[u8; 32] = b"test-blacklist-key-of-32-bytes!!";
/// The documents master key in tests.
pub const DOCUMENTS_MASTER_KEY: &[u8; 32] = b"test-documents-key-of-32-bytes!!";
/// The largest document file in tests (small, to test the limit cheaply).
pub const MAX_DOCUMENT_BYTES: u64 = 256 * 1024;
/// The largest import file in tests.
pub const MAX_IMPORT_BYTES: u64 = 4 * 1024 * 1024;
/// The data-protection contact in tests.
pub const DATA_PROTECTION_CONTACT: &str = "dpo@rental-platform.example";

/// The server's password pool, counting the jobs it runs: tests compare the work that
/// different logins cost without timing them.
#[derive(Debug)]
pub struct CountingPasswordWork {
    pool: clientele_server::BlockingPasswordPool,
    hashes: AtomicU64,
    checks: AtomicU64,
}

impl CountingPasswordWork {
    /// `(hashes, checks)` run so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.hashes.load(Ordering::SeqCst), self.checks.load(Ordering::SeqCst))
    }
}

#[async_trait::async_trait]
impl PasswordWork for CountingPasswordWork {
    async fn run(&self, job: PasswordJob) -> clientele_core::Result<PasswordOutcome> {
        match &job {
            PasswordJob::Hash(_) => self.hashes.fetch_add(1, Ordering::SeqCst),
            PasswordJob::Verify(..) => self.checks.fetch_add(1, Ordering::SeqCst),
        };
        PasswordWork::run(&self.pool, job).await
    }
}

/// A running server and what it runs on.
pub struct TestApp {
    pub base: String,
    pub app: Arc<App>,
    /// The password work the server did.
    pub passwords: Arc<CountingPasswordWork>,
    client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Where the document vault keeps its (encrypted) objects.
    pub documents_dir: std::path::PathBuf,
    /// The database URL (a twin server opens the same database).
    pub database_url: String,
    /// Where `/metrics` is served on a listen address of its own, when the test asked for one.
    pub metrics_base: Option<String>,
    /// What the server serves from: [`TestApp::router`] answers in-process from the same state.
    state: AppState,
    // Dropped last: the database and the files outlive the server. A twin has no database of
    // its own: it runs on another server's.
    _files: tempfile::TempDir,
    _db: Option<TestDatabase>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A response: status, content type and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `code` of a problem body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// `(field, code)` of each field error of a problem body.
    pub fn fields(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `id` of the body, as a customer id.
    pub fn id(&self) -> CustomerId {
        self.body["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no id in {:?}", self.body))
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        if status >= 400 {
            assert_eq!(self.content_type, "application/problem+json", "errors are problem+json");
        }
        self
    }

    /// Asserts a problem with this status and code.
    #[track_caller]
    pub fn problem(self, status: u16, code: &str) -> Self {
        let reply = self.expect(status);
        assert_eq!(reply.code(), code, "body: {}", reply.body);
        reply
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub user_id: Option<UserId>,
}

/// What a test app is started with beyond the defaults.
impl TestApp {
    pub async fn sqlite() -> Self {
        Self::start(TestDatabase::sqlite().await).await
    }

    pub async fn postgres() -> Option<Self> {
        Some(Self::start(TestDatabase::postgres().await?).await)
    }

    /// A server on a new SQLite database, serving connections with `http`.
    pub async fn sqlite_with_http(http: clientele_server::HttpOptions) -> Self {
        let db = TestDatabase::sqlite().await;
        let (store, url) = (db.store(), db.url().to_owned());
        Self::serve(store, url, Some(db), http, MetricsOptions::default(), |_| {}).await
    }

    /// A server on a new SQLite database whose `/metrics` is readable as `options` say (with
    /// `separate_listener`, served on a port of its own: [`TestApp::metrics_base`]).
    pub async fn sqlite_with_metrics(options: MetricsOptions) -> Self {
        Self::start_with_metrics(TestDatabase::sqlite().await, options).await
    }

    /// The same on PostgreSQL (when configured).
    pub async fn postgres_with_metrics(options: MetricsOptions) -> Option<Self> {
        Some(Self::start_with_metrics(TestDatabase::postgres().await?, options).await)
    }

    async fn start_with_metrics(db: TestDatabase, options: MetricsOptions) -> Self {
        let (store, url) = (db.store(), db.url().to_owned());
        Self::serve(store, url, Some(db), clientele_server::HttpOptions::default(), options, |_| {}).await
    }

    async fn start(db: TestDatabase) -> Self {
        Self::start_with(db, |_| {}).await
    }

    /// A test app on SQLite, with its configuration changed by `tweak`.
    pub async fn sqlite_with(tweak: impl FnOnce(&mut clientele_core::AppConfig)) -> Self {
        Self::start_with(TestDatabase::sqlite().await, tweak).await
    }

    /// A test app on PostgreSQL (when configured), with its configuration changed by `tweak`.
    pub async fn postgres_with(tweak: impl FnOnce(&mut clientele_core::AppConfig)) -> Option<Self> {
        Some(Self::start_with(TestDatabase::postgres().await?, tweak).await)
    }

    async fn start_with(db: TestDatabase, tweak: impl FnOnce(&mut clientele_core::AppConfig)) -> Self {
        let (store, url) = (db.store(), db.url().to_owned());
        let http = clientele_server::HttpOptions::default();
        Self::serve(store, url, Some(db), http, MetricsOptions::default(), tweak).await
    }

    /// A second server on this server's database, over a store of its own opened with
    /// `options`: what a second `clientele serve` process on the same database would be.
    pub async fn twin(&self, options: clientele_store::StoreOptions) -> Self {
        let store = clientele_store::SqlStore::connect(&self.database_url, &options).await.unwrap();
        let http = clientele_server::HttpOptions::default();
        Self::serve(Arc::new(store), self.database_url.clone(), None, http, MetricsOptions::default(), |_| {}).await
    }

    /// A second server on this server's database reached at `url` instead (through a proxy, say).
    pub async fn twin_at(&self, url: &str, options: clientele_store::StoreOptions) -> Self {
        let store = clientele_store::SqlStore::connect(url, &options).await.unwrap();
        let http = clientele_server::HttpOptions::default();
        Self::serve(Arc::new(store), url.to_owned(), None, http, MetricsOptions::default(), |_| {}).await
    }

    async fn serve(
        store: Arc<dyn clientele_core::store::Store>,
        database_url: String,
        db: Option<TestDatabase>,
        http: clientele_server::HttpOptions,
        metrics: MetricsOptions,
        tweak: impl FnOnce(&mut clientele_core::AppConfig),
    ) -> Self {
        let files = tempfile::tempdir().unwrap();
        let objects = object_store::local::LocalFileSystem::new_with_prefix(files.path()).unwrap();
        let master = clientele_core::documents::vault::MasterKey::new(DOCUMENTS_MASTER_KEY).unwrap();
        let vault = clientele_core::documents::vault::Vault::new(Arc::new(objects), master, Vec::new());
        let passwords = Arc::new(CountingPasswordWork {
            pool: clientele_server::BlockingPasswordPool::for_this_machine(),
            hashes: AtomicU64::new(0),
            checks: AtomicU64::new(0),
        });
        let config = clientele_core::AppConfig {
            password_work: passwords.clone(),
            blacklist_key: Some(BLACKLIST_KEY.to_vec()),
            data_protection_contact: DATA_PROTECTION_CONTACT.into(),
            vault: Some(vault),
            max_document_bytes: MAX_DOCUMENT_BYTES,
            max_import_bytes: MAX_IMPORT_BYTES,
            webhooks: test_webhooks(true),
            telemetry: Arc::new(clientele_server::Metrics::new()),
            ..clientele_core::AppConfig::default()
        };
        let mut config = config;
        tweak(&mut config);
        let app = App::new(store, config).await.unwrap();
        let separate = metrics.separate_listener;
        let state = AppState::new(app).with_http(http).with_metrics_options(metrics);
        let app = state.app.clone();
        let router_state = state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let metrics_base = if separate {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            // Stops with the test's runtime.
            tokio::spawn(clientele_server::serve_metrics(listener, state.clone(), std::future::pending()));
            Some(base)
        } else {
            None
        };
        tokio::spawn(clientele_server::serve(listener, state, async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        let documents_dir = files.path().to_owned();
        Self {
            base,
            app,
            passwords,
            client,
            shutdown: Some(shutdown),
            documents_dir,
            database_url,
            metrics_base,
            state: router_state,
            _files: files,
            _db: db,
        }
    }

    /// The server's router, to answer requests in-process (`tower::ServiceExt::oneshot`), without
    /// a connection: what the served one runs, minus the connection layer (no `ConnectInfo`
    /// unless the request carries it). For tests whose requests are too many for loopback TCP.
    pub fn router(&self) -> axum::Router {
        clientele_server::router(self.state.clone())
    }

    /// The test's database (not a twin's).
    pub fn db(&self) -> &TestDatabase {
        self._db.as_ref().expect("a twin has no database of its own")
    }

    /// A new tenant in Italy.
    pub async fn tenant(&self) -> TenantId {
        self.app.create_tenant("Tenant", "IT", None).await.unwrap().id
    }

    /// A new user of `tenant` with `role`, signed in.
    pub async fn user(&self, tenant: TenantId, role: &str) -> Session {
        self.user_with(tenant, role, None).await
    }

    /// A new partner user tied to `partner`, signed in.
    pub async fn partner_user(&self, tenant: TenantId, partner: CustomerId) -> Session {
        self.user_with(tenant, "partner", Some(partner)).await
    }

    async fn user_with(&self, tenant: TenantId, role: &str, partner_id: Option<CustomerId>) -> Session {
        let email = format!("{role}-{}@example.com", uuid::Uuid::new_v4().simple());
        let user = self
            .app
            .create_user(NewUser {
                tenant_id: tenant,
                email: email.clone(),
                role: role.into(),
                password: "correct horse battery".into(),
                partner_id,
            })
            .await
            .unwrap();
        let token = self.app.issue_token(&TokenSubject::User(tenant, email), Duration::from_secs(600)).await.unwrap();
        Session { token: token.access_token, user_id: Some(user.id) }
    }

    /// A new platform admin, signed in.
    pub async fn platform_admin(&self) -> Session {
        let email = format!("root-{}@example.com", uuid::Uuid::new_v4().simple());
        self.app.create_platform_admin(&email, "correct horse battery").await.unwrap();
        let token = self.app.issue_token(&TokenSubject::PlatformAdmin(email), Duration::from_secs(600)).await.unwrap();
        Session { token: token.access_token, user_id: None }
    }

    /// A request with an optional session and JSON body.
    pub async fn call(&self, method: Method, path: &str, session: Option<&Session>, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(session) = session {
            request = request.bearer_auth(&session.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// Sends a prepared request.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, content_type, headers, body }
    }

    /// A raw request builder, for headers and bodies the helpers do not cover.
    pub fn request(&self, method: Method, path: &str, session: &Session) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base)).bearer_auth(&session.token)
    }

    /// A plain GET without a session, as a browser would send it; the response unread.
    pub async fn client_get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).send().await.unwrap()
    }

    pub async fn get(&self, path: &str, session: &Session) -> Reply {
        self.call(Method::GET, path, Some(session), None).await
    }

    pub async fn post(&self, path: &str, session: &Session, body: Value) -> Reply {
        self.call(Method::POST, path, Some(session), Some(body)).await
    }

    pub async fn patch(&self, path: &str, session: &Session, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(session), Some(body)).await
    }

    pub async fn delete(&self, path: &str, session: &Session) -> Reply {
        self.call(Method::DELETE, path, Some(session), None).await
    }

    /// A DELETE with a JSON body (lifting a blacklist entry takes a note).
    pub async fn delete_with(&self, path: &str, session: &Session, body: Value) -> Reply {
        self.call(Method::DELETE, path, Some(session), Some(body)).await
    }

    /// Uploads `bytes` as a document of `kind` (with more form fields) for `customer`.
    pub async fn upload(
        &self,
        session: &Session,
        customer: CustomerId,
        kind: &str,
        fields: &[(&str, &str)],
        bytes: &[u8],
    ) -> Reply {
        let file = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("scan.pdf");
        let mut form = reqwest::multipart::Form::new().text("kind", kind.to_owned()).part("file", file);
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        let path = format!("/api/v1/customers/{customer}/documents");
        self.send(self.request(Method::POST, &path, session).multipart(form)).await
    }

    /// Creates a client named `first last` as `session`; returns its id.
    pub async fn client(&self, session: &Session, first: &str, last: &str) -> CustomerId {
        self.post("/api/v1/customers", session, json!({"first_name": first, "last_name": last})).await.expect(201).id()
    }

    /// Creates a partner company as `session`; returns its id.
    pub async fn partner_company(&self, session: &Session, name: &str) -> CustomerId {
        self.post("/api/v1/customers", session, json!({"kind": "partner", "company_name": name})).await.expect(201).id()
    }
}

/// A small valid PDF.
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// The ids of a list reply's items.
pub fn ids(reply: &Reply) -> Vec<CustomerId> {
    reply.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().parse().unwrap()).collect()
}

/// Webhooks as the tests send them: to receivers on loopback over plain http, retried quickly.
pub fn test_webhooks(allow_private_hosts: bool) -> clientele_core::webhooks::WebhookSettings {
    let transport = clientele_integrations::webhooks::HttpWebhooks::new(allow_private_hosts).unwrap();
    clientele_core::webhooks::WebhookSettings {
        transport: Some(Arc::new(transport)),
        allow_http: true,
        retries: vec![Duration::from_millis(50); 3],
        ..clientele_core::webhooks::WebhookSettings::default()
    }
}
