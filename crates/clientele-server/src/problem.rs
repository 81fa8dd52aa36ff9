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

/// The HTTP status of each code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::Unauthenticated | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
        ErrorCode::ValidationFailed => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::MalformedJson
        | ErrorCode::MalformedForm
        | ErrorCode::InvalidPathParameter
        | ErrorCode::InvalidQuery
        | ErrorCode::InvalidCursor
        | ErrorCode::InvalidHeader => StatusCode::BAD_REQUEST,
        ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::VersionConflict
        | ErrorCode::DuplicateExternalRef
        | ErrorCode::CustomerDeleted
        | ErrorCode::Conflict
        | ErrorCode::AlreadyBlacklisted
        | ErrorCode::NotBlacklisted
        | ErrorCode::CustomerBlacklisted
        | ErrorCode::OrderNotAwaitingOverride
        | ErrorCode::InvalidStatusTransition
        | ErrorCode::ImportNotUndoable => StatusCode::CONFLICT,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::ServiceUnavailable | ErrorCode::DocumentsUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal | ErrorCode::DocumentUnreadable => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn title_of(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NotFound => "Not found",
        ErrorCode::Forbidden => "Forbidden",
        ErrorCode::Unauthenticated => "Authentication required",
        ErrorCode::InvalidCredentials => "Invalid credentials",
        ErrorCode::ValidationFailed => "Validation failed",
        ErrorCode::MalformedJson => "Malformed JSON",
        ErrorCode::MalformedForm => "Malformed form",
        ErrorCode::UnsupportedMediaType => "Unsupported media type",
        ErrorCode::PayloadTooLarge => "Payload too large",
        ErrorCode::InvalidPathParameter => "Invalid path parameter",
        ErrorCode::InvalidQuery => "Invalid query parameters",
        ErrorCode::InvalidCursor => "Invalid cursor",
        ErrorCode::InvalidHeader => "Invalid header",
        ErrorCode::VersionConflict => "Version conflict",
        ErrorCode::DuplicateExternalRef => "Duplicate external reference",
        ErrorCode::CustomerDeleted => "Customer deleted",
        ErrorCode::Conflict => "Conflict",
        ErrorCode::AlreadyBlacklisted => "Already blacklisted",
        ErrorCode::NotBlacklisted => "Not blacklisted",
        ErrorCode::CustomerBlacklisted => "Customer blacklisted",
        ErrorCode::OrderNotAwaitingOverride => "Order not awaiting an override",
        ErrorCode::InvalidStatusTransition => "Invalid status transition",
        ErrorCode::ImportNotUndoable => "Import cannot be undone",
        ErrorCode::MethodNotAllowed => "Method not allowed",
        ErrorCode::ServiceUnavailable => "Service unavailable",
        ErrorCode::DocumentsUnavailable => "Documents unavailable",
        ErrorCode::DocumentUnreadable => "Document unreadable",
        ErrorCode::Internal => "Internal error",
    }
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
            Error::Internal(_) => ("something went wrong on our side; it has been logged".to_owned(), Vec::new(), None),
        };
        Problem {
            problem_type: format!("urn:clientele:problem:{}", code.as_str()),
            title: title_of(code).to_owned(),
            status: status_of(code).as_u16(),
            code: code.as_str().to_owned(),
            detail,
            errors,
            details,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Error::Internal(context) = &self.0 {
            tracing::error!(error = %context, "internal error");
        }
        if let Error::Server { code, message } = &self.0 {
            tracing::error!(code = code.as_str(), error = %message, "server-side failure");
        }
        let problem = self.problem();
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_client_or_server_error_status() {
        use ErrorCode::*;
        for code in [
            NotFound,
            Forbidden,
            Unauthenticated,
            InvalidCredentials,
            ValidationFailed,
            MalformedJson,
            UnsupportedMediaType,
            PayloadTooLarge,
            InvalidPathParameter,
            InvalidQuery,
            InvalidCursor,
            InvalidHeader,
            VersionConflict,
            DuplicateExternalRef,
            CustomerDeleted,
            Conflict,
            AlreadyBlacklisted,
            NotBlacklisted,
            CustomerBlacklisted,
            OrderNotAwaitingOverride,
            InvalidStatusTransition,
            MethodNotAllowed,
            ServiceUnavailable,
        ] {
            assert!(status_of(code).is_client_error() || code == ServiceUnavailable, "{code:?}");
        }
        assert_eq!(status_of(Internal), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn internal_details_are_never_shown() {
        let problem = ApiError(Error::internal("password=hunter2 at db")).problem();
        assert!(!problem.detail.contains("hunter2"));
        assert_eq!(problem.code, "internal");
    }
}
