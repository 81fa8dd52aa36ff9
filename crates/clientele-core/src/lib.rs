//! Clientele's domain: customers of vehicle-rental companies, who may see and change them, and
//! the rules their data obeys. This crate knows neither HTTP nor SQL: the server, the store and
//! the command line all depend on it, never the reverse.

pub mod access;
pub mod app;
pub mod audit;
pub mod auth;
pub mod blacklist;
pub mod customer;
pub mod customers;
pub mod document;
pub mod documents;
pub mod error;
pub mod export;
pub mod ids;
pub mod import;
pub mod imports;
pub mod json;
pub mod order;
pub mod orders;
pub mod risk;
pub mod search;
pub mod store;
pub mod tenant;
pub mod time;
pub mod user;
pub mod values;
pub mod vault;

pub use app::{App, AppConfig};
pub use error::{Error, ErrorCode, FieldCode, FieldError, Result};
