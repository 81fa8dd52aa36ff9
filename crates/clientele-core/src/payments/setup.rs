//! Setting a tenant up for Stripe (admins, and the command line): its mode, account or keys, and
//! webhook signing secret, sealed with the documents master key and never shown again; and
//! re-sealing them after a master-key rotation.

use serde_json::{Map, Value, json};

use crate::accounts::access::Capability;
use crate::accounts::auth::Actor;
use crate::app::App;
use crate::audit::entry::{AuditAction, AuditEntry};
use crate::error::{Error, FieldCode, FieldErrors, Result};
use crate::ids::TenantId;
use crate::payments::api::STRIPE_API_VERSION;
use crate::payments::services::{SECRET_KEY_PURPOSE, WEBHOOK_SECRET_PURPOSE};
use crate::payments::settings::{PaymentSettings, PaymentSettingsPatch, PaymentSettingsView, StripeMode, same_mode};
use crate::time::Timestamp;

impl App {
    /// The tenant's Stripe settings: never a key or secret, only whether each is set (admins).
    pub async fn stripe_settings(&self, actor: &Actor) -> Result<PaymentSettingsView> {
        let grant = actor.require(Capability::ManageIntegrations)?;
        let settings = self.store().payment_settings(grant.tenant_id).await?;
        Ok(self.payment_settings_view(grant.tenant_id, settings.as_ref()))
    }

    /// Changes the tenant's Stripe settings (admins). Keys are checked for form (Stripe is not
    /// called), sealed, and never shown again; the result must be complete for its mode:
    /// Connect needs the account (and this server the platform's keys), own key needs the secret
    /// and publishable keys, of the same mode (test or live). Switching mode drops the other
    /// mode's keys; `"mode": null` removes everything.
    pub async fn update_stripe_settings(
        &self,
        actor: &Actor,
        patch: &PaymentSettingsPatch,
    ) -> Result<PaymentSettingsView> {
        let grant = actor.require(Capability::ManageIntegrations)?;
        let tenant = grant.tenant_id;
        let checked = patch.check()?;
        let current = self.store().payment_settings(tenant).await?;
        let audit = |changes: Map<String, Value>| {
            AuditEntry::new(actor, tenant, AuditAction::StripeSettingsChanged, "stripe_settings", tenant, None)
                .with_changes(Value::Object(changes))
        };
        if patch.mode == Some(None) {
            if current.is_some() {
                let changes = Map::from_iter([("mode".to_owned(), json!("removed"))]);
                self.store().delete_payment_settings(tenant, &[audit(changes)]).await?;
                self.payments.forget_tenant(tenant);
            }
            return Ok(self.payment_settings_view(tenant, None));
        }
        let Some(mode) = patch.mode.flatten().or(current.as_ref().map(|c| c.mode)) else {
            return Err(Error::invalid("mode", FieldCode::Required, "choose connect or own_key"));
        };
        let mut e = FieldErrors::new();
        let base = current.clone().filter(|c| c.mode == mode);
        let kept = |member: Option<Option<String>>, old: Option<String>| member.unwrap_or(old);
        let mut next = PaymentSettings {
            tenant_id: tenant,
            mode,
            connect_account_id: kept(
                checked.connect_account_id.clone(),
                base.as_ref().and_then(|b| b.connect_account_id.clone()),
            ),
            secret_key: base.as_ref().and_then(|b| b.secret_key.clone()),
            publishable_key: kept(
                checked.publishable_key.clone(),
                base.as_ref().and_then(|b| b.publishable_key.clone()),
            ),
            webhook_secret: current.as_ref().and_then(|c| c.webhook_secret.clone()),
            updated_at: Timestamp::now(),
        };
        let not_here = |e: &mut FieldErrors, field: &str, sent: &Option<Option<String>>, mode: &str| {
            if matches!(sent, Some(Some(_))) {
                e.push(field, FieldCode::NotAllowed, format!("is not used in {mode} mode"));
            }
        };
        match mode {
            StripeMode::Connect => {
                not_here(&mut e, "secret_key", &patch.secret_key, "connect");
                not_here(&mut e, "publishable_key", &patch.publishable_key, "connect");
                next.publishable_key = None;
                if next.connect_account_id.is_none() {
                    e.push("connect_account_id", FieldCode::Required, "is required in connect mode");
                }
                let platform = &self.payments.settings;
                if platform.platform_secret_key.is_none() || platform.platform_publishable_key.is_none() {
                    e.push(
                        "mode",
                        FieldCode::Invalid,
                        "connect needs the platform's keys (stripe.secret_key, stripe.publishable_key) on this server",
                    );
                }
            }
            StripeMode::OwnKey => {
                not_here(&mut e, "connect_account_id", &patch.connect_account_id, "own_key");
                next.connect_account_id = None;
                let secret = match &checked.secret_key {
                    Some(Some(plain)) => Some(plain.as_str()),
                    _ => None,
                };
                if checked.secret_key == Some(None) || (secret.is_none() && next.secret_key.is_none()) {
                    e.push("secret_key", FieldCode::Required, "is required in own_key mode");
                }
                match (&next.publishable_key, secret) {
                    (None, _) => e.push("publishable_key", FieldCode::Required, "is required in own_key mode"),
                    (Some(publishable), Some(secret)) if !same_mode(secret, publishable) => e.push(
                        "publishable_key",
                        FieldCode::Invalid,
                        "must be of the same mode (test or live) as the secret key",
                    ),
                    _ => {}
                }
                if let Some(plain) = secret {
                    next.secret_key =
                        Some(self.stripe_vault()?.seal_secret(tenant, SECRET_KEY_PURPOSE, plain.as_bytes())?);
                }
            }
        }
        if !e.is_empty() {
            return Err(e.into_error());
        }
        match &checked.webhook_secret {
            None => {}
            Some(None) => next.webhook_secret = None,
            Some(Some(plain)) => {
                next.webhook_secret =
                    Some(self.stripe_vault()?.seal_secret(tenant, WEBHOOK_SECRET_PURPOSE, plain.as_bytes())?);
            }
        }
        let changes = settings_changes(current.as_ref(), &next, patch);
        if changes.is_empty() {
            return Ok(self.payment_settings_view(tenant, current.as_ref()));
        }
        self.store().put_payment_settings(&next, &[audit(changes)]).await?;
        self.payments.forget_tenant(tenant);
        Ok(self.payment_settings_view(tenant, Some(&next)))
    }

    /// Re-seals every tenant's Stripe keys and secrets with the current documents master key
    /// (after a rotation, with the old key still among the previous ones). Returns how many
    /// tenants' settings were re-sealed.
    pub async fn reseal_stripe_secrets(&self) -> Result<u64> {
        let Some(vault) = self.documents.vault.as_ref() else { return Ok(0) };
        let mut resealed = 0;
        for mut settings in self.store().sealed_payment_settings().await? {
            let tenant = settings.tenant_id;
            let mut changed = false;
            for (sealed, purpose) in
                [(&mut settings.secret_key, SECRET_KEY_PURPOSE), (&mut settings.webhook_secret, WEBHOOK_SECRET_PURPOSE)]
            {
                if let Some(old) = sealed.as_ref().filter(|s| s.key_id != vault.current_key_id()) {
                    let plain = vault.open_secret(tenant, purpose, old)?;
                    *sealed = Some(vault.seal_secret(tenant, purpose, &plain)?);
                    changed = true;
                }
            }
            if changed {
                self.store().put_payment_settings(&settings, &[]).await?;
                resealed += 1;
            }
        }
        Ok(resealed)
    }

    fn payment_settings_view(&self, tenant: TenantId, settings: Option<&PaymentSettings>) -> PaymentSettingsView {
        let platform = &self.payments.settings;
        let publishable_key = settings.and_then(|s| match s.mode {
            StripeMode::Connect => platform.platform_publishable_key.clone(),
            StripeMode::OwnKey => s.publishable_key.clone(),
        });
        let configured = settings.is_some_and(|s| match s.mode {
            StripeMode::Connect => {
                s.connect_account_id.is_some()
                    && platform.platform_secret_key.is_some()
                    && platform.platform_publishable_key.is_some()
            }
            StripeMode::OwnKey => s.secret_key.is_some() && s.publishable_key.is_some(),
        });
        PaymentSettingsView {
            configured,
            mode: settings.map(|s| s.mode),
            connect_account_id: settings.and_then(|s| s.connect_account_id.clone()),
            publishable_key,
            secret_key_set: settings.is_some_and(|s| s.secret_key.is_some()),
            webhook_secret_set: settings.is_some_and(|s| s.webhook_secret.is_some()),
            webhook_path: format!("/api/v1/integrations/stripe/webhook?tenant={tenant}"),
            api_version: STRIPE_API_VERSION,
            updated_at: settings.map(|s| s.updated_at),
        }
    }
}

/// What changed, for the audit log: modes, accounts and publishable keys by value; secrets only
/// as `set` or `removed`.
fn settings_changes(
    current: Option<&PaymentSettings>,
    next: &PaymentSettings,
    patch: &PaymentSettingsPatch,
) -> Map<String, Value> {
    let mut changes = Map::new();
    let mut shown = |name: &str, from: Option<String>, to: Option<String>| {
        if from != to {
            changes.insert(name.to_owned(), json!({"from": from, "to": to}));
        }
    };
    shown("mode", current.map(|c| c.mode.as_str().to_owned()), Some(next.mode.as_str().to_owned()));
    shown("connect_account_id", current.and_then(|c| c.connect_account_id.clone()), next.connect_account_id.clone());
    shown("publishable_key", current.and_then(|c| c.publishable_key.clone()), next.publishable_key.clone());
    for (name, sent, was, is) in [
        ("secret_key", &patch.secret_key, current.is_some_and(|c| c.secret_key.is_some()), next.secret_key.is_some()),
        (
            "webhook_secret",
            &patch.webhook_secret,
            current.is_some_and(|c| c.webhook_secret.is_some()),
            next.webhook_secret.is_some(),
        ),
    ] {
        if matches!(sent, Some(Some(_))) {
            changes.insert(name.to_owned(), json!("set"));
        } else if was && !is {
            changes.insert(name.to_owned(), json!("removed"));
        }
    }
    changes
}
