//! Browser sessions of the operator console, as stored: a random token in an HttpOnly cookie,
//! only its SHA-256 here, and a CSRF token per session. Logging in and out are account services
//! (`accounts::services`).

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::ids::TenantId;
use crate::time::Timestamp;

/// A console session as stored: the token itself is never kept, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the cookie's token.
    pub token_hash: Vec<u8>,
    /// The user's tenant; absent for platform admins.
    pub tenant_id: Option<TenantId>,
    /// The user (or platform admin).
    pub subject_id: Uuid,
    /// The token every form of this session carries.
    pub csrf_token: String,
    /// The language the user chose in the console (`en`, `it`); absent: the browser's.
    pub locale: Option<String>,
    /// When the session began.
    pub created_at: Timestamp,
    /// When it ends, whatever happens.
    pub expires_at: Timestamp,
}

/// The hash under which a token is stored.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
