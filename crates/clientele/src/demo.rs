//! `serve --demo`: a demo tenant with users of every role and a few thousand realistic customers,
//! created once (a second run finds the tenant and only prints how to log in).
//!
//! The data is generated deterministically from the bundled European names (many with
//! diacritics) and goes through the same services as the API, so it obeys every rule.

use clientele_core::accounts::auth::Actor;
use clientele_core::accounts::services::NewUser;
use clientele_core::customers::input::CustomerInput;
use clientele_core::customers::record::CustomerKind;
use clientele_core::ids::TenantId;
use clientele_core::{App, Result};

use crate::dataset::{Names, SplitMix64, ascii_slug, customer};

/// The demo tenant's name; its presence means the demo was already created.
pub const TENANT_NAME: &str = "Demo Rentals";
/// Password of every demo user.
pub const PASSWORD: &str = "demo-password";
/// How many customers the demo holds.
pub const CUSTOMERS: usize = 3_000;

/// What was created (or found), for the login instructions.
#[derive(Debug)]
pub struct Demo {
    /// The demo tenant.
    pub tenant_id: TenantId,
    /// Whether this run created it.
    pub created: bool,
}

/// Login emails of the demo users, with their roles.
pub const USERS: [(&str, &str); 4] = [
    ("admin@demo.example", "admin"),
    ("operator@demo.example", "operator"),
    ("driver@demo.example", "driver"),
    ("partner@demo.example", "partner"),
];

/// Creates the demo tenant, unless it exists.
pub async fn ensure(app: &App) -> Result<Demo> {
    if let Some(tenant) = app.store().find_tenant_by_name(TENANT_NAME).await? {
        return Ok(Demo { tenant_id: tenant.id, created: false });
    }
    let tenant = app.create_tenant(TENANT_NAME, "IT", Some("IT")).await?;
    let actor = Actor::command_line(tenant.id);
    let mut rng = SplitMix64(0x00C1_1E47_E1E0);
    let names = Names::parse();

    let mut partners = Vec::new();
    for company in
        ["Viaggi Bellini Srl", "Hotel Riviera Group", "Agenzia Sole e Mare", "Nordic Tours AB", "Alpen Reisen GmbH"]
    {
        let input = CustomerInput {
            kind: Some(CustomerKind::Partner),
            company_name: Some(company.into()),
            email: Some(format!("bookings@{}.example", ascii_slug(company))),
            vat_number: Some(format!("IT{:011}", rng.below(100_000_000_000))),
            ..CustomerInput::default()
        };
        partners.push(app.create_customer(&actor, input).await?.view.customer.id);
    }
    for (email, role) in USERS {
        let partner_id = (role == "partner").then(|| partners[0]);
        let user = NewUser {
            tenant_id: tenant.id,
            email: email.into(),
            role: role.into(),
            password: PASSWORD.into(),
            partner_id,
        };
        app.create_user(user).await?;
    }
    let inputs: Vec<CustomerInput> =
        (0..CUSTOMERS - partners.len()).map(|index| customer(&mut rng, &names, &partners, index)).collect();
    for chunk in inputs.chunks(500) {
        let outcome = app.create_customers(&actor, chunk.to_vec()).await?;
        if let Some((index, error)) = outcome.rejected.first() {
            return Err(clientele_core::Error::internal(format!("demo customer {index} was refused: {error}")));
        }
    }
    Ok(Demo { tenant_id: tenant.id, created: true })
}
