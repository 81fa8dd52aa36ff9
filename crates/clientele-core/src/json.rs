//! Reading JSON request bodies so that every mistake names its field.
//!
//! Syntax errors are `400 malformed_json`; a key given twice in one object is `400
//! duplicate_key` naming it (parsers disagree on which of the two counts, so neither does); a
//! well-formed body with a wrong type, an unknown field or a bad enum value is `422
//! validation_failed` naming the field by its dotted path. A leading UTF-8 byte order mark, as
//! some Windows tools write, is skipped.

use serde::de::{DeserializeOwned, DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, FieldCode, FieldError, Result};

/// What a duplicate key's parse error starts with (serde_json appends where it was).
const DUPLICATE_KEY: &str = "duplicate key ";

/// Parses `bytes` as JSON into `T`. See the module documentation for the errors.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let value = UniqueKeys { path: String::new() }.deserialize(&mut reader).and_then(|value| {
        reader.end()?;
        Ok(value)
    });
    let value = value.map_err(|e| match e.to_string().strip_prefix(DUPLICATE_KEY) {
        Some(rest) => Error::bad_request(
            ErrorCode::DuplicateKey,
            format!(
                "the key {} appears twice in one object of the body",
                rest.split(" at line").next().unwrap_or(rest)
            ),
        ),
        None => Error::bad_request(ErrorCode::MalformedJson, format!("the body is not valid JSON: {e}")),
    })?;
    from_value(value)
}

/// Reads a JSON value, refusing a key given twice in one object. `path` is where the value is
/// (`address.city`, `notes[2]`), for the error.
struct UniqueKeys {
    path: String,
}

impl UniqueKeys {
    fn at(&self, step: &str) -> Self {
        let path = if self.path.is_empty() || step.starts_with('[') {
            format!("{}{step}", self.path)
        } else {
            format!("{}.{step}", self.path)
        };
        Self { path }
    }
}

impl<'de> DeserializeSeed<'de> for UniqueKeys {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.at(&format!("[{}]", items.len())))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let at = self.at(&key);
            if object.contains_key(&key) {
                return Err(A::Error::custom(format!("{DUPLICATE_KEY}{:?}", at.path)));
            }
            let value = map.next_value_seed(at)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
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
    fn a_key_twice_in_one_object_is_refused_by_its_path() {
        let detail = |body: &str| match from_slice::<Value>(body.as_bytes()).unwrap_err() {
            Error::BadRequest { code: ErrorCode::DuplicateKey, message } => message,
            other => panic!("{body}: {other:?}"),
        };
        assert!(detail(r#"{"a": 1, "a": 2}"#).contains(r#""a""#));
        assert!(detail(r#"{"a": {"b": 1, "c": {}, "b": 2}}"#).contains(r#""a.b""#));
        assert!(detail(r#"{"n": [{}, {"x": 1, "x": 1}]}"#).contains(r#""n[1].x""#));
        let fine = from_slice::<Value>(br#"{"a": {"x": 1}, "b": [{"x": 1}, {"x": 2.5}], "c": [null, true, "s", -3]}"#);
        assert_eq!(fine.unwrap(), json!({"a": {"x": 1}, "b": [{"x": 1}, {"x": 2.5}], "c": [null, true, "s", -3]}));
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped_and_trailing_text_refused() {
        assert_eq!(from_slice::<Value>(b"\xEF\xBB\xBF{\"a\": 1}").unwrap(), json!({"a": 1}));
        assert_eq!(from_slice::<Value>(b"{} x").unwrap_err().code(), ErrorCode::MalformedJson);
        assert_eq!(from_slice::<Value>(b"{}\xEF\xBB\xBF").unwrap_err().code(), ErrorCode::MalformedJson);
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
