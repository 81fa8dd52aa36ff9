//! What the store keeps of documents, and the part of the storage contract that is theirs.

use crate::audit::entry::AuditEntry;
use crate::documents::record::{Document, DocumentKind, SealedFile};
use crate::documents::requirements::RequiredDocuments;
use crate::error::Result;
use crate::ids::{CustomerId, DocumentId, TenantId};

/// Documents' metadata and sealed file keys; the tenant's required documents. Part of [`crate::store::Store`]; see its documentation for what every method
/// keeps to.
#[async_trait::async_trait]
pub trait DocumentStore: Send + Sync {
    /// Replaces a tenant's required documents, with its audit entry, atomically.
    async fn set_required_documents(
        &self,
        tenant: TenantId,
        required: &RequiredDocuments,
        audit: &AuditEntry,
    ) -> Result<()>;
    /// Stores a new document with its audit entry, atomically.
    async fn insert_document(&self, document: &Document, audit: &AuditEntry) -> Result<()>;
    /// A document by id, deleted or not.
    async fn get_document(&self, tenant: TenantId, id: DocumentId) -> Result<Option<Document>>;
    /// A customer's documents, newest first.
    async fn list_documents(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        include_deleted: bool,
    ) -> Result<Vec<Document>>;
    /// Replaces a document's metadata and deletion if still at `expected_version`
    /// (`409 version_conflict` otherwise), with its audit entry, atomically.
    async fn update_document(&self, document: &Document, expected_version: i64, audit: &AuditEntry) -> Result<()>;
    /// The kind and expiry of every live document of these customers.
    async fn documents_held(
        &self,
        tenant: TenantId,
        customers: &[CustomerId],
    ) -> Result<Vec<(CustomerId, DocumentKind, Option<time::Date>)>>;
    /// Documents of any tenant whose file key is wrapped by another key than `key_id`, in
    /// (tenant, id) order after `after`, at most `limit` (master-key rotation).
    async fn documents_to_rewrap(
        &self,
        key_id: &str,
        after: Option<(TenantId, DocumentId)>,
        limit: u32,
    ) -> Result<Vec<Document>>;
    /// Replaces a document's wrapped file key, if it is still wrapped by `old_key_id`.
    async fn set_document_key(&self, document: &Document, old_key_id: &str, sealed: &SealedFile) -> Result<bool>;
    /// Which of `object_keys` a document row of `tenant` points at (deleted documents
    /// included: they keep their files).
    async fn document_objects_held(
        &self,
        tenant: TenantId,
        object_keys: &[String],
    ) -> Result<std::collections::HashSet<String>>;
}
