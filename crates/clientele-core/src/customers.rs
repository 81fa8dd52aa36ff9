//! Customer services: create, read, change, delete, restore, list, notes.
//!
//! Each service asks the actor for its capability first, reads only within the actor's tenant
//! and scope, validates with [`CustomerInput::validate`], and writes the change with its audit
//! entry in one store call.

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::access::{Capability, CustomerScope, Grant};
use crate::app::App;
use crate::audit::{AuditAction, AuditEntry, diff, merge_patch};
use crate::auth::Actor;
use crate::customer::{
    Customer, CustomerContact, CustomerData, CustomerDetail, CustomerInput, CustomerKind, CustomerView, Note,
    NoteInput, Rules, SavedCustomer, Warning, WarningCode,
};
use crate::document::DocumentsFilter;
use crate::error::{Error, ErrorCode, FieldCode, FieldErrors, Result};
use crate::ids::{CustomerId, NoteId, TenantId};
use crate::json;
use crate::search::{SearchTerms, Tier, allowed_edits, classify, corrections, is_selective, variants};
use crate::store::{CustomerQuery, CustomerWrite, NewNote};
use crate::time::Timestamp;
use crate::values::{PhoneStatus, parse_date};

/// The most matches a selective search ranks in memory before asking tier by tier instead.
const SINGLE_PASS_CAP: usize = 1_000;

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

/// A customer as the reader may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // a response value, built once and serialized at once
pub enum CustomerRead {
    /// Admins, operators and partners: the record, badges and notes.
    Full(CustomerDetail),
    /// Drivers: contact fields only.
    Contact(CustomerContact),
}

/// A page of customers as the reader may see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CustomerPage {
    /// Admins, operators and partners.
    Full(Page<CustomerView>),
    /// Drivers: contact fields only.
    Contacts(Page<CustomerContact>),
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
    /// `true` for blacklisted customers only (tenant or global badge), `false` for the others.
    #[param(value_type = Option<bool>)]
    pub blacklisted: Option<String>,
    /// `valid`, `verified` or `unverified` (needs review).
    #[param(value_type = Option<PhoneStatus>)]
    pub phone_status: Option<String>,
    /// Search: fragments of names, email, tax code, licence number or phone digits, accent- and
    /// typo-tolerant; results are ranked (exact word, prefix, substring, typo), then newest first.
    pub q: Option<String>,
    /// Only clients of this partner company.
    #[param(value_type = Option<uuid::Uuid>)]
    pub partner_id: Option<String>,
    /// Created on or after this date (`YYYY-MM-DD`, UTC) or instant (RFC 3339).
    #[param(value_type = Option<String>)]
    pub created_from: Option<String>,
    /// Created on or before this date (`YYYY-MM-DD`, the whole day, UTC) or instant (RFC 3339).
    #[param(value_type = Option<String>)]
    pub created_to: Option<String>,
    /// `incomplete`: only customers missing a required document (an expired one counts as
    /// missing); `complete`: only those holding every one.
    pub documents: Option<String>,
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
    /// Creates a customer. Partner users' customers are linked to their own company. The person
    /// is checked against the global blacklist (a match is a warning and a badge, never a refusal).
    pub async fn create_customer(&self, actor: &Actor, input: CustomerInput) -> Result<SavedCustomer> {
        let grant = actor.require(Capability::CreateCustomer)?;
        let rules = self.rules(grant.tenant_id).await?;
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
        let rules = self.rules(grant.tenant_id).await?;
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
        patch: Value,
        expected_version: Option<i64>,
    ) -> Result<SavedCustomer> {
        let grant = actor.require(Capability::UpdateCustomer)?;
        if !patch.is_object() {
            return Err(Error::invalid("body", FieldCode::InvalidType, "must be a JSON object"));
        }
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
        patch: Value,
        expected_version: Option<i64>,
    ) -> Result<PreparedUpdate> {
        let Value::Object(mut patch) = patch else {
            return Err(Error::invalid("body", FieldCode::InvalidType, "must be a JSON object"));
        };
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
            return Err(Error::version_conflict("customer", expected, current.version));
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
            write.audit.insert(0, self.audit(actor, &updated, AuditAction::CustomerUpdated).with_changes(changes));
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

    /// A page of the customers the actor may see, newest first. Drivers get the contact fields
    /// of the customers on orders assigned to them.
    pub async fn list_customers(&self, actor: &Actor, params: &ListParams) -> Result<CustomerPage> {
        let grant = actor.require(Capability::ReadCustomers)?;
        let mut query = self.customer_query(&grant, params).await?;
        match grant.scope {
            CustomerScope::All => {}
            CustomerScope::Partner(own) => {
                if query.include_deleted {
                    return Err(Error::Forbidden("partners cannot list deleted customers".into()));
                }
                if query.documents.is_some() {
                    return Err(Error::Forbidden("partners see no documents, so cannot filter on them".into()));
                }
                if query.partner_id.is_some_and(|p| p != own) {
                    return Ok(CustomerPage::Full(Page { items: Vec::new(), next_cursor: None }));
                }
                query.partner_id = Some(own);
            }
            CustomerScope::Driver(_) => {
                // Filters and search would reveal more than contact fields (VIP, blacklist,
                // kind, tax code, ...): drivers only page through their customers' contacts.
                let filtered = query.include_deleted
                    || query.kind.is_some()
                    || query.vip.is_some()
                    || query.blacklisted.is_some()
                    || query.phone_status.is_some()
                    || query.partner_id.is_some()
                    || query.created_from.is_some()
                    || query.created_before.is_some()
                    || params.documents.is_some()
                    || params.q.is_some();
                if filtered {
                    return Err(Error::Forbidden(
                        "drivers see only the contacts of their customers, without filters or search".into(),
                    ));
                }
            }
        }
        let search = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        let (customers, next_cursor) = match search {
            Some(q) => self.search(grant.tenant_id, q, query, params.cursor.as_deref()).await?,
            None => {
                query.after = params.cursor.as_deref().map(decode_cursor).transpose()?.map(CustomerId::from_uuid);
                let limit = query.limit as usize;
                query.limit += 1;
                let mut customers = self.store().list_customers(grant.tenant_id, &query).await?;
                let next_cursor = next_cursor(&mut customers, limit, |c| c.id.as_uuid());
                (customers, next_cursor)
            }
        };
        Ok(match grant.scope {
            CustomerScope::Driver(_) => CustomerPage::Contacts(Page {
                items: customers.into_iter().map(CustomerContact::from).collect(),
                next_cursor,
            }),
            scope => {
                let views = self.views(grant.tenant_id, customers).await?;
                CustomerPage::Full(Page { items: views.into_iter().map(|v| scoped(v, scope)).collect(), next_cursor })
            }
        })
    }

    /// The store query for the list parameters `params` under `grant`.
    pub(crate) async fn customer_query(&self, grant: &Grant, params: &ListParams) -> Result<CustomerQuery> {
        let mut query = parse_list_params(params, grant.scope)?;
        if let Some(documents) = params.documents.as_deref() {
            let complete = match documents {
                "complete" => true,
                "incomplete" => false,
                _ => return Err(Error::invalid_query("documents", "must be complete or incomplete")),
            };
            let required = self.tenant(grant.tenant_id).await?.required_documents;
            query.documents = Some(DocumentsFilter { complete, required, today: Timestamp::now().date() });
        }
        Ok(query)
    }

    /// Searches in tiers (exact word, prefix, substring, typo), each newest first, until the page
    /// is full. The cursor carries the tier and position reached, and a fingerprint of the query.
    async fn search(
        &self,
        tenant: TenantId,
        q: &str,
        mut query: CustomerQuery,
        cursor: Option<&str>,
    ) -> Result<(Vec<Customer>, Option<String>)> {
        // A query with nothing searchable in it (only symbols or emoji) finds nobody.
        let Some(mut terms) = SearchTerms::parse(q) else { return Ok((Vec::new(), None)) };
        let fingerprint = terms.fingerprint(&query.filters_key());
        let (start, after) = match cursor {
            Some(cursor) => decode_search_cursor(cursor, fingerprint)?,
            None => (Tier::Exact, None),
        };
        // Typo candidates, word by word, so that one word's neighbourhood cannot crowd out another's.
        for term in terms.long.iter_mut().filter(|t| allowed_edits(&t.word) > 0 && t.alternatives.is_empty()) {
            let candidates =
                self.store().search_vocabulary(tenant, &variants(&term.word, allowed_edits(&term.word))).await?;
            term.corrections = corrections(&term.word, &candidates);
        }
        let limit = query.limit as usize;
        let tiers = terms.tiers();
        let mut found: Vec<(Tier, i64)> = Vec::new();
        // Where the tier-by-tier search starts.
        let (mut next_tier, mut next_after) = (start, after);
        if is_selective(&terms) && start <= Tier::Substring {
            // Few customers match a selective query: fetch every match down to the substring tier
            // in one pass and rank in memory, instead of scanning the index once per tier. If there
            // turn out to be many, fall back to asking tier by tier, which stops as soon as a page
            // is full. Typo matches rank after all of these, so they are asked for only if the
            // page is not full yet.
            query.limit = u32::try_from(SINGLE_PASS_CAP + 1).unwrap_or(u32::MAX);
            let matches = self.store().search_matches(tenant, &terms, Tier::Substring, false, &query, None).await?;
            if matches.len() <= SINGLE_PASS_CAP {
                let mut all: Vec<(Tier, i64)> =
                    matches.iter().filter_map(|m| Some((classify(&terms, &m.text)?, m.rowid))).collect();
                all.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
                let past_cursor = |(tier, rowid): &(Tier, i64)| match after {
                    Some(after) => (*tier, std::cmp::Reverse(*rowid)) > (start, std::cmp::Reverse(after)),
                    None => true,
                };
                found = all.into_iter().filter(past_cursor).take(limit + 1).collect();
                (next_tier, next_after) = (Tier::Typo, None);
            }
        }
        if found.len() <= limit {
            for tier in tiers.into_iter().filter(|t| *t >= next_tier) {
                query.limit = u32::try_from(limit + 1 - found.len()).unwrap_or(1);
                let after = if tier == next_tier { next_after } else { None };
                let matches = self.store().search_matches(tenant, &terms, tier, true, &query, after).await?;
                found.extend(matches.into_iter().map(|m| (tier, m.rowid)));
                if found.len() > limit {
                    break;
                }
            }
        }
        let next = if found.len() > limit {
            found.truncate(limit);
            found.last().map(|(tier, rowid)| encode_search_cursor(*tier, *rowid, fingerprint))
        } else {
            None
        };
        // Only the page's customers are read in full, in one query.
        let rowids: Vec<i64> = found.iter().map(|(_, rowid)| *rowid).collect();
        let customers = self.store().customers_by_search_rowid(tenant, &rowids).await?;
        Ok((customers, next))
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

    /// A customer's notes, newest first (not for drivers, who see contact fields only).
    pub async fn notes(&self, actor: &Actor, id: CustomerId) -> Result<Vec<Note>> {
        let grant = actor.require(Capability::ReadCustomers)?;
        if let CustomerScope::Driver(_) = grant.scope {
            return Err(Error::NotFound("customer"));
        }
        self.visible_customer(&grant, id).await?;
        self.store().list_notes(grant.tenant_id, id).await
    }

    async fn rules(&self, tenant: TenantId) -> Result<Rules> {
        let tenant = self.tenant(tenant).await?;
        Ok(Rules { phone_region: tenant.phone_region, today: Timestamp::now().date() })
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

    fn audit(&self, actor: &Actor, customer: &Customer, action: AuditAction) -> AuditEntry {
        AuditEntry::new(actor, customer.tenant_id, action, "customer", customer.id.as_uuid(), Some(customer.id))
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

/// Parses list parameters, naming every bad one (`400 invalid_query`).
fn parse_list_params(params: &ListParams, scope: CustomerScope) -> Result<CustomerQuery> {
    let mut errors = FieldErrors::new();
    let kind = params.kind.as_deref().and_then(|k| {
        CustomerKind::parse(k).or_else(|| {
            errors.push("kind", FieldCode::Invalid, "must be client, partner or staff");
            None
        })
    });
    let vip = bool_param(&mut errors, "vip", params.vip.as_deref());
    let blacklisted = bool_param(&mut errors, "blacklisted", params.blacklisted.as_deref());
    let phone_status = params.phone_status.as_deref().and_then(|s| {
        PhoneStatus::parse(s).or_else(|| {
            errors.push("phone_status", FieldCode::Invalid, "must be valid, verified or unverified");
            None
        })
    });
    let include_deleted =
        bool_param(&mut errors, "include_deleted", params.include_deleted.as_deref()).unwrap_or(false);
    let partner_id = params.partner_id.as_deref().and_then(|p| match p.parse() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push("partner_id", FieldCode::Invalid, "must be a customer id (UUID)");
            None
        }
    });
    let created_from = params.created_from.as_deref().and_then(|v| instant(&mut errors, "created_from", v, false));
    let created_before = params.created_to.as_deref().and_then(|v| instant(&mut errors, "created_to", v, true));
    let limit = parse_limit(&mut errors, params.limit.as_deref());
    if !errors.is_empty() {
        return Err(Error::InvalidQuery(errors.into_vec()));
    }
    // The cursor is read by whichever path (list or search) runs.
    let after = None;
    Ok(CustomerQuery {
        scope,
        kind,
        vip,
        blacklisted,
        phone_status,
        partner_id,
        created_from,
        created_before,
        documents: None,
        include_deleted,
        after,
        limit,
    })
}

/// A view as the grant may see it: partner users see no documents, not even their status.
fn scoped(mut view: CustomerView, scope: CustomerScope) -> CustomerView {
    if let CustomerScope::Partner(_) = scope {
        view.documents = None;
    }
    view
}

/// A `true`/`false` query parameter; anything else is recorded as an error on `name`.
pub(crate) fn bool_param(errors: &mut FieldErrors, name: &str, value: Option<&str>) -> Option<bool> {
    match value {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            errors.push(name, FieldCode::Invalid, "must be true or false");
            None
        }
    }
}

/// A date or RFC 3339 instant. For the upper bound (`end`), a date means the whole day, and the
/// bound returned is exclusive.
pub(crate) fn instant(errors: &mut FieldErrors, name: &str, value: &str, end: bool) -> Option<Timestamp> {
    if let Some(timestamp) = Timestamp::parse(value) {
        return Some(if end { timestamp.add(std::time::Duration::from_micros(1)) } else { timestamp });
    }
    let in_range = |date: &time::Date| (Timestamp::MIN_YEAR..=Timestamp::MAX_YEAR).contains(&date.year());
    match parse_date(value) {
        Ok(date) if in_range(&date) => {
            let day = if end { date.next_day().unwrap_or(date) } else { date };
            Some(Timestamp::from_datetime(day.midnight().assume_utc()))
        }
        Ok(_) => {
            errors.push(name, FieldCode::OutOfRange, "must be between 1900 and 9998");
            None
        }
        Err(_) => {
            errors.push(name, FieldCode::InvalidDate, "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp");
            None
        }
    }
}

const CURSOR_VERSION: u8 = 1;

/// An opaque keyset cursor: the id of the last item of a page.
pub(crate) fn encode_cursor(id: Uuid) -> String {
    let mut bytes = vec![CURSOR_VERSION];
    bytes.extend_from_slice(id.as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads a cursor made by [`encode_cursor`]; `400 invalid_cursor` otherwise.
pub(crate) fn decode_cursor(cursor: &str) -> Result<Uuid> {
    let invalid = || Error::bad_request(ErrorCode::InvalidCursor, "the cursor is not one this server issued");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    match bytes.split_first() {
        Some((&CURSOR_VERSION, id)) => Uuid::from_slice(id).map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

const SEARCH_CURSOR_VERSION: u8 = 2;

/// A search cursor: tier, search rowid, and the query's fingerprint.
fn encode_search_cursor(tier: Tier, rowid: i64, fingerprint: u32) -> String {
    let mut bytes = vec![SEARCH_CURSOR_VERSION, tier as u8];
    bytes.extend_from_slice(&rowid.to_be_bytes());
    bytes.extend_from_slice(&fingerprint.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads a search cursor; `400 invalid_cursor` if it is malformed or made for another query.
fn decode_search_cursor(cursor: &str, fingerprint: u32) -> Result<(Tier, Option<i64>)> {
    let invalid =
        || Error::bad_request(ErrorCode::InvalidCursor, "the cursor is not one this server issued for this search");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let [SEARCH_CURSOR_VERSION, tier, rest @ ..] = bytes.as_slice() else { return Err(invalid()) };
    let (rowid, print) = rest.split_at_checked(8).ok_or_else(invalid)?;
    let rowid = i64::from_be_bytes(rowid.try_into().map_err(|_| invalid())?);
    let print = u32::from_be_bytes(print.try_into().map_err(|_| invalid())?);
    let tier = Tier::from_number(*tier).ok_or_else(invalid)?;
    if print != fingerprint {
        return Err(invalid());
    }
    Ok((tier, Some(rowid)))
}

/// Page size and keyset position of a list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    pub after: Option<Uuid>,
    pub limit: u32,
}

/// Reads `limit` (default 50, capped at 200) and `cursor` of a simple list.
pub(crate) fn parse_paging(limit: Option<&str>, cursor: Option<&str>) -> Result<Paging> {
    let mut errors = FieldErrors::new();
    let limit = parse_limit(&mut errors, limit);
    if !errors.is_empty() {
        return Err(Error::InvalidQuery(errors.into_vec()));
    }
    Ok(Paging { after: cursor.map(decode_cursor).transpose()?, limit })
}

pub(crate) fn parse_limit(errors: &mut FieldErrors, limit: Option<&str>) -> u32 {
    match limit.map(str::parse::<u32>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if n >= 1 => n.min(MAX_LIMIT),
        Some(_) => {
            errors.push("limit", FieldCode::OutOfRange, format!("must be a whole number from 1 to {MAX_LIMIT}"));
            DEFAULT_LIMIT
        }
    }
}

/// Trims a page fetched with one extra item to `limit` and returns the cursor of the next page
/// (`None` on the last page).
pub(crate) fn next_cursor<T>(items: &mut Vec<T>, limit: usize, id: impl Fn(&T) -> Uuid) -> Option<String> {
    if items.len() > limit {
        items.truncate(limit);
        items.last().map(|item| encode_cursor(id(item)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
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
