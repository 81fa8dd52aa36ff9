//! The password pool: argon2's work (tens of milliseconds of one core per login, on purpose) on
//! tokio's blocking threads, at most one job per core at a time, so that a burst of logins
//! queues here instead of stalling the async workers that answer every other request.

use std::sync::Arc;

use clientele_core::accounts::passwords::{PasswordJob, PasswordOutcome, PasswordWork};
use clientele_core::{Error, Result};
use tokio::sync::Semaphore;

/// Runs password jobs on blocking threads, a bounded number at once.
#[derive(Debug, Clone)]
pub struct BlockingPasswordPool {
    permits: Arc<Semaphore>,
}

impl BlockingPasswordPool {
    /// A pool running at most `size` jobs at once (at least one).
    pub fn new(size: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(size.max(1))) }
    }

    /// A pool sized to the machine's cores.
    pub fn for_this_machine() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
    }

    /// Runs `work` on a blocking thread once a place is free, and waits for it.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit = self.permits.acquire().await.map_err(|_| Error::internal("the password pool was closed"))?;
        tokio::task::spawn_blocking(work).await.map_err(|e| Error::internal(format!("a password job failed: {e}")))
    }
}

#[async_trait::async_trait]
impl PasswordWork for BlockingPasswordPool {
    async fn run(&self, job: PasswordJob) -> Result<PasswordOutcome> {
        BlockingPasswordPool::run(self, move || job.run()).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Mutex, mpsc};
    use std::time::Duration;

    use super::*;

    /// On a runtime of one thread, a job that waits for that thread to do something else can
    /// only finish when it runs elsewhere. (The timeout only stops a broken pool from hanging
    /// the test: it is never reached when the pool works.)
    #[tokio::test(flavor = "current_thread")]
    async fn jobs_run_off_the_async_threads_so_those_keep_answering() {
        let pool = BlockingPasswordPool::new(1);
        let (tick, ticked) = mpsc::channel::<()>();
        let job = pool.run(move || ticked.recv_timeout(Duration::from_secs(60)).is_ok());
        let other_request = async move {
            tokio::task::yield_now().await;
            let _ = tick.send(());
        };
        let (answered, ()) = tokio::join!(job, other_request);
        assert!(answered.unwrap(), "the job blocked the runtime's thread");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_jobs_run_at_once_than_the_pool_has_places() {
        let pool = BlockingPasswordPool::new(2);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (started, mut starts) = tokio::sync::mpsc::unbounded_channel::<()>();
        let (release, released) = mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let mut jobs = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
            let (started, released) = (started.clone(), released.clone());
            jobs.spawn(async move {
                pool.run(move || {
                    most.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                    started.send(()).unwrap();
                    released.lock().unwrap().recv().unwrap();
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
                .unwrap()
            });
        }
        // Two start; each one let go lets exactly one more in.
        starts.recv().await.unwrap();
        starts.recv().await.unwrap();
        for _ in 0..4 {
            release.send(()).unwrap();
            starts.recv().await.unwrap();
        }
        for _ in 0..2 {
            release.send(()).unwrap();
        }
        while let Some(done) = jobs.join_next().await {
            done.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
