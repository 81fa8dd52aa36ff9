//! The roles table (README.md, "Roles"), as code: which actor may do what, and which customers it sees.
//!
//! Services ask the actor for a capability before doing anything; the HTTP extractors only make
//! the coarse cut (authenticated, tenant member, admin) so that handler signatures state it.

use crate::accounts::auth::{Actor, Principal};
use crate::accounts::user::Role;
use crate::error::{Error, Result};
use crate::ids::{CustomerId, TenantId, UserId};

/// Something an actor may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Create a customer (partners: linked to their own company).
    CreateCustomer,
    /// Read customers (which ones depends on [`CustomerScope`]).
    ReadCustomers,
    /// Change a customer's fields.
    UpdateCustomer,
    /// Add a note to a customer's timeline.
    AddNote,
    /// Soft-delete one customer.
    DeleteCustomer,
    /// Restore a soft-deleted customer.
    RestoreCustomer,
    /// Set or clear the VIP flag.
    SetVip,
    /// Add or lift tenant (and, for own customers, global) blacklist entries.
    ManageBlacklist,
    /// Read a customer's blacklist history (reasons and notes of the own tenant).
    ReadBlacklist,
    /// Create orders and change their status and drivers.
    ManageOrders,
    /// Give an override for a blacklisted customer.
    OverrideBlacklist,
    /// Read orders (drivers: those assigned to them).
    ReadOrders,
    /// Read and change the tenant's settings (required documents).
    ManageSettings,
    /// Read the tenant's audit log.
    ReadAudit,
    /// Import and export whole customer bases.
    BulkExport,
    /// Configure webhooks and other integrations.
    ManageIntegrations,
    /// Revoke the tokens of another user of the tenant (anyone may revoke their own).
    RevokeUserTokens,
    /// Ca.R.G.O.S.: search places, read agencies, see an order's record and its submissions,
    /// check and send it.
    ReportCargos,
    /// Add users to the tenant, change their roles, disable them.
    ManageUsers,
    /// A customer's payment methods (kept in Stripe): start adding one, list, remove, choose the
    /// default. Every refused attempt is audited.
    ManagePaymentMethods,
}

impl Capability {
    /// Whether a tenant user of `role` has this capability (the roles table).
    pub fn allows(self, role: Role) -> bool {
        use Role::*;
        match self {
            Self::CreateCustomer => matches!(role, Admin | Operator | Partner),
            Self::ReadCustomers => true,
            Self::UpdateCustomer | Self::AddNote | Self::DeleteCustomer => matches!(role, Admin | Operator),
            Self::ReadBlacklist | Self::ManageOrders | Self::ReportCargos | Self::ManagePaymentMethods => {
                matches!(role, Admin | Operator)
            }
            Self::ReadOrders => matches!(role, Admin | Operator | Driver),
            Self::RestoreCustomer
            | Self::SetVip
            | Self::ManageBlacklist
            | Self::OverrideBlacklist
            | Self::ManageSettings
            | Self::ReadAudit
            | Self::BulkExport
            | Self::ManageIntegrations
            | Self::RevokeUserTokens
            | Self::ManageUsers => {
                matches!(role, Admin)
            }
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::CreateCustomer => "create customers",
            Self::ReadCustomers => "read customers",
            Self::UpdateCustomer => "change customers",
            Self::AddNote => "add notes",
            Self::DeleteCustomer => "delete customers",
            Self::RestoreCustomer => "restore customers",
            Self::SetVip => "set or clear VIP status",
            Self::ManageBlacklist => "add or lift blacklist entries",
            Self::ReadBlacklist => "read blacklist history",
            Self::ManageOrders => "create or change orders",
            Self::OverrideBlacklist => "override a blacklist hit",
            Self::ReadOrders => "read orders",
            Self::ManageSettings => "change the tenant's settings",
            Self::ReadAudit => "read the audit log",
            Self::BulkExport => "import or export customers",
            Self::ManageIntegrations => "configure webhooks and integrations",
            Self::RevokeUserTokens => "revoke other users' tokens",
            Self::ReportCargos => "report contracts to Ca.R.G.O.S.",
            Self::ManageUsers => "manage users",
            Self::ManagePaymentMethods => "see or change payment methods",
        }
    }
}

/// Which of a tenant's customers an actor may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerScope {
    /// Every customer of the tenant (admins, operators).
    All,
    /// Only customers linked to this partner company (partner users).
    Partner(CustomerId),
    /// Only contact fields of customers on orders assigned to this driver.
    Driver(UserId),
}

/// What a tenant-scoped permission check returns: the tenant to act in, and as which role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The tenant the action is scoped to.
    pub tenant_id: TenantId,
    /// The role the actor acts with (`Admin` for command-line actors).
    pub role: Role,
    /// Which customers the actor sees.
    pub scope: CustomerScope,
}

impl Actor {
    /// The grant for `capability` within the actor's tenant, or `403 forbidden`.
    pub fn require(&self, capability: Capability) -> Result<Grant> {
        let (tenant_id, role, scope) = match *self.principal() {
            Principal::Member(member) => {
                let scope = match (member.role, member.partner_id) {
                    (Role::Partner, Some(partner)) => CustomerScope::Partner(partner),
                    // A partner user without a company sees nothing; it is refused below anyway.
                    (Role::Partner, None) => return Err(forbidden(capability)),
                    (Role::Driver, _) => CustomerScope::Driver(member.user_id),
                    _ => CustomerScope::All,
                };
                (member.tenant_id, member.role, scope)
            }
            Principal::CommandLine(tenant_id) => (tenant_id, Role::Admin, CustomerScope::All),
            Principal::PlatformAdmin(_) => {
                return Err(Error::Forbidden(format!(
                    "platform administrators cannot {} of a tenant",
                    capability.describe()
                )));
            }
            Principal::Integration(_, name) => {
                return Err(Error::Forbidden(format!("the {name} integration cannot {}", capability.describe())));
            }
        };
        if capability.allows(role) { Ok(Grant { tenant_id, role, scope }) } else { Err(forbidden(capability)) }
    }
}

impl Actor {
    /// The platform administrator's id, or `403` for anyone else.
    pub fn require_platform_admin(&self) -> Result<crate::ids::PlatformAdminId> {
        match *self.principal() {
            Principal::PlatformAdmin(id) => Ok(id),
            _ => Err(Error::Forbidden("only platform administrators may do this".into())),
        }
    }
}

fn forbidden(capability: Capability) -> Error {
    Error::Forbidden(format!("your role may not {}", capability.describe()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of the roles table that exist so far, column by column: admin, operator, driver, partner.
    #[test]
    fn capabilities_match_the_roles_table() {
        let table = [
            (Capability::CreateCustomer, [true, true, false, true]),
            (Capability::ReadCustomers, [true, true, true, true]),
            (Capability::UpdateCustomer, [true, true, false, false]),
            (Capability::AddNote, [true, true, false, false]),
            (Capability::DeleteCustomer, [true, true, false, false]),
            (Capability::RestoreCustomer, [true, false, false, false]),
            (Capability::SetVip, [true, false, false, false]),
            (Capability::ManageBlacklist, [true, false, false, false]),
            (Capability::ReadBlacklist, [true, true, false, false]),
            (Capability::ManageOrders, [true, true, false, false]),
            (Capability::OverrideBlacklist, [true, false, false, false]),
            (Capability::ReadOrders, [true, true, true, false]),
            (Capability::ManageSettings, [true, false, false, false]),
            (Capability::ReadAudit, [true, false, false, false]),
            (Capability::BulkExport, [true, false, false, false]),
            (Capability::RevokeUserTokens, [true, false, false, false]),
            (Capability::ReportCargos, [true, true, false, false]),
            (Capability::ManageUsers, [true, false, false, false]),
            (Capability::ManagePaymentMethods, [true, true, false, false]),
        ];
        for (capability, expected) in table {
            for (role, allowed) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(capability.allows(role), allowed, "{capability:?} for {role:?}");
            }
        }
    }
}
