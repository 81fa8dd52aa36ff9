//! What each event tells: the resource as the API shows it to an admin, minus what no outside
//! system should get (`docs/events.md` lists it): notes (never part of a resource's event),
//! identity-document and licence numbers, the free-text reasons of blacklist entries and
//! overrides, and anything of the global blacklist beyond the badge (its pseudonyms never leave
//! the database at all).

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::accounts::auth::Actor;
use crate::customers::record::Customer;
use crate::documents::record::Document;
use crate::events::record::{EventType, OutboxEvent};
use crate::imports::job::ImportJob;
use crate::orders::record::Order;

/// The paths taken out of a resource before it leaves.
const WITHHELD: [&str; 6] = [
    "driver_license.number",
    "id_document.number",
    "override.reason",
    "override_request.reason",
    "number",
    "file.name",
];

/// `value` serialized, with the withheld paths removed.
fn outside<T: Serialize>(value: &T) -> Value {
    let mut value = serde_json::to_value(value).unwrap_or(Value::Null);
    for path in WITHHELD {
        let mut keys: Vec<&str> = path.split('.').collect();
        let Some(last) = keys.pop() else { continue };
        let parent = keys.iter().try_fold(&mut value, |v, key| v.get_mut(*key));
        if let Some(Value::Object(parent)) = parent {
            parent.remove(last);
        }
    }
    value
}

/// A customer as outside systems see it: the record with its blacklist badge and whether it is
/// deleted.
pub fn customer_view(customer: &Customer) -> Value {
    let mut value = outside(customer);
    if let Value::Object(fields) = &mut value {
        fields.insert("blacklist".into(), json!({"status": customer.blacklist_status()}));
        fields.insert("deleted".into(), Value::Bool(customer.deleted_at.is_some()));
    }
    value
}

fn fields(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// An event about a customer: `{customer: …}` and `extra` (such as `changed_fields`).
pub fn about_customer(
    actor: &Actor,
    event_type: EventType,
    customer: &Customer,
    extra: impl IntoIterator<Item = (&'static str, Value)>,
) -> OutboxEvent {
    let id = customer.id.as_uuid();
    let mut data = fields([("customer", customer_view(customer))]);
    data.extend(fields(extra));
    OutboxEvent::new(actor, customer.tenant_id, event_type, ("customer", id), id, data)
}

/// An event about an order, kept in order with its customer's events.
pub fn about_order(
    actor: &Actor,
    event_type: EventType,
    order: &Order,
    extra: impl IntoIterator<Item = (&'static str, Value)>,
) -> OutboxEvent {
    let mut data = fields([("order", outside(order))]);
    data.extend(fields(extra));
    let resource = ("order", order.id.as_uuid());
    OutboxEvent::new(actor, order.tenant_id, event_type, resource, order.customer_id.as_uuid(), data)
}

/// `document.uploaded`: the document's metadata, without its number or file name.
pub fn document_uploaded(actor: &Actor, document: &Document) -> OutboxEvent {
    let data = fields([("document", outside(document))]);
    let resource = ("document", document.id.as_uuid());
    OutboxEvent::new(
        actor,
        document.tenant_id,
        EventType::DocumentUploaded,
        resource,
        document.customer_id.as_uuid(),
        data,
    )
}

/// `import.completed`: the job with its counts.
pub fn import_completed(actor: &Actor, job: &ImportJob) -> OutboxEvent {
    let id = job.id.as_uuid();
    let data = fields([("import", outside(job))]);
    OutboxEvent::new(actor, job.tenant_id, EventType::ImportCompleted, ("import", id), id, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withheld_paths_are_removed_wherever_they_are() {
        let value = json!({"driver_license": {"number": "U1", "expires_on": "2030-01-01"},
            "override": {"reason": "cash", "by": "x"}, "number": "AB1", "file": {"name": "p.pdf", "size": 3}, "kept": 1});
        assert_eq!(
            outside(&value),
            json!({"driver_license": {"expires_on": "2030-01-01"}, "override": {"by": "x"}, "file": {"size": 3}, "kept": 1})
        );
    }
}
