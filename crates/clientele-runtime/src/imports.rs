//! The import worker: claims a job, spools its file from the database to a local file, reads
//! its lines a batch at a time on the blocking pool, and hands each batch to
//! [`App::import_lines`], which commits it with the job's progress in one transaction fenced
//! by the worker's lease.
//!
//! While a job runs, a heartbeat renews the lease every third of its length, so a slow batch is
//! never taken over. When the lease cannot be renewed (another worker took the job over, or the
//! database did not answer for a whole lease), the job's work is dropped at its next statement:
//! the batch it was writing rolls back, and the worker that holds the job now resumes it from
//! the last batch committed.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clientele_core::ids::{ImportJobId, TenantId};
use clientele_core::imports::job::{BATCH_ROWS, BatchEnd, CHUNK_BYTES, Claim, ImportJob};
use clientele_core::imports::reader::{LineReader, sniff};
use clientele_core::{App, Error, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Notify, watch};
use uuid::Uuid;

/// How often an idle worker looks for jobs queued by other processes.
const POLL: Duration = Duration::from_secs(2);
/// The bytes read to find a file's encoding and delimiter.
const SNIFF_BYTES: usize = 64 * 1024;

/// Wakes this process's idle workers when a job is queued here (jobs queued by other processes
/// are found within [`POLL`]).
#[derive(Debug, Clone, Default)]
pub struct ImportWake(Arc<Notify>);

impl ImportWake {
    /// A job was queued.
    pub fn job_queued(&self) {
        self.0.notify_one();
    }
}

/// How a run of a job ended, as far as this worker is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    /// No job was waiting (or the one asked for is another worker's, or has ended).
    Nothing,
    /// The job ended here: it succeeded, failed, or was given up.
    Ended,
    /// Another worker took the job over; this one stopped without writing more.
    TakenOver,
}

/// Runs import jobs until `stop` turns true. Any number of workers, in any number of processes
/// on one database, may run this: a job is leased to one at a time.
pub async fn run_worker(app: Arc<App>, wake: ImportWake, mut stop: watch::Receiver<bool>) {
    let worker = Uuid::new_v4();
    loop {
        if *stop.borrow() {
            return;
        }
        match run_next(&app, worker, None, &ReadProgress::default()).await {
            Ok(Ran::Nothing) => {}
            Ok(_) => continue,
            Err(error) => tracing::error!(%error, "import worker"),
        }
        tokio::select! {
            () = wake.0.notified() => {}
            () = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Runs job `id` of `tenant` here as `worker`, unless another worker holds it (the command
/// line runs its own import this way, and watches whoever holds it otherwise). `progress`
/// counts the bytes of the file read so far.
pub async fn run_job(
    app: &App,
    tenant: TenantId,
    id: ImportJobId,
    worker: Uuid,
    progress: &ReadProgress,
) -> Result<Ran> {
    run_next(app, worker, Some((tenant, id)), progress).await
}

/// How much of a job's file a worker has read, in bytes: shared with whoever shows progress.
#[derive(Debug, Clone, Default)]
pub struct ReadProgress(Arc<AtomicU64>);

impl ReadProgress {
    /// Bytes read so far (of the current attempt).
    pub fn bytes(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A reader that counts what passes through it.
struct Counting<R> {
    inner: R,
    progress: ReadProgress,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Stores the file at `path` as a receiving job's file, piece by piece, and queues the job (the
/// command line and the benchmark; the HTTP upload stores pieces as they arrive).
pub async fn upload_file(app: &App, job: &mut ImportJob, path: &Path) -> Result<()> {
    let io = |e: std::io::Error| Error::internal(format!("reading {}: {e}", path.display()));
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut buffer = vec![0u8; CHUNK_BYTES];
    let (mut piece, mut size) = (0i64, 0i64);
    loop {
        let mut filled = 0;
        while filled < CHUNK_BYTES {
            match file.read(&mut buffer[filled..]).await.map_err(io)? {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            break;
        }
        app.add_import_chunk(job, piece, &buffer[..filled]).await?;
        piece += 1;
        size += i64::try_from(filled).unwrap_or(i64::MAX);
    }
    app.finish_import_upload(job, size).await
}

async fn run_next(
    app: &App,
    worker: Uuid,
    only: Option<(TenantId, ImportJobId)>,
    progress: &ReadProgress,
) -> Result<Ran> {
    match app.claim_import(worker, only).await? {
        Claim::Nothing => Ok(Ran::Nothing),
        Claim::GaveUp(job) => {
            tracing::warn!(job = %job.id, attempts = job.attempts, "import job given up: no progress in its last attempts");
            Ok(Ran::Ended)
        }
        Claim::Run(job) => {
            let id = job.id;
            let ran = keeping_lease(app, &job, worker, run(app, job.clone(), worker, progress.clone())).await?;
            if ran == Ran::TakenOver {
                tracing::warn!(job = %id, "another worker took the import job over; this one stopped");
            }
            Ok(ran)
        }
    }
}

/// Runs `work` while renewing `worker`'s lease on `job` every third of a lease. When the lease
/// cannot be renewed, `work` is dropped at its next await (a batch it was writing rolls back).
async fn keeping_lease(
    app: &App,
    job: &ImportJob,
    worker: Uuid,
    work: impl Future<Output = Result<Ran>>,
) -> Result<Ran> {
    let lease = app.import_lease_duration();
    let heartbeat = async {
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(lease / 3).await;
            match app.renew_import_lease(job, worker).await {
                Ok(true) => renewed = Instant::now(),
                Ok(false) => return,
                // The database may be back before the lease runs out; past that, another worker
                // may have the job.
                Err(error) if renewed.elapsed() < lease => {
                    tracing::warn!(%error, job = %job.id, "renewing an import lease")
                }
                Err(error) => {
                    tracing::error!(%error, job = %job.id, "the import lease could not be renewed in time; stopping");
                    return;
                }
            }
        }
    };
    tokio::select! {
        biased;
        ran = work => ran,
        () = heartbeat => Ok(Ran::TakenOver),
    }
}

/// Runs a claimed job to its end.
async fn run(app: &App, mut job: ImportJob, worker: Uuid, progress: ReadProgress) -> Result<Ran> {
    let spool = Spool::fill(app, &job, worker).await?;
    let prefix = spool.prefix().await?;
    let format = match sniff(&prefix) {
        Ok(format) => format,
        Err(why) => return ended(app.fail_import_job(&mut job, worker, &why).await?),
    };
    progress.0.store(0, Ordering::Relaxed);
    let file = Counting { inner: spool.open().await?, progress };
    let opened = tokio::task::spawn_blocking(move || LineReader::open(file, format)).await.map_err(joined)?;
    let mut reader = match opened {
        Ok(reader) => reader,
        Err(why) => return ended(app.fail_import_job(&mut job, worker, &why).await?),
    };
    let headers = reader.headers().to_vec();
    let Some(mut run) = app.start_import_run(job, worker, format, headers).await? else { return Ok(Ran::Ended) };
    loop {
        let (back, lines) = tokio::task::spawn_blocking(move || {
            let lines = reader.next_lines(BATCH_ROWS);
            (reader, lines)
        })
        .await
        .map_err(joined)?;
        reader = back;
        if lines.is_empty() {
            break;
        }
        match app.import_lines(&mut run, lines).await? {
            BatchEnd::Committed => {}
            BatchEnd::Stopped => return Ok(Ran::Ended),
            BatchEnd::TakenOver => return Ok(Ran::TakenOver),
        }
    }
    ended(app.finish_import_run(run).await?)
}

fn ended(held: bool) -> Result<Ran> {
    Ok(if held { Ran::Ended } else { Ran::TakenOver })
}

fn joined(error: tokio::task::JoinError) -> Error {
    Error::internal(format!("reading an import file: {error}"))
}

/// A job's file spooled to a local file of this attempt; removed when dropped.
#[derive(Debug)]
struct Spool(PathBuf);

impl Spool {
    /// Copies a job's stored file, piece by piece.
    async fn fill(app: &App, job: &ImportJob, worker: Uuid) -> Result<Self> {
        // Per attempt: the file of an attempt this worker abandoned may still be being removed.
        let name = format!("clientele-import-{}-{worker}-{}.csv", job.id, Uuid::new_v4().simple());
        let spool = Self(std::env::temp_dir().join(name));
        let io = |e: std::io::Error| spool.error(e);
        let mut out = tokio::io::BufWriter::new(tokio::fs::File::create(&spool.0).await.map_err(io)?);
        let mut piece = 0i64;
        while let Some(bytes) = app.import_file_piece(job, piece).await? {
            out.write_all(&bytes).await.map_err(io)?;
            piece += 1;
        }
        out.flush().await.map_err(io)?;
        Ok(spool)
    }

    /// The file's first bytes, to find its format from.
    async fn prefix(&self) -> Result<Vec<u8>> {
        let mut file = tokio::fs::File::open(&self.0).await.map_err(|e| self.error(e))?;
        let mut prefix = vec![0u8; SNIFF_BYTES];
        let mut filled = 0;
        while filled < prefix.len() {
            match file.read(&mut prefix[filled..]).await.map_err(|e| self.error(e))? {
                0 => break,
                n => filled += n,
            }
        }
        prefix.truncate(filled);
        Ok(prefix)
    }

    /// The file from its start, to read on the blocking pool.
    async fn open(&self) -> Result<std::fs::File> {
        let file = tokio::fs::File::open(&self.0).await.map_err(|e| self.error(e))?;
        Ok(file.into_std().await)
    }

    fn error(&self, error: std::io::Error) -> Error {
        Error::internal(format!("import spool {}: {error}", self.0.display()))
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let path = std::mem::take(&mut self.0);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(move || std::fs::remove_file(path))),
            Err(_) => drop(std::fs::remove_file(path)),
        }
    }
}
