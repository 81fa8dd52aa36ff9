//! Orders rows as stored, and their conversion to and from domain types.
//!
//! A record has exactly the columns of its table, in the order of its `*_columns!()` list, with
//! types both backends encode the same way (uuid, text, bool, i64, dates, [`Ts`](crate::db::Ts)).

use clientele_core::blacklist::record::BlacklistStatus;
use clientele_core::ids::{AgencyId, OrderId};
use clientele_core::ids::{CustomerId, TenantId, UserId};
use clientele_core::orders::record::{
    Order, OrderCargos, OrderStatus, Override, OverrideRequest, PaymentType, Vehicle, VehicleType,
};
use clientele_core::{Error, Result};
use uuid::Uuid;

use crate::db::{Ts, corrupt};

/// The 34 columns of `orders`, in the order of [`OrderRecord`].
macro_rules! order_columns {
    () => {
        "tenant_id, id, customer_id, second_driver_id, driver_id, pickup_at, pickup_place, return_at, return_place, \
         vehicle_plate, vehicle_make, vehicle_model, vehicle_type, vehicle_colour, payment_type, status, \
         blacklist_at_creation, override_reason, override_by, override_at, override_requested_by, \
         override_requested_at, created_by, created_at, updated_at, version, agency_id, operator_id, \
         pickup_agency_id, pickup_place_code, pickup_address, return_agency_id, return_place_code, return_address"
    };
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OrderRecord {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub customer_id: Uuid,
    pub second_driver_id: Option<Uuid>,
    pub driver_id: Option<Uuid>,
    pub pickup_at: Ts,
    pub pickup_place: String,
    pub return_at: Ts,
    pub return_place: String,
    pub vehicle_plate: String,
    pub vehicle_make: Option<String>,
    pub vehicle_model: Option<String>,
    pub vehicle_type: String,
    pub vehicle_colour: Option<String>,
    pub payment_type: String,
    pub status: String,
    pub blacklist_at_creation: String,
    pub override_reason: Option<String>,
    pub override_by: Option<Uuid>,
    pub override_at: Option<Ts>,
    pub override_requested_by: Option<Uuid>,
    pub override_requested_at: Option<Ts>,
    pub created_by: Option<Uuid>,
    pub created_at: Ts,
    pub updated_at: Ts,
    pub version: i64,
    pub agency_id: Option<Uuid>,
    pub operator_id: Option<String>,
    pub pickup_agency_id: Option<Uuid>,
    pub pickup_place_code: Option<String>,
    pub pickup_address: Option<String>,
    pub return_agency_id: Option<Uuid>,
    pub return_place_code: Option<String>,
    pub return_address: Option<String>,
}

/// Binds the fields of an [`OrderRecord`] in column order.
macro_rules! bind_order {
    ($query:expr, $r:expr) => {
        $query
            .bind($r.tenant_id)
            .bind($r.id)
            .bind($r.customer_id)
            .bind($r.second_driver_id)
            .bind($r.driver_id)
            .bind($r.pickup_at)
            .bind(&$r.pickup_place)
            .bind($r.return_at)
            .bind(&$r.return_place)
            .bind(&$r.vehicle_plate)
            .bind(&$r.vehicle_make)
            .bind(&$r.vehicle_model)
            .bind(&$r.vehicle_type)
            .bind(&$r.vehicle_colour)
            .bind(&$r.payment_type)
            .bind(&$r.status)
            .bind(&$r.blacklist_at_creation)
            .bind(&$r.override_reason)
            .bind($r.override_by)
            .bind($r.override_at)
            .bind($r.override_requested_by)
            .bind($r.override_requested_at)
            .bind($r.created_by)
            .bind($r.created_at)
            .bind($r.updated_at)
            .bind($r.version)
            .bind($r.agency_id)
            .bind(&$r.operator_id)
            .bind($r.pickup_agency_id)
            .bind(&$r.pickup_place_code)
            .bind(&$r.pickup_address)
            .bind($r.return_agency_id)
            .bind(&$r.return_place_code)
            .bind(&$r.return_address)
    };
}

fn blacklist_status_str(status: BlacklistStatus) -> &'static str {
    match status {
        BlacklistStatus::None => "none",
        BlacklistStatus::Tenant => "tenant",
        BlacklistStatus::Global => "global",
    }
}

impl From<&Order> for OrderRecord {
    fn from(o: &Order) -> Self {
        Self {
            tenant_id: o.tenant_id.as_uuid(),
            id: o.id.as_uuid(),
            customer_id: o.customer_id.as_uuid(),
            second_driver_id: o.second_driver_id.map(|c| c.as_uuid()),
            driver_id: o.driver_id.map(|d| d.as_uuid()),
            pickup_at: o.pickup_at.into(),
            pickup_place: o.pickup_place.clone(),
            return_at: o.return_at.into(),
            return_place: o.return_place.clone(),
            vehicle_plate: o.vehicle.plate.clone(),
            vehicle_make: o.vehicle.make.clone(),
            vehicle_model: o.vehicle.model.clone(),
            vehicle_type: o.vehicle.vehicle_type.as_str().to_owned(),
            vehicle_colour: o.vehicle.colour.clone(),
            payment_type: o.payment_type.as_str().to_owned(),
            status: o.status.as_str().to_owned(),
            blacklist_at_creation: blacklist_status_str(o.blacklist_at_creation).to_owned(),
            override_reason: o.override_.as_ref().map(|x| x.reason.clone()),
            override_by: o.override_.as_ref().and_then(|x| x.by),
            override_at: o.override_.as_ref().map(|x| Ts(x.at)),
            override_requested_by: o.override_request.as_ref().and_then(|x| x.by),
            override_requested_at: o.override_request.as_ref().map(|x| Ts(x.at)),
            created_by: o.created_by,
            created_at: o.created_at.into(),
            updated_at: o.updated_at.into(),
            version: o.version,
            agency_id: o.cargos.agency_id.map(|a| a.as_uuid()),
            operator_id: o.cargos.operator_id.clone(),
            pickup_agency_id: o.cargos.pickup_agency_id.map(|a| a.as_uuid()),
            pickup_place_code: o.cargos.pickup_place_code.clone(),
            pickup_address: o.cargos.pickup_address.clone(),
            return_agency_id: o.cargos.return_agency_id.map(|a| a.as_uuid()),
            return_place_code: o.cargos.return_place_code.clone(),
            return_address: o.cargos.return_address.clone(),
        }
    }
}

impl TryFrom<OrderRecord> for Order {
    type Error = Error;
    fn try_from(r: OrderRecord) -> Result<Self> {
        let blacklist_at_creation = match r.blacklist_at_creation.as_str() {
            "none" => BlacklistStatus::None,
            "tenant" => BlacklistStatus::Tenant,
            "global" => BlacklistStatus::Global,
            other => return Err(corrupt("blacklist status", other)),
        };
        let vehicle_type =
            VehicleType::parse(&r.vehicle_type).ok_or_else(|| corrupt("vehicle type", &r.vehicle_type))?;
        Ok(Order {
            id: OrderId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            customer_id: CustomerId::from_uuid(r.customer_id),
            second_driver_id: r.second_driver_id.map(CustomerId::from_uuid),
            driver_id: r.driver_id.map(UserId::from_uuid),
            pickup_at: r.pickup_at.0,
            pickup_place: r.pickup_place,
            return_at: r.return_at.0,
            return_place: r.return_place,
            cargos: OrderCargos {
                agency_id: r.agency_id.map(AgencyId::from_uuid),
                operator_id: r.operator_id,
                pickup_agency_id: r.pickup_agency_id.map(AgencyId::from_uuid),
                pickup_place_code: r.pickup_place_code,
                pickup_address: r.pickup_address,
                return_agency_id: r.return_agency_id.map(AgencyId::from_uuid),
                return_place_code: r.return_place_code,
                return_address: r.return_address,
            },
            vehicle: Vehicle {
                plate: r.vehicle_plate,
                make: r.vehicle_make,
                model: r.vehicle_model,
                vehicle_type,
                colour: r.vehicle_colour,
                type_code: Some(vehicle_type.cargos_code().to_owned()),
            },
            payment_type: PaymentType::parse(&r.payment_type)
                .ok_or_else(|| corrupt("payment type", &r.payment_type))?,
            status: OrderStatus::parse(&r.status).ok_or_else(|| corrupt("order status", &r.status))?,
            blacklist_at_creation,
            override_: match (r.override_reason, r.override_at) {
                (Some(reason), Some(at)) => Some(Override { reason, by: r.override_by, at: at.0 }),
                _ => None,
            },
            override_request: r
                .override_requested_at
                .map(|at| OverrideRequest { by: r.override_requested_by, at: at.0 }),
            created_by: r.created_by,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
            version: r.version,
        })
    }
}

pub(crate) use bind_order;
pub(crate) use order_columns;
