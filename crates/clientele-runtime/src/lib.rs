//! Background work beside the requests, in every `clientele serve` process and in the admin
//! commands that run it themselves: the import worker, which claims import jobs, keeps their
//! leases alive while it works, spools their files to disk and feeds their lines to the core's
//! import steps; the outbox dispatcher, which sends webhook deliveries; and the Ca.R.G.O.S.
//! worker, which runs the checks queued when orders become active; and the document store's
//! sweeper, which removes files that no document points at.
//!
//! The core decides what happens to a job and writes it; this crate owns what the core must
//! not do itself: the clock, the waiting, and the files.

pub mod cargos;
pub mod documents;
pub mod imports;
pub mod outbox;
