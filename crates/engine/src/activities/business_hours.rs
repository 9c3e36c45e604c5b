//! `business-hours`: checks the step's clock against a business-hours schedule (by id or
//! name, from [`crate::Env::business_hours`]) and continues on `override`, `holiday`,
//! `working` or `closed` (see [`crate::schedule`] for the rules). An unknown schedule
//! (BUSINESS_HOURS_NOT_FOUND) or invalid schedule data (INVALID_SCHEDULE) is a failure, for
//! the global error event. Exposes `result`, `holidayName` and `overrideName`.

use minijinja::Value;

use crate::compile::CompileCx;
use crate::expr::Expr;
use crate::run::{Cx, Outcome};
use crate::schedule::InEffect;

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config {
    schedule: Expr,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config {
        schedule: cx.expr_req("businessHours")?,
    })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let name = match cx.text("businessHours", &c.schedule) {
        Ok(n) => n,
        Err(f) => return Outcome::Fail(f),
    };
    let Some(schedule) = cx.env.business_hours(&name) else {
        return cx.failure("BUSINESS_HOURS_NOT_FOUND", format!("no business hours named '{name}'"));
    };
    let (port, holiday, over) = match schedule.at(cx.now) {
        Ok(InEffect::Override(n)) => ("override", String::new(), n),
        Ok(InEffect::Holiday(n)) => ("holiday", n, String::new()),
        Ok(InEffect::Working(_)) => ("working", String::new(), String::new()),
        Ok(InEffect::Closed) => ("closed", String::new(), String::new()),
        Err(e) => return cx.failure("INVALID_SCHEDULE", e),
    };
    cx.set_outputs([
        ("result", Value::from(port)),
        ("holidayName", Value::from(holiday)),
        ("overrideName", Value::from(over)),
    ]);
    Outcome::Port(port)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::schedule::BusinessHours;
    use crate::{Engine, Status};

    fn kit(tz: &str) -> Kit {
        let mut k = Kit::new(flow(
            json!([]),
            json!([
                node("Hours", "business-hours", json!({"businessHours": "Support"})),
                node("Open", "end-flow", json!({})),
                node("Closed", "end-flow", json!({})),
                node("Holiday", "end-flow", json!({}))
            ]),
            json!([
                ["Start", "Hours", "out"],
                ["Hours", "Open", "working"],
                ["Hours", "Closed", "closed"],
                ["Hours", "Holiday", "holiday"]
            ]),
        ));
        let bh: BusinessHours = serde_json::from_value(json!({
            "name": "Support", "timezone": tz,
            "workingHours": [{"name": "Day", "days": ["MON","TUE","WED","THU","FRI"], "startTime": "08:00", "endTime": "17:59"}],
            "holidays": [{"name": "Founders Day", "startDate": "2026-01-16", "endDate": "2026-01-16"}]
        }))
        .unwrap();
        k.env.add_business_hours(bh);
        k
    }

    fn at_instant(k: &Kit, when: &str) -> (String, serde_json::Value) {
        let now = chrono::DateTime::parse_from_rfc3339(when).unwrap().with_timezone(&chrono::Utc);
        let (_, out) = Engine::default().start(&k.env, &k.program, Default::default(), now).unwrap();
        (out.trace.get(1).unwrap().port.as_deref().unwrap_or_default().to_owned(), outputs(&out, "Hours"))
    }

    #[test]
    fn ports_follow_the_schedule_in_its_zone() {
        // Thursday 09:12 UTC: 09:12 in London (open), 04:12 in New York (closed),
        // 18:12 in Tokyo (closed).
        assert_eq!(at_instant(&kit("Europe/London"), "2026-01-15T09:12:00Z").0, "working");
        assert_eq!(at_instant(&kit("America/New_York"), "2026-01-15T09:12:00Z").0, "closed");
        assert_eq!(at_instant(&kit("Asia/Tokyo"), "2026-01-15T09:12:00Z").0, "closed");
        // Friday 2026-01-16 is a holiday in the schedule's own calendar: 23:30 UTC on the
        // 15th is already the 16th in Tokyo.
        let (port, out) = at_instant(&kit("Asia/Tokyo"), "2026-01-15T23:30:00Z");
        assert_eq!(port, "holiday");
        assert_eq!(out["holidayName"], json!("Founders Day"));
        assert_eq!(at_instant(&kit("America/New_York"), "2026-01-15T23:30:00Z").0, "closed");
    }

    #[test]
    fn an_unknown_schedule_fails() {
        let k = Kit::new(flow(
            json!([]),
            json!([node("Hours", "business-hours", json!({"businessHours": "Nope"}))]),
            json!([["Start", "Hours", "out"]]),
        ));
        let (st, _) = k.start();
        let Status::Failed { error } = st.status() else { panic!() };
        assert_eq!(error.code, "BUSINESS_HOURS_NOT_FOUND");
    }
}
