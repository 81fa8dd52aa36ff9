//! Limits on failed logins, per account and per client address, against password guessing.
//!
//! Each account (tenant and email as typed, whether or not such a user exists, so that lockouts
//! reveal nothing about who has an account) and each address may fail [`LoginLimits`]'s number
//! of times in a row; then it is locked out, and every login for it is answered `429` without
//! looking at the password. Each further lockout of the same account or address lasts twice as
//! long as the one before, up to a cap. A successful login clears its account's count (not its
//! address's: a guesser with one good account must not be able to clear its address that way).
//! Counts are forgotten after a quiet spell of twice the longest lockout.
//!
//! Logins under way count too, so that a burst of parallel guesses cannot all slip in before the
//! first of them fails. The state is kept in memory, per server process: with several processes,
//! each counts on its own (README, "Limits and protections").

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How many failed logins are allowed, and how long lockouts last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failed logins in a row for one account before it is locked out; 0 for no limit.
    pub per_account: u32,
    /// Failed logins in a row from one client address before it is locked out; 0 for no limit.
    pub per_address: u32,
    /// The first lockout; each further one of the same account or address lasts twice as long.
    pub lockout: Duration,
    /// The longest a lockout lasts.
    pub max_lockout: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_account: 5,
            per_address: 50,
            lockout: Duration::from_secs(60),
            max_lockout: Duration::from_secs(3600),
        }
    }
}

/// What a login attempt is counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LoginKey {
    /// An account: the tenant (none for platform admins) and the email as typed, trimmed and
    /// lower-cased.
    Account(Option<uuid::Uuid>, String),
    /// A client address.
    Address(String),
}

impl LoginKey {
    /// The account key of a login for `email` in `tenant`.
    pub fn account(tenant: Option<uuid::Uuid>, email: &str) -> Self {
        // Bounded, so that a huge email cannot make a huge key.
        Self::Account(tenant, email.trim().chars().take(320).collect::<String>().to_lowercase())
    }

    fn limit(&self, limits: &LoginLimits) -> u32 {
        match self {
            Self::Account(..) => limits.per_account,
            Self::Address(_) => limits.per_address,
        }
    }
}

/// A lockout that a failed login started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockout {
    /// What was locked out.
    pub key: LoginKey,
    /// For how long.
    pub duration: Duration,
    /// The failed logins in a row that led to it.
    pub failures: u32,
    /// How many lockouts in a row this key has had, this one included.
    pub lockouts: u32,
}

#[derive(Debug, Clone)]
struct Entry {
    failures: u32,
    in_flight: u32,
    lockouts: u32,
    locked_until: Option<Instant>,
    last_seen: Instant,
}

/// The counts of failed logins (see the module documentation).
#[derive(Debug)]
pub struct LoginThrottle {
    limits: LoginLimits,
    entries: Mutex<HashMap<LoginKey, Entry>>,
}

/// The most keys kept. Past it, forgotten and unlocked keys are dropped first; a flood of
/// distinct keys beyond it goes uncounted rather than growing memory without bound (its
/// address, counted too, is locked out long before).
const MAX_KEYS: usize = 100_000;

impl LoginThrottle {
    /// A throttle with `limits` and nothing counted yet.
    pub fn new(limits: LoginLimits) -> Self {
        Self { limits, entries: Mutex::new(HashMap::new()) }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<LoginKey, Entry>> {
        // A panic while holding the lock leaves counts that are still counts: keep using them.
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long after its last failure a key with no lockout running is forgotten.
    fn forget_after(&self) -> Duration {
        self.limits.max_lockout.saturating_mul(2).max(Duration::from_secs(900))
    }

    /// Starts a login attempt against `keys`, or says how long to wait when one of them is
    /// locked out or already has as many attempts under way as it has failures left.
    pub fn begin(&self, keys: Vec<LoginKey>, now: Instant) -> Result<LoginAttempt<'_>, Duration> {
        let mut entries = self.entries();
        let forget_after = self.forget_after();
        let mut wait = Duration::ZERO;
        for key in &keys {
            let limit = key.limit(&self.limits);
            let Some(entry) = entries.get_mut(key) else { continue };
            if limit == 0 {
                continue;
            }
            if entry.locked_until.is_none_or(|until| until <= now)
                && entry.in_flight == 0
                && now.saturating_duration_since(entry.last_seen) >= forget_after
            {
                *entry = Entry { failures: 0, in_flight: 0, lockouts: 0, locked_until: None, last_seen: now };
            }
            match entry.locked_until {
                Some(until) if until > now => wait = wait.max(until - now),
                _ if entry.failures + entry.in_flight >= limit => wait = wait.max(Duration::from_secs(1)),
                _ => {}
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        let mut counted = Vec::with_capacity(keys.len());
        for key in keys {
            if key.limit(&self.limits) == 0 {
                continue;
            }
            if !entries.contains_key(&key) && !make_room(&mut entries, now, forget_after) {
                continue;
            }
            let entry = entries.entry(key.clone()).or_insert(Entry {
                failures: 0,
                in_flight: 0,
                lockouts: 0,
                locked_until: None,
                last_seen: now,
            });
            entry.in_flight += 1;
            counted.push(key);
        }
        Ok(LoginAttempt { throttle: self, keys: counted, settled: false })
    }
}

/// Makes room for one more key; false when every key kept is locked out.
fn make_room(entries: &mut HashMap<LoginKey, Entry>, now: Instant, forget_after: Duration) -> bool {
    if entries.len() < MAX_KEYS {
        return true;
    }
    let locked = |e: &Entry| e.in_flight > 0 || e.locked_until.is_some_and(|until| until > now);
    entries.retain(|_, e| locked(e) || now.saturating_duration_since(e.last_seen) < forget_after);
    if entries.len() >= MAX_KEYS {
        entries.retain(|_, e| locked(e));
    }
    entries.len() < MAX_KEYS
}

/// A login attempt under way: settle it with [`LoginAttempt::failed`] or
/// [`LoginAttempt::succeeded`]; dropped unsettled (the login could not be checked at all), it
/// counts as neither.
#[derive(Debug)]
pub struct LoginAttempt<'a> {
    throttle: &'a LoginThrottle,
    keys: Vec<LoginKey>,
    settled: bool,
}

impl LoginAttempt<'_> {
    /// The attempt failed: counts it, and returns the lockouts it started.
    pub fn failed(mut self, now: Instant) -> Vec<Lockout> {
        self.settled = true;
        let limits = &self.throttle.limits;
        let mut entries = self.throttle.entries();
        let mut lockouts = Vec::new();
        for key in &self.keys {
            let Some(entry) = entries.get_mut(key) else { continue };
            entry.in_flight = entry.in_flight.saturating_sub(1);
            entry.failures += 1;
            entry.last_seen = now;
            let limit = key.limit(limits);
            if limit > 0 && entry.failures >= limit && entry.locked_until.is_none_or(|until| until <= now) {
                let doubling = 2_u32.saturating_pow(entry.lockouts.min(31));
                let duration = limits.lockout.saturating_mul(doubling).min(limits.max_lockout);
                entry.lockouts += 1;
                entry.locked_until = Some(now + duration);
                lockouts.push(Lockout {
                    key: key.clone(),
                    duration,
                    failures: entry.failures,
                    lockouts: entry.lockouts,
                });
                // A fresh count of failures for after the lockout; the lockouts are remembered.
                entry.failures = 0;
            }
        }
        lockouts
    }

    /// The attempt succeeded: clears its account's count.
    pub fn succeeded(mut self) {
        self.settled = true;
        let mut entries = self.throttle.entries();
        for key in &self.keys {
            match key {
                LoginKey::Account(..) => {
                    entries.remove(key);
                }
                LoginKey::Address(_) => {
                    if let Some(entry) = entries.get_mut(key) {
                        entry.in_flight = entry.in_flight.saturating_sub(1);
                    }
                }
            }
        }
    }
}

impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let mut entries = self.throttle.entries();
        for key in &self.keys {
            if let Some(entry) = entries.get_mut(key) {
                entry.in_flight = entry.in_flight.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(LoginLimits { per_account: 3, per_address: 5, lockout: MINUTE, max_lockout: 4 * MINUTE })
    }

    fn keys(email: &str) -> Vec<LoginKey> {
        vec![LoginKey::account(None, email), LoginKey::Address("192.0.2.1".into())]
    }

    /// Fails `n` logins for `email` at `now`; the lockouts they started.
    fn fail(throttle: &LoginThrottle, email: &str, n: u32, now: Instant) -> Vec<Lockout> {
        (0..n).flat_map(|_| throttle.begin(keys(email), now).unwrap().failed(now)).collect()
    }

    #[test]
    fn an_account_is_locked_out_after_its_failures_and_each_lockout_lasts_twice_as_long() {
        let throttle = LoginThrottle::new(LoginLimits { per_address: 0, ..throttle().limits });
        let mut now = Instant::now();
        for expected in [1, 2, 4, 4] {
            let lockouts = fail(&throttle, "Ann@Example.com", 3, now);
            assert_eq!(lockouts.len(), 1);
            assert_eq!(lockouts[0].duration, expected * MINUTE);
            assert_eq!(throttle.begin(keys("ann@example.com"), now).unwrap_err(), expected * MINUTE);
            let almost = now + expected * MINUTE - Duration::from_secs(1);
            assert_eq!(throttle.begin(keys(" ANN@example.com"), almost).unwrap_err(), Duration::from_secs(1));
            now += expected * MINUTE;
            drop(throttle.begin(keys("ann@example.com"), now).unwrap());
        }
        // Another account is not concerned.
        assert!(throttle.begin(keys("bob@example.com"), now).is_ok());
    }

    #[test]
    fn a_success_clears_the_account_but_not_the_address() {
        let throttle = throttle();
        let now = Instant::now();
        fail(&throttle, "ann@example.com", 2, now);
        throttle.begin(keys("ann@example.com"), now).unwrap().succeeded();
        assert!(fail(&throttle, "ann@example.com", 2, now).is_empty(), "the account counts afresh");
        // The address has four failures now: the fifth locks it out, for every account.
        let lockouts = fail(&throttle, "carl@example.com", 1, now);
        assert_eq!(lockouts.iter().map(|l| &l.key).collect::<Vec<_>>(), [&LoginKey::Address("192.0.2.1".into())]);
        assert_eq!(throttle.begin(keys("dora@example.com"), now).unwrap_err(), MINUTE);
    }

    #[test]
    fn attempts_under_way_count_so_a_burst_cannot_outrun_the_limit() {
        let throttle = throttle();
        let now = Instant::now();
        let burst: Vec<_> = (0..3).map(|_| throttle.begin(keys("ann@example.com"), now).unwrap()).collect();
        assert_eq!(throttle.begin(keys("ann@example.com"), now).unwrap_err(), Duration::from_secs(1));
        // An attempt that could not be checked (dropped unsettled) frees its place.
        drop(burst);
        assert!(throttle.begin(keys("ann@example.com"), now).is_ok());
    }

    #[test]
    fn counts_are_forgotten_after_a_quiet_spell() {
        let throttle = throttle();
        let now = Instant::now();
        fail(&throttle, "ann@example.com", 3, now);
        let later = now + 4 * MINUTE + throttle.forget_after();
        // The back-off starts again from the first lockout.
        assert_eq!(fail(&throttle, "ann@example.com", 3, later)[0].duration, MINUTE);
    }

    #[test]
    fn a_limit_of_zero_counts_nothing() {
        let throttle = LoginThrottle::new(LoginLimits { per_account: 0, per_address: 0, ..LoginLimits::default() });
        let now = Instant::now();
        assert!(fail(&throttle, "ann@example.com", 100, now).is_empty());
        assert!(throttle.entries().is_empty());
    }
}
