//! Exports: customer lists as CSV, and everything held on one person as JSON.

pub mod columns;
pub mod csv;
pub mod personal;
