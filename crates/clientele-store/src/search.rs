//! Customer search in the database (see `clientele_core::search` for the model).
//!
//! Both backends keep `customers.search_text` and the prefix and vocabulary tables, written in the
//! customer's own transaction. They differ in the trigram index and how a tier is asked for:
//! - SQLite: a contentless FTS5 `trigram` table whose rowids are `customers.search_rowid`, each
//!   tenant's in its own range (`tenants.number << 40`). A tier is one `MATCH` expression, with the
//!   previous tiers excluded by `NOT`, read newest first straight from the index.
//! - PostgreSQL: a `pg_trgm` GIN index on `search_text`, asked with `LIKE` patterns.
//!
//! One- and two-letter queries read the prefix table, index-ordered, on both.
//!
//! The joins are `CROSS JOIN` with the join condition in `WHERE`: SQLite takes `CROSS JOIN` as an
//! order (the index drives, customers are looked up by rowid; left to itself the planner may scan
//! customers and run the full-text query once per row), PostgreSQL plans it as any inner join.

use async_trait::async_trait;
use clientele_core::customers::record::Customer;
use clientele_core::customers::store::CustomerQuery;
use clientele_core::ids::TenantId;
use clientele_core::search::store::{SearchMatch, SearchStore};
use clientele_core::search::terms::{SearchDocument, SearchTerms, Tier, is_selective};
use clientele_core::{Error, Result};
use sqlx::QueryBuilder;
use uuid::Uuid;

use crate::SqlStore;
use crate::customers::records::{CustomerRecord, customer_columns};
use crate::customers::writes::push_customer_filters;
use crate::db::{Db, Scope, db_error, in_transaction, with_reader};

/// Bumped whenever folding or the document changes: `migrate` then re-indexes every customer.
const SEARCH_INDEX_VERSION: &str = "1";
const SEARCH_INDEX_KEY: &str = "search_index_version";
/// PostgreSQL advisory lock key for re-indexing ("CLSRCH" in ASCII).
const SEARCH_INDEX_LOCK: i64 = 0x434c_5352_4348;

/// Width of a tenant's FTS rowid range on SQLite.
pub(crate) const TENANT_ROWID_SHIFT: u32 = 40;

/// Rewrites an existing customer's search document inside the transaction `$tx`: the FTS row
/// (SQLite), the prefix terms and new vocabulary words. (New customers are indexed in bulk by the
/// batch insert.)
macro_rules! index_customer {
    ($tx:ident, $sqlite:expr, $tenant:expr, $rowid:expr, $doc:expr) => {{
        let (sqlite, tenant, rowid, doc): (bool, uuid::Uuid, i64, &clientele_core::search::terms::SearchDocument) =
            ($sqlite, $tenant, $rowid, $doc);
        if sqlite {
            sqlx::query("DELETE FROM customer_search WHERE rowid = $1")
                .bind(rowid)
                .execute(&mut *$tx)
                .await
                .map_err($crate::db::db_error)?;
            sqlx::query("INSERT INTO customer_search (rowid, search_text) VALUES ($1, $2)")
                .bind(rowid)
                .bind(&doc.text)
                .execute(&mut *$tx)
                .await
                .map_err($crate::db::db_error)?;
        }
        sqlx::query("DELETE FROM customer_search_prefixes WHERE tenant_id = $1 AND search_rowid = $2")
            .bind(tenant)
            .bind(rowid)
            .execute(&mut *$tx)
            .await
            .map_err($crate::db::db_error)?;
        $crate::search::index_search_terms!($tx, sqlite, tenant, &[(rowid, doc)]);
    }};
}

/// Rows per multi-row statement of the search terms (a customer has a few dozen prefixes).
pub(crate) const TERMS_PER_STATEMENT: usize = 5_000;

/// Writes the prefix terms of customers (`&[(search_rowid, &SearchDocument)]`) of tenant
/// `$tenant` inside the transaction `$tx`, and the vocabulary neighbourhoods of the words the
/// tenant has not seen yet: a few multi-row statements however many terms there are (a
/// customer has dozens), for one customer (an update) as for a batch (an insert).
macro_rules! index_search_terms {
    ($tx:ident, $sqlite:expr, $tenant:expr, $docs:expr) => {{
        let (sqlite, tenant_id, docs): (bool, uuid::Uuid, &[(i64, &clientele_core::search::terms::SearchDocument)]) =
            ($sqlite, $tenant, $docs);
        let prefixes: Vec<(&String, i64)> =
            docs.iter().flat_map(|(rowid, doc)| doc.prefixes.iter().map(move |term| (term, *rowid))).collect();
        for chunk in prefixes.chunks($crate::search::TERMS_PER_STATEMENT) {
            let mut sql =
                sqlx::QueryBuilder::new("INSERT INTO customer_search_prefixes (tenant_id, term, search_rowid) ");
            sql.push_values(chunk, |mut b, (term, rowid)| {
                b.push_bind(tenant_id).push_bind((*term).clone()).push_bind(*rowid);
            });
            sql.build().execute(&mut *$tx).await.map_err($crate::db::db_error)?;
        }
        // Vocabulary: the neighbourhoods of words the tenant has not seen yet.
        let mut words: Vec<&String> = docs.iter().flat_map(|(_, d)| d.words.iter()).collect();
        words.sort();
        words.dedup();
        let mut new_words = Vec::new();
        // Each word is looked up by the whole key (its own entry is variant = word), one index
        // probe each: `variant IN (…)` alone would read every word sharing a short variant
        // (thousands, at a million customers) only to filter them out.
        let known_sql = if sqlite {
            // CROSS JOIN keeps the list outside: SQLite would otherwise walk the tenant's whole
            // vocabulary once per word of the list.
            "SELECT s.word FROM json_each($2) AS v CROSS JOIN search_vocabulary s \
             ON s.tenant_id = $1 AND s.variant = v.value AND s.word = v.value"
        } else {
            // A LATERAL probe with LIMIT cannot become a hash join over the tenant's whole
            // vocabulary, which a plan made while the table was small (or cached from then) picks.
            "SELECT s.word FROM jsonb_array_elements_text($2::jsonb) AS v(w) CROSS JOIN LATERAL ( \
             SELECT word FROM search_vocabulary WHERE tenant_id = $1 AND variant = v.w AND word = v.w LIMIT 1) s"
        };
        for chunk in words.chunks($crate::search::TERMS_PER_STATEMENT / 5) {
            let list = serde_json::to_string(chunk).map_err(clientele_core::Error::internal)?;
            let known: std::collections::HashSet<String> = sqlx::query_scalar::<_, String>(known_sql)
                .bind(tenant_id)
                .bind(list)
                .fetch_all(&mut *$tx)
                .await
                .map_err($crate::db::db_error)?
                .into_iter()
                .collect();
            new_words.extend(chunk.iter().filter(|w| !known.contains(w.as_str())).map(|w| (*w).clone()));
        }
        let variants: Vec<(String, &String)> = new_words
            .iter()
            .flat_map(|w| clientele_core::search::terms::vocabulary_variants(w).into_iter().map(move |v| (v, w)))
            .collect();
        for chunk in variants.chunks($crate::search::TERMS_PER_STATEMENT) {
            let mut sql = sqlx::QueryBuilder::new("INSERT INTO search_vocabulary (tenant_id, variant, word) ");
            sql.push_values(chunk, |mut b, (variant, word)| {
                b.push_bind(tenant_id).push_bind(variant.clone()).push_bind((*word).clone());
            });
            sql.push(" ON CONFLICT DO NOTHING");
            sql.build().execute(&mut *$tx).await.map_err($crate::db::db_error)?;
        }
    }};
}

/// A customer with its place in recency order.
#[derive(Debug, sqlx::FromRow)]
struct SearchRecord {
    search_rowid: i64,
    #[sqlx(flatten)]
    customer: CustomerRecord,
}

/// The phrases a word matches at a tier: ` w ` (exact), ` w` (prefix), `w` (substring).
fn phrases(word: &str, tier: Tier) -> String {
    match tier {
        Tier::Exact => format!(" {word} "),
        Tier::Prefix => format!(" {word}"),
        Tier::Substring | Tier::Typo => word.to_owned(),
    }
}

/// For each long word, the phrases that satisfy it at `tier` (any of them will do).
fn alternatives(terms: &SearchTerms, tier: Tier) -> Vec<Vec<String>> {
    terms
        .long
        .iter()
        .map(|term| {
            let mut any: Vec<String> =
                std::iter::once(&term.word).chain(&term.alternatives).map(|w| phrases(w, tier)).collect();
            if tier == Tier::Typo {
                any.extend(term.corrections.iter().map(|c| phrases(c, Tier::Exact)));
            }
            any
        })
        .collect()
}

/// The tier just above `tier`, whose results are excluded from it.
fn previous(tier: Tier) -> Option<Tier> {
    match tier {
        Tier::Exact => None,
        Tier::Prefix => Some(Tier::Exact),
        Tier::Substring => Some(Tier::Prefix),
        Tier::Typo => Some(Tier::Substring),
    }
}

/// The FTS5 expression of a tier's condition (every word, each by any of its phrases).
fn fts_condition(terms: &SearchTerms, tier: Tier) -> String {
    let mut parts: Vec<String> = alternatives(terms, tier)
        .into_iter()
        .map(|any| format!("({})", any.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(" OR ")))
        .collect();
    // Two-letter words are trigrams with their leading space; one-letter words are filtered with LIKE.
    parts.extend(terms.short.iter().filter(|s| s.len() == 2).map(|s| format!("\" {s}\"")));
    parts.join(" AND ")
}

/// The FTS5 query of a tier: its condition, minus the tiers above it when `exclusive`.
fn fts_query(terms: &SearchTerms, tier: Tier, exclusive: bool) -> String {
    let this = fts_condition(terms, tier);
    match previous(tier).filter(|_| exclusive) {
        Some(above) => format!("({this}) NOT ({})", fts_condition(terms, above)),
        None => this,
    }
}

impl SqlStore {
    pub(crate) fn is_sqlite(&self) -> bool {
        matches!(self.db, Db::Sqlite { .. })
    }

    /// One- and two-letter queries: the prefix table, newest first. The first word drives; the
    /// others must begin a word too. `Exact` is customers with the first word as a whole word.
    async fn search_prefix_tier(
        &self,
        tenant: TenantId,
        terms: &SearchTerms,
        tier: Tier,
        exclusive: bool,
        query: &CustomerQuery,
        after: Option<i64>,
    ) -> Result<Vec<SearchMatch>> {
        let Some((first, others)) = terms.short.split_first() else { return Ok(Vec::new()) };
        let term = match tier {
            Tier::Exact => format!("={first}"),
            _ => format!("^{first}"),
        };
        let rows = with_reader!(self, tenant, |conn| {
            let mut sql = QueryBuilder::new(
                "SELECT c.search_rowid, c.search_text FROM customer_search_prefixes p CROSS JOIN customers c \
                 WHERE c.tenant_id = p.tenant_id AND c.search_rowid = p.search_rowid AND p.tenant_id = ",
            );
            sql.push_bind(tenant.as_uuid()).push(" AND p.term = ").push_bind(term);
            if tier != Tier::Exact && exclusive {
                sql.push(
                    " AND NOT EXISTS (SELECT 1 FROM customer_search_prefixes x \
                     WHERE x.tenant_id = p.tenant_id AND x.search_rowid = p.search_rowid AND x.term = ",
                )
                .push_bind(format!("={first}"))
                .push(")");
            }
            for other in others {
                sql.push(" AND c.search_text LIKE ").push_bind(format!("% {other}%"));
            }
            push_customer_filters!(sql, tenant, query, "c.");
            if let Some(after) = after {
                sql.push(" AND p.search_rowid < ").push_bind(after);
            }
            sql.push(" ORDER BY p.search_rowid DESC LIMIT ").push_bind(i64::from(query.limit));
            sql.build_query_as::<(i64, String)>().fetch_all(conn).await
        });
        Ok(rows.map_err(db_error)?.into_iter().map(|(rowid, text)| SearchMatch { rowid, text }).collect())
    }

    async fn tenant_number(&self, tenant: TenantId) -> Result<i64> {
        let number = with_reader!(self, tenant, |conn| {
            sqlx::query_scalar::<_, Option<i64>>("SELECT number FROM tenants WHERE id = $1")
                .bind(tenant.as_uuid())
                .fetch_optional(conn)
                .await
        });
        number.map_err(db_error)?.flatten().ok_or(Error::NotFound("tenant"))
    }

    /// Indexes every customer again when the search index version changed (and after the
    /// migration that introduced search). Runs in batches, each its own transaction. On
    /// PostgreSQL an advisory lock keeps two processes starting at once from doing it together.
    pub(crate) async fn ensure_search_index(&self) -> Result<()> {
        if self.search_index_version().await?.as_deref() == Some(SEARCH_INDEX_VERSION.as_bytes()) {
            return Ok(());
        }
        let Db::Postgres(pool) = &self.db else { return self.rebuild_search_index().await };
        let mut lock = pool.acquire().await.map_err(db_error)?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(SEARCH_INDEX_LOCK)
            .execute(&mut *lock)
            .await
            .map_err(db_error)?;
        // Another process may have rebuilt the index while this one waited for the lock.
        let rebuilt = match self.search_index_version().await {
            Ok(version) if version.as_deref() == Some(SEARCH_INDEX_VERSION.as_bytes()) => Ok(()),
            Ok(_) => self.rebuild_search_index().await,
            Err(error) => Err(error),
        };
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)").bind(SEARCH_INDEX_LOCK).execute(&mut *lock).await;
        if unlocked.is_err() {
            // Never hand a connection that may still hold the lock back to the pool.
            lock.detach();
        }
        rebuilt
    }

    async fn search_index_version(&self) -> Result<Option<Vec<u8>>> {
        let version = with_reader!(self, Scope::Platform, |conn| {
            sqlx::query_scalar("SELECT value FROM platform_settings WHERE key = $1")
                .bind(SEARCH_INDEX_KEY)
                .fetch_optional(conn)
                .await
        });
        version.map_err(db_error)
    }

    async fn rebuild_search_index(&self) -> Result<()> {
        let sqlite = self.is_sqlite();
        let mut after: Option<(Uuid, Uuid)> = None;
        let mut count = 0_usize;
        loop {
            let batch: Vec<SearchRecord> = with_reader!(self, Scope::AllTenants, |conn| {
                let mut sql = QueryBuilder::new(concat!(
                    "/* all tenants */ SELECT search_rowid, ",
                    customer_columns!(),
                    " FROM customers"
                ));
                if let Some((tenant, id)) = after {
                    sql.push(" WHERE tenant_id > ")
                        .push_bind(tenant)
                        .push(" OR (tenant_id = ")
                        .push_bind(tenant)
                        .push(" AND id > ")
                        .push_bind(id)
                        .push(")");
                }
                sql.push(" ORDER BY tenant_id, id LIMIT 1000");
                sql.build_query_as::<SearchRecord>().fetch_all(conn).await
            })
            .map_err(db_error)?;
            let Some(last) = batch.last() else { break };
            after = Some((last.customer.tenant_id, last.customer.id));
            count += batch.len();
            in_transaction!(self, Scope::AllTenants, |tx| {
                for record in &batch {
                    let customer = Customer::try_from(record.customer.clone())?;
                    let doc = SearchDocument::of(&customer.data);
                    sqlx::query("UPDATE customers SET search_text = $3 WHERE tenant_id = $1 AND id = $2")
                        .bind(record.customer.tenant_id)
                        .bind(record.customer.id)
                        .bind(&doc.text)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    index_customer!(tx, sqlite, record.customer.tenant_id, record.search_rowid, &doc);
                }
            });
        }
        in_transaction!(self, Scope::Platform, |tx| {
            sqlx::query(
                "INSERT INTO platform_settings (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(SEARCH_INDEX_KEY)
            .bind(SEARCH_INDEX_VERSION.as_bytes())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        });
        if count > 0 {
            tracing::info!(customers = count, "search index rebuilt");
        }
        Ok(())
    }
}

/// Appends a tier's condition as `LIKE` patterns (PostgreSQL; served by the trigram index).
fn push_like_condition(sql: &mut QueryBuilder<sqlx::Postgres>, terms: &SearchTerms, tier: Tier) {
    let mut first = true;
    for any in alternatives(terms, tier) {
        sql.push(if first { "(" } else { " AND (" });
        first = false;
        for (i, phrase) in any.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("search_text LIKE ").push_bind(format!("%{phrase}%"));
        }
        sql.push(")");
    }
    for short in &terms.short {
        sql.push(" AND search_text LIKE ").push_bind(format!("% {short}%"));
    }
}

#[async_trait]
impl SearchStore for SqlStore {
    /// The matches of a tier (or of every tier up to it), newest first: rowids and texts.
    async fn search_matches(
        &self,
        tenant: TenantId,
        terms: &SearchTerms,
        tier: Tier,
        exclusive: bool,
        query: &CustomerQuery,
        after: Option<i64>,
    ) -> Result<Vec<SearchMatch>> {
        if terms.long.is_empty() {
            return self.search_prefix_tier(tenant, terms, tier, exclusive, query, after).await;
        }
        let rows: std::result::Result<Vec<(i64, String)>, sqlx::Error> = match &self.db {
            Db::Sqlite { read, .. } => {
                let number = self.tenant_number(tenant).await?;
                let low = number << TENANT_ROWID_SHIFT;
                let high = low + (1_i64 << TENANT_ROWID_SHIFT) - 1;
                // A cursor is client input: never let it overflow.
                let high = after.map_or(high, |a| a.saturating_sub(1));
                let mut sql = QueryBuilder::new(
                    "SELECT c.search_rowid, c.search_text FROM customer_search s CROSS JOIN customers c \
                     WHERE c.search_rowid = s.rowid AND s.customer_search MATCH ",
                );
                sql.push_bind(fts_query(terms, tier, exclusive))
                    .push(" AND s.rowid >= ")
                    .push_bind(low)
                    .push(" AND s.rowid <= ")
                    .push_bind(high)
                    .push(" AND c.tenant_id = ")
                    .push_bind(tenant.as_uuid());
                for short in terms.short.iter().filter(|s| s.len() == 1) {
                    sql.push(" AND c.search_text LIKE ").push_bind(format!("% {short}%"));
                }
                push_customer_filters!(sql, tenant, query, "c.");
                sql.push(" ORDER BY s.rowid DESC LIMIT ").push_bind(i64::from(query.limit));
                sql.build_query_as().fetch_all(read).await
            }
            Db::Postgres(pool) => {
                let mut sql = QueryBuilder::new("SELECT search_rowid, search_text FROM customers WHERE tenant_id = ");
                sql.push_bind(tenant.as_uuid()).push(" AND ");
                push_like_condition(&mut sql, terms, tier);
                if let Some(above) = previous(tier).filter(|_| exclusive) {
                    sql.push(" AND NOT (");
                    push_like_condition(&mut sql, terms, above);
                    sql.push(")");
                }
                push_customer_filters!(sql, tenant, query, "");
                if let Some(after) = after {
                    sql.push(" AND search_rowid < ").push_bind(after);
                }
                // Few customers match a selective query: steer the planner to the trigram index
                // and a sort (`+ 0` hides the rowid index's order). Its estimates for `LIKE '%…%'`
                // are far too high, so left alone it would walk the whole tenant in rowid order,
                // hoping to meet the limit early. Broad queries are left to that walk: it is the
                // fast plan when many customers match.
                let order = if is_selective(terms) {
                    " ORDER BY search_rowid + 0 DESC LIMIT "
                } else {
                    " ORDER BY search_rowid DESC LIMIT "
                };
                sql.push(order).push_bind(i64::from(query.limit));
                // Never a cached generic plan: planned without the patterns, PostgreSQL tends to
                // walk the whole tenant in rowid order instead of asking the trigram index.
                let mut tx = pool.begin_with(self.pg_begin(Scope::Tenant(tenant))).await.map_err(db_error)?;
                let rows = sql.build_query_as().persistent(false).fetch_all(&mut *tx).await;
                tx.commit().await.map_err(db_error)?;
                rows
            }
        };
        Ok(rows.map_err(db_error)?.into_iter().map(|(rowid, text)| SearchMatch { rowid, text }).collect())
    }

    /// The customers with these search rowids, in the order given (absent ones left out).
    async fn customers_by_search_rowid(&self, tenant: TenantId, rowids: &[i64]) -> Result<Vec<Customer>> {
        if rowids.is_empty() {
            return Ok(Vec::new());
        }
        let records = with_reader!(self, tenant, |conn| {
            let mut sql = QueryBuilder::new(concat!(
                "SELECT search_rowid, ",
                customer_columns!(),
                " FROM customers WHERE tenant_id = "
            ));
            sql.push_bind(tenant.as_uuid()).push(" AND search_rowid IN (");
            let mut list = sql.separated(", ");
            for rowid in rowids {
                list.push_bind(*rowid);
            }
            sql.push(")");
            sql.build_query_as::<SearchRecord>().fetch_all(conn).await
        });
        let mut by_rowid: std::collections::HashMap<i64, CustomerRecord> =
            records.map_err(db_error)?.into_iter().map(|r| (r.search_rowid, r.customer)).collect();
        rowids.iter().filter_map(|r| by_rowid.remove(r)).map(Customer::try_from).collect()
    }

    /// Vocabulary words sharing any of `variants`.
    async fn search_vocabulary(&self, tenant: TenantId, variants: &[String]) -> Result<Vec<String>> {
        if variants.is_empty() {
            return Ok(Vec::new());
        }
        let words = with_reader!(self, tenant, |conn| {
            let mut sql = QueryBuilder::new("SELECT DISTINCT word FROM search_vocabulary WHERE tenant_id = ");
            sql.push_bind(tenant.as_uuid()).push(" AND variant IN (");
            let mut list = sql.separated(", ");
            for variant in variants {
                list.push_bind(variant.as_str());
            }
            sql.push(") ORDER BY word LIMIT 200");
            // The list's length varies with the word: not worth a cached statement per length.
            sql.build_query_scalar::<String>().persistent(false).fetch_all(conn).await
        });
        words.map_err(db_error)
    }
}

pub(crate) use index_customer;
pub(crate) use index_search_terms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_queries_exclude_the_tiers_above() {
        let mut terms = SearchTerms::parse("mario ro").unwrap();
        assert_eq!(fts_query(&terms, Tier::Exact, true), "(\" mario \") AND \" ro\"");
        assert_eq!(fts_query(&terms, Tier::Prefix, true), "((\" mario\") AND \" ro\") NOT ((\" mario \") AND \" ro\")");
        assert_eq!(fts_query(&terms, Tier::Prefix, false), "(\" mario\") AND \" ro\"");
        terms.long[0].corrections = vec!["maria".into()];
        assert_eq!(
            fts_query(&terms, Tier::Typo, true),
            "((\"mario\" OR \" maria \") AND \" ro\") NOT ((\"mario\") AND \" ro\")"
        );
    }
}
