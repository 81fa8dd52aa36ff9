//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): a secret `whsec_<base64>`,
//! and for each message `webhook-signature: v1,<base64 of HMAC-SHA256(key, "id.timestamp.body")>`,
//! one per secret that signs (during a rotation's overlap, the new and the previous one).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{Error, Result};

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A signing secret: its key bytes. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(Vec<u8>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret([redacted])")
    }
}

impl SigningSecret {
    /// A fresh secret of 32 random bytes.
    pub fn generate() -> Result<Self> {
        let mut key = vec![0u8; 32];
        getrandom::fill(&mut key).map_err(|e| Error::internal(format!("no randomness for a secret: {e}")))?;
        Ok(Self(key))
    }

    /// Reads `whsec_<base64>` (as shown once, or as stored after opening).
    pub fn parse(text: &str) -> Result<Self> {
        let encoded = text.trim().strip_prefix(SECRET_PREFIX).unwrap_or(text.trim());
        let key = STANDARD.decode(encoded).map_err(|_| Error::internal("a stored webhook secret is not base64"))?;
        if key.len() < 24 {
            return Err(Error::internal("a stored webhook secret is too short"));
        }
        Ok(Self(key))
    }

    /// The secret as shown to the tenant once: `whsec_<base64>`.
    pub fn reveal(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The `v1,<base64>` signature of a message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC takes a key of any length.
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header's value: a signature per secret, space-separated.
pub fn signature_header(secrets: &[SigningSecret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification's reference libraries.
        let secret = SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(secret.reveal(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    }

    #[test]
    fn two_secrets_give_two_signatures_and_secrets_never_show_in_debug() {
        let (a, b) = (SigningSecret::generate().unwrap(), SigningSecret::generate().unwrap());
        let header = signature_header(&[a.clone(), b], "id", 1, b"{}");
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|s| s.starts_with("v1,")));
        assert!(!format!("{a:?}").contains(&a.reveal()[6..]));
        assert!(SigningSecret::parse("whsec_c2hvcnQ=").is_err(), "too short");
    }
}
