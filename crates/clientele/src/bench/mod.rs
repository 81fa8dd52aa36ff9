//! `clientele bench ...`: benchmarks as programs, not tests. Each prints a table and writes it to
//! `BENCHMARKS.md`, every figure beside a baseline measured in the same run, with the machine it
//! ran on: absolute times on shared machines are noisy, ratios much less so.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

pub mod import;
pub mod load;
pub mod outbox;
pub mod report;
pub mod search;

/// Latency percentiles of a set of samples.
#[derive(Debug, Clone, Copy, Default)]
pub struct Percentiles {
    /// Median.
    pub p50: Duration,
    /// 95th percentile.
    pub p95: Duration,
    /// 99th percentile.
    pub p99: Duration,
}

impl Percentiles {
    /// The percentiles of `samples` (nearest-rank).
    pub fn of(samples: &[Duration]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort();
        let rank = |q: f64| {
            if sorted.is_empty() {
                return Duration::ZERO;
            }
            let index = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[index]
        };
        Self { p50: rank(0.50), p95: rank(0.95), p99: rank(0.99) }
    }
}

/// Milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// A `clientele serve` child process on a free port, stopped when dropped.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    // Kept open: the server must be able to write to its stdout.
    _stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

impl ServerProcess {
    /// Starts this very binary as a server on `database_url`.
    pub fn spawn(database_url: &str) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding the clientele binary")?;
        let mut child = Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("CLIENTELE_DATABASE_URL", database_url)
            .env("CLIENTELE_LOG__LEVEL", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the server")?;
        let stdout = child.stdout.take().context("reading the server's output")?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(rest) = line.strip_prefix("Listening on ") {
                        break rest.split_whitespace().next().unwrap_or_default().to_owned();
                    }
                }
                _ => bail!("the server exited before listening"),
            }
        };
        Ok(Self { child, base, _stdout: lines })
    }

    /// The server's resident memory now and at its peak, in MiB (Linux).
    pub fn memory_mib(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .map_or(0.0, |kib| kib / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A domain error as the benchmarks report it.
pub fn core_error(error: clientele_core::Error) -> anyhow::Error {
    anyhow::anyhow!(error.to_string())
}

/// What machine and build the figures come from.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or_else(|| "? GiB".into(), |kib| format!("{:.0} GiB", kib / 1024.0 / 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let build = if cfg!(debug_assertions) { "debug build" } else { "release build" };
    format!(
        "{model}, {cores} cores, {memory} RAM, Linux {}; clientele {} ({build})",
        kernel.trim(),
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let p = Percentiles::of(&samples);
        assert_eq!(
            (p.p50, p.p95, p.p99),
            (Duration::from_millis(50), Duration::from_millis(95), Duration::from_millis(99))
        );
        assert_eq!(Percentiles::of(&[]).p99, Duration::ZERO);
    }
}
