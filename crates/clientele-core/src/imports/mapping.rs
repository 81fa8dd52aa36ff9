//! From a file's header to customer fields, and each row to the input the API takes.
//!
//! Each column is mapped by its header ([`crate::imports::headers`]) or by an explicit mapping.
//! Where several columns claim one field, the strongest is its primary column, and the others
//! keep their values elsewhere rather than nowhere: of phones, the next one is the secondary
//! phone; every other value goes into a note labelled with its header. Row by row, a family's
//! first non-empty cell fills the field (an empty `Primary Phone` leaves it to `Mobile Phone`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::countries::CountryCode;
use crate::error::{Error, FieldCode, FieldError, Result};
use crate::imports::headers::{COUNTRY_FIELDS, FIELDS, claim, explicit_field};

/// The columns an import's `errors.csv` puts before the rows' own cells.
pub const ERROR_COLUMNS: [&str; 2] = ["import_row", "import_errors"];

/// The explaining columns of `errors.csv` files written by earlier versions (a line per problem).
const FORMER_ERROR_COLUMNS: [&str; 3] = ["import_field", "import_code", "import_message"];

/// Where a column's values go, as the job reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ColumnTarget {
    /// The header, as written.
    pub column: String,
    /// A customer field (`phone`, `address.city`, ...), `notes` (a note labelled with the
    /// header), or `ignored`.
    pub target: String,
}

/// What becomes of one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Member `rank` (0 = primary) of the family of columns claiming `field`.
    Field { field: &'static str, rank: usize },
    /// Nothing, by design: a column our export writes but never reads back (`id`,
    /// `created_at`, ...), an explicitly ignored one, or a second source id.
    Ignored,
    /// Nothing: a header that names no field (reported as not imported).
    Unknown,
}

/// How the columns of a file map to fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The file's headers, as written.
    pub headers: Vec<String>,
    roles: Vec<Role>,
    /// Per field, its family's columns, primary first.
    families: Vec<(&'static str, Vec<usize>)>,
}

impl Mapping {
    /// Maps `headers` automatically, with `explicit` (header → field, or → `""` to ignore)
    /// taking precedence. An explicit mapping to an unknown field is a `422` naming it.
    pub fn new(headers: Vec<String>, explicit: &Map<String, Value>) -> Result<Self> {
        let mut errors = Vec::new();
        for (header, field) in explicit {
            let known = field.as_str().is_some_and(|f| f.is_empty() || explicit_field(f).is_some());
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
        // Our own export's record columns (and errors.csv's explaining ones) are read-only,
        // exactly as written; so is a bare `id` beside an `external_ref` column.
        let read_only = |header: &str| {
            let ours = crate::exports::columns::COLUMNS.contains(&header) && !FIELDS.contains(&header);
            ours || ERROR_COLUMNS.contains(&header) || FORMER_ERROR_COLUMNS.contains(&header)
        };
        // Every column's claim: (field, rank, number), explicit ones strongest.
        let mut roles = vec![Role::Unknown; headers.len()];
        let claims: Vec<Option<(&'static str, u8, u32)>> = headers
            .iter()
            .enumerate()
            .map(|(column, header)| match explicit.get(header.trim()).and_then(Value::as_str) {
                Some(field) => {
                    roles[column] = Role::Ignored;
                    explicit_field(field).map(|f| (f, 0, 0))
                }
                None if read_only(header.trim()) => {
                    roles[column] = Role::Ignored;
                    None
                }
                None => claim(header).map(|c| (c.field, c.rank + 1, c.number)),
            })
            .collect();
        let mut families: Vec<(&'static str, Vec<usize>)> = Vec::new();
        for field in FIELDS {
            let mut members: Vec<usize> =
                (0..headers.len()).filter(|i| claims[*i].is_some_and(|(f, _, _)| f == field)).collect();
            members.sort_by_key(|i| claims[*i].map(|(_, rank, number)| (rank, number, *i)));
            if !members.is_empty() {
                families.push((field, members));
            }
        }
        for (field, members) in &mut families {
            if *field == "external_ref" {
                // One id matches a customer: the others are not kept.
                for column in members.drain(1..) {
                    roles[column] = Role::Ignored;
                }
            }
            for (rank, column) in members.iter().enumerate() {
                roles[*column] = Role::Field { field, rank };
            }
        }
        Ok(Self { headers, roles, families })
    }

    /// Where each column goes, in the file's order.
    pub fn columns(&self) -> Vec<ColumnTarget> {
        let has_secondary = self.families.iter().any(|(field, _)| *field == "secondary_phone");
        self.headers
            .iter()
            .zip(&self.roles)
            .map(|(header, role)| {
                let target = match *role {
                    Role::Ignored | Role::Unknown => "ignored",
                    Role::Field { field, rank: 0 } => field,
                    Role::Field { field: "phone", rank: 1 } if !has_secondary => "secondary_phone",
                    Role::Field { field: "notes", .. } | Role::Field { .. } => "notes",
                };
                ColumnTarget { column: header.clone(), target: target.to_owned() }
            })
            .collect()
    }

    /// The headers of columns that go nowhere (reported, never silently dropped).
    pub fn unmapped(&self) -> Vec<String> {
        self.headers
            .iter()
            .zip(&self.roles)
            .filter(|(header, role)| **role == Role::Unknown && !header.trim().is_empty())
            .map(|(header, _)| header.clone())
            .collect()
    }

    /// Whether any column fills a customer field.
    pub fn maps_anything(&self) -> bool {
        !self.families.is_empty()
    }

    /// One row as API input (a JSON object) and the problems of its cells, all of them: a bad
    /// cell is left out of the input and named, so that validating the rest can name more.
    /// Empty cells are absent.
    pub fn row(&self, cells: &[String]) -> (Value, Vec<FieldError>) {
        let mut object = Map::new();
        let mut errors = Vec::new();
        let mut spare_phones: Vec<String> = Vec::new();
        let mut labelled: Vec<String> = Vec::new();
        let mut notes: Vec<Value> = Vec::new();
        let cell = |column: usize| cells.get(column).map(|c| unneutralise(c.trim())).filter(|c| !c.is_empty());
        for (field, members) in &self.families {
            let mut filled: Option<&str> = None;
            for column in members {
                let Some(value) = cell(*column) else { continue };
                if *field == "notes" {
                    notes.push(Value::String(value.to_owned()));
                    continue;
                }
                if filled.is_none() {
                    match convert(field, value) {
                        Ok(json) => insert(&mut object, field, json),
                        Err(problem) => errors.push(problem),
                    }
                    filled = Some(value);
                } else if filled != Some(value) {
                    let header = self.headers[*column].trim();
                    match *field {
                        "phone" => spare_phones.push(format!("{header}: {value}")),
                        _ => labelled.push(format!("{header}: {value}")),
                    }
                }
            }
        }
        // The first spare phone is the secondary one, unless a column says which that is.
        if let Some(first) = spare_phones.first()
            && !object.contains_key("secondary_phone")
        {
            let number = first.split_once(": ").map_or(first.as_str(), |(_, n)| n).to_owned();
            insert(&mut object, "secondary_phone", Value::String(number));
            spare_phones.remove(0);
        }
        spare_phones.extend(labelled);
        if !spare_phones.is_empty() {
            notes.push(Value::String(format!("Also in the imported file: {}", spare_phones.join("; "))));
        }
        if !notes.is_empty() {
            object.insert("notes".to_owned(), Value::Array(notes));
        }
        (Value::Object(object), errors)
    }
}

/// A cell's value as the API takes it for `field`, or the problem naming the field.
fn convert(field: &str, value: &str) -> std::result::Result<Value, FieldError> {
    Ok(match field {
        "vip" => match value.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "si" | "sì" | "x" => Value::Bool(true),
            "false" | "no" | "n" | "0" => Value::Bool(false),
            _ => return Err(FieldError::new("vip", FieldCode::Invalid, "must be true or false")),
        },
        f if COUNTRY_FIELDS.contains(&f) => match CountryCode::read(value) {
            Ok(code) => Value::String(code.to_string()),
            Err(problem) => return Err(FieldError::new(f, problem.code, problem.message)),
        },
        f if f.ends_with("_on") || f == "birth_date" => Value::String(iso_date(value)),
        _ => Value::String(value.to_owned()),
    })
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

    fn mapping(headers: &[&str]) -> Mapping {
        Mapping::new(headers.iter().map(|h| h.to_string()).collect(), &Map::new()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Each column's target, in the file's order.
    fn targets(headers: &[&str]) -> Vec<String> {
        mapping(headers).columns().into_iter().map(|c| c.target).collect()
    }

    fn row(mapping: &Mapping, cells: &[&str]) -> (Value, Vec<FieldError>) {
        mapping.row(&cells.iter().map(|c| c.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn a_generic_customers_file_maps_its_source_id_phones_and_countries() {
        let headers = [
            "Index",
            "Customer Id",
            "First Name",
            "Last Name",
            "Company",
            "City",
            "Country",
            "Phone 1",
            "Phone 2",
            "Email",
            "Subscription Date",
            "Website",
        ];
        assert_eq!(
            targets(&headers),
            [
                "ignored",
                "external_ref",
                "first_name",
                "last_name",
                "company_name",
                "address.city",
                "address.country",
                "phone",
                "secondary_phone",
                "email",
                "ignored",
                "ignored"
            ]
        );
        let (value, errors) = row(
            &mapping(&headers),
            &[
                "1",
                "DD37Cf93aecA6Dc",
                "Sheryl",
                "Baxter",
                "Rasmussen Group",
                "East Leonard",
                "Norway",
                "229.077.5154",
                "397.884.0519x718",
                "zunigavanessa@smith.info",
                "2020-08-24",
                "http://www.stephenson.com/",
            ],
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(value["external_ref"], "DD37Cf93aecA6Dc");
        assert_eq!(value["address"], json!({"city": "East Leonard", "country": "NO"}));
        assert_eq!((&value["phone"], &value["secondary_phone"]), (&json!("229.077.5154"), &json!("397.884.0519x718")));
    }

    #[test]
    fn google_contacts_headers_map_with_their_numbered_families() {
        assert_eq!(
            targets(&[
                "First Name",
                "Last Name",
                "E-mail 1 - Label",
                "E-mail 1 - Value",
                "E-mail 2 - Value",
                "Phone 1 - Label",
                "Phone 1 - Value",
                "Phone 2 - Value",
                "Phone 3 - Value",
                "Address 1 - Street",
                "Address 1 - City",
                "Address 1 - Postal Code",
                "Address 1 - Country",
                "Organization Name",
                "Birthday",
                "Notes",
                "Labels",
            ]),
            [
                "first_name",
                "last_name",
                "ignored",
                "email",
                "notes",
                "ignored",
                "phone",
                "secondary_phone",
                "notes",
                "address.line1",
                "address.city",
                "address.postal_code",
                "address.country",
                "company_name",
                "birth_date",
                "notes",
                "ignored"
            ]
        );
        // The older Google format.
        assert_eq!(
            targets(&["Given Name", "Family Name", "E-mail 1 - Value", "Phone 1 - Value", "Organization 1 - Name"]),
            ["first_name", "last_name", "email", "phone", "company_name"]
        );
    }

    #[test]
    fn outlook_headers_put_the_primary_phone_first_and_the_home_address_before_the_office() {
        assert_eq!(
            targets(&[
                "First Name",
                "Last Name",
                "E-mail Address",
                "E-mail 2 Address",
                "Home Phone",
                "Business Phone",
                "Mobile Phone",
                "Primary Phone",
                "Business Fax",
                "Business Street",
                "Business City",
                "Home Street",
                "Home City",
                "Home Country/Region",
                "Birthday",
                "Notes",
            ]),
            [
                "first_name",
                "last_name",
                "email",
                "notes",
                "notes",
                "notes",
                "secondary_phone",
                "phone",
                "ignored",
                "notes",
                "notes",
                "address.line1",
                "address.city",
                "address.country",
                "birth_date",
                "notes"
            ]
        );
        // Row by row, an empty primary leaves the field to the next of its family.
        let outlook = mapping(&["First Name", "Last Name", "Home Phone", "Mobile Phone", "Primary Phone"]);
        let (value, _) = row(&outlook, &["Anna", "Weiß", "+49 30 1234567", "+49 151 23456789", ""]);
        assert_eq!(value["phone"], "+49 151 23456789");
        assert_eq!(value["secondary_phone"], "+49 30 1234567");
    }

    #[test]
    fn hubspot_salesforce_zoho_and_pipedrive_headers_map() {
        assert_eq!(
            targets(&[
                "Record ID",
                "First Name",
                "Last Name",
                "Email",
                "Phone Number",
                "Mobile Phone Number",
                "Company Name",
                "Street Address",
                "City",
                "State/Region",
                "Postal Code",
                "Country/Region",
                "Contact owner",
                "Create Date",
            ]),
            [
                "external_ref",
                "first_name",
                "last_name",
                "email",
                "phone",
                "secondary_phone",
                "company_name",
                "address.line1",
                "address.city",
                "address.region",
                "address.postal_code",
                "address.country",
                "ignored",
                "ignored"
            ],
            "HubSpot"
        );
        assert_eq!(
            targets(&[
                "Id",
                "AccountId",
                "FirstName",
                "LastName",
                "MailingStreet",
                "MailingCity",
                "MailingState",
                "MailingPostalCode",
                "MailingCountry",
                "Phone",
                "MobilePhone",
                "Email",
                "Birthdate",
            ]),
            [
                "external_ref",
                "ignored",
                "first_name",
                "last_name",
                "address.line1",
                "address.city",
                "address.region",
                "address.postal_code",
                "address.country",
                "phone",
                "secondary_phone",
                "email",
                "birth_date"
            ],
            "Salesforce (Data Loader)"
        );
        assert_eq!(
            targets(&["Contact ID", "First Name", "Last Name", "Mailing Zip/Postal Code", "Mailing State/Province"]),
            ["external_ref", "first_name", "last_name", "address.postal_code", "address.region"],
            "Salesforce (report)"
        );
        assert_eq!(
            targets(&[
                "Record Id",
                "Contact Owner",
                "First Name",
                "Last Name",
                "Email",
                "Secondary Email",
                "Phone",
                "Home Phone",
                "Mobile",
                "Date of Birth",
                "Mailing Street",
                "Mailing City",
                "Mailing Zip",
                "Mailing Country",
                "Other City",
                "Description",
                "Skype ID",
            ]),
            [
                "external_ref",
                "ignored",
                "first_name",
                "last_name",
                "email",
                "notes",
                "phone",
                "notes",
                "secondary_phone",
                "birth_date",
                "address.line1",
                "address.city",
                "address.postal_code",
                "address.country",
                "notes",
                "notes",
                "ignored"
            ],
            "Zoho"
        );
        assert_eq!(
            targets(&[
                "Person - ID",
                "Person - Name",
                "Person - First name",
                "Person - Last name",
                "Person - Organization",
                "Person - Email - Work",
                "Person - Email - Home",
                "Person - Phone - Work",
                "Person - Phone - Mobile",
                "Person - Owner",
            ]),
            [
                "external_ref",
                "ignored",
                "first_name",
                "last_name",
                "company_name",
                "notes",
                "email",
                "secondary_phone",
                "phone",
                "ignored"
            ],
            "Pipedrive"
        );
    }

    #[test]
    fn our_own_export_maps_back_with_its_record_columns_read_only() {
        assert_eq!(
            targets(&["id", "first_name", "address.city", "secondary_phone", "external_ref", "created_at"]),
            ["ignored", "first_name", "address.city", "secondary_phone", "external_ref", "ignored"]
        );
        assert_eq!(
            targets(&["import_row", "import_errors", "import_field", "Nome"]),
            ["ignored", "ignored", "ignored", "first_name"]
        );
        // A bare `id` is the source system's when nothing else says so.
        assert_eq!(targets(&["ID", "Name", "Surname"]), ["external_ref", "ignored", "last_name"]);
    }

    #[test]
    fn italian_spreadsheets_map() {
        assert_eq!(
            targets(&[
                "Nome",
                "Cognome",
                "Telefono",
                "Cellulare",
                "Codice Fiscale",
                "Città",
                "Data di nascita",
                "Nazione"
            ]),
            [
                "first_name",
                "last_name",
                "phone",
                "secondary_phone",
                "tax_code",
                "address.city",
                "birth_date",
                "address.country"
            ]
        );
    }

    #[test]
    fn explicit_mappings_win_and_are_checked() {
        let headers = vec!["Cliente".to_owned(), "Nome".to_owned(), "Extra".to_owned(), "Tel2".to_owned()];
        let explicit = json!({"Cliente": "external_ref", "Extra": "", "Tel2": "phone_2"});
        let mapping = Mapping::new(headers.clone(), explicit.as_object().unwrap_or(&Map::new()))
            .unwrap_or_else(|e| panic!("{e}"));
        let targets: Vec<String> = mapping.columns().into_iter().map(|c| c.target).collect();
        assert_eq!(targets, ["external_ref", "first_name", "ignored", "secondary_phone"]);
        assert!(mapping.unmapped().is_empty(), "an explicitly ignored column is not reported as unknown");
        let bad = json!({"Cliente": "password"});
        let Err(Error::Invalid(errors)) = Mapping::new(headers, bad.as_object().unwrap_or(&Map::new())) else {
            panic!("an unknown target field was accepted")
        };
        assert_eq!(errors[0].field, "mapping.Cliente");
    }

    #[test]
    fn rows_become_api_input_with_every_cell_problem_named() {
        let headers =
            ["Nome", "Cognome", "Mobile", "Phone 2 - Value", "Città", "Data di nascita", "VIP", "Notes", "Paese"];
        let mapping = mapping(&headers);
        assert_eq!(
            row(&mapping, &["Nicolò", " Rossi ", "", "333 1234567", "Roma", "29/02/1980", "sì", "pays cash", "Italia"]),
            (
                json!({"first_name": "Nicolò", "last_name": "Rossi", "phone": "333 1234567",
                    "address": {"city": "Roma", "country": "IT"}, "birth_date": "1980-02-29", "vip": true,
                    "notes": ["pays cash"]}),
                Vec::new()
            )
        );
        let (value, errors) = row(&mapping, &["A", "B", "", "", "", "", "maybe", "", "Narnia"]);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["address.country", "vip"]);
        assert!(errors[0].message.contains("\"Narnia\""), "{}", errors[0].message);
        assert_eq!(value, json!({"first_name": "A", "last_name": "B"}), "bad cells are left out");
        // Cells our export neutralised come back as they were; a plain apostrophe stays.
        let (value, _) = row(&mapping, &["'=A", "O'Brien", "'+39 333 1234567", "", "", "", "", "'tis", ""]);
        assert_eq!(
            value,
            json!({"first_name": "=A", "last_name": "O'Brien", "phone": "+39 333 1234567", "notes": ["'tis"]})
        );
    }

    #[test]
    fn spare_values_are_kept_in_a_labelled_note() {
        let mapping = mapping(&["First Name", "Last Name", "Phone 1", "Phone 2", "Phone 3", "Email", "E-mail 2"]);
        let (value, _) = row(&mapping, &["A", "B", "111", "222", "333", "a@example.com", "b@example.com"]);
        assert_eq!((&value["phone"], &value["secondary_phone"]), (&json!("111"), &json!("222")));
        assert_eq!(value["notes"], json!(["Also in the imported file: Phone 3: 333; E-mail 2: b@example.com"]));
        // The same number twice is one number.
        let (value, _) = row(&mapping, &["A", "B", "111", "111", "", "", ""]);
        assert_eq!(value.get("secondary_phone"), None);
    }

    #[test]
    fn day_first_dates_become_iso() {
        assert_eq!(iso_date("1/2/1980"), "1980-02-01");
        assert_eq!(iso_date("29.02.1980"), "1980-02-29");
        assert_eq!(iso_date("1980-02-29"), "1980-02-29");
        assert_eq!(iso_date("Feb 29 1980"), "Feb 29 1980");
    }
}
