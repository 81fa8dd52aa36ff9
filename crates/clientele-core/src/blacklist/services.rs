//! Blacklist services: adding and lifting entries, the history, the global check made where a
//! rental is being prepared, and the platform admins' view of the global list.

use crate::events::payload;
use crate::events::record::EventType;
use crate::paging::Paging;

use crate::ids::{BlacklistEntryId, GlobalEntryId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::accounts::access::Capability;
use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::blacklist::pseudonyms::normalized_identity;
use crate::blacklist::record::{BlacklistChange, BlacklistEntry, GlobalEntry, GlobalMatch, ReasonCode, Scope};
use crate::blacklist::store::GlobalQuery;
use crate::customers::record::{Customer, CustomerData};
use crate::customers::store::CustomerWrite;
use crate::customers::view::{CustomerView, Warning, WarningCode};
use crate::error::{Error, ErrorCode, FieldCode, FieldErrors, Result};
use crate::ids::{CustomerId, TenantId};
use crate::paging::Page;
use crate::time::Timestamp;
use crate::values::optional_text;

/// `POST /customers/{id}/blacklist`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlacklistInput {
    /// `tenant`, or `global` to also warn every tenant of the platform (anonymously).
    pub scope: Option<Scope>,
    /// `unpaid_balance`, `vehicle_not_returned`, `unpaid_damage`, `chargeback` (both scopes);
    /// `misconduct`, `other` (tenant scope only).
    pub reason_code: Option<String>,
    /// The tenant's own note; it never leaves the tenant.
    pub note: Option<String>,
}

/// `DELETE /customers/{id}/blacklist`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftInput {
    /// Why the entry is lifted.
    pub note: Option<String>,
}

/// A global entry as platform admins see it: no pseudonyms, which are useless without the key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GlobalEntryView {
    /// The entry's id.
    pub id: GlobalEntryId,
    /// Why (a contractual code).
    pub reason_code: ReasonCode,
    /// The flagging tenant.
    pub flagging_tenant_id: TenantId,
    /// The flagging tenant's customer record.
    pub flagging_customer_id: CustomerId,
    /// `active`, `expired` or `lifted`.
    pub status: String,
    /// Fingerprint of the key the pseudonyms were made with.
    pub key_id: String,
    /// When it was added.
    pub created_at: Timestamp,
    /// When it stops matching.
    pub expires_at: Timestamp,
    /// When it was lifted.
    pub lifted_at: Option<Timestamp>,
}

/// One global entry with the flagging tenant's customer record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GlobalEntryDetail {
    /// The entry.
    #[serde(flatten)]
    pub entry: GlobalEntryView,
    /// The flagging tenant's record of the person (absent if it no longer exists).
    pub customer: Option<CustomerView>,
}

/// What a blacklist check found for one person.
#[derive(Debug, Clone, Default)]
pub(crate) struct Hit {
    /// The tenant's own active entry.
    pub tenant: Option<Scope>,
    /// Matching global entries (other than the person's own flag).
    pub global: Vec<GlobalMatch>,
}

impl Hit {
    pub fn is_hit(&self) -> bool {
        self.tenant.is_some() || !self.global.is_empty()
    }

    /// Global if any global hit (own global flag or match), else tenant.
    pub fn is_global(&self) -> bool {
        self.tenant == Some(Scope::Global) || !self.global.is_empty()
    }
}

const NOTE_MAX: usize = 2000;

impl App {
    /// Puts a customer on the tenant's blacklist, and with `scope: global` also on the global
    /// list (which needs first name, last name and birth date). A tenant entry is upgraded to
    /// global by asking for global scope.
    pub async fn blacklist_customer(
        &self,
        actor: &Actor,
        id: CustomerId,
        input: &BlacklistInput,
    ) -> Result<BlacklistEntry> {
        let grant = actor.require(Capability::ManageBlacklist)?;
        let mut errors = FieldErrors::new();
        let scope = input.scope.or_else(|| {
            errors.push("scope", FieldCode::Required, "is required: tenant or global");
            None
        });
        let reason = match input.reason_code.as_deref().map(str::trim) {
            None | Some("") => {
                errors.push("reason_code", FieldCode::Required, "is required");
                None
            }
            Some(code) => ReasonCode::parse(code).or_else(|| {
                let codes: Vec<&str> = ReasonCode::ALL.iter().map(|c| c.as_str()).collect();
                errors.push("reason_code", FieldCode::Invalid, format!("must be one of {}", codes.join(", ")));
                None
            }),
        };
        if let (Some(Scope::Global), Some(reason)) = (scope, reason)
            && !reason.allowed_globally()
        {
            errors.push("reason_code", FieldCode::NotAllowed, "is for the tenant's own list only");
        }
        let note = input.note.as_deref().and_then(|n| errors.take("note", optional_text(n, NOTE_MAX)).flatten());
        let (Some(scope), Some(reason)) = (scope, reason) else { return Err(errors.into_error()) };
        if !errors.is_empty() {
            return Err(errors.into_error());
        }

        let current = self.tenant_customer(grant.tenant_id, id).await?;
        if current.deleted_at.is_some() {
            return Err(Error::conflict(ErrorCode::CustomerDeleted, "the customer is deleted; restore it first"));
        }
        let history = self.store().blacklist_history(grant.tenant_id, id).await?;
        let active = history.into_iter().find(BlacklistEntry::is_active);
        if let Some(active) = &active
            && (active.scope == Scope::Global || active.scope == scope)
        {
            return Err(Error::conflict(
                ErrorCode::AlreadyBlacklisted,
                format!("the customer is already on the {} blacklist; lift it first", active.scope.as_str()),
            ));
        }

        let now = Timestamp::now();
        let entry_id = BlacklistEntryId::new();
        let global = match scope {
            Scope::Tenant => None,
            Scope::Global => Some(Box::new(self.new_global_entry(&current, reason, now)?)),
        };
        let entry = BlacklistEntry {
            id: entry_id,
            tenant_id: grant.tenant_id,
            customer_id: id,
            scope,
            reason_code: reason,
            note,
            created_at: now,
            created_by: actor.user_uuid(),
            lifted_at: None,
            lifted_by: None,
            lift_note: None,
            global_entry_id: global.as_ref().map(|g| g.id),
        };
        let mut changes = Vec::new();
        if let Some(upgraded) = &active {
            changes.push(BlacklistChange::Lift {
                entry_id: Some(upgraded.id),
                at: now,
                by: actor.user_uuid(),
                note: Some("upgraded to the global blacklist".into()),
                global_entry_id: None,
            });
        }
        changes.push(BlacklistChange::Add { entry: entry.clone(), global });
        let updated =
            Customer { blacklist_scope: Some(scope), updated_at: now, version: current.version + 1, ..current.clone() };
        let event = payload::about_customer(
            actor,
            EventType::CustomerBlacklisted,
            &updated,
            [("blacklist", json!({"scope": scope, "reason_code": reason}))],
        );
        let audit =
            AuditEntry::new(actor, grant.tenant_id, AuditAction::BlacklistAdded, "blacklist_entry", entry_id, Some(id))
                .with_changes(json!({"scope": scope, "reason_code": reason, "note": entry.note}))
                .with_event(event);
        let write = CustomerWrite { audit: vec![audit], blacklist: changes, ..CustomerWrite::default() };
        self.store().update_customer(&updated, current.version, &write).await?;
        Ok(entry)
    }

    /// Lifts a customer's active blacklist entry, and the global entry made with it.
    pub async fn lift_blacklist(&self, actor: &Actor, id: CustomerId, input: &LiftInput) -> Result<BlacklistEntry> {
        let grant = actor.require(Capability::ManageBlacklist)?;
        let mut errors = FieldErrors::new();
        let note = errors.take("note", crate::values::required_text(input.note.as_deref().unwrap_or(""), NOTE_MAX));
        let Some(note) = note else { return Err(errors.into_error()) };
        let current = self.tenant_customer(grant.tenant_id, id).await?;
        let history = self.store().blacklist_history(grant.tenant_id, id).await?;
        let Some(active) = history.into_iter().find(BlacklistEntry::is_active) else {
            return Err(Error::conflict(ErrorCode::NotBlacklisted, "the customer is not blacklisted"));
        };
        let now = Timestamp::now();
        let lifted = BlacklistEntry {
            lifted_at: Some(now),
            lifted_by: actor.user_uuid(),
            lift_note: Some(note.clone()),
            ..active
        };
        let change = BlacklistChange::Lift {
            entry_id: Some(lifted.id),
            at: now,
            by: actor.user_uuid(),
            note: Some(note),
            global_entry_id: lifted.global_entry_id,
        };
        let updated =
            Customer { blacklist_scope: None, updated_at: now, version: current.version + 1, ..current.clone() };
        let audit = AuditEntry::new(
            actor,
            grant.tenant_id,
            AuditAction::BlacklistLifted,
            "blacklist_entry",
            lifted.id,
            Some(id),
        )
        .with_changes(json!({"scope": lifted.scope, "note": lifted.lift_note}))
        .with_event(payload::about_customer(
            actor,
            EventType::CustomerUnblacklisted,
            &updated,
            [("blacklist", json!({"scope": lifted.scope}))],
        ));
        let write = CustomerWrite { audit: vec![audit], blacklist: vec![change], ..CustomerWrite::default() };
        self.store().update_customer(&updated, current.version, &write).await?;
        Ok(lifted)
    }

    /// A customer's blacklist entries (added, lifted, by whom, why), newest first.
    pub async fn blacklist_history(&self, actor: &Actor, id: CustomerId) -> Result<Vec<BlacklistEntry>> {
        let grant = actor.require(Capability::ReadBlacklist)?;
        self.tenant_customer(grant.tenant_id, id).await?;
        self.store().blacklist_history(grant.tenant_id, id).await
    }

    /// Platform admins: the global list, newest first.
    pub async fn global_entries(
        &self,
        actor: &Actor,
        include_lifted: bool,
        paging: Paging,
    ) -> Result<Page<GlobalEntryView>> {
        actor.require_platform_admin()?;
        let query =
            GlobalQuery { include_lifted, after: paging.after.map(GlobalEntryId::from_uuid), limit: paging.limit + 1 };
        let mut entries = self.store().list_global_entries(&query).await?;
        let next_cursor = crate::paging::next_cursor(&mut entries, paging.limit as usize, |e| e.id);
        let now = Timestamp::now();
        Ok(Page { items: entries.iter().map(|e| view(e, now)).collect(), next_cursor })
    }

    /// Platform admins: one global entry with the flagging tenant's customer record. The view is
    /// written to the flagging tenant's audit log.
    pub async fn global_entry(&self, actor: &Actor, id: GlobalEntryId) -> Result<GlobalEntryDetail> {
        actor.require_platform_admin()?;
        let entry = self.store().get_global_entry(id).await?.ok_or(Error::NotFound("global entry"))?;
        let customer = self.store().get_customer(entry.flagging_tenant_id, entry.flagging_customer_id).await?;
        let audit = AuditEntry::new(
            actor,
            entry.flagging_tenant_id,
            AuditAction::GlobalEntryViewed,
            "global_entry",
            entry.id,
            Some(entry.flagging_customer_id),
        );
        self.store().record(&[audit], &[]).await?;
        Ok(GlobalEntryDetail {
            entry: view(&entry, Timestamp::now()),
            customer: match customer {
                Some(c) => Some(self.view(c).await?),
                None => None,
            },
        })
    }

    /// Platform admins: lifts a global entry, and with it the flagging tenant's entry (recorded
    /// in that tenant's history and audit log as lifted by a platform administrator).
    pub async fn lift_global_entry(&self, actor: &Actor, id: GlobalEntryId, input: &LiftInput) -> Result<()> {
        actor.require_platform_admin()?;
        let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
        let entry = self.store().get_global_entry(id).await?.ok_or(Error::NotFound("global entry"))?;
        if entry.lifted_at.is_some() {
            return Err(Error::conflict(ErrorCode::NotBlacklisted, "the entry is already lifted"));
        }
        let (tenant, customer_id) = (entry.flagging_tenant_id, entry.flagging_customer_id);
        let current = self.store().get_customer(tenant, customer_id).await?.ok_or(Error::NotFound("customer"))?;
        let history = self.store().blacklist_history(tenant, customer_id).await?;
        let tenant_entry = history.into_iter().find(|e| e.is_active() && e.global_entry_id == Some(id));
        let now = Timestamp::now();
        let note = note.unwrap_or_else(|| "lifted by a platform administrator".into());
        let change = BlacklistChange::Lift {
            entry_id: tenant_entry.as_ref().map(|e| e.id),
            at: now,
            by: actor.user_uuid(),
            note: Some(note.clone()),
            global_entry_id: Some(id),
        };
        let scope = if tenant_entry.is_some() { None } else { current.blacklist_scope };
        let updated =
            Customer { blacklist_scope: scope, updated_at: now, version: current.version + 1, ..current.clone() };
        let mut audit =
            AuditEntry::new(actor, tenant, AuditAction::BlacklistLifted, "global_entry", id, Some(customer_id))
                .with_changes(json!({"scope": "global", "note": note}));
        if tenant_entry.is_some() {
            let lifted = [("blacklist", json!({"scope": "global"}))];
            audit =
                audit.with_event(payload::about_customer(actor, EventType::CustomerUnblacklisted, &updated, lifted));
        }
        let write = CustomerWrite { audit: vec![audit], blacklist: vec![change], ..CustomerWrite::default() };
        self.store().update_customer(&updated, current.version, &write).await
    }

    /// Re-derives every active global entry's pseudonyms with `new_key` from the flagging
    /// tenant's customer records (key rotation). Returns how many entries were re-keyed. Entries
    /// whose customer no longer has first name, last name and birth date keep their old
    /// pseudonyms and are counted in the second number.
    pub async fn rotate_blacklist_key(&self, new_key: &[u8]) -> Result<(usize, usize)> {
        let key = crate::blacklist::pseudonyms::PseudonymKey::new(new_key)?;
        let mut updates = Vec::new();
        let mut skipped = 0;
        let mut after = None;
        loop {
            let page =
                self.store().list_global_entries(&GlobalQuery { include_lifted: false, after, limit: 500 }).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for entry in page {
                let customer = self.store().get_customer(entry.flagging_tenant_id, entry.flagging_customer_id).await?;
                match customer.filter(|c| normalized_identity(&c.data).is_some()) {
                    Some(c) => updates.push((entry.id, key.id(), key.pseudonyms(&c.data))),
                    None => skipped += 1,
                }
            }
        }
        self.store().replace_pseudonyms(&updates).await?;
        Ok((updates.len(), skipped))
    }

    /// The blacklist check made where a rental is being prepared: the tenant's own entry, and
    /// the global list. Matches are audited by whoever writes them (they come back in `Hit`).
    pub(crate) async fn check_blacklist(
        &self,
        tenant: TenantId,
        customer: &Customer,
        data: &CustomerData,
        context: &'static str,
    ) -> Result<Hit> {
        let tenant_scope = customer.blacklist_scope;
        let Some(key) = &self.blacklist.key else { return Ok(Hit { tenant: tenant_scope, global: Vec::new() }) };
        let hashes: Vec<[u8; 32]> = key.pseudonyms(data).into_iter().map(|p| p.hash).collect();
        if hashes.is_empty() {
            return Ok(Hit { tenant: tenant_scope, global: Vec::new() });
        }
        let now = Timestamp::now();
        let ids = self.store().find_global_matches(&hashes, &key.id(), now, (tenant, customer.id)).await?;
        let global = ids
            .into_iter()
            .map(|entry_id| GlobalMatch {
                entry_id,
                tenant_id: tenant,
                customer_id: customer.id,
                context,
                matched_at: now,
            })
            .collect();
        Ok(Hit { tenant: tenant_scope, global })
    }

    /// The audit entry for a global match, in the checking tenant's log. It names neither the
    /// entry nor the flagging tenant.
    pub(crate) fn match_audit(
        &self,
        actor: &Actor,
        tenant: TenantId,
        customer: CustomerId,
        context: &str,
    ) -> AuditEntry {
        AuditEntry::new(
            actor,
            tenant,
            AuditAction::GlobalBlacklistMatched,
            "customer",
            customer.as_uuid(),
            Some(customer),
        )
        .with_reason(context)
    }

    /// The warning shown for a global match: the same words whoever flagged the person.
    pub(crate) fn global_warning(&self) -> Warning {
        Warning {
            code: WarningCode::GloballyBlacklisted,
            message: format!(
                "Not recommended: this person matches the platform's shared blacklist. No further details are \
                 given; the person may contact {} about it.",
                self.blacklist.contact
            ),
            customer_ids: Vec::new(),
        }
    }

    /// The platform's data-protection contact.
    pub fn data_protection_contact(&self) -> &str {
        &self.blacklist.contact
    }

    fn new_global_entry(&self, customer: &Customer, reason: ReasonCode, now: Timestamp) -> Result<GlobalEntry> {
        let mut errors = FieldErrors::new();
        let data = &customer.data;
        if data.first_name.is_none() {
            errors.push("first_name", FieldCode::Required, "is required on the customer for the global blacklist");
        }
        if data.last_name.is_none() {
            errors.push("last_name", FieldCode::Required, "is required on the customer for the global blacklist");
        }
        if data.birth_date.is_none() {
            errors.push("birth_date", FieldCode::Required, "is required on the customer for the global blacklist");
        }
        if !errors.is_empty() {
            return Err(errors.into_error());
        }
        let key = self.blacklist.key.as_ref().ok_or_else(|| {
            Error::bad_request(
                ErrorCode::ServiceUnavailable,
                "the global blacklist is not configured on this server (blacklist.key)",
            )
        })?;
        Ok(GlobalEntry {
            id: GlobalEntryId::new(),
            pseudonyms: key.pseudonyms(data),
            reason_code: reason,
            flagging_tenant_id: customer.tenant_id,
            flagging_customer_id: customer.id,
            key_id: key.id(),
            created_at: now,
            expires_at: add_months(now, self.blacklist.entry_months),
            lifted_at: None,
        })
    }

    /// A customer of the tenant (deleted or not), for admin and operator actions; `404` otherwise.
    pub(crate) async fn tenant_customer(&self, tenant: TenantId, id: CustomerId) -> Result<Customer> {
        self.store().get_customer(tenant, id).await?.ok_or(Error::NotFound("customer"))
    }
}

fn view(entry: &GlobalEntry, now: Timestamp) -> GlobalEntryView {
    let status = match (entry.lifted_at, entry.expires_at <= now) {
        (Some(_), _) => "lifted",
        (None, true) => "expired",
        (None, false) => "active",
    };
    GlobalEntryView {
        id: entry.id,
        reason_code: entry.reason_code,
        flagging_tenant_id: entry.flagging_tenant_id,
        flagging_customer_id: entry.flagging_customer_id,
        status: status.to_owned(),
        key_id: entry.key_id.clone(),
        created_at: entry.created_at,
        expires_at: entry.expires_at,
        lifted_at: entry.lifted_at,
    }
}

/// `at` plus whole calendar months (the day clamped to the month's length).
pub fn add_months(at: Timestamp, months: u32) -> Timestamp {
    let date = at.date();
    let total =
        date.year() * 12 + i32::from(u8::from(date.month())) - 1 + i32::try_from(months).unwrap_or(i32::MAX / 2);
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
    let month = time::Month::try_from(u8::try_from(month0 + 1).unwrap_or(1)).unwrap_or(time::Month::January);
    let day = date.day().min(time::util::days_in_month(month, year));
    let shifted = time::Date::from_calendar_date(year, month, day).unwrap_or(date);
    Timestamp::from_datetime(at.as_datetime().replace_date(shifted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_added_on_the_calendar() {
        let t = Timestamp::parse("2026-01-31T10:00:00Z").unwrap();
        assert_eq!(add_months(t, 1).to_string(), "2026-02-28T10:00:00.000000Z");
        assert_eq!(add_months(t, 36).to_string(), "2029-01-31T10:00:00.000000Z");
        let leap = Timestamp::parse("2028-02-29T00:00:00Z").unwrap();
        assert_eq!(add_months(leap, 12).to_string(), "2029-02-28T00:00:00.000000Z");
    }
}
