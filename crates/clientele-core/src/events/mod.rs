//! Outbox events: every committed change that the systems around Clientele hear of, written in
//! the change's own transaction and delivered later (webhooks, and the marketplace sync).

pub mod payload;
pub mod record;
