//! Accounts: tenants (one rental company each), their users and the platform's admins, tokens,
//! and what each role may do.

pub mod access;
pub mod auth;
pub mod passwords;
pub mod revoke;
pub mod services;
pub mod session;
pub mod store;
pub mod tenant;
pub mod throttle;
pub mod user;
