//! What an import batch writes, as one unit.

use crate::customers::record::Customer;
use crate::customers::store::CustomerWrite;
use crate::imports::job::{ImportJob, ImportLease, ImportRowError};

/// One batch of an import job: everything it writes, committed in one transaction that first
/// checks that the job is still this worker's (and renews its lease), so that a worker that lost
/// its job writes nothing, and a crash leaves either the whole batch with its progress or none
/// of it.
#[derive(Debug, Clone)]
pub struct ImportBatch {
    /// The job as it stands after the batch: its counts, `rows_read` and `next_row`.
    pub job: ImportJob,
    /// The worker's lease, renewed by the write.
    pub lease: ImportLease,
    /// New customers (ids derived from their rows), each with what is written with it. One
    /// whose id is already taken was created by an earlier run of this very batch: it is left
    /// as it is.
    pub created: Vec<(Customer, CustomerWrite)>,
    /// Changed customers, each written only if still at its expected version (the second
    /// field), in order: a customer changed by two rows appears twice, the second made from
    /// the first.
    pub updated: Vec<(Customer, i64, CustomerWrite)>,
    /// Audit entries and global matches of rows that changed nothing.
    pub recorded: CustomerWrite,
    /// The batch's refused rows.
    pub errors: Vec<ImportRowError>,
    /// Crash tests only: how long to hold the transaction open between its writes (zero
    /// otherwise), so that a test can kill a server in the middle of one.
    pub hold_open: std::time::Duration,
}
