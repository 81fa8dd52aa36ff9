//! The payment-method services: start adding one (a SetupIntent for Stripe.js), list, remove,
//! choose the default, and what a person's data export says of them.
//!
//! Admins and operators may do all of it; anyone else is refused with `403`, and every attempt,
//! allowed or refused, leaves one audit entry (who, role, when, address, device, request id, and
//! the endpoint in the reason), as for documents. Stripe is called only for an existing customer
//! of a tenant that has Stripe set up.

use std::sync::Arc;

use serde_json::json;

use crate::accounts::access::{Capability, Grant};
use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry, Outcome};
use crate::customers::record::Customer;
use crate::error::{Error, ErrorCode, Result};
use crate::ids::{CustomerId, TenantId};
use crate::payments::api::{NewSetupIntent, NewStripeCustomer, StripeApi, StripeAuth};
use crate::payments::record::{
    ExportedPaymentMethod, ExportedPaymentMethods, PaymentMethodView, PaymentSetup, StripeId, StripeLink,
};
use crate::payments::settings::StripeMode;
use crate::time::Timestamp;

/// What a secret key is sealed for (bound into the ciphertext).
pub(crate) const SECRET_KEY_PURPOSE: &str = "stripe-secret-key";
/// What a webhook signing secret is sealed for.
pub(crate) const WEBHOOK_SECRET_PURPOSE: &str = "stripe-webhook-secret";

/// What a payment-method request is for: its audit action and the endpoint it came in by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Setup,
    View,
    Remove,
    Default,
}

impl Access {
    fn action(self) -> AuditAction {
        match self {
            Self::Setup => AuditAction::PaymentSetup,
            Self::View => AuditAction::PaymentMethodsViewed,
            Self::Remove => AuditAction::PaymentMethodRemoved,
            Self::Default => AuditAction::PaymentMethodDefaultSet,
        }
    }

    fn endpoint(self) -> &'static str {
        match self {
            Self::Setup => "POST /api/v1/customers/{id}/payment-methods/setup",
            Self::View => "GET /api/v1/customers/{id}/payment-methods",
            Self::Remove => "DELETE /api/v1/customers/{id}/payment-methods/{pm_id}",
            Self::Default => "POST /api/v1/customers/{id}/payment-methods/{pm_id}/default",
        }
    }
}

/// Who calls Stripe for a tenant, and with what the browser initialises Stripe.js.
pub(crate) struct StripeCall {
    pub api: Arc<dyn StripeApi>,
    pub auth: StripeAuth,
    pub publishable_key: String,
}

/// A fresh idempotency key for one POST (the client reuses it across its retries).
fn fresh_key(what: &str) -> String {
    format!("clientele-{what}-{}", uuid::Uuid::new_v4())
}

fn not_configured(message: &str) -> Error {
    Error::conflict(ErrorCode::PaymentsNotConfigured, message)
}

/// The name a Stripe customer is made with: the person's, or the company's.
fn display_name(customer: &Customer) -> Option<String> {
    let d = &customer.data;
    let person: Vec<&str> =
        [d.first_name.as_ref(), d.last_name.as_ref()].into_iter().flatten().map(|n| n.as_str()).collect();
    if person.is_empty() { d.company_name.clone() } else { Some(person.join(" ")) }
}

impl App {
    /// Starts adding a payment method to a customer: makes its Stripe customer on first use,
    /// then a SetupIntent (`usage=off_session`, automatic payment methods), and answers what
    /// Stripe.js needs to collect the card in the browser. Only for an existing, non-deleted
    /// customer (`404`, `409 customer_deleted`; Stripe is not called).
    pub async fn payment_setup(&self, actor: &Actor, customer_id: CustomerId) -> Result<PaymentSetup> {
        self.payment_attempt(actor, Access::Setup, customer_id, None, async |app, grant| {
            let customer = app.payment_customer(&grant, customer_id).await?;
            if customer.deleted_at.is_some() {
                return Err(Error::conflict(ErrorCode::CustomerDeleted, "the customer is deleted; restore it first"));
            }
            let call = app.stripe_call(grant.tenant_id).await?;
            let link = app.stripe_customer(actor, &call, &customer).await?;
            let metadata = vec![
                ("clientele_id".to_owned(), customer_id.to_string()),
                ("clientele_tenant_id".to_owned(), grant.tenant_id.to_string()),
            ];
            let intent = NewSetupIntent { customer: link.stripe_customer_id, metadata };
            let made = call.api.create_setup_intent(&call.auth, &fresh_key("setup"), &intent).await?;
            Ok(PaymentSetup {
                customer_id,
                setup_intent_id: made.id,
                client_secret: made.client_secret,
                publishable_key: call.publishable_key,
                stripe_account: call.auth.account,
            })
        })
        .await
    }

    /// A customer's payment methods, read from Stripe (reused for a few seconds), default
    /// marked. A customer without a Stripe customer has none, and Stripe is not asked.
    pub async fn payment_methods(&self, actor: &Actor, customer_id: CustomerId) -> Result<Vec<PaymentMethodView>> {
        self.list_payment_methods(actor, customer_id, false).await
    }

    /// The customer's payment methods read from Stripe now, not from the last few seconds'
    /// list: for the page a browser returns to once Stripe.js has added one (Stripe's webhook
    /// telling the same may not have arrived yet).
    pub async fn fresh_payment_methods(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
    ) -> Result<Vec<PaymentMethodView>> {
        self.list_payment_methods(actor, customer_id, true).await
    }

    /// The customer's list (audited as a view), read from Stripe afresh when `fresh`.
    async fn list_payment_methods(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        fresh: bool,
    ) -> Result<Vec<PaymentMethodView>> {
        self.payment_attempt(actor, Access::View, customer_id, None, async |app, grant| {
            app.payment_customer(&grant, customer_id).await?;
            let call = app.stripe_call(grant.tenant_id).await?;
            if fresh {
                app.payments.forget_list(grant.tenant_id, customer_id);
            }
            app.read_payment_methods(&call, grant.tenant_id, customer_id).await
        })
        .await
    }

    /// Where browsers load Stripe.js from (the console's card form).
    pub fn stripe_js_url(&self) -> &str {
        &self.payments.settings.js_url
    }

    /// Detaches one of the customer's payment methods from it in Stripe. A method of anyone
    /// else is `404`.
    pub async fn remove_payment_method(&self, actor: &Actor, customer_id: CustomerId, method: &StripeId) -> Result<()> {
        self.payment_attempt(actor, Access::Remove, customer_id, Some(method), async |app, grant| {
            let (call, _) = app.owned_method(&grant, customer_id, method).await?;
            call.api.detach_payment_method(&call.auth, &fresh_key("detach"), method.as_str()).await?;
            app.payments.forget_list(grant.tenant_id, customer_id);
            Ok(())
        })
        .await
    }

    /// Makes one of the customer's payment methods its default
    /// (`invoice_settings.default_payment_method`); answers the list.
    pub async fn set_default_payment_method(
        &self,
        actor: &Actor,
        customer_id: CustomerId,
        method: &StripeId,
    ) -> Result<Vec<PaymentMethodView>> {
        self.payment_attempt(actor, Access::Default, customer_id, Some(method), async |app, grant| {
            let (call, link) = app.owned_method(&grant, customer_id, method).await?;
            let key = fresh_key("default");
            call.api.set_default_payment_method(&call.auth, &key, &link.stripe_customer_id, method.as_str()).await?;
            app.payments.forget_list(grant.tenant_id, customer_id);
            app.read_payment_methods(&call, grant.tenant_id, customer_id).await
        })
        .await
    }

    /// What a person's data export says of their payment methods: whether a Stripe customer is
    /// linked, and each method's brand and last four digits. Stripe failing leaves a note, not
    /// a failed export.
    pub(crate) async fn exported_payment_methods(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<ExportedPaymentMethods> {
        if self.store().stripe_link(tenant, customer).await?.is_none() {
            return Ok(ExportedPaymentMethods { linked: false, methods: Vec::new(), unavailable: None });
        }
        let read = async {
            let call = self.stripe_call(tenant).await?;
            self.read_payment_methods(&call, tenant, customer).await
        };
        match read.await {
            Ok(methods) => Ok(ExportedPaymentMethods {
                linked: true,
                methods: methods
                    .into_iter()
                    .map(|m| ExportedPaymentMethod { brand: m.brand.or(Some(m.kind)), last4: m.last4 })
                    .collect(),
                unavailable: None,
            }),
            Err(Error::Internal(context)) => Err(Error::Internal(context)),
            Err(other) => {
                Ok(ExportedPaymentMethods { linked: true, methods: Vec::new(), unavailable: Some(other.to_string()) })
            }
        }
    }

    /// Runs `body` as the payment-method request `access`, after the role check; writes one
    /// audit entry, allowed or denied (with why). Failing to write it fails the request.
    async fn payment_attempt<T>(
        &self,
        actor: &Actor,
        access: Access,
        customer: CustomerId,
        method: Option<&StripeId>,
        body: impl AsyncFnOnce(&App, Grant) -> Result<T>,
    ) -> Result<T> {
        let tenant = actor
            .tenant_id()
            .ok_or_else(|| Error::Forbidden("platform administrators cannot reach payment methods".into()))?;
        let entry = |outcome: Outcome, reason: String| {
            let mut entry = AuditEntry::new(actor, tenant, access.action(), "customer", customer, Some(customer))
                .with_reason(reason);
            entry.outcome = outcome;
            if let Some(method) = method {
                entry = entry.with_changes(json!({"payment_method": method.as_str()}));
            }
            entry
        };
        let result = match actor.require(Capability::ManagePaymentMethods) {
            Ok(grant) => body(self, grant).await.map(|value| (value, grant)),
            Err(error) => Err(error),
        };
        match result {
            Ok((value, grant)) => {
                let reason = format!("role {} ({})", grant.role.as_str(), access.endpoint());
                self.store().record(&[entry(Outcome::Allowed, reason)], &[]).await?;
                Ok(value)
            }
            Err(error) => {
                let why = match &error {
                    Error::Internal(_) => "failed: internal error".to_owned(),
                    other => format!("{}: {other}", other.code().as_str()),
                };
                let reason: String =
                    format!("{why} ({})", access.endpoint()).chars().filter(|c| !c.is_control()).take(400).collect();
                self.store().record(&[entry(Outcome::Denied, reason)], &[]).await?;
                Err(error)
            }
        }
    }

    /// The customer, deleted or not; `404` when the tenant has none such.
    async fn payment_customer(&self, grant: &Grant, id: CustomerId) -> Result<Customer> {
        self.store().get_customer(grant.tenant_id, id).await?.ok_or(Error::NotFound("customer"))
    }

    /// How to call Stripe for `tenant`: `409 payments_not_configured` when it has not set
    /// Stripe up (or, for Connect, this server lacks the platform's keys).
    pub(crate) async fn stripe_call(&self, tenant: TenantId) -> Result<StripeCall> {
        let settings = self.store().payment_settings(tenant).await?.ok_or_else(|| {
            not_configured("this tenant has not set Stripe up: an admin sets it (PATCH /api/v1/settings/stripe)")
        })?;
        let api = self.payments.settings.api.clone().ok_or_else(|| {
            Error::server(ErrorCode::StripeUnavailable, "this server has no Stripe client configured")
        })?;
        let platform = &self.payments.settings;
        let (auth, publishable_key) = match settings.mode {
            StripeMode::Connect => {
                let (Some(key), Some(publishable)) =
                    (&platform.platform_secret_key, &platform.platform_publishable_key)
                else {
                    return Err(not_configured(
                        "Connect needs the platform's keys (stripe.secret_key, stripe.publishable_key), which this \
                         server does not have",
                    ));
                };
                let account =
                    settings.connect_account_id.clone().ok_or_else(|| not_configured("no connected account"))?;
                (StripeAuth { secret_key: key.clone(), account: Some(account) }, publishable.clone())
            }
            StripeMode::OwnKey => {
                let (Some(sealed), Some(publishable)) = (&settings.secret_key, &settings.publishable_key) else {
                    return Err(not_configured("the tenant's Stripe keys are not set"));
                };
                let plain = self.stripe_vault()?.open_secret(tenant, SECRET_KEY_PURPOSE, sealed)?;
                let key = String::from_utf8(plain).map_err(|_| Error::internal("a sealed Stripe key is not text"))?;
                (StripeAuth { secret_key: key, account: None }, publishable.clone())
            }
        };
        Ok(StripeCall { api, auth, publishable_key })
    }

    /// The vault that seals Stripe keys, or `503 stripe_unavailable`.
    pub(crate) fn stripe_vault(&self) -> Result<&crate::documents::vault::Vault> {
        self.documents.vault.as_ref().ok_or_else(|| {
            Error::server(
                ErrorCode::StripeUnavailable,
                "Stripe keys are sealed with documents.master_key, which this server does not have",
            )
        })
    }

    /// The customer's Stripe customer, made (name, email, phone, the Clientele ids in
    /// `metadata`) and linked on first use. Its idempotency key is fresh for each setup (and
    /// reused by the client's retries): a key derived from the customer would, within Stripe's
    /// 24 hours, replay a Stripe customer deleted since. Two setups racing keep the first link.
    async fn stripe_customer(&self, actor: &Actor, call: &StripeCall, customer: &Customer) -> Result<StripeLink> {
        if let Some(link) = self.store().stripe_link(customer.tenant_id, customer.id).await? {
            return Ok(link);
        }
        let new = NewStripeCustomer {
            name: display_name(customer),
            email: customer.data.email.as_ref().map(|e| e.as_str().to_owned()),
            phone: customer.data.phone.as_ref().map(|p| p.as_str().to_owned()),
            metadata: vec![
                ("clientele_id".to_owned(), customer.id.to_string()),
                ("clientele_tenant_id".to_owned(), customer.tenant_id.to_string()),
            ],
        };
        let made = call.api.create_customer(&call.auth, &fresh_key("customer"), &new).await?;
        let link = StripeLink {
            tenant_id: customer.tenant_id,
            customer_id: customer.id,
            stripe_customer_id: made.id,
            created_at: Timestamp::now(),
        };
        let entry = AuditEntry::new(
            actor,
            customer.tenant_id,
            AuditAction::StripeCustomerLinked,
            "customer",
            customer.id,
            Some(customer.id),
        )
        .with_changes(json!({"stripe_customer_id": link.stripe_customer_id}));
        self.store().insert_stripe_link(&link, &[entry]).await
    }

    /// The customer's methods from Stripe (or from the last few seconds' read).
    async fn read_payment_methods(
        &self,
        call: &StripeCall,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<PaymentMethodView>> {
        let Some(link) = self.store().stripe_link(tenant, customer).await? else { return Ok(Vec::new()) };
        if let Some(items) = self.payments.list(tenant, customer) {
            return Ok(items);
        }
        let stripe_customer = call.api.retrieve_customer(&call.auth, &link.stripe_customer_id).await?;
        if stripe_customer.deleted {
            return Ok(Vec::new());
        }
        let default = stripe_customer.default_payment_method;
        let methods = call.api.list_payment_methods(&call.auth, &link.stripe_customer_id).await?;
        let items: Vec<PaymentMethodView> = methods
            .into_iter()
            .map(|m| {
                let is_default = default.as_deref() == Some(m.id.as_str());
                PaymentMethodView::new(m, is_default)
            })
            .collect();
        self.payments.keep_list(tenant, customer, items.clone());
        Ok(items)
    }

    /// A payment method of the customer's Stripe customer, with how to call Stripe; `404` for
    /// any other (another customer's, another tenant's, none).
    async fn owned_method(
        &self,
        grant: &Grant,
        customer_id: CustomerId,
        method: &StripeId,
    ) -> Result<(StripeCall, StripeLink)> {
        self.payment_customer(grant, customer_id).await?;
        let call = self.stripe_call(grant.tenant_id).await?;
        let link = self.store().stripe_link(grant.tenant_id, customer_id).await?;
        let link = link.ok_or(Error::NotFound("payment method"))?;
        let found = call.api.retrieve_payment_method(&call.auth, method.as_str()).await?;
        if found.customer.as_deref() != Some(link.stripe_customer_id.as_str()) {
            return Err(Error::NotFound("payment method"));
        }
        Ok((call, link))
    }
}
