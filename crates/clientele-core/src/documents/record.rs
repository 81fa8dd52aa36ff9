//! Document records: kinds, file types told by content, metadata and its validation, the stored
//! document with its sealed file key.

use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{Error, FieldCode, FieldErrors, FieldProblem, Result};
use crate::ids::{CustomerId, DocumentId, TenantId};
use crate::time::Timestamp;
use crate::values::{CountryCode, optional_text, parse_date};

/// Kinds of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// A passport.
    Passport,
    /// A driving licence.
    DriverLicense,
    /// A national identity card.
    IdCard,
    /// An insurance certificate.
    Insurance,
    /// Anything else.
    Other,
}

impl DocumentKind {
    /// Every kind, in the order of the API's documentation.
    pub const ALL: [Self; 5] = [Self::Passport, Self::DriverLicense, Self::IdCard, Self::Insurance, Self::Other];

    /// The kind as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passport => "passport",
            Self::DriverLicense => "driver_license",
            Self::IdCard => "id_card",
            Self::Insurance => "insurance",
            Self::Other => "other",
        }
    }

    /// Parses a kind.
    pub fn parse(input: &str) -> Result<Self, FieldProblem> {
        let text = input.trim();
        Self::ALL.into_iter().find(|k| k.as_str() == text).ok_or_else(|| {
            FieldProblem::new(FieldCode::Invalid, "must be passport, driver_license, id_card, insurance or other")
        })
    }
}

/// The file types accepted, recognised by their content (never by name or declared type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    /// PDF.
    Pdf,
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// WebP.
    Webp,
    /// HEIC/HEIF (phone photos).
    Heic,
}

impl FileType {
    /// Recognises a file by its first bytes; `None` for anything else.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(Self::Png)
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
            // ISO base media file: the major brand says which.
            const HEIF_BRANDS: [&[u8]; 7] = [b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1"];
            HEIF_BRANDS.contains(&&head[8..12]).then_some(Self::Heic)
        } else {
            None
        }
    }

    /// The media type sent with downloads.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Heic => "image/heic",
        }
    }

    /// A media type read back from the store.
    pub fn from_content_type(value: &str) -> Option<Self> {
        [Self::Pdf, Self::Jpeg, Self::Png, Self::Webp, Self::Heic].into_iter().find(|t| t.content_type() == value)
    }
}

/// A document's metadata, as validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DocumentMeta {
    /// What the document is.
    pub kind: DocumentKind,
    /// Its number.
    pub number: Option<String>,
    /// The issuing country (ISO 3166-1 alpha-2).
    #[schema(value_type = Option<String>, example = "IT")]
    pub issuing_country: Option<CountryCode>,
    /// The issuing place or authority.
    pub issuing_place: Option<String>,
    /// Date of issue.
    pub issued_on: Option<Date>,
    /// Date of expiry; an expired document counts as missing.
    pub expires_on: Option<Date>,
}

/// Metadata as sent: the form fields of an upload, or the members of a `PATCH`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentMetaInput {
    /// `passport`, `driver_license`, `id_card`, `insurance` or `other`.
    pub kind: Option<String>,
    /// Document number.
    pub number: Option<String>,
    /// Issuing country (ISO 3166-1 alpha-2).
    pub issuing_country: Option<String>,
    /// Issuing place or authority.
    pub issuing_place: Option<String>,
    /// Date of issue, `YYYY-MM-DD`.
    pub issued_on: Option<String>,
    /// Date of expiry, `YYYY-MM-DD`.
    pub expires_on: Option<String>,
}

impl DocumentMetaInput {
    /// Sets the member named `field` (an upload's form field); false for an unknown name.
    pub fn set(&mut self, field: &str, value: String) -> bool {
        let slot = match field {
            "kind" => &mut self.kind,
            "number" => &mut self.number,
            "issuing_country" => &mut self.issuing_country,
            "issuing_place" => &mut self.issuing_place,
            "issued_on" => &mut self.issued_on,
            "expires_on" => &mut self.expires_on,
            _ => return false,
        };
        *slot = Some(value);
        true
    }

    /// Validates, naming every bad field. `today` bounds the issue date.
    pub fn parse(&self, today: Date) -> Result<DocumentMeta> {
        let mut e = FieldErrors::new();
        let kind = match self.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
            Some(kind) => e.take("kind", DocumentKind::parse(kind)),
            None => {
                e.push(
                    "kind",
                    FieldCode::Required,
                    "is required: passport, driver_license, id_card, insurance or other",
                );
                None
            }
        };
        let text = |v: &Option<String>| v.as_deref().unwrap_or_default().to_owned();
        let number = e.take("number", crate::values::code_text(&text(&self.number), 32)).flatten();
        let issuing_country = match self.issuing_country.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(code) => e.take("issuing_country", CountryCode::parse(code)),
            None => None,
        };
        let issuing_place = e.take("issuing_place", optional_text(&text(&self.issuing_place), 100)).flatten();
        let date = |e: &mut FieldErrors, field: &str, value: &Option<String>| match value
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            Some(d) => e.take(field, parse_date(d)),
            None => None,
        };
        let issued_on = date(&mut e, "issued_on", &self.issued_on);
        let expires_on = date(&mut e, "expires_on", &self.expires_on);
        let earliest = time::macros::date!(1900 - 01 - 01);
        if let Some(issued) = issued_on
            && (issued > today || issued < earliest)
        {
            e.push("issued_on", FieldCode::OutOfRange, "must be between 1900-01-01 and today");
        }
        if let Some(expires) = expires_on
            && (expires < earliest || expires.year() > 2200)
        {
            e.push("expires_on", FieldCode::OutOfRange, "must be between 1900-01-01 and 2200-12-31");
        }
        if let (Some(issued), Some(expires)) = (issued_on, expires_on)
            && expires < issued
        {
            e.push("expires_on", FieldCode::OutOfRange, "must not be before issued_on");
        }
        let kind = kind.unwrap_or(DocumentKind::Other);
        e.finish(|| DocumentMeta { kind, number, issuing_country, issuing_place, issued_on, expires_on })
    }
}

impl From<&DocumentMeta> for DocumentMetaInput {
    fn from(meta: &DocumentMeta) -> Self {
        Self {
            kind: Some(meta.kind.as_str().to_owned()),
            number: meta.number.clone(),
            issuing_country: meta.issuing_country.map(|c| c.as_str().to_owned()),
            issuing_place: meta.issuing_place.clone(),
            issued_on: meta.issued_on.map(|d| d.to_string()),
            expires_on: meta.expires_on.map(|d| d.to_string()),
        }
    }
}

/// The stored file of a document, as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DocumentFile {
    /// The file name as uploaded (for downloads; never used as a path).
    pub name: Option<String>,
    /// The media type, recognised from the content.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256 of the content, hex; checked on every read.
    pub sha256: String,
}

/// Where and how a document's file is kept: never shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedFile {
    /// The object's key in the object store.
    pub object_key: String,
    /// Which master key wrapped the file key.
    pub key_id: String,
    /// The file's own key, encrypted with the master key.
    pub wrapped_key: Vec<u8>,
}

/// A document: metadata, file description, and history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Document {
    /// The document's id.
    pub id: DocumentId,
    /// The tenant.
    #[serde(skip)]
    pub tenant_id: TenantId,
    /// The customer it belongs to.
    pub customer_id: CustomerId,
    /// Metadata.
    #[serde(flatten)]
    pub meta: DocumentMeta,
    /// The file.
    pub file: DocumentFile,
    /// Where the file is kept.
    #[serde(skip)]
    pub sealed: SealedFile,
    /// When it was uploaded.
    pub created_at: Timestamp,
    /// Who uploaded it (absent for command-line actors).
    pub created_by: Option<Uuid>,
    /// When its metadata last changed.
    pub updated_at: Timestamp,
    /// Increases with every change; send it back as `If-Match` (or `version`) to change safely.
    pub version: i64,
    /// When it was deleted (soft).
    pub deleted_at: Option<Timestamp>,
}

/// Checks an uploaded file: not empty, and of an accepted type by content.
pub fn check_file(bytes: &[u8]) -> Result<FileType> {
    if bytes.is_empty() {
        return Err(Error::invalid("file", FieldCode::Required, "the file is empty"));
    }
    FileType::sniff(bytes).ok_or_else(|| {
        Error::invalid(
            "file",
            FieldCode::InvalidType,
            "the file must be a PDF, JPEG, PNG, WebP or HEIC (checked by content)",
        )
    })
}

/// A file name as sent, reduced to something safe to show and put in `Content-Disposition`.
pub fn clean_file_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String =
        base.chars().filter(|c| !c.is_control() && *c != '"').take(200).collect::<String>().trim().to_owned();
    (!cleaned.is_empty()).then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn file_types_are_recognised_by_content() {
        assert_eq!(FileType::sniff(b"%PDF-1.7\n..."), Some(FileType::Pdf));
        assert_eq!(FileType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Some(FileType::Jpeg));
        assert_eq!(FileType::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(FileType::Png));
        assert_eq!(FileType::sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some(FileType::Webp));
        assert_eq!(FileType::sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), Some(FileType::Heic));
        assert_eq!(FileType::sniff(b"\0\0\0\x18ftypmp42\0\0\0\0"), None, "an MP4 video is not a photo");
        assert_eq!(FileType::sniff(b"MZ\x90\0\x03\0\0\0"), None, "a Windows executable");
        assert_eq!(FileType::sniff(b"\x7fELF\x02\x01\x01"), None, "a Linux executable");
        assert_eq!(FileType::sniff(b""), None);
    }

    #[test]
    fn metadata_names_every_bad_field() {
        let today = date!(2026 - 11 - 24);
        let input = DocumentMetaInput {
            kind: Some("visa".into()),
            number: Some("AB 12;".into()),
            issuing_country: Some("XX".into()),
            issued_on: Some("2030-01-01".into()),
            expires_on: Some("not a date".into()),
            ..Default::default()
        };
        let Err(Error::Invalid(errors)) = input.parse(today) else { panic!("invalid input was accepted") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["kind", "number", "issuing_country", "expires_on", "issued_on"]);

        let reversed = DocumentMetaInput {
            kind: Some("passport".into()),
            issued_on: Some("2020-05-01".into()),
            expires_on: Some("2019-05-01".into()),
            ..Default::default()
        };
        let Err(Error::Invalid(errors)) = reversed.parse(today) else { panic!("expiry before issue was accepted") };
        assert_eq!(errors[0].field, "expires_on");

        let missing = DocumentMetaInput::default();
        let Err(Error::Invalid(errors)) = missing.parse(today) else { panic!("a document without kind") };
        assert_eq!((errors[0].field.as_str(), errors[0].code), ("kind", FieldCode::Required));
    }

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(clean_file_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(clean_file_name("C:\\scans\\pass\"port.pdf").as_deref(), Some("passport.pdf"));
        assert_eq!(clean_file_name("  \n "), None);
    }
}
