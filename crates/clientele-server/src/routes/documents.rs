//! Customer documents (`/customers/{id}/documents`, `/documents/{id}`), the tenant's required
//! documents (`/settings/required-documents`).

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientele_core::accounts::auth::Actor;
use clientele_core::documents::record::Document;
use clientele_core::documents::requirements::{RequiredDocumentsInput, RequiredDocumentsView};
use clientele_core::documents::services::{DocumentAccess, DocumentTarget, Upload};
use clientele_core::ids::{CustomerId, DocumentId};
use clientele_core::{Error, ErrorCode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Id, IfMatch, Json, Query, TenantAdmin, TenantMember, etag};
use crate::problem::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    // Uploads are limited by the documents' own size limit (see `upload`), not the API's 1 MiB.
    let uploads = OpenApiRouter::new().routes(routes!(upload, list)).layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .merge(uploads)
        .routes(routes!(download))
        .routes(routes!(update, delete))
        .routes(routes!(get_required, set_required))
}

/// A document request by a signed-in tenant user whose id, query, headers or body could not
/// be read: refused like any other document request, and so logged (the service writes the
/// entry, naming `endpoint`). Requests refused before anyone is known to be signed in
/// (no or a bad token) are answered without a log entry, as on every other route.
struct Refusal<'a> {
    state: &'a AppState,
    actor: &'a Actor,
    access: DocumentAccess,
    endpoint: &'static str,
}

impl Refusal<'_> {
    async fn refuse(&self, target: DocumentTarget, error: ApiError) -> ApiError {
        let ApiError(error) = error;
        ApiError(self.state.app.refuse_document_request(self.actor, self.access, target, self.endpoint, error).await)
    }
}

/// The most form fields besides the file, and the longest one accepted.
const MAX_FIELDS: usize = 20;
const MAX_FIELD_BYTES: usize = 4 * 1024;

/// A customer's documents.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentList {
    /// Documents, newest first.
    pub items: Vec<Document>,
}

/// Query parameters of the documents list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Include soft-deleted documents (admins and operators).
    #[param(value_type = Option<bool>)]
    pub include_deleted: Option<String>,
}

/// The multipart form of an upload.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documentation of the form only
pub struct UploadForm {
    /// The file: PDF, JPEG, PNG, WebP or HEIC (checked by content), at most 20 MiB by default.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// `passport`, `driver_license`, `id_card`, `insurance` or `other`.
    pub kind: String,
    /// Document number.
    pub number: Option<String>,
    /// Issuing country (ISO 3166-1 alpha-2).
    pub issuing_country: Option<String>,
    /// Issuing place or authority.
    pub issuing_place: Option<String>,
    /// Date of issue, `YYYY-MM-DD`.
    pub issued_on: Option<String>,
    /// Date of expiry, `YYYY-MM-DD`; not before the date of issue.
    pub expires_on: Option<String>,
}

/// Upload a document for a customer (admins and operators; every attempt is logged).
///
/// A `multipart/form-data` body: the `file` part and the metadata as text parts. The file type
/// is recognised from its content; an oversize file is refused as it streams in.
#[utoipa::path(
    post,
    path = "/customers/{id}/documents",
    tag = "documents",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 201, body = Document, headers(("ETag" = String), ("Location" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The customer is deleted", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is over the size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a multipart form", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing, empty or unaccepted file, or invalid metadata", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Document storage is not configured", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn upload(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    id: Result<Id<CustomerId>, ApiError>,
    request: Request,
) -> Result<impl IntoResponse, ApiError> {
    let refusal = Refusal {
        state: &state,
        actor: &actor,
        access: DocumentAccess::Upload,
        endpoint: "POST /api/v1/customers/{id}/documents",
    };
    let id = match id {
        Ok(Id(id)) => id,
        Err(error) => return Err(refusal.refuse(DocumentTarget::Customer(None), error).await),
    };
    let max = state.app.max_document_bytes();
    // Someone who may not upload is refused (and logged) without the body being read.
    let upload = if state.app.may_upload_documents(&actor) {
        // The whole body, form parts and all, stays within the file limit plus the fields'.
        let limit = max.saturating_add((MAX_FIELDS * MAX_FIELD_BYTES) as u64 + 64 * 1024);
        let (parts, body) = request.into_parts();
        let limited = Body::new(http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX)));
        read_upload(Request::from_parts(parts, limited), &state, max).await
    } else {
        Upload::default()
    };
    let document = state.app.upload_document(&actor, id, upload).await?;
    let location = format!("/api/v1/documents/{}", document.id);
    let [etag] = etag(document.version);
    Ok((StatusCode::CREATED, [(header::LOCATION, location), etag], axum::Json(document)))
}

/// Reads an upload form; a failure is kept in the upload, to be refused (and logged) once the
/// caller's right to upload has been checked.
pub(crate) async fn read_upload(request: Request, state: &AppState, max: u64) -> Upload {
    let mut upload = Upload::default();
    if let Err(error) = read_form(request, state, max, &mut upload).await {
        upload.rejected = Some(error);
    }
    upload
}

async fn read_form(request: Request, state: &AppState, max: u64, upload: &mut Upload) -> Result<(), Error> {
    let mut form = Multipart::from_request(request, state).await.map_err(|_| {
        Error::bad_request(
            ErrorCode::UnsupportedMediaType,
            "send the document as multipart/form-data: a file part and the metadata as text parts",
        )
    })?;
    let mut fields = 0;
    while let Some(mut field) = form.next_field().await.map_err(malformed)? {
        fields += 1;
        if fields > MAX_FIELDS + 1 {
            return Err(Error::bad_request(ErrorCode::MalformedForm, "the form has too many parts"));
        }
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if upload.has_file {
                return Err(Error::invalid("file", clientele_core::FieldCode::NotAllowed, "send one file per upload"));
            }
            upload.has_file = true;
            upload.file_name = field.file_name().map(str::to_owned);
            upload.bytes = read_limited(&mut field, max).await?;
        } else {
            let bytes = read_limited(&mut field, MAX_FIELD_BYTES as u64)
                .await
                .map_err(|_| Error::invalid(name.clone(), clientele_core::FieldCode::TooLong, "is too long"))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::invalid(name.clone(), clientele_core::FieldCode::Invalid, "must be UTF-8 text"))?;
            if !upload.meta.set(&name, text) {
                return Err(Error::invalid(
                    name,
                    clientele_core::FieldCode::UnknownField,
                    "is not a field of a document",
                ));
            }
        }
    }
    Ok(())
}

/// A part's bytes, refused with `413` as soon as they pass `max`, without reading the rest.
async fn read_limited(field: &mut Field<'_>, max: u64) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
        if (bytes.len() + chunk.len()) as u64 > max {
            return Err(Error::bad_request(
                ErrorCode::PayloadTooLarge,
                format!("the file is larger than the limit of {max} bytes"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn malformed(error: MultipartError) -> Error {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Error::bad_request(ErrorCode::PayloadTooLarge, "the upload is larger than the document size limit");
    }
    Error::bad_request(ErrorCode::MalformedForm, format!("the multipart form could not be read: {}", error.body_text()))
}

/// A customer's documents: metadata only (admins, operators, and drivers of the customer's
/// orders; every view is logged).
#[utoipa::path(
    get,
    path = "/customers/{id}/documents",
    operation_id = "list_documents",
    tag = "documents",
    params(("id" = Uuid, Path, description = "Customer id"), ListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DocumentList),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    id: Result<Id<CustomerId>, ApiError>,
    params: Result<Query<ListParams>, ApiError>,
) -> Result<axum::Json<DocumentList>, ApiError> {
    let refusal = Refusal {
        state: &state,
        actor: &actor,
        access: DocumentAccess::View,
        endpoint: "GET /api/v1/customers/{id}/documents",
    };
    let id = match id {
        Ok(Id(id)) => id,
        Err(error) => return Err(refusal.refuse(DocumentTarget::Customer(None), error).await),
    };
    let include_deleted = match params.map(|Query(params)| params.include_deleted) {
        Ok(None) => false,
        Ok(Some(value)) if value == "false" => false,
        Ok(Some(value)) if value == "true" => true,
        Ok(Some(_)) => {
            let error = Error::invalid_query("include_deleted", "must be true or false").into();
            return Err(refusal.refuse(DocumentTarget::Customer(Some(id)), error).await);
        }
        Err(error) => return Err(refusal.refuse(DocumentTarget::Customer(Some(id)), error).await),
    };
    Ok(axum::Json(DocumentList { items: state.app.documents(&actor, id, include_deleted).await? }))
}

/// Download a document's file, decrypted and checked against its SHA-256 (every download is
/// logged).
#[utoipa::path(
    get,
    path = "/documents/{id}/file",
    tag = "documents",
    params(("id" = Uuid, Path, description = "Document id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file, with its media type", content_type = "application/octet-stream"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "The stored file is missing or failed its integrity check (`document_unreadable`)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn download(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    id: Result<Id<DocumentId>, ApiError>,
) -> Result<Response, ApiError> {
    let refusal = Refusal {
        state: &state,
        actor: &actor,
        access: DocumentAccess::Download,
        endpoint: "GET /api/v1/documents/{id}/file",
    };
    let id = match id {
        Ok(Id(id)) => id,
        Err(error) => return Err(refusal.refuse(DocumentTarget::Document(None), error).await),
    };
    let download = state.app.download_document(&actor, id).await?;
    let file = &download.document.file;
    let name = file.name.clone().unwrap_or_else(|| format!("{}", download.document.id));
    let ascii: String = name.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).collect();
    let disposition = format!("attachment; filename=\"{ascii}\"");
    Ok((
        [
            (header::CONTENT_TYPE, file.content_type.clone()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
            (header::HeaderName::from_static("x-content-type-options"), "nosniff".to_owned()),
        ],
        Body::from(download.bytes),
    )
        .into_response())
}

/// Change a document's metadata with a JSON merge patch (admins and operators; logged).
///
/// Send the version you read as `If-Match: "2"` or `"version": 2`; a stale one is
/// `409 version_conflict`.
#[utoipa::path(
    patch,
    path = "/documents/{id}",
    operation_id = "update_document",
    tag = "documents",
    params(
        ("id" = Uuid, Path, description = "Document id"),
        ("If-Match" = Option<String>, Header, description = "The version being changed"),
    ),
    request_body(content = clientele_core::documents::record::DocumentMetaInput, content_type = "application/merge-patch+json"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Document, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    id: Result<Id<DocumentId>, ApiError>,
    version: Result<IfMatch, ApiError>,
    patch: Result<Json<serde_json::Value>, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    let refusal = Refusal {
        state: &state,
        actor: &actor,
        access: DocumentAccess::Change,
        endpoint: "PATCH /api/v1/documents/{id}",
    };
    let (id, version, patch) = match (id, version, patch) {
        (Ok(Id(id)), Ok(IfMatch(version)), Ok(Json(patch))) => (id, version, patch),
        (Err(error), ..) => return Err(refusal.refuse(DocumentTarget::Document(None), error).await),
        (Ok(Id(id)), Err(error), _) | (Ok(Id(id)), _, Err(error)) => {
            return Err(refusal.refuse(DocumentTarget::Document(Some(id)), error).await);
        }
    };
    let document = state.app.update_document(&actor, id, &patch, version).await?;
    Ok((etag(document.version), axum::Json(document)))
}

/// Soft-delete a document (admins and operators; logged). Its file and history are kept.
#[utoipa::path(
    delete,
    path = "/documents/{id}",
    operation_id = "delete_document",
    tag = "documents",
    params(
        ("id" = Uuid, Path, description = "Document id"),
        ("If-Match" = Option<String>, Header, description = "Delete only if still at this version"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    id: Result<Id<DocumentId>, ApiError>,
    version: Result<IfMatch, ApiError>,
) -> Result<StatusCode, ApiError> {
    let refusal = Refusal {
        state: &state,
        actor: &actor,
        access: DocumentAccess::Delete,
        endpoint: "DELETE /api/v1/documents/{id}",
    };
    let (id, version) = match (id, version) {
        (Ok(Id(id)), Ok(IfMatch(version))) => (id, version),
        (Err(error), _) => return Err(refusal.refuse(DocumentTarget::Document(None), error).await),
        (Ok(Id(id)), Err(error)) => return Err(refusal.refuse(DocumentTarget::Document(Some(id)), error).await),
    };
    state.app.delete_document(&actor, id, version).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The documents every customer of the tenant should hold (admins).
#[utoipa::path(
    get,
    path = "/settings/required-documents",
    tag = "documents",
    security(("bearer" = [])),
    responses(
        (status = 200, body = RequiredDocumentsView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_required(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
) -> Result<axum::Json<RequiredDocumentsView>, ApiError> {
    Ok(axum::Json(state.app.required_documents(&actor).await?))
}

/// Set the documents every customer should hold (admins; audited).
///
/// Each requirement is met by any one of its `|`-separated kinds:
/// `{"required": ["passport|id_card", "driver_license"]}` (the default).
#[utoipa::path(
    put,
    path = "/settings/required-documents",
    tag = "documents",
    request_body = RequiredDocumentsInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RequiredDocumentsView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn set_required(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Json(input): Json<RequiredDocumentsInput>,
) -> Result<axum::Json<RequiredDocumentsView>, ApiError> {
    Ok(axum::Json(state.app.set_required_documents(&actor, &input).await?))
}
