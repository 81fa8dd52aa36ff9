//! Everything held on one person, as versioned JSON (GDPR access and portability).

use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::access::Capability;
use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::audit::store::AuditQuery;
use crate::blacklist::record::BlacklistEntry;
use crate::customers::notes::Note;
use crate::customers::view::CustomerView;
use crate::documents::record::Document;
use crate::error::{Error, Result};
use crate::ids::CustomerId;
use crate::orders::record::Order;
use crate::payments::record::ExportedPaymentMethods;
use crate::time::Timestamp;

/// The schema of [`PersonalDataExport`]; a new version whenever its shape changes.
pub const PERSONAL_DATA_SCHEMA: &str = "clientele.personal-data/2";

/// Everything held on one person (GDPR Art. 15 and 20).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonalDataExport {
    /// `clientele.personal-data/2` (2 added `payment_methods`).
    pub schema: String,
    /// When this export was made.
    pub exported_at: Timestamp,
    /// The customer record, with badges and documents status.
    pub customer: CustomerView,
    /// The notes timeline.
    pub notes: Vec<Note>,
    /// This tenant's blacklist entries on the person.
    pub blacklist: Vec<BlacklistEntry>,
    /// The person's orders (as renter or second driver).
    pub orders: Vec<Order>,
    /// The person's documents (metadata; files are downloaded one by one).
    pub documents: Vec<Document>,
    /// The payment methods Stripe holds for the person: brand and last four digits only (the
    /// Stripe customer's id is all Clientele keeps).
    pub payment_methods: ExportedPaymentMethods,
    /// When the person's data was accessed or changed, how, and by which role (newest first).
    pub access: Vec<AccessRecord>,
}

/// One recorded access to a person's data, as shown to that person.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccessRecord {
    /// When.
    pub at: Timestamp,
    /// What (`customer.updated`, `document.downloaded`, ...).
    pub action: String,
    /// The role of whoever did it (not their identity).
    pub actor_role: String,
    /// `allowed` or `denied`.
    pub outcome: String,
}

impl App {
    /// Everything held on one customer, as schema-versioned JSON (admins; audited).
    pub async fn personal_data_export(&self, actor: &Actor, id: CustomerId) -> Result<PersonalDataExport> {
        let grant = actor.require(Capability::BulkExport)?;
        let tenant = grant.tenant_id;
        let customer = self.store().get_customer(tenant, id).await?.ok_or(Error::NotFound("customer"))?;
        let notes = self.store().list_notes(tenant, id).await?;
        let blacklist = self.store().blacklist_history(tenant, id).await?;
        let mut orders = Vec::new();
        let mut after = None;
        loop {
            let page = self.store().list_customer_orders(tenant, id, after, 500).await?;
            after = page.last().map(|o| o.id);
            let full = page.len() == 500;
            orders.extend(page);
            if !full {
                break;
            }
        }
        let documents = self.store().list_documents(tenant, id, true).await?;
        let payment_methods = self.exported_payment_methods(tenant, id).await?;
        let mut access = Vec::new();
        let mut query = AuditQuery { customer_id: Some(id), limit: 1_000, ..AuditQuery::default() };
        loop {
            let page = self.store().list_audit(tenant, &query).await?;
            query.after = page.last().map(|e| e.id);
            let full = page.len() == 1_000;
            access.extend(page.into_iter().map(|e| AccessRecord {
                at: e.at,
                action: e.action,
                actor_role: e.actor_role,
                outcome: e.outcome.as_str().to_owned(),
            }));
            if !full {
                break;
            }
        }
        let entry =
            AuditEntry::new(actor, tenant, AuditAction::PersonalDataExported, "customer", id.as_uuid(), Some(id));
        self.store().record(&[entry], &[]).await?;
        Ok(PersonalDataExport {
            schema: PERSONAL_DATA_SCHEMA.to_owned(),
            exported_at: Timestamp::now(),
            customer: self.view(customer).await?,
            notes,
            blacklist,
            orders,
            documents,
            payment_methods,
            access,
        })
    }
}
