//! Route modules; each owns its `routes()`.

pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod blacklist;
pub(crate) mod cargos;
pub(crate) mod customers;
pub(crate) mod documents;
pub(crate) mod exports;
pub(crate) mod health;
pub(crate) mod imports;
pub(crate) mod orders;
pub(crate) mod payments;
pub(crate) mod webhooks;
