//! `POST /auth/token`: email and password in, bearer token out; `POST /auth/revoke`: every token
//! of a user ended at once.

use axum::extract::State;
use axum::http::StatusCode;
use clientele_core::accounts::auth::IssuedToken;
use clientele_core::accounts::revoke::RevokeRequest;
use clientele_core::accounts::services::LoginRequest;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::{ClientOrigin, CurrentUser, Json, MaybeJson};
use crate::problem::{ApiError, Problem};

pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(issue_token)).routes(routes!(revoke))
}

/// Log in: exchange email, password and tenant for a signed, expiring bearer token.
///
/// Omit `tenant` to log in as a platform administrator. Every failure is the same
/// `401 invalid_credentials`, so a login attempt never reveals which part was wrong. After
/// too many failures in a row for the account (or from the address), logins for it are
/// `429 too_many_requests` until the lockout ends (`Retry-After`); each lockout lasts twice as
/// long as the one before, and is audited as `auth.login_locked_out`.
#[utoipa::path(
    post,
    path = "/auth/token",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "A bearer token", body = IssuedToken),
        (status = 401, description = "Wrong email, password or tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Malformed request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Locked out after too many failed logins; see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the lockout ends"))),
    )
)]
async fn issue_token(
    State(state): State<AppState>,
    ClientOrigin(origin): ClientOrigin,
    Json(request): Json<LoginRequest>,
) -> Result<axum::Json<IssuedToken>, ApiError> {
    Ok(axum::Json(state.app.login(&request, &origin).await?))
}

/// Revoke tokens: every token of a user stops working at once (each device logs in again).
///
/// Without a body (or with `{}`), the caller's own tokens, whatever its role. Tenant admins may
/// name a user of their tenant by `user_id` or `email`: a user of another tenant is `404`, as one
/// that does not exist. Disabling a user (`clientele user disable`) revokes its tokens too.
/// Audited as `auth.tokens_revoked`.
#[utoipa::path(
    post,
    path = "/auth/revoke",
    tag = "auth",
    request_body(content = Option<RevokeRequest>, description = "Whose tokens; omit for your own"),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Naming another user without being a tenant admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user in your tenant", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
async fn revoke(
    State(state): State<AppState>,
    CurrentUser(actor): CurrentUser,
    MaybeJson(request): MaybeJson<RevokeRequest>,
) -> Result<StatusCode, ApiError> {
    state.app.revoke_tokens(&actor, &request.unwrap_or_default()).await?;
    Ok(StatusCode::NO_CONTENT)
}
