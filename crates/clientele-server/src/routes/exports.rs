//! Exports: the customer list as streamed CSV, and one person's data as JSON.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use clientele_core::exports::csv::{CustomerExport, ExportParams};
use clientele_core::exports::personal::PersonalDataExport;
use clientele_core::ids::CustomerId;
use clientele_core::time::Timestamp;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Id, Query, TenantMember};
use crate::problem::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(customers_csv)).routes(routes!(personal_data))
}

/// Export customers as CSV (admins; audited).
///
/// Streams every customer matching the list filters, in constant memory, with the chosen
/// `columns` (default: all). Cells starting with `=`, `+`, `-` or `@` are prefixed with `'` so
/// that spreadsheets do not run them. `format=excel` adds a BOM and uses `;` and CRLF. A failure
/// part-way aborts the transfer (never a silently short file).
#[utoipa::path(
    get,
    path = "/exports/customers.csv",
    tag = "exports",
    params(ExportParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The CSV", content_type = "text/csv"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn customers_csv(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Query(params): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let export = state.app.export_customers(&actor, &params).await?;
    let name = format!("customers-{}.csv", Timestamp::now().date());
    let body = Body::from_stream(futures_util::stream::unfold(export, next));
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

async fn next(mut export: CustomerExport) -> Option<(Result<Bytes, std::io::Error>, CustomerExport)> {
    match export.next_chunk().await {
        Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk)), export)),
        Ok(None) => None,
        Err(error) => {
            tracing::error!(%error, rows = export.rows, "customer export failed part-way; aborting the transfer");
            Some((Err(std::io::Error::other(error.to_string())), export))
        }
    }
}

/// Everything held on one person, as JSON (GDPR access and portability; admins; audited).
///
/// `schema` names the shape (`clientele.personal-data/1`). Includes the record, notes, this
/// tenant's blacklist entries, orders, document metadata, and when and how the person's data was
/// accessed (role and outcome, not who).
#[utoipa::path(
    get,
    path = "/customers/{id}/export",
    tag = "exports",
    params(("id" = uuid::Uuid, Path, description = "Customer id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PersonalDataExport),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn personal_data(
    State(state): State<AppState>,
    TenantMember(actor): TenantMember,
    Id(id): Id<CustomerId>,
) -> Result<impl IntoResponse, ApiError> {
    let export = state.app.personal_data_export(&actor, id).await?;
    let name = format!("customer-{id}.json");
    Ok(([(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))], axum::Json(export)))
}
