//! Clientele's domain: customers of vehicle-rental companies, who may see and change them, and
//! the rules their data obeys. This crate knows neither HTTP nor SQL, and does no I/O of its
//! own: the store, the server, the background runtime and the command line all depend on it,
//! never the reverse.
//!
//! # Where things live
//!
//! A folder per resource, each holding that resource and nothing else's:
//! - its records and rules (`record`, and `input`, `requirements`, ... where a resource has more),
//!   plain types that parse and validate;
//! - its services (`services`, and `notes`, `run`, `undo`, ... where there are more): `impl App`
//!   blocks, each service asking the actor for its capability first;
//! - its part of the storage contract (`store`): the records the store is asked with, and the
//!   resource's `*Store` trait, of which [`store::Store`] is the sum.
//!
//! The kernel every resource shares is flat beside the folders: [`ids`], [`error`] (one table
//! of error codes), [`time`], [`values`], [`countries`], [`text`], [`paging`], [`json`] and [`telemetry`]. [`app`] holds the
//! [`App`] itself and its configuration.
//!
//! The rule: a module never imports from a module that imports it back (a test checks the
//! whole crate), and a resource uses another only through its public items. Records depend
//! on the kernel and on other resources' records, never on services; services may use any
//! resource's records and call any resource's services on `App`.

pub use app::{App, AppConfig};
pub use error::{Error, ErrorCode, FieldCode, FieldError, Result};

pub mod accounts;
pub mod app;
pub mod audit;
pub mod blacklist;
pub mod cargos;
pub mod countries;
pub mod customers;
pub mod documents;
pub mod error;
pub mod events;
pub mod exports;
pub mod ids;
pub mod imports;
pub mod json;
pub mod orders;
pub mod paging;
pub mod payments;
pub mod reports;
pub mod search;
pub mod store;
pub mod telemetry;
pub mod text;
pub mod time;
pub mod values;
pub mod webhooks;
