//! Business-hours schedules and the pure question "what is in effect at this instant?".
//!
//! The shape follows the vendor's business-hours entity (`name`, `timezone`, `workingHours[]
//! {name, days, startTime, endTime}`), with its holiday list and overrides inlined (the
//! vendor keeps them as separate entities referenced by id; the runtime resolves them).
//!
//! Rules, all in the schedule's time zone (chrono-tz, so daylight saving is handled):
//! - an override in effect (`startDateTime <= t < endDateTime`, local) wins;
//! - then a holiday (`startDate <= date <= endDate`, local, inclusive);
//! - then working hours: a shift matches on its `days` from `startTime` up to the end of the
//!   `endTime` minute (`"18:59"` covers 18:59:59); an `endTime` before the `startTime` runs
//!   past midnight into the next day;
//! - otherwise closed.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// A business-hours schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessHours {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    /// IANA name, e.g. `America/New_York`.
    pub timezone: String,
    pub working_hours: Vec<Shift>,
    #[serde(default)]
    pub holidays: Vec<Holiday>,
    #[serde(default)]
    pub overrides: Vec<Override>,
}

/// Working hours on some days of the week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shift {
    #[serde(default)]
    pub name: String,
    /// `SUN`..`SAT`.
    pub days: Vec<String>,
    /// `HH:MM`.
    pub start_time: String,
    pub end_time: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holiday {
    pub name: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Override {
    pub name: String,
    /// Local date and time, e.g. `2026-12-24T12:00:00`.
    pub start_date_time: NaiveDateTime,
    pub end_date_time: NaiveDateTime,
}

/// What is in effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InEffect {
    Override(String),
    Holiday(String),
    Working(String),
    Closed,
}

impl BusinessHours {
    /// What is in effect at `now`; `Err` when the schedule's data is invalid (unknown time
    /// zone, a malformed time or day).
    pub fn at(&self, now: DateTime<Utc>) -> Result<InEffect, String> {
        let tz: chrono_tz::Tz = self.timezone.parse().map_err(|_| {
            format!(
                "business hours '{}': unknown time zone '{}'",
                self.name, self.timezone
            )
        })?;
        let local = now.with_timezone(&tz).naive_local();
        if let Some(o) = self
            .overrides
            .iter()
            .find(|o| o.start_date_time <= local && local < o.end_date_time)
        {
            return Ok(InEffect::Override(o.name.clone()));
        }
        let date = local.date();
        if let Some(h) = self
            .holidays
            .iter()
            .find(|h| h.start_date <= date && date <= h.end_date)
        {
            return Ok(InEffect::Holiday(h.name.clone()));
        }
        for s in &self.working_hours {
            if s.covers(local)
                .map_err(|e| format!("business hours '{}': {e}", self.name))?
            {
                return Ok(InEffect::Working(s.name.clone()));
            }
        }
        Ok(InEffect::Closed)
    }
}

impl Shift {
    fn covers(&self, local: NaiveDateTime) -> Result<bool, String> {
        let start = time(&self.start_time)?;
        let end = time(&self.end_time)?;
        let mut days = Vec::with_capacity(self.days.len());
        for d in &self.days {
            days.push(weekday(d)?);
        }
        let t = local.time();
        let today = local.weekday();
        // The end minute is inclusive: "18:59" runs until 19:00.
        let within_end = |t: NaiveTime| t < end || (t - end) < Duration::minutes(1);
        if start <= end {
            Ok(days.contains(&today) && t >= start && within_end(t))
        } else {
            // Past midnight: the evening part belongs to a listed day, the morning part to
            // the day after one.
            Ok((days.contains(&today) && t >= start)
                || (days.contains(&today.pred()) && within_end(t)))
        }
    }
}

fn time(s: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(s.trim(), "%H:%M:%S"))
        .map_err(|_| format!("'{s}' is not a time (HH:MM)"))
}

fn weekday(s: &str) -> Result<Weekday, String> {
    Ok(match s.to_ascii_uppercase().as_str() {
        "SUN" => Weekday::Sun,
        "MON" => Weekday::Mon,
        "TUE" => Weekday::Tue,
        "WED" => Weekday::Wed,
        "THU" => Weekday::Thu,
        "FRI" => Weekday::Fri,
        "SAT" => Weekday::Sat,
        _ => return Err(format!("'{s}' is not a day (SUN..SAT)")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ny() -> BusinessHours {
        serde_json::from_value(serde_json::json!({
            "name": "NY Support",
            "timezone": "America/New_York",
            "workingHours": [
                {"name": "Weekdays", "days": ["MON", "TUE", "WED", "THU", "FRI"], "startTime": "09:00", "endTime": "16:59"},
                {"name": "Night", "days": ["SAT"], "startTime": "22:00", "endTime": "02:00"}
            ],
            "holidays": [{"name": "New Year", "startDate": "2026-01-01", "endDate": "2026-01-01"}],
            "overrides": [{"name": "Storm", "startDateTime": "2026-01-15T12:00:00", "endDateTime": "2026-01-15T14:00:00"}]
        }))
        .unwrap()
    }

    #[test]
    fn working_hours_in_the_schedules_zone() {
        // Thursday 2026-01-15, 14:30 UTC = 09:30 in New York (EST, UTC-5).
        assert_eq!(
            ny().at(at("2026-01-15T14:30:00Z")),
            Ok(InEffect::Working("Weekdays".into()))
        );
        // 13:30 UTC = 08:30 local: before opening.
        assert_eq!(ny().at(at("2026-01-15T13:30:00Z")), Ok(InEffect::Closed));
        // The end minute is inclusive: 16:59:30 local.
        assert_eq!(
            ny().at(at("2026-01-15T21:59:30Z")),
            Ok(InEffect::Working("Weekdays".into()))
        );
        assert_eq!(ny().at(at("2026-01-15T22:00:00Z")), Ok(InEffect::Closed));
    }

    #[test]
    fn daylight_saving_moves_the_utc_window() {
        // 2026-07-15 is EDT (UTC-4): 13:30 UTC = 09:30 local, open.
        assert_eq!(
            ny().at(at("2026-07-15T13:30:00Z")),
            Ok(InEffect::Working("Weekdays".into()))
        );
    }

    #[test]
    fn overrides_beat_holidays_beat_hours() {
        assert_eq!(
            ny().at(at("2026-01-01T15:00:00Z")),
            Ok(InEffect::Holiday("New Year".into()))
        );
        assert_eq!(
            ny().at(at("2026-01-15T17:30:00Z")),
            Ok(InEffect::Override("Storm".into()))
        );
        let mut both = ny();
        both.holidays.push(Holiday {
            name: "Founders".into(),
            start_date: NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
            end_date: NaiveDate::from_ymd_opt(2026, 1, 16).unwrap(),
        });
        assert_eq!(
            both.at(at("2026-01-15T17:30:00Z")),
            Ok(InEffect::Override("Storm".into()))
        );
        assert_eq!(
            both.at(at("2026-01-16T15:00:00Z")),
            Ok(InEffect::Holiday("Founders".into()))
        );
    }

    #[test]
    fn shifts_past_midnight() {
        // Saturday 2026-01-17 23:00 local = Sunday 04:00 UTC.
        assert_eq!(
            ny().at(at("2026-01-18T04:00:00Z")),
            Ok(InEffect::Working("Night".into()))
        );
        // Sunday 01:30 local (after the Saturday shift began).
        assert_eq!(
            ny().at(at("2026-01-18T06:30:00Z")),
            Ok(InEffect::Working("Night".into()))
        );
        // Sunday 03:00 local: over.
        assert_eq!(ny().at(at("2026-01-18T08:00:00Z")), Ok(InEffect::Closed));
    }

    #[test]
    fn the_same_instant_differs_by_zone() {
        let mut tokyo = ny();
        tokyo.timezone = "Asia/Tokyo".into();
        tokyo.overrides.clear();
        // 2026-01-15T14:30Z is 23:30 in Tokyo.
        assert_eq!(tokyo.at(at("2026-01-15T14:30:00Z")), Ok(InEffect::Closed));
        // 2026-01-15T01:00Z is Thursday 10:00 in Tokyo, Wednesday 20:00 in New York.
        assert_eq!(
            tokyo.at(at("2026-01-15T01:00:00Z")),
            Ok(InEffect::Working("Weekdays".into()))
        );
        assert_eq!(ny().at(at("2026-01-15T01:00:00Z")), Ok(InEffect::Closed));
    }

    #[test]
    fn bad_data_is_an_error() {
        let mut bad = ny();
        bad.timezone = "Mars/Olympus".into();
        assert!(bad
            .at(at("2026-01-15T14:30:00Z"))
            .unwrap_err()
            .contains("Mars/Olympus"));
        let mut bad = ny();
        bad.working_hours[0].days.push("FUNDAY".into());
        assert!(bad.at(at("2026-01-15T14:30:00Z")).is_err());
    }
}
