//! Who is acting: bearer tokens, and the [`Actor`] that every service call takes.
//!
//! Tokens are JWTs signed with HMAC-SHA-256. Only the one fixed header is accepted, so no `alg`
//! games are possible. A token names the user, tenant, role and the user's token generation; on
//! every request the user is read again, so a disabled user (or one whose role changed, or whose
//! tokens were revoked, which moves the generation on) loses access at once, for good.
//!
//! An [`Actor`] can only be made here: from a verified token ([`crate::App::authenticate`]), or,
//! for admin commands run with direct database access, [`Actor::command_line`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::accounts::user::Role;
use crate::error::{Error, Result};
use crate::ids::{CustomerId, PlatformAdminId, TenantId, UserId};
use crate::time::Timestamp;

/// `{"alg":"HS256","typ":"JWT"}`, the only header we issue or accept.
const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// Client IP address.
    pub ip: Option<String>,
    /// The client's `User-Agent` (the device).
    pub user_agent: Option<String>,
    /// The request id (`x-request-id`).
    pub request_id: Option<String>,
}

/// A tenant user acting within its tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The user.
    pub user_id: UserId,
    /// The user's role.
    pub role: Role,
    /// For partner users: their partner company.
    pub partner_id: Option<CustomerId>,
}

/// Who is acting. See the module documentation for how one is made.
#[derive(Debug, Clone)]
pub struct Actor {
    principal: Principal,
    origin: Origin,
}

/// The kinds of actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// A tenant user.
    Member(Member),
    /// A platform administrator.
    PlatformAdmin(PlatformAdminId),
    /// An admin command run on the server with direct database access; acts as a tenant admin.
    CommandLine(TenantId),
    /// An outside service acting on a tenant's data through its own signed callbacks (Stripe's
    /// webhooks), named by its role label. It has no capability of the roles table: only the
    /// services that verify its callbacks act as it.
    Integration(TenantId, &'static str),
}

impl Actor {
    pub(crate) fn new(principal: Principal, origin: Origin) -> Self {
        Self { principal, origin }
    }

    /// The actor for an admin command (`clientele import`, `--demo`, ...). Whoever can run the
    /// binary against the database can already change anything in it, so this grants a tenant
    /// admin's rights; the audit log records the role as `cli`.
    pub fn command_line(tenant_id: TenantId) -> Self {
        Self::new(Principal::CommandLine(tenant_id), Origin::default())
    }

    /// The actor for an outside service's verified callback to `tenant_id` (the audit log
    /// records the role as `name`, e.g. `stripe`), from `origin`.
    pub fn integration(tenant_id: TenantId, name: &'static str, origin: Origin) -> Self {
        Self::new(Principal::Integration(tenant_id, name), origin)
    }

    /// What kind of actor this is.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Where the request came from.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The tenant, for tenant users and command-line actors.
    pub fn tenant_id(&self) -> Option<TenantId> {
        match self.principal {
            Principal::Member(member) => Some(member.tenant_id),
            Principal::CommandLine(tenant) | Principal::Integration(tenant, _) => Some(tenant),
            Principal::PlatformAdmin(_) => None,
        }
    }

    /// The acting user's id as recorded in audit entries and `created_by`.
    pub fn user_uuid(&self) -> Option<Uuid> {
        match self.principal {
            Principal::Member(member) => Some(member.user_id.as_uuid()),
            Principal::PlatformAdmin(id) => Some(id.as_uuid()),
            Principal::CommandLine(_) | Principal::Integration(..) => None,
        }
    }

    /// The acting tenant user's id, if a tenant user is acting.
    pub fn user_id(&self) -> Option<UserId> {
        match self.principal {
            Principal::Member(member) => Some(member.user_id),
            _ => None,
        }
    }

    /// The role as recorded in the audit log: a tenant role, `platform_admin` or `cli`.
    pub fn role_label(&self) -> &'static str {
        match self.principal {
            Principal::Member(member) => member.role.as_str(),
            Principal::PlatformAdmin(_) => "platform_admin",
            Principal::CommandLine(_) => "cli",
            Principal::Integration(_, name) => name,
        }
    }
}

/// What a token says. Short field names keep tokens short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// User or platform-admin id.
    pub sub: Uuid,
    /// Tenant id; absent for platform admins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<Uuid>,
    /// `admin`, `operator`, `driver`, `partner` or `platform_admin`.
    pub role: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// The user's token generation when the token was issued (tokens from before generations
    /// existed have none: 0, the generation every user started with).
    #[serde(rename = "gen", default)]
    pub generation: i64,
}

/// Signs and verifies tokens. `Debug` does not print the key.
#[derive(Clone)]
pub struct TokenSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner([redacted])")
    }
}

impl TokenSigner {
    /// Shortest signing key accepted, in bytes (HS256 wants at least the hash size).
    pub const MIN_KEY_BYTES: usize = 32;

    /// A signer with `key`; fails when the key is shorter than [`Self::MIN_KEY_BYTES`].
    pub fn new(key: &[u8]) -> Result<Self> {
        if key.len() < Self::MIN_KEY_BYTES {
            return Err(Error::internal(format!(
                "the token signing key must be at least {} bytes",
                Self::MIN_KEY_BYTES
            )));
        }
        Ok(Self { key: key.to_vec() })
    }

    /// A fresh random key of 32 bytes.
    pub fn generate_key() -> Result<Vec<u8>> {
        let mut key = vec![0_u8; 32];
        getrandom::fill(&mut key).map_err(|e| Error::internal(format!("reading random bytes: {e}")))?;
        Ok(key)
    }

    fn mac(&self, signing_input: &str) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(signing_input.as_bytes());
        mac
    }

    pub(crate) fn sign(&self, claims: &Claims) -> Result<String> {
        let payload = serde_json::to_vec(claims).map_err(Error::internal)?;
        let signing_input = format!("{HEADER}.{}", URL_SAFE_NO_PAD.encode(payload));
        let signature = self.mac(&signing_input).finalize().into_bytes();
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    pub(crate) fn verify(&self, token: &str, now: Timestamp) -> Result<Claims> {
        let invalid = || Error::unauthenticated("the token is invalid");
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        if header != HEADER {
            return Err(invalid());
        }
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid())?;
        self.mac(&token[..header.len() + 1 + payload.len()]).verify_slice(&signature).map_err(|_| invalid())?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| invalid())?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| invalid())?;
        if claims.exp <= now.unix_seconds() {
            return Err(Error::unauthenticated("the token has expired"));
        }
        Ok(claims)
    }
}

/// A freshly issued token.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    /// The bearer token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
    /// When the token expires.
    pub expires_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims { sub: Uuid::now_v7(), tid: Some(Uuid::now_v7()), role: "admin".into(), iat: 0, exp, generation: 3 }
    }

    fn signer() -> TokenSigner {
        TokenSigner::new(&[7; 32]).unwrap()
    }

    #[test]
    fn header_constant_is_the_hs256_header() {
        assert_eq!(URL_SAFE_NO_PAD.decode(HEADER).unwrap(), br#"{"alg":"HS256","typ":"JWT"}"#);
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let now = Timestamp::now();
        let c = claims(now.unix_seconds() + 60);
        let token = signer().sign(&c).unwrap();
        assert_eq!(signer().verify(&token, now).unwrap(), c);
        assert!(signer().verify(&token, now.add(std::time::Duration::from_secs(61))).is_err());
    }

    #[test]
    fn tampered_or_foreign_tokens_are_rejected() {
        let now = Timestamp::now();
        let token = signer().sign(&claims(now.unix_seconds() + 60)).unwrap();
        let other = TokenSigner::new(&[8; 32]).unwrap();
        assert!(other.verify(&token, now).is_err());
        let (head, rest) = token.split_once('.').unwrap();
        let (payload, sig) = rest.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&Claims { role: "admin".into(), ..claims(now.unix_seconds() + 999) }).unwrap());
        for bad in [
            format!("{head}.{forged_payload}.{sig}"),
            format!("eyJhbGciOiJub25lIn0.{payload}."),
            format!("{token}.x"),
            String::new(),
            "a.b.c".into(),
        ] {
            assert!(signer().verify(&bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(TokenSigner::new(&[1; 31]).is_err());
    }
}
