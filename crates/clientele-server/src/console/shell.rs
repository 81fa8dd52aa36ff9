//! What every page has around its content: the language, the signed-in person, the navigation
//! their role may use, the CSRF token the forms carry.

use clientele_core::accounts::access::Capability;
use clientele_core::accounts::auth::{Actor, Principal};
use clientele_core::accounts::user::Role;

use crate::console::assets;
use crate::console::i18n::{Locale, Tr};

/// The navigation a role may use.
#[derive(Debug, Clone, Copy, Default)]
pub struct Nav {
    /// Customers (list and search).
    pub customers: bool,
    /// New customer.
    pub new_customer: bool,
    /// New order.
    pub orders: bool,
    /// Imports and exports.
    pub imports: bool,
    /// Admin pages (users, settings, audit log, dashboard).
    pub admin: bool,
    /// A driver's assigned orders.
    pub driver: bool,
    /// The platform's global blacklist.
    pub platform: bool,
}

impl Nav {
    /// What `actor` may reach.
    pub fn of(actor: &Actor) -> Self {
        match actor.principal() {
            Principal::PlatformAdmin(_) => Self { platform: true, ..Self::default() },
            Principal::Member(member) => {
                let can = |c: Capability| actor.require(c).is_ok();
                Self {
                    customers: member.role != Role::Driver,
                    new_customer: can(Capability::CreateCustomer),
                    orders: can(Capability::ManageOrders),
                    imports: can(Capability::BulkExport),
                    admin: can(Capability::ManageUsers),
                    driver: member.role == Role::Driver,
                    platform: false,
                }
            }
            Principal::CommandLine(_) | Principal::Integration(..) => Self::default(),
        }
    }
}

/// The frame of a signed-in page.
#[derive(Debug, Clone)]
pub struct Shell {
    /// The language.
    pub t: Tr,
    /// The page's title.
    pub title: String,
    /// The session's CSRF token, carried by every form and every htmx request.
    pub csrf: String,
    /// The signed-in person's email.
    pub who: String,
    /// Their role's message key (`role-admin`, ...).
    pub role: &'static str,
    /// Their tenant's name (empty for platform admins).
    pub tenant: String,
    /// What they may reach.
    pub nav: Nav,
    /// Which part of the navigation this page belongs to.
    pub section: &'static str,
    /// A message to show once at the top (after a redirect: "Saved").
    pub notice: String,
}

impl Shell {
    /// The htmx request headers every element inherits: the CSRF token.
    pub fn hx_headers(&self) -> String {
        serde_json::json!({ "X-CSRF-Token": self.csrf }).to_string()
    }

    /// The URL of a static file.
    pub fn asset(&self, name: &str) -> String {
        assets::url(name)
    }

    /// The other languages to switch to: (code, name).
    pub fn languages(&self) -> Vec<(&'static str, &'static str)> {
        Locale::ALL
            .into_iter()
            .filter(|l| *l != self.t.locale)
            .map(|l| (l.code(), if l == Locale::It { "Italiano" } else { "English" }))
            .collect()
    }

    /// The `lang` attribute of the page.
    pub fn lang(&self) -> &'static str {
        self.t.locale.code()
    }

    /// `aria-current` for a navigation entry of `section`.
    pub fn current(&self, section: &str) -> &'static str {
        if self.section == section { "page" } else { "false" }
    }
}

/// The frame of a page shown to anyone (log in, errors).
#[derive(Debug, Clone)]
pub struct Bare {
    /// The language.
    pub t: Tr,
    /// The page's title.
    pub title: String,
}

impl Bare {
    /// A bare frame.
    pub fn new(t: Tr, title: String) -> Self {
        Self { t, title }
    }

    /// The URL of a static file.
    pub fn asset(&self, name: &str) -> String {
        assets::url(name)
    }

    /// The `lang` attribute of the page.
    pub fn lang(&self) -> &'static str {
        self.t.locale.code()
    }
}
