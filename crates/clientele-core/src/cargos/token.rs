//! The Ca.R.G.O.S. bearer token, encrypted with the operator's API key (manual §3.4.1).
//!
//! `api/Token` answers a plain `access_token`; every later call (`Check`, `Send`, `Tabella`)
//! sends it encrypted: AES-256-CBC with PKCS#7 padding over the token's UTF-8 bytes, the key
//! being the API key's first 32 characters and the IV its next 16, the result in standard
//! Base64 with `=` padding. The IV is fixed, so the ciphertext is deterministic per token and can
//! be cached beside it. The legacy 3DES scheme was retired after 31/12/2023 and is not offered.

use std::fmt;

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};

/// Characters of the API key that are used: 32 of key, then 16 of IV; any after them are ignored.
const USED_CHARS: usize = 48;

/// An operator's Ca.R.G.O.S. API key, checked to be usable for encrypting tokens. Its `Debug`
/// output never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct CargosApiKey {
    key: [u8; 32],
    iv: [u8; 16],
}

impl fmt::Debug for CargosApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CargosApiKey(<redacted>)")
    }
}

/// Why an API key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    /// The key has fewer than 48 characters.
    #[error("a Ca.R.G.O.S. API key has at least 48 characters; this one has {0}")]
    TooShort(usize),
    /// One of the first 48 characters is not ASCII, so the key would not be 32 bytes, nor the IV 16.
    #[error("the first 48 characters of a Ca.R.G.O.S. API key must be ASCII")]
    NotAscii,
}

impl CargosApiKey {
    /// Parses an API key as the police portal issues it (48 characters or more; the manual says
    /// only the first 48 count).
    pub fn parse(input: &str) -> Result<Self, ApiKeyError> {
        let chars = input.chars().count();
        if chars < USED_CHARS {
            return Err(ApiKeyError::TooShort(chars));
        }
        let used = input.get(..USED_CHARS).filter(|used| used.is_ascii()).ok_or(ApiKeyError::NotAscii)?;
        let (key, iv) = used.as_bytes().split_at(32);
        // Both lengths are exact by construction; the conversions cannot fail.
        let key = <[u8; 32]>::try_from(key).map_err(|_| ApiKeyError::NotAscii)?;
        let iv = <[u8; 16]>::try_from(iv).map_err(|_| ApiKeyError::NotAscii)?;
        Ok(Self { key, iv })
    }

    /// The `Authorization: Bearer` value for `access_token`: AES-256-CBC, PKCS#7, Base64.
    pub fn encrypt_token(&self, access_token: &str) -> String {
        let ciphertext = cbc::Encryptor::<Aes256>::new(&self.key.into(), &self.iv.into())
            .encrypt_padded_vec::<Pkcs7>(access_token.as_bytes());
        STANDARD.encode(ciphertext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "12345678901234567890123456789012abcdefghijklmnop";

    #[test]
    fn the_token_encryption_matches_the_specification_test_vector() {
        let key = CargosApiKey::parse(KEY).unwrap();
        assert_eq!(key.encrypt_token("sample-token"), "SNXUazzCtHR//FdGXUOAUw==");
    }

    #[test]
    fn characters_past_the_forty_eighth_are_ignored() {
        let key = CargosApiKey::parse(&format!("{KEY}and-more")).unwrap();
        assert_eq!(key.encrypt_token("sample-token"), "SNXUazzCtHR//FdGXUOAUw==");
    }

    #[test]
    fn a_token_of_whole_blocks_gets_a_full_block_of_padding() {
        let key = CargosApiKey::parse(KEY).unwrap();
        let encrypted = STANDARD.decode(key.encrypt_token("0123456789abcdef")).unwrap();
        assert_eq!(encrypted.len(), 32);
        assert_eq!(STANDARD.decode(key.encrypt_token("")).unwrap().len(), 16);
    }

    #[test]
    fn short_or_non_ascii_keys_are_refused_and_never_printed() {
        assert_eq!(CargosApiKey::parse(&KEY[..47]), Err(ApiKeyError::TooShort(47)));
        assert_eq!(CargosApiKey::parse(&format!("é{}", &KEY[1..])), Err(ApiKeyError::NotAscii));
        let key = CargosApiKey::parse(KEY).unwrap();
        assert!(!format!("{key:?}").contains("1234"));
    }
}
