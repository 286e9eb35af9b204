//! Schedules of periodic routines: [`RunOptions::every`](crate::RunOptions::every) (a
//! fixed rate) and, with the `cron` feature, [`Cron`] expressions.

use std::time::Duration;

use tokio::time::Instant;

/// When a scheduled routine runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Schedule {
    /// Runs start `period` apart, measured from the previous start; the first at once.
    Every(Duration),
    /// Runs start at the times the expression matches (UTC); the first waits for one.
    #[cfg(feature = "cron")]
    Cron(Box<Cron>),
}

impl Schedule {
    /// When the run after one that started at `last_start` (`None`: the first run) may
    /// start, given that it is `now`: a tick missed while a run overran is skipped.
    /// `None`: never (a cron expression with no time left).
    pub(crate) fn next(&self, last_start: Option<Instant>, now: Instant) -> Option<Instant> {
        match self {
            Schedule::Every(period) => {
                let Some(last) = last_start else { return Some(now) };
                let period = (*period).max(Duration::from_nanos(1));
                let next = last + period;
                if next >= now {
                    return Some(next);
                }
                // Skip the ticks that passed while the run overran: the next one on the grid.
                let behind = now.duration_since(last).as_nanos();
                let ticks = behind.div_ceil(period.as_nanos());
                let ticks = u32::try_from(ticks).unwrap_or(u32::MAX);
                last.checked_add(period.saturating_mul(ticks))
            }
            #[cfg(feature = "cron")]
            Schedule::Cron(cron) => cron.next_instant(now),
        }
    }
}

#[cfg(feature = "cron")]
pub use self::cron::Cron;

#[cfg(feature = "cron")]
mod cron {
    use std::fmt;
    use std::str::FromStr;
    use std::time::SystemTime;

    use chrono::{DateTime, Utc};
    use tokio::time::Instant;

    use crate::Error;

    /// A cron expression, evaluated in UTC, for [`RunOptions::cron`](crate::RunOptions::cron)
    /// (feature `cron`, on by default).
    ///
    /// Five fields (minute, hour, day of month, month, day of week) or six with seconds
    /// first; ranges, lists, steps and names as in crontab(5), and `L`, `W`, `#` as
    /// [croner](https://docs.rs/croner) reads them. A routine on a cron schedule waits
    /// for the first matching time, then runs at each matching time; a time that passes
    /// while a run is still going is skipped.
    ///
    /// ```
    /// use rutina::Cron;
    ///
    /// let every_five_minutes = Cron::parse("0 */5 * * * *").unwrap();
    /// assert_eq!(every_five_minutes.to_string(), "0 */5 * * * *");
    /// let nightly: Cron = "0 3 * * *".parse().unwrap();
    /// # let _ = nightly;
    ///
    /// let error = Cron::parse("61 * * * *").unwrap_err();
    /// assert!(error.to_string().starts_with("invalid cron expression `61 * * * *`"));
    /// ```
    #[derive(Clone)]
    pub struct Cron {
        expression: String,
        cron: croner::Cron,
    }

    impl Cron {
        /// Parses `expression`.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidCron`] with the parser's reason.
        pub fn parse(expression: &str) -> Result<Cron, Error> {
            let cron = croner::Cron::new(expression)
                .with_seconds_optional()
                .parse()
                .map_err(|error| Error::InvalidCron { expression: expression.to_owned(), reason: error.to_string() })?;
            Ok(Cron { expression: expression.to_owned(), cron })
        }

        /// The first matching time strictly after `after`.
        pub(crate) fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
            self.cron.find_next_occurrence(&after, false).ok()
        }

        /// The next matching time as a tokio instant (on tokio's clock, so that a paused
        /// clock can drive it in tests).
        pub(crate) fn next_instant(&self, now: Instant) -> Option<Instant> {
            let wall: DateTime<Utc> = SystemTime::now().into();
            let next = self.next_after(wall)?;
            let wait = (next - wall).to_std().unwrap_or_default();
            now.checked_add(wait)
        }
    }

    impl FromStr for Cron {
        type Err = Error;

        fn from_str(expression: &str) -> Result<Cron, Error> {
            Cron::parse(expression)
        }
    }

    impl fmt::Display for Cron {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.expression)
        }
    }

    impl fmt::Debug for Cron {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_tuple("Cron").field(&self.expression).finish()
        }
    }

    impl PartialEq for Cron {
        fn eq(&self, other: &Cron) -> bool {
            self.expression == other.expression
        }
    }

    impl Eq for Cron {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn every_is_a_fixed_rate_that_skips_missed_ticks() {
        let every = Schedule::Every(Duration::from_secs(2));
        let t0 = Instant::now();
        assert_eq!(every.next(None, t0), Some(t0), "the first run at once");
        // A run that took 0.5 s: the next starts 2 s after the previous start.
        assert_eq!(every.next(Some(t0), t0 + Duration::from_millis(500)), Some(t0 + Duration::from_secs(2)));
        // Exactly on time.
        assert_eq!(every.next(Some(t0), t0 + Duration::from_secs(2)), Some(t0 + Duration::from_secs(2)));
        // A run that overran to 5 s: the ticks at 2 s and 4 s are skipped.
        assert_eq!(every.next(Some(t0), t0 + Duration::from_secs(5)), Some(t0 + Duration::from_secs(6)));
    }

    #[cfg(feature = "cron")]
    #[test]
    fn cron_parses_five_and_six_fields_and_says_why_not() {
        use chrono::TimeZone;
        let cron = Cron::parse("*/10 * * * * *").unwrap();
        let at = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 3).unwrap();
        assert_eq!(cron.next_after(at), Some(chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 10).unwrap()));
        let hourly = Cron::parse("0 * * * *").unwrap();
        assert_eq!(hourly.next_after(at), Some(chrono::Utc.with_ymd_and_hms(2026, 1, 1, 1, 0, 0).unwrap()));
        let error = Cron::parse("* * *").unwrap_err();
        assert!(matches!(&error, crate::Error::InvalidCron { expression, .. } if expression == "* * *"), "{error}");
    }
}
