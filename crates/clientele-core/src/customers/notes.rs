//! A customer's notes timeline.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{FieldCode, FieldErrors, FieldProblem, Result};
use crate::ids::{CustomerId, NoteId};
use crate::time::Timestamp;

/// A dated, authored entry on a customer's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Note {
    /// The note's id.
    pub id: NoteId,
    /// The customer the note is about.
    pub customer_id: CustomerId,
    /// The text.
    pub body: String,
    /// Who wrote it.
    pub author: NoteAuthor,
    /// When it was written.
    pub created_at: Timestamp,
}

/// The author of a note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NoteAuthor {
    /// The user's id; absent for notes written by command-line imports.
    pub id: Option<Uuid>,
    /// The user's email at the time the note is read.
    pub email: Option<String>,
}

/// A note to add to a customer's timeline.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// The text, 1 to 10,000 characters.
    pub body: String,
}

impl NoteInput {
    /// Longest note accepted.
    pub const MAX_CHARS: usize = 10_000;

    /// The trimmed body, or a field error on `body`.
    pub fn validate(&self) -> Result<String> {
        let mut errors = FieldErrors::new();
        let body = errors.take("body", note_body(&self.body));
        body.ok_or_else(|| errors.into_error())
    }
}

pub(crate) fn note_body(body: &str) -> Result<String, FieldProblem> {
    // Notes may be several lines long: allow newlines and tabs, nothing else that is a control.
    let trimmed = body.trim();
    if trimmed.is_empty() {
        return Err(FieldProblem::new(FieldCode::Required, "is required"));
    }
    if trimmed.chars().count() > NoteInput::MAX_CHARS {
        return Err(FieldProblem::new(
            FieldCode::TooLong,
            format!("must be at most {} characters", NoteInput::MAX_CHARS),
        ));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(FieldProblem::new(FieldCode::Invalid, "must not contain control characters"));
    }
    crate::values::refuse_bidi_controls(trimmed)?;
    Ok(trimmed.to_owned())
}
