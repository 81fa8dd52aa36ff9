//! The writes every customer-changing statement shares, as macros expanded once per backend's
//! transaction type: inserting a batch of new customers, a versioned update, what a write
//! carries besides the row (notes, blacklist changes, global matches), and the list filters.
//! The import batch and the blacklist changes reuse them inside their own transactions.

use clientele_core::{Error, ErrorCode};

use crate::blacklist::records::{blacklist_entry_columns, global_entry_columns};
use crate::db::{db_error, is_unique_violation};

/// Compare-and-set on `version` ($51): the row changes only if nobody changed it since it was read.
/// Also sets `search_text` ($52), sets `global_match_at` only if $53 (the write ran the global
/// check), and returns the search rowid.
pub(crate) const UPDATE_CUSTOMER: &str = "UPDATE customers SET kind = $3, first_name = $4, last_name = $5, \
    company_name = $6, vat_number = $7, email = $8, phone = $9, phone_status = $10, birth_date = $11, \
    birth_city = $12, birth_country = $13, birth_place_code = $14, citizenship = $15, tax_code = $16, \
    address_line1 = $17, address_line2 = $18, address_city = $19, address_postal_code = $20, \
    address_region = $21, address_country = $22, language = $23, license_number = $24, \
    license_country = $25, license_issuing_place = $26, license_issued_on = $27, license_expires_on = $28, \
    id_doc_type = $29, id_doc_number = $30, id_doc_country = $31, id_doc_issuing_place = $32, \
    id_doc_expires_on = $33, vip = $34, partner_id = $35, external_ref = $36, created_at = $37, \
    updated_at = $38, created_by = $39, deleted_at = $40, version = $41, vip_changed_at = $42, \
    vip_changed_by = $43, blacklist_scope = $44, \
    global_match_at = CASE WHEN $53 THEN $45 ELSE global_match_at END, secondary_phone = $46, \
    citizenship_code = $47, address_place_code = $48, id_doc_place_code = $49, license_place_code = $50, \
    search_text = $52 WHERE tenant_id = $1 AND id = $2 AND version = $51 RETURNING search_rowid";

pub(crate) const INSERT_NOTE: &str = "INSERT INTO customer_notes (tenant_id, id, customer_id, author_id, body, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6)";

pub(crate) fn customer_write_error(error: sqlx::Error) -> Error {
    if is_unique_violation(&error, "external_ref") {
        Error::conflict(ErrorCode::DuplicateExternalRef, "another customer of the tenant has this external_ref")
    } else {
        db_error(error)
    }
}

/// Appends the list filters of `$query` (scope, deletion, kind, VIP, blacklist, phone status,
/// partner, creation dates) to `$sql`, on the customers columns prefixed by `$p` (`""` or `"c."`).
/// A macro so that it expands once per backend's query builder.
macro_rules! push_customer_filters {
    ($sql:ident, $tenant:expr, $query:expr, $p:expr) => {{
        let (tenant, query, p): (clientele_core::ids::TenantId, &clientele_core::customers::store::CustomerQuery, &str) = ($tenant, $query, $p);
        match query.scope {
            clientele_core::accounts::access::CustomerScope::All => {}
            clientele_core::accounts::access::CustomerScope::Partner(partner) => {
                $sql.push(format!(" AND {p}partner_id = ")).push_bind(partner.as_uuid());
            }
            // Drivers reach customers only through confirmed or active orders assigned to them.
            clientele_core::accounts::access::CustomerScope::Driver(driver) => {
                $sql.push(format!(" AND {p}id IN (SELECT customer_id FROM orders WHERE tenant_id = "))
                    .push_bind(tenant.as_uuid())
                    .push(" AND driver_id = ")
                    .push_bind(driver.as_uuid())
                    .push(" AND status IN ('confirmed', 'active') UNION SELECT second_driver_id FROM orders WHERE tenant_id = ")
                    .push_bind(tenant.as_uuid())
                    .push(" AND driver_id = ")
                    .push_bind(driver.as_uuid())
                    .push(" AND status IN ('confirmed', 'active') AND second_driver_id IS NOT NULL)");
            }
        }
        if !query.include_deleted {
            $sql.push(format!(" AND {p}deleted_at IS NULL"));
        }
        if let Some(kind) = query.kind {
            $sql.push(format!(" AND {p}kind = ")).push_bind(kind.as_str());
        }
        // Literal, not bound, so that the partial index on VIPs can serve `vip=true`.
        match query.vip {
            Some(true) => $sql.push(format!(" AND {p}vip")),
            Some(false) => $sql.push(format!(" AND NOT {p}vip")),
            None => &mut $sql,
        };
        match query.blacklisted {
            Some(true) => $sql.push(format!(" AND ({p}blacklist_scope IS NOT NULL OR {p}global_match_at IS NOT NULL)")),
            Some(false) => $sql.push(format!(" AND {p}blacklist_scope IS NULL AND {p}global_match_at IS NULL")),
            None => &mut $sql,
        };
        if let Some(status) = query.phone_status {
            $sql.push(format!(" AND {p}phone_status = ")).push_bind(status.as_str());
        }
        if let Some(partner) = query.partner_id {
            $sql.push(format!(" AND {p}partner_id = ")).push_bind(partner.as_uuid());
        }
        if let Some(from) = query.created_from {
            $sql.push(format!(" AND {p}created_at >= ")).push_bind($crate::db::Ts(from));
        }
        if let Some(before) = query.created_before {
            $sql.push(format!(" AND {p}created_at < ")).push_bind($crate::db::Ts(before));
        }
        if let Some(filter) = &query.documents {
            // Complete: every requirement met by a live, unexpired document; incomplete: any not.
            let outer = if p.is_empty() { "customers." } else { p };
            $sql.push(if filter.complete { " AND (1 = 1" } else { " AND (1 = 0" });
            for kinds in filter.required.groups() {
                $sql.push(if filter.complete { " AND EXISTS (" } else { " OR NOT EXISTS (" });
                $sql.push(format!(
                    "SELECT 1 FROM documents d WHERE d.tenant_id = {outer}tenant_id AND d.customer_id = {outer}id \
                     AND d.deleted_at IS NULL AND (d.expires_on IS NULL OR d.expires_on >= "
                ));
                $sql.push_bind(filter.today).push(") AND d.kind IN (");
                let mut list = $sql.separated(", ");
                for kind in kinds {
                    list.push_bind(kind.as_str());
                }
                $sql.push("))");
            }
            $sql.push(")");
        }
    }};
}

/// Writes what a [`CustomerWrite`] carries but its audit entries (notes, blacklist changes,
/// global matches) inside the transaction `$tx`, for the tenant `$tenant` (a `Uuid`). The
/// caller appends the audit entries, after every row it locks: the tenant's audit chain head is
/// the lock all of the tenant's writers take, held for as short a time as can be. A macro so
/// that it expands once per backend's transaction type.
macro_rules! write_side_effects {
    ($store:expr, $tx:ident, $tenant:expr, $write:expr) => {{
        let tenant: Uuid = $tenant;
        let write: &CustomerWrite = $write;
        let now = Ts(clientele_core::time::Timestamp::now());
        for note in &write.notes {
            sqlx::query(INSERT_NOTE)
                .bind(note.tenant_id.as_uuid())
                .bind(note.id.as_uuid())
                .bind(note.customer_id.as_uuid())
                .bind(note.author_id)
                .bind(&note.body)
                .bind(Ts(note.created_at))
                .execute(&mut *$tx)
                .await
                .map_err(db_error)?;
        }
        for change in &write.blacklist {
            match change {
                BlacklistChange::Add { entry, global } => {
                    if let Some(global) = global {
                        sqlx::query(INSERT_GLOBAL_ENTRY)
                            .bind(global.id.as_uuid())
                            .bind(global.reason_code.as_str())
                            .bind(global.flagging_tenant_id.as_uuid())
                            .bind(global.flagging_customer_id.as_uuid())
                            .bind(&global.key_id)
                            .bind(Ts(global.created_at))
                            .bind(Ts(global.expires_at))
                            .execute(&mut *$tx)
                            .await
                            .map_err(db_error)?;
                        for pseudonym in &global.pseudonyms {
                            sqlx::query(INSERT_PSEUDONYM)
                                .bind(&pseudonym.hash[..])
                                .bind(global.id.as_uuid())
                                .bind(pseudonym.kind.as_str())
                                .execute(&mut *$tx)
                                .await
                                .map_err(db_error)?;
                        }
                    }
                    sqlx::query(INSERT_BLACKLIST_ENTRY)
                        .bind(entry.tenant_id.as_uuid())
                        .bind(entry.id.as_uuid())
                        .bind(entry.customer_id.as_uuid())
                        .bind(entry.scope.as_str())
                        .bind(entry.reason_code.as_str())
                        .bind(&entry.note)
                        .bind(Ts(entry.created_at))
                        .bind(entry.created_by)
                        .bind(entry.global_entry_id.map(|id| id.as_uuid()))
                        .execute(&mut *$tx)
                        .await
                        .map_err(db_error)?;
                }
                BlacklistChange::Lift { entry_id, at, by, note, global_entry_id } => {
                    if let Some(entry_id) = entry_id {
                        let lifted = sqlx::query(LIFT_BLACKLIST_ENTRY)
                            .bind(tenant)
                            .bind((*entry_id).as_uuid())
                            .bind(Ts(*at))
                            .bind(*by)
                            .bind(note)
                            .execute(&mut *$tx)
                            .await
                            .map_err(db_error)?
                            .rows_affected();
                        if lifted != 1 {
                            return Err(Error::conflict(ErrorCode::NotBlacklisted, "the entry is already lifted"));
                        }
                    }
                    if let Some(global) = global_entry_id {
                        sqlx::query("UPDATE global_blacklist SET lifted_at = $2 WHERE id = $1 AND lifted_at IS NULL")
                            .bind((*global).as_uuid())
                            .bind(Ts(*at))
                            .execute(&mut *$tx)
                            .await
                            .map_err(db_error)?;
                        // The badges it caused are in every tenant: this one statement reaches them all.
                        $crate::db::SwitchScope::switch_scope(&mut *$tx, $crate::db::Scope::AllTenants).await?;
                        sqlx::query(CLEAR_STALE_GLOBAL_BADGES)
                            .bind((*global).as_uuid())
                            .bind(now)
                            .execute(&mut *$tx)
                            .await
                            .map_err(db_error)?;
                        $crate::db::SwitchScope::switch_scope(
                            &mut *$tx,
                            $crate::db::Scope::Tenant(TenantId::from_uuid(tenant)),
                        )
                        .await?;
                    }
                }
            }
        }
        write_events!($store, $tx, &[], &write.global_matches);
    }};
}

/// The largest rows per multi-row statement: within SQLite's 32,766 and PostgreSQL's 65,535
/// bind parameters for the widest row (48 values a customer on SQLite).
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

/// Writes audit entries and global matches inside the transaction `$tx`.
macro_rules! write_events {
    ($store:expr, $tx:ident, $audit:expr, $matches:expr) => {{
        for found in $matches {
            sqlx::query($crate::customers::writes::INSERT_GLOBAL_MATCH)
                .bind(found.entry_id.as_uuid())
                .bind(found.tenant_id.as_uuid())
                .bind(found.customer_id.as_uuid())
                .bind(found.context)
                .bind($crate::db::Ts(found.matched_at))
                .execute(&mut *$tx)
                .await
                .map_err($crate::db::db_error)?;
            // The badge shows the last check: any match, wherever it was found, sets it.
            sqlx::query("UPDATE customers SET global_match_at = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(found.tenant_id.as_uuid())
                .bind(found.customer_id.as_uuid())
                .bind($crate::db::Ts(found.matched_at))
                .execute(&mut *$tx)
                .await
                .map_err($crate::db::db_error)?;
        }
        $crate::audit::append_audit!($store, $tx, $audit);
    }};
}

/// The error for a versioned update that matched no row: `not_found` when the row is gone, a
/// version conflict naming the current version otherwise. `$table` is a literal table name.
macro_rules! stale_write {
    ($tx:ident, $table:literal, $what:literal, $tenant:expr, $id:expr, $expected:expr) => {{
        let current: Option<i64> =
            sqlx::query_scalar(concat!("SELECT version FROM ", $table, " WHERE tenant_id = $1 AND id = $2"))
                .bind($tenant)
                .bind($id)
                .fetch_optional(&mut *$tx)
                .await
                .map_err($crate::db::db_error)?;
        match current {
            None => clientele_core::Error::NotFound($what),
            Some(current) => clientele_core::Error::version_conflict($what, $expected, current),
        }
    }};
}

pub(crate) const INSERT_GLOBAL_ENTRY: &str =
    concat!("INSERT INTO global_blacklist (", global_entry_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)");

pub(crate) const INSERT_PSEUDONYM: &str =
    "INSERT INTO global_blacklist_pseudonyms (hash, entry_id, kind) VALUES ($1, $2, $3)";

pub(crate) const INSERT_BLACKLIST_ENTRY: &str = concat!(
    "INSERT INTO blacklist_entries (",
    blacklist_entry_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL, $9)"
);

pub(crate) const LIFT_BLACKLIST_ENTRY: &str = "UPDATE blacklist_entries SET lifted_at = $3, lifted_by = $4, lift_note = $5 \
    WHERE tenant_id = $1 AND id = $2 AND lifted_at IS NULL";

pub(crate) const INSERT_GLOBAL_MATCH: &str = "INSERT INTO global_blacklist_matches \
    (entry_id, tenant_id, customer_id, context, matched_at) VALUES ($1, $2, $3, $4, $5)";

/// After entry $1 is lifted: the customers it matched lose the global badge, unless another
/// active, unexpired entry ($2 = now) matched them too.
pub(crate) const CLEAR_STALE_GLOBAL_BADGES: &str = "/* all tenants */ UPDATE customers SET global_match_at = NULL \
    WHERE global_match_at IS NOT NULL \
    AND EXISTS (SELECT 1 FROM global_blacklist_matches m WHERE m.entry_id = $1 \
        AND m.tenant_id = customers.tenant_id AND m.customer_id = customers.id) \
    AND NOT EXISTS (SELECT 1 FROM global_blacklist_matches m JOIN global_blacklist g ON g.id = m.entry_id \
        WHERE m.tenant_id = customers.tenant_id AND m.customer_id = customers.id \
        AND g.lifted_at IS NULL AND g.expires_at > $2)";

/// Inserts new customers of tenant `$tenant` (`&[(&Customer, &CustomerWrite)]`) inside the
/// transaction `$tx` with multi-row statements: the rows, their search documents, and what
/// their writes carry but the audit entries, which the caller appends. Refuses a batch that
/// mixes tenants.
macro_rules! insert_customer_rows {
    ($store:expr, $tx:ident, $sqlite:expr, $tenant:expr, $batch:expr) => {{
        let (sqlite, tenant, batch): (bool, TenantId, &[(&Customer, &CustomerWrite)]) = ($sqlite, $tenant, $batch);
        if batch.iter().any(|(c, w)| c.tenant_id != tenant || w.audit.iter().any(|a| a.tenant_id != tenant)) {
            return Err(Error::internal("a customer batch must belong to one tenant"));
        }
        let tenant_id = tenant.as_uuid();
        let docs: Vec<SearchDocument> = batch.iter().map(|(c, _)| SearchDocument::of(&c.data)).collect();
        // On SQLite the search rowids continue the tenant's range; PostgreSQL draws them from
        // its sequence. Either way they come back with each id.
        let next_rowid: i64 = if sqlite {
            sqlx::query_scalar(
                "SELECT COALESCE((SELECT search_rowid FROM customers WHERE tenant_id = $1 \
                 ORDER BY search_rowid DESC LIMIT 1), t.number * 1099511627776) + 1 FROM tenants t WHERE t.id = $1",
            )
            .bind(tenant_id)
            .fetch_one(&mut *$tx)
            .await
            .map_err(db_error)?
        } else {
            0
        };
        let mut rowids = std::collections::HashMap::with_capacity(batch.len());
        for (chunk_index, chunk) in batch.chunks(ROWS_PER_STATEMENT).enumerate() {
            let columns = if sqlite { ", search_text, search_rowid) " } else { ", search_text) " };
            let mut sql = QueryBuilder::new(concat!("INSERT INTO customers (", customer_columns!()));
            sql.push(columns);
            let offset = chunk_index * ROWS_PER_STATEMENT;
            sql.push_values(chunk.iter().enumerate(), |mut b, (i, (customer, _))| {
                let record = CustomerRecord::from(*customer);
                push_customer_values!(b, record);
                b.push_bind(docs[offset + i].text.clone());
                if sqlite {
                    b.push_bind(next_rowid + i64::try_from(offset + i).unwrap_or(i64::MAX));
                }
            });
            sql.push(" RETURNING id, search_rowid");
            let returned: Vec<(Uuid, i64)> =
                sql.build_query_as().fetch_all(&mut *$tx).await.map_err(customer_write_error)?;
            rowids.extend(returned);
        }
        let rowid_of = |c: &Customer| rowids.get(&c.id.as_uuid()).copied().unwrap_or_default();
        if sqlite {
            for chunk in batch.iter().zip(&docs).collect::<Vec<_>>().chunks(ROWS_PER_STATEMENT * 4) {
                let mut sql = QueryBuilder::new("INSERT INTO customer_search (rowid, search_text) ");
                sql.push_values(chunk, |mut b, ((customer, _), doc)| {
                    b.push_bind(rowid_of(customer)).push_bind(doc.text.clone());
                });
                sql.build().execute(&mut *$tx).await.map_err(db_error)?;
            }
        }
        let indexed: Vec<(i64, &SearchDocument)> =
            batch.iter().zip(&docs).map(|((customer, _), doc)| (rowid_of(customer), doc)).collect();
        $crate::search::index_search_terms!($tx, sqlite, tenant_id, &indexed);
        for (_, write) in
            batch.iter().filter(|(_, w)| !w.notes.is_empty() || !w.global_matches.is_empty() || !w.blacklist.is_empty())
        {
            write_side_effects!($store, $tx, tenant_id, write);
        }
    }};
}

/// Writes a changed customer inside the transaction `$tx` if it is still at `$expected`
/// (a version conflict or `not_found` otherwise), reindexes it, and writes what `$write` carries
/// but its audit entries, which the caller appends.
macro_rules! update_customer_row {
    ($store:expr, $tx:ident, $sqlite:expr, $customer:expr, $expected:expr, $write:expr) => {{
        let (sqlite, customer, expected_version, write): (bool, &Customer, i64, &CustomerWrite) =
            ($sqlite, $customer, $expected, $write);
        let record = CustomerRecord::from(customer);
        let doc = SearchDocument::of(&customer.data);
        let rowid: Option<i64> = bind_customer!(sqlx::query_scalar(UPDATE_CUSTOMER), record)
            .bind(expected_version)
            .bind(&doc.text)
            .bind(write.global_checked)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(customer_write_error)?;
        let Some(rowid) = rowid else {
            return Err(stale_write!($tx, "customers", "customer", record.tenant_id, record.id, expected_version));
        };
        index_customer!($tx, sqlite, record.tenant_id, rowid, &doc);
        write_side_effects!($store, $tx, record.tenant_id, write);
    }};
}

/// Which of the customer ids `$ids` exist in tenant `$tenant`, read through `$executor` (a pool,
/// or `&mut *tx` inside a transaction).
macro_rules! existing_ids {
    ($executor:expr, $tenant:expr, $ids:expr) => {{
        let (tenant, ids): (TenantId, &[CustomerId]) = ($tenant, $ids);
        let mut found: Vec<Uuid> = Vec::new();
        for chunk in ids.chunks(500) {
            let mut sql = QueryBuilder::new("SELECT id FROM customers WHERE tenant_id = ");
            sql.push_bind(tenant.as_uuid()).push(" AND id IN (");
            let mut list = sql.separated(", ");
            for id in chunk {
                list.push_bind(id.as_uuid());
            }
            sql.push(")");
            found.extend(sql.build_query_scalar::<Uuid>().fetch_all($executor).await.map_err(db_error)?);
        }
        found
    }};
}

pub(crate) use existing_ids;
pub(crate) use insert_customer_rows;
pub(crate) use push_customer_filters;
pub(crate) use stale_write;
pub(crate) use update_customer_row;
pub(crate) use write_events;
pub(crate) use write_side_effects;
