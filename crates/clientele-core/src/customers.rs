//! Customer services: create, read, change, delete, restore, list, notes.
//!
//! Each service asks the actor for its capability first, reads only within the actor's tenant
//! and scope, validates with [`CustomerInput::validate`], and writes the change with its audit
//! entry in one store call.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::access::{Capability, CustomerScope, Grant};
use crate::app::App;
use crate::audit::{AuditAction, AuditEntry, diff, merge_patch};
use crate::auth::Actor;
use crate::customer::{
    Customer, CustomerData, CustomerDetail, CustomerInput, CustomerKind, CustomerView, Note, NoteInput, Rules,
    SavedCustomer, Warning, WarningCode,
};
use crate::error::{Error, ErrorCode, FieldCode, FieldErrors, Result};
use crate::ids::{CustomerId, NoteId, TenantId};
use crate::json;
use crate::store::{CustomerQuery, NewNote};
use crate::time::Timestamp;
use crate::values::{PhoneStatus, parse_date};

/// Default page size of lists.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size; larger requests are capped to it.
pub const MAX_LIMIT: u32 = 200;

/// A page of a keyset-paginated list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Query parameters of `GET /customers`. All are optional; unknown ones are refused.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `client`, `partner` or `staff`.
    #[param(value_type = Option<CustomerKind>)]
    pub kind: Option<String>,
    /// `true` for VIPs only, `false` for non-VIPs only.
    #[param(value_type = Option<bool>)]
    pub vip: Option<String>,
    /// Only clients of this partner company.
    #[param(value_type = Option<uuid::Uuid>)]
    pub partner_id: Option<String>,
    /// Created on or after this date (`YYYY-MM-DD`, UTC) or instant (RFC 3339).
    #[param(value_type = Option<String>)]
    pub created_from: Option<String>,
    /// Created on or before this date (`YYYY-MM-DD`, the whole day, UTC) or instant (RFC 3339).
    #[param(value_type = Option<String>)]
    pub created_to: Option<String>,
    /// Include soft-deleted customers (admins and operators).
    #[param(value_type = Option<bool>)]
    pub include_deleted: Option<String>,
    /// Page size, 1 to 200 (larger values are capped); default 50.
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl App {
    /// Creates a customer. Partner users' customers are linked to their own company.
    pub async fn create_customer(&self, actor: &Actor, input: CustomerInput) -> Result<SavedCustomer> {
        let grant = actor.require(Capability::CreateCustomer)?;
        if input.vip == Some(true) {
            actor.require(Capability::SetVip)?;
        }
        let rules = self.rules(grant.tenant_id).await?;
        let mut errors = FieldErrors::new();
        if input.version.is_some() {
            errors.push("version", FieldCode::NotAllowed, "is only sent when updating");
        }
        let data = collect(&mut errors, input.validate(&rules));
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
        self.check_references(grant.tenant_id, &data, None).await?;

        let now = Timestamp::now();
        let customer = Customer {
            id: CustomerId::new(),
            tenant_id: grant.tenant_id,
            phone_status: data.phone.as_ref().map(|_| PhoneStatus::Valid),
            data,
            vip: input.vip.unwrap_or(false),
            created_at: now,
            updated_at: now,
            created_by: actor.user_uuid(),
            deleted_at: None,
            version: 1,
        };
        let notes: Vec<NewNote> = notes
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
        let audit = self
            .audit(actor, &customer, AuditAction::CustomerCreated)
            .with_changes(diff(&Value::Null, &snapshot(&customer)?));
        self.store().insert_customer(&customer, &notes, &audit).await?;
        let warnings = self.warnings(&customer).await?;
        Ok(SavedCustomer { view: customer.into(), warnings })
    }

    /// A customer with its notes, if the actor may see it; otherwise `404`.
    pub async fn customer(&self, actor: &Actor, id: CustomerId) -> Result<CustomerDetail> {
        let grant = actor.require(Capability::ReadCustomers)?;
        let customer = self.visible_customer(&grant, id).await?;
        let notes = self.store().list_notes(grant.tenant_id, id).await?;
        Ok(CustomerDetail { view: customer.into(), notes })
    }

    /// Applies a JSON merge patch (RFC 7396) to a customer. `expected_version` (from `If-Match`)
    /// or a `version` member in the patch makes the update conditional; a stale one is
    /// `409 version_conflict`. A patch that changes nothing writes nothing.
    pub async fn update_customer(
        &self,
        actor: &Actor,
        id: CustomerId,
        patch: Value,
        expected_version: Option<i64>,
    ) -> Result<SavedCustomer> {
        let grant = actor.require(Capability::UpdateCustomer)?;
        let Value::Object(mut patch) = patch else {
            return Err(Error::invalid("body", FieldCode::InvalidType, "must be a JSON object"));
        };
        let current = self.visible_customer(&grant, id).await?;
        if current.deleted_at.is_some() {
            return Err(Error::conflict(ErrorCode::CustomerDeleted, "the customer is deleted; restore it first"));
        }
        let body_version = match patch.remove("version") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_i64()
                    .ok_or_else(|| Error::invalid("version", FieldCode::InvalidType, "must be an integer"))?,
            ),
        };
        let expected = match (expected_version, body_version) {
            (Some(header), Some(body)) if header != body => {
                return Err(Error::invalid("version", FieldCode::Invalid, "differs from the If-Match header"));
            }
            (header, body) => header.or(body),
        };
        if let Some(expected) = expected.filter(|v| *v != current.version) {
            return Err(version_conflict(expected, current.version));
        }
        let vip = match patch.remove("vip") {
            None => current.vip,
            Some(Value::Bool(vip)) => vip,
            Some(Value::Null) => false,
            Some(_) => {
                return Err(Error::invalid("vip", FieldCode::InvalidType, "must be true or false"));
            }
        };
        if vip != current.vip {
            actor.require(Capability::SetVip)?;
        }
        if patch.contains_key("notes") {
            return Err(Error::invalid("notes", FieldCode::NotAllowed, "add notes with POST /customers/{id}/notes"));
        }

        let before = snapshot(&current)?;
        let mut merged = serde_json::to_value(&current.data).map_err(Error::internal)?;
        merge_patch(&mut merged, &Value::Object(patch));
        let input: CustomerInput = json::from_value(merged)?;
        let data = input.validate(&self.rules(grant.tenant_id).await?)?;
        if data.kind != current.data.kind {
            return Err(Error::invalid("kind", FieldCode::NotAllowed, "cannot change after creation"));
        }
        self.check_references(grant.tenant_id, &data, Some(&current)).await?;

        let phone_changed = data.phone != current.data.phone;
        let mut updated = Customer {
            phone_status: if phone_changed {
                data.phone.as_ref().map(|_| PhoneStatus::Valid)
            } else {
                current.phone_status
            },
            data,
            vip,
            ..current.clone()
        };
        let changes = diff(&before, &snapshot(&updated)?);
        if changes.as_object().is_some_and(|c| c.is_empty()) {
            let warnings = self.warnings(&current).await?;
            return Ok(SavedCustomer { view: current.into(), warnings });
        }
        updated.version = current.version + 1;
        updated.updated_at = Timestamp::now();
        let audit = self.audit(actor, &updated, AuditAction::CustomerUpdated).with_changes(changes);
        self.store().update_customer(&updated, current.version, &audit).await?;
        let warnings = self.warnings(&updated).await?;
        Ok(SavedCustomer { view: updated.into(), warnings })
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
            return Err(version_conflict(expected, current.version));
        }
        let now = Timestamp::now();
        let deleted =
            Customer { deleted_at: Some(now), updated_at: now, version: current.version + 1, ..current.clone() };
        let audit = self.audit(actor, &deleted, AuditAction::CustomerDeleted);
        self.store().update_customer(&deleted, current.version, &audit).await
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
        let audit = self.audit(actor, &restored, AuditAction::CustomerRestored);
        self.store().update_customer(&restored, current.version, &audit).await?;
        Ok(restored.into())
    }

    /// A page of the customers the actor may see, newest first.
    pub async fn list_customers(&self, actor: &Actor, params: &ListParams) -> Result<Page<CustomerView>> {
        let grant = actor.require(Capability::ReadCustomers)?;
        let mut query = parse_list_params(params, grant.scope)?;
        match grant.scope {
            CustomerScope::All => {}
            CustomerScope::Partner(own) => {
                if query.include_deleted {
                    return Err(Error::Forbidden("partners cannot list deleted customers".into()));
                }
                if query.partner_id.is_some_and(|p| p != own) {
                    return Ok(Page { items: Vec::new(), next_cursor: None });
                }
                query.partner_id = Some(own);
            }
            // Drivers see customers through their assigned orders only; the customer list
            // itself shows them none.
            CustomerScope::Driver(_) => {
                return Ok(Page { items: Vec::new(), next_cursor: None });
            }
        }
        let limit = query.limit as usize;
        query.limit += 1;
        let mut customers = self.store().list_customers(grant.tenant_id, &query).await?;
        let next_cursor = if customers.len() > limit {
            customers.truncate(limit);
            customers.last().map(|c| encode_cursor(c.id))
        } else {
            None
        };
        Ok(Page { items: customers.into_iter().map(CustomerView::from).collect(), next_cursor })
    }

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

    /// A customer's notes, newest first.
    pub async fn notes(&self, actor: &Actor, id: CustomerId) -> Result<Vec<Note>> {
        let grant = actor.require(Capability::ReadCustomers)?;
        self.visible_customer(&grant, id).await?;
        self.store().list_notes(grant.tenant_id, id).await
    }

    async fn rules(&self, tenant: TenantId) -> Result<Rules> {
        let tenant = self.tenant(tenant).await?;
        Ok(Rules { phone_region: tenant.phone_region, today: Timestamp::now().date() })
    }

    /// The customer, if it exists in the tenant and the grant's scope covers it.
    async fn visible_customer(&self, grant: &Grant, id: CustomerId) -> Result<Customer> {
        let customer = self.store().get_customer(grant.tenant_id, id).await?;
        customer.filter(|c| visible(grant, c)).ok_or(Error::NotFound("customer"))
    }

    /// Partner and external-ref rules that need the store.
    async fn check_references(&self, tenant: TenantId, data: &CustomerData, current: Option<&Customer>) -> Result<()> {
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
                return Err(Error::Conflict {
                    code: ErrorCode::DuplicateExternalRef,
                    message: "another customer of the tenant has this external_ref".into(),
                    details: Some(serde_json::json!({"customer_id": holder})),
                });
            }
        }
        Ok(())
    }

    async fn warnings(&self, customer: &Customer) -> Result<Vec<Warning>> {
        let Some(email) = &customer.data.email else {
            return Ok(Vec::new());
        };
        let others = self.store().customers_with_email(customer.tenant_id, email, customer.id).await?;
        Ok(if others.is_empty() {
            Vec::new()
        } else {
            vec![Warning {
                code: WarningCode::DuplicateEmail,
                message: format!("{} other customer(s) of this tenant have the email {email}", others.len()),
                customer_ids: others,
            }]
        })
    }

    fn audit(&self, actor: &Actor, customer: &Customer, action: AuditAction) -> AuditEntry {
        AuditEntry::new(actor, customer.tenant_id, action, "customer", customer.id.as_uuid(), Some(customer.id))
    }
}

fn visible(grant: &Grant, customer: &Customer) -> bool {
    match grant.scope {
        CustomerScope::All => true,
        CustomerScope::Partner(own) => customer.data.partner_id == Some(own) && customer.deleted_at.is_none(),
        CustomerScope::Driver(_) => false,
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

fn version_conflict(expected: i64, current: i64) -> Error {
    Error::Conflict {
        code: ErrorCode::VersionConflict,
        message: format!("the customer changed since version {expected}; it is now at version {current}"),
        details: Some(serde_json::json!({"current_version": current})),
    }
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

/// Parses list parameters, naming every bad one (`400 invalid_query`).
fn parse_list_params(params: &ListParams, scope: CustomerScope) -> Result<CustomerQuery> {
    let mut errors = FieldErrors::new();
    let boolean = |errors: &mut FieldErrors, name: &str, value: &Option<String>| match value.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            errors.push(name, FieldCode::Invalid, "must be true or false");
            None
        }
    };
    let kind = params.kind.as_deref().and_then(|k| {
        CustomerKind::parse(k).or_else(|| {
            errors.push("kind", FieldCode::Invalid, "must be client, partner or staff");
            None
        })
    });
    let vip = boolean(&mut errors, "vip", &params.vip);
    let include_deleted = boolean(&mut errors, "include_deleted", &params.include_deleted).unwrap_or(false);
    let partner_id = params.partner_id.as_deref().and_then(|p| match p.parse() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push("partner_id", FieldCode::Invalid, "must be a customer id (UUID)");
            None
        }
    });
    let created_from = params.created_from.as_deref().and_then(|v| instant(&mut errors, "created_from", v, false));
    let created_before = params.created_to.as_deref().and_then(|v| instant(&mut errors, "created_to", v, true));
    let limit = match params.limit.as_deref().map(str::parse::<u32>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if n >= 1 => n.min(MAX_LIMIT),
        Some(_) => {
            errors.push("limit", FieldCode::OutOfRange, format!("must be a whole number from 1 to {MAX_LIMIT}"));
            DEFAULT_LIMIT
        }
    };
    if !errors.is_empty() {
        return Err(Error::InvalidQuery(errors.into_vec()));
    }
    let after = params.cursor.as_deref().map(decode_cursor).transpose()?;
    Ok(CustomerQuery { scope, kind, vip, partner_id, created_from, created_before, include_deleted, after, limit })
}

/// A date or RFC 3339 instant. For the upper bound (`end`), a date means the whole day, and the
/// bound returned is exclusive.
fn instant(errors: &mut FieldErrors, name: &str, value: &str, end: bool) -> Option<Timestamp> {
    if let Some(timestamp) = Timestamp::parse(value) {
        return Some(if end { timestamp.add(std::time::Duration::from_micros(1)) } else { timestamp });
    }
    match parse_date(value) {
        Ok(date) => {
            let day = if end { date.next_day()? } else { date };
            Some(Timestamp::from_datetime(day.midnight().assume_utc()))
        }
        Err(_) => {
            errors.push(name, FieldCode::InvalidDate, "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp");
            None
        }
    }
}

const CURSOR_VERSION: u8 = 1;

fn encode_cursor(id: CustomerId) -> String {
    let mut bytes = vec![CURSOR_VERSION];
    bytes.extend_from_slice(id.as_uuid().as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_cursor(cursor: &str) -> Result<CustomerId> {
    let invalid = || Error::bad_request(ErrorCode::InvalidCursor, "the cursor is not one this server issued");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    match bytes.split_first() {
        Some((&CURSOR_VERSION, id)) => uuid::Uuid::from_slice(id).map(CustomerId::from_uuid).map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = CustomerId::new();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        for bad in ["", "abc", "!!!", &URL_SAFE_NO_PAD.encode([2_u8; 17])] {
            assert_eq!(decode_cursor(bad).unwrap_err().code(), ErrorCode::InvalidCursor, "{bad}");
        }
    }

    #[test]
    fn list_params_name_every_bad_parameter() {
        let params = ListParams {
            kind: Some("robot".into()),
            vip: Some("yes".into()),
            created_to: Some("yesterday".into()),
            limit: Some("0".into()),
            ..ListParams::default()
        };
        match parse_list_params(&params, CustomerScope::All).unwrap_err() {
            Error::InvalidQuery(errors) => {
                let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(names, ["kind", "vip", "created_to", "limit"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn limits_are_capped_and_dates_cover_whole_days() {
        let params = ListParams {
            limit: Some("5000".into()),
            created_from: Some("2026-01-01".into()),
            created_to: Some("2026-01-01".into()),
            ..ListParams::default()
        };
        let query = parse_list_params(&params, CustomerScope::All).unwrap();
        assert_eq!(query.limit, MAX_LIMIT);
        assert_eq!(query.created_from.unwrap().to_string(), "2026-01-01T00:00:00.000000Z");
        assert_eq!(query.created_before.unwrap().to_string(), "2026-01-02T00:00:00.000000Z");
    }
}
