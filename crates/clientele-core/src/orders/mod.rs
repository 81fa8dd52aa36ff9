//! Orders: the minimal rental record this service needs, its status rules, and the blacklist
//! screening at order time.

pub mod handover;
pub mod record;
pub mod services;
pub mod store;
