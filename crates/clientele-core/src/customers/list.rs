//! Listing customers: the list's parameters, checked and named when bad, the filters each role
//! may use, and the page (or the search, when there is a query).

use serde::Deserialize;
use utoipa::IntoParams;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::MAX_LIMIT;

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
