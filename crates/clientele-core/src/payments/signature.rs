//! `Stripe-Signature`: `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, each `v1` the hex of
//! HMAC-SHA256 under an endpoint's signing secret (`whsec_…`, used as the key as it is written)
//! of `"<t>.<body>"`. While a secret is being rolled, Stripe signs with the old and the new one
//! (several `v1`): one match is enough. A timestamp more than [`TOLERANCE`] away from now is
//! refused, so a captured event cannot be replayed later. `v0` and unknown schemes are ignored.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a signature's timestamp may be from now (Stripe's libraries' default).
pub const TOLERANCE: Duration = Duration::from_secs(300);

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No header, or no `t` or no `v1` in it.
    #[error("the Stripe-Signature header is missing or has no t= and v1= parts")]
    Malformed,
    /// Signed too long ago (or too far ahead).
    #[error("the signature's timestamp is {0} s away from now, more than the 300 s tolerated")]
    OutsideTolerance(i64),
    /// No `v1` matches the secret.
    #[error("no v1 signature matches the endpoint's signing secret")]
    NoMatch,
}

fn mac(secret: &str, timestamp: i64, payload: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac
}

/// The hex `v1` signature of `payload` signed at `timestamp` (what Stripe sends; tests and the
/// fake sign with it).
pub fn sign(secret: &str, timestamp: i64, payload: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, payload).finalize().into_bytes())
}

/// Checks `header` for `payload` against `secret` at `now` (Unix seconds); the signed timestamp
/// when one `v1` matches, in constant time.
pub fn verify(header: &str, payload: &[u8], secret: &str, now: i64) -> Result<i64, SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else { return Err(SignatureError::Malformed) };
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let tolerance = i64::try_from(TOLERANCE.as_secs()).unwrap_or(300);
    let away = now.saturating_sub(timestamp);
    if away.abs() > tolerance {
        return Err(SignatureError::OutsideTolerance(away));
    }
    let expected = mac(secret, timestamp, payload);
    let matches = signatures
        .iter()
        .filter_map(|s| hex::decode(s).ok())
        .any(|bytes| expected.clone().verify_slice(&bytes).is_ok());
    if matches { Ok(timestamp) } else { Err(SignatureError::NoMatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret_for_the_unit_tests";

    #[test]
    fn a_signature_matches_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: python3 -c 'import hmac,hashlib;print(hmac.new(
        // b"whsec_test_secret_for_the_unit_tests", b"1700000000.{}", hashlib.sha256).hexdigest())'
        assert_eq!(sign(SECRET, 1_700_000_000, b"{}"), PYTHON_HMAC);
    }

    const PYTHON_HMAC: &str = "777cfb837cd9f1e975834a76c95e70a46913448185aeaadb64ae5e0772b1879e";

    #[test]
    fn any_matching_v1_is_enough_and_others_are_ignored() {
        let body = br#"{"id":"evt_1"}"#;
        let good = sign(SECRET, 1000, body);
        let old = sign("whsec_the_old_one", 1000, body);
        assert_eq!(verify(&format!("t=1000,v1={old},v1={good},v0=zz"), body, SECRET, 1010), Ok(1000));
        assert_eq!(verify(&format!("t=1000,v1={old}"), body, SECRET, 1010), Err(SignatureError::NoMatch));
        assert_eq!(verify(&format!("t=1000,v1={good}"), b"{}", SECRET, 1010), Err(SignatureError::NoMatch));
        assert_eq!(verify(&format!("v1={good}"), body, SECRET, 1010), Err(SignatureError::Malformed));
        assert_eq!(verify("t=1000", body, SECRET, 1010), Err(SignatureError::Malformed));
        assert_eq!(verify("", body, SECRET, 1010), Err(SignatureError::Malformed));
    }

    #[test]
    fn signatures_outside_five_minutes_are_refused_either_way() {
        let body = b"{}";
        let header = format!("t=1000,v1={}", sign(SECRET, 1000, body));
        assert_eq!(verify(&header, body, SECRET, 1300), Ok(1000));
        assert_eq!(verify(&header, body, SECRET, 1301), Err(SignatureError::OutsideTolerance(301)));
        assert_eq!(verify(&header, body, SECRET, 699), Err(SignatureError::OutsideTolerance(-301)));
    }
}
