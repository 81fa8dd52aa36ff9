//! A customer's merge patch (RFC 7396), read once into what it changes.

use serde_json::{Map, Value};

use crate::error::{Error, FieldCode, FieldErrors, Result};

/// A JSON merge patch of a customer: the record's fields it sets (or clears, with `null`), VIP
/// apart (a decision, not data, with a capability of its own), and the version it is
/// conditional on. Built by [`CustomerPatch::parse`] from a request body, so that a service
/// never meets a body that is not an object, a version that is not a number, or notes (which
/// are added one at a time to their own timeline).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerPatch {
    fields: Map<String, Value>,
    vip: Option<bool>,
    version: Option<i64>,
}

impl CustomerPatch {
    /// Reads a merge patch, naming every member it refuses at once.
    pub fn parse(body: Value) -> Result<Self> {
        let Value::Object(mut fields) = body else {
            return Err(Error::invalid("body", FieldCode::InvalidType, "must be a JSON object"));
        };
        let mut errors = FieldErrors::new();
        let version = match fields.remove("version") {
            None | Some(Value::Null) => None,
            Some(value) => value.as_i64().or_else(|| {
                errors.push("version", FieldCode::InvalidType, "must be an integer");
                None
            }),
        };
        let vip = match fields.remove("vip") {
            None => None,
            Some(Value::Bool(vip)) => Some(vip),
            Some(Value::Null) => Some(false),
            Some(_) => {
                errors.push("vip", FieldCode::InvalidType, "must be true or false");
                None
            }
        };
        if fields.contains_key("notes") {
            errors.push(
                "notes",
                FieldCode::NotAllowed,
                "notes are added one at a time to the notes timeline, never by changing the customer",
            );
        }
        if errors.is_empty() { Ok(Self { fields, vip, version }) } else { Err(errors.into_error()) }
    }

    /// A patch of record fields only (an import's row, an undo): no VIP, kind or notes, which
    /// are decisions, not data; no version.
    pub(crate) fn of_data(mut fields: Map<String, Value>) -> Self {
        for decision in ["vip", "kind", "notes", "version"] {
            fields.remove(decision);
        }
        Self { fields, vip: None, version: None }
    }

    /// The record's fields it sets or clears.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// VIP on or off, if the patch says.
    pub fn vip(&self) -> Option<bool> {
        self.vip
    }

    /// The version the patch is conditional on, if it names one.
    pub fn version(&self) -> Option<i64> {
        self.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patch_names_every_member_it_refuses() {
        let Err(Error::Invalid(errors)) = CustomerPatch::parse(json!({"version": "3", "vip": 1, "notes": []})) else {
            panic!("accepted")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["version", "vip", "notes"]);
        assert!(CustomerPatch::parse(json!([1])).is_err());
        let patch = CustomerPatch::parse(json!({"version": 2, "vip": null, "email": null})).unwrap();
        assert_eq!((patch.version(), patch.vip()), (Some(2), Some(false)));
        assert_eq!(patch.fields().get("email"), Some(&Value::Null));
    }
}
