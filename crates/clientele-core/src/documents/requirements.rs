//! The documents a tenant requires of every customer, and how complete a customer's are.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::documents::record::DocumentKind;
use crate::error::{FieldCode, FieldErrors, Result};

/// The documents a tenant requires of every customer: each requirement is met by any one of its
/// kinds (`passport|id_card`: either). The default is an identity document and a driving licence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredDocuments(Vec<Vec<DocumentKind>>);

impl Default for RequiredDocuments {
    fn default() -> Self {
        Self(vec![vec![DocumentKind::Passport, DocumentKind::IdCard], vec![DocumentKind::DriverLicense]])
    }
}

impl RequiredDocuments {
    /// Parses requirements as written: `["passport|id_card", "driver_license"]`. Names the
    /// field `required` in errors.
    pub fn parse(items: &[String]) -> Result<Self> {
        let mut e = FieldErrors::new();
        let mut groups: Vec<Vec<DocumentKind>> = Vec::new();
        if items.len() > DocumentKind::ALL.len() {
            e.push("required", FieldCode::TooLong, "lists at most 5 requirements");
        }
        for (i, item) in items.iter().enumerate() {
            let mut kinds = Vec::new();
            for part in item.split('|') {
                match DocumentKind::parse(part) {
                    Ok(kind) if !kinds.contains(&kind) => kinds.push(kind),
                    Ok(_) => {}
                    Err(problem) => e.push(format!("required[{i}]"), problem.code, problem.message),
                }
            }
            kinds.sort();
            if !kinds.is_empty() && !groups.contains(&kinds) {
                groups.push(kinds);
            }
        }
        e.finish(|| Self(groups))
    }

    /// Requirements read back from the store (written by [`Self::to_stored`]); unreadable ones
    /// fall back to the default rather than requiring nothing.
    pub fn from_stored(text: &str) -> Self {
        let items: Vec<String> = serde_json::from_str(text).unwrap_or_default();
        Self::parse(&items).unwrap_or_default()
    }

    /// The requirements as stored and shown: `["passport|id_card", "driver_license"]`.
    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|kinds| kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join("|")).collect()
    }

    /// The stored form.
    pub fn to_stored(&self) -> String {
        serde_json::to_string(&self.names()).unwrap_or_else(|_| "[]".to_owned())
    }

    /// The requirement groups.
    pub fn groups(&self) -> &[Vec<DocumentKind>] {
        &self.0
    }

    /// The completion status of a customer holding `held` (kind, expiry) live documents.
    pub fn status(&self, held: &[(DocumentKind, Option<Date>)], today: Date) -> DocumentsStatus {
        let soon = today + time::Duration::days(EXPIRING_SOON_DAYS);
        let mut status = DocumentsStatus { complete: true, missing: Vec::new(), expiring_soon: Vec::new() };
        for (kinds, name) in self.0.iter().zip(self.names()) {
            // The document of the group that stays valid longest (no expiry: forever).
            let best = held
                .iter()
                .filter(|(kind, expires)| kinds.contains(kind) && expires.is_none_or(|d| d >= today))
                .map(|(_, expires)| expires.unwrap_or(Date::MAX))
                .max();
            match best {
                None => {
                    status.complete = false;
                    status.missing.push(name);
                }
                Some(expires) if expires <= soon => status.expiring_soon.push(name),
                Some(_) => {}
            }
        }
        status
    }
}

impl fmt::Display for RequiredDocuments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(", "))
    }
}

/// A document expiring within this many days is listed as expiring soon.
pub const EXPIRING_SOON_DAYS: i64 = 30;

/// Whether a customer holds every required document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DocumentsStatus {
    /// True when no requirement is missing (an expired document counts as missing).
    pub complete: bool,
    /// The requirements not met, as the tenant wrote them (`passport|id_card`, `driver_license`).
    pub missing: Vec<String>,
    /// The requirements met only by documents expiring within 30 days.
    pub expiring_soon: Vec<String>,
}

/// The `documents` list filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentsFilter {
    /// `true`: only customers holding every required document; `false`: only those missing any.
    pub complete: bool,
    /// The tenant's requirements.
    pub required: RequiredDocuments,
    /// Documents expiring before this date count as missing.
    pub today: Date,
}

/// `PUT /settings/required-documents`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiredDocumentsInput {
    /// Requirements, each met by any of its `|`-separated kinds:
    /// `["passport|id_card", "driver_license"]`. An empty list requires nothing.
    pub required: Vec<String>,
}

/// The tenant's required documents, as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequiredDocumentsView {
    /// Requirements, each met by any of its `|`-separated kinds.
    pub required: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use time::macros::date;

    #[test]
    fn status_counts_expired_documents_as_missing() {
        let today = date!(2026 - 11 - 24);
        let required = RequiredDocuments::default();
        assert_eq!(required.names(), ["passport|id_card", "driver_license"]);
        let none = required.status(&[], today);
        assert_eq!((none.complete, none.missing.len()), (false, 2));

        let held = [
            (DocumentKind::IdCard, Some(date!(2026 - 11 - 23))), // expired yesterday
            (DocumentKind::Passport, Some(date!(2026 - 12 - 10))), // expiring soon
            (DocumentKind::DriverLicense, Some(date!(2030 - 01 - 01))),
        ];
        let status = required.status(&held, today);
        assert!(status.complete);
        assert_eq!(status.expiring_soon, ["passport|id_card"]);

        let expired = required.status(&held[..1], today);
        assert_eq!(expired.missing, ["passport|id_card", "driver_license"]);
        let no_expiry = required.status(&[(DocumentKind::Passport, None), (DocumentKind::DriverLicense, None)], today);
        assert!(no_expiry.complete && no_expiry.expiring_soon.is_empty());
    }

    #[test]
    fn requirements_parse_and_round_trip() {
        let parsed = RequiredDocuments::parse(&["id_card | passport".into(), "insurance".into()]).unwrap_or_default();
        assert_eq!(parsed.names(), ["passport|id_card", "insurance"]);
        assert_eq!(RequiredDocuments::from_stored(&parsed.to_stored()), parsed);
        let Err(Error::Invalid(errors)) = RequiredDocuments::parse(&["passport|visa".into()]) else {
            panic!("an unknown kind was accepted")
        };
        assert_eq!(errors[0].field, "required[0]");
        assert!(RequiredDocuments::parse(&[]).is_ok_and(|r| r.status(&[], date!(2026 - 01 - 01)).complete));
    }
}
