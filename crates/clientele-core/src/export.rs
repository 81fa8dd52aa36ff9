//! Exports: the customer list as CSV, streamed page by page in constant memory, and everything
//! held on one person as schema-versioned JSON (GDPR portability).
//!
//! CSV columns are named as the API names fields, nested ones with dots (`address.city`); the
//! import reads the same names back. Cells a spreadsheet would run as a formula are neutralised.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::App;
use crate::access::Capability;
use crate::audit::{AuditAction, AuditEntry};
use crate::auth::Actor;
use crate::blacklist::{BlacklistEntry, BlacklistStatus};
use crate::customer::{Customer, CustomerView, Note};
use crate::customers::ListParams;
use crate::document::Document;
use crate::error::{Error, Result};
use crate::ids::{CustomerId, TenantId};
use crate::order::Order;
use crate::store::{AuditQuery, CustomerQuery};
use crate::time::Timestamp;

/// Every exportable column, in the default order.
pub const COLUMNS: [&str; 42] = [
    "id",
    "kind",
    "first_name",
    "last_name",
    "company_name",
    "vat_number",
    "email",
    "phone",
    "phone_status",
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

/// Customers read from the store per page of an export.
const PAGE: u32 = 1_000;

/// Query parameters of `GET /exports/customers.csv`: the list's filters plus these.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Comma-separated columns (default: all), e.g. `first_name,last_name,email,address.city`.
    pub columns: Option<String>,
    /// `csv` (default: UTF-8, comma, LF) or `excel` (UTF-8 with BOM, semicolon, CRLF: opens as
    /// columns in Excel set to a European locale).
    pub format: Option<String>,
    /// `client`, `partner` or `staff`.
    #[param(value_type = Option<String>)]
    pub kind: Option<String>,
    /// `true` or `false`.
    #[param(value_type = Option<bool>)]
    pub vip: Option<String>,
    /// `true` or `false`.
    #[param(value_type = Option<bool>)]
    pub blacklisted: Option<String>,
    /// `valid`, `verified` or `unverified`.
    pub phone_status: Option<String>,
    /// Only clients of this partner company.
    #[param(value_type = Option<uuid::Uuid>)]
    pub partner_id: Option<String>,
    /// Created on or after (date or RFC 3339).
    pub created_from: Option<String>,
    /// Created on or before (date: the whole day) or before (RFC 3339).
    pub created_to: Option<String>,
    /// `complete` or `incomplete`.
    pub documents: Option<String>,
    /// Include soft-deleted customers.
    #[param(value_type = Option<bool>)]
    pub include_deleted: Option<String>,
}

/// An export under way: call [`CustomerExport::next_chunk`] until it returns `None`.
#[derive(Debug)]
pub struct CustomerExport {
    app: App,
    tenant: TenantId,
    query: CustomerQuery,
    columns: Vec<usize>,
    excel: bool,
    started: bool,
    done: bool,
    /// Rows written so far.
    pub rows: u64,
}

impl App {
    /// Starts a CSV export of the customers matching `params` (admins; audited).
    pub async fn export_customers(&self, actor: &Actor, params: &ExportParams) -> Result<CustomerExport> {
        let grant = actor.require(Capability::BulkExport)?;
        let columns = parse_columns(params.columns.as_deref())?;
        let excel = match params.format.as_deref().map(str::trim) {
            None | Some("" | "csv") => false,
            Some("excel") => true,
            Some(_) => return Err(Error::invalid_query("format", "must be csv or excel")),
        };
        let list = ListParams {
            kind: params.kind.clone(),
            vip: params.vip.clone(),
            blacklisted: params.blacklisted.clone(),
            phone_status: params.phone_status.clone(),
            partner_id: params.partner_id.clone(),
            created_from: params.created_from.clone(),
            created_to: params.created_to.clone(),
            documents: params.documents.clone(),
            include_deleted: params.include_deleted.clone(),
            ..ListParams::default()
        };
        let mut query = self.customer_query(&grant, &list).await?;
        query.limit = PAGE;
        let names: Vec<&str> = columns.iter().map(|&i| COLUMNS[i]).collect();
        let entry = AuditEntry::new(
            actor,
            grant.tenant_id,
            AuditAction::CustomersExported,
            "tenant",
            grant.tenant_id.as_uuid(),
            None,
        )
        .with_changes(serde_json::json!({"columns": names, "filters": query.filters_key()}));
        self.store().record(&[entry], &[]).await?;
        Ok(CustomerExport {
            app: self.clone(),
            tenant: grant.tenant_id,
            query,
            columns,
            excel,
            started: false,
            done: false,
            rows: 0,
        })
    }

    /// Everything held on one customer, as schema-versioned JSON (admins; audited).
    pub async fn personal_data_export(&self, actor: &Actor, id: CustomerId) -> Result<PersonalDataExport> {
        let grant = actor.require(Capability::BulkExport)?;
        let tenant = grant.tenant_id;
        let customer = self.store().get_customer(tenant, id).await?.ok_or(Error::NotFound("customer"))?;
        let notes = self.store().list_notes(tenant, id).await?;
        let blacklist = self.store().blacklist_history(tenant, id).await?;
        let mut orders = Vec::new();
        let mut after = None;
        loop {
            let page = self.store().list_customer_orders(tenant, id, after, 500).await?;
            after = page.last().map(|o| o.id);
            let full = page.len() == 500;
            orders.extend(page);
            if !full {
                break;
            }
        }
        let documents = self.store().list_documents(tenant, id, true).await?;
        let mut access = Vec::new();
        let mut query = AuditQuery { customer_id: Some(id), limit: 1_000, ..AuditQuery::default() };
        loop {
            let page = self.store().list_audit(tenant, &query).await?;
            query.after = page.last().map(|e| e.id);
            let full = page.len() == 1_000;
            access.extend(page.into_iter().map(|e| AccessRecord {
                at: e.at,
                action: e.action,
                actor_role: e.actor_role,
                outcome: e.outcome.as_str().to_owned(),
            }));
            if !full {
                break;
            }
        }
        let entry =
            AuditEntry::new(actor, tenant, AuditAction::PersonalDataExported, "customer", id.as_uuid(), Some(id));
        self.store().record(&[entry], &[]).await?;
        Ok(PersonalDataExport {
            schema: PERSONAL_DATA_SCHEMA.to_owned(),
            exported_at: Timestamp::now(),
            customer: self.view(customer).await?,
            notes,
            blacklist,
            orders,
            documents,
            access,
        })
    }
}

impl CustomerExport {
    /// The next piece of the CSV: the header first, then a page of rows at a time; `None` at
    /// the end. An error ends the export: the caller must not present what it has as complete.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        let chunk = self.read_chunk().await;
        if chunk.is_err() {
            self.done = true;
        }
        chunk
    }

    async fn read_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            if self.excel {
                out.extend_from_slice("\u{feff}".as_bytes());
            }
            let header: Vec<&str> = self.columns.iter().map(|&i| COLUMNS[i]).collect();
            self.write_record(&mut out, header.iter().map(|h| h.as_bytes()))?;
            return Ok(Some(out));
        }
        let page = self.app.store().list_customers(self.tenant, &self.query).await?;
        if (page.len() as u32) < PAGE {
            self.done = true;
        }
        self.query.after = page.last().map(|c| c.id);
        let mut cells: Vec<String> = Vec::with_capacity(self.columns.len());
        for customer in &page {
            cells.clear();
            cells.extend(self.columns.iter().map(|&i| neutralise(cell(customer, COLUMNS[i]))));
            self.write_record(&mut out, cells.iter().map(|c| c.as_bytes()))?;
            self.rows += 1;
        }
        if out.is_empty() { Ok(None) } else { Ok(Some(out)) }
    }

    fn write_record<'a>(&self, out: &mut Vec<u8>, record: impl Iterator<Item = &'a [u8]>) -> Result<()> {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(if self.excel { b';' } else { b',' })
            .terminator(if self.excel { csv::Terminator::CRLF } else { csv::Terminator::Any(b'\n') })
            .from_writer(out);
        writer.write_record(record).map_err(|e| Error::internal(format!("writing CSV: {e}")))?;
        writer.flush().map_err(|e| Error::internal(format!("writing CSV: {e}")))
    }
}

fn parse_columns(text: Option<&str>) -> Result<Vec<usize>> {
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
fn cell(c: &Customer, column: &str) -> String {
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

/// The schema of [`PersonalDataExport`]; a new version whenever its shape changes.
pub const PERSONAL_DATA_SCHEMA: &str = "clientele.personal-data/1";

/// Everything held on one person (GDPR Art. 15 and 20).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonalDataExport {
    /// `clientele.personal-data/1`.
    pub schema: String,
    /// When this export was made.
    pub exported_at: Timestamp,
    /// The customer record, with badges and documents status.
    pub customer: CustomerView,
    /// The notes timeline.
    pub notes: Vec<Note>,
    /// This tenant's blacklist entries on the person.
    pub blacklist: Vec<BlacklistEntry>,
    /// The person's orders (as renter or second driver).
    pub orders: Vec<Order>,
    /// The person's documents (metadata; files are downloaded one by one).
    pub documents: Vec<Document>,
    /// When the person's data was accessed or changed, how, and by which role (newest first).
    pub access: Vec<AccessRecord>,
}

/// One recorded access to a person's data, as shown to that person.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessRecord {
    /// When.
    pub at: Timestamp,
    /// What (`customer.updated`, `document.downloaded`, ...).
    pub action: String,
    /// The role of whoever did it (not their identity).
    pub actor_role: String,
    /// `allowed` or `denied`.
    pub outcome: String,
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
