//! The domain error rendered as `application/problem+json` (RFC 9457).
//!
//! This is the one place where codes meet HTTP statuses. Internal errors are logged with the
//! request id and never echoed: the client gets a generic message and that id.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientele_core::{Error, ErrorCode, FieldError};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document, with our stable `code` and field errors.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:clientele:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// Stable snake_case code to branch on.
    pub code: String,
    /// What happened in this case.
    pub detail: String,
    /// For validation problems: every bad field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extension members (e.g. `current_version` on a version conflict).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

/// The HTTP status of a code (from the codes' one table, [`ErrorCode::status`]).
pub fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A domain error on its way to becoming a response.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        Self(error)
    }
}

impl ApiError {
    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let code = self.0.code();
        let (detail, errors, details) = match &self.0 {
            Error::Invalid(errors) => {
                let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                (format!("invalid fields: {}", names.join(", ")), errors.clone(), None)
            }
            Error::InvalidQuery(errors) => {
                let names: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
                (format!("invalid query parameters: {}", names.join(", ")), errors.clone(), None)
            }
            Error::NotFound(what) => (format!("{what} not found"), Vec::new(), None),
            Error::Conflict { message, details, .. } => (message.clone(), Vec::new(), details.clone()),
            Error::Forbidden(message) => (message.clone(), Vec::new(), None),
            Error::Unauthenticated { message, .. }
            | Error::BadRequest { message, .. }
            | Error::Server { message, .. } => (message.clone(), Vec::new(), None),
            Error::RetryLater { message, retry_after, .. } => (
                message.clone(),
                Vec::new(),
                Some(serde_json::json!({"retry_after": retry_after_seconds(*retry_after)})),
            ),
            Error::Internal(_) => ("something went wrong on our side; it has been logged".to_owned(), Vec::new(), None),
        };
        Problem {
            problem_type: code.problem_type(),
            title: code.title().to_owned(),
            status: status_of(code).as_u16(),
            code: code.as_str().to_owned(),
            detail,
            errors,
            details,
        }
    }
}

impl ApiError {
    /// The problem document, after logging what the server must know (internal errors, server-side
    /// failures) and the client must not see.
    pub fn problem_logged(&self) -> Problem {
        if let Error::Internal(context) = &self.0 {
            tracing::error!(error = %context, "internal error");
        }
        if let Error::Server { code, message } = &self.0 {
            tracing::error!(code = code.as_str(), error = %message, "server-side failure");
        }
        self.problem()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem_logged();
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Error::RetryLater { retry_after, .. } = &self.0 {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds(*retry_after)));
        }
        response
    }
}

/// Whole seconds to wait, rounded up and at least one (`Retry-After` has no fractions, and `0`
/// would invite an immediate retry).
fn retry_after_seconds(wait: std::time::Duration) -> u64 {
    wait.as_secs().saturating_add(u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_name_a_title_and_an_error_status() {
        let server_side = [
            ErrorCode::ServiceUnavailable,
            ErrorCode::DatabaseBusy,
            ErrorCode::DocumentsUnavailable,
            ErrorCode::WebhooksUnavailable,
            ErrorCode::DocumentUnreadable,
            ErrorCode::CargosUnavailable,
            ErrorCode::StripeUnavailable,
            ErrorCode::Internal,
        ];
        let mut names = std::collections::HashSet::new();
        for &code in ErrorCode::ALL {
            assert!(names.insert(code.as_str()), "{code:?} shares its name");
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str(), "{code:?} serializes as its name");
            assert!(!code.title().is_empty());
            let status = status_of(code);
            assert_eq!(status.is_server_error(), server_side.contains(&code), "{code:?}: {status}");
            assert!(status.is_client_error() || status.is_server_error(), "{code:?}: {status}");
        }
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }

    #[test]
    fn internal_details_are_never_shown() {
        let problem = ApiError(Error::internal("password=hunter2 at db")).problem();
        assert!(!problem.detail.contains("hunter2"));
        assert_eq!(problem.code, "internal");
    }
}
