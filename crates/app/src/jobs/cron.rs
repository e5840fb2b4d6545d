//! Cron expressions for recurring jobs: five fields (minute, hour, day of month, month, day of
//! week) in UTC, each `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of
//! these. Day of week counts from Sunday = 0 (7 is Sunday too). As in classic cron, when both the
//! day of month and the day of week are restricted, a day matching either runs.

use chrono::{DateTime, Datelike, Duration, DurationRound, TimeZone, Timelike, Utc};

/// A parsed cron expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_restricted: bool,
    weekdays_restricted: bool,
}

/// Why an expression was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cron expression {expression:?}: {problem}")]
pub struct CronError {
    expression: String,
    problem: String,
}

impl Cron {
    pub fn parse(expression: &str) -> Result<Cron, CronError> {
        let fail = |problem: String| CronError {
            expression: expression.to_owned(),
            problem,
        };
        let fields: Vec<&str> = expression.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(fail(format!(
                "needs 5 fields (minute hour day month weekday), has {}",
                fields.len()
            )));
        }
        let field = |i: usize, name: &str, min: u32, max: u32| {
            parse_field(fields[i], min, max).map_err(|p| fail(format!("{name}: {p}")))
        };
        let minutes = field(0, "minute", 0, 59)?;
        let hours = field(1, "hour", 0, 23)?;
        let days = field(2, "day of month", 1, 31)?;
        let months = field(3, "month", 1, 12)?;
        let mut weekdays = field(4, "day of week", 0, 7)?;
        if weekdays & (1 << 7) != 0 {
            weekdays |= 1;
        }
        Ok(Cron {
            minutes,
            hours,
            days,
            months,
            weekdays,
            days_restricted: fields[2] != "*",
            weekdays_restricted: fields[4] != "*",
        })
    }

    fn day_matches(&self, at: DateTime<Utc>) -> bool {
        let day = self.days & (1 << at.day()) != 0;
        let weekday = self.weekdays & (1 << at.weekday().num_days_from_sunday()) != 0;
        match (self.days_restricted, self.weekdays_restricted) {
            (true, true) => day || weekday,
            (true, false) => day,
            (false, true) => weekday,
            (false, false) => true,
        }
    }

    /// The first time strictly after `after` that matches, at a whole minute; `None` when nothing
    /// matches within five years (such as `0 0 30 2 *`).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut at = after.duration_trunc(Duration::minutes(1)).ok()? + Duration::minutes(1);
        let limit = after + Duration::days(5 * 366);
        while at <= limit {
            if self.months & (1 << at.month()) == 0 {
                let (year, month) = if at.month() == 12 {
                    (at.year() + 1, 1)
                } else {
                    (at.year(), at.month() + 1)
                };
                at = Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single()?;
            } else if !self.day_matches(at) {
                at = at.duration_trunc(Duration::days(1)).ok()? + Duration::days(1);
            } else if self.hours & (1 << at.hour()) == 0 {
                at = at.duration_trunc(Duration::hours(1)).ok()? + Duration::hours(1);
            } else if self.minutes & (1 << at.minute()) == 0 {
                at += Duration::minutes(1);
            } else {
                return Some(at);
            }
        }
        None
    }
}

/// A field as a bit set of the values it allows.
fn parse_field(field: &str, min: u32, max: u32) -> Result<u64, String> {
    let mut set = 0u64;
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| format!("step {step:?} is not a number"))?;
                if step == 0 {
                    return Err("a step must be at least 1".into());
                }
                (range, step)
            }
            None => (part, 1),
        };
        let number = |text: &str| -> Result<u32, String> {
            let n: u32 = text
                .parse()
                .map_err(|_| format!("{text:?} is not a number"))?;
            if n < min || n > max {
                return Err(format!("{n} is outside {min}-{max}"));
            }
            Ok(n)
        };
        let (from, to) = if range == "*" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (number(a)?, number(b)?);
            if a > b {
                return Err(format!("range {a}-{b} runs backwards"));
            }
            (a, b)
        } else {
            let n = number(range)?;
            (n, if step > 1 { max } else { n })
        };
        let mut value = from;
        while value <= to {
            set |= 1 << value;
            value += step;
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("a time")
            .with_timezone(&Utc)
    }

    fn next(expression: &str, after: &str) -> String {
        Cron::parse(expression)
            .expect("valid")
            .next_after(at(after))
            .expect("a next run")
            .to_rfc3339()
    }

    #[test]
    fn every_minute_moves_to_the_next_whole_minute() {
        assert_eq!(
            next("* * * * *", "2026-03-01T10:15:42Z"),
            "2026-03-01T10:16:00+00:00"
        );
        assert_eq!(
            next("* * * * *", "2026-03-01T10:15:00Z"),
            "2026-03-01T10:16:00+00:00"
        );
    }

    #[test]
    fn hourly_and_daily_schedules() {
        assert_eq!(
            next("17 * * * *", "2026-03-01T10:20:00Z"),
            "2026-03-01T11:17:00+00:00"
        );
        assert_eq!(
            next("30 3 * * *", "2026-12-31T04:00:00Z"),
            "2027-01-01T03:30:00+00:00"
        );
    }

    #[test]
    fn steps_ranges_and_lists() {
        assert_eq!(
            next("*/15 * * * *", "2026-03-01T10:31:00Z"),
            "2026-03-01T10:45:00+00:00"
        );
        assert_eq!(
            next("0 9-17/4 * * *", "2026-03-01T13:00:00Z"),
            "2026-03-01T17:00:00+00:00"
        );
        assert_eq!(
            next("5,50 * * * *", "2026-03-01T10:06:00Z"),
            "2026-03-01T10:50:00+00:00"
        );
    }

    #[test]
    fn weekdays_and_months() {
        // 2026-03-01 is a Sunday; the next Monday is the 2nd.
        assert_eq!(
            next("0 8 * * 1", "2026-03-01T09:00:00Z"),
            "2026-03-02T08:00:00+00:00"
        );
        assert_eq!(
            next("0 0 * * 7", "2026-03-02T00:00:00Z"),
            "2026-03-08T00:00:00+00:00"
        );
        assert_eq!(
            next("0 0 1 6 *", "2026-03-02T00:00:00Z"),
            "2026-06-01T00:00:00+00:00"
        );
        // Day of month or day of week when both are given: the 13th or a Friday.
        assert_eq!(
            next("0 0 13 * 5", "2026-03-01T00:00:00Z"),
            "2026-03-06T00:00:00+00:00"
        );
    }

    #[test]
    fn impossible_dates_have_no_next_run() {
        let cron = Cron::parse("0 0 30 2 *").expect("valid");
        assert_eq!(cron.next_after(at("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn malformed_expressions_say_what_is_wrong() {
        for (expression, problem) in [
            ("* * * *", "needs 5 fields"),
            ("60 * * * *", "minute: 60 is outside 0-59"),
            ("* 5-2 * * *", "hour: range 5-2 runs backwards"),
            ("*/0 * * * *", "a step must be at least 1"),
            ("* * * jan *", "month: \"jan\" is not a number"),
        ] {
            let error = Cron::parse(expression).expect_err(expression).to_string();
            assert!(error.contains(problem), "{expression}: {error}");
        }
    }
}
