//! The server's own timings of searches (the API's and the console's), kept in memory for the
//! admins' dashboard: the latest few thousand, so the figure follows what people do now.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// How many of the latest searches are kept.
const KEPT: usize = 4096;

/// The latest search durations.
#[derive(Debug, Default)]
pub struct SearchTimings {
    latest: Mutex<VecDeque<Duration>>,
}

impl SearchTimings {
    /// Records one search.
    pub fn record(&self, took: Duration) {
        if let Ok(mut latest) = self.latest.lock() {
            if latest.len() == KEPT {
                latest.pop_front();
            }
            latest.push_back(took);
        }
    }

    /// How many searches are kept, and their 95th percentile (none without searches).
    pub fn p95(&self) -> (usize, Option<Duration>) {
        let Ok(latest) = self.latest.lock() else { return (0, None) };
        let mut sorted: Vec<Duration> = latest.iter().copied().collect();
        drop(latest);
        sorted.sort_unstable();
        if sorted.is_empty() {
            return (0, None);
        }
        // Nearest rank: the smallest value at or above 95% of the searches.
        let rank = (sorted.len() * 95).div_ceil(100).max(1);
        (sorted.len(), sorted.get(rank - 1).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_95th_percentile_is_the_nearest_rank() {
        let timings = SearchTimings::default();
        assert_eq!(timings.p95(), (0, None));
        for ms in 1..=100 {
            timings.record(Duration::from_millis(ms));
        }
        assert_eq!(timings.p95(), (100, Some(Duration::from_millis(95))));
        for _ in 0..KEPT {
            timings.record(Duration::from_millis(1));
        }
        assert_eq!(timings.p95(), (KEPT, Some(Duration::from_millis(1))), "only the latest are kept");
    }
}
