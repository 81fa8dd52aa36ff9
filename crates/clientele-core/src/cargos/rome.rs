//! Europe/Rome wall-clock time, which the record's date-times are written in (it has no zone
//! marker; a UTC server writing UTC would report every rental one or two hours early).
//!
//! Why our own rule and not a time-zone database (`jiff` with its bundled tzdb, or `chrono-tz`):
//! Italy has followed the EU summer-time rule since 1996 — CEST (UTC+2) from the last Sunday of
//! March at 01:00 UTC to the last Sunday of October at 01:00 UTC, CET (UTC+1) otherwise — and
//! the record only ever carries instants of contracts being reported now. Twenty lines of
//! arithmetic, tested at every transition, cover that exactly, without a second date-time
//! library beside `time` and without reading the system's zoneinfo files (the core does no I/O).
//! The rule is checked independently: the `cargos-api` agreement test's instants are converted
//! by Python's `zoneinfo` with a pinned IANA `tzdata`. Instants before 1996 (when Italy's rules
//! differed) are refused rather than guessed. Should the EU ever end seasonal changes, this is
//! the one function to change, and the regenerated agreement data would show it.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, UtcOffset, Weekday};

/// The first year the EU rule (and so this conversion) holds for Italy.
pub const FIRST_YEAR: i32 = 1996;

/// The instant's Europe/Rome wall-clock date and time, or `None` before [`FIRST_YEAR`] (or
/// where the year would leave four digits).
pub fn rome_wall_time(instant: OffsetDateTime) -> Option<PrimitiveDateTime> {
    let utc = instant.checked_to_offset(UtcOffset::UTC)?;
    if utc.year() < FIRST_YEAR || utc.year() > 9998 {
        return None;
    }
    let summer_start = transition(utc.year(), Month::March)?;
    let summer_end = transition(utc.year(), Month::October)?;
    let utc = PrimitiveDateTime::new(utc.date(), utc.time());
    let hours = if (summer_start..summer_end).contains(&utc) { 2 } else { 1 };
    utc.checked_add(time::Duration::hours(hours))
}

/// 01:00 UTC on the last Sunday of `month` of `year`: when EU summer time starts (March) or ends
/// (October).
fn transition(year: i32, month: Month) -> Option<PrimitiveDateTime> {
    let last_day = Date::from_calendar_date(year, month, time::util::days_in_month(month, year)).ok()?;
    let back = last_day.weekday().number_days_from_sunday();
    let sunday = last_day.checked_sub(time::Duration::days(i64::from(back)))?;
    debug_assert_eq!(sunday.weekday(), Weekday::Sunday);
    Some(PrimitiveDateTime::new(sunday, time::Time::from_hms(1, 0, 0).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn rome(instant: OffsetDateTime) -> PrimitiveDateTime {
        rome_wall_time(instant).unwrap()
    }

    #[test]
    fn winter_is_one_hour_ahead_and_summer_two() {
        assert_eq!(rome(datetime!(2026-01-15 09:30 UTC)), datetime!(2026-01-15 10:30));
        assert_eq!(rome(datetime!(2026-07-15 09:30 UTC)), datetime!(2026-07-15 11:30));
        // The offset of the input does not matter, only the instant.
        assert_eq!(rome(datetime!(2026-07-15 11:30 +02:00)), datetime!(2026-07-15 11:30));
    }

    #[test]
    fn summer_time_starts_on_the_last_sunday_of_march_at_one_utc() {
        // 2026-03-29 is the last Sunday of March 2026.
        assert_eq!(rome(datetime!(2026-03-29 00:59:59 UTC)), datetime!(2026-03-29 01:59:59));
        assert_eq!(rome(datetime!(2026-03-29 01:00 UTC)), datetime!(2026-03-29 03:00));
        assert_eq!(rome(datetime!(2026-03-22 01:00 UTC)), datetime!(2026-03-22 02:00));
    }

    #[test]
    fn summer_time_ends_on_the_last_sunday_of_october_at_one_utc() {
        // 2026-10-25 is the last Sunday of October 2026; 02:00-03:00 happens twice.
        assert_eq!(rome(datetime!(2026-10-25 00:59 UTC)), datetime!(2026-10-25 02:59));
        assert_eq!(rome(datetime!(2026-10-25 01:00 UTC)), datetime!(2026-10-25 02:00));
        assert_eq!(rome(datetime!(2026-10-31 23:30 UTC)), datetime!(2026-11-01 00:30));
    }

    #[test]
    fn the_rule_holds_on_known_transition_days_across_the_years() {
        // (year, March Sunday, October Sunday) from the IANA tzdb for Europe/Rome.
        for (year, march, october) in
            [(1996, 31, 27), (2000, 26, 29), (2019, 31, 27), (2024, 31, 27), (2025, 30, 26), (2031, 30, 26)]
        {
            let start = transition(year, Month::March).unwrap();
            let end = transition(year, Month::October).unwrap();
            assert_eq!((start.day(), end.day()), (march, october), "{year}");
        }
    }

    #[test]
    fn new_year_in_rome_comes_an_hour_before_new_year_in_utc() {
        assert_eq!(rome(datetime!(2025-12-31 23:15 UTC)), datetime!(2026-01-01 00:15));
    }

    #[test]
    fn instants_before_1996_are_not_guessed() {
        assert_eq!(rome_wall_time(datetime!(1995-12-31 12:00 UTC)), None);
        assert!(rome_wall_time(datetime!(1996-01-01 00:00 UTC)).is_some());
    }
}
