//! Liveness and readiness probes.

use axum::Json;
use axum::extract::State;
use clientele_core::{Error, ErrorCode};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::problem::{ApiError, Problem};

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
}

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok", database: None })
}

/// Readiness: the database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let store = state.app.store();
    match store.ping().await {
        Ok(()) => Ok(Json(Health { status: "ok", database: Some(store.backend()) })),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            Err(Error::bad_request(ErrorCode::ServiceUnavailable, "the database does not answer").into())
        }
    }
}
