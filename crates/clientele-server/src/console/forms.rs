//! Form fields as templates draw them (label, input, the API's field error beside it), and
//! forms turned into the JSON the core's inputs are read from, field names being the API's own
//! (`driver_license.expires_on`), so the API's field errors land on the right input.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::console::errors::FieldErrors;
use crate::console::i18n::Tr;
use crate::console::session::FormData;

/// One input of a form.
#[derive(Debug, Clone, Default)]
pub struct FormField {
    /// The field's name (the API's JSON path).
    pub name: String,
    /// The element id.
    pub id: String,
    /// The label, in the reader's language.
    pub label: String,
    /// `text`, `email`, `tel`, `date`, `datetime-local`, `select`, `checkbox`, `textarea`, `password`.
    pub kind: &'static str,
    /// The current value.
    pub value: String,
    /// The field's error, in the reader's language (empty: none).
    pub error: String,
    /// Whether the field must be filled.
    pub required: bool,
    /// A help line under the input.
    pub help: String,
    /// For selects: (value, label).
    pub options: Vec<(String, String)>,
    /// The `autocomplete` hint.
    pub autocomplete: &'static str,
    /// Required once the field with this id is filled (licence dates and number).
    pub required_with: String,
    /// Show the phone as it will be stored, while typing.
    pub phone_preview: bool,
}

impl FormField {
    /// Whether the field has an error.
    pub fn invalid(&self) -> bool {
        !self.error.is_empty()
    }

    /// Whether `option` is the selected one.
    pub fn selected(&self, option: &str) -> bool {
        self.value == option
    }

    /// Whether a checkbox is ticked.
    pub fn checked(&self) -> bool {
        matches!(self.value.as_str(), "true" | "on" | "1")
    }

    /// The ids the input is described by (help and error).
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if !self.help.is_empty() {
            ids.push(format!("{}-help", self.id));
        }
        if self.invalid() {
            ids.push(format!("{}-error", self.id));
        }
        if self.phone_preview {
            ids.push(format!("{}-preview", self.id));
        }
        ids.join(" ")
    }
}

/// Builds the fields of a form from values and errors.
#[derive(Debug)]
pub struct FieldMaker<'a> {
    /// The language.
    pub tr: Tr,
    /// Current values by name.
    pub values: &'a HashMap<String, String>,
    /// The errors.
    pub errors: &'a FieldErrors,
}

impl FieldMaker<'_> {
    /// A field named `name`, labelled by the message `label_key`.
    pub fn field(&self, name: &str, label_key: &str, kind: &'static str) -> FormField {
        FormField {
            name: name.to_owned(),
            id: format!("f-{}", name.replace(['.', '_'], "-")),
            label: self.tr.t(label_key).to_owned(),
            kind,
            value: self.values.get(name).cloned().unwrap_or_default(),
            error: self.errors.get(name),
            ..FormField::default()
        }
    }

    /// A select named `name` with `(value, message key)` options.
    pub fn select(&self, name: &str, label_key: &str, options: &[(&str, &str)]) -> FormField {
        let mut field = self.field(name, label_key, "select");
        field.options = options.iter().map(|(v, k)| ((*v).to_owned(), self.tr.t(k).to_owned())).collect();
        field
    }
}

impl FormField {
    /// Marks the field required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Adds a help line (a message key).
    pub fn help(mut self, tr: Tr, key: &str) -> Self {
        self.help = tr.t(key).to_owned();
        self
    }

    /// Sets the autocomplete hint.
    pub fn autocomplete(mut self, hint: &'static str) -> Self {
        self.autocomplete = hint;
        self
    }
}

/// A group of fields under a legend.
#[derive(Debug, Clone)]
pub struct FieldGroup {
    /// The legend.
    pub legend: String,
    /// The fields.
    pub fields: Vec<FormField>,
}

/// Flattens a JSON object into dotted names and text values (`{"address": {"city": "Roma"}}`
/// becomes `address.city = Roma`), to fill a form from a record.
pub fn flatten(value: &Value) -> HashMap<String, String> {
    fn walk(prefix: &str, value: &Value, out: &mut HashMap<String, String>) {
        match value {
            Value::Object(map) => {
                for (key, inner) in map {
                    let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                    walk(&name, inner, out);
                }
            }
            Value::Null => {}
            Value::String(s) => {
                out.insert(prefix.to_owned(), s.clone());
            }
            other => {
                out.insert(prefix.to_owned(), other.to_string());
            }
        }
    }
    let mut out = HashMap::new();
    walk("", value, &mut out);
    out
}

/// The posted values by name (the first of each).
pub fn values_of(form: &FormData) -> HashMap<String, String> {
    let mut values = HashMap::new();
    for (name, value) in form.pairs() {
        values.entry(name.clone()).or_insert_with(|| value.clone());
    }
    values
}

/// A JSON object from the form's fields named in `names` (dotted names become nested
/// objects). Blank fields are left out, or, with `blank_as_null` (a merge patch), sent as
/// `null`; a nested object whose fields are all blank is left out or `null` as a whole.
pub fn json_of(form: &FormData, names: &[&str], blank_as_null: bool) -> Map<String, Value> {
    let mut root = Map::new();
    for name in names {
        let value = form.get(name).map(|v| Value::String(v.to_owned()));
        match name.split_once('.') {
            None => {
                if let Some(v) = value {
                    root.insert((*name).to_owned(), v);
                } else if blank_as_null {
                    root.insert((*name).to_owned(), Value::Null);
                }
            }
            Some((outer, inner)) => {
                let entry = root.entry(outer.to_owned()).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = entry {
                    map.insert(inner.to_owned(), value.unwrap_or(Value::Null));
                }
            }
        }
    }
    // Nested objects: all blank → absent (or null); otherwise blank members absent (or null).
    let keys: Vec<String> = root.keys().cloned().collect();
    for key in keys {
        if let Some(Value::Object(map)) = root.get_mut(&key) {
            if map.values().all(Value::is_null) {
                if blank_as_null {
                    root.insert(key, Value::Null);
                } else {
                    root.remove(&key);
                }
            } else if !blank_as_null {
                map.retain(|_, v| !v.is_null());
            }
        }
    }
    root
}

/// Countries in a customer's form values as people type them (`Italia`, `Deutschland`, `ITA`),
/// read as their ISO codes, as imports read them; a value that names no country is left for the
/// validation to refuse.
pub fn read_countries(object: &mut Map<String, Value>) {
    for path in clientele_core::imports::headers::COUNTRY_FIELDS {
        let mut keys: Vec<&str> = path.split('.').collect();
        let Some(last) = keys.pop() else { continue };
        let parent = keys.iter().try_fold(&mut *object, |map, key| match map.get_mut(*key) {
            Some(Value::Object(inner)) => Some(inner),
            _ => None,
        });
        if let Some(parent) = parent
            && let Some(Value::String(text)) = parent.get(last)
            && let Ok(code) = clientele_core::countries::CountryCode::read(text)
        {
            parent.insert(last.to_owned(), Value::String(code.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_become_the_apis_json_and_records_become_forms() {
        let form =
            FormData::parse(b"first_name=Ada&last_name=&address.city=Roma&address.line1=&driver_license.number=")
                .unwrap();
        let names = ["first_name", "last_name", "address.city", "address.line1", "driver_license.number"];
        let create = Value::Object(json_of(&form, &names, false));
        assert_eq!(create, serde_json::json!({"first_name": "Ada", "address": {"city": "Roma"}}));
        let patch = Value::Object(json_of(&form, &names, true));
        assert_eq!(
            patch,
            serde_json::json!({"first_name": "Ada", "last_name": null, "address": {"city": "Roma", "line1": null},
                               "driver_license": null})
        );
        let flat = flatten(&serde_json::json!({"address": {"city": "Roma"}, "vip": true, "x": null}));
        assert_eq!(flat["address.city"], "Roma");
        assert_eq!(flat["vip"], "true");
        assert!(!flat.contains_key("x"));
    }

    #[test]
    fn countries_typed_as_names_or_alpha3_become_their_codes_and_others_are_left_alone() {
        let mut object = serde_json::json!({"citizenship": "Italia", "address": {"country": "Deutschland", "city": "Berlin"},
            "driver_license": {"country": "Narnia"}, "id_document": {"issuing_country": "AUT"}});
        let Value::Object(map) = &mut object else { panic!("an object") };
        read_countries(map);
        assert_eq!(
            object,
            serde_json::json!({"citizenship": "IT", "address": {"country": "DE", "city": "Berlin"},
            "driver_license": {"country": "Narnia"}, "id_document": {"issuing_country": "AT"}})
        );
    }
}
