//! What a file's column headers mean: the names other systems' exports give customer fields
//! (Google Contacts, Outlook, HubSpot, Salesforce, Zoho, Pipedrive, Italian spreadsheets, ours),
//! and how strongly each claims its field, so that of a family of columns (`Phone 1`, `Phone 2`;
//! `Primary Phone`, `Mobile Phone`, `Home Phone`) the primary one is chosen.

/// The customer fields a column may fill, as the API names them.
pub const FIELDS: [&str; 35] = [
    "kind",
    "first_name",
    "last_name",
    "company_name",
    "vat_number",
    "email",
    "phone",
    "secondary_phone",
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
];

/// Older names of fields, still accepted in explicit mappings.
pub const FORMER_FIELDS: [(&str, &str); 1] = [("phone_2", "secondary_phone")];

/// The fields holding a country, read leniently from files (names, alpha-3, numeric codes).
pub const COUNTRY_FIELDS: [&str; 5] =
    ["citizenship", "address.country", "birth_place.country", "driver_license.country", "id_document.issuing_country"];

/// Other names for fields, folded (lower case, letters and digits only), each with its rank: of
/// several columns claiming a field, the lowest rank is the primary one (then the lowest number
/// in a numbered family such as `Phone 1`, `Phone 2`, then the leftmost).
const ALIASES: &[(&str, u8, &[&str])] = &[
    ("first_name", 0, &["firstname", "givenname", "first", "nome", "vorname", "prenom", "forename"]),
    ("last_name", 0, &["lastname", "familyname", "surname", "cognome", "nachname", "nom"]),
    (
        "company_name",
        0,
        &[
            "company",
            "companyname",
            "organization",
            "organisation",
            "organizationname",
            "organizationvalue",
            "ragionesociale",
            "azienda",
            "accountname",
            "firma",
            "societe",
        ],
    ),
    ("vat_number", 0, &["vat", "vatnumber", "partitaiva", "piva", "vatid", "ustidnr", "tva"]),
    (
        "email",
        0,
        &[
            "email",
            "emailaddress",
            "emailvalue",
            "primaryemail",
            "posta",
            "postaelettronica",
            "mail",
            "emailadresse",
            "courriel",
        ],
    ),
    ("email", 1, &["emailhome", "homeemail", "personalemail", "privateemail"]),
    ("email", 2, &["secondaryemail", "emailwork", "workemail", "businessemail", "emailbusiness"]),
    ("email", 3, &["emailother", "otheremail", "alternateemail"]),
    (
        "phone",
        0,
        &[
            "phone",
            "phonenumber",
            "phonevalue",
            "primaryphone",
            "telephone",
            "telephonenumber",
            "tel",
            "telefono",
            "numeroditelefono",
            "telefon",
            "telefonnummer",
        ],
    ),
    (
        "phone",
        1,
        &[
            "mobile",
            "mobilephone",
            "mobilenumber",
            "mobilephonenumber",
            "phonemobile",
            "cellphone",
            "cell",
            "cellular",
            "cellulare",
            "telefonocellulare",
            "handy",
            "mobiltelefon",
            "portable",
        ],
    ),
    ("phone", 2, &["homephone", "phonehome", "privatephone", "telefonocasa", "telefonoabitazione"]),
    ("phone", 3, &["businessphone", "workphone", "phonework", "officephone", "telefonoufficio"]),
    ("phone", 4, &["otherphone", "phoneother", "alternatephone", "altrotelefono"]),
    ("secondary_phone", 0, &["secondaryphone"]),
    ("birth_date", 0, &["birthdate", "birthday", "dateofbirth", "dob", "datadinascita", "datanascita", "geburtsdatum"]),
    ("birth_place.city", 0, &["birthplace", "placeofbirth", "luogodinascita", "comunedinascita", "geburtsort"]),
    ("citizenship", 0, &["nationality", "cittadinanza", "nazionalita", "staatsangehorigkeit"]),
    ("tax_code", 0, &["taxcode", "codicefiscale", "cf", "fiscalcode", "taxid", "steuernummer"]),
    (
        "address.line1",
        0,
        &["address", "street", "streetaddress", "addressstreet", "indirizzo", "via", "strasse", "adresse"],
    ),
    ("address.line1", 1, &["mailingstreet", "homestreet", "homeaddress"]),
    ("address.line1", 2, &["businessstreet", "workaddress", "workstreet", "billingstreet"]),
    ("address.line1", 3, &["otherstreet", "shippingstreet"]),
    ("address.line2", 0, &["address2", "addressextendedaddress", "addressline2"]),
    ("address.line2", 1, &["homestreet2"]),
    ("address.line2", 2, &["businessstreet2"]),
    ("address.city", 0, &["city", "town", "addresscity", "citta", "comune", "ort", "stadt", "ville"]),
    ("address.city", 1, &["mailingcity", "homecity"]),
    ("address.city", 2, &["businesscity", "workcity", "billingcity"]),
    ("address.city", 3, &["othercity", "shippingcity"]),
    (
        "address.postal_code",
        0,
        &["postalcode", "zip", "zipcode", "postcode", "cap", "addresspostalcode", "plz", "codepostal", "zippostalcode"],
    ),
    (
        "address.postal_code",
        1,
        &["mailingpostalcode", "mailingzip", "mailingzippostalcode", "homepostalcode", "homezipcode", "homezip"],
    ),
    ("address.postal_code", 2, &["businesspostalcode", "workzipcode", "workzip", "billingpostalcode"]),
    ("address.postal_code", 3, &["otherpostalcode", "otherzip", "shippingpostalcode"]),
    (
        "address.region",
        0,
        &["region", "state", "province", "provincia", "addressregion", "stateprovince", "stateregion", "bundesland"],
    ),
    ("address.region", 1, &["mailingstate", "mailingstateprovince", "homestate"]),
    ("address.region", 2, &["businessstate", "workstate", "billingstate"]),
    ("address.region", 3, &["otherstate", "shippingstate"]),
    (
        "address.country",
        0,
        &["country", "countrycode", "addresscountry", "nazione", "paese", "countryregion", "land", "pays"],
    ),
    ("address.country", 1, &["mailingcountry", "homecountry", "homecountryregion"]),
    ("address.country", 2, &["businesscountry", "businesscountryregion", "workcountry", "billingcountry"]),
    ("address.country", 3, &["othercountry", "othercountryregion", "shippingcountry"]),
    ("language", 0, &["language", "lingua", "preferredlanguage", "sprache", "langue"]),
    (
        "driver_license.number",
        0,
        &[
            "driverlicense",
            "driverslicense",
            "drivinglicence",
            "drivinglicense",
            "licensenumber",
            "licencenumber",
            "patente",
            "numeropatente",
            "fuhrerschein",
        ],
    ),
    ("driver_license.issued_on", 0, &["licenseissuedon", "licenceissuedon", "patenterilasciata"]),
    ("driver_license.expires_on", 0, &["licenseexpireson", "licenceexpireson", "licenseexpiry", "scadenzapatente"]),
    (
        "external_ref",
        0,
        &[
            "externalref",
            "externalid",
            "legacyid",
            "customerid",
            "customernumber",
            "customerno",
            "clientid",
            "contactid",
            "recordid",
            "personid",
            "leadid",
            "codicecliente",
            "idcliente",
            "numerocliente",
            "kundennummer",
        ],
    ),
    // A bare `id` is the source system's id only when nothing better says so: in our own
    // export, `external_ref` outranks it (and `id` is our own id, read-only).
    ("external_ref", 9, &["id"]),
    ("notes", 0, &["notes", "note", "comments", "comment", "description", "descrizione", "bemerkungen"]),
    ("kind", 0, &["kind", "customerkind"]),
    ("vip", 0, &["vip"]),
];

/// Prefixes naming the record a column belongs to, as CRMs write them (`Person - First name`,
/// `Contact ID`): tried off when the whole name means nothing.
const ENTITY_PREFIXES: [&str; 6] = ["person", "contact", "customer", "client", "lead", "cliente"];

/// Folds a header for matching: accents off, lower case, letters and digits only.
pub fn fold(header: &str) -> String {
    deunicode::deunicode(header).chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// How a header claims a field: the field, its rank, and its number in a numbered family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// The field, as in [`FIELDS`].
    pub field: &'static str,
    /// Lower is stronger.
    pub rank: u8,
    /// `Phone 2` is number 2; unnumbered headers are 0.
    pub number: u32,
}

/// The field a header claims, if any: our own field names (`address.city`, any case), then
/// other systems' names, then the same without a family number (`Phone 2 - Value` is a phone,
/// number 2), then without a record prefix (`Person - Phone - Mobile`).
pub fn claim(header: &str) -> Option<Claim> {
    let trimmed = header.trim().trim_start_matches('\u{feff}');
    if let Some(field) = FIELDS.iter().find(|f| f.eq_ignore_ascii_case(trimmed)) {
        return Some(Claim { field, rank: 0, number: 0 });
    }
    let folded = fold(trimmed);
    if folded.is_empty() {
        return None;
    }
    let unnumbered: String = folded.chars().filter(|c| !c.is_ascii_digit()).collect();
    let number: u32 = folded.chars().filter(char::is_ascii_digit).collect::<String>().parse().unwrap_or(0);
    let direct = |name: &str| {
        FIELDS.iter().find(|f| fold(f) == name).map(|field| (*field, 0)).or_else(|| {
            ALIASES.iter().find(|(_, _, names)| names.contains(&name)).map(|(field, rank, _)| (*field, *rank))
        })
    };
    let found = direct(&folded)
        .map(|(field, rank)| (field, rank, 0))
        .or_else(|| {
            (unnumbered != folded && !unnumbered.is_empty())
                .then(|| direct(&unnumbered))
                .flatten()
                .map(|(f, r)| (f, r, number))
        })
        .or_else(|| {
            ENTITY_PREFIXES.iter().find_map(|prefix| {
                let rest = unnumbered.strip_prefix(prefix).filter(|rest| !rest.is_empty())?;
                direct(rest).map(|(field, rank)| (field, rank, number))
            })
        });
    found.map(|(field, rank, number)| Claim { field, rank, number })
}

/// The field an explicit mapping names: one of [`FIELDS`], or a former name of one.
pub fn explicit_field(name: &str) -> Option<&'static str> {
    FIELDS
        .iter()
        .find(|f| **f == name)
        .copied()
        .or_else(|| FORMER_FIELDS.iter().find(|(former, _)| *former == name).map(|(_, field)| *field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alias_names_a_field_and_no_name_is_claimed_twice() {
        let mut seen = std::collections::HashSet::new();
        for (field, _, names) in ALIASES {
            assert!(FIELDS.contains(field), "{field}");
            for name in *names {
                assert_eq!(fold(name), *name, "aliases are written folded");
                assert!(seen.insert(*name), "{name} is claimed twice");
            }
        }
    }

    #[test]
    fn numbered_and_prefixed_headers_claim_their_family() {
        let claim_of = |h: &str| claim(h).map(|c| (c.field, c.rank, c.number));
        assert_eq!(claim_of("Phone 1"), Some(("phone", 0, 1)));
        assert_eq!(claim_of("Phone 2 - Value"), Some(("phone", 0, 2)));
        assert_eq!(claim_of("Secondary Phone"), Some(("secondary_phone", 0, 0)));
        assert_eq!(claim_of("Phone 3 - Value"), Some(("phone", 0, 3)));
        assert_eq!(claim_of("Home Phone 2"), Some(("phone", 2, 2)));
        assert_eq!(claim_of("E-mail 2 Address"), Some(("email", 0, 2)));
        assert_eq!(claim_of("Person - Phone - Mobile"), Some(("phone", 1, 0)));
        assert_eq!(claim_of("Person - ID"), Some(("external_ref", 0, 0)));
        assert_eq!(claim_of("ID"), Some(("external_ref", 9, 0)));
        assert_eq!(claim_of("Customer Id"), Some(("external_ref", 0, 0)));
        assert_eq!(claim_of("Phone 1 - Type"), None);
        assert_eq!(claim_of("AccountId"), None);
        assert_eq!(claim_of("Index"), None);
    }
}
