//! What orders need from Ca.R.G.O.S. when they are made and changed: their agencies checked
//! (and the tenant's only agency taken when none is named), the places shown for the agency or
//! place code picked, and, when an order becomes active, the check the tenant's settings ask for.

use crate::app::App;
use crate::cargos::places::PlaceCode;
use crate::cargos::settings::OnActivation;
use crate::cargos::submissions::{Submission, SubmissionAction, SubmissionOrigin, SubmissionStatus};
use crate::cargos::tables::SharedTables;
use crate::error::{Error, FieldCode, Result};
use crate::ids::{AgencyId, SubmissionId, TenantId};
use crate::orders::record::{NewOrder, Order, OrderCargos, OrderPatch};
use crate::time::Timestamp;

impl App {
    /// The Ca.R.G.O.S. tables in use: refreshed ones from the database, or the built-in snapshot.
    pub fn cargos_tables(&self) -> SharedTables {
        self.cargos.tables().0
    }

    /// The tenant's only agency, when it has exactly one (a new order's agency when it names none).
    pub(crate) async fn sole_agency(&self, tenant: TenantId) -> Result<Option<AgencyId>> {
        let agencies = self.store().list_agencies(tenant, false).await?;
        Ok(match agencies.as_slice() {
            [only] => Some(only.id),
            _ => None,
        })
    }

    /// Checks that the agencies `cargos` names are the tenant's and not deleted (those that
    /// `previous` named already are kept as they are).
    pub(crate) async fn check_order_agencies(
        &self,
        tenant: TenantId,
        cargos: &OrderCargos,
        previous: Option<&OrderCargos>,
    ) -> Result<()> {
        let named = [
            ("agency_id", cargos.agency_id, previous.and_then(|p| p.agency_id)),
            ("pickup_agency_id", cargos.pickup_agency_id, previous.and_then(|p| p.pickup_agency_id)),
            ("return_agency_id", cargos.return_agency_id, previous.and_then(|p| p.return_agency_id)),
        ];
        for (field, id, before) in named {
            if let Some(id) = id.filter(|id| Some(*id) != before) {
                self.live_agency(tenant, id, field).await?;
            }
        }
        Ok(())
    }

    async fn live_agency(&self, tenant: TenantId, id: AgencyId, field: &str) -> Result<()> {
        match self.store().get_agency(tenant, id).await? {
            Some(agency) if agency.deleted_at.is_none() => Ok(()),
            _ => Err(Error::invalid(field, FieldCode::UnknownReference, "must be an agency of this tenant")),
        }
    }

    /// The pick-up and return places as shown: as sent, or else the agency's name and address,
    /// or the place's name with the address.
    pub(crate) async fn order_places_shown(&self, tenant: TenantId, new: &NewOrder) -> Result<(String, String)> {
        let c = &new.cargos;
        let pickup = (&new.pickup_place, c.pickup_agency_id.or(c.agency_id), &c.pickup_place_code, &c.pickup_address);
        let ret = (&new.return_place, c.return_agency_id.or(c.agency_id), &c.return_place_code, &c.return_address);
        let mut shown = Vec::with_capacity(2);
        for (given, agency, code, address) in [pickup, ret] {
            let text = match (given, code, agency) {
                (Some(text), _, _) => text.clone(),
                (None, Some(code), _) => {
                    let tables = self.cargos_tables();
                    let place = PlaceCode::parse(code).and_then(|c| tables.places().get(c)).map(|p| p.label());
                    format!("{}, {}", address.as_deref().unwrap_or_default(), place.unwrap_or_else(|| code.clone()))
                }
                (None, None, Some(agency)) => match self.store().get_agency(tenant, agency).await? {
                    Some(agency) => format!("{}, {}", agency.name, agency.address),
                    None => String::new(),
                },
                (None, None, None) => String::new(),
            };
            shown.push(text.chars().take(200).collect::<String>());
        }
        let ret = shown.pop().unwrap_or_default();
        Ok((shown.pop().unwrap_or_default(), ret))
    }

    /// Applies a patch's Ca.R.G.O.S. fields to `order`, checking what changed.
    pub(crate) async fn apply_cargos_patch(
        &self,
        tenant: TenantId,
        order: &mut Order,
        patch: &OrderPatch,
    ) -> Result<()> {
        let before = order.cargos.clone();
        let c = &mut order.cargos;
        let text =
            |value: &Option<String>| value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        if let Some(id) = patch.agency_id {
            c.agency_id = id.map(AgencyId::from_uuid);
        }
        if let Some(operator) = &patch.operator_id {
            c.operator_id = text(operator);
        }
        if let Some(id) = patch.pickup_agency_id {
            c.pickup_agency_id = id.map(AgencyId::from_uuid);
        }
        if let Some(code) = &patch.pickup_place_code {
            c.pickup_place_code = text(code);
        }
        if let Some(address) = &patch.pickup_address {
            c.pickup_address = text(address);
        }
        if let Some(id) = patch.return_agency_id {
            c.return_agency_id = id.map(AgencyId::from_uuid);
        }
        if let Some(code) = &patch.return_place_code {
            c.return_place_code = text(code);
        }
        if let Some(address) = &patch.return_address {
            c.return_address = text(address);
        }
        if order.cargos == before {
            return Ok(());
        }
        order.cargos.validate(order.pickup_at, order.return_at, &self.cargos_tables())?;
        self.check_order_agencies(tenant, &order.cargos, Some(&before)).await
    }

    /// The check an order's activation queues, if the tenant's settings ask for one.
    pub(crate) async fn submission_on_activation(&self, order: &Order) -> Result<Option<Submission>> {
        let settings = self.store().cargos_settings(order.tenant_id).await?;
        let on_activation = settings.map(|s| s.on_activation).unwrap_or_default();
        if on_activation == OnActivation::Off {
            return Ok(None);
        }
        Ok(Some(Submission {
            id: SubmissionId::new(),
            tenant_id: order.tenant_id,
            order_id: order.id,
            action: SubmissionAction::Check,
            status: SubmissionStatus::Pending,
            origin: SubmissionOrigin::Activation,
            then_send: on_activation == OnActivation::CheckAndSend,
            record: None,
            record_sha256: None,
            transaction_id: None,
            errors: Vec::new(),
            failure: None,
            created_by: None,
            created_at: Timestamp::now(),
            finished_at: None,
            attempts: 0,
            lease: None,
        }))
    }
}
