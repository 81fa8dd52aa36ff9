//! Customer services: create, read, change, delete, restore, list.
//!
//! Each service asks the actor for its capability first, reads only within the actor's tenant
//! and scope, validates with [`CustomerInput::validate`], and writes the change with its audit
//! entry in one store call.

use crate::customers::patch::CustomerPatch;
use crate::events::payload;
use crate::events::record::EventType;

use std::collections::HashSet;

use serde_json::Value;

use crate::accounts::access::{Capability, CustomerScope, Grant};
use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::customers::input::{CustomerInput, Rules};
use crate::customers::notes::{Note, NoteInput};
use crate::customers::record::{Customer, CustomerData, CustomerKind};
use crate::customers::store::{CustomerWrite, NewNote};
use crate::customers::view::{CustomerDetail, CustomerRead, CustomerView, SavedCustomer, Warning, WarningCode, scoped};
use crate::error::{Error, ErrorCode, FieldCode, FieldErrors, Result};
use crate::ids::{CustomerId, NoteId, TenantId};
use crate::json;
use crate::json::{diff, merge_patch};
use crate::time::Timestamp;
use crate::values::PhoneStatus;

/// What [`App::create_customers`] did.
#[derive(Debug, Default)]
pub struct BulkOutcome {
    /// The customers created, in input order.
    pub created: Vec<CustomerId>,
    /// The rows refused, by input index, with why.
    pub rejected: Vec<(usize, Error)>,
    /// How many created customers matched the global blacklist.
    pub globally_blacklisted: usize,
}

/// New customers, validated and ready to write, and the inputs refused.
#[derive(Debug, Default)]
pub(crate) struct PreparedCustomers {
    /// Each customer with what is written with it, in input order.
    pub prepared: Vec<(Customer, CustomerWrite)>,
    /// The inputs refused, by index, with why.
    pub rejected: Vec<(usize, Error)>,
}

/// An update, validated and ready to write.
#[derive(Debug)]
pub(crate) enum PreparedUpdate {
    /// The patch changes nothing; `write` holds the global check's matches, if any, to record.
    Unchanged {
        /// The customer as it is.
        current: Customer,
        /// Audit entries and matches of the check.
        write: CustomerWrite,
        /// Whether the global check matched.
        matched: bool,
    },
    /// The customer as it will be, written only if still at `expected_version`.
    Changed {
        /// The new state, with its new version.
        updated: Customer,
        /// The version it was made from.
        expected_version: i64,
        /// Audit entries and matches written with it.
        write: CustomerWrite,
        /// Whether the global check matched.
        matched: bool,
    },
}

impl App {
    /// Creates a customer. Partner users' customers are linked to their own company. The person
    /// is checked against the global blacklist (a match is a warning and a badge, never a refusal).
    pub async fn create_customer(&self, actor: &Actor, input: CustomerInput) -> Result<SavedCustomer> {
        let grant = actor.require(Capability::CreateCustomer)?;
        let rules = self.customer_rules(grant.tenant_id).await?;
        let (customer, write) =
            self.prepare_new_customer(actor, &grant, &rules, CustomerId::new(), input, &mut HashSet::new()).await?;
        self.store().insert_customer(&customer, &write).await?;
        let warnings = self.warnings(&grant, &customer, !write.global_matches.is_empty()).await?;
        Ok(SavedCustomer { view: scoped(self.view(customer).await?, grant.scope), warnings })
    }

    /// Creates many customers at once, each validated exactly as [`App::create_customer`]
    /// validates one. Valid rows are committed together; each invalid row is reported with its
    /// index and never takes the others down. (The import jobs build on this.)
    pub async fn create_customers(&self, actor: &Actor, inputs: Vec<CustomerInput>) -> Result<BulkOutcome> {
        self.create_customers_with_ids(actor, inputs.into_iter().map(|i| (CustomerId::new(), i)).collect()).await
    }

    /// [`App::create_customers`] with the ids chosen by the caller.
    async fn create_customers_with_ids(
        &self,
        actor: &Actor,
        inputs: Vec<(CustomerId, CustomerInput)>,
    ) -> Result<BulkOutcome> {
        let grant = actor.require(Capability::CreateCustomer)?;
        let PreparedCustomers { prepared, rejected } = self.prepare_new_customers(actor, inputs).await?;
        let outcome = BulkOutcome {
            created: prepared.iter().map(|(customer, _)| customer.id).collect(),
            globally_blacklisted: prepared.iter().filter(|(_, write)| !write.global_matches.is_empty()).count(),
            rejected,
        };
        self.store().insert_customers(grant.tenant_id, &prepared).await?;
        Ok(outcome)
    }

    /// Validates new customers (with ids chosen by the caller: imports choose ids that a
    /// resumed job recognises) exactly as [`App::create_customer`] validates one, and builds
    /// each with what is written with it; writes nothing.
    pub(crate) async fn prepare_new_customers(
        &self,
        actor: &Actor,
        inputs: Vec<(CustomerId, CustomerInput)>,
    ) -> Result<PreparedCustomers> {
        let grant = actor.require(Capability::CreateCustomer)?;
        let rules = self.customer_rules(grant.tenant_id).await?;
        let mut refs_in_batch = HashSet::new();
        let mut outcome = PreparedCustomers { prepared: Vec::with_capacity(inputs.len()), rejected: Vec::new() };
        for (index, (id, input)) in inputs.into_iter().enumerate() {
            match self.prepare_new_customer(actor, &grant, &rules, id, input, &mut refs_in_batch).await {
                Ok(prepared) => outcome.prepared.push(prepared),
                Err(error) => outcome.rejected.push((index, error)),
            }
        }
        Ok(outcome)
    }

    /// Validates a new customer and builds it with everything written with it: first notes,
    /// audit entries, and the global check's matches. `external_refs` collects the refs of a
    /// batch, so that a batch cannot hold one twice.
    async fn prepare_new_customer(
        &self,
        actor: &Actor,
        grant: &Grant,
        rules: &Rules,
        id: CustomerId,
        input: CustomerInput,
        external_refs: &mut HashSet<String>,
    ) -> Result<(Customer, CustomerWrite)> {
        let vip = input.vip.unwrap_or(false);
        if vip {
            actor.require(Capability::SetVip)?;
        }
        if input.notes.as_ref().is_some_and(|n| !n.is_empty()) {
            actor.require(Capability::AddNote)?;
        }
        let mut errors = FieldErrors::new();
        if input.version.is_some() {
            errors.push("version", FieldCode::NotAllowed, "is only sent when updating");
        }
        let data = collect(&mut errors, input.validate(rules));
        let notes = collect(&mut errors, input.validate_notes());
        let (Some(mut data), Some(notes)) = (data, notes) else {
            return Err(errors.into_error());
        };
        if !errors.is_empty() {
            return Err(errors.into_error());
        }
        if let CustomerScope::Partner(own) = grant.scope {
            restrict_to_partner(&mut data, own)?;
        }
        if let Some(external_ref) = &data.external_ref
            && !external_refs.insert(external_ref.clone())
        {
            return Err(Error::conflict(
                ErrorCode::DuplicateExternalRef,
                "the external_ref appears twice in the batch",
            ));
        }
        self.check_references(grant, &data, None).await?;

        let now = Timestamp::now();
        let mut customer = Customer {
            id,
            tenant_id: grant.tenant_id,
            phone_status: data.phone.as_ref().map(|_| PhoneStatus::Valid),
            data,
            vip,
            vip_changed_at: vip.then_some(now),
            vip_changed_by: if vip { actor.user_uuid() } else { None },
            blacklist_scope: None,
            global_match_at: None,
            created_at: now,
            updated_at: now,
            created_by: actor.user_uuid(),
            deleted_at: None,
            version: 1,
        };
        let notes = notes
            .into_iter()
            .map(|body| NewNote {
                id: NoteId::new(),
                tenant_id: grant.tenant_id,
                customer_id: customer.id,
                author_id: actor.user_uuid(),
                body,
                created_at: now,
            })
            .collect();
        let hit = self.check_blacklist(grant.tenant_id, &customer, &customer.data, "customer_created").await?;
        let mut write = CustomerWrite { notes, ..CustomerWrite::default() };
        write.audit.push(
            self.audit(actor, &customer, AuditAction::CustomerCreated)
                .with_changes(diff(&Value::Null, &snapshot(&customer)?)),
        );
        if vip {
            write.audit.push(self.audit(actor, &customer, AuditAction::VipSet));
        }
        if !hit.global.is_empty() {
            customer.global_match_at = Some(now);
            write.audit.push(self.match_audit(actor, grant.tenant_id, customer.id, "customer_created"));
            write.global_matches = hit.global;
        }
        Ok((customer, write))
    }

    /// A customer with its notes, if the actor may see it; otherwise `404`. Drivers get the
    /// contact fields of customers on orders assigned to them, and nothing else.
    pub async fn customer(&self, actor: &Actor, id: CustomerId) -> Result<CustomerRead> {
        let grant = actor.require(Capability::ReadCustomers)?;
        let customer = self.visible_customer(&grant, id).await?;
        if let CustomerScope::Driver(_) = grant.scope {
            return Ok(CustomerRead::Contact(customer.into()));
        }
        let notes = self.store().list_notes(grant.tenant_id, id).await?;
        Ok(CustomerRead::Full(CustomerDetail { view: scoped(self.view(customer).await?, grant.scope), notes }))
    }

    /// Applies a JSON merge patch (RFC 7396) to a customer. `expected_version` (from `If-Match`)
    /// or a `version` member in the patch makes the update conditional; a stale one is
    /// `409 version_conflict`. A patch that changes nothing writes nothing.
    pub async fn update_customer(
        &self,
        actor: &Actor,
        id: CustomerId,
        patch: CustomerPatch,
        expected_version: Option<i64>,
    ) -> Result<SavedCustomer> {
        let grant = actor.require(Capability::UpdateCustomer)?;
        let current = self.visible_customer(&grant, id).await?;
        let (customer, matched) = match self.prepare_update(actor, &grant, current, patch, expected_version).await? {
            PreparedUpdate::Unchanged { current, write, matched } => {
                // Nothing to write but the check itself, which is always audited when it matches.
                self.store().record(&write.audit, &write.global_matches).await?;
                (current, matched)
            }
            PreparedUpdate::Changed { updated, expected_version, write, matched } => {
                self.store().update_customer(&updated, expected_version, &write).await?;
                (updated, matched)
            }
        };
        let warnings = self.warnings(&grant, &customer, matched).await?;
        Ok(SavedCustomer { view: self.view(customer).await?, warnings })
    }

    /// Validates a merge patch of `current` (which the grant may see) and builds what to write,
    /// writing nothing: the update services and the import jobs share it.
    pub(crate) async fn prepare_update(
        &self,
        actor: &Actor,
        grant: &Grant,
        current: Customer,
        patch: CustomerPatch,
        expected_version: Option<i64>,
    ) -> Result<PreparedUpdate> {
        if current.deleted_at.is_some() {
            return Err(Error::conflict(ErrorCode::CustomerDeleted, "the customer is deleted; restore it first"));
        }
        let expected = match (expected_version, patch.version()) {
            (Some(header), Some(body)) if header != body => {
                return Err(Error::invalid("version", FieldCode::Invalid, "differs from the If-Match header"));
            }
            (header, body) => header.or(body),
        };
        if let Some(expected) = expected.filter(|v| *v != current.version) {
            return Err(Error::version_conflict("customer", expected, current.version));
        }
        let vip = patch.vip().unwrap_or(current.vip);
        if vip != current.vip {
            actor.require(Capability::SetVip)?;
        }

        let before = snapshot(&current)?;
        let mut merged = serde_json::to_value(&current.data).map_err(Error::internal)?;
        merge_patch(&mut merged, &Value::Object(patch.fields().clone()));
        let input: CustomerInput = json::from_value(merged)?;
        let data = input.validate(&self.customer_rules(grant.tenant_id).await?)?;
        if data.kind != current.data.kind {
            return Err(Error::invalid("kind", FieldCode::NotAllowed, "cannot change after creation"));
        }
        self.check_references(grant, &data, Some(&current)).await?;

        let now = Timestamp::now();
        let hit = self.check_blacklist(grant.tenant_id, &current, &data, "customer_updated").await?;
        let matched = !hit.global.is_empty();
        let phone_changed = data.phone != current.data.phone;
        let vip_changed = vip != current.vip;
        let mut updated = Customer {
            phone_status: if phone_changed {
                data.phone.as_ref().map(|_| PhoneStatus::Valid)
            } else {
                current.phone_status
            },
            data,
            vip,
            vip_changed_at: if vip_changed { Some(now) } else { current.vip_changed_at },
            vip_changed_by: if vip_changed { actor.user_uuid() } else { current.vip_changed_by },
            global_match_at: if matched { Some(now) } else { None },
            ..current.clone()
        };
        let changes = diff(&before, &snapshot(&updated)?);
        let mut write = CustomerWrite { global_checked: true, ..CustomerWrite::default() };
        if matched {
            write.audit.push(self.match_audit(actor, grant.tenant_id, current.id, "customer_updated"));
            write.global_matches = hit.global;
        }
        let unchanged = changes.as_object().is_some_and(|c| c.is_empty());
        if unchanged && matched == current.global_match_at.is_some() {
            return Ok(PreparedUpdate::Unchanged { current, write, matched });
        }
        updated.version = current.version + 1;
        updated.updated_at = now;
        if !unchanged {
            write.audit.insert(
                0,
                updated_audit(self.audit(actor, &updated, AuditAction::CustomerUpdated), actor, &updated, changes),
            );
        }
        if vip_changed {
            let action = if vip { AuditAction::VipSet } else { AuditAction::VipCleared };
            write.audit.push(self.audit(actor, &updated, action));
        }
        Ok(PreparedUpdate::Changed { updated, expected_version: current.version, write, matched })
    }

    /// Soft-deletes a customer: it leaves lists and search but keeps its history. Deleting a
    /// deleted customer changes nothing.
    pub async fn delete_customer(&self, actor: &Actor, id: CustomerId, expected_version: Option<i64>) -> Result<()> {
        let grant = actor.require(Capability::DeleteCustomer)?;
        let current = self.visible_customer(&grant, id).await?;
        if current.deleted_at.is_some() {
            return Ok(());
        }
        if let Some(expected) = expected_version.filter(|v| *v != current.version) {
            return Err(Error::version_conflict("customer", expected, current.version));
        }
        let now = Timestamp::now();
        let deleted =
            Customer { deleted_at: Some(now), updated_at: now, version: current.version + 1, ..current.clone() };
        let write = CustomerWrite::audited(self.audit(actor, &deleted, AuditAction::CustomerDeleted));
        self.store().update_customer(&deleted, current.version, &write).await
    }

    /// Restores a soft-deleted customer (admins).
    pub async fn restore_customer(&self, actor: &Actor, id: CustomerId) -> Result<CustomerView> {
        let grant = actor.require(Capability::RestoreCustomer)?;
        let current = self.visible_customer(&grant, id).await?;
        if current.deleted_at.is_none() {
            return Err(Error::conflict(ErrorCode::Conflict, "the customer is not deleted"));
        }
        let now = Timestamp::now();
        let restored = Customer { deleted_at: None, updated_at: now, version: current.version + 1, ..current.clone() };
        let write = CustomerWrite::audited(self.audit(actor, &restored, AuditAction::CustomerRestored));
        self.store().update_customer(&restored, current.version, &write).await?;
        self.view(restored).await
    }

    /// What validating a customer of `tenant` needs: its phone region and today's date.
    pub(crate) async fn customer_rules(&self, tenant: TenantId) -> Result<Rules> {
        let tenant = self.tenant(tenant).await?;
        Ok(Rules { phone_region: tenant.phone_region, today: Timestamp::now().date(), cargos: self.cargos_tables() })
    }

    /// The customer, if it exists in the tenant and the grant's scope covers it.
    pub(crate) async fn visible_customer(&self, grant: &Grant, id: CustomerId) -> Result<Customer> {
        let customer = self.store().get_customer(grant.tenant_id, id).await?;
        let customer = customer.filter(|c| visible(grant, c)).ok_or(Error::NotFound("customer"))?;
        if let CustomerScope::Driver(driver) = grant.scope
            && !self.store().is_assigned_to_driver(grant.tenant_id, driver, id).await?
        {
            return Err(Error::NotFound("customer"));
        }
        Ok(customer)
    }

    /// Partner and external-ref rules that need the store. For partner users, a conflicting
    /// external_ref is refused without naming the customer who holds it.
    async fn check_references(&self, grant: &Grant, data: &CustomerData, current: Option<&Customer>) -> Result<()> {
        let tenant = grant.tenant_id;
        if let Some(partner) = data.partner_id {
            let linked_already = current.is_some_and(|c| c.data.partner_id == Some(partner));
            if !linked_already {
                let company = self.store().get_customer(tenant, partner).await?;
                if !company.is_some_and(|c| c.data.kind == CustomerKind::Partner && c.deleted_at.is_none()) {
                    return Err(Error::invalid(
                        "partner_id",
                        FieldCode::UnknownReference,
                        "must be a partner company of this tenant",
                    ));
                }
            }
        }
        if let Some(external_ref) = &data.external_ref {
            let holder = self.store().customer_with_external_ref(tenant, external_ref).await?;
            if let Some(holder) = holder.filter(|h| Some(*h) != current.map(|c| c.id)) {
                let details = match grant.scope {
                    CustomerScope::All => Some(serde_json::json!({"customer_id": holder})),
                    _ => None,
                };
                return Err(Error::Conflict {
                    code: ErrorCode::DuplicateExternalRef,
                    message: "another customer of the tenant has this external_ref".into(),
                    details,
                });
            }
        }
        Ok(())
    }

    /// The warnings of a saved customer. A partner user is told only of duplicates among its own
    /// company's clients: the rest of the tenant is not theirs to know about.
    async fn warnings(&self, grant: &Grant, customer: &Customer, globally_blacklisted: bool) -> Result<Vec<Warning>> {
        let mut warnings = Vec::new();
        if globally_blacklisted {
            warnings.push(self.global_warning());
        }
        let Some(email) = &customer.data.email else { return Ok(warnings) };
        let partner = match grant.scope {
            CustomerScope::Partner(own) => Some(own),
            _ => None,
        };
        let others = self.store().customers_with_email(customer.tenant_id, email, customer.id, partner).await?;
        if !others.is_empty() {
            warnings.push(Warning {
                code: WarningCode::DuplicateEmail,
                message: format!("{} other customer(s) of this tenant have the email {email}", others.len()),
                customer_ids: others,
            });
        }
        Ok(warnings)
    }

    /// The audit entry of a change to `customer`, with the event it publishes (updates add
    /// theirs with the changed fields: [`updated_audit`]).
    fn audit(&self, actor: &Actor, customer: &Customer, action: AuditAction) -> AuditEntry {
        let entry =
            AuditEntry::new(actor, customer.tenant_id, action, "customer", customer.id.as_uuid(), Some(customer.id));
        let event = match action {
            AuditAction::CustomerCreated => {
                Some(payload::about_customer(actor, EventType::CustomerCreated, customer, []))
            }
            AuditAction::CustomerDeleted => {
                Some(payload::about_customer(actor, EventType::CustomerDeleted, customer, []))
            }
            AuditAction::CustomerRestored => {
                Some(payload::about_customer(actor, EventType::CustomerRestored, customer, []))
            }
            AuditAction::VipSet | AuditAction::VipCleared => {
                let vip = ("vip", Value::Bool(customer.vip));
                Some(payload::about_customer(actor, EventType::CustomerVipChanged, customer, [vip]))
            }
            _ => None,
        };
        match event {
            Some(event) => entry.with_event(event),
            None => entry,
        }
    }
}

fn visible(grant: &Grant, customer: &Customer) -> bool {
    match grant.scope {
        CustomerScope::All => true,
        CustomerScope::Partner(own) => customer.data.partner_id == Some(own) && customer.deleted_at.is_none(),
        // Checked against the driver's orders by the caller.
        CustomerScope::Driver(_) => customer.deleted_at.is_none(),
    }
}

/// A partner user creates clients of its own company only.
fn restrict_to_partner(data: &mut CustomerData, own: CustomerId) -> Result<()> {
    let mut errors = FieldErrors::new();
    if data.kind != CustomerKind::Client {
        errors.push("kind", FieldCode::NotAllowed, "partners create clients only");
    }
    if data.partner_id.is_some_and(|p| p != own) {
        errors.push("partner_id", FieldCode::NotAllowed, "must be your own partner company");
    }
    data.partner_id = Some(own);
    if errors.is_empty() { Ok(()) } else { Err(errors.into_error()) }
}

/// The audited view of a customer: the written fields plus VIP.
fn snapshot(customer: &Customer) -> Result<Value> {
    let mut value = serde_json::to_value(&customer.data).map_err(Error::internal)?;
    if let Value::Object(map) = &mut value {
        map.insert("vip".into(), Value::Bool(customer.vip));
    }
    Ok(value)
}

fn collect<T>(errors: &mut FieldErrors, result: Result<T>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(Error::Invalid(fields)) => {
            for f in fields {
                errors.push(f.field, f.code, f.message);
            }
            None
        }
        Err(other) => {
            errors.push("body", FieldCode::Invalid, other.to_string());
            None
        }
    }
}

impl App {
    /// Adds a note to a customer's timeline.
    pub async fn add_note(&self, actor: &Actor, id: CustomerId, input: &NoteInput) -> Result<Note> {
        let grant = actor.require(Capability::AddNote)?;
        let body = input.validate()?;
        let customer = self.visible_customer(&grant, id).await?;
        let note = NewNote {
            id: NoteId::new(),
            tenant_id: grant.tenant_id,
            customer_id: customer.id,
            author_id: actor.user_uuid(),
            body,
            created_at: Timestamp::now(),
        };
        let audit =
            AuditEntry::new(actor, grant.tenant_id, AuditAction::NoteAdded, "note", note.id.as_uuid(), Some(id));
        self.store().insert_note(&note, &audit).await?;
        let notes = self.store().list_notes(grant.tenant_id, id).await?;
        notes.into_iter().find(|n| n.id == note.id).ok_or_else(|| Error::internal("a note just written is missing"))
    }

    /// A customer's notes, newest first (not for drivers, who see contact fields only).
    pub async fn notes(&self, actor: &Actor, id: CustomerId) -> Result<Vec<Note>> {
        let grant = actor.require(Capability::ReadCustomers)?;
        if let CustomerScope::Driver(_) = grant.scope {
            return Err(Error::NotFound("customer"));
        }
        self.visible_customer(&grant, id).await?;
        self.store().list_notes(grant.tenant_id, id).await
    }
}

impl App {
    /// Customers as shown: record, badges, and documents status under the tenant's requirements.
    pub(crate) async fn views(&self, tenant: TenantId, customers: Vec<Customer>) -> Result<Vec<CustomerView>> {
        if customers.is_empty() {
            return Ok(Vec::new());
        }
        let required = self.tenant(tenant).await?.required_documents;
        let ids: Vec<CustomerId> = customers.iter().map(|c| c.id).collect();
        let held = self.store().documents_held(tenant, &ids).await?;
        let today = Timestamp::now().date();
        Ok(customers
            .into_iter()
            .map(|customer| {
                let own: Vec<_> = held
                    .iter()
                    .filter(|(c, _, _)| *c == customer.id)
                    .map(|(_, kind, expiry)| (*kind, *expiry))
                    .collect();
                CustomerView::new(customer, required.status(&own, today))
            })
            .collect())
    }

    /// One customer as shown.
    pub(crate) async fn view(&self, customer: Customer) -> Result<CustomerView> {
        let tenant = customer.tenant_id;
        let mut views = self.views(tenant, vec![customer]).await?;
        views.pop().ok_or_else(|| Error::internal("a view of one customer is one view"))
    }
}

/// The audit entry of an update, with what changed and the `customer.updated` event naming the
/// changed fields (VIP apart: it has `customer.vip_changed` of its own).
fn updated_audit(entry: AuditEntry, actor: &Actor, customer: &Customer, changes: Value) -> AuditEntry {
    let fields: Vec<Value> = changes
        .as_object()
        .map(|c| c.keys().filter(|k| *k != "vip").cloned().map(Value::String).collect())
        .unwrap_or_default();
    let entry = entry.with_changes(changes);
    if fields.is_empty() {
        return entry;
    }
    let changed = [("changed_fields", Value::Array(fields))];
    entry.with_event(payload::about_customer(actor, EventType::CustomerUpdated, customer, changed))
}
