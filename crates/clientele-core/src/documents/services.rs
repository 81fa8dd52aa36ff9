//! Document services: upload, metadata, download, change, delete, the tenant's required
//! documents, and master-key rotation.
//!
//! Every document request by a tenant user writes exactly one audit entry, allowed or denied,
//! with the reason: the role that allowed it, or why it was refused (role, unknown or invisible
//! customer, invalid upload, unreadable file). Changes write their entry in the same transaction.

use crate::ids::DocumentId;
use uuid::Uuid;

use crate::accounts::access::{Capability, CustomerScope, Grant};
use crate::accounts::auth::Actor;
use crate::accounts::user::Role;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry, Outcome};
use crate::documents::record::{Document, DocumentFile, DocumentMetaInput, check_file, clean_file_name};
use crate::documents::requirements::{RequiredDocuments, RequiredDocumentsInput, RequiredDocumentsView};
use crate::documents::vault::Vault;
use crate::error::{Error, ErrorCode, FieldCode, Result};
use crate::ids::{CustomerId, TenantId};
use crate::time::Timestamp;

/// An upload as received: the file and the metadata form fields.
#[derive(Debug, Default)]
pub struct Upload {
    /// The file's bytes (already limited in size by the reader).
    pub bytes: Vec<u8>,
    /// The file name sent with it.
    pub file_name: Option<String>,
    /// Whether the request had a file part at all.
    pub has_file: bool,
    /// Metadata.
    pub meta: DocumentMetaInput,
    /// Why reading the request failed (an oversize file, a malformed form), if it did: the
    /// attempt is refused with it, and logged like any other refusal.
    pub rejected: Option<Error>,
}

/// A downloaded file.
#[derive(Debug, Clone)]
pub struct Download {
    /// The document.
    pub document: Document,
    /// The decrypted, checked bytes.
    pub bytes: Vec<u8>,
}

/// What a document request is for: decides who may, and what the audit entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentAccess {
    /// Uploading a customer's document.
    Upload,
    /// Listing a customer's documents.
    View,
    /// Downloading a document's file.
    Download,
    /// Changing a document's metadata.
    Change,
    /// Deleting a document.
    Delete,
}

/// What a document request that could not be read was aimed at, as far as it was read: the
/// customer of the `/customers/{id}/documents` routes or the document of `/documents/{id}`
/// (`None` when the path's id itself was what could not be read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentTarget {
    /// A customer's documents.
    Customer(Option<CustomerId>),
    /// One document.
    Document(Option<DocumentId>),
}

impl DocumentAccess {
    fn action(self) -> AuditAction {
        match self {
            Self::Upload => AuditAction::DocumentUploaded,
            Self::View => AuditAction::DocumentsViewed,
            Self::Download => AuditAction::DocumentDownloaded,
            Self::Change => AuditAction::DocumentUpdated,
            Self::Delete => AuditAction::DocumentDeleted,
        }
    }

    /// The roles table: admins and operators do everything; drivers view and download the
    /// documents of customers on orders assigned to them; partners nothing.
    fn allows(self, role: Role) -> bool {
        match self {
            Self::View | Self::Download => matches!(role, Role::Admin | Role::Operator | Role::Driver),
            Self::Upload | Self::Change | Self::Delete => matches!(role, Role::Admin | Role::Operator),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Upload => "upload documents",
            Self::View => "view documents",
            Self::Download => "download documents",
            Self::Change => "change documents",
            Self::Delete => "delete documents",
        }
    }
}

/// One document request under way: who, what, on which object, for the audit entry.
struct Attempt<'a> {
    actor: &'a Actor,
    tenant: TenantId,
    access: DocumentAccess,
    object_type: &'static str,
    object_id: Uuid,
    customer: Option<CustomerId>,
}

impl Attempt<'_> {
    fn entry(&self, outcome: Outcome, reason: String) -> AuditEntry {
        let mut entry = AuditEntry::new(
            self.actor,
            self.tenant,
            self.access.action(),
            self.object_type,
            self.object_id,
            self.customer,
        )
        .with_reason(reason);
        entry.outcome = outcome;
        entry
    }

    fn allowed(&self, role: Role) -> AuditEntry {
        let reason = match role {
            Role::Driver => "driver of an order of this customer".to_owned(),
            other => format!("role {}", other.as_str()),
        };
        self.entry(Outcome::Allowed, reason)
    }
}

impl App {
    /// Whether the document store works (for readiness): `None` when documents are not
    /// configured on this server, else the outcome of a probe write, read and delete.
    pub async fn probe_document_store(&self) -> Option<Result<()>> {
        Some(self.documents.vault.as_ref()?.probe().await)
    }

    /// The vault, or `503 documents_unavailable` when no master key is configured.
    fn vault(&self) -> Result<&Vault> {
        self.documents.vault.as_ref().ok_or_else(|| {
            Error::server(
                ErrorCode::DocumentsUnavailable,
                "document storage is not configured on this server (documents.master_key)",
            )
        })
    }

    /// Whether `actor`'s role may upload documents (checked again, and logged, by the upload).
    pub fn may_upload_documents(&self, actor: &Actor) -> bool {
        document_grant(actor, DocumentAccess::Upload).is_ok()
    }

    /// The largest file accepted, in bytes.
    pub fn max_document_bytes(&self) -> u64 {
        self.documents.max_bytes
    }

    /// Runs `body` as the document request `attempt`, after the role check; writes the denial
    /// (with its reason) when the role or `body` refuses. `body` writes the allowed entry.
    async fn attempt<T>(
        &self,
        attempt: &mut Attempt<'_>,
        body: impl AsyncFnOnce(&App, Grant, &mut Attempt<'_>) -> Result<T>,
    ) -> Result<T> {
        // The log names the customer a document belongs to, even when the request is refused.
        if attempt.customer.is_none() && attempt.object_type == "document" {
            let document = self.store().get_document(attempt.tenant, DocumentId::from_uuid(attempt.object_id)).await?;
            attempt.customer = document.map(|d| d.customer_id);
        }
        let grant = match document_grant(attempt.actor, attempt.access) {
            Ok(grant) => grant,
            Err(error) => {
                self.deny(attempt, &error).await?;
                return Err(error);
            }
        };
        match body(self, grant, attempt).await {
            Ok(value) => Ok(value),
            Err(error) => {
                self.deny(attempt, &error).await?;
                Err(error)
            }
        }
    }

    /// Refuses a document request whose path, query, headers or body could not be read (a
    /// malformed id, `If-Match` or JSON, say), by a signed-in tenant user: the attempt is
    /// logged like any refusal, naming the `endpoint` (`METHOD /route`), and `error` is
    /// returned to answer it with. Requests nobody signed in to are not logged (they never
    /// reach a tenant's data, and the log is the tenant's); nor are a platform admin's, which
    /// have no tenant. Failing to write the entry answers with that failure instead.
    pub async fn refuse_document_request(
        &self,
        actor: &Actor,
        access: DocumentAccess,
        target: DocumentTarget,
        endpoint: &str,
        error: Error,
    ) -> Error {
        let Ok(tenant) = tenant_of(actor) else { return error };
        let (object_type, object_id, customer) = match (access, target) {
            // An upload names the document it would have made, as an allowed one does.
            (DocumentAccess::Upload, DocumentTarget::Customer(customer)) => {
                ("document", DocumentId::new().as_uuid(), customer)
            }
            (_, DocumentTarget::Customer(customer)) => {
                ("customer", customer.map_or(Uuid::nil(), |c| c.as_uuid()), customer)
            }
            (_, DocumentTarget::Document(document)) => {
                ("document", document.map_or(Uuid::nil(), |d| d.as_uuid()), None)
            }
        };
        let mut attempt = Attempt { actor, tenant, access, object_type, object_id, customer };
        if let DocumentTarget::Document(Some(id)) = target {
            match self.store().get_document(tenant, id).await {
                Ok(document) => attempt.customer = document.map(|d| d.customer_id),
                Err(failure) => return failure,
            }
        }
        let endpoint: String = endpoint.chars().filter(|c| !c.is_control()).take(200).collect();
        let entry = self.denial(&attempt, &error).with_changes(serde_json::json!({ "endpoint": endpoint }));
        match self.store().record(&[entry], &[]).await {
            Ok(()) => error,
            Err(failure) => failure,
        }
    }

    /// Writes the refusal (or failure) of `attempt`. Failing to write it fails the request, as
    /// for an allowed access: an access the log cannot record does not happen silently.
    async fn deny(&self, attempt: &Attempt<'_>, error: &Error) -> Result<()> {
        self.store().record(&[self.denial(attempt, error)], &[]).await
    }

    /// The audit entry of `attempt` refused with `error`.
    fn denial(&self, attempt: &Attempt<'_>, error: &Error) -> AuditEntry {
        let reason = match error {
            Error::Invalid(fields) => {
                let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                format!("invalid: {}", names.join(", "))
            }
            // Our own failure (storage down): recorded, without internals.
            Error::Internal(_) => "failed: internal error".to_owned(),
            other => format!("{}: {other}", other.code().as_str()),
        };
        attempt.entry(Outcome::Denied, clean_reason(&reason))
    }

    /// Uploads a document for a customer (admins and operators).
    pub async fn upload_document(&self, actor: &Actor, customer_id: CustomerId, upload: Upload) -> Result<Document> {
        let vault = self.vault()?.clone();
        let tenant = tenant_of(actor)?;
        let document_id = DocumentId::new();
        let mut attempt = Attempt {
            actor,
            tenant,
            access: DocumentAccess::Upload,
            object_type: "document",
            object_id: document_id.as_uuid(),
            customer: Some(customer_id),
        };
        self.attempt(&mut attempt, async |app, grant, attempt| {
            let customer = app.visible_customer(&grant, customer_id).await?;
            if customer.deleted_at.is_some() {
                return Err(Error::conflict(ErrorCode::CustomerDeleted, "the customer is deleted; restore it first"));
            }
            if let Some(error) = upload.rejected {
                return Err(error);
            }
            let today = Timestamp::now().date();
            let meta = upload.meta.parse(today);
            let file = if upload.has_file {
                check_file(&upload.bytes)
            } else {
                Err(Error::invalid("file", FieldCode::Required, "send the file as a multipart part named file"))
            };
            let (meta, file_type) = match (meta, file) {
                (Ok(meta), Ok(file_type)) => (meta, file_type),
                (Err(Error::Invalid(mut a)), Err(Error::Invalid(b))) => {
                    a.extend(b);
                    return Err(Error::Invalid(a));
                }
                (Err(e), _) | (_, Err(e)) => return Err(e),
            };
            let sealed = vault.seal(tenant, document_id, &upload.bytes).await?;
            let now = Timestamp::now();
            let document = Document {
                id: document_id,
                tenant_id: tenant,
                customer_id,
                meta,
                file: DocumentFile {
                    name: upload.file_name.as_deref().and_then(clean_file_name),
                    content_type: file_type.content_type().to_owned(),
                    size: i64::try_from(upload.bytes.len()).unwrap_or(i64::MAX),
                    sha256: sealed.sha256,
                },
                sealed: sealed.file,
                created_at: now,
                created_by: actor.user_uuid(),
                updated_at: now,
                version: 1,
                deleted_at: None,
            };
            let entry =
                attempt.allowed(grant.role).with_event(crate::events::payload::document_uploaded(actor, &document));
            if let Err(error) = app.store().insert_document(&document, &entry).await {
                // No row, no file: the stored object would be unreachable.
                if let Err(cleanup) = vault.remove(&document.sealed).await {
                    tracing::warn!(error = %cleanup, "could not remove the file of a failed upload");
                }
                return Err(error);
            }
            Ok(document)
        })
        .await
    }

    /// A customer's documents (metadata only), newest first; deleted ones with `include_deleted`
    /// (admins and operators).
    pub async fn documents(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        include_deleted: bool,
    ) -> Result<Vec<Document>> {
        let tenant = tenant_of(actor)?;
        let mut attempt = Attempt {
            actor,
            tenant,
            access: DocumentAccess::View,
            object_type: "customer",
            object_id: customer_id.as_uuid(),
            customer: Some(customer_id),
        };
        self.attempt(&mut attempt, async |app, grant, attempt| {
            app.visible_customer(&grant, customer_id).await?;
            let with_deleted = include_deleted && grant.scope == CustomerScope::All;
            let documents = app.store().list_documents(tenant, customer_id, with_deleted).await?;
            app.store().record(&[attempt.allowed(grant.role)], &[]).await?;
            Ok(documents)
        })
        .await
    }

    /// A document's file, decrypted and checked.
    pub async fn download_document(&self, actor: &Actor, id: DocumentId) -> Result<Download> {
        let tenant = tenant_of(actor)?;
        let mut attempt = Attempt {
            actor,
            tenant,
            access: DocumentAccess::Download,
            object_type: "document",
            object_id: id.as_uuid(),
            customer: None,
        };
        self.attempt(&mut attempt, async |app, grant, attempt| {
            let document = app.live_document(&grant, id, attempt).await?;
            let bytes = app.vault()?.open(tenant, document.id, &document.sealed, &document.file.sha256).await?;
            app.store().record(&[attempt.allowed(grant.role)], &[]).await?;
            Ok(Download { document, bytes })
        })
        .await
    }

    /// Changes a document's metadata with a JSON merge patch (admins and operators).
    pub async fn update_document(
        &self,
        actor: &Actor,
        id: DocumentId,
        patch: &serde_json::Value,
        expected_version: Option<i64>,
    ) -> Result<Document> {
        let tenant = tenant_of(actor)?;
        let mut attempt = Attempt {
            actor,
            tenant,
            access: DocumentAccess::Change,
            object_type: "document",
            object_id: id.as_uuid(),
            customer: None,
        };
        self.attempt(&mut attempt, async |app, grant, attempt| {
            let current = app.live_document(&grant, id, attempt).await?;
            let serde_json::Value::Object(members) = patch else {
                return Err(Error::invalid("body", FieldCode::InvalidType, "must be a JSON object"));
            };
            let body_version = match members.get("version") {
                None => None,
                Some(v) => Some(v.as_i64().ok_or_else(|| {
                    Error::invalid("version", FieldCode::InvalidType, "must be the document's version, an integer")
                })?),
            };
            let expected = expected_version.or(body_version);
            let mut merged = serde_json::to_value(DocumentMetaInput::from(&current.meta)).map_err(Error::internal)?;
            let mut meta_patch = patch.clone();
            if let Some(map) = meta_patch.as_object_mut() {
                map.remove("version");
            }
            crate::json::merge_patch(&mut merged, &meta_patch);
            let input: DocumentMetaInput = crate::json::from_value(merged)?;
            let meta = input.parse(Timestamp::now().date())?;
            if let Some(expected) = expected
                && expected != current.version
            {
                return Err(Error::version_conflict("document", expected, current.version));
            }
            if meta == current.meta {
                app.store().record(&[attempt.allowed(grant.role).with_reason("unchanged")], &[]).await?;
                return Ok(current);
            }
            let before = serde_json::to_value(&current.meta).map_err(Error::internal)?;
            let after = serde_json::to_value(&meta).map_err(Error::internal)?;
            let updated =
                Document { meta, updated_at: Timestamp::now(), version: current.version + 1, ..current.clone() };
            let entry = attempt.allowed(grant.role).with_changes(crate::json::diff(&before, &after));
            app.store().update_document(&updated, current.version, &entry).await?;
            Ok(updated)
        })
        .await
    }

    /// Soft-deletes a document (admins and operators). Its file is kept, as is its history.
    pub async fn delete_document(&self, actor: &Actor, id: DocumentId, expected_version: Option<i64>) -> Result<()> {
        let tenant = tenant_of(actor)?;
        let mut attempt = Attempt {
            actor,
            tenant,
            access: DocumentAccess::Delete,
            object_type: "document",
            object_id: id.as_uuid(),
            customer: None,
        };
        self.attempt(&mut attempt, async |app, grant, attempt| {
            let current = app.live_document(&grant, id, attempt).await?;
            if let Some(expected) = expected_version
                && expected != current.version
            {
                return Err(Error::version_conflict("document", expected, current.version));
            }
            let now = Timestamp::now();
            let deleted =
                Document { deleted_at: Some(now), updated_at: now, version: current.version + 1, ..current.clone() };
            app.store().update_document(&deleted, current.version, &attempt.allowed(grant.role)).await
        })
        .await
    }

    /// A live document the grant may reach; notes its customer on the attempt.
    async fn live_document(&self, grant: &Grant, id: DocumentId, attempt: &mut Attempt<'_>) -> Result<Document> {
        let document = self.store().get_document(grant.tenant_id, id).await?;
        let document = document.filter(|d| d.deleted_at.is_none()).ok_or(Error::NotFound("document"))?;
        attempt.customer = Some(document.customer_id);
        self.visible_customer(grant, document.customer_id).await.map_err(|e| match e {
            Error::NotFound(_) => Error::NotFound("document"),
            other => other,
        })?;
        Ok(document)
    }

    /// The tenant's required documents.
    pub async fn required_documents(&self, actor: &Actor) -> Result<RequiredDocumentsView> {
        let grant = actor.require(Capability::ManageSettings)?;
        let tenant = self.tenant(grant.tenant_id).await?;
        Ok(RequiredDocumentsView { required: tenant.required_documents.names() })
    }

    /// Replaces the tenant's required documents (admins).
    pub async fn set_required_documents(
        &self,
        actor: &Actor,
        input: &RequiredDocumentsInput,
    ) -> Result<RequiredDocumentsView> {
        let grant = actor.require(Capability::ManageSettings)?;
        let tenant = self.tenant(grant.tenant_id).await?;
        let required = RequiredDocuments::parse(&input.required)?;
        let entry = AuditEntry::new(
            actor,
            grant.tenant_id,
            AuditAction::RequiredDocumentsChanged,
            "tenant",
            grant.tenant_id.as_uuid(),
            None,
        )
        .with_changes(serde_json::json!({"required_documents": {
            "from": tenant.required_documents.names(),
            "to": required.names(),
        }}));
        self.store().set_required_documents(grant.tenant_id, &required, &entry).await?;
        Ok(RequiredDocumentsView { required: required.names() })
    }

    /// Re-wraps every document's file key with the current master key (`clientele documents
    /// rotate-key`): how many were re-wrapped.
    pub async fn rotate_document_keys(&self) -> Result<u64> {
        let vault = self.vault()?;
        let mut done = 0u64;
        let mut after = None;
        loop {
            let page = self.store().documents_to_rewrap(vault.current_key_id(), after, 500).await?;
            let Some(last) = page.last() else { break };
            after = Some((last.tenant_id, last.id));
            for document in &page {
                if let Some(sealed) = vault.rewrap(document.tenant_id, document.id, &document.sealed)?
                    && self.store().set_document_key(document, &document.sealed.key_id, &sealed).await?
                {
                    done += 1;
                }
            }
        }
        Ok(done)
    }
}

/// The tenant of a tenant user or command-line actor; platform admins hold no documents.
fn tenant_of(actor: &Actor) -> Result<TenantId> {
    actor
        .tenant_id()
        .ok_or_else(|| Error::Forbidden("platform administrators cannot reach a tenant's documents".into()))
}

/// The grant for a document request, or `403` naming what the role may not do.
fn document_grant(actor: &Actor, access: DocumentAccess) -> Result<Grant> {
    let grant = actor.require(Capability::ReadCustomers)?;
    if access.allows(grant.role) {
        Ok(grant)
    } else {
        Err(Error::Forbidden(format!("your role may not {}", access.describe())))
    }
}

/// A reason fit for the log: no control characters (a NUL would not even store), at most 300
/// characters (field names in it come from the client).
fn clean_reason(reason: &str) -> String {
    reason.chars().filter(|c| !c.is_control()).take(300).collect()
}
