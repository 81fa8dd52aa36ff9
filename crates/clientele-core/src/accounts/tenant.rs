//! Tenants: one rental company each, with the country and phone region its data is read in.

use crate::documents::requirements::RequiredDocuments;
use crate::error::{FieldErrors, Result};
use crate::ids::TenantId;
use crate::time::Timestamp;
use crate::values::{CountryCode, PhoneRegion, required_text};

/// A rental company using Clientele.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// The tenant's id.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// The short code people type at login when their email has accounts at several tenants:
    /// lower-case letters, digits and hyphens (`demo-rentals`). Made from the name; the store
    /// adds the tenant's number when another tenant has it already.
    pub slug: String,
    /// Country the company operates in.
    pub country: CountryCode,
    /// Region used to read phone numbers given without a country prefix.
    pub phone_region: PhoneRegion,
    /// When the tenant was created.
    pub created_at: Timestamp,
    /// The documents every customer should hold.
    pub required_documents: RequiredDocuments,
}

impl Tenant {
    /// Parses the fields of a new tenant, naming every bad one.
    pub fn parse_new(name: &str, country: &str, phone_region: Option<&str>) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let name = errors.take("name", required_text(name, 200));
        let country = errors.take("country", CountryCode::parse(country));
        // The phone region defaults to the country; with a bad country, only the country is named.
        let phone_region = match (phone_region, &country) {
            (Some(region), _) => errors.take("phone_region", PhoneRegion::parse(region)),
            (None, Some(country)) => errors.take("phone_region", PhoneRegion::parse(country.as_str())),
            (None, None) => None,
        };
        let (Some(name), Some(country), Some(phone_region)) = (name, country, phone_region) else {
            return Err(errors.into_error());
        };
        Ok(Self {
            id: TenantId::new(),
            slug: slug_of(&name),
            name,
            country,
            phone_region,
            created_at: Timestamp::now(),
            required_documents: RequiredDocuments::default(),
        })
    }
}

/// The slug of a name: folded to ASCII, lower case, words joined by hyphens (`Rent & Go` →
/// `rent-go`); `tenant` when nothing is left.
pub fn slug_of(name: &str) -> String {
    let folded = deunicode::deunicode(name).to_lowercase();
    let words: Vec<&str> = folded.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let slug: String = words.join("-").chars().take(60).collect();
    let slug = slug.trim_end_matches('-').to_owned();
    if slug.is_empty() { "tenant".to_owned() } else { slug }
}

/// Normalises a slug as typed at login (`Demo Rentals`, ` demo-rentals `): the same folding.
pub fn normalise_slug(typed: &str) -> String {
    slug_of(typed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_folded_lower_case_words_joined_by_hyphens() {
        assert_eq!(slug_of("Rent & Go"), "rent-go");
        assert_eq!(slug_of("Noleggi Città d'Arte S.r.l."), "noleggi-citta-d-arte-s-r-l");
        assert_eq!(slug_of("  "), "tenant");
        assert_eq!(normalise_slug(" Demo Rentals "), "demo-rentals");
    }
}
