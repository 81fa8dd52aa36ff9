//! What the store answers searches with.

/// A search match before the customer is read: its place in recency order and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchMatch {
    /// The search rowid: increases with creation within a tenant.
    pub rowid: i64,
    /// The folded text that matched.
    pub text: String,
}
