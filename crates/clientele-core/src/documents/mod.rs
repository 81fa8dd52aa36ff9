//! Identity, licence and insurance documents: metadata, the tenant's requirements and each
//! customer's completion, and the vault that keeps the files encrypted.

pub mod record;
pub mod requirements;
pub mod services;
pub mod store;
pub mod sweep;
pub mod vault;
