//! Imports: CSV files as people have them, read and mapped to customer input, run as durable
//! jobs that validate every row as the API does, and undone as a whole.

pub mod bounded;
pub mod errors;
pub mod headers;
pub mod job;
pub mod mapping;
pub mod reader;
pub mod run;
pub mod services;
pub mod store;
pub mod undo;
