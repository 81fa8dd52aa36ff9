//! Import jobs: `POST /imports` (a CSV body, or a multipart form with a `file` part), their
//! progress, and their refused rows as CSV.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientele_core::ids::ImportJobId;
use clientele_core::imports::errors::ImportErrorsCsv;
use clientele_core::imports::job::{CHUNK_BYTES, ImportJob, ImportRowError, NewImport};
use clientele_core::paging::Paging;
use clientele_core::{App, Error, ErrorCode};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Id, Query, TenantAdmin};
use crate::problem::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    // Import files are limited by their own size limit (imports.max_file_mib), counted as they stream in.
    let uploads = OpenApiRouter::new().routes(routes!(create, list)).layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .merge(uploads)
        .routes(routes!(get))
        .routes(routes!(refused_rows))
        .routes(routes!(errors_csv))
        .routes(routes!(undo))
}

/// A page of import jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportPage {
    /// Jobs, newest first.
    pub items: Vec<ImportJob>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// A page of an import's refused rows.
#[derive(Debug, Serialize, ToSchema)]
pub struct RefusedRowPage {
    /// Refused rows in row order, each once with every problem it has.
    pub items: Vec<ImportRowError>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Options of `POST /imports`, as query parameters (or form fields of a multipart upload).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportOptions {
    /// `create` (default) or `upsert`.
    pub mode: Option<String>,
    /// `true`: report what would happen, write nothing.
    #[param(value_type = Option<bool>)]
    pub dry_run: Option<String>,
    /// Explicit column mapping as JSON, header → field (`""` ignores a column), e.g.
    /// `{"Cliente": "external_ref"}`. Other columns are mapped automatically.
    pub mapping: Option<String>,
    /// The file's name, for the job's record.
    pub file_name: Option<String>,
}
/// Query parameters of `GET /imports`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportListParams {
    /// Page size, 1 to 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ImportOptions {
    /// The new job's settings, parsed (`400` naming every bad option).
    fn parse(&self) -> Result<NewImport, Error> {
        NewImport::parse(
            self.mode.as_deref(),
            self.dry_run.as_deref(),
            self.mapping.as_deref(),
            self.file_name.as_deref(),
        )
    }
}

/// Import customers from a CSV file (admins): answers `202` with the job, which runs in the
/// background; follow it at `GET /imports/{id}`.
///
/// Send the file as the body (`text/csv`), with the options as query parameters, or as a
/// `multipart/form-data` form whose one `file` part comes last, after any `mode`, `dry_run` and
/// `mapping` parts (a second `file` part, or any part after it, is `400 malformed_form`). UTF-8 (with or without BOM), UTF-16 and Windows-1252; comma, semicolon or tab; headers
/// of our export and of common contact exports are recognised.
#[utoipa::path(
    post,
    path = "/imports",
    operation_id = "create_import",
    tag = "imports",
    params(ImportOptions),
    request_body(content = String, content_type = "text/csv"),
    security(("bearer" = [])),
    responses(
        (status = 202, body = ImportJob, headers(("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is over the size limit", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Query(mut options): Query<ImportOptions>,
    request: Request,
) -> Result<Response, ApiError> {
    let app = &state.app;
    let max = app.max_import_bytes();
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
    let job = if multipart {
        let mut form = Multipart::from_request(request, &state)
            .await
            .map_err(|_| Error::bad_request(ErrorCode::MalformedForm, "the multipart form could not be read"))?;
        let mut job = None;
        while let Some(mut field) = form.next_field().await.map_err(form_error)? {
            let name = field.name().unwrap_or_default().to_owned();
            if name == "file" {
                if options.file_name.is_none() {
                    options.file_name = field.file_name().map(str::to_owned);
                }
                let mut started = app.begin_import(&actor, options.parse()?).await?;
                let mut sink = Sink::new(app, max);
                let read: Result<(), Error> = async {
                    while let Some(chunk) = field.chunk().await.map_err(form_error)? {
                        sink.push(&started, &chunk).await?;
                    }
                    Ok(())
                }
                .await;
                drop(field);
                // The file is the last part: a second file, or options after it, would be ignored.
                let read = match read {
                    Ok(()) => match form.next_field().await {
                        Ok(None) => Ok(()),
                        Ok(Some(extra)) => Err(part_after_file(extra.name().unwrap_or_default())),
                        Err(error) => Err(form_error(error)),
                    },
                    Err(error) => Err(error),
                };
                finish(app, &mut started, sink, read).await?;
                state.import_wake.job_queued();
                job = Some(started);
                break;
            }
            let text = field.text().await.map_err(form_error)?;
            let slot = match name.as_str() {
                "mode" => &mut options.mode,
                "dry_run" => &mut options.dry_run,
                "mapping" => &mut options.mapping,
                "file_name" => &mut options.file_name,
                _ => {
                    return Err(Error::invalid(
                        name,
                        clientele_core::FieldCode::UnknownField,
                        "is not an import option",
                    )
                    .into());
                }
            };
            *slot = Some(text);
        }
        job.ok_or_else(|| {
            Error::invalid("file", clientele_core::FieldCode::Required, "send the file as a part named file")
        })?
    } else {
        let mut started = app.begin_import(&actor, options.parse()?).await?;
        let mut sink = Sink::new(app, max);
        let mut stream = request.into_body().into_data_stream();
        let read: Result<(), Error> = async {
            while let Some(chunk) = stream.next().await {
                let chunk = chunk
                    .map_err(|e| Error::bad_request(ErrorCode::MalformedForm, format!("the upload broke off: {e}")))?;
                sink.push(&started, &chunk).await?;
            }
            Ok(())
        }
        .await;
        finish(app, &mut started, sink, read).await?;
        state.import_wake.job_queued();
        started
    };
    let location = format!("/api/v1/imports/{}", job.id);
    Ok((StatusCode::ACCEPTED, [(header::LOCATION, location)], axum::Json(job)).into_response())
}

/// Collects an upload into stored pieces of [`CHUNK_BYTES`], within the size limit.
pub(crate) struct Sink<'a> {
    app: &'a App,
    max: u64,
    buffer: Vec<u8>,
    size: u64,
    pieces: i64,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(app: &'a App, max: u64) -> Self {
        Self { app, max, buffer: Vec::with_capacity(CHUNK_BYTES), size: 0, pieces: 0 }
    }

    pub(crate) async fn push(&mut self, job: &ImportJob, bytes: &[u8]) -> Result<(), Error> {
        self.size += bytes.len() as u64;
        if self.size > self.max {
            return Err(Error::bad_request(
                ErrorCode::PayloadTooLarge,
                format!("the file is larger than the import limit of {} bytes", self.max),
            ));
        }
        self.buffer.extend_from_slice(bytes);
        while self.buffer.len() >= CHUNK_BYTES {
            let rest = self.buffer.split_off(CHUNK_BYTES);
            let piece = std::mem::replace(&mut self.buffer, rest);
            self.app.add_import_chunk(job, self.pieces, &piece).await?;
            self.pieces += 1;
        }
        Ok(())
    }

    pub(crate) async fn flush(&mut self, job: &ImportJob) -> Result<(), Error> {
        if !self.buffer.is_empty() {
            let piece = std::mem::take(&mut self.buffer);
            self.app.add_import_chunk(job, self.pieces, &piece).await?;
            self.pieces += 1;
        }
        Ok(())
    }
}

/// Queues the job when its file arrived whole; otherwise abandons it and answers why.
async fn finish(app: &App, job: &mut ImportJob, mut sink: Sink<'_>, read: Result<(), Error>) -> Result<(), Error> {
    let read = match read {
        Ok(()) => sink.flush(job).await,
        Err(error) => Err(error),
    };
    match read {
        Ok(()) => app.finish_import_upload(job, i64::try_from(sink.size).unwrap_or(i64::MAX)).await,
        Err(error) => {
            app.abandon_import(job, &error.to_string()).await?;
            Err(error)
        }
    }
}

/// The refusal of a part that follows the file.
fn part_after_file(name: &str) -> Error {
    let shown: String = name.chars().take(60).collect();
    let message = if name == "file" {
        "the form has two parts named file: send one file per import".to_owned()
    } else {
        format!("the form has a part {shown:?} after the file: send the options before the file")
    };
    Error::bad_request(ErrorCode::MalformedForm, message)
}

pub(crate) fn form_error(error: axum::extract::multipart::MultipartError) -> Error {
    Error::bad_request(ErrorCode::MalformedForm, format!("the multipart form could not be read: {}", error.body_text()))
}

/// Import jobs, newest first (admins).
#[utoipa::path(
    get,
    path = "/imports",
    operation_id = "list_imports",
    tag = "imports",
    params(ImportListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ImportPage),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Query(params): Query<ImportListParams>,
) -> Result<axum::Json<ImportPage>, ApiError> {
    let page = state.app.import_jobs(&actor, Paging::parse(params.limit.as_deref(), params.cursor.as_deref())?).await?;
    Ok(axum::Json(ImportPage { items: page.items, next_cursor: page.next_cursor }))
}

/// An import job: status and progress (rows read, created, updated, unchanged, failed).
#[utoipa::path(
    get,
    path = "/imports/{id}",
    operation_id = "get_import",
    tag = "imports",
    params(("id" = Uuid, Path, description = "Import job id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ImportJob),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<ImportJobId>,
) -> Result<axum::Json<ImportJob>, ApiError> {
    Ok(axum::Json(state.app.import_job(&actor, id).await?))
}

/// The refused rows of an import, each once with every problem it has and its cells as they
/// were (in the order of the job's `columns`).
#[utoipa::path(
    get,
    path = "/imports/{id}/errors",
    tag = "imports",
    params(("id" = Uuid, Path, description = "Import job id"), ImportListParams),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RefusedRowPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn refused_rows(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<ImportJobId>,
    Query(params): Query<ImportListParams>,
) -> Result<axum::Json<RefusedRowPage>, ApiError> {
    let paging = Paging::parse(params.limit.as_deref(), params.cursor.as_deref())?;
    let page = state.app.import_refused_rows(&actor, id, paging).await?;
    Ok(axum::Json(RefusedRowPage { items: page.items, next_cursor: page.next_cursor }))
}

/// The refused rows of an import as CSV, to fix and upload again: a line per refused row, with
/// `import_row` and `import_errors` (every problem of the row: `phone: …; address.country: …`)
/// before the file's own columns, as they were. Streamed.
#[utoipa::path(
    get,
    path = "/imports/{id}/errors.csv",
    tag = "imports",
    params(("id" = Uuid, Path, description = "Import job id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The refused rows", content_type = "text/csv"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn errors_csv(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<ImportJobId>,
) -> Result<Response, ApiError> {
    let csv = state.app.import_errors_csv(&actor, id).await?;
    let body = Body::from_stream(futures_util::stream::unfold(csv, next_errors));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"import-{id}-errors.csv\"")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

pub(crate) async fn next_errors(
    mut csv: ImportErrorsCsv,
) -> Option<(Result<axum::body::Bytes, std::io::Error>, ImportErrorsCsv)> {
    match csv.next_chunk().await {
        Ok(Some(chunk)) => Some((Ok(axum::body::Bytes::from(chunk)), csv)),
        Ok(None) => None,
        Err(error) => {
            tracing::error!(%error, rows = csv.rows, "errors.csv failed part-way; aborting the transfer");
            Some((Err(std::io::Error::other(error.to_string())), csv))
        }
    }
}

/// Undo a finished import (admins; audited): the customers it created are soft-deleted and the
/// fields it updated restored, each only if nobody changed it since (those are counted as kept).
#[utoipa::path(
    post,
    path = "/imports/{id}/undo",
    tag = "imports",
    params(("id" = Uuid, Path, description = "Import job id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The job, with what the undo did in `undo`", body = ImportJob),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not finished, a dry run, or undone already", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn undo(
    State(state): State<AppState>,
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<ImportJobId>,
) -> Result<axum::Json<ImportJob>, ApiError> {
    Ok(axum::Json(state.app.undo_import(&actor, id).await?))
}
