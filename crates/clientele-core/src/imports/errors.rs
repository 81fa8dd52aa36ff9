//! An import's refused rows, for people to fix: as a page of JSON (each row once, with every
//! problem it has), and as `errors.csv`, streamed a page at a time: a line per refused row, its
//! problems in `import_errors`, then its cells exactly as they were, so that the file fixed and
//! uploaded again creates each person once (the explaining columns are ignored on the way in).

use uuid::Uuid;

use crate::accounts::auth::Actor;
use crate::app::App;
use crate::error::{Error, Result};
use crate::exports::columns::neutralise;
use crate::ids::ImportJobId;
use crate::imports::job::{ImportJob, ImportRowError};
use crate::imports::mapping::ERROR_COLUMNS;
use crate::paging::{Page, Paging};

/// Refused rows read from the store at a time.
const PAGE: u32 = 1_000;

/// `errors.csv` under way: call [`ImportErrorsCsv::next_chunk`] until it returns `None`.
#[derive(Debug)]
pub struct ImportErrorsCsv {
    app: App,
    job: ImportJob,
    /// Rows up to this one are written.
    after_row: i64,
    started: bool,
    done: bool,
    /// Refused rows written so far.
    pub rows: u64,
}

impl ImportErrorsCsv {
    /// The next piece of the file: the header first, then a page of refused rows at a time;
    /// `None` at the end. An error ends the file: the caller must not present what it has as
    /// complete.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let chunk = self.read_chunk().await;
        if chunk.is_err() {
            self.done = true;
        }
        chunk
    }

    async fn read_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        let store = self.app.store();
        let mut out = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
        let csv_error = |e: csv::Error| Error::internal(format!("writing CSV: {e}"));
        if !self.started {
            self.started = true;
            let headers = store.import_headers(self.job.tenant_id, self.job.id).await?;
            // Headers as the file had them: they are matched, never run, on the way back in.
            out.write_record(ERROR_COLUMNS.iter().map(|c| (*c).to_owned()).chain(headers)).map_err(csv_error)?;
        } else {
            let page = store.import_errors(self.job.tenant_id, self.job.id, self.after_row, PAGE).await?;
            if (page.len() as u32) < PAGE {
                self.done = true;
            }
            for refused in &page {
                let explained = [refused.row.to_string(), explain(refused)];
                out.write_record(explained.into_iter().chain(refused.cells.iter().cloned()).map(neutralise))
                    .map_err(csv_error)?;
                self.after_row = refused.row;
                self.rows += 1;
            }
        }
        let bytes = out.into_inner().map_err(|e| Error::internal(format!("writing CSV: {e}")))?;
        Ok(if bytes.is_empty() { None } else { Some(bytes) })
    }
}

/// A row's problems in one cell: `phone: must be …; address.country: …`.
pub fn explain(refused: &ImportRowError) -> String {
    refused.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
}

impl App {
    /// A job's refused rows as `errors.csv` (admins), streamed: see [`ImportErrorsCsv`].
    pub async fn import_errors_csv(&self, actor: &Actor, id: ImportJobId) -> Result<ImportErrorsCsv> {
        let job = self.import_job(actor, id).await?;
        Ok(ImportErrorsCsv { app: self.clone(), job, after_row: 0, started: false, done: false, rows: 0 })
    }

    /// A page of a job's refused rows, in row order, each once with every problem it has
    /// (admins).
    pub async fn import_refused_rows(
        &self,
        actor: &Actor,
        id: ImportJobId,
        paging: Paging,
    ) -> Result<Page<ImportRowError>> {
        let job = self.import_job(actor, id).await?;
        // The cursor holds the last row of the page before, in a cursor's usual form.
        let after_row = paging.after.map_or(0, |after| i64::try_from(after.as_u128()).unwrap_or(i64::MAX));
        let mut items = self.store().import_errors(job.tenant_id, job.id, after_row, paging.limit + 1).await?;
        let next_cursor = crate::paging::next_cursor(&mut items, paging.limit as usize, |row| {
            Uuid::from_u128(u128::try_from(row.row).unwrap_or_default())
        });
        Ok(Page { items, next_cursor })
    }
}
