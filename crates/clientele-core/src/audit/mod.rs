//! The audit log: an entry for every change and every document access, allowed or denied, kept
//! as a hash chain per tenant that `clientele audit verify` checks.

pub mod chain;
pub mod entry;
pub mod services;
pub mod store;
