//! Instants as the product stores and shows them: UTC, microsecond precision.
//!
//! PostgreSQL keeps microseconds, so every instant is truncated to microseconds when it is made;
//! a value therefore reads back from either backend exactly as it was written.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::error::Result;

/// A UTC instant with microsecond precision, serialized as RFC 3339 (`2026-11-24T09:30:00.123456Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// Now, truncated to microseconds.
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// The earliest year an instant may have (and the latest, [`Self::MAX_YEAR`]): bounds that no
    /// real rental date crosses, and that keep every conversion and format safe.
    pub const MIN_YEAR: i32 = 1900;
    /// The latest year an instant may have.
    pub const MAX_YEAR: i32 = 9998;

    /// Converts to UTC and truncates to microseconds. Meant for instants the program makes or
    /// reads back; client input goes through [`Self::parse`], which bounds the year.
    pub fn from_datetime(datetime: OffsetDateTime) -> Self {
        let utc = datetime.checked_to_offset(UtcOffset::UTC).unwrap_or(datetime);
        let micros = utc.microsecond();
        // Only drops sub-microsecond digits, which always yields a valid instant.
        Self(utc.replace_nanosecond(micros * 1_000).unwrap_or(utc))
    }

    /// The instant as a `time` value in UTC.
    pub fn as_datetime(&self) -> OffsetDateTime {
        self.0
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.0.unix_timestamp()
    }

    /// The instant `seconds` after the Unix epoch (as outside services write instants), when it
    /// is after it and within the years an instant may have.
    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        let at = OffsetDateTime::from_unix_timestamp(seconds).ok()?;
        (seconds > 0 && (Self::MIN_YEAR..=Self::MAX_YEAR).contains(&at.year())).then(|| Self::from_datetime(at))
    }

    /// Parses an RFC 3339 timestamp in any offset, in the years [`Self::MIN_YEAR`] to
    /// [`Self::MAX_YEAR`] (in UTC).
    pub fn parse(text: &str) -> Option<Self> {
        let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
        let utc = parsed.checked_to_offset(UtcOffset::UTC)?;
        (Self::MIN_YEAR..=Self::MAX_YEAR).contains(&utc.year()).then(|| Self::from_datetime(utc))
    }

    /// The UTC calendar date of this instant.
    pub fn date(&self) -> time::Date {
        self.0.date()
    }

    /// This instant plus `duration` (saturating at the calendar's limits).
    pub fn add(&self, duration: std::time::Duration) -> Self {
        let d = time::Duration::try_from(duration).unwrap_or(time::Duration::MAX);
        Self::from_datetime(self.0.saturating_add(d))
    }

    /// How long after `earlier` this instant is (zero when it is not after it).
    pub fn duration_since(&self, earlier: Timestamp) -> std::time::Duration {
        let difference = self.as_datetime() - earlier.as_datetime();
        std::time::Duration::try_from(difference).unwrap_or_default()
    }

    /// This instant minus `duration` (saturating at the calendar's limits).
    pub fn sub(&self, duration: std::time::Duration) -> Self {
        let d = time::Duration::try_from(duration).unwrap_or(time::Duration::MAX);
        Self::from_datetime(self.0.saturating_sub(d))
    }

    /// Fixed-width RFC 3339 with six fractional digits, so that text order is time order.
    pub fn to_fixed_string(&self) -> String {
        let d = self.0;
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute(),
            d.second(),
            d.microsecond()
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_fixed_string())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_fixed_string())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 timestamp"))
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::ids::string_schema(Some(utoipa::openapi::KnownFormat::DateTime))
    }
}

impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_string_sorts_like_time_and_round_trips() {
        let a = Timestamp::parse("2026-01-02T03:04:05.1Z").unwrap();
        let b = Timestamp::parse("2026-01-02T03:04:05.09+00:00").unwrap();
        assert!(b < a);
        assert!(b.to_fixed_string() < a.to_fixed_string());
        assert_eq!(a.to_fixed_string(), "2026-01-02T03:04:05.100000Z");
        assert_eq!(Timestamp::parse(&a.to_fixed_string()), Some(a));
    }

    #[test]
    fn instants_at_the_edges_of_the_calendar_are_refused_not_panicked_on() {
        for text in
            ["9999-12-31T23:59:59-01:00", "0000-01-01T00:30:00+01:00", "1899-12-31T23:59:59Z", "9999-01-01T00:00:00Z"]
        {
            assert_eq!(Timestamp::parse(text), None, "{text}");
        }
        assert!(Timestamp::parse("9998-12-31T23:59:59Z").is_some());
    }

    #[test]
    fn other_offsets_are_converted_to_utc_and_nanos_truncated() {
        let t = Timestamp::parse("2026-01-02T03:04:05.123456789+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-01-02T01:04:05.123456Z");
    }
}
