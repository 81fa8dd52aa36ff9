//! Extractors: request parts turned into checked values, or a problem response.
//!
//! Authentication is layered like guards, so a handler's signature states what it requires:
//! [`CurrentUser`] (any valid token) → [`TenantMember`] (a user of a tenant) → [`TenantAdmin`], and
//! [`CurrentUser`] → [`PlatformAdmin`].
//! Only these build an [`Actor`]; the services then check the finer capabilities.

use std::net::SocketAddr;
use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{self, HeaderMap};
use axum::http::request::Parts;
use clientele_core::accounts::auth::{Actor, Origin, Principal};
use clientele_core::accounts::user::Role;
use clientele_core::{Error, ErrorCode};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::problem::ApiError;

/// A JSON body read with our errors: `415` unless the content type is JSON, `413` when larger
/// than the body limit, `400 malformed_json`, or `422` naming the field.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(Error::bad_request(
                ErrorCode::UnsupportedMediaType,
                "send the body as JSON with Content-Type: application/json",
            )
            .into());
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::bad_request(
                    ErrorCode::PayloadTooLarge,
                    format!("the body is larger than {}", crate::BODY_LIMIT_TEXT),
                )
            } else {
                Error::bad_request(ErrorCode::MalformedJson, format!("the body could not be read: {rejection}"))
            }
        })?;
        Ok(Self(clientele_core::json::from_slice(&bytes)?))
    }
}

/// An optional JSON body: `None` when the request has no body at all.
#[derive(Debug)]
pub struct MaybeJson<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for MaybeJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = request.headers().get(header::CONTENT_TYPE).is_none()
            && request.headers().get(header::CONTENT_LENGTH).is_none_or(|len| len == "0");
        if empty {
            return Ok(Self(None));
        }
        Json::from_request(request, state).await.map(|Json(value)| Self(Some(value)))
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The one id in the path, parsed; `400 invalid_path_parameter` otherwise.
#[derive(Debug)]
pub struct Id<T>(pub T);

impl<T: FromStr, S: Send + Sync> FromRequestParts<S> for Id<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::bad_request(ErrorCode::InvalidPathParameter, "the path has no valid id"))?;
        raw.parse().map(Self).map_err(|_| {
            let shown: String = raw.chars().take(60).collect();
            Error::bad_request(ErrorCode::InvalidPathParameter, format!("{shown:?} is not a valid id (a UUID)")).into()
        })
    }
}

/// Query parameters; `400 invalid_query` naming an unknown or malformed parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query).map(Self).map_err(|e| {
            let message = e.to_string();
            let field = message.split('`').nth(1).unwrap_or("query").to_owned();
            Error::InvalidQuery(vec![clientele_core::FieldError::new(
                field,
                clientele_core::FieldCode::Invalid,
                message,
            )])
            .into()
        })
    }
}

/// The `If-Match` version, if sent: `"3"`, `W/"3"` or `3`.
#[derive(Debug)]
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::IF_MATCH) else { return Ok(Self(None)) };
        let invalid =
            || Error::bad_request(ErrorCode::InvalidHeader, "If-Match must be the customer's version, e.g. \"3\"");
        let text = value.to_str().map_err(|_| invalid())?.trim();
        let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
        text.parse().map(|v| Self(Some(v))).map_err(|_| invalid().into())
    }
}

/// The ETag of a versioned record.
pub fn etag(version: i64) -> [(header::HeaderName, String); 1] {
    [(header::ETAG, format!("\"{version}\""))]
}

/// Where the request came from (for the audit log).
pub fn origin(parts: &Parts) -> Origin {
    let header = |name: &str, max: usize| {
        parts.headers.get(name).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(max).collect::<String>())
    };
    Origin {
        ip: parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip().to_string()),
        user_agent: header("user-agent", 512),
        request_id: header("x-request-id", 128),
    }
}

/// Where the request came from, for requests made before anyone is signed in (logins).
#[derive(Debug)]
pub struct ClientOrigin(pub Origin);

impl<S: Send + Sync> FromRequestParts<S> for ClientOrigin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(origin(parts)))
    }
}

/// Any authenticated actor (tenant user or platform admin).
#[derive(Debug)]
pub struct CurrentUser(pub Actor);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| Error::unauthenticated("send a bearer token: Authorization: Bearer <token>"))?;
        let actor = state.app.authenticate(token, origin(parts)).await?;
        record_actor(&actor);
        Ok(Self(actor))
    }
}

/// Records who is acting on the request's span (see `request_span`), so that every line logged
/// from here on carries the tenant and user ids: ids only, never a name or an email.
pub(crate) fn record_actor(actor: &Actor) {
    let span = tracing::Span::current();
    match *actor.principal() {
        Principal::Member(member) => {
            span.record("tenant_id", tracing::field::display(member.tenant_id));
            span.record("user_id", tracing::field::display(member.user_id));
        }
        Principal::PlatformAdmin(id) => {
            span.record("user_id", tracing::field::display(id));
        }
        Principal::CommandLine(tenant) | Principal::Integration(tenant, _) => {
            span.record("tenant_id", tracing::field::display(tenant));
        }
    }
}

/// A user of a tenant (any role); platform admins are refused.
#[derive(Debug)]
pub struct TenantMember(pub Actor);

impl FromRequestParts<AppState> for TenantMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let CurrentUser(actor) = CurrentUser::from_request_parts(parts, state).await?;
        match actor.principal() {
            Principal::Member(_) | Principal::CommandLine(_) => Ok(Self(actor)),
            Principal::PlatformAdmin(_) | Principal::Integration(..) => {
                Err(Error::Forbidden("platform administrators have no access to tenant data here".into()).into())
            }
        }
    }
}

/// A tenant admin (or the command line, which acts as one).
#[derive(Debug)]
pub struct TenantAdmin(pub Actor);

impl FromRequestParts<AppState> for TenantAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let TenantMember(actor) = TenantMember::from_request_parts(parts, state).await?;
        match actor.principal() {
            Principal::Member(member) if member.role != Role::Admin => {
                Err(Error::Forbidden("only tenant admins may do this".into()).into())
            }
            _ => Ok(Self(actor)),
        }
    }
}

/// A platform administrator; tenant users are refused.
#[derive(Debug)]
pub struct PlatformAdmin(pub Actor);

impl FromRequestParts<AppState> for PlatformAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let CurrentUser(actor) = CurrentUser::from_request_parts(parts, state).await?;
        match actor.principal() {
            Principal::PlatformAdmin(_) => Ok(Self(actor)),
            _ => Err(Error::Forbidden("only platform administrators may do this".into()).into()),
        }
    }
}

/// A tenant member whose role allows `C`'s capability, checked before the body is read, so that
/// a role that may not do something is told so whatever it sent.
#[derive(Debug)]
pub struct Can<C>(pub Actor, pub std::marker::PhantomData<C>);

/// A capability named by a type, for [`Can`].
pub trait Needs {
    /// The capability.
    const CAPABILITY: clientele_core::accounts::access::Capability;
}

/// The capabilities handlers ask for by type.
pub mod needs {
    use clientele_core::accounts::access::Capability;

    /// Adding a note to a customer's timeline.
    #[derive(Debug)]
    pub struct AddNote;

    impl super::Needs for AddNote {
        const CAPABILITY: Capability = Capability::AddNote;
    }

    /// Ca.R.G.O.S. reporting: places, agencies, records, checks and sends.
    #[derive(Debug)]
    pub struct ReportCargos;

    impl super::Needs for ReportCargos {
        const CAPABILITY: Capability = Capability::ReportCargos;
    }
}

impl<C: Needs + Send + Sync> FromRequestParts<AppState> for Can<C> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let TenantMember(actor) = TenantMember::from_request_parts(parts, state).await?;
        actor.require(C::CAPABILITY)?;
        Ok(Self(actor, std::marker::PhantomData))
    }
}
