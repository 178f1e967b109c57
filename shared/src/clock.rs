//! The one source of "now" for every rule. Production holds [`Clock::system`]; tests hold [`Clock::fixed`], an
//! instant that moves only when the test moves it, so that no rule's outcome depends on when the tests run (near
//! midnight, across 1 September, on the days the clocks change).
//!
//! Timing plumbing that measures durations (pacing, leases on queues, token caches) keeps `Instant` or the system
//! clock: it decides when to wait, never what a record says.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::London;

#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The machine's clock.
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that stands at `at` until [`Clock::advance`] moves it. Clones share the same instant.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self { manual: Some(Arc::new(Mutex::new(at))) }
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            None => Utc::now(),
            Some(at) => *at.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// The date in England now: academic years, year groups and "in the past" are London dates.
    pub fn today_in_london(&self) -> NaiveDate {
        london_date(self.now())
    }

    /// Moves a fixed clock on (tests of leases, idle timeouts and "pending for 24 hours"). A system clock cannot
    /// be moved, and saying so loudly beats a test that silently waits for real time.
    pub fn advance(&self, by: chrono::Duration) {
        let at = self.manual.as_ref().expect("only a fixed clock can be advanced");
        let mut at = at.lock().unwrap_or_else(PoisonError::into_inner);
        *at += by;
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.manual {
            None => f.write_str("Clock::system"),
            Some(_) => write!(f, "Clock::fixed({})", self.now()),
        }
    }
}

/// The London calendar date of an instant.
pub fn london_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&London).date_naive()
}

/// "Now" as a frozen `today` implies: the time of day of `now` in London, on `today`. When `today` is the real date
/// this is `now`; a fixed `today` (demos, replays of a fixture at its own date) keeps "a time later today" meaning
/// the same.
pub fn on_date(today: NaiveDate, now: DateTime<Utc>) -> DateTime<Utc> {
    let wall = now.with_timezone(&London);
    if wall.date_naive() == today {
        return now;
    }
    // The earliest reading of an ambiguous wall time; a time the clocks skip over keeps `now`'s own instant offset.
    today.and_time(wall.time()).and_local_timezone(London).earliest().map(|t| t.with_timezone(&Utc)).unwrap_or(now)
}

/// Noon in London on `date` (never ambiguous: the clocks change at night). A test's "now" when only the date
/// matters, and the `--today` of a demo when it differs from the real date.
pub fn noon_in_london(date: NaiveDate) -> DateTime<Utc> {
    let noon = date.and_hms_opt(12, 0, 0).expect("noon exists");
    noon.and_local_timezone(London).single().map(|t| t.with_timezone(&Utc)).unwrap_or_else(|| noon.and_utc())
}

/// A fixed instant for unit tests whose outcome must not depend on it: late morning on a school day in term.
#[cfg(test)]
pub(crate) fn test_instant() -> DateTime<Utc> {
    "2025-05-20T10:30:00Z".parse().expect("instant")
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn when_fixed_should_stand_still_until_advanced_and_share_the_instant_with_clones() {
        let at = Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0).single().expect("instant");
        let clock = Clock::fixed(at);
        let clone = clock.clone();
        assert_eq!(clock.now(), at);
        clone.advance(chrono::Duration::hours(1));
        assert_eq!(clock.now(), at + chrono::Duration::hours(1));
    }

    #[test]
    fn today_in_london_should_follow_summer_time() {
        // 23:30 UTC on 31 August is 00:30 on 1 September in London (BST), the first day of the academic year.
        let late_august = Utc.with_ymd_and_hms(2026, 8, 31, 23, 30, 0).single().expect("instant");
        assert_eq!(Clock::fixed(late_august).today_in_london(), NaiveDate::from_ymd_opt(2026, 9, 1).expect("date"));
        // In winter London is on UTC.
        let winter = Utc.with_ymd_and_hms(2026, 1, 15, 23, 55, 0).single().expect("instant");
        assert_eq!(Clock::fixed(winter).today_in_london(), NaiveDate::from_ymd_opt(2026, 1, 15).expect("date"));
    }
}
