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

/// The demo's document scans: a one-page PDF.
const DEMO_SCAN: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

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
    history(app, &actor, tenant.id, &mut rng).await?;
    Ok(Demo { tenant_id: tenant.id, created: true })
}

/// A year of the counter's life, through the same services: VIPs, past rentals (VIPs coming
/// back more often), deliveries assigned to the demo driver, two blacklisted customers, one of
/// them with an order waiting for an admin's override.
async fn history(app: &App, actor: &Actor, tenant: TenantId, rng: &mut SplitMix64) -> Result<()> {
    use clientele_core::blacklist::record::Scope;
    use clientele_core::blacklist::services::BlacklistInput;
    use clientele_core::customers::list::{FilterText, ListRequest};
    use clientele_core::customers::patch::CustomerPatch;
    use clientele_core::customers::view::CustomerPage;
    use clientele_core::orders::record::{OrderInput, OrderPatch, OrderStatus, PaymentType, Vehicle, VehicleType};
    use clientele_core::time::Timestamp;
    use clientele_core::values::Email;
    use serde_json::json;

    let filters = FilterText { kind: Some("client"), ..FilterText::default() };
    let request = ListRequest::parse(&filters, None, Some("200"), None)?;
    let CustomerPage::Full(page) = app.list_customers(actor, &request).await? else {
        return Ok(());
    };
    let clients: Vec<_> = page.items.iter().map(|v| v.customer.id).collect();
    let driver = app.store().find_user_by_email(tenant, &Email::from_stored(USERS[2].0.into())).await?.map(|u| u.id);
    const DAY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    let now = Timestamp::now();
    let places = [
        "Roma Termini",
        "Milano Centrale",
        "Firenze SMN",
        "Napoli Centrale",
        "Bologna Aeroporto",
        "Torino Porta Nuova",
    ];
    let cars = [
        ("Fiat", "Panda"),
        ("Fiat", "500"),
        ("Volkswagen", "Golf"),
        ("Renault", "Clio"),
        ("Toyota", "Yaris"),
        ("Jeep", "Renegade"),
    ];
    let order = |customer, pickup: Timestamp, days: u64, rng: &mut SplitMix64| {
        let place = places[rng.below(places.len() as u64) as usize];
        let (make, model) = cars[rng.below(cars.len() as u64) as usize];
        OrderInput {
            customer_id: Some(clientele_core::ids::CustomerId::as_uuid(&customer)),
            second_driver_id: None,
            driver_id: None,
            pickup_at: Some(pickup.to_string()),
            pickup_place: Some(place.into()),
            return_at: Some(pickup.add(DAY * days as u32).to_string()),
            return_place: Some(place.into()),
            vehicle: Some(Vehicle {
                plate: format!("G{}{:03}{}", (b'A' + rng.below(26) as u8) as char, rng.below(1000), "XY"),
                make: Some(make.into()),
                model: Some(model.into()),
                vehicle_type: VehicleType::Car,
                type_code: None,
                colour: None,
            }),
            payment_type: Some(if rng.below(4) == 0 { PaymentType::Cash } else { PaymentType::CreditCard }),
            ..OrderInput::default()
        }
    };
    for (index, customer) in clients.iter().enumerate().take(120) {
        let vip = index % 4 == 0;
        if vip {
            let patch = CustomerPatch::parse(json!({"vip": true}))?;
            app.update_customer(actor, *customer, patch, None).await?;
        }
        // Past rentals: VIPs two to four, the others none to two.
        let rentals = if vip { 2 + rng.below(3) } else { rng.below(3) };
        for _ in 0..rentals {
            let pickup = now.sub(DAY * (10 + rng.below(330)) as u32);
            let created = app.create_order(actor, &order(*customer, pickup, 1 + rng.below(6), rng)).await?;
            for status in [OrderStatus::Active, OrderStatus::Completed] {
                let patch = OrderPatch { status: Some(status), ..OrderPatch::default() };
                app.update_order(actor, created.order.id, &patch, None).await?;
            }
        }
    }
    // Scans of the documents of the first clients (some expiring soon), where documents are
    // configured (SQLite makes its keys; PostgreSQL needs documents.master_key).
    for (index, customer) in clients.iter().enumerate().take(150) {
        for (kind, days) in
            [("driver_license", 400 + 30 * (index % 40)), ("id_card", if index % 10 == 0 { 20 } else { 900 })]
        {
            let meta = clientele_core::documents::record::DocumentMetaInput {
                kind: Some(kind.into()),
                number: Some(format!("{}{:07}", &kind[..2].to_uppercase(), rng.below(10_000_000))),
                expires_on: Some(now.add(DAY * days as u32).date().to_string()),
                ..Default::default()
            };
            let upload = clientele_core::documents::services::Upload {
                bytes: DEMO_SCAN.to_vec(),
                file_name: Some(format!("{kind}.pdf")),
                has_file: true,
                meta,
                rejected: None,
            };
            match app.upload_document(actor, *customer, upload).await {
                Ok(_) => {}
                Err(clientele_core::Error::Server {
                    code: clientele_core::ErrorCode::DocumentsUnavailable, ..
                }) => break,
                Err(other) => return Err(other),
            }
        }
    }
    // The next days' deliveries for the demo driver.
    for (day, customer) in clients.iter().skip(120).take(4).enumerate() {
        let mut input = order(*customer, now.add(DAY * (day as u32 + 1)), 3, rng);
        input.driver_id = driver.map(|d| d.as_uuid());
        app.create_order(actor, &input).await?;
    }
    // Two customers on the tenant's blacklist; an operator asked for an override for one.
    for (customer, reason) in clients.iter().skip(130).zip(["unpaid_damage", "vehicle_not_returned"]) {
        let input =
            BlacklistInput { scope: Some(Scope::Tenant), reason_code: Some(reason.into()), note: Some("Demo".into()) };
        app.blacklist_customer(actor, *customer, &input).await?;
    }
    if let Some(customer) = clients.get(130) {
        let mut input = order(*customer, now.add(DAY * 2), 2, rng);
        input.request_override = true;
        app.create_order(actor, &input).await?;
    }
    Ok(())
}
