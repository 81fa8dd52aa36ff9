//! Users and their roles, platform administrators, and password hashing (argon2id).

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};

use crate::error::{Error, FieldCode, FieldProblem, Result};
use crate::ids::{CustomerId, PlatformAdminId, TenantId, UserId};
use crate::time::Timestamp;
use crate::values::Email;

/// The one role a tenant user has (the roles table in README.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the tenant: everything, including restore, import/export, VIP and blacklist.
    Admin,
    /// Counter and phone staff: customers, notes, orders.
    Operator,
    /// Delivers cars: sees contact details of customers on orders assigned to them.
    Driver,
    /// A partner agency: creates and sees only its own clients.
    Partner,
}

impl Role {
    /// Every role, in table order.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Operator, Role::Driver, Role::Partner];

    /// The role as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Driver => "driver",
            Self::Partner => "partner",
        }
    }

    /// Parses a stored or typed role.
    pub fn parse(input: &str) -> Result<Self, FieldProblem> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == input.trim())
            .ok_or_else(|| FieldProblem::new(FieldCode::Invalid, "must be one of admin, operator, driver, partner"))
    }
}

/// A user of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The tenant the user belongs to.
    pub tenant_id: TenantId,
    /// The user's id.
    pub id: UserId,
    /// Login email, unique within the tenant.
    pub email: Email,
    /// The user's one role.
    pub role: Role,
    /// For `partner` users: the partner company (a customer of kind `partner`).
    pub partner_id: Option<CustomerId>,
    /// The argon2id PHC string.
    pub password_hash: PasswordHashString,
    /// A disabled user cannot log in and its tokens stop working.
    pub disabled: bool,
    /// The generation of the user's tokens: a token is accepted only while it carries this
    /// number. Revoking the user's tokens, or disabling the user, moves it on.
    pub token_generation: i64,
    /// When the user was created.
    pub created_at: Timestamp,
}

/// A platform administrator: no tenant; manages cross-tenant data such as the global blacklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformAdmin {
    /// The administrator's id.
    pub id: PlatformAdminId,
    /// Login email, unique across the platform.
    pub email: Email,
    /// The argon2id PHC string.
    pub password_hash: PasswordHashString,
    /// A disabled administrator cannot log in and its tokens stop working.
    pub disabled: bool,
    /// The generation of the administrator's tokens (see [`User::token_generation`]).
    pub token_generation: i64,
    /// When the administrator was created.
    pub created_at: Timestamp,
}

/// An argon2id hash in PHC string form. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHashString(String);

impl std::fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHashString([redacted])")
    }
}

impl PasswordHashString {
    /// Shortest password accepted.
    pub const MIN_CHARS: usize = 8;
    /// Longest password accepted (hashing cost is linear in length; this bounds it).
    pub const MAX_BYTES: usize = 1024;

    /// Hashes a new password with argon2id and a random salt.
    pub fn hash(password: &str) -> Result<Self> {
        if password.chars().count() < Self::MIN_CHARS {
            return Err(Error::invalid(
                "password",
                FieldCode::TooShort,
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if password.len() > Self::MAX_BYTES {
            return Err(Error::invalid("password", FieldCode::TooLong, "is too long"));
        }
        let hashed: std::result::Result<PasswordHash, _> = Argon2::default().hash_password(password.as_bytes());
        hashed.map(|hash| Self(hash.to_string())).map_err(|e| Error::internal(format!("hashing a password: {e}")))
    }

    /// A hash read back from the store.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }

    /// The PHC string, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `password` matches. Malformed hashes never match.
    pub fn verify(&self, password: &str) -> bool {
        if password.len() > Self::MAX_BYTES {
            return false;
        }
        PasswordHash::new(&self.0)
            .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
    }

    /// A valid hash of a random password, verified against when the user does not exist, so that
    /// a wrong email costs the same time as a wrong password.
    pub fn decoy() -> &'static Self {
        static DECOY: std::sync::OnceLock<PasswordHashString> = std::sync::OnceLock::new();
        DECOY.get_or_init(|| {
            let random = uuid::Uuid::new_v4().to_string();
            Self::hash(&random).unwrap_or_else(|_| Self(String::new()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let hash = PasswordHashString::hash("correct horse").unwrap();
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(hash.verify("correct horse"));
        assert!(!hash.verify("correct horsE"));
        assert!(!PasswordHashString::from_stored("garbage".into()).verify("correct horse"));
        assert_ne!(PasswordHashString::hash("correct horse").unwrap(), hash, "salted");
    }

    /// A login for nobody is checked against the decoy: it must cost what a real check costs,
    /// so the decoy is a hash of the same algorithm, version, parameters and length.
    #[test]
    fn the_decoy_is_hashed_exactly_like_real_passwords() {
        let real = PasswordHashString::hash("correct horse").unwrap();
        let decoy = PasswordHashString::decoy();
        let shape = |h: &PasswordHashString| {
            let parts: Vec<String> = h.as_str().split('$').map(str::to_owned).collect();
            assert_eq!(parts.len(), 6, "{parts:?}");
            (parts[1].clone(), parts[2].clone(), parts[3].clone(), parts[4].len(), parts[5].len())
        };
        assert_eq!(shape(decoy), shape(&real));
    }

    #[test]
    fn short_passwords_are_rejected() {
        assert!(matches!(PasswordHashString::hash("short"), Err(Error::Invalid(_))));
    }

    #[test]
    fn roles_parse_from_their_names_only() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
        assert!(Role::parse("root").is_err());
    }
}
