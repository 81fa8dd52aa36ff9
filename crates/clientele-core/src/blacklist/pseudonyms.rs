//! Keyed pseudonyms of a person's identity and document numbers: what a global entry holds
//! instead of who the person is.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::blacklist::record::{Pseudonym, PseudonymKind};
use crate::customers::record::CustomerData;
use crate::error::{Error, Result};

/// The key that makes pseudonyms. `Debug` does not print it.
#[derive(Clone)]
pub struct PseudonymKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PseudonymKey").field("id", &self.id()).finish_non_exhaustive()
    }
}

impl PseudonymKey {
    /// Shortest key accepted, in bytes.
    pub const MIN_BYTES: usize = 32;

    /// A key from configuration.
    pub fn new(key: &[u8]) -> Result<Self> {
        if key.len() < Self::MIN_BYTES {
            return Err(Error::internal(format!("the blacklist key must be at least {} bytes", Self::MIN_BYTES)));
        }
        Ok(Self { key: key.to_vec() })
    }

    fn mac(&self, domain: &str, value: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A short public fingerprint of the key (not the key, and not usable to make pseudonyms), kept
    /// with each entry so that entries made under another key are recognised.
    pub fn id(&self) -> String {
        let digest = self.mac("clientele/key-id/v1", "");
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The pseudonyms of what is known of a person: the identity (with first name, last name and
    /// birth date) and the document and licence numbers.
    pub fn pseudonyms(&self, data: &CustomerData) -> Vec<Pseudonym> {
        let mut out = Vec::new();
        if let Some(identity) = normalized_identity(data) {
            out.push(Pseudonym { kind: PseudonymKind::Identity, hash: self.mac("clientele/identity/v1", &identity) });
        }
        let documents = [
            (PseudonymKind::Document, data.id_document.as_ref().map(|d| d.number.as_str())),
            (PseudonymKind::License, data.driver_license.as_ref().map(|l| l.number.as_str())),
        ];
        for (kind, number) in documents {
            if let Some(number) = number.map(normalized_number).filter(|n| n.len() >= 4) {
                // One domain for every document kind: a passport number noted as a licence still matches.
                out.push(Pseudonym { kind, hash: self.mac("clientele/document/v1", &number) });
            }
        }
        out
    }
}

/// `first|last|YYYY-MM-DD`, case- and accent-folded, without whitespace or punctuation.
pub fn normalized_identity(data: &CustomerData) -> Option<String> {
    let first = compact(data.first_name.as_ref()?.as_str());
    let last = compact(data.last_name.as_ref()?.as_str());
    let birth = data.birth_date?;
    if first.is_empty() || last.is_empty() {
        return None;
    }
    Some(format!("{first}|{last}|{birth}"))
}

fn compact(name: &str) -> String {
    crate::text::fold(name).chars().filter(char::is_ascii_alphanumeric).collect()
}

/// A document number: upper-case letters and digits only.
pub fn normalized_number(number: &str) -> String {
    number.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blacklist::record::ReasonCode;
    use crate::customers::input::{CustomerInput, Rules};
    use crate::values::PhoneRegion;

    fn data(json: serde_json::Value) -> CustomerData {
        let rules = Rules {
            phone_region: PhoneRegion::parse("IT").unwrap(),
            today: time::macros::date!(2026 - 11 - 24),
            cargos: Default::default(),
        };
        serde_json::from_value::<CustomerInput>(json).unwrap().validate(&rules).unwrap()
    }

    fn key(byte: u8) -> PseudonymKey {
        PseudonymKey::new(&[byte; 32]).unwrap()
    }

    #[test]
    fn identities_match_across_case_accents_spaces_and_punctuation() {
        let a = data(serde_json::json!({"first_name": "Nicolò", "last_name": "De Rossi", "birth_date": "1980-02-29"}));
        let b = data(serde_json::json!({"first_name": "NICOLO", "last_name": "de-rossi", "birth_date": "1980-02-29"}));
        let c = data(serde_json::json!({"first_name": "Nicola", "last_name": "De Rossi", "birth_date": "1980-02-29"}));
        assert_eq!(normalized_identity(&a).unwrap(), "nicolo|derossi|1980-02-29");
        assert_eq!(key(1).pseudonyms(&a)[0], key(1).pseudonyms(&b)[0]);
        assert_ne!(key(1).pseudonyms(&a)[0], key(1).pseudonyms(&c)[0]);
    }

    #[test]
    fn pseudonyms_depend_on_the_key_and_identity_needs_a_birth_date() {
        let a = data(serde_json::json!({"first_name": "Ana", "last_name": "Žáková", "birth_date": "1990-01-01",
            "id_document": {"type": "passport", "number": "ya 123 456"}}));
        let with_one = key(1).pseudonyms(&a);
        assert_eq!(with_one.len(), 2);
        assert_ne!(with_one, key(2).pseudonyms(&a));
        assert_ne!(key(1).id(), key(2).id());
        let no_birth = data(serde_json::json!({"first_name": "Ana", "last_name": "Žáková",
            "id_document": {"type": "passport", "number": "YA123456"}}));
        let only_document = key(1).pseudonyms(&no_birth);
        assert_eq!(only_document.len(), 1);
        assert_eq!(only_document[0].kind, PseudonymKind::Document);
        assert_eq!(only_document[0].hash, with_one[1].hash, "the document matches without the identity");
    }

    #[test]
    fn only_contractual_codes_go_global() {
        let global: Vec<_> = ReasonCode::ALL.into_iter().filter(|c| c.allowed_globally()).collect();
        assert_eq!(
            global,
            [
                ReasonCode::UnpaidBalance,
                ReasonCode::VehicleNotReturned,
                ReasonCode::UnpaidDamage,
                ReasonCode::Chargeback
            ]
        );
    }
}
