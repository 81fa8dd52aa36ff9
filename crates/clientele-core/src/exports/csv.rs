//! Customer lists as CSV, streamed page by page: the columns and filters the caller chooses,
//! formulas neutralised.

use crate::FieldCode;
use crate::error::FieldErrors;

use crate::accounts::access::Capability;
use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::customers::list::{CustomerFilters, FilterText};
use crate::customers::store::CustomerQuery;
use crate::error::{Error, Result};
use crate::exports::columns::{COLUMNS, cell, neutralise, parse_columns};
use crate::ids::TenantId;

/// Customers read from the store per page of an export.
const PAGE: u32 = 1_000;

/// What to export: which columns (indices into [`COLUMNS`], as [`parse_columns`] reads them),
/// in which format, of which customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    /// The columns, in order.
    pub columns: Vec<usize>,
    /// Excel's flavour of CSV (UTF-8 with BOM, semicolon, CRLF) instead of plain CSV.
    pub excel: bool,
    /// Which customers.
    pub filters: CustomerFilters,
}

impl ExportRequest {
    /// Every column of every customer, as plain CSV.
    pub fn everything() -> Self {
        Self { columns: (0..COLUMNS.len()).collect(), excel: false, filters: CustomerFilters::default() }
    }

    /// Parses an export request's text: comma-separated `columns` (default all), `format`
    /// (`csv`, the default, or `excel`) and the list filters, naming every bad one.
    pub fn parse(columns: Option<&str>, format: Option<&str>, filters: &FilterText<'_>) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let columns = match parse_columns(columns) {
            Ok(columns) => columns,
            Err(Error::InvalidQuery(bad)) => {
                for e in bad {
                    errors.push(e.field, e.code, e.message);
                }
                Vec::new()
            }
            Err(other) => return Err(other),
        };
        let excel = match format.map(str::trim) {
            None | Some("" | "csv") => false,
            Some("excel") => true,
            Some(_) => {
                errors.push("format", FieldCode::Invalid, "must be csv or excel");
                false
            }
        };
        let filters = CustomerFilters::parse(filters, &mut errors);
        if !errors.is_empty() {
            return Err(Error::InvalidQuery(errors.into_vec()));
        }
        Ok(Self { columns, excel, filters })
    }
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
    /// Starts a CSV export of the customers `request` names (admins; audited).
    pub async fn export_customers(&self, actor: &Actor, request: &ExportRequest) -> Result<CustomerExport> {
        let grant = actor.require(Capability::BulkExport)?;
        let (columns, excel) = (request.columns.clone(), request.excel);
        if columns.is_empty() || columns.iter().any(|&i| i >= COLUMNS.len()) {
            return Err(Error::invalid_query("columns", "name at least one known column"));
        }
        let mut query = self.customer_query(&grant, &request.filters, PAGE).await?;
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
