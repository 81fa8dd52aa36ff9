//! `POST /auth/token`: email and password in, bearer token out.

use axum::extract::State;
use clientele_core::accounts::auth::IssuedToken;
use clientele_core::accounts::services::LoginRequest;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::Json;
use crate::problem::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(issue_token))
}

/// Log in: exchange email, password and tenant for a signed, expiring bearer token.
///
/// Omit `tenant` to log in as a platform administrator. Every failure is the same
/// `401 invalid_credentials`, so a login attempt never reveals which part was wrong.
#[utoipa::path(
    post,
    path = "/auth/token",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "A bearer token", body = IssuedToken),
        (status = 401, description = "Wrong email, password or tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn issue_token(
    State(state): State<AppState>,
    Json(request): Json<LoginRequest>,
) -> Result<axum::Json<IssuedToken>, ApiError> {
    Ok(axum::Json(state.app.login(&request).await?))
}
