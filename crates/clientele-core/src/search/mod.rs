//! Customer search: how a customer becomes a search document, how a query becomes terms and
//! tiers, and the service that asks the store tier by tier (the SQL lives in the store).

pub mod services;
pub mod store;
pub mod terms;
