//! Exports: the customer list as streamed CSV, and one person's data as JSON.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use clientele_core::Error;
use clientele_core::exports::csv::{CustomerExport, ExportRequest};
use clientele_core::exports::personal::PersonalDataExport;
use clientele_core::ids::CustomerId;
use clientele_core::time::Timestamp;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{Id, Query, TenantAdmin};
use crate::problem::{ApiError, Problem};
use crate::routes::customers::filter_text;

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(customers_csv)).routes(routes!(personal_data))
}

/// Query parameters of `GET /exports/customers.csv`: the list's filters plus these.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Comma-separated columns (default: all), e.g. `first_name,last_name,email,address.city`.
    pub columns: Option<String>,
    /// `csv` (default: UTF-8, comma, LF) or `excel` (UTF-8 with BOM, semicolon, CRLF: opens as
    /// columns in Excel set to a European locale).
    pub format: Option<String>,
    /// `client`, `partner` or `staff`.
    #[param(value_type = Option<String>)]
    pub kind: Option<String>,
    /// `true` or `false`.
    #[param(value_type = Option<bool>)]
    pub vip: Option<String>,
    /// `true` or `false`.
    #[param(value_type = Option<bool>)]
    pub blacklisted: Option<String>,
    /// `valid`, `verified` or `unverified`.
    pub phone_status: Option<String>,
    /// Only clients of this partner company.
    #[param(value_type = Option<uuid::Uuid>)]
    pub partner_id: Option<String>,
    /// Created on or after (date or RFC 3339).
    pub created_from: Option<String>,
    /// Created on or before (date: the whole day) or before (RFC 3339).
    pub created_to: Option<String>,
    /// `complete` or `incomplete`.
    pub documents: Option<String>,
    /// Include soft-deleted customers.
    #[param(value_type = Option<bool>)]
    pub include_deleted: Option<String>,
}

impl ExportParams {
    /// The export's request, parsed (`400` naming every bad parameter).
    fn request(&self) -> Result<ExportRequest, Error> {
        let filters = filter_text!(self);
        ExportRequest::parse(self.columns.as_deref(), self.format.as_deref(), &filters)
    }
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
    TenantAdmin(actor): TenantAdmin,
    Query(params): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let export = state.app.export_customers(&actor, &params.request()?).await?;
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

pub(crate) async fn next(mut export: CustomerExport) -> Option<(Result<Bytes, std::io::Error>, CustomerExport)> {
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
/// `schema` names the shape (`clientele.personal-data/2`). Includes the record, notes, this
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
    TenantAdmin(actor): TenantAdmin,
    Id(id): Id<CustomerId>,
) -> Result<impl IntoResponse, ApiError> {
    let export = state.app.personal_data_export(&actor, id).await?;
    let name = format!("customer-{id}.json");
    Ok(([(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))], axum::Json(export)))
}
