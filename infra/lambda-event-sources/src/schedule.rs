//! EventBridge schedule expressions: `rate(5 minutes)` and the six-field `cron(minutes hours day-of-month month
//! day-of-week year)`, in UTC as EventBridge rules are.

use chrono::{DateTime, Datelike, Duration, DurationRound, Timelike, Utc};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScheduleError {
    #[error("{0:?} is neither rate(...) nor cron(...)")]
    Unknown(String),
    #[error("{0:?}: a rate is a whole number and minute(s), hour(s) or day(s)")]
    Rate(String),
    #[error("{expression:?}: field {field:?} is not supported here ({reason})")]
    Cron { expression: String, field: String, reason: String },
}

#[derive(Debug, Clone)]
pub enum Schedule {
    Every(Duration),
    Cron(Cron),
}

/// The allowed values of each field; day-of-week 1 = Sunday, as EventBridge counts.
#[derive(Debug, Clone)]
pub struct Cron {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    days_of_month: Option<Vec<u32>>,
    months: Vec<u32>,
    days_of_week: Option<Vec<u32>>,
    years: Option<Vec<u32>>,
}

const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Schedule {
    pub fn parse(expression: &str) -> Result<Self, ScheduleError> {
        let expression = expression.trim();
        if let Some(rate) = expression.strip_prefix("rate(").and_then(|e| e.strip_suffix(')')) {
            let bad = || ScheduleError::Rate(expression.to_owned());
            let (count, unit) = rate.trim().split_once(' ').ok_or_else(bad)?;
            let count: i64 = count.parse().map_err(|_| bad())?;
            let unit = match unit.trim() {
                "minute" | "minutes" => Duration::minutes(1),
                "hour" | "hours" => Duration::hours(1),
                "day" | "days" => Duration::days(1),
                _ => return Err(bad()),
            };
            return if count >= 1 { Ok(Self::Every(unit * count as i32)) } else { Err(bad()) };
        }
        if let Some(fields) = expression.strip_prefix("cron(").and_then(|e| e.strip_suffix(')')) {
            return Cron::parse(expression, fields).map(Self::Cron);
        }
        Err(ScheduleError::Unknown(expression.to_owned()))
    }

    /// The first firing strictly after `after`; a rate fires every interval from `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Every(interval) => Some(after + *interval),
            Self::Cron(cron) => cron.next_after(after),
        }
    }
}

impl Cron {
    fn parse(expression: &str, fields: &str) -> Result<Self, ScheduleError> {
        let parts: Vec<&str> = fields.split_whitespace().collect();
        let refuse = |field: &str, reason: &str| ScheduleError::Cron {
            expression: expression.to_owned(),
            field: field.to_owned(),
            reason: reason.to_owned(),
        };
        let [minutes, hours, days_of_month, months, days_of_week, years] = parts[..] else {
            return Err(refuse(fields, "a cron has six fields"));
        };
        let any = |field: &str| field == "*" || field == "?";
        let values = |field: &str, low: u32, high: u32, names: &[&str]| -> Result<Vec<u32>, ScheduleError> {
            let number = |text: &str| -> Result<u32, ScheduleError> {
                let named = names.iter().position(|name| name.eq_ignore_ascii_case(text)).map(|i| i as u32 + low);
                let value =
                    named.or_else(|| text.parse().ok()).ok_or_else(|| refuse(field, "not a number or a name"))?;
                if (low..=high).contains(&value) { Ok(value) } else { Err(refuse(field, "out of range")) }
            };
            let mut all = Vec::new();
            for item in field.split(',') {
                let (range, step) = match item.split_once('/') {
                    Some((range, step)) => {
                        (range, step.parse::<u32>().map_err(|_| refuse(field, "a step is a number"))?)
                    }
                    None => (item, 1),
                };
                let (from, to) = match range {
                    "*" | "?" => (low, high),
                    _ => match range.split_once('-') {
                        Some((from, to)) => (number(from)?, number(to)?),
                        None if step > 1 => (number(range)?, high),
                        None => (number(range)?, number(range)?),
                    },
                };
                if step == 0 || from > to {
                    return Err(refuse(field, "an empty range"));
                }
                all.extend((from..=to).step_by(step as usize));
            }
            Ok(all)
        };
        let optional = |field: &str, low, high, names: &[&str]| {
            if any(field) { Ok(None) } else { values(field, low, high, names).map(Some) }
        };
        Ok(Self {
            minutes: values(minutes, 0, 59, &[])?,
            hours: values(hours, 0, 23, &[])?,
            days_of_month: optional(days_of_month, 1, 31, &[])?,
            months: values(months, 1, 12, &MONTHS)?,
            days_of_week: optional(days_of_week, 1, 7, &DAYS)?,
            years: optional(years, 1970, 2199, &[])?,
        })
    }

    fn matches(&self, at: DateTime<Utc>) -> bool {
        let day_of_week = at.weekday().num_days_from_sunday() + 1;
        self.minutes.contains(&at.minute())
            && self.hours.contains(&at.hour())
            && self.months.contains(&at.month())
            && self.days_of_month.as_ref().is_none_or(|days| days.contains(&at.day()))
            && self.days_of_week.as_ref().is_none_or(|days| days.contains(&day_of_week))
            && self.years.as_ref().is_none_or(|years| years.contains(&(at.year() as u32)))
    }

    /// Minute by minute over at most four years: a schedule that never fires again (a past year) gives `None`.
    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = after.duration_trunc(Duration::minutes(1)).ok()? + Duration::minutes(1);
        (0..4 * 366 * 24 * 60).map(|minute| start + Duration::minutes(minute)).find(|at| self.matches(*at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    #[test]
    fn the_templates_crons_should_fire_when_eventbridge_would() {
        let daily = Schedule::parse("cron(0 5 * * ? *)").unwrap();
        assert_eq!(daily.next_after(at("2026-12-07T04:59:59Z")), Some(at("2026-12-07T05:00:00Z")));
        assert_eq!(daily.next_after(at("2026-12-07T05:00:00Z")), Some(at("2026-12-08T05:00:00Z")));
        let four_a_day = Schedule::parse("cron(0 0,6,12,18 * * ? *)").unwrap();
        assert_eq!(four_a_day.next_after(at("2026-12-31T18:00:00Z")), Some(at("2027-01-01T00:00:00Z")));
        let weekdays = Schedule::parse("cron(30 9 ? * MON-FRI *)").unwrap();
        assert_eq!(
            weekdays.next_after(at("2026-12-05T10:00:00Z")),
            Some(at("2026-12-07T09:30:00Z")),
            "Saturday to Monday"
        );
        let every_quarter = Schedule::parse("cron(*/15 * * * ? *)").unwrap();
        assert_eq!(every_quarter.next_after(at("2026-12-07T10:16:00Z")), Some(at("2026-12-07T10:30:00Z")));
        assert_eq!(Schedule::parse("cron(0 0 1 1 ? 2020)").unwrap().next_after(at("2026-01-01T00:00:00Z")), None);
    }

    #[test]
    fn rates_should_fire_every_interval() {
        let sweep = Schedule::parse("rate(1 minute)").unwrap();
        assert_eq!(sweep.next_after(at("2026-12-07T10:00:30Z")), Some(at("2026-12-07T10:01:30Z")));
        let Schedule::Every(interval) = Schedule::parse("rate(12 hours)").unwrap() else { panic!("a rate") };
        assert_eq!(interval, Duration::hours(12));
    }

    #[test]
    fn expressions_eventbridge_would_refuse_or_this_runner_cannot_follow_should_say_so() {
        assert_eq!(Schedule::parse("rate(0 minutes)").unwrap_err(), ScheduleError::Rate("rate(0 minutes)".into()));
        assert!(matches!(Schedule::parse("cron(0 5 * *)"), Err(ScheduleError::Cron { .. })));
        assert!(matches!(Schedule::parse("cron(0 5 L * ? *)"), Err(ScheduleError::Cron { .. })));
        assert!(matches!(Schedule::parse("cron(61 5 * * ? *)"), Err(ScheduleError::Cron { .. })));
        assert_eq!(
            Schedule::parse("at(2026-12-07T10:00:00)").unwrap_err(),
            ScheduleError::Unknown("at(2026-12-07T10:00:00)".into())
        );
    }
}
