//! Where argon2's work runs. Hashing or verifying a password takes tens of milliseconds of one
//! core, on purpose: run on the async workers, a few logins at once would stall every other
//! request. The core does no scheduling of its own, so the services hand each piece of work to
//! a [`PasswordWork`]: the server's runs it on a bounded pool of blocking threads, one per core;
//! [`InlinePasswordWork`] runs it where it is asked (admin commands, which do one at a time).

use crate::accounts::user::PasswordHashString;
use crate::error::Result;

/// One piece of argon2 work.
#[derive(Debug)]
pub enum PasswordJob {
    /// Hash a new password (checking its length first).
    Hash(String),
    /// Check a password against a stored hash.
    Verify(PasswordHashString, String),
}

/// What a [`PasswordJob`] gave.
#[derive(Debug)]
pub enum PasswordOutcome {
    /// The hash of a new password, or why the password was refused.
    Hashed(Result<PasswordHashString>),
    /// Whether the password matched.
    Verified(bool),
}

impl PasswordJob {
    /// Does the work, here and now: call it where blocking for a while is fine.
    pub fn run(self) -> PasswordOutcome {
        match self {
            Self::Hash(password) => PasswordOutcome::Hashed(PasswordHashString::hash(&password)),
            Self::Verify(hash, password) => PasswordOutcome::Verified(hash.verify(&password)),
        }
    }
}

/// Runs [`PasswordJob`]s somewhere that blocking does not hurt.
#[async_trait::async_trait]
pub trait PasswordWork: Send + Sync + std::fmt::Debug {
    /// Runs `job` and waits for it; an error only when the work could not be run at all.
    async fn run(&self, job: PasswordJob) -> Result<PasswordOutcome>;
}

/// Runs the work on the caller's task, blocking it: for admin commands, not for servers.
#[derive(Debug, Clone, Copy, Default)]
pub struct InlinePasswordWork;

#[async_trait::async_trait]
impl PasswordWork for InlinePasswordWork {
    async fn run(&self, job: PasswordJob) -> Result<PasswordOutcome> {
        Ok(job.run())
    }
}
