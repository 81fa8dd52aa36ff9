//! Customer lists as CSV, streamed page by page: the columns and filters the caller chooses,
//! formulas neutralised.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::accounts::access::Capability;
use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::customers::list::ListParams;
use crate::customers::store::CustomerQuery;
use crate::error::{Error, Result};
use crate::exports::columns::{COLUMNS, cell, neutralise, parse_columns};
use crate::ids::TenantId;

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
}
