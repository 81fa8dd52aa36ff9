//! The one domain error, and the stable codes it carries on the wire.
//!
//! Every failure a caller can act on is one of these variants; the HTTP layer renders them as
//! `application/problem+json` (RFC 9457) and the CLI prints them. The codes below are a public
//! contract: clients branch on them, so a code is never renamed or reused.

use serde::Serialize;

/// Result with the domain [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Declares [`ErrorCode`] from one table: each code's wire name, HTTP status and title.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident = ($wire:literal, $status:literal, $title:literal),)*) => {
        /// Stable, snake_case problem codes: the one list of them, each with its wire name, HTTP
        /// status and title (the problem document's `code`, `status` and `title`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($(#[$doc])* $name,)*
        }

        impl ErrorCode {
            /// Every code, in the table's order.
            pub const ALL: &'static [ErrorCode] = &[$(Self::$name),*];

            /// The code as it appears in problem documents.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$name => $wire,)*
                }
            }

            /// The HTTP status a problem with this code is answered with.
            pub fn status(self) -> u16 {
                match self {
                    $(Self::$name => $status,)*
                }
            }

            /// The problem document's short, fixed title.
            pub fn title(self) -> &'static str {
                match self {
                    $(Self::$name => $title,)*
                }
            }

            /// The problem document's `type`: a URN naming the code.
            pub fn problem_type(self) -> String {
                format!("urn:clientele:problem:{}", self.as_str())
            }
        }
    };
}

error_codes! {
    /// The resource does not exist, or the caller may not know that it exists.
    NotFound = ("not_found", 404, "Not found"),
    /// The caller is known but its role does not allow the action.
    Forbidden = ("forbidden", 403, "Forbidden"),
    /// No credentials, or credentials that are invalid, expired or revoked.
    Unauthenticated = ("unauthenticated", 401, "Authentication required"),
    /// Wrong email, password or tenant at login.
    InvalidCredentials = ("invalid_credentials", 401, "Invalid credentials"),
    /// One or more fields are invalid; `errors` names each.
    ValidationFailed = ("validation_failed", 422, "Validation failed"),
    /// The body is not well-formed JSON.
    MalformedJson = ("malformed_json", 400, "Malformed JSON"),
    /// A JSON body gives one key twice in an object; the detail names it.
    DuplicateKey = ("duplicate_key", 400, "Duplicate key"),
    /// The body is not `application/json`.
    UnsupportedMediaType = ("unsupported_media_type", 415, "Unsupported media type"),
    /// A `multipart/form-data` body could not be read.
    MalformedForm = ("malformed_form", 400, "Malformed form"),
    /// The body is larger than the server accepts.
    PayloadTooLarge = ("payload_too_large", 413, "Payload too large"),
    /// A path parameter (usually an id) is malformed.
    InvalidPathParameter = ("invalid_path_parameter", 400, "Invalid path parameter"),
    /// A query parameter is unknown or malformed.
    InvalidQuery = ("invalid_query", 400, "Invalid query parameters"),
    /// A pagination cursor is malformed or was not issued by this server.
    InvalidCursor = ("invalid_cursor", 400, "Invalid cursor"),
    /// A request header (such as `If-Match`) is malformed.
    InvalidHeader = ("invalid_header", 400, "Invalid header"),
    /// The `version` (or `If-Match`) is not the current version of the record.
    VersionConflict = ("version_conflict", 409, "Version conflict"),
    /// Another customer of the tenant already has this `external_ref`.
    DuplicateExternalRef = ("duplicate_external_ref", 409, "Duplicate external reference"),
    /// The action needs a customer that is not deleted.
    CustomerDeleted = ("customer_deleted", 409, "Customer deleted"),
    /// The action conflicts with the current state (for example, an email already in use).
    Conflict = ("conflict", 409, "Conflict"),
    /// The customer already has an active blacklist entry of that scope.
    AlreadyBlacklisted = ("already_blacklisted", 409, "Already blacklisted"),
    /// The customer has no active blacklist entry to lift.
    NotBlacklisted = ("not_blacklisted", 409, "Not blacklisted"),
    /// The customer (or second driver) is blacklisted: an admin override is needed.
    CustomerBlacklisted = ("customer_blacklisted", 409, "Customer blacklisted"),
    /// The order is not waiting for an override.
    OrderNotAwaitingOverride = ("order_not_awaiting_override", 409, "Order not awaiting an override"),
    /// The order cannot move from its status to the one asked for.
    InvalidStatusTransition = ("invalid_status_transition", 409, "Invalid status transition"),
    /// The import cannot be undone (not finished, a dry run, or undone already).
    ImportNotUndoable = ("import_not_undoable", 409, "Import cannot be undone"),
    /// The HTTP method is not allowed on this resource.
    MethodNotAllowed = ("method_not_allowed", 405, "Method not allowed"),
    /// The request took longer than the server allows.
    RequestTimeout = ("request_timeout", 408, "Request timeout"),
    /// Too many attempts (logins): wait for `Retry-After` seconds before trying again.
    TooManyRequests = ("too_many_requests", 429, "Too many requests"),
    /// The service cannot answer now (for example, the database is unreachable).
    ServiceUnavailable = ("service_unavailable", 503, "Service unavailable"),
    /// The database was too busy with other writes to take this one in time: retry after
    /// `Retry-After` seconds; nothing was written.
    DatabaseBusy = ("database_busy", 503, "Database busy"),
    /// Document storage is not configured on this server (no master key), or its store cannot
    /// take a file now (full, not writable): retry after `Retry-After` seconds; nothing was stored.
    DocumentsUnavailable = ("documents_unavailable", 503, "Documents unavailable"),
    /// Webhooks cannot be made or sent on this server (no outbound transport, or no master key
    /// to seal their secrets with).
    WebhooksUnavailable = ("webhooks_unavailable", 503, "Webhooks unavailable"),
    /// A stored document's file is missing or failed its integrity check.
    DocumentUnreadable = ("document_unreadable", 500, "Document unreadable"),
    /// The tenant has no Ca.R.G.O.S. credentials yet: an admin sets them in the Ca.R.G.O.S. settings.
    CargosNotConfigured = ("cargos_not_configured", 409, "Ca.R.G.O.S. not configured"),
    /// The police service refused the tenant's Ca.R.G.O.S. credentials (username, password or API key).
    CargosCredentialsRefused = ("cargos_credentials_refused", 409, "Ca.R.G.O.S. credentials refused"),
    /// The order's record has problems to fix before it can be checked or sent; `problems` names each.
    CargosRecordInvalid = ("cargos_record_invalid", 409, "Ca.R.G.O.S. record has problems"),
    /// A send needs a successful check of exactly the same record first.
    CargosNotChecked = ("cargos_not_checked", 409, "Ca.R.G.O.S. record not checked"),
    /// The police accepted this order's contract already (or a send of it is under way): never sent twice.
    CargosAlreadySent = ("cargos_already_sent", 409, "Ca.R.G.O.S. contract already sent"),
    /// The police service timed out, failed, or answered something unreadable; or this server has no
    /// Ca.R.G.O.S. client. Nothing was accepted: try again later.
    CargosUnavailable = ("cargos_unavailable", 503, "Ca.R.G.O.S. unavailable"),
    /// The tenant has not set Stripe up (or Stripe refused its key): an admin sets the Stripe
    /// settings. Nothing was sent to Stripe.
    PaymentsNotConfigured = ("payments_not_configured", 409, "Payments not configured"),
    /// Stripe declined the card (`decline_code` says why when Stripe does).
    CardDeclined = ("card_declined", 402, "Card declined"),
    /// Stripe refused the request itself (an `invalid_request_error`); the detail gives its
    /// code and the parameter it names.
    StripeRequestRefused = ("stripe_request_refused", 409, "Stripe refused the request"),
    /// Stripe did not answer in time, failed, or kept asking to retry (after this server's own
    /// retries); or this server has no Stripe client. Try again later.
    StripeUnavailable = ("stripe_unavailable", 503, "Stripe unavailable"),
    /// A Stripe webhook without a valid `Stripe-Signature` for the tenant's signing secret, signed
    /// outside the five-minute tolerance, or for another Stripe account.
    StripeSignatureInvalid = ("stripe_signature_invalid", 400, "Invalid Stripe signature"),
    /// Something failed on our side; details are in the server log, never in the response.
    Internal = ("internal", 500, "Internal error"),
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
    /// A failure on our side that the caller should be told about precisely (a stored file
    /// that fails its integrity check, a feature not configured): its code and message are shown.
    #[error("{message}")]
    Server {
        /// The problem code.
        code: ErrorCode,
        /// What went wrong.
        message: String,
    },
    /// A failure on our side. The message is logged, never shown to the client.
    #[error("internal error: {0}")]
    Internal(String),
    /// Not now: the caller may try again after `retry_after` (too many attempts, a busy
    /// database). Answered with a `Retry-After` header.
    #[error("{message}")]
    RetryLater {
        /// The problem code.
        code: ErrorCode,
        /// What to wait for.
        message: String,
        /// How long to wait before trying again.
        retry_after: std::time::Duration,
    },
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

    /// Not now: try again after `retry_after`.
    pub fn retry_later(code: ErrorCode, message: impl Into<String>, retry_after: std::time::Duration) -> Self {
        Self::RetryLater { code, message: message.into(), retry_after }
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
            Self::Server { code, .. } | Self::RetryLater { code, .. } => *code,
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
