//! Pages of lists: keyset pages, opaque cursors, page sizes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, ErrorCode, FieldCode, FieldErrors, Result};

/// Default page size of lists.
pub const DEFAULT_LIMIT: u32 = 50;

/// Largest page size; a larger `limit` is refused (`400`, naming `limit`).
pub const MAX_LIMIT: u32 = 200;

/// A page of a keyset-paginated list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

const CURSOR_VERSION: u8 = 1;

/// An opaque keyset cursor: the id of the last item of a page.
pub(crate) fn encode_cursor(id: Uuid) -> String {
    let mut bytes = vec![CURSOR_VERSION];
    bytes.extend_from_slice(id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads a cursor made by [`encode_cursor`]; `400 invalid_cursor` otherwise.
pub(crate) fn decode_cursor(cursor: &str) -> Result<Uuid> {
    let invalid = || Error::bad_request(ErrorCode::InvalidCursor, "the cursor is not one this server issued");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    match bytes.split_first() {
        Some((&CURSOR_VERSION, id)) => Uuid::from_slice(id).map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

/// Page size and keyset position of a list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Only items before this one (the last of the previous page).
    pub after: Option<Uuid>,
    /// At most this many (1 to 200).
    pub limit: u32,
}

impl Paging {
    /// Reads `limit` (default 50, at most 200) and `cursor` of a simple list; `400` naming a
    /// bad one.
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let limit = parse_limit(&mut errors, limit);
        if !errors.is_empty() {
            return Err(Error::InvalidQuery(errors.into_vec()));
        }
        Ok(Self { after: cursor.map(decode_cursor).transpose()?, limit })
    }
}

pub(crate) fn parse_limit(errors: &mut FieldErrors, limit: Option<&str>) -> u32 {
    match limit.map(str::parse::<u32>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        Some(_) => {
            errors.push("limit", FieldCode::OutOfRange, format!("must be a whole number from 1 to {MAX_LIMIT}"));
            DEFAULT_LIMIT
        }
    }
}

/// Trims a page fetched with one extra item to `limit` and returns the cursor of the next page
/// (`None` on the last page).
pub(crate) fn next_cursor<T, I: Into<Uuid>>(items: &mut Vec<T>, limit: usize, id: impl Fn(&T) -> I) -> Option<String> {
    if items.len() > limit {
        items.truncate(limit);
        items.last().map(|item| encode_cursor(id(item).into()))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    #[test]
    fn limits_from_1_to_200_are_taken_and_others_refused_by_name() {
        assert_eq!(Paging::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(Paging::parse(Some("1"), None).unwrap().limit, 1);
        assert_eq!(Paging::parse(Some("200"), None).unwrap().limit, MAX_LIMIT);
        for bad in ["0", "201", "100000", "-1", "ten", "", "4294967296"] {
            match Paging::parse(Some(bad), None) {
                Err(Error::InvalidQuery(errors)) => {
                    assert_eq!(errors.len(), 1, "{bad}");
                    assert_eq!(errors[0].field, "limit", "{bad}");
                }
                other => panic!("limit={bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        for bad in ["", "abc", "!!!", &URL_SAFE_NO_PAD.encode([2_u8; 17])] {
            assert_eq!(decode_cursor(bad).unwrap_err().code(), ErrorCode::InvalidCursor, "{bad}");
        }
    }
}
