//! Orders: the minimal rental record customer management needs, and the rules of its
//! status. No order is ever `confirmed` or `active` for a blacklisted customer without a
//! recorded admin override.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::blacklist::record::BlacklistStatus;
use crate::cargos::tables::CargosTables;
use crate::customers::record::DriverLicense;
use crate::customers::view::CustomerView;
use crate::documents::requirements::DocumentsStatus;
use crate::error::{FieldCode, FieldErrors, Result};
use crate::ids::{AgencyId, CustomerId, OrderId, TenantId, UserId};
pub use crate::orders::handover::OrderCargos;
use crate::orders::handover::{HandoverInput, operator};
use crate::time::Timestamp;
use crate::values::required_text;

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// The customer is blacklisted; an operator asked an admin to override.
    AwaitingOverride,
    /// Booked.
    Confirmed,
    /// The vehicle is with the customer.
    Active,
    /// The vehicle is back.
    Completed,
    /// Called off.
    Cancelled,
}

impl OrderStatus {
    /// Every status.
    pub const ALL: [OrderStatus; 5] =
        [Self::AwaitingOverride, Self::Confirmed, Self::Active, Self::Completed, Self::Cancelled];

    /// The status as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingOverride => "awaiting_override",
            Self::Confirmed => "confirmed",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a stored status.
    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == input)
    }

    /// Whether a status change from `self` to `next` is allowed. `awaiting_override` becomes
    /// `confirmed` only through an approved override, never by a status change.
    pub fn can_become(self, next: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!((self, next), (AwaitingOverride | Confirmed, Cancelled) | (Confirmed, Active) | (Active, Completed))
    }
}

/// How the rental is paid (the Ca.R.G.O.S. payment types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentType {
    /// Credit card.
    CreditCard,
    /// Cash.
    Cash,
    /// Debit card.
    DebitCard,
    /// Bank transfer.
    BankTransfer,
    /// Direct debit.
    DirectDebit,
    /// Anything else.
    Other,
}

/// Kinds of vehicle (the Ca.R.G.O.S. vehicle types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VehicleType {
    /// Passenger car.
    Car,
    /// Van.
    Van,
    /// Bus.
    Bus,
    /// Truck.
    Truck,
    /// Road tractor.
    RoadTractor,
    /// Road train.
    RoadTrain,
    /// Articulated vehicle.
    Articulated,
    /// Articulated bus.
    ArticulatedBus,
    /// Motor caravan.
    Camper,
    /// Construction vehicle.
    Construction,
}

macro_rules! str_enum {
    ($name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $name {
            /// The value as stored and shown.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }
            /// Parses a stored value.
            pub fn parse(input: &str) -> Option<Self> {
                match input { $($text => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

impl PaymentType {
    /// The Ca.R.G.O.S. payment type code (table 0, TIPO PAGAMENTO).
    pub fn cargos_code(self) -> &'static str {
        match self {
            Self::CreditCard => "0",
            Self::Cash => "1",
            Self::DebitCard => "2",
            Self::BankTransfer => "3",
            Self::DirectDebit => "4",
            Self::Other => "9",
        }
    }
}

impl VehicleType {
    /// Every type, in the order of Ca.R.G.O.S. table 2.
    pub const ALL: [VehicleType; 10] = [
        Self::Car,
        Self::Van,
        Self::Bus,
        Self::Truck,
        Self::RoadTractor,
        Self::RoadTrain,
        Self::Articulated,
        Self::ArticulatedBus,
        Self::Camper,
        Self::Construction,
    ];

    /// The Ca.R.G.O.S. vehicle type code (table 2, TIPO VEICOLO): one per type, so the type
    /// is the code.
    pub fn cargos_code(self) -> &'static str {
        match self {
            Self::Car => "0",
            Self::Van => "1",
            Self::Bus => "3",
            Self::Truck => "4",
            Self::RoadTractor => "5",
            Self::RoadTrain => "6",
            Self::Articulated => "7",
            Self::ArticulatedBus => "8",
            Self::Camper => "9",
            Self::Construction => "A",
        }
    }

    /// The type of a Ca.R.G.O.S. vehicle type code.
    pub fn from_cargos_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.cargos_code() == code.trim())
    }
}

str_enum!(PaymentType {
    CreditCard => "credit_card", Cash => "cash", DebitCard => "debit_card",
    BankTransfer => "bank_transfer", DirectDebit => "direct_debit", Other => "other",
});
str_enum!(VehicleType {
    Car => "car", Van => "van", Bus => "bus", Truck => "truck", RoadTractor => "road_tractor",
    RoadTrain => "road_train", Articulated => "articulated", ArticulatedBus => "articulated_bus",
    Camper => "camper", Construction => "construction",
});

/// The rented vehicle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Vehicle {
    /// Licence plate.
    pub plate: String,
    /// Make.
    pub make: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Kind of vehicle (default `car`).
    #[serde(rename = "type", default = "default_vehicle_type")]
    pub vehicle_type: VehicleType,
    /// Colour.
    pub colour: Option<String>,
    /// The Ca.R.G.O.S. vehicle type code (table 2) of `type`: `0` car, `1` van, `A` construction
    /// vehicle, ...; may be sent instead of `type`. Always shown.
    #[serde(default)]
    pub type_code: Option<String>,
}

fn default_vehicle_type() -> VehicleType {
    VehicleType::Car
}

/// An admin's decision to let an order go ahead for a blacklisted customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Override {
    /// Why.
    pub reason: String,
    /// Which admin.
    pub by: Option<Uuid>,
    /// When.
    pub at: Timestamp,
}

/// An operator's request for an override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OverrideRequest {
    /// Which user asked.
    pub by: Option<Uuid>,
    /// When.
    pub at: Timestamp,
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Order {
    /// The order's id.
    pub id: OrderId,
    /// The tenant.
    #[serde(skip)]
    pub tenant_id: TenantId,
    /// The renter.
    pub customer_id: CustomerId,
    /// An optional second driver of the vehicle (a customer).
    pub second_driver_id: Option<CustomerId>,
    /// The staff driver (a user with role `driver`) delivering the vehicle.
    pub driver_id: Option<UserId>,
    /// Pick-up time.
    pub pickup_at: Timestamp,
    /// Pick-up place.
    pub pickup_place: String,
    /// Return time.
    pub return_at: Timestamp,
    /// Return place.
    pub return_place: String,
    /// What the Ca.R.G.O.S. record needs beyond the above.
    #[serde(flatten)]
    pub cargos: OrderCargos,
    /// The vehicle.
    pub vehicle: Vehicle,
    /// How it is paid.
    pub payment_type: PaymentType,
    /// Where it stands.
    pub status: OrderStatus,
    /// The blacklist status found when the order was created (`none` when clear).
    pub blacklist_at_creation: BlacklistStatus,
    /// The admin override, if one was given.
    #[serde(rename = "override")]
    pub override_: Option<Override>,
    /// The operator's request for an override, if one was made.
    pub override_request: Option<OverrideRequest>,
    /// Who created it.
    pub created_by: Option<Uuid>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// Incremented on every change.
    pub version: i64,
}

/// `override: {reason}` in a request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideInput {
    /// Why the admin lets the order go ahead.
    pub reason: Option<String>,
}

/// `POST /orders`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    /// The renter.
    pub customer_id: Option<Uuid>,
    /// An optional second driver (a customer of the tenant).
    pub second_driver_id: Option<Uuid>,
    /// The staff driver delivering the vehicle (a user with role `driver`).
    pub driver_id: Option<Uuid>,
    /// Pick-up time (RFC 3339).
    pub pickup_at: Option<String>,
    /// Pick-up place, as shown (free text); optional with `pickup_agency_id` or `pickup_place_code`.
    pub pickup_place: Option<String>,
    /// Return time (RFC 3339), after pick-up.
    pub return_at: Option<String>,
    /// Return place, as shown (free text); optional with `return_agency_id` or `return_place_code`.
    pub return_place: Option<String>,
    /// The agency making the contract; when absent and the tenant has exactly one agency, that one.
    pub agency_id: Option<Uuid>,
    /// The operator as reported to Ca.R.G.O.S. (letters, digits, `-`, `.`; ≤ 50); absent, the
    /// id of the user making the order.
    pub operator_id: Option<String>,
    /// Pick-up at this agency.
    pub pickup_agency_id: Option<Uuid>,
    /// Pick-up elsewhere: the nine-digit Ca.R.G.O.S. place code (search `/api/v1/cargos/places`) ...
    pub pickup_place_code: Option<String>,
    /// ... and the street address.
    pub pickup_address: Option<String>,
    /// Return at this agency.
    pub return_agency_id: Option<Uuid>,
    /// Return elsewhere: the nine-digit Ca.R.G.O.S. place code ...
    pub return_place_code: Option<String>,
    /// ... and the street address.
    pub return_address: Option<String>,
    /// The vehicle.
    pub vehicle: Option<Vehicle>,
    /// How it is paid.
    pub payment_type: Option<PaymentType>,
    /// An admin's override, for a blacklisted customer.
    #[serde(rename = "override")]
    pub override_: Option<OverrideInput>,
    /// An operator's request for an admin override, for a blacklisted customer.
    #[serde(default)]
    pub request_override: bool,
}

/// The validated fields of a new order.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// The renter.
    pub customer_id: CustomerId,
    /// Second driver.
    pub second_driver_id: Option<CustomerId>,
    /// Staff driver.
    pub driver_id: Option<UserId>,
    /// Pick-up time.
    pub pickup_at: Timestamp,
    /// Pick-up place as shown; absent when the services fill it from the agency or place code.
    pub pickup_place: Option<String>,
    /// Return time.
    pub return_at: Timestamp,
    /// Return place as shown; absent when the services fill it.
    pub return_place: Option<String>,
    /// The Ca.R.G.O.S. fields.
    pub cargos: OrderCargos,
    /// Vehicle.
    pub vehicle: Vehicle,
    /// Payment type.
    pub payment_type: PaymentType,
    /// Override reason, when given.
    pub override_reason: Option<String>,
    /// Whether an override was requested.
    pub request_override: bool,
}

/// Reads an override reason: present and non-empty, or a `422` on `override.reason`.
pub fn override_reason(input: &OverrideInput) -> Result<String> {
    reason_field("override.reason", input.reason.as_deref())
}

/// Reads a reason sent as the member `field`: present and non-empty, or a `422` on it.
pub fn reason_field(field: &str, reason: Option<&str>) -> Result<String> {
    let mut errors = FieldErrors::new();
    let reason = errors.take(field, required_text(reason.unwrap_or(""), 1000));
    reason.ok_or_else(|| errors.into_error())
}

impl OrderInput {
    /// Checks every field that needs no lookup but the Ca.R.G.O.S. tables, naming each bad one.
    /// `sole_agency` is the tenant's only agency, if it has exactly one: the order's agency when
    /// none is named, and so where the car is picked up and returned unless the order says.
    pub fn validate(&self, tables: &CargosTables, sole_agency: Option<AgencyId>) -> Result<NewOrder> {
        let agency_id = self.agency_id.map(AgencyId::from_uuid).or(sole_agency);
        let mut e = FieldErrors::new();
        let id = |e: &mut FieldErrors, field: &str, value: Option<Uuid>| {
            if value.is_none() {
                e.push(field, FieldCode::Required, "is required");
            }
            value
        };
        let customer_id = id(&mut e, "customer_id", self.customer_id).map(CustomerId::from_uuid);
        let instant = |e: &mut FieldErrors, field: &str, value: &Option<String>| match value.as_deref() {
            None => {
                e.push(field, FieldCode::Required, "is required");
                None
            }
            Some(text) => Timestamp::parse(text).or_else(|| {
                e.push(field, FieldCode::InvalidDate, "must be an RFC 3339 timestamp, e.g. 2026-12-01T09:00:00Z");
                None
            }),
        };
        let pickup_at = instant(&mut e, "pickup_at", &self.pickup_at);
        let return_at = instant(&mut e, "return_at", &self.return_at);
        if let (Some(pickup), Some(ret)) = (pickup_at, return_at)
            && ret <= pickup
        {
            e.push("return_at", FieldCode::OutOfRange, "must be after pickup_at");
        }
        let pickup = HandoverInput {
            end: "pickup",
            at: pickup_at,
            place: &self.pickup_place,
            agency_id: self.pickup_agency_id,
            implied_agency: agency_id.is_some(),
            place_code: &self.pickup_place_code,
            address: &self.pickup_address,
        };
        let ret = HandoverInput {
            end: "return",
            at: return_at,
            place: &self.return_place,
            agency_id: self.return_agency_id,
            implied_agency: agency_id.is_some(),
            place_code: &self.return_place_code,
            address: &self.return_address,
        };
        let (pickup_place, pickup_code, pickup_address) = pickup.validate(&mut e, tables);
        let (return_place, return_code, return_address) = ret.validate(&mut e, tables);
        let operator_id = operator(&mut e, self.operator_id.as_deref(), tables);
        let cargos = OrderCargos {
            agency_id,
            operator_id,
            pickup_agency_id: self.pickup_agency_id.map(AgencyId::from_uuid),
            pickup_place_code: pickup_code,
            pickup_address,
            return_agency_id: self.return_agency_id.map(AgencyId::from_uuid),
            return_place_code: return_code,
            return_address,
        };
        let vehicle = match &self.vehicle {
            None => {
                e.push("vehicle", FieldCode::Required, "is required");
                None
            }
            Some(v) => {
                let plate: String = v.plate.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
                if plate.is_empty() || plate.len() > 15 || !plate.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                {
                    e.push("vehicle.plate", FieldCode::Invalid, "must be a licence plate of letters and digits");
                }
                let text = |e: &mut FieldErrors, field: &str, value: &Option<String>| {
                    value.as_deref().and_then(|t| e.take(field, crate::values::optional_text(t, 60)).flatten())
                };
                let vehicle_type = match v.type_code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                    None => v.vehicle_type,
                    Some(code) => VehicleType::from_cargos_code(code).unwrap_or_else(|| {
                        let codes: Vec<&str> = VehicleType::ALL.iter().map(|t| t.cargos_code()).collect();
                        let message = format!("must be a Ca.R.G.O.S. vehicle type code: one of {}", codes.join(", "));
                        e.push("vehicle.type_code", FieldCode::Invalid, message);
                        v.vehicle_type
                    }),
                };
                Some(Vehicle {
                    plate,
                    make: text(&mut e, "vehicle.make", &v.make),
                    model: text(&mut e, "vehicle.model", &v.model),
                    vehicle_type,
                    colour: text(&mut e, "vehicle.colour", &v.colour),
                    type_code: Some(vehicle_type.cargos_code().to_owned()),
                })
            }
        };
        let payment_type = self.payment_type.or_else(|| {
            e.push("payment_type", FieldCode::Required, "is required");
            None
        });
        let override_reason = self.override_.as_ref().and_then(|o| match override_reason(o) {
            Ok(reason) => Some(reason),
            Err(crate::Error::Invalid(errors)) => {
                for f in errors {
                    e.push(f.field, f.code, f.message);
                }
                None
            }
            Err(_) => None,
        });
        if self.override_.is_some() && self.request_override {
            e.push("request_override", FieldCode::NotAllowed, "send either override or request_override");
        }
        if self.second_driver_id.is_some() && self.second_driver_id == self.customer_id {
            e.push("second_driver_id", FieldCode::Invalid, "must be another customer than customer_id");
        }
        let (Some(customer_id), Some(pickup_at), Some(return_at)) = (customer_id, pickup_at, return_at) else {
            return Err(e.into_error());
        };
        let (Some(vehicle), Some(payment_type)) = (vehicle, payment_type) else { return Err(e.into_error()) };
        if !e.is_empty() {
            return Err(e.into_error());
        }
        Ok(NewOrder {
            customer_id,
            second_driver_id: self.second_driver_id.map(CustomerId::from_uuid),
            driver_id: self.driver_id.map(UserId::from_uuid),
            pickup_at,
            pickup_place,
            return_at,
            return_place,
            cargos,
            vehicle,
            payment_type,
            override_reason,
            request_override: self.request_override,
        })
    }
}

/// `PATCH /orders/{id}`: change status or drivers.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderPatch {
    /// New status (`cancelled`, `active`, `completed`; see the allowed transitions).
    pub status: Option<OrderStatus>,
    /// New staff driver (`null` to unassign).
    #[serde(default, deserialize_with = "crate::orders::record::some")]
    #[schema(value_type = Option<Uuid>)]
    pub driver_id: Option<Option<Uuid>>,
    /// New second driver (`null` to remove).
    #[serde(default, deserialize_with = "crate::orders::record::some")]
    #[schema(value_type = Option<Uuid>)]
    pub second_driver_id: Option<Option<Uuid>>,
    /// New agency making the contract (`null` to clear).
    #[serde(default, deserialize_with = "crate::orders::record::some")]
    #[schema(value_type = Option<Uuid>)]
    pub agency_id: Option<Option<Uuid>>,
    /// New operator id for Ca.R.G.O.S. (`null`: the user who made the order).
    #[serde(default, deserialize_with = "crate::orders::record::some")]
    #[schema(value_type = Option<String>)]
    pub operator_id: Option<Option<String>>,
    /// New pick-up agency (`null` to clear).
    #[serde(default, deserialize_with = "crate::orders::record::some")]
    #[schema(value_type = Option<Uuid>)]
    pub pickup_agency_id: Option<Option<Uuid>>,
    /// New pick-up place code (`null` to clear; with `pickup_address`).
    #[serde(default, deserialize_with = "crate::orders::record::some")]
    #[schema(value_type = Option<String>)]
    pub pickup_place_code: Option<Option<String>>,
    /// New pick-up address (`null` to clear).
    #[serde(default, deserialize_with = "crate::orders::record::some")]
    #[schema(value_type = Option<String>)]
    pub pickup_address: Option<Option<String>>,
    /// New return agency (`null` to clear).
    #[serde(default, deserialize_with = "crate::orders::record::some")]
    #[schema(value_type = Option<Uuid>)]
    pub return_agency_id: Option<Option<Uuid>>,
    /// New return place code (`null` to clear; with `return_address`).
    #[serde(default, deserialize_with = "crate::orders::record::some")]
    #[schema(value_type = Option<String>)]
    pub return_place_code: Option<Option<String>>,
    /// New return address (`null` to clear).
    #[serde(default, deserialize_with = "crate::orders::record::some")]
    #[schema(value_type = Option<String>)]
    pub return_address: Option<Option<String>>,
    /// An admin's override, needed to activate an order for a customer blacklisted now.
    #[serde(rename = "override")]
    pub override_: Option<OverrideInput>,
    /// The version being changed (or send `If-Match`).
    pub version: Option<i64>,
}

/// Distinguishes an absent member (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn some<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `POST /orders/{id}/approve-override`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveOverride {
    /// Why the admin lets the order go ahead.
    pub reason: Option<String>,
}

/// Stable codes of order warnings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderWarningCode {
    /// The customer has no driving licence on record.
    DriverLicenseMissing,
    /// The driving licence has expired.
    DriverLicenseExpired,
    /// The driving licence expires before the return date.
    DriverLicenseExpiresBeforeReturn,
    /// The customer is on this tenant's blacklist.
    Blacklisted,
    /// The person matches the global blacklist: not recommended. Nothing more is revealed.
    GloballyBlacklisted,
}

/// A warning on an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OrderWarning {
    /// Stable code.
    pub code: OrderWarningCode,
    /// The customer concerned (the renter or the second driver).
    pub customer_id: CustomerId,
    /// Human-readable explanation.
    pub message: String,
}

/// The licence warnings for a driver of an order returning at `return_at`.
pub fn license_warnings(
    customer_id: CustomerId,
    license: Option<&DriverLicense>,
    today: time::Date,
    return_at: Timestamp,
) -> Option<OrderWarning> {
    let (code, message) = match license {
        None => (OrderWarningCode::DriverLicenseMissing, "no driving licence on record".to_owned()),
        Some(l) if l.expires_on < today => {
            (OrderWarningCode::DriverLicenseExpired, format!("the driving licence expired on {}", l.expires_on))
        }
        Some(l) if l.expires_on < return_at.date() => (
            OrderWarningCode::DriverLicenseExpiresBeforeReturn,
            format!("the driving licence expires on {}, before the return date", l.expires_on),
        ),
        Some(_) => return None,
    };
    Some(OrderWarning { code, customer_id, message })
}

/// An order with its warnings, as every order endpoint answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderView {
    /// The order.
    #[serde(flatten)]
    pub order: Order,
    /// Blacklist warnings (when an override was given or requested) and licence warnings, for
    /// the renter and the second driver.
    pub warnings: Vec<OrderWarning>,
}

/// What a driver sees of an order assigned to them: where, when, what and who; nothing about
/// blacklists, overrides or licences.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DriverOrder {
    /// The order's id.
    pub id: OrderId,
    /// The renter.
    pub customer_id: CustomerId,
    /// The second driver, if any.
    pub second_driver_id: Option<CustomerId>,
    /// Pick-up time.
    pub pickup_at: Timestamp,
    /// Pick-up place.
    pub pickup_place: String,
    /// Return time.
    pub return_at: Timestamp,
    /// Return place.
    pub return_place: String,
    /// The vehicle.
    pub vehicle: Vehicle,
    /// Where it stands.
    pub status: OrderStatus,
}

impl From<Order> for DriverOrder {
    fn from(o: Order) -> Self {
        Self {
            id: o.id,
            customer_id: o.customer_id,
            second_driver_id: o.second_driver_id,
            pickup_at: o.pickup_at,
            pickup_place: o.pickup_place,
            return_at: o.return_at,
            return_place: o.return_place,
            vehicle: o.vehicle,
            status: o.status,
        }
    }
}

/// An order as the reader may see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum OrderRead {
    /// Admins and operators: the order with its warnings.
    Full(Box<OrderView>),
    /// The assigned driver.
    Driver(Box<DriverOrder>),
}

/// Everything the order form needs about a customer, in one answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderForm {
    /// The customer with badges (contact, licence, identity document included).
    pub customer: CustomerView,
    /// Whether the customer holds the tenant's required documents.
    pub documents: DocumentsStatus,
    /// Licence warnings as of today.
    pub warnings: Vec<OrderWarning>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awaiting_override_is_left_only_by_approval_or_cancellation() {
        use OrderStatus::*;
        assert!(!AwaitingOverride.can_become(Confirmed));
        assert!(!AwaitingOverride.can_become(Active));
        assert!(AwaitingOverride.can_become(Cancelled));
        assert!(Confirmed.can_become(Active) && Active.can_become(Completed));
        assert!(!Completed.can_become(Active) && !Cancelled.can_become(Confirmed));
    }

    #[test]
    fn return_before_pickup_and_missing_fields_are_named() {
        let input: OrderInput = serde_json::from_value(serde_json::json!({
            "customer_id": Uuid::now_v7(), "pickup_at": "2026-12-02T10:00:00Z", "return_at": "2026-12-01T10:00:00Z",
            "pickup_place": "Roma", "return_place": "Roma", "vehicle": {"plate": "AB 123 CD"}, "payment_type": "cash",
            "override": {"reason": " "}
        }))
        .unwrap();
        let tables = crate::cargos::tables::CargosTables::builtin();
        let crate::Error::Invalid(errors) = input.validate(tables, None).unwrap_err() else { panic!() };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["return_at", "override.reason"]);
    }
}
