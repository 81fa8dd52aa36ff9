//! Ca.R.G.O.S., the Italian State Police service to which rental operators must report every
//! rental contract (D.L. 113/2018 art. 17). No I/O here: the police API is a trait
//! ([`api::CargosApi`]) implemented in `clientele-integrations`.
//!
//! A record the police refuse is a legal problem for the tenant, so the pure part's one job is
//! exactness: a [`CargosContract`] becomes a [`CargosRecord`] of exactly 1505 characters only
//! after every check has passed, and otherwise every problem is reported at once, each naming
//! our field, the Ca.R.G.O.S. column and what to do ([`CargosProblem`]).
//!
//! - [`layout`]: the manual's record layout, one table ([`layout::LAYOUT`]) of 46 fields, and
//!   [`decode`], which reads a record back field by field.
//! - [`charset`]: the six character sets and the transliteration the specification allows.
//! - [`validate`](mod@validate): the checks, and [`format`](mod@format): the record itself.
//! - [`tables`] and [`places`]: the four coding tables (built-in snapshot, replaceable by a
//!   refresh from the live `Tabella` endpoint), place lookup by code and search by name, both as
//!   of a date, because comuni come and go.
//! - [`rome`]: Europe/Rome wall-clock time, which the record's date-times are written in.
//! - [`token`]: encrypting the API's bearer token with the operator's API key.
//!
//! Wiring it to the rest of Clientele:
//! - [`api`]: what the police API is asked and answers; [`agencies`], [`settings`] and
//!   [`submissions`]: the tenant's agencies, its sealed credentials and automation, every check
//!   and send with its receipt; [`store`]: their part of the storage contract.
//! - [`contract`]: a contract filled from an order, its customers and agencies, and where each
//!   problem is fixed.
//! - [`setup`], [`ordering`] and [`services`]: the services (places, agencies, settings, tables;
//!   what orders need; an order's record, check, send, and the queued checks' step).
//!
//! The specification notes are `shared/specs/cargos.md`.
//!
//! ```
//! use clientele_core::cargos::{CargosTables, Field, decode};
//! use time::macros::date;
//!
//! let tables = CargosTables::builtin();
//! let forli = tables.places().search("forlì", date!(2026 - 01 - 15), 1);
//! assert_eq!(forli[0].name(), "FORLI'");
//! assert_eq!(Field::DriverBirthPlace.spec().column, "CONDUCENTE_CONTRAENTE_NASCITA_LUOGO_COD");
//! assert!(decode("too short").is_err());
//! ```

pub mod agencies;
pub mod api;
pub mod charset;
pub mod contract;
pub mod format;
pub mod layout;
pub mod ordering;
pub mod places;
pub mod record;
pub mod rome;
pub mod services;
pub mod settings;
pub mod setup;
pub(crate) mod state;
pub mod store;
pub mod submissions;
pub mod tables;
pub mod token;
pub mod validate;

pub use format::format;
pub use layout::{
    DecodeError, DecodedField, Field, FieldKind, FieldSpec, LAYOUT, MAX_RECORDS_PER_CALL, Presence, RECORD_CHARS,
    decode,
};
pub use places::{Place, PlaceCode, PlaceKind, Places};
pub use record::{Agency, CargosContract, CargosProblem, CargosRecord, Driver, Handover, SecondDriver, Vehicle};
pub use tables::{CargosTableTexts, CargosTables, CodeEntry, CodeTable, SharedTables, TableError};
pub use token::{ApiKeyError, CargosApiKey};
pub use validate::{check_value, validate};
