//! From a file's header to customer fields: the headers of common exports (ours, Google Contacts,
//! Outlook, Thunderbird, HubSpot, Salesforce, Italian spreadsheets), explicit mappings, and each
//! row turned into the same input the API takes.

use serde_json::{Map, Value};

use crate::error::{Error, FieldCode, FieldError, Result};

/// Where a column's values go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A customer field, dotted for nested ones (`address.city`).
    Field(&'static str),
    /// A column of our own export that is not written back (`id`, `created_at`, ...).
    ReadOnly,
}

/// The customer fields a column may fill, as the API names them.
pub const FIELDS: [&str; 35] = [
    "kind",
    "first_name",
    "last_name",
    "company_name",
    "vat_number",
    "email",
    "phone",
    "birth_date",
    "birth_place.city",
    "birth_place.country",
    "birth_place.code",
    "citizenship",
    "tax_code",
    "address.line1",
    "address.line2",
    "address.city",
    "address.postal_code",
    "address.region",
    "address.country",
    "language",
    "driver_license.number",
    "driver_license.country",
    "driver_license.issuing_place",
    "driver_license.issued_on",
    "driver_license.expires_on",
    "id_document.type",
    "id_document.number",
    "id_document.issuing_country",
    "id_document.issuing_place",
    "id_document.expires_on",
    "vip",
    "partner_id",
    "external_ref",
    "notes",
    "phone_2",
];

/// The columns an import's `errors.csv` puts before the rows' own cells.
pub const ERROR_COLUMNS: [&str; 4] = ["import_row", "import_field", "import_code", "import_message"];

/// Other names for fields, as other systems' exports write them, folded (lower case, letters
/// and digits only).
const ALIASES: &[(&str, &[&str])] = &[
    ("first_name", &["firstname", "givenname", "first", "nome", "vorname", "prenom", "forename"]),
    ("last_name", &["lastname", "familyname", "surname", "cognome", "nachname", "nom"]),
    (
        "company_name",
        &[
            "company",
            "companyname",
            "organization",
            "organizationname",
            "organization1name",
            "ragionesociale",
            "azienda",
            "accountname",
        ],
    ),
    ("vat_number", &["vat", "vatnumber", "partitaiva", "piva", "vatid"]),
    (
        "email",
        &[
            "email",
            "emailaddress",
            "email1value",
            "primaryemail",
            "email1",
            "emailaddress1",
            "posta",
            "postaelettronica",
            "mail",
        ],
    ),
    (
        "phone",
        &[
            "phone",
            "phonenumber",
            "mobile",
            "mobilephone",
            "mobilenumber",
            "cellphone",
            "cellulare",
            "cell",
            "telefono",
            "phone1value",
            "primaryphone",
            "homephone",
            "businessphone",
            "workphone",
            "tel",
            "telephone",
        ],
    ),
    ("phone_2", &["phone2value", "otherphone", "homephone2", "businessphone2", "telefono2"]),
    ("birth_date", &["birthdate", "birthday", "dateofbirth", "dob", "datadinascita", "datanascita"]),
    ("birth_place.city", &["birthplace", "placeofbirth", "luogodinascita", "comunedinascita"]),
    ("citizenship", &["nationality", "cittadinanza", "nazionalita"]),
    ("tax_code", &["taxcode", "codicefiscale", "cf", "fiscalcode", "taxid"]),
    (
        "address.line1",
        &[
            "address",
            "street",
            "streetaddress",
            "address1street",
            "homestreet",
            "businessstreet",
            "mailingstreet",
            "indirizzo",
            "via",
            "homeaddress",
            "workaddress",
        ],
    ),
    ("address.line2", &["address2", "address1extendedaddress", "homestreet2", "businessstreet2"]),
    (
        "address.city",
        &["city", "town", "address1city", "homecity", "businesscity", "mailingcity", "citta", "comune", "workcity"],
    ),
    (
        "address.postal_code",
        &[
            "postalcode",
            "zip",
            "zipcode",
            "postcode",
            "cap",
            "address1postalcode",
            "homepostalcode",
            "homezipcode",
            "businesspostalcode",
            "mailingpostalcode",
            "workzipcode",
        ],
    ),
    (
        "address.region",
        &[
            "region",
            "state",
            "province",
            "provincia",
            "address1region",
            "homestate",
            "businessstate",
            "mailingstate",
            "stateprovince",
            "workstate",
        ],
    ),
    (
        "address.country",
        &[
            "country",
            "countrycode",
            "address1country",
            "homecountry",
            "businesscountry",
            "mailingcountry",
            "nazione",
            "paese",
            "workcountry",
            "countryregion",
            "homecountryregion",
        ],
    ),
    ("language", &["language", "lingua", "preferredlanguage"]),
    (
        "driver_license.number",
        &[
            "driverlicense",
            "driverslicense",
            "drivinglicence",
            "drivinglicense",
            "licensenumber",
            "patente",
            "numeropatente",
        ],
    ),
    ("driver_license.issued_on", &["licenseissuedon", "licenceissuedon", "patenterilasciata"]),
    ("driver_license.expires_on", &["licenseexpireson", "licenceexpireson", "licenseexpiry", "scadenzapatente"]),
    (
        "external_ref",
        &["externalref", "externalid", "recordid", "contactid", "customernumber", "codicecliente", "legacyid"],
    ),
    ("notes", &["notes", "note", "comments", "description", "descrizione"]),
    ("kind", &["kind", "customerkind"]),
    ("vip", &["vip"]),
];

/// Folds a header for matching: accents off, lower case, letters and digits only.
fn fold(header: &str) -> String {
    deunicode::deunicode(header).chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// The target of a header: an exact field name (ours, dotted), an alias, or `None` (unmapped).
pub fn map_header(header: &str) -> Option<Target> {
    let trimmed = header.trim().trim_start_matches('\u{feff}');
    if let Some(field) = FIELDS.iter().find(|f| f.eq_ignore_ascii_case(trimmed)) {
        return Some(Target::Field(field));
    }
    // The other columns of our own export describe the record, not the person (`id`,
    // `created_at`, ...); the explaining columns of an `errors.csv` are ours too.
    if crate::exports::columns::COLUMNS.iter().chain(&ERROR_COLUMNS).any(|f| f.eq_ignore_ascii_case(trimmed)) {
        return Some(Target::ReadOnly);
    }
    let folded = fold(trimmed);
    if folded.is_empty() {
        return None;
    }
    if let Some(field) = FIELDS.iter().find(|f| fold(f) == folded) {
        return Some(Target::Field(field));
    }
    ALIASES.iter().find(|(_, names)| names.contains(&folded.as_str())).map(|(field, _)| {
        let field = FIELDS.iter().find(|f| *f == field).copied().unwrap_or("notes");
        Target::Field(field)
    })
}

/// How the columns of a file map to fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The file's headers, as written.
    pub headers: Vec<String>,
    /// Per column: where its values go, if anywhere.
    pub targets: Vec<Option<Target>>,
}

impl Mapping {
    /// Maps `headers` automatically, with `explicit` (header → field, or → `""` to ignore)
    /// taking precedence. An explicit mapping to an unknown field is a `422` naming it.
    pub fn new(headers: Vec<String>, explicit: &Map<String, Value>) -> Result<Self> {
        let mut errors = Vec::new();
        for (header, field) in explicit {
            let known = field.as_str().is_some_and(|f| f.is_empty() || FIELDS.contains(&f));
            if !known {
                errors.push(FieldError::new(
                    format!("mapping.{header}"),
                    FieldCode::Invalid,
                    format!("must be one of: {}, or \"\" to ignore the column", FIELDS.join(", ")),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let targets = headers
            .iter()
            .map(|header| match explicit.get(header.trim()).and_then(Value::as_str) {
                Some("") => Some(Target::ReadOnly),
                Some(field) => FIELDS.iter().find(|f| **f == field).map(|f| Target::Field(f)),
                None => map_header(header),
            })
            .collect();
        Ok(Self { headers, targets })
    }

    /// The headers of columns that go nowhere (reported, never silently dropped).
    pub fn unmapped(&self) -> Vec<String> {
        self.headers
            .iter()
            .zip(&self.targets)
            .filter(|(header, target)| target.is_none() && !header.trim().is_empty())
            .map(|(header, _)| header.clone())
            .collect()
    }

    /// Whether any column fills a customer field.
    pub fn maps_anything(&self) -> bool {
        self.targets.iter().any(|t| matches!(t, Some(Target::Field(_))))
    }

    /// One row as API input (a JSON object), or the field problems of its cells. Empty cells
    /// are absent; where several columns fill one field, the first non-empty wins.
    pub fn row(&self, cells: &[String]) -> std::result::Result<Value, Vec<FieldError>> {
        let mut object = Map::new();
        let mut errors = Vec::new();
        let mut second_phone = None;
        for (cell, target) in cells.iter().zip(&self.targets) {
            let Some(Target::Field(field)) = target else { continue };
            let value = unneutralise(cell.trim());
            if value.is_empty() {
                continue;
            }
            let json = match *field {
                "vip" => match value.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "y" | "1" | "si" | "sì" | "x" => Value::Bool(true),
                    "false" | "no" | "n" | "0" | "" => Value::Bool(false),
                    _ => {
                        errors.push(FieldError::new("vip", FieldCode::Invalid, "must be true or false"));
                        continue;
                    }
                },
                "notes" => Value::Array(vec![Value::String(value.to_owned())]),
                "phone_2" => {
                    second_phone.get_or_insert_with(|| value.to_owned());
                    continue;
                }
                f if f.ends_with("_on") || f == "birth_date" || f.ends_with("expires_on") => {
                    Value::String(iso_date(value))
                }
                _ => Value::String(value.to_owned()),
            };
            insert(&mut object, field, json);
        }
        if let Some(phone) = second_phone {
            insert(&mut object, "phone", Value::String(phone));
        }
        if errors.is_empty() { Ok(Value::Object(object)) } else { Err(errors) }
    }
}

/// A cell as our exports wrote it: a leading `'` before `=`, `+`, `-` or `@` was added so that
/// spreadsheets would not run it as a formula, and is taken off again.
fn unneutralise(value: &str) -> &str {
    match value.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => value,
    }
}

/// Sets `path` (dotted) in `object` unless already set.
fn insert(object: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        Some((head, rest)) => {
            let inner = object.entry(head.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = inner {
                insert(inner, rest, value);
            }
        }
        None => {
            object.entry(path.to_owned()).or_insert(value);
        }
    }
}

/// Dates as spreadsheets write them: `YYYY-MM-DD` stays; `DD/MM/YYYY`, `DD.MM.YYYY` and
/// `DD-MM-YYYY` (day first, as in Italy and most of Europe) become `YYYY-MM-DD`. Anything else
/// is left for the validation to name.
pub fn iso_date(value: &str) -> String {
    let parts: Vec<&str> = value.split(['/', '.', '-']).collect();
    if let [day, month, year] = parts.as_slice()
        && year.len() == 4
        && (1..=2).contains(&day.len())
        && (1..=2).contains(&month.len())
        && [day, month, year].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return format!("{year}-{month:0>2}-{day:0>2}");
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapped(headers: &[&str]) -> Vec<Option<&'static str>> {
        let mapping = Mapping::new(headers.iter().map(|h| h.to_string()).collect(), &Map::new());
        mapping
            .map(|m| {
                m.targets
                    .into_iter()
                    .map(|t| match t {
                        Some(Target::Field(f)) => Some(f),
                        Some(Target::ReadOnly) => Some("(read-only)"),
                        None => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn headers_of_common_exports_map_to_fields() {
        // Google Contacts.
        assert_eq!(
            mapped(&[
                "Given Name",
                "Family Name",
                "E-mail 1 - Value",
                "Phone 1 - Value",
                "Organization 1 - Name",
                "Group Membership"
            ]),
            [Some("first_name"), Some("last_name"), Some("email"), Some("phone"), Some("company_name"), None]
        );
        // Outlook.
        assert_eq!(
            mapped(&["First Name", "Last Name", "E-mail Address", "Mobile Phone", "Business Street", "Business City"]),
            [
                Some("first_name"),
                Some("last_name"),
                Some("email"),
                Some("phone"),
                Some("address.line1"),
                Some("address.city")
            ]
        );
        // Thunderbird, HubSpot, Salesforce.
        assert_eq!(
            mapped(&["Primary Email", "Record ID", "Mailing Zip/Postal Code"]),
            [Some("email"), Some("external_ref"), None]
        );
        assert_eq!(
            mapped(&["FirstName", "LastName", "Email", "MailingPostalCode"]),
            [Some("first_name"), Some("last_name"), Some("email"), Some("address.postal_code")]
        );
        // Italian spreadsheets, and our own export.
        assert_eq!(
            mapped(&["Nome", "Cognome", "Telefono", "Codice Fiscale", "Città", "Data di nascita"]),
            [
                Some("first_name"),
                Some("last_name"),
                Some("phone"),
                Some("tax_code"),
                Some("address.city"),
                Some("birth_date")
            ]
        );
        assert_eq!(
            mapped(&["id", "first_name", "address.city", "driver_license.expires_on", "created_at"]),
            [
                Some("(read-only)"),
                Some("first_name"),
                Some("address.city"),
                Some("driver_license.expires_on"),
                Some("(read-only)")
            ]
        );
    }

    #[test]
    fn explicit_mappings_win_and_are_checked() {
        let headers = vec!["Cliente".to_owned(), "Nome".to_owned(), "Extra".to_owned()];
        let explicit = json!({"Cliente": "external_ref", "Extra": ""});
        let mapping = Mapping::new(headers.clone(), explicit.as_object().unwrap_or(&Map::new()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mapping.targets[0], Some(Target::Field("external_ref")));
        assert_eq!(mapping.targets[2], Some(Target::ReadOnly));
        assert!(mapping.unmapped().is_empty());
        let bad = json!({"Cliente": "password"});
        let Err(Error::Invalid(errors)) = Mapping::new(headers, bad.as_object().unwrap_or(&Map::new())) else {
            panic!("an unknown target field was accepted")
        };
        assert_eq!(errors[0].field, "mapping.Cliente");
    }

    #[test]
    fn rows_become_api_input() {
        let headers = ["Nome", "Cognome", "Mobile", "Phone 2 - Value", "Città", "Data di nascita", "VIP", "Notes"];
        let mapping = Mapping::new(headers.iter().map(|h| h.to_string()).collect(), &Map::new())
            .unwrap_or_else(|e| panic!("{e}"));
        let row = |cells: &[&str]| mapping.row(&cells.iter().map(|c| c.to_string()).collect::<Vec<_>>());
        assert_eq!(
            row(&["Nicolò", " Rossi ", "", "333 1234567", "Roma", "29/02/1980", "sì", "pays cash"]),
            Ok(json!({"first_name": "Nicolò", "last_name": "Rossi", "phone": "333 1234567",
                "address": {"city": "Roma"}, "birth_date": "1980-02-29", "vip": true, "notes": ["pays cash"]}))
        );
        let Err(errors) = row(&["A", "B", "", "", "", "", "maybe", ""]) else { panic!("vip=maybe was accepted") };
        assert_eq!(errors[0].field, "vip");
        // Cells our export neutralised come back as they were; a plain apostrophe stays.
        assert_eq!(
            row(&["'=A", "O'Brien", "'+39 333 1234567", "", "", "", "", "'tis"]),
            Ok(json!({"first_name": "=A", "last_name": "O'Brien", "phone": "+39 333 1234567", "notes": ["'tis"]}))
        );
    }

    #[test]
    fn day_first_dates_become_iso() {
        assert_eq!(iso_date("1/2/1980"), "1980-02-01");
        assert_eq!(iso_date("29.02.1980"), "1980-02-29");
        assert_eq!(iso_date("1980-02-29"), "1980-02-29");
        assert_eq!(iso_date("Feb 29 1980"), "Feb 29 1980");
    }
}
