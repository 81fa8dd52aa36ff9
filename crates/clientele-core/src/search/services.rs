//! The search service: tiers asked in order (exact word, prefix, substring, typo), each newest
//! first, until a page is full; selective queries ranked in one pass in memory.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::app::App;
use crate::customers::record::Customer;
use crate::customers::store::CustomerQuery;
use crate::error::{Error, ErrorCode, Result};
use crate::ids::TenantId;
use crate::search::terms::{SearchTerms, Tier, allowed_edits, classify, corrections, is_selective, variants};

/// The most matches a selective search ranks in memory before asking tier by tier instead.
const SINGLE_PASS_CAP: usize = 1_000;

const SEARCH_CURSOR_VERSION: u8 = 2;

/// A search cursor: tier, search rowid, and the query's fingerprint.
fn encode_search_cursor(tier: Tier, rowid: i64, fingerprint: u32) -> String {
    let mut bytes = vec![SEARCH_CURSOR_VERSION, tier as u8];
    bytes.extend_from_slice(&rowid.to_be_bytes());
    bytes.extend_from_slice(&fingerprint.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads a search cursor; `400 invalid_cursor` if it is malformed or made for another query.
fn decode_search_cursor(cursor: &str, fingerprint: u32) -> Result<(Tier, Option<i64>)> {
    let invalid =
        || Error::bad_request(ErrorCode::InvalidCursor, "the cursor is not one this server issued for this search");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let [SEARCH_CURSOR_VERSION, tier, rest @ ..] = bytes.as_slice() else { return Err(invalid()) };
    let (rowid, print) = rest.split_at_checked(8).ok_or_else(invalid)?;
    let rowid = i64::from_be_bytes(rowid.try_into().map_err(|_| invalid())?);
    let print = u32::from_be_bytes(print.try_into().map_err(|_| invalid())?);
    let tier = Tier::from_number(*tier).ok_or_else(invalid)?;
    if print != fingerprint {
        return Err(invalid());
    }
    Ok((tier, Some(rowid)))
}

impl App {
    /// Searches in tiers (exact word, prefix, substring, typo), each newest first, until the page
    /// is full. The cursor carries the tier and position reached, and a fingerprint of the query.
    pub(crate) async fn search(
        &self,
        tenant: TenantId,
        q: &str,
        mut query: CustomerQuery,
        cursor: Option<&str>,
    ) -> Result<(Vec<Customer>, Option<String>)> {
        let started = std::time::Instant::now();
        // A query with nothing searchable in it (only symbols or emoji) finds nobody.
        let Some(mut terms) = SearchTerms::parse(q) else {
            self.telemetry.search_answered("none", started.elapsed());
            return Ok((Vec::new(), None));
        };
        let fingerprint = terms.fingerprint(&query.filters_key());
        let (start, after) = match cursor {
            Some(cursor) => decode_search_cursor(cursor, fingerprint)?,
            None => (Tier::Exact, None),
        };
        // Typo candidates, word by word, so that one word's neighbourhood cannot crowd out another's.
        for term in terms.long.iter_mut().filter(|t| allowed_edits(&t.word) > 0 && t.alternatives.is_empty()) {
            let candidates =
                self.store().search_vocabulary(tenant, &variants(&term.word, allowed_edits(&term.word))).await?;
            term.corrections = corrections(&term.word, &candidates);
        }
        let limit = query.limit as usize;
        let tiers = terms.tiers();
        let mut found: Vec<(Tier, i64)> = Vec::new();
        // The deepest tier asked: the one that answered (filled) the page, for the metrics.
        let mut deepest = start;
        // Where the tier-by-tier search starts.
        let (mut next_tier, mut next_after) = (start, after);
        if is_selective(&terms) && start <= Tier::Substring {
            // Few customers match a selective query: fetch every match down to the substring tier
            // in one pass and rank in memory, instead of scanning the index once per tier. If there
            // turn out to be many, fall back to asking tier by tier, which stops as soon as a page
            // is full. Typo matches rank after all of these, so they are asked for only if the
            // page is not full yet.
            query.limit = u32::try_from(SINGLE_PASS_CAP + 1).unwrap_or(u32::MAX);
            let matches = self.store().search_matches(tenant, &terms, Tier::Substring, false, &query, None).await?;
            if matches.len() <= SINGLE_PASS_CAP {
                deepest = Tier::Substring;
                let mut all: Vec<(Tier, i64)> =
                    matches.iter().filter_map(|m| Some((classify(&terms, &m.text)?, m.rowid))).collect();
                all.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
                let past_cursor = |(tier, rowid): &(Tier, i64)| match after {
                    Some(after) => (*tier, std::cmp::Reverse(*rowid)) > (start, std::cmp::Reverse(after)),
                    None => true,
                };
                found = all.into_iter().filter(past_cursor).take(limit + 1).collect();
                (next_tier, next_after) = (Tier::Typo, None);
            }
        }
        if found.len() <= limit {
            for tier in tiers.into_iter().filter(|t| *t >= next_tier) {
                query.limit = u32::try_from(limit + 1 - found.len()).unwrap_or(1);
                let after = if tier == next_tier { next_after } else { None };
                let matches = self.store().search_matches(tenant, &terms, tier, true, &query, after).await?;
                deepest = deepest.max(tier);
                found.extend(matches.into_iter().map(|m| (tier, m.rowid)));
                if found.len() > limit {
                    break;
                }
            }
        }
        let next = if found.len() > limit {
            found.truncate(limit);
            found.last().map(|(tier, rowid)| encode_search_cursor(*tier, *rowid, fingerprint))
        } else {
            None
        };
        // Only the page's customers are read in full, in one query.
        let rowids: Vec<i64> = found.iter().map(|(_, rowid)| *rowid).collect();
        let customers = self.store().customers_by_search_rowid(tenant, &rowids).await?;
        self.telemetry.search_answered(deepest.name(), started.elapsed());
        Ok((customers, next))
    }
}
