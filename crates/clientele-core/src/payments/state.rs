//! What the payment services keep between calls, in this process: the Stripe settings, and
//! each customer's list of payment methods for a few seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::ids::{CustomerId, TenantId};
use crate::payments::StripeSettings;
use crate::payments::record::PaymentMethodView;
use crate::time::Timestamp;

/// Each customer's list, with when it was read.
type Lists = HashMap<(TenantId, CustomerId), (Timestamp, Vec<PaymentMethodView>)>;

/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub(crate) struct PaymentsState {
    pub settings: StripeSettings,
    lists: Arc<Mutex<Lists>>,
}

impl PaymentsState {
    pub fn new(mut settings: StripeSettings) -> Self {
        settings.list_cache = settings.list_cache.min(std::time::Duration::from_secs(60));
        Self { settings, lists: Arc::default() }
    }

    /// The customer's list read at most `list_cache` ago.
    pub fn list(&self, tenant: TenantId, customer: CustomerId) -> Option<Vec<PaymentMethodView>> {
        let lists = self.lists.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (read_at, items) = lists.get(&(tenant, customer))?;
        (Timestamp::now().duration_since(*read_at) < self.settings.list_cache).then(|| items.clone())
    }

    pub fn keep_list(&self, tenant: TenantId, customer: CustomerId, items: Vec<PaymentMethodView>) {
        if self.settings.list_cache.is_zero() {
            return;
        }
        let mut lists = self.lists.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Old lists go as new ones come: the map never holds more than a few seconds' worth.
        let now = Timestamp::now();
        let ttl = self.settings.list_cache;
        lists.retain(|_, (read_at, _)| now.duration_since(*read_at) < ttl);
        lists.insert((tenant, customer), (now, items));
    }

    pub fn forget_list(&self, tenant: TenantId, customer: CustomerId) {
        self.lists.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&(tenant, customer));
    }

    pub fn forget_tenant(&self, tenant: TenantId) {
        self.lists.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).retain(|(t, _), _| *t != tenant);
    }
}
