//! The one domain error, and the stable codes it carries on the wire.
//!
//! Every failure a caller can act on is one of these variants; the HTTP layer renders them as
//! `application/problem+json` (RFC 9457) and the CLI prints them. The codes below are a public
//! contract: clients branch on them, so a code is never renamed or reused.

use serde::Serialize;

/// Result with the domain [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Stable, snake_case problem codes. The one list of them; `as_str` is what goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The resource does not exist, or the caller may not know that it exists.
    NotFound,
    /// The caller is known but its role does not allow the action.
    Forbidden,
    /// No credentials, or credentials that are invalid, expired or revoked.
    Unauthenticated,
    /// Wrong email, password or tenant at login.
    InvalidCredentials,
    /// One or more fields are invalid; `errors` names each.
    ValidationFailed,
    /// The body is not well-formed JSON.
    MalformedJson,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// A `multipart/form-data` body could not be read.
    MalformedForm,
    /// The body is larger than the server accepts.
    PayloadTooLarge,
    /// A path parameter (usually an id) is malformed.
    InvalidPathParameter,
    /// A query parameter is unknown or malformed.
    InvalidQuery,
    /// A pagination cursor is malformed or was not issued by this server.
    InvalidCursor,
    /// A request header (such as `If-Match`) is malformed.
    InvalidHeader,
    /// The `version` (or `If-Match`) is not the current version of the record.
    VersionConflict,
    /// Another customer of the tenant already has this `external_ref`.
    DuplicateExternalRef,
    /// The action needs a customer that is not deleted.
    CustomerDeleted,
    /// The action conflicts with the current state (for example, an email already in use).
    Conflict,
    /// The customer already has an active blacklist entry of that scope.
    AlreadyBlacklisted,
    /// The customer has no active blacklist entry to lift.
    NotBlacklisted,
    /// The customer (or second driver) is blacklisted: an admin override is needed.
    CustomerBlacklisted,
    /// The order is not waiting for an override.
    OrderNotAwaitingOverride,
    /// The order cannot move from its status to the one asked for.
    InvalidStatusTransition,
    /// The import cannot be undone (not finished, a dry run, or undone already).
    ImportNotUndoable,
    /// The HTTP method is not allowed on this resource.
    MethodNotAllowed,
    /// The service cannot answer now (for example, the database is unreachable).
    ServiceUnavailable,
    /// Document storage is not configured on this server (no master key).
    DocumentsUnavailable,
    /// A stored document's file is missing or failed its integrity check.
    DocumentUnreadable,
    /// Something failed on our side; details are in the server log, never in the response.
    Internal,
}

impl ErrorCode {
    /// The code as it appears in problem documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Forbidden => "forbidden",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::ValidationFailed => "validation_failed",
            Self::MalformedJson => "malformed_json",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::MalformedForm => "malformed_form",
            Self::PayloadTooLarge => "payload_too_large",
            Self::InvalidPathParameter => "invalid_path_parameter",
            Self::InvalidQuery => "invalid_query",
            Self::InvalidCursor => "invalid_cursor",
            Self::InvalidHeader => "invalid_header",
            Self::VersionConflict => "version_conflict",
            Self::DuplicateExternalRef => "duplicate_external_ref",
            Self::CustomerDeleted => "customer_deleted",
            Self::Conflict => "conflict",
            Self::AlreadyBlacklisted => "already_blacklisted",
            Self::NotBlacklisted => "not_blacklisted",
            Self::CustomerBlacklisted => "customer_blacklisted",
            Self::OrderNotAwaitingOverride => "order_not_awaiting_override",
            Self::InvalidStatusTransition => "invalid_status_transition",
            Self::ImportNotUndoable => "import_not_undoable",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::ServiceUnavailable => "service_unavailable",
            Self::DocumentsUnavailable => "documents_unavailable",
            Self::DocumentUnreadable => "document_unreadable",
            Self::Internal => "internal",
        }
    }
}

/// Why one field was rejected. Serialized as `{"field", "code", "message"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Dotted path of the field in the request, e.g. `driver_license.issued_on`.
    pub field: String,
    /// Stable snake_case code, e.g. `required`, `invalid_phone`.
    pub code: FieldCode,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// A field error at `field`.
    pub fn new(field: impl Into<String>, code: FieldCode, message: impl Into<String>) -> Self {
        Self { field: field.into(), code, message: message.into() }
    }
}

/// Stable codes for field-level validation failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldCode {
    /// The field is missing or empty.
    Required,
    /// The value does not have the expected form.
    Invalid,
    /// The JSON value has the wrong type (a number where a string is expected, ...).
    InvalidType,
    /// The field is not part of this resource.
    UnknownField,
    /// The text is longer than allowed.
    TooLong,
    /// The text is shorter than allowed.
    TooShort,
    /// Not a valid phone number.
    InvalidPhone,
    /// Not a valid email address.
    InvalidEmail,
    /// Not an ISO 3166-1 alpha-2 country code.
    InvalidCountry,
    /// Not a `YYYY-MM-DD` date.
    InvalidDate,
    /// A date or number outside the allowed range.
    OutOfRange,
    /// The value refers to something that does not exist (or is not of the right kind).
    UnknownReference,
    /// The caller may not set this field, or this field cannot change.
    NotAllowed,
}

/// The domain error. See the module documentation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing (named, e.g. "customer") does not exist for this caller.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// Stable code, e.g. [`ErrorCode::VersionConflict`].
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
        /// Extra members for the problem document (e.g. the current version).
        details: Option<serde_json::Value>,
    },
    /// One or more fields are invalid.
    #[error("validation failed: {0:?}")]
    Invalid(Vec<FieldError>),
    /// One or more query parameters are invalid (`400 invalid_query`).
    #[error("invalid query parameters: {0:?}")]
    InvalidQuery(Vec<FieldError>),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The caller is not (or no longer) authenticated.
    #[error("{message}")]
    Unauthenticated {
        /// Stable code: [`ErrorCode::Unauthenticated`] or [`ErrorCode::InvalidCredentials`].
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
    /// The request itself is malformed (outside any single field of a body).
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
    },
    /// A failure on our side. The message is logged, never shown to the client.
    /// A failure on our side that the caller should be told about precisely (a stored file
    /// that fails its integrity check, a feature not configured): its code and message are shown.
    #[error("{message}")]
    Server {
        /// The problem code.
        code: ErrorCode,
        /// What went wrong.
        message: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A conflict without extra details.
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into(), details: None }
    }

    /// `409 version_conflict`: the `what` (customer, order) moved on from version `expected` to
    /// `current`, which the problem carries as `current_version`.
    pub fn version_conflict(what: &str, expected: i64, current: i64) -> Self {
        Self::Conflict {
            code: ErrorCode::VersionConflict,
            message: format!("the {what} changed since version {expected}; it is now at version {current}"),
            details: Some(serde_json::json!({"current_version": current})),
        }
    }

    /// A malformed request.
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::BadRequest { code, message: message.into() }
    }

    /// A missing, invalid, expired or revoked credential.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::Unauthenticated { code: ErrorCode::Unauthenticated, message: message.into() }
    }

    /// A failure on our side whose code and message the caller is shown.
    pub fn server(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Server { code, message: message.into() }
    }

    /// A failure on our side, with context for the log.
    pub fn internal(context: impl std::fmt::Display) -> Self {
        Self::Internal(context.to_string())
    }

    /// One invalid query parameter (`400 invalid_query`).
    pub fn invalid_query(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidQuery(vec![FieldError::new(field, FieldCode::Invalid, message)])
    }

    /// One invalid field.
    pub fn invalid(field: impl Into<String>, code: FieldCode, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }

    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Conflict { code, .. } | Self::Unauthenticated { code, .. } | Self::BadRequest { code, .. } => *code,
            Self::Invalid(_) => ErrorCode::ValidationFailed,
            Self::InvalidQuery(_) => ErrorCode::InvalidQuery,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::Server { code, .. } => *code,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

/// Collects field errors so that one response can name every bad field.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one error.
    pub fn push(&mut self, field: impl Into<String>, code: FieldCode, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    /// Keeps the value of `result`, or records its error under `field` and returns `None`.
    pub fn take<T>(&mut self, field: &str, result: Result<T, FieldProblem>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(problem) => {
                self.push(field, problem.code, problem.message);
                None
            }
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded, else [`Error::Invalid`] with every error.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T> {
        if self.0.is_empty() { Ok(value()) } else { Err(Error::Invalid(self.0)) }
    }

    /// The recorded errors as [`Error::Invalid`].
    pub fn into_error(self) -> Error {
        Error::Invalid(self.0)
    }

    /// All recorded errors.
    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }
}

/// Why a single value failed to parse; the field name is added by whoever knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// Stable code.
    pub code: FieldCode,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldProblem {
    /// A problem with `code` and `message`.
    pub fn new(code: FieldCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl std::fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
