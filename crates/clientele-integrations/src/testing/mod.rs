//! Test support (feature `testing`): local fakes of the services Clientele calls, each speaking
//! that service's wire format, for this and other crates' tests.
//!
//! - [`cargos`]: [`FakeCargos`], the Ca.R.G.O.S. police API (its items are re-exported here).
//! - [`stripe`]: [`stripe::FakeStripe`], Stripe's API and its signed webhook events.

pub mod cargos;
pub mod stripe;

pub use cargos::*;
