//! Listing customers: the list's parameters, checked and named when bad, the filters each role
//! may use, and the page (or the search, when there is a query).

use crate::accounts::access::{Capability, CustomerScope, Grant};
use crate::accounts::auth::Actor;
use crate::app::App;
use crate::customers::record::CustomerKind;
use crate::customers::store::CustomerQuery;
use crate::customers::view::{CustomerContact, CustomerPage, scoped};
use crate::documents::requirements::DocumentsFilter;
use crate::error::{Error, FieldCode, FieldErrors, Result};
use crate::ids::CustomerId;
use crate::paging::{Page, decode_cursor, next_cursor, parse_limit};
use crate::time::Timestamp;
use crate::values::{PhoneStatus, bool_param, instant};

impl App {
    /// A page of the customers the actor may see, newest first. Drivers get the contact fields
    /// of the customers on orders assigned to them.
    pub async fn list_customers(&self, actor: &Actor, request: &ListRequest) -> Result<CustomerPage> {
        let grant = actor.require(Capability::ReadCustomers)?;
        let mut query = self.customer_query(&grant, &request.filters, request.limit).await?;
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
                    || query.documents.is_some()
                    || request.q.is_some();
                if filtered {
                    return Err(Error::Forbidden(
                        "drivers see only the contacts of their customers, without filters or search".into(),
                    ));
                }
            }
        }
        let search = request.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        let (customers, next_cursor) = match search {
            Some(q) => self.search(grant.tenant_id, q, query, request.cursor.as_deref()).await?,
            None => {
                query.after = request.cursor.as_deref().map(decode_cursor).transpose()?.map(CustomerId::from_uuid);
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

    /// The store query for `filters` under `grant`, a page of `limit`.
    pub(crate) async fn customer_query(
        &self,
        grant: &Grant,
        filters: &CustomerFilters,
        limit: u32,
    ) -> Result<CustomerQuery> {
        let documents = match filters.documents {
            None => None,
            Some(complete) => {
                let required = self.tenant(grant.tenant_id).await?.required_documents;
                Some(DocumentsFilter { complete, required, today: Timestamp::now().date() })
            }
        };
        Ok(CustomerQuery {
            scope: grant.scope,
            kind: filters.kind,
            vip: filters.vip,
            blacklisted: filters.blacklisted,
            phone_status: filters.phone_status,
            partner_id: filters.partner_id,
            created_from: filters.created_from,
            created_before: filters.created_before,
            documents,
            include_deleted: filters.include_deleted,
            // The cursor is read by whichever path (list or search) runs.
            after: None,
            limit,
        })
    }
}

/// Which customers a list (or an export) shows: every filter, typed. The server's query
/// parameters and the command line's flags both parse into it ([`CustomerFilters::parse`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFilters {
    /// Only this kind.
    pub kind: Option<CustomerKind>,
    /// Only VIPs (`true`) or only the others.
    pub vip: Option<bool>,
    /// Only blacklisted customers (tenant or global badge), or only the others.
    pub blacklisted: Option<bool>,
    /// Only customers whose phone has this status.
    pub phone_status: Option<PhoneStatus>,
    /// Only clients of this partner company.
    pub partner_id: Option<CustomerId>,
    /// Created at or after.
    pub created_from: Option<Timestamp>,
    /// Created before.
    pub created_before: Option<Timestamp>,
    /// Only customers holding every required document (`true`) or missing one (`false`).
    pub documents: Option<bool>,
    /// Deleted customers too.
    pub include_deleted: bool,
}

/// The filters as text, as a request or a command line has them (absent = not given).
#[derive(Debug, Clone, Copy, Default)]
pub struct FilterText<'a> {
    /// `client`, `partner` or `staff`.
    pub kind: Option<&'a str>,
    /// `true` or `false`.
    pub vip: Option<&'a str>,
    /// `true` or `false`.
    pub blacklisted: Option<&'a str>,
    /// `valid`, `verified` or `unverified`.
    pub phone_status: Option<&'a str>,
    /// A customer id.
    pub partner_id: Option<&'a str>,
    /// A date (`YYYY-MM-DD`, from its start) or an RFC 3339 instant.
    pub created_from: Option<&'a str>,
    /// A date (`YYYY-MM-DD`, the whole day) or an RFC 3339 instant.
    pub created_to: Option<&'a str>,
    /// `complete` or `incomplete`.
    pub documents: Option<&'a str>,
    /// `true` or `false`.
    pub include_deleted: Option<&'a str>,
}

impl CustomerFilters {
    /// Parses the filters, recording each bad one in `errors` under its own name.
    pub fn parse(text: &FilterText<'_>, errors: &mut FieldErrors) -> Self {
        let kind = text.kind.and_then(|k| {
            CustomerKind::parse(k).or_else(|| {
                errors.push("kind", FieldCode::Invalid, "must be client, partner or staff");
                None
            })
        });
        let vip = bool_param(errors, "vip", text.vip);
        let blacklisted = bool_param(errors, "blacklisted", text.blacklisted);
        let phone_status = text.phone_status.and_then(|s| {
            PhoneStatus::parse(s).or_else(|| {
                errors.push("phone_status", FieldCode::Invalid, "must be valid, verified or unverified");
                None
            })
        });
        let include_deleted = bool_param(errors, "include_deleted", text.include_deleted).unwrap_or(false);
        let partner_id = text.partner_id.and_then(|p| match p.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push("partner_id", FieldCode::Invalid, "must be a customer id (UUID)");
                None
            }
        });
        let created_from = text.created_from.and_then(|v| instant(errors, "created_from", v, false));
        let created_before = text.created_to.and_then(|v| instant(errors, "created_to", v, true));
        let documents = text.documents.and_then(|d| match d {
            "complete" => Some(true),
            "incomplete" => Some(false),
            _ => {
                errors.push("documents", FieldCode::Invalid, "must be complete or incomplete");
                None
            }
        });
        Self {
            kind,
            vip,
            blacklisted,
            phone_status,
            partner_id,
            created_from,
            created_before,
            documents,
            include_deleted,
        }
    }
}

/// A page of customers: the filters, a search (optional), the page size, and the position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRequest {
    /// Which customers.
    pub filters: CustomerFilters,
    /// A search: fragments of names, email, tax code, licence number or phone digits.
    pub q: Option<String>,
    /// The page size (1 to 200).
    pub limit: u32,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListRequest {
    /// Parses a list request's text, naming every bad parameter at once (`400 invalid_query`).
    pub fn parse(filters: &FilterText<'_>, q: Option<&str>, limit: Option<&str>, cursor: Option<&str>) -> Result<Self> {
        let mut errors = FieldErrors::new();
        let filters = CustomerFilters::parse(filters, &mut errors);
        let limit = parse_limit(&mut errors, limit);
        if !errors.is_empty() {
            return Err(Error::InvalidQuery(errors.into_vec()));
        }
        Ok(Self { filters, q: q.map(str::to_owned), limit, cursor: cursor.map(str::to_owned) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::MAX_LIMIT;

    #[test]
    fn list_requests_name_every_bad_parameter() {
        let text = FilterText {
            kind: Some("robot"),
            vip: Some("yes"),
            created_to: Some("yesterday"),
            ..FilterText::default()
        };
        match ListRequest::parse(&text, None, Some("0"), None).unwrap_err() {
            Error::InvalidQuery(errors) => {
                let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(names, ["kind", "vip", "created_to", "limit"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_largest_limit_is_taken_and_dates_cover_whole_days() {
        let text =
            FilterText { created_from: Some("2026-01-01"), created_to: Some("2026-01-01"), ..FilterText::default() };
        let request = ListRequest::parse(&text, None, Some("200"), None).unwrap();
        assert_eq!(request.limit, MAX_LIMIT);
        assert_eq!(request.filters.created_from.unwrap().to_string(), "2026-01-01T00:00:00.000000Z");
        assert_eq!(request.filters.created_before.unwrap().to_string(), "2026-01-02T00:00:00.000000Z");
    }
}
