//! The columns of a customer export: their names, in the default order, and each customer's
//! cells, with formulas neutralised for spreadsheets.

use crate::blacklist::record::BlacklistStatus;
use crate::customers::record::Customer;
use crate::error::{Error, Result};

/// Every exportable column, in the default order.
pub const COLUMNS: [&str; 43] = [
    "id",
    "kind",
    "first_name",
    "last_name",
    "company_name",
    "vat_number",
    "email",
    "phone",
    "phone_status",
    "secondary_phone",
    "birth_date",
    "birth_place.city",
    "birth_place.country",
    "birth_place.code",
    "citizenship",
    "tax_code",
    "address.line1",
    "address.line2",
    "address.city",
    "address.postal_code",
    "address.region",
    "address.country",
    "language",
    "driver_license.number",
    "driver_license.country",
    "driver_license.issuing_place",
    "driver_license.issued_on",
    "driver_license.expires_on",
    "id_document.type",
    "id_document.number",
    "id_document.issuing_country",
    "id_document.issuing_place",
    "id_document.expires_on",
    "vip",
    "blacklist",
    "partner_id",
    "external_ref",
    "created_at",
    "updated_at",
    "created_by",
    "deleted_at",
    "version",
    "deleted",
];

/// Reads comma-separated column names (any case; absent or empty: all columns) as indices into
/// [`COLUMNS`]; `400 invalid_query` naming an unknown one.
pub fn parse_columns(text: Option<&str>) -> Result<Vec<usize>> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok((0..COLUMNS.len()).collect());
    };
    let mut columns = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(name)) {
            Some(i) if !columns.contains(&i) => columns.push(i),
            Some(_) => {}
            None => {
                let shown: String = name.chars().take(60).collect();
                return Err(Error::invalid_query(
                    "columns",
                    format!("unknown column {shown:?}; known: {}", COLUMNS.join(", ")),
                ));
            }
        }
    }
    if columns.is_empty() {
        return Err(Error::invalid_query("columns", "name at least one column"));
    }
    Ok(columns)
}

/// A cell a spreadsheet would evaluate (`=`, `+`, `-`, `@`, or a tab or carriage return first)
/// gets a leading apostrophe, which spreadsheets show as text and hide.
pub fn neutralise(cell: String) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell,
    }
}

/// The text of one column of a customer.
pub(crate) fn cell(c: &Customer, column: &str) -> String {
    let d = &c.data;
    let text = |v: Option<&str>| v.unwrap_or_default().to_owned();
    let date = |v: Option<time::Date>| v.map(|d| d.to_string()).unwrap_or_default();
    let birth = d.birth_place.as_ref();
    let address = d.address.as_ref();
    let licence = d.driver_license.as_ref();
    let id_doc = d.id_document.as_ref();
    match column {
        "id" => c.id.to_string(),
        "kind" => d.kind.as_str().to_owned(),
        "first_name" => text(d.first_name.as_ref().map(|n| n.as_str())),
        "last_name" => text(d.last_name.as_ref().map(|n| n.as_str())),
        "company_name" => text(d.company_name.as_deref()),
        "vat_number" => text(d.vat_number.as_deref()),
        "email" => text(d.email.as_ref().map(|e| e.as_str())),
        "phone" => text(d.phone.as_ref().map(|p| p.as_str())),
        "secondary_phone" => text(d.secondary_phone.as_ref().map(|p| p.as_str())),
        "phone_status" => text(c.phone_status.map(|s| s.as_str())),
        "birth_date" => date(d.birth_date),
        "birth_place.city" => text(birth.and_then(|b| b.city.as_deref())),
        "birth_place.country" => text(birth.and_then(|b| b.country.as_ref().map(|c| c.as_str()))),
        "birth_place.code" => text(birth.and_then(|b| b.code.as_deref())),
        "citizenship" => text(d.citizenship.as_ref().map(|c| c.as_str())),
        "tax_code" => text(d.tax_code.as_deref()),
        "address.line1" => text(address.and_then(|a| a.line1.as_deref())),
        "address.line2" => text(address.and_then(|a| a.line2.as_deref())),
        "address.city" => text(address.and_then(|a| a.city.as_deref())),
        "address.postal_code" => text(address.and_then(|a| a.postal_code.as_deref())),
        "address.region" => text(address.and_then(|a| a.region.as_deref())),
        "address.country" => text(address.and_then(|a| a.country.as_ref().map(|c| c.as_str()))),
        "language" => text(d.language.as_ref().map(|l| l.as_str())),
        "driver_license.number" => text(licence.map(|l| l.number.as_str())),
        "driver_license.country" => text(licence.and_then(|l| l.country.as_ref().map(|c| c.as_str()))),
        "driver_license.issuing_place" => text(licence.and_then(|l| l.issuing_place.as_deref())),
        "driver_license.issued_on" => date(licence.map(|l| l.issued_on)),
        "driver_license.expires_on" => date(licence.map(|l| l.expires_on)),
        "id_document.type" => text(id_doc.map(|i| i.doc_type.as_str())),
        "id_document.number" => text(id_doc.map(|i| i.number.as_str())),
        "id_document.issuing_country" => text(id_doc.and_then(|i| i.issuing_country.as_ref().map(|c| c.as_str()))),
        "id_document.issuing_place" => text(id_doc.and_then(|i| i.issuing_place.as_deref())),
        "id_document.expires_on" => date(id_doc.and_then(|i| i.expires_on)),
        "vip" => c.vip.to_string(),
        "blacklist" => match c.blacklist_status() {
            BlacklistStatus::None => "none",
            BlacklistStatus::Tenant => "tenant",
            BlacklistStatus::Global => "global",
        }
        .to_owned(),
        "partner_id" => d.partner_id.map(|p| p.to_string()).unwrap_or_default(),
        "external_ref" => text(d.external_ref.as_deref()),
        "created_at" => c.created_at.to_string(),
        "updated_at" => c.updated_at.to_string(),
        "created_by" => c.created_by.map(|u| u.to_string()).unwrap_or_default(),
        "deleted_at" => c.deleted_at.map(|t| t.to_string()).unwrap_or_default(),
        "version" => c.version.to_string(),
        "deleted" => c.deleted_at.is_some().to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        for formula in ["=SUM(A1:A9)", "+393331234567", "-1", "@cmd", "\tx"] {
            assert!(neutralise(formula.to_owned()).starts_with('\''), "{formula}");
        }
        assert_eq!(neutralise("Rossi".to_owned()), "Rossi");
        assert_eq!(neutralise(String::new()), "");
    }

    #[test]
    fn columns_parse_by_name() {
        assert_eq!(parse_columns(None).unwrap_or_default().len(), COLUMNS.len());
        assert_eq!(parse_columns(Some("email, First_Name,email")).unwrap_or_default(), [6, 2]);
        assert!(parse_columns(Some("email,password")).is_err());
        assert!(parse_columns(Some(" , ")).is_err());
    }
}
