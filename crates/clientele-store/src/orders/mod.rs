//! Orders.

use async_trait::async_trait;
use clientele_core::Result;
use clientele_core::audit::entry::AuditEntry;
use clientele_core::blacklist::record::GlobalMatch;
use clientele_core::cargos::submissions::Submission;
use clientele_core::ids::OrderId;
use clientele_core::ids::{CustomerId, TenantId, UserId};
use clientele_core::orders::record::Order;
use clientele_core::orders::store::{OrderFigures, OrderQuery, OrderStore};
use clientele_core::time::Timestamp;
use sqlx::QueryBuilder;

use crate::SqlStore;
use crate::cargos::records::{INSERT_SUBMISSION, SubmissionRecord, bind_submission, submission_write_error};
use crate::customers::writes::{stale_write, write_events};
use crate::db::{Ts, db_error, in_transaction, with_reader};
use crate::orders::records::{OrderRecord, bind_order, order_columns};

pub(crate) mod records;

const INSERT_ORDER: &str = concat!(
    "INSERT INTO orders (",
    order_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
     $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34)"
);

/// Compare-and-set on `version` ($35).
const UPDATE_ORDER: &str = "UPDATE orders SET customer_id = $3, second_driver_id = $4, driver_id = $5, \
    pickup_at = $6, pickup_place = $7, return_at = $8, return_place = $9, vehicle_plate = $10, vehicle_make = $11, \
    vehicle_model = $12, vehicle_type = $13, vehicle_colour = $14, payment_type = $15, status = $16, \
    blacklist_at_creation = $17, override_reason = $18, override_by = $19, override_at = $20, \
    override_requested_by = $21, override_requested_at = $22, created_by = $23, created_at = $24, \
    updated_at = $25, version = $26, agency_id = $27, operator_id = $28, pickup_agency_id = $29, \
    pickup_place_code = $30, pickup_address = $31, return_agency_id = $32, return_place_code = $33, \
    return_address = $34 WHERE tenant_id = $1 AND id = $2 AND version = $35";

#[async_trait]
impl OrderStore for SqlStore {
    async fn insert_order(&self, order: &Order, audit: &[AuditEntry], matches: &[GlobalMatch]) -> Result<()> {
        let record = OrderRecord::from(order);
        in_transaction!(self, order.tenant_id, |tx| {
            bind_order!(sqlx::query(INSERT_ORDER), record).execute(&mut *tx).await.map_err(db_error)?;
            write_events!(self, tx, audit, matches);
        });
        Ok(())
    }

    async fn get_order(&self, tenant: TenantId, id: OrderId) -> Result<Option<Order>> {
        let record = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, OrderRecord>(concat!(
                "SELECT ",
                order_columns!(),
                " FROM orders WHERE tenant_id = $1 AND id = $2"
            ))
            .bind(tenant.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(conn)
            .await
        });
        record.map_err(db_error)?.map(Order::try_from).transpose()
    }

    async fn update_order(
        &self,
        order: &Order,
        expected_version: i64,
        audit: &[AuditEntry],
        matches: &[GlobalMatch],
        queued: Option<&Submission>,
    ) -> Result<()> {
        let record = OrderRecord::from(order);
        let queued = queued.map(SubmissionRecord::try_from).transpose()?;
        in_transaction!(self, order.tenant_id, |tx| {
            let updated = bind_order!(sqlx::query(UPDATE_ORDER), record)
                .bind(expected_version)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?
                .rows_affected();
            if updated != 1 {
                return Err(stale_write!(tx, "orders", "order", record.tenant_id, record.id, expected_version));
            }
            if let Some(queued) = &queued {
                bind_submission!(sqlx::query(INSERT_SUBMISSION), queued)
                    .execute(&mut *tx)
                    .await
                    .map_err(submission_write_error)?;
            }
            write_events!(self, tx, audit, matches);
        });
        Ok(())
    }

    async fn list_customer_orders(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        after: Option<OrderId>,
        limit: u32,
    ) -> Result<Vec<Order>> {
        let records = with_reader!(self, tenant, |conn| {
            let mut sql = QueryBuilder::new(concat!("SELECT ", order_columns!(), " FROM orders WHERE tenant_id = "));
            sql.push_bind(tenant.as_uuid())
                .push(" AND (customer_id = ")
                .push_bind(customer.as_uuid())
                .push(" OR second_driver_id = ")
                .push_bind(customer.as_uuid())
                .push(")");
            if let Some(after) = after {
                sql.push(" AND id < ").push_bind(after.as_uuid());
            }
            sql.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit.max(1)));
            sql.build_query_as::<OrderRecord>().fetch_all(conn).await
        });
        records.map_err(db_error)?.into_iter().map(Order::try_from).collect()
    }

    async fn list_orders(&self, tenant: TenantId, query: &OrderQuery) -> Result<Vec<Order>> {
        let records = with_reader!(self, tenant, |conn| {
            let mut sql = QueryBuilder::new(concat!("SELECT ", order_columns!(), " FROM orders WHERE tenant_id = "));
            sql.push_bind(tenant.as_uuid());
            if !query.statuses.is_empty() {
                sql.push(" AND status IN (");
                let mut list = sql.separated(", ");
                for status in &query.statuses {
                    list.push_bind(status.as_str());
                }
                sql.push(")");
            }
            if let Some(driver) = query.driver {
                sql.push(" AND driver_id = ").push_bind(driver.as_uuid());
            }
            if let Some(after) = query.after {
                sql.push(" AND id < ").push_bind(after.as_uuid());
            }
            sql.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(query.limit.max(1)));
            sql.build_query_as::<OrderRecord>().fetch_all(conn).await
        });
        records.map_err(db_error)?.into_iter().map(Order::try_from).collect()
    }

    async fn order_figures(&self, tenant: TenantId, since: Timestamp) -> Result<OrderFigures> {
        // One pass over the window's orders, one over the customers who ordered in it.
        let counts = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, (i64, i64, i64)>(
                "SELECT COUNT(*), \
                 COALESCE(SUM(CASE WHEN blacklist_at_creation <> 'none' AND override_reason IS NOT NULL THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN status = 'awaiting_override' THEN 1 ELSE 0 END), 0) \
                 FROM orders WHERE tenant_id = $1 AND created_at >= $2",
            )
            .bind(tenant.as_uuid())
            .bind(Ts(since))
            .fetch_one(conn)
            .await
        });
        let (orders, overridden, awaiting_override) = counts.map_err(db_error)?;
        let repeat = with_reader!(self, tenant, |conn| {
            sqlx::query_as::<_, (i64, i64, i64, i64)>(
                "SELECT \
                 COALESCE(SUM(CASE WHEN c.vip THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN c.vip AND o.n >= 2 THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN NOT c.vip THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN NOT c.vip AND o.n >= 2 THEN 1 ELSE 0 END), 0) \
                 FROM (SELECT customer_id, COUNT(*) AS n FROM orders WHERE tenant_id = $1 AND created_at >= $2 \
                       AND status <> 'cancelled' GROUP BY customer_id) o \
                 JOIN customers c ON c.tenant_id = $1 AND c.id = o.customer_id WHERE c.deleted_at IS NULL",
            )
            .bind(tenant.as_uuid())
            .bind(Ts(since))
            .fetch_one(conn)
            .await
        });
        let (vips_ordering, vips_repeat, others_ordering, others_repeat) = repeat.map_err(db_error)?;
        let vips = with_reader!(self, tenant, |conn| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM customers WHERE tenant_id = $1 AND vip AND deleted_at IS NULL",
            )
            .bind(tenant.as_uuid())
            .fetch_one(conn)
            .await
        });
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(OrderFigures {
            orders: count(orders),
            overridden: count(overridden),
            awaiting_override: count(awaiting_override),
            vips: count(vips.map_err(db_error)?),
            vips_ordering: count(vips_ordering),
            vips_repeat: count(vips_repeat),
            others_ordering: count(others_ordering),
            others_repeat: count(others_repeat),
        })
    }

    async fn is_assigned_to_driver(&self, tenant: TenantId, driver: UserId, customer: CustomerId) -> Result<bool> {
        let found = with_reader!(self, tenant, |conn| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM orders WHERE tenant_id = $1 AND driver_id = $2 \
                 AND status IN ('confirmed', 'active') AND (customer_id = $3 OR second_driver_id = $3)",
            )
            .bind(tenant.as_uuid())
            .bind(driver.as_uuid())
            .bind(customer.as_uuid())
            .fetch_one(conn)
            .await
        });
        Ok(found.map_err(db_error)? > 0)
    }
}
