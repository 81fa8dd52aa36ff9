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
            name,
            country,
            phone_region,
            created_at: Timestamp::now(),
            required_documents: RequiredDocuments::default(),
        })
    }
}
