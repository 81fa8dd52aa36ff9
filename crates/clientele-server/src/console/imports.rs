//! Import and export (admins). An upload is kept for review: the encoding and delimiter found,
//! and where each column goes, by the import's own mapping, which the admin may change; then a
//! dry run or the import itself runs on a copy, as a job whose progress the page follows to the
//! end, with honest counts, the refused rows to download, and undo. Export: columns and
//! filters, streamed as CSV.

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use clientele_core::customers::list::FilterText;
use clientele_core::exports::columns::COLUMNS;
use clientele_core::exports::csv::ExportRequest;
use clientele_core::ids::ImportJobId;
use clientele_core::imports::job::{ImportJob, ImportMode, ImportStatus, NewImport};
use clientele_core::imports::mapping::ColumnTarget;
use clientele_core::paging::Paging;
use clientele_core::time::Timestamp;
use clientele_core::{Error, ErrorCode};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::AppState;
use crate::console::errors::PageError;
use crate::console::i18n::Tr;
use crate::console::session::{Console, ConsoleForm, check_csrf, render};
use crate::console::shell::Shell;
use crate::routes::imports::{Sink, form_error};

pub(crate) fn routes() -> Router<AppState> {
    let uploads = Router::new().route("/imports", post(upload)).layer(DefaultBodyLimit::disable());
    Router::new()
        .route("/imports", get(list))
        .route("/imports/drafts/{id}", get(review).post(start))
        .route("/imports/{id}", get(job_page))
        .route("/imports/{id}/progress", get(progress))
        .route("/imports/{id}/errors.csv", get(errors_csv))
        .route("/imports/{id}/undo", post(undo))
        .route("/exports", get(export_form))
        .route("/exports/customers.csv", get(export_csv))
        .merge(uploads)
}

fn job_id(text: &str) -> Result<ImportJobId, PageError> {
    text.parse().map_err(|_| PageError(Error::NotFound("import")))
}

#[derive(Template)]
#[template(path = "imports/list.html")]
struct ListPage {
    s: Shell,
    t: Tr,
    jobs: Vec<ImportJob>,
    problem: String,
}

async fn list(State(state): State<AppState>, c: Console) -> Result<Response, PageError> {
    list_page(&state, &c, String::new(), StatusCode::OK).await
}

async fn list_page(state: &AppState, c: &Console, problem: String, status: StatusCode) -> Result<Response, PageError> {
    let jobs = state.app.import_jobs(&c.actor, Paging { after: None, limit: 30 }).await?.items;
    Ok((status, render(&ListPage { s: c.shell("imports-title", "imports"), t: c.tr, jobs, problem })).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct CsrfQuery {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

/// `POST /imports`: the file, kept for review (a job that is not started yet).
async fn upload(
    State(state): State<AppState>,
    Query(query): Query<CsrfQuery>,
    c: Console,
    request: Request,
) -> Result<Response, PageError> {
    check_csrf(&c, request.headers(), Some(&query.csrf))?;
    let app = &state.app;
    let mut form = Multipart::from_request(request, &state)
        .await
        .map_err(|_| Error::bad_request(ErrorCode::MalformedForm, "the multipart form could not be read"))?;
    let mut kept = None;
    while let Some(mut field) = form.next_field().await.map_err(form_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let file_name = field.file_name().map(str::to_owned).filter(|n| !n.is_empty());
        let Some(file_name) = file_name else { break };
        let mut job =
            app.begin_import(&c.actor, NewImport { file_name: Some(file_name), ..NewImport::default() }).await?;
        let mut sink = Sink::new(app, app.max_import_bytes());
        let read: Result<(), Error> = async {
            while let Some(chunk) = field.chunk().await.map_err(form_error)? {
                sink.push(&job, &chunk).await?;
            }
            sink.flush(&job).await
        }
        .await;
        if let Err(error) = read {
            app.abandon_import(&mut job, &error.to_string()).await?;
            return list_page(&state, &c, error.to_string(), StatusCode::UNPROCESSABLE_ENTITY).await;
        }
        kept = Some(job.id);
        break;
    }
    match kept {
        Some(id) => Ok(Redirect::to(&format!("/imports/drafts/{id}")).into_response()),
        None => list_page(&state, &c, c.tr.t("import-no-file").to_owned(), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// A column on the review page: its header, where it goes, and the choices.
#[derive(Debug, Clone)]
pub struct ColumnChoice {
    /// Its position.
    pub index: usize,
    /// The header.
    pub column: String,
    /// The target now (a field, `notes` or `ignored`).
    pub target: String,
}

#[derive(Template)]
#[template(path = "imports/review.html")]
struct ReviewPage {
    s: Shell,
    t: Tr,
    id: ImportJobId,
    file_name: String,
    encoding: String,
    delimiter: String,
    size: i64,
    columns: Vec<ColumnChoice>,
    targets: Vec<String>,
    mode: String,
    problem: String,
}

/// The fields a column may be mapped to by hand: those of our own export that an import reads.
fn targets() -> Vec<String> {
    COLUMNS
        .iter()
        .filter(|c| clientele_core::imports::headers::explicit_field(c).is_some())
        .map(|c| (*c).to_owned())
        .collect()
}

async fn review(State(state): State<AppState>, c: Console, Path(id): Path<String>) -> Result<Response, PageError> {
    let id = job_id(&id)?;
    review_page(&state, &c, id, &Map::new(), "create", String::new(), StatusCode::OK).await
}

#[allow(clippy::too_many_arguments)]
async fn review_page(
    state: &AppState,
    c: &Console,
    id: ImportJobId,
    explicit: &Map<String, Value>,
    mode: &str,
    problem: String,
    status: StatusCode,
) -> Result<Response, PageError> {
    let job = state.app.import_job(&c.actor, id).await?;
    if job.status != ImportStatus::Receiving {
        return Ok(Redirect::to(&format!("/imports/{id}")).into_response());
    }
    let (preview, problem) = match state.app.import_preview(&c.actor, id, explicit).await {
        Ok(preview) => (Some(preview), problem),
        Err(error @ Error::Invalid(_)) => {
            let text = crate::console::errors::FieldErrors::of(&error, c.tr)
                .all()
                .into_iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; ");
            (state.app.import_preview(&c.actor, id, &Map::new()).await.ok(), text)
        }
        Err(other) => return Err(other.into()),
    };
    let Some(preview) = preview else {
        return Err(Error::invalid("file", clientele_core::FieldCode::Invalid, problem).into());
    };
    let columns = preview
        .columns
        .iter()
        .enumerate()
        .map(|(index, ColumnTarget { column, target })| ColumnChoice {
            index,
            column: column.clone(),
            target: target.clone(),
        })
        .collect();
    let page = ReviewPage {
        s: c.shell("import-review-title", "imports"),
        t: c.tr,
        id,
        file_name: job.file_name.unwrap_or_default(),
        encoding: preview.encoding,
        delimiter: preview.delimiter,
        size: preview.size,
        columns,
        targets: targets(),
        mode: mode.to_owned(),
        problem,
    };
    Ok((status, render(&page)).into_response())
}

/// `POST /imports/drafts/{id}`: apply the mapping and look again, run a dry run, import, or
/// discard the file.
async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { c, form }: ConsoleForm,
) -> Result<Response, PageError> {
    let id = job_id(&id)?;
    // Only the columns whose target the admin changed are mapped by hand.
    let automatic = state.app.import_preview(&c.actor, id, &Map::new()).await?;
    let mut explicit = Map::new();
    for (index, ColumnTarget { column, target }) in automatic.columns.iter().enumerate() {
        let Some(chosen) = form.get(&format!("target.{index}")) else { continue };
        if chosen != target {
            let value = if chosen == "ignored" { String::new() } else { chosen.to_owned() };
            explicit.insert(column.clone(), Value::String(value));
        }
    }
    let mode = form.get("mode").unwrap_or("create").to_owned();
    let action = form.get("action").unwrap_or("preview");
    if action == "discard" {
        state.app.discard_import_draft(&c.actor, id).await?;
        return Ok(Redirect::to("/imports").into_response());
    }
    if action == "preview" {
        return review_page(&state, &c, id, &explicit, &mode, String::new(), StatusCode::OK).await;
    }
    let new = NewImport {
        mode: ImportMode::parse(&mode).unwrap_or(ImportMode::Create),
        dry_run: action == "dry_run",
        mapping: explicit.clone(),
        file_name: None,
    };
    let started = match state.app.start_import_from(&c.actor, id, new).await {
        Ok(started) => started,
        Err(error @ (Error::Invalid(_) | Error::InvalidQuery(_))) => {
            return review_page(
                &state,
                &c,
                id,
                &Map::new(),
                &mode,
                error.to_string(),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(other) => return Err(other.into()),
    };
    if let Ok(mut lines) = state.import_lines.lock() {
        lines.insert(started.job.id, started.lines);
    }
    state.import_wake.job_queued();
    if action == "import" {
        // The import has its own copy; the file kept for review is no longer needed.
        state.app.discard_import_draft(&c.actor, id).await?;
    }
    Ok(Redirect::to(&format!("/imports/{}", started.job.id)).into_response())
}

/// A job's progress as the page shows it.
#[derive(Debug, Clone)]
pub struct Progress {
    /// Percent done, 0 to 100, when it can be told.
    pub percent: Option<u64>,
    /// Whether the job is over (no more polling).
    pub done: bool,
}

fn progress_of(state: &AppState, job: &ImportJob) -> Progress {
    match job.status {
        ImportStatus::Succeeded => Progress { percent: Some(100), done: true },
        ImportStatus::Failed => Progress { percent: None, done: true },
        ImportStatus::Receiving | ImportStatus::Queued | ImportStatus::Running => {
            let lines = state.import_lines.lock().ok().and_then(|l| l.get(&job.id).copied());
            // The header is a line too; rows with quoted line breaks make the estimate high,
            // so it stays below 100 until the job says it is done.
            let percent = lines.filter(|l| *l > 1).map(|l| ((job.rows_read.max(0) as u64 * 100) / (l - 1)).min(99));
            Progress { percent: Some(percent.unwrap_or(0)), done: false }
        }
    }
}

#[derive(Template)]
#[template(path = "imports/job.html")]
struct JobPage {
    s: Shell,
    t: Tr,
    job: ImportJob,
    progress: Progress,
}

#[derive(Template)]
#[template(path = "imports/progress.html")]
struct ProgressPartial {
    t: Tr,
    job: ImportJob,
    progress: Progress,
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct JobQuery {
    #[serde(default)]
    saved: String,
}

async fn job_page(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Query(query): Query<JobQuery>,
) -> Result<Response, PageError> {
    let id = job_id(&id)?;
    let job = state.app.import_job(&c.actor, id).await?;
    if job.status == ImportStatus::Receiving {
        return Ok(Redirect::to(&format!("/imports/drafts/{id}")).into_response());
    }
    let mut shell = c
        .shell_titled(format!("{} · {}", c.tr.t("import-title"), job.file_name.clone().unwrap_or_default()), "imports");
    if query.saved == "undone" {
        shell.notice = c.tr.t("notice-import-undone").to_owned();
    }
    let progress = progress_of(&state, &job);
    Ok(render(&JobPage { s: shell, t: c.tr, job, progress }))
}

/// `GET /imports/{id}/progress`: the job's state, for the page to poll until it is over.
async fn progress(State(state): State<AppState>, c: Console, Path(id): Path<String>) -> Result<Response, PageError> {
    let id = job_id(&id)?;
    let job = state.app.import_job(&c.actor, id).await?;
    let progress = progress_of(&state, &job);
    Ok(render(&ProgressPartial { t: c.tr, job, progress, csrf: c.session.csrf_token.clone() }))
}

async fn errors_csv(State(state): State<AppState>, c: Console, Path(id): Path<String>) -> Result<Response, PageError> {
    let id = job_id(&id)?;
    let csv = state.app.import_errors_csv(&c.actor, id).await?;
    let body = Body::from_stream(futures_util::stream::unfold(csv, crate::routes::imports::next_errors));
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

async fn undo(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ConsoleForm { c, .. }: ConsoleForm,
) -> Result<Response, PageError> {
    let id = job_id(&id)?;
    state.app.undo_import(&c.actor, id).await?;
    Ok(Redirect::to(&format!("/imports/{id}?saved=undone")).into_response())
}

#[derive(Template)]
#[template(path = "imports/export.html")]
struct ExportPage {
    s: Shell,
    t: Tr,
    columns: Vec<&'static str>,
    defaults: Vec<&'static str>,
}

/// The columns ticked when the export form opens: what a person usually wants in a sheet.
const DEFAULT_COLUMNS: [&str; 8] =
    ["kind", "first_name", "last_name", "company_name", "email", "phone", "address.city", "vip"];

async fn export_form(c: Console) -> Result<Response, PageError> {
    c.actor.require(clientele_core::accounts::access::Capability::BulkExport)?;
    Ok(render(&ExportPage {
        s: c.shell("export-title", "imports"),
        t: c.tr,
        columns: COLUMNS.to_vec(),
        defaults: DEFAULT_COLUMNS.to_vec(),
    }))
}

/// `GET /exports/customers.csv`: the chosen columns (`column` repeated) and filters, streamed
/// by the same export the API serves (audited there).
async fn export_csv(State(state): State<AppState>, c: Console, request: Request) -> Result<Response, PageError> {
    let query = crate::console::session::FormData::parse(request.uri().query().unwrap_or_default().as_bytes())?;
    let columns = query.all("column").join(",");
    let filters = FilterText {
        kind: query.get("kind"),
        vip: query.get("vip"),
        blacklisted: query.get("blacklisted"),
        phone_status: query.get("phone_status"),
        partner_id: None,
        created_from: query.get("created_from"),
        created_to: query.get("created_to"),
        documents: query.get("documents"),
        include_deleted: query.get("include_deleted"),
    };
    let format = if query.checked("excel") { Some("excel") } else { None };
    let export_request =
        ExportRequest::parse(Some(&columns).filter(|c| !c.is_empty()).map(String::as_str), format, &filters)?;
    let export = state.app.export_customers(&c.actor, &export_request).await?;
    let name = format!("customers-{}.csv", Timestamp::now().date());
    let body = Body::from_stream(futures_util::stream::unfold(export, crate::routes::exports::next));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// The statuses' message keys.
pub fn status_key(status: &ImportStatus) -> &'static str {
    match *status {
        ImportStatus::Receiving => "import-status-receiving",
        ImportStatus::Queued => "import-status-queued",
        ImportStatus::Running => "import-status-running",
        ImportStatus::Succeeded => "import-status-succeeded",
        ImportStatus::Failed => "import-status-failed",
    }
}
