//! Typed identifiers. Every id is a UUIDv7 (time-ordered, so keyset pagination by id is
//! pagination by creation time) wrapped in its own type, so a `CustomerId` can never be passed
//! where a `TenantId` is expected.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::error::Result;

/// An OpenAPI `string` schema with an optional well-known format, for types that serialize as text.
pub(crate) fn string_schema(
    format: Option<utoipa::openapi::KnownFormat>,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new().schema_type(Type::String).format(format.map(SchemaFormat::KnownFormat)).build().into()
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps a UUID read from storage or from a parsed request.
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                crate::ids::string_schema(Some(utoipa::openapi::KnownFormat::Uuid))
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

id_type!(
    /// A tenant: one rental company.
    TenantId
);
id_type!(
    /// A user of one tenant.
    UserId
);
id_type!(
    /// A platform administrator (no tenant).
    PlatformAdminId
);
id_type!(
    /// A customer (client, partner company or staff member) of one tenant.
    CustomerId
);
id_type!(
    /// A note on a customer's timeline.
    NoteId
);
id_type!(
    /// An audit-log entry.
    AuditId
);
id_type!(
    /// An order of one tenant.
    OrderId
);
id_type!(
    /// A customer's document (its metadata and its sealed file).
    DocumentId
);
id_type!(
    /// An import job.
    ImportJobId
);
id_type!(
    /// An entry of a tenant's blacklist.
    BlacklistEntryId
);
id_type!(
    /// An entry of the platform's global blacklist.
    GlobalEntryId
);
id_type!(
    /// An event in the outbox: a change as the systems around Clientele hear of it.
    EventId
);
id_type!(
    /// A webhook endpoint of one tenant.
    WebhookId
);
id_type!(
    /// A tenant's rental agency (an office registered with the Ca.R.G.O.S. police portal).
    AgencyId
);
id_type!(
    /// One check or send of an order's Ca.R.G.O.S. record.
    SubmissionId
);
