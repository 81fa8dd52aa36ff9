//! Reading JSON request bodies so that every mistake names its field.
//!
//! Syntax errors are `400 malformed_json`; a well-formed body with a wrong type, an unknown field
//! or a bad enum value is `422 validation_failed` naming the field by its dotted path.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, FieldCode, FieldError, Result};

/// Parses `bytes` as JSON into `T`. See the module documentation for the errors.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::bad_request(ErrorCode::MalformedJson, format!("the body is not valid JSON: {e}")))?;
    from_value(value)
}

/// Converts a JSON value into `T`, naming the field of the first mismatch.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        Error::Invalid(vec![field_error(&path, &message)])
    })
}

fn field_error(path: &str, message: &str) -> FieldError {
    let path = if path == "." { "" } else { path };
    // For unknown and missing fields the path may or may not already end with the field's name.
    let join = |name: &str| match path {
        "" => name.to_owned(),
        p if p == name || p.ends_with(&format!(".{name}")) => p.to_owned(),
        p => format!("{p}.{name}"),
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        return FieldError::new(join(name), FieldCode::UnknownField, "is not a known field");
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        return FieldError::new(join(name), FieldCode::Required, "is required");
    }
    let code = if message.starts_with("invalid type") { FieldCode::InvalidType } else { FieldCode::Invalid };
    let field = if path.is_empty() { "body".to_owned() } else { path.to_owned() };
    FieldError::new(field, code, message)
}

/// Field-by-field difference of two JSON objects, with nested objects flattened to dotted
/// paths: `{"address.city": {"from": "Roma", "to": "Milano"}}`. Equal fields are left out.
pub fn diff(before: &Value, after: &Value) -> Value {
    let mut changes = Map::new();
    diff_into(&mut changes, "", before, after);
    Value::Object(changes)
}

fn diff_into(changes: &mut Map<String, Value>, prefix: &str, before: &Value, after: &Value) {
    let empty = Map::new();
    match (before, after) {
        (Value::Object(_), _) | (_, Value::Object(_)) => {
            let b = before.as_object().unwrap_or(&empty);
            let a = after.as_object().unwrap_or(&empty);
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                diff_into(changes, &path, b.get(key).unwrap_or(&Value::Null), a.get(key).unwrap_or(&Value::Null));
            }
        }
        _ if before != after => {
            changes.insert(prefix.to_owned(), serde_json::json!({"from": before, "to": after}));
        }
        _ => {}
    }
}

/// Applies a JSON merge patch (RFC 7396) to `target`: `null` removes a member, objects merge,
/// anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: Option<String>,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        count: Option<u32>,
    }

    fn first_error<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> (String, FieldCode) {
        match from_slice::<T>(body.as_bytes()).unwrap_err() {
            Error::Invalid(errors) => (errors[0].field.clone(), errors[0].code),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_types_and_unknown_fields_name_the_field() {
        assert_eq!(first_error::<Outer>(r#"{"name": 5}"#), ("name".into(), FieldCode::InvalidType));
        assert_eq!(
            first_error::<Outer>(r#"{"inner": {"count": "x"}}"#),
            ("inner.count".into(), FieldCode::InvalidType)
        );
        assert_eq!(first_error::<Outer>(r#"{"nmae": "x"}"#), ("nmae".into(), FieldCode::UnknownField));
        assert_eq!(first_error::<Outer>(r#"{"inner": {"cnt": 1}}"#), ("inner.cnt".into(), FieldCode::UnknownField));
        assert_eq!(first_error::<Outer>("5"), ("body".into(), FieldCode::InvalidType));
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        for body in ["{", "", "nul", "{\"a\":}"] {
            assert_eq!(from_slice::<Outer>(body.as_bytes()).unwrap_err().code(), ErrorCode::MalformedJson, "{body}");
        }
    }

    #[test]
    fn diff_lists_changed_leaves_by_path() {
        let before = json!({"a": 1, "b": {"c": "x", "d": null}, "e": null});
        let after = json!({"a": 1, "b": {"c": "y", "d": null}, "e": {"f": 2}});
        assert_eq!(diff(&before, &after), json!({"b.c": {"from": "x", "to": "y"}, "e.f": {"from": null, "to": 2}}));
        assert_eq!(diff(&before, &before), json!({}));
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        // The example of RFC 7396 §3.
        let mut target = json!({"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
            "tags": ["example", "sample"], "content": "This will be unchanged"});
        let patch = json!({"title": "Hello!", "phoneNumber": "+01-123-456-7890",
            "author": {"familyName": null}, "tags": ["example"]});
        merge_patch(&mut target, &patch);
        assert_eq!(
            target,
            json!({"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
                "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"})
        );
    }
}
