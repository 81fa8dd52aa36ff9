//! Liveness and readiness probes.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use clientele_core::{Error, ErrorCode};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::problem::{ApiError, Problem};

/// How long each readiness check may take before its part counts as down.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz)).routes(routes!(readyz))
}

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the probe answers 200.
    pub status: &'static str,
    /// The storage backend (`sqlite` or `postgres`), on `/readyz`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<&'static str>,
    /// The document store, on `/readyz`: `ok`, or `not_configured` where documents are not
    /// configured on this server (no master key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documents: Option<&'static str>,
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok", database: None, documents: None })
}

/// `check`'s outcome, or an error if it takes longer than [`CHECK_TIMEOUT`].
async fn within<T>(check: impl Future<Output = clientele_core::Result<T>>) -> clientele_core::Result<T> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(Error::internal(format!("no answer within {} s", CHECK_TIMEOUT.as_secs()))))
}

/// Readiness: the database answers and the document store works.
///
/// The document store is checked with a tiny probe object of its own name, written, read back
/// and deleted. A `503` names what is down in its `detail`.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "The database or the document store is down; `detail` names which", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let app = &state.app;
    let (database, documents) =
        tokio::join!(within(app.store().ping()), within(async { app.probe_document_store().await.transpose() }));
    let mut down = Vec::new();
    if let Err(error) = &database {
        tracing::warn!(%error, "readiness: the database does not answer");
        down.push("the database does not answer");
    }
    if let Err(error) = &documents {
        tracing::warn!(%error, "readiness: the document store does not work");
        down.push("the document store does not work");
    }
    if !down.is_empty() {
        let detail = format!("not ready: {}", down.join("; "));
        return Err(Error::bad_request(ErrorCode::ServiceUnavailable, detail).into());
    }
    let documents = match documents {
        Ok(Some(())) => "ok",
        _ => "not_configured",
    };
    Ok(Json(Health { status: "ok", database: Some(app.store().backend()), documents: Some(documents) }))
}
