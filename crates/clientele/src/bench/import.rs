//! `clientele bench import`: CSV to committed, validated customers, beside the database's own
//! bulk loader on the same file; and the export of what was imported.
//!
//! 1. Writes a deterministic, messy CSV (BOM, semicolons, CRLF, day-first dates, quoted cells,
//!    Italian headers, about 2% invalid rows) to `bench-import.csv`.
//! 2. Loads it with the database's own loader into a plain table (the baseline).
//! 3. Imports it into a new tenant through the import job, end to end, and reports rows/s and the
//!    process's peak memory.
//! 4. Exports the tenant's customers as CSV and reports rows/s.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clientele_core::accounts::auth::Actor;
use clientele_core::imports::job::{ImportStatus, NewImport};
use clientele_core::{App, AppConfig};
use clientele_store::{SqlStore, StoreOptions};

use super::{core_error, machine, report};
use crate::dataset::{Names, SplitMix64, customer};

/// Options of `bench import`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Data rows in the file.
    pub rows: usize,
    /// Database URL.
    pub database_url: String,
    /// Where the report goes.
    pub output: PathBuf,
}

const HEADER: [&str; 14] = [
    "Codice cliente",
    "Nome",
    "Cognome",
    "E-mail",
    "Telefono",
    "Data di nascita",
    "Codice Fiscale",
    "Indirizzo",
    "Città",
    "CAP",
    "Provincia",
    "Paese",
    "Patente",
    "Note",
];

/// Runs the benchmark and writes its section of the report.
pub async fn run(options: &Options) -> anyhow::Result<()> {
    let store = SqlStore::connect(&options.database_url, &StoreOptions::default()).await.map_err(core_error)?;
    store.migrate().await.map_err(core_error)?;
    let store = Arc::new(store);
    let app = App::new(store.clone(), AppConfig::default()).await.map_err(core_error)?;
    let backend = clientele_core::store::Store::backend(&*store);

    let path = PathBuf::from("bench-import.csv");
    let (bytes, invalid) = write_file(&path, options.rows)?;
    eprintln!("wrote {} ({:.0} MiB, {} rows, {invalid} of them invalid)", path.display(), mib(bytes), options.rows);

    eprintln!("baseline: the database's own loader");
    let started = Instant::now();
    let raw = store.baseline_bulk_load(&path, b';', HEADER.len()).await.map_err(core_error)?;
    let baseline_time = started.elapsed().as_secs_f64();

    eprintln!("importing through an import job");
    let tenant =
        app.create_tenant(&format!("Import bench {}", uuid::Uuid::now_v7()), "IT", None).await.map_err(core_error)?.id;
    let actor = Actor::command_line(tenant);
    let new = NewImport { file_name: Some("bench-import.csv".into()), ..NewImport::default() };
    let started = Instant::now();
    let mut job = app.begin_import(&actor, new).await.map_err(core_error)?;
    // Uploaded piece by piece, as the HTTP endpoint does: the file is never in memory whole.
    clientele_runtime::imports::upload_file(&app, &mut job, &path).await.map_err(core_error)?;
    let worker = uuid::Uuid::new_v4();
    let job = loop {
        clientele_runtime::imports::run_job(&app, tenant, job.id, worker, &Default::default())
            .await
            .map_err(core_error)?;
        let current = app.import_job(&actor, job.id).await.map_err(core_error)?;
        if matches!(current.status, ImportStatus::Succeeded | ImportStatus::Failed) {
            break current;
        }
    };
    let import_time = started.elapsed().as_secs_f64();
    if let Some(failure) = &job.failure {
        anyhow::bail!("the import failed: {failure}");
    }
    let peak = peak_memory_mib();
    let before_export = current_memory_mib();

    eprintln!("exporting");
    let started = Instant::now();
    let mut export = app
        .export_customers(&actor, &clientele_core::exports::csv::ExportRequest::everything())
        .await
        .map_err(core_error)?;
    let mut exported_bytes = 0usize;
    while let Some(chunk) = export.next_chunk().await.map_err(core_error)? {
        exported_bytes += chunk.len();
    }
    let export_time = started.elapsed().as_secs_f64();
    let after_export = current_memory_mib();

    let rate = |rows: f64, seconds: f64| rows / seconds.max(1e-9);
    let import_rate = rate(job.rows_read as f64, import_time);
    let baseline_rate = rate(raw as f64, baseline_time);
    let export_rate = rate(export.rows as f64, export_time);
    let target = if backend == "sqlite" { 50_000.0 } else { 30_000.0 };
    let met = |ok: bool| if ok { "met" } else { "**not met**" };
    let loader = if backend == "sqlite" {
        "multi-row INSERTs in one transaction, as the shell's `.import`"
    } else {
        "`COPY … FROM STDIN`"
    };
    let report = format!(
        "## Import and export on {backend}: {rows} rows\n\n\
         Run {date} on {machine}.\n\
         `clientele bench import --rows {rows}`: a deterministic messy CSV ({size:.0} MiB; BOM, semicolons, CRLF, \
         day-first dates, Italian headers, {invalid} invalid rows) imported end to end through an import job \
         (decoding, header mapping, the API's validation, duplicate checks, global-blacklist check, search index, \
         audit entries), beside the database's own loader ({loader}) putting the same file into a plain table of \
         text columns, without validation.\n\n\
         | step | rows | seconds | rows/s | vs baseline |\n|---|---:|---:|---:|---:|\n\
         | baseline: database loader | {raw} | {baseline_time:.1} | {baseline_rate:.0} | 1× |\n\
         | import (created {created}, failed {failed}) | {read} | {import_time:.1} | {import_rate:.0} | {slower:.0}× slower |\n\
         | export, all columns ({export_mib:.0} MiB) | {exported} | {export_time:.1} | {export_rate:.0} | |\n\n\
         - Memory: the whole process (generation, upload and import) peaked at {peak}. The import streams its \
         file from a spool file and holds one batch of 500 rows at a time; the file is never in memory. Resident \
         memory before and after the export: {before_export} and {after_export} (the export streams pages of 1,000).\n\
         - Targets: import ≥ {target:.0} rows/s: {import_met}; export ≥ 200,000 rows/s: {export_met}; \
         import in constant memory: peak {peak} at {rows} rows (compare a run of another size).\n",
        rows = options.rows,
        date = clientele_core::time::Timestamp::now().date(),
        machine = machine(),
        size = mib(bytes),
        created = job.created,
        failed = job.failed,
        read = job.rows_read,
        slower = baseline_rate / import_rate.max(1e-9),
        exported = export.rows,
        export_mib = mib(exported_bytes as u64),
        peak = peak.map_or_else(|| "unknown".to_owned(), |p| format!("{p:.0} MiB")),
        before_export = before_export.map_or_else(|| "unknown".to_owned(), |p| format!("{p:.0} MiB")),
        after_export = after_export.map_or_else(|| "unknown".to_owned(), |p| format!("{p:.0} MiB")),
        import_met = met(import_rate >= target),
        export_met = met(export_rate >= 200_000.0),
    );
    println!("{report}");
    report::write_section(&options.output, &format!("import:{backend}"), &report)?;
    eprintln!("written to {}", options.output.display());
    Ok(())
}

/// Writes the messy file; returns its size and how many rows are invalid.
pub(crate) fn write_file(path: &PathBuf, rows: usize) -> anyhow::Result<(u64, usize)> {
    let names = Names::parse();
    let mut rng = SplitMix64(20_261_124);
    let mut file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    file.write_all("\u{feff}".as_bytes())?;
    let mut writer = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .buffer_capacity(1 << 20)
        .from_writer(file);
    writer.write_record(HEADER)?;
    let mut invalid = 0;
    for index in 0..rows {
        let c = customer(&mut rng, &names, &[], index);
        let address = c.address.clone().unwrap_or_default();
        let day_first = c
            .birth_date
            .as_deref()
            .and_then(|d| {
                let mut parts = d.split('-');
                let (y, m, day) = (parts.next()?, parts.next()?, parts.next()?);
                Some(format!("{day}/{m}/{y}"))
            })
            .unwrap_or_default();
        let mut record = vec![
            format!("L{index:08}"),
            c.first_name.clone().unwrap_or_default(),
            c.last_name.clone().unwrap_or_default(),
            c.email.clone().map(|e| e.replace('@', &format!("{index}@"))).unwrap_or_default(),
            c.phone.clone().unwrap_or_default(),
            day_first,
            String::new(),
            address.line1.clone().unwrap_or_default(),
            address.city.clone().unwrap_or_default(),
            address.postal_code.clone().unwrap_or_default(),
            address.region.clone().unwrap_or_default(),
            address.country.clone().unwrap_or_default(),
            String::new(),
            if rng.chance(3) { "Cliente storico; paga in contanti, \"puntuale\"".to_owned() } else { String::new() },
        ];
        // About 2% of rows are broken the ways real files are.
        if rng.chance(2) {
            invalid += 1;
            match rng.below(3) {
                0 => record[2].clear(),
                1 => record[3] = "not an email".to_owned(),
                _ => record[5] = "31/02/1990".to_owned(),
            }
        }
        writer.write_record(&record)?;
    }
    writer.flush()?;
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok((size, invalid))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0 / 1024.0
}

/// This process's peak resident memory (`VmHWM`), in MiB.
fn peak_memory_mib() -> Option<f64> {
    status_mib("VmHWM:")
}

/// This process's resident memory now (`VmRSS`), in MiB.
fn current_memory_mib() -> Option<f64> {
    status_mib("VmRSS:")
}

fn status_mib(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status.lines().find_map(|l| l.strip_prefix(key))?.split_whitespace().next()?.parse().ok()?;
    Some(kib / 1024.0)
}
