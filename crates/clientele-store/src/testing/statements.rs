//! Every statement the store runs on tenant data names `tenant_id`: checked on every statement
//! the test suites run, from sqlx's own statement log.
//!
//! This is what lets the store grow past one PostgreSQL with Citus (`docs/scaling.md`): tables
//! distributed by `tenant_id` route a statement to one shard only when it filters by it. The few
//! statements that deliberately work across tenants (the outbox dispatcher, purges, background
//! job claims, an email looked up at every company) say so in the SQL itself with the comment
//! [`ALL_TENANTS`]; Citus runs those on every shard, which is what they mean.
//!
//! [`watch`] installs a global `tracing` subscriber (once per test process) that sees sqlx's
//! `sqlx::query` events. A statement on a tenant table with neither `tenant_id` nor the marker
//! fails the test that ran it (a panic in the task that ran it, naming the statement).

use std::sync::{LazyLock, Mutex, Once};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// The comment that marks a statement working across tenants on purpose.
pub const ALL_TENANTS: &str = "/* all tenants */";
/// The comment that marks a statement a test runs itself ([`super::TestDatabase::execute`]).
pub const TEST_STATEMENT: &str = "/* test */";

/// The tables distributed by `tenant_id`: every table with that column but [`UNDISTRIBUTED`].
/// A test in the conformance suite checks this list against the migrated schema.
pub const TENANT_TABLES: [&str; 25] = [
    "audit_chain",
    "audit_log",
    "blacklist_entries",
    "cargos_agencies",
    "cargos_settings",
    "cargos_submissions",
    "customer_notes",
    "customer_search_prefixes",
    "customers",
    "documents",
    "global_blacklist_matches",
    "import_errors",
    "import_files",
    "import_jobs",
    "orders",
    "outbox_events",
    "search_vocabulary",
    "stripe_customers",
    "stripe_events",
    "stripe_settings",
    "users",
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_endpoints",
    "webhook_subscriptions",
];

/// Tables with a `tenant_id` column that stay whole on the coordinator: the global blacklist (a
/// reference table, shared by every tenant by design) and the console's sessions (found by
/// their cookie before the tenant is known; platform admins' have no tenant).
pub const UNDISTRIBUTED: [&str; 2] = ["global_blacklist", "console_sessions"];

/// The statements seen that broke the rule (each once).
static VIOLATIONS: LazyLock<Mutex<Vec<String>>> = LazyLock::new(Mutex::default);

/// The tenant table `sql` reads or writes without `tenant_id` or [`ALL_TENANTS`], if any.
///
/// Scoped means: an `INSERT` that writes `tenant_id`, or any other statement that compares
/// `tenant_id` for equality (`tenant_id = $1`, `c.tenant_id = t.tenant_id`). A statement a
/// test itself runs (tampering with the data, as an attacker would) carries [`TEST_STATEMENT`].
pub fn unscoped_table(sql: &str) -> Option<&'static str> {
    let lower = sql.to_ascii_lowercase();
    if lower.contains(ALL_TENANTS) || lower.contains(TEST_STATEMENT) {
        return None;
    }
    // Schema changes (migrations, test templates) are not statements on the data.
    let first = lower.split_whitespace().next().unwrap_or_default();
    if matches!(first, "create" | "alter" | "drop" | "comment" | "analyze" | "vacuum" | "pragma" | "truncate") {
        return None;
    }
    let compared = lower.match_indices("tenant_id").any(|(at, _)| {
        let after = lower[at + "tenant_id".len()..].trim_start();
        after.starts_with('=') || lower[..at].trim_end().ends_with('=')
    });
    if compared || (first == "insert" && lower.contains("tenant_id")) {
        return None;
    }
    let words: Vec<&str> =
        lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    words.windows(2).find_map(|pair| {
        let touches = matches!(pair[0], "from" | "join" | "into" | "update");
        if touches { TENANT_TABLES.iter().find(|t| **t == pair[1]).copied() } else { None }
    })
}

/// Starts watching this process's statements (once; later calls do nothing). Another global
/// subscriber already installed means no watching here, said on the terminal.
pub fn watch() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(Guard);
        if tracing::subscriber::set_global_default(subscriber).is_err() {
            eprintln!("note: another tracing subscriber is installed: statements are not checked for tenant_id");
        }
    });
}

/// The statements seen so far that broke the rule.
pub fn violations() -> Vec<String> {
    VIOLATIONS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

struct Guard;

#[derive(Default)]
struct Statement {
    summary: String,
    full: String,
}

impl Visit for Statement {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "summary" => self.summary = value.to_owned(),
            "db.statement" => self.full = value.to_owned(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

impl<S: Subscriber> Layer<S> for Guard {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.target() == "sqlx::query"
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut statement = Statement::default();
        event.record(&mut statement);
        let sql = if statement.full.trim().is_empty() { statement.summary } else { statement.full };
        let Some(table) = unscoped_table(&sql) else { return };
        let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
        {
            let mut seen = VIOLATIONS.lock().unwrap_or_else(|p| p.into_inner());
            if !seen.contains(&sql) {
                seen.push(sql.clone());
            }
        }
        if std::env::var_os("CLIENTELE_TEST_STATEMENTS_REPORT_ONLY").is_none() && !std::thread::panicking() {
            panic!(
                "a statement on the tenant table {table} names no tenant_id (nor {ALL_TENANTS}): it would not \
                 route to one shard (docs/scaling.md): {sql}"
            );
        } else {
            eprintln!("UNSCOPED STATEMENT ({table}): {sql}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_on_tenant_tables_must_name_the_tenant_or_say_they_span_all() {
        assert_eq!(unscoped_table("SELECT id FROM customers WHERE id = $1"), Some("customers"));
        assert_eq!(unscoped_table("UPDATE orders SET status = $1 WHERE id = $2"), Some("orders"));
        assert_eq!(unscoped_table("INSERT INTO audit_log (id) VALUES ($1)"), Some("audit_log"));
        assert_eq!(unscoped_table("SELECT 1 FROM tenants t JOIN users u ON u.id = $1"), Some("users"));
        assert_eq!(unscoped_table("SELECT id FROM customers WHERE tenant_id = $1 AND id = $2"), None);
        assert_eq!(unscoped_table("SELECT id FROM outbox_events /* all tenants */ LIMIT 10"), None);
        assert_eq!(unscoped_table("SELECT id, name FROM tenants WHERE id = $1"), None);
        assert_eq!(unscoped_table("CREATE INDEX x ON customers (email)"), None);
        assert_eq!(unscoped_table("SELECT * FROM global_blacklist WHERE pseudonym = $1"), None);
        assert_eq!(unscoped_table("SELECT c.id FROM orders o JOIN customers c ON c.tenant_id = o.tenant_id"), None);
        // Naming the column is not filtering by it.
        assert_eq!(
            unscoped_table("SELECT tenant_id, id FROM outbox_events ORDER BY id LIMIT 10"),
            Some("outbox_events")
        );
        assert_eq!(
            unscoped_table("DELETE FROM webhook_attempts WHERE (tenant_id, event_id) IN (SELECT 1)"),
            Some("webhook_attempts")
        );
        assert_eq!(unscoped_table("/* test */ UPDATE audit_log SET reason = 'x'"), None);
    }
}
