//! The domain error rendered as a page: the same [`Error`] the API renders as problem+json, with
//! the same status and code, shown as a page in the reader's language (kanidm's
//! `views/errors.rs` is the model). Field errors of forms are shown beside their fields instead.
//!
//! A handler returns `Err(PageError)`; the error does not know the reader's language, so it
//! leaves its facts on the response and [`render`] (a middleware on the console's routes, which
//! knows the language) writes the page.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use clientele_core::{Error, ErrorCode, FieldError};

use crate::console::i18n::Tr;
use crate::console::shell::Bare;
use crate::problem::{ApiError, status_of};

/// A domain error on its way to becoming a page.
#[derive(Debug)]
pub struct PageError(pub Error);

impl From<Error> for PageError {
    fn from(error: Error) -> Self {
        Self(error)
    }
}

/// What an error page shows, left on the response for [`render`].
#[derive(Debug, Clone)]
pub(crate) struct PendingErrorPage {
    code: ErrorCode,
    detail: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Error::Unauthenticated { .. } = &self.0 {
            // The log-in page, then back here (the console's extractor sends the path along).
            return Redirect::to("/login").into_response();
        }
        let problem = ApiError(self.0).problem_logged();
        let code = ErrorCode::ALL.iter().copied().find(|c| c.as_str() == problem.code).unwrap_or(ErrorCode::Internal);
        let mut response = status_of(code).into_response();
        response.extensions_mut().insert(PendingErrorPage { code, detail: problem.detail });
        response
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    shell: Bare,
    status: u16,
    title: &'a str,
    explanation: &'a str,
    detail: &'a str,
    code: &'a str,
}

/// Writes the page of an error left on `response` in the reader's language.
pub(crate) fn render(response: Response, tr: Tr) -> Response {
    let Some(pending) = response.extensions().get::<PendingErrorPage>().cloned() else {
        return response;
    };
    let status = response.status();
    let key = format!("error-{}", pending.code.as_str());
    let title = if tr.t(&key) == key { tr.t("error-title") } else { tr.t(&key) };
    let explanation_key = format!("error-{}-help", pending.code.as_str());
    let explanation = if tr.t(&explanation_key) == explanation_key { "" } else { tr.t(&explanation_key) };
    let page = ErrorPage {
        shell: Bare::new(tr, title.to_owned()),
        status: status.as_u16(),
        title,
        explanation,
        detail: &pending.detail,
        code: pending.code.as_str(),
    };
    match page.render() {
        Ok(html) => {
            let mut response = (status, html).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering an error page");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Field errors of a form, found by field name, each message in the reader's language.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors {
    errors: Vec<FieldError>,
    tr: Tr,
}

impl FieldErrors {
    /// The field errors of `error`, or none when it is not a validation error.
    pub fn of(error: &Error, tr: Tr) -> Self {
        let errors = match error {
            Error::Invalid(errors) | Error::InvalidQuery(errors) => errors.clone(),
            _ => Vec::new(),
        };
        Self { errors, tr }
    }

    /// No errors (a form shown for the first time).
    pub fn none(tr: Tr) -> Self {
        Self { errors: Vec::new(), tr }
    }

    /// Whether there are any.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The message for `field` (and fields under it, `address` for `address.city`), empty when
    /// it has none.
    pub fn get(&self, field: &str) -> String {
        self.errors.iter().filter(|e| e.field == field).map(|e| self.message(e)).collect::<Vec<_>>().join("; ")
    }

    /// Whether `field` has an error.
    pub fn has(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    /// Every error as `field: message`, for a summary at the top of a form.
    pub fn all(&self) -> Vec<(String, String)> {
        self.errors.iter().map(|e| (e.field.clone(), self.message(e))).collect()
    }

    fn message(&self, error: &FieldError) -> String {
        let code =
            serde_json::to_value(error.code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let key = format!("fielderror-{code}");
        let localised = self.tr.t(&key);
        // The core's message says the specifics (which format, which range); in English it is
        // the message, elsewhere it follows the translated summary.
        if localised == key || self.tr.locale == crate::console::i18n::Locale::En {
            error.message.clone()
        } else {
            format!("{localised} ({})", error.message)
        }
    }
}
