//! Customers: clients, partner companies and staff drivers; their validation, their views with
//! badges, their notes, and the services that create, change, delete and list them.

pub mod input;
pub mod list;
pub mod notes;
pub mod patch;
pub mod record;
pub mod services;
pub mod store;
pub mod view;
