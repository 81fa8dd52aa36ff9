//! A JSON merge patch (RFC 7396) of a customer, from the body's bytes to the validated record,
//! as `PATCH /api/v1/customers/{id}` does it short of the database.
//!
//! Invariants: never a panic; applying a patch twice is applying it once (RFC 7396 is
//! idempotent: a client that retries a patch changes nothing more); a record that validates
//! validates again to itself when read back and patched with nothing (an empty patch never
//! changes a customer); the audit's diff sees every change, so that a changed record is never
//! taken for an unchanged one and left unwritten.
//!
//! The first byte picks the customer patched and the phone region; the rest is the body.
#![no_main]

use clientele_core::cargos::SharedTables;
use clientele_core::customers::input::{CustomerInput, Rules};
use clientele_core::customers::patch::CustomerPatch;
use clientele_core::customers::record::CustomerData;
use clientele_core::json::{diff, from_slice, from_value, merge_patch};
use clientele_core::values::PhoneRegion;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

/// Customers as they are stored: a client with every field, a partner company, a bare staff member.
fn bases() -> [Value; 3] {
    [
        json!({
            "first_name": "Nicolò", "last_name": "De Rossi", "email": "nicolo@example.com",
            "phone": "+39 333 123 4567", "secondary_phone": "06 1234 5678", "birth_date": "1980-02-29",
            "birth_place": {"city": "Roma", "country": "IT", "code": "412058091"},
            "citizenship": "IT", "citizenship_code": "100000100", "tax_code": "drsncl80b29h501x",
            "address": {"line1": "Via Marsala 29", "city": "Roma", "postal_code": "00185", "country": "IT",
                        "place_code": "412058091"},
            "language": "it", "external_ref": "CRM-1",
            "driver_license": {"number": "RM1234567X", "country": "IT", "issuing_place_code": "412058091",
                               "issued_on": "2015-01-01", "expires_on": "2035-01-01"},
            "id_document": {"type": "id_card", "number": "CA12345AB", "issuing_country": "IT",
                            "issuing_place_code": "412058091", "expires_on": "2030-01-01"}
        }),
        json!({"kind": "partner", "company_name": "Agenzia Viaggi Šťastný & Co.", "vat_number": "IT 01234567890",
               "email": "info@agenzia.example", "phone": "+420 601 123 456"}),
        json!({"kind": "staff", "first_name": "Zoë", "last_name": "Ó Briain"}),
    ]
}

fn rules(region: &str) -> Rules {
    Rules {
        phone_region: PhoneRegion::parse(region).expect("a known region"),
        today: time::macros::date!(2026 - 06 - 01),
        cargos: SharedTables::default(),
    }
}

/// Input read from `value` and validated, as the service does.
fn validate(value: Value, rules: &Rules) -> Option<CustomerData> {
    let input: CustomerInput = from_value(value).ok()?;
    input.validate(rules).ok()
}

fn stored(data: &CustomerData) -> Value {
    serde_json::to_value(data).expect("customer data serializes")
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    // The customer was stored by an Italian tenant; its phones are E.164 whatever the region now.
    let base = bases()[usize::from(selector) % 3].clone();
    let base = validate(base, &rules("IT")).expect("the base customers are valid");
    let rules = rules(["IT", "DE", "US"][usize::from(selector / 4) % 3]);

    let Ok(body) = from_slice::<Value>(body) else { return };
    let Ok(patch) = CustomerPatch::parse(body) else { return };
    let patch = Value::Object(patch.fields().clone());

    let mut merged = stored(&base);
    merge_patch(&mut merged, &patch);
    let mut twice = merged.clone();
    merge_patch(&mut twice, &patch);
    assert_eq!(twice, merged, "a merge patch applied twice changes no more than once");

    let Some(patched) = validate(merged, &rules) else { return };
    let again = validate(stored(&patched), &rules);
    assert_eq!(again.as_ref(), Some(&patched), "a valid record validates to itself when read back");
    let mut unchanged = stored(&patched);
    merge_patch(&mut unchanged, &json!({}));
    assert_eq!(validate(unchanged, &rules).as_ref(), Some(&patched), "an empty patch changes nothing");

    let changes = diff(&stored(&base), &stored(&patched));
    let empty = changes.as_object().is_some_and(|c| c.is_empty());
    assert_eq!(empty, patched == base, "the diff sees every change and only changes: {changes}");
});
