//! Blacklists: a tenant's own list with reason codes and notes, and the platform-wide list that
//! holds only keyed pseudonyms of the person and warns every tenant anonymously.

pub mod pseudonyms;
pub mod record;
pub mod services;
pub mod store;
