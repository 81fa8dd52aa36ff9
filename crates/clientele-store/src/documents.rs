//! Documents' metadata and wrapped file keys (the encrypted bytes live in the object store), and
//! the tenant's required documents.

use async_trait::async_trait;
use clientele_core::audit::entry::AuditEntry;
use clientele_core::documents::record::{Document, DocumentFile, DocumentKind, DocumentMeta, SealedFile};
use clientele_core::documents::requirements::RequiredDocuments;
use clientele_core::documents::store::DocumentStore;
use clientele_core::ids::DocumentId;
use clientele_core::ids::{CustomerId, TenantId};
use clientele_core::values::CountryCode;
use clientele_core::{Error, Result};
use sqlx::QueryBuilder;
use time::Date;
use uuid::Uuid;

use crate::SqlStore;
use crate::audit::append_audit;
use crate::customers::writes::stale_write;
use crate::db::{Scope, Ts, db_error, in_transaction, with_reader};

macro_rules! document_columns {
    () => {
        "tenant_id, id, customer_id, kind, number, issuing_country, issuing_place, issued_on, expires_on, \
         file_name, content_type, size, sha256, object_key, key_id, wrapped_key, created_at, created_by, \
         updated_at, version, deleted_at"
    };
}

#[derive(Debug, sqlx::FromRow)]
struct DocumentRecord {
    tenant_id: Uuid,
    id: Uuid,
    customer_id: Uuid,
    kind: String,
    number: Option<String>,
    issuing_country: Option<String>,
    issuing_place: Option<String>,
    issued_on: Option<Date>,
    expires_on: Option<Date>,
    file_name: Option<String>,
    content_type: String,
    size: i64,
    sha256: String,
    object_key: String,
    key_id: String,
    wrapped_key: Vec<u8>,
    created_at: Ts,
    created_by: Option<Uuid>,
    updated_at: Ts,
    version: i64,
    deleted_at: Option<Ts>,
}

impl TryFrom<DocumentRecord> for Document {
    type Error = Error;
    fn try_from(r: DocumentRecord) -> Result<Self> {
        let kind = DocumentKind::parse(&r.kind)
            .map_err(|_| Error::internal(format!("stored document kind is unknown: {}", r.kind)))?;
        Ok(Document {
            id: DocumentId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            customer_id: CustomerId::from_uuid(r.customer_id),
            meta: DocumentMeta {
                kind,
                number: r.number,
                issuing_country: r.issuing_country.as_deref().and_then(CountryCode::from_stored),
                issuing_place: r.issuing_place,
                issued_on: r.issued_on,
                expires_on: r.expires_on,
            },
            file: DocumentFile { name: r.file_name, content_type: r.content_type, size: r.size, sha256: r.sha256 },
            sealed: SealedFile { object_key: r.object_key, key_id: r.key_id, wrapped_key: r.wrapped_key },
            created_at: r.created_at.0,
            created_by: r.created_by,
            updated_at: r.updated_at.0,
            version: r.version,
            deleted_at: r.deleted_at.map(|t| t.0),
        })
    }
}

#[async_trait]
impl DocumentStore for SqlStore {
    async fn set_required_documents(
        &self,
        tenant: TenantId,
        required: &RequiredDocuments,
        audit: &AuditEntry,
    ) -> Result<()> {
        in_transaction!(self, tenant, |tx| {
            let changed = sqlx::query("UPDATE tenants SET required_documents = $2 WHERE id = $1")
                .bind(tenant.as_uuid())
                .bind(required.to_stored())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            if changed.rows_affected() == 0 {
                return Err(Error::NotFound("tenant"));
            }
            append_audit!(self, tx, std::slice::from_ref(audit));
        });
        Ok(())
    }

    async fn insert_document(&self, d: &Document, audit: &AuditEntry) -> Result<()> {
        in_transaction!(self, d.tenant_id, |tx| {
            sqlx::query(concat!(
                "INSERT INTO documents (",
                document_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
                 $20, $21)"
            ))
            .bind(d.tenant_id.as_uuid())
            .bind(d.id.as_uuid())
            .bind(d.customer_id.as_uuid())
            .bind(d.meta.kind.as_str())
            .bind(&d.meta.number)
            .bind(d.meta.issuing_country.as_ref().map(|c| c.as_str().to_owned()))
            .bind(&d.meta.issuing_place)
            .bind(d.meta.issued_on)
            .bind(d.meta.expires_on)
            .bind(&d.file.name)
            .bind(&d.file.content_type)
            .bind(d.file.size)
            .bind(&d.file.sha256)
            .bind(&d.sealed.object_key)
            .bind(&d.sealed.key_id)
            .bind(&d.sealed.wrapped_key)
            .bind(Ts(d.created_at))
            .bind(d.created_by)
            .bind(Ts(d.updated_at))
            .bind(d.version)
            .bind(d.deleted_at.map(Ts))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            append_audit!(self, tx, std::slice::from_ref(audit));
        });
        Ok(())
    }

    async fn get_document(&self, tenant: TenantId, id: DocumentId) -> Result<Option<Document>> {
        let record = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, DocumentRecord>(concat!(
                "SELECT ",
                document_columns!(),
                " FROM documents WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(conn)
            .await
        });
        record.map_err(db_error)?.map(Document::try_from).transpose()
    }

    async fn list_documents(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        include_deleted: bool,
    ) -> Result<Vec<Document>> {
        let records = with_reader!(self, tenant, |conn| {
            let mut sql =
                QueryBuilder::new(concat!("SELECT ", document_columns!(), " FROM documents WHERE tenant_id = "));
            sql.push_bind(tenant.as_uuid()).push(" AND customer_id = ").push_bind(customer.as_uuid());
            if !include_deleted {
                sql.push(" AND deleted_at IS NULL");
            }
            sql.push(" ORDER BY id DESC LIMIT 1000");
            sql.build_query_as::<DocumentRecord>().fetch_all(conn).await
        });
        records.map_err(db_error)?.into_iter().map(Document::try_from).collect()
    }

    async fn update_document(&self, d: &Document, expected_version: i64, audit: &AuditEntry) -> Result<()> {
        in_transaction!(self, d.tenant_id, |tx| {
            let updated = sqlx::query(
                "UPDATE documents SET kind = $3, number = $4, issuing_country = $5, issuing_place = $6, \
                 issued_on = $7, expires_on = $8, updated_at = $9, version = $10, deleted_at = $11 \
                 WHERE tenant_id = $1 AND id = $2 AND version = $12",
            )
            .bind(d.tenant_id.as_uuid())
            .bind(d.id.as_uuid())
            .bind(d.meta.kind.as_str())
            .bind(&d.meta.number)
            .bind(d.meta.issuing_country.as_ref().map(|c| c.as_str().to_owned()))
            .bind(&d.meta.issuing_place)
            .bind(d.meta.issued_on)
            .bind(d.meta.expires_on)
            .bind(Ts(d.updated_at))
            .bind(d.version)
            .bind(d.deleted_at.map(Ts))
            .bind(expected_version)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
            if updated.rows_affected() == 0 {
                return Err(stale_write!(
                    tx,
                    "documents",
                    "document",
                    d.tenant_id.as_uuid(),
                    d.id.as_uuid(),
                    expected_version
                ));
            }
            append_audit!(self, tx, std::slice::from_ref(audit));
        });
        Ok(())
    }

    async fn documents_held(
        &self,
        tenant: TenantId,
        customers: &[CustomerId],
    ) -> Result<Vec<(CustomerId, DocumentKind, Option<Date>)>> {
        let mut held = Vec::new();
        for chunk in customers.chunks(500) {
            let rows = with_reader!(self, tenant, |conn| {
                let mut sql =
                    QueryBuilder::new("SELECT customer_id, kind, expires_on FROM documents WHERE tenant_id = ");
                sql.push_bind(tenant.as_uuid()).push(" AND deleted_at IS NULL AND customer_id IN (");
                let mut list = sql.separated(", ");
                for customer in chunk {
                    list.push_bind(customer.as_uuid());
                }
                sql.push(")");
                sql.build_query_as::<(Uuid, String, Option<Date>)>().fetch_all(conn).await
            });
            for (customer, kind, expires) in rows.map_err(db_error)? {
                // Unknown kinds cannot be stored (CHECK constraint); skip rather than fail a list.
                if let Ok(kind) = DocumentKind::parse(&kind) {
                    held.push((CustomerId::from_uuid(customer), kind, expires));
                }
            }
        }
        Ok(held)
    }

    async fn document_objects_held(
        &self,
        tenant: TenantId,
        object_keys: &[String],
    ) -> Result<std::collections::HashSet<String>> {
        let mut held = std::collections::HashSet::new();
        for chunk in object_keys.chunks(500) {
            let rows = with_reader!(self, tenant, |conn| {
                let mut sql = QueryBuilder::new("SELECT object_key FROM documents WHERE tenant_id = ");
                sql.push_bind(tenant.as_uuid()).push(" AND object_key IN (");
                let mut list = sql.separated(", ");
                for key in chunk {
                    list.push_bind(key.as_str());
                }
                sql.push(")");
                sql.build_query_scalar::<String>().fetch_all(conn).await
            });
            held.extend(rows.map_err(db_error)?);
        }
        Ok(held)
    }

    async fn documents_to_rewrap(
        &self,
        key_id: &str,
        after: Option<(TenantId, DocumentId)>,
        limit: u32,
    ) -> Result<Vec<Document>> {
        let records = with_reader!(self, Scope::AllTenants, |conn| {
            let mut sql = QueryBuilder::new(concat!(
                "/* all tenants */ SELECT ",
                document_columns!(),
                " FROM documents WHERE key_id <> "
            ));
            sql.push_bind(key_id);
            if let Some((tenant, id)) = after {
                sql.push(" AND (tenant_id > ")
                    .push_bind(tenant.as_uuid())
                    .push(" OR (tenant_id = ")
                    .push_bind(tenant.as_uuid())
                    .push(" AND id > ")
                    .push_bind(id.as_uuid())
                    .push("))");
            }
            sql.push(" ORDER BY tenant_id, id LIMIT ").push_bind(i64::from(limit.max(1)));
            sql.build_query_as::<DocumentRecord>().fetch_all(conn).await
        });
        records.map_err(db_error)?.into_iter().map(Document::try_from).collect()
    }

    async fn set_document_key(&self, d: &Document, old_key_id: &str, sealed: &SealedFile) -> Result<bool> {
        let updated = in_transaction!(self, d.tenant_id, |tx| {
            sqlx::query(
                "UPDATE documents SET key_id = $3, wrapped_key = $4 WHERE tenant_id = $1 AND id = $2 AND key_id = $5",
            )
            .bind(d.tenant_id.as_uuid())
            .bind(d.id.as_uuid())
            .bind(&sealed.key_id)
            .bind(&sealed.wrapped_key)
            .bind(old_key_id)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?
            .rows_affected()
        });
        Ok(updated == 1)
    }
}
