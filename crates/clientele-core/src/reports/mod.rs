//! Reports: the figures on the admins' dashboard, computed from the tenant's own data (the
//! seed's success measures: complete documents, blacklist refusals and overrides, VIP repeat
//! business, imports).

pub mod services;
