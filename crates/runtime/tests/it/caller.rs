//! Voice flows driven by a scripted caller: a menu answered, retried, ignored and hung up
//! on; a queued contact on hold until the caller hangs up.

use engine::{Outcome, Status};
use runtime::{RunOptions, ScriptedCaller, Stop};
use serde_json::json;

use crate::harness::{flow, node, path, run, run_opts, t0, var, Setup};

fn set(name: &str, value: &str) -> serde_json::Value {
    node(
        name,
        "set-variable",
        json!({"variableName": "Choice", "value": value}),
    )
}

fn menu_flow() -> serde_json::Value {
    flow(
        json!([var("Choice", "STRING", "")]),
        json!([
            node(
                "Ask",
                "menu",
                json!({
                    "prompt": {"promptType": "text", "text": "Press 1 for sales, 2 for support."},
                    "entryTimeout": 5, "maxAttempts": 2
                })
            ),
            set("Sales", "sales"),
            set("Support", "support"),
            set("NoInput", "timeout"),
            set("Invalid", "invalid"),
            node("Bye", "disconnect-contact", json!({}))
        ]),
        json!([
            ["Start", "Ask", "out"],
            ["Ask", "Sales", "digit", {"digit": "1"}],
            ["Ask", "Support", "digit", {"digit": "2"}],
            ["Ask", "NoInput", "onTimeout"],
            ["Ask", "Invalid", "onInvalid"],
            ["Sales", "Bye", "out"],
            ["Support", "Bye", "out"],
            ["NoInput", "Bye", "out"],
            ["Invalid", "Bye", "out"]
        ]),
    )
}

#[tokio::test]
async fn a_menu_follows_the_callers_digits() {
    for (script, choice, prompts, seconds) in [
        ("digits:2", "support", 1, 0),
        ("digits:7,1", "sales", 2, 0),
        ("digits:9,9", "invalid", 2, 0),
        ("", "timeout", 2, 10),
        ("silence digits:1", "sales", 2, 5),
    ] {
        let caller = ScriptedCaller::parse(script).unwrap();
        let (r, end) = run(
            &menu_flow(),
            Setup {
                media: Some(&caller),
                ..Setup::default()
            },
        )
        .await;
        assert_eq!(r.state.variable("Choice"), Some(json!(choice)), "{script}");
        assert_eq!(
            r.state.status(),
            &Status::Completed {
                outcome: Outcome::Disconnected
            },
            "{script}"
        );
        assert_eq!(caller.heard().len(), prompts, "{script}");
        assert_eq!(caller.heard()[0], "Press 1 for sales, 2 for support.");
        assert_eq!(end, t0() + chrono::Duration::seconds(seconds), "{script}");
    }
}

#[tokio::test]
async fn a_caller_hanging_up_at_the_menu_ends_the_contact() {
    let caller = ScriptedCaller::parse("hangup").unwrap();
    let (r, _) = run(
        &menu_flow(),
        Setup {
            media: Some(&caller),
            ..Setup::default()
        },
    )
    .await;
    assert!(
        matches!(
            r.state.status(),
            Status::Completed {
                outcome: Outcome::ContactEnded { .. }
            }
        ),
        "{:?}",
        r.state.status()
    );
    assert_eq!(r.state.variable("Choice"), Some(json!("")));
    assert!(!path(&r).iter().any(|(n, _)| n == "Bye"));
}

fn on_hold() -> serde_json::Value {
    flow(
        json!([]),
        json!([
            node("Queue", "queue-contact", json!({"queue": "Sales"})),
            node(
                "Hold",
                "play-music",
                json!({"audioFile": "hold.wav", "duration": 60})
            )
        ]),
        json!([
            ["Start", "Queue", "out"],
            ["Queue", "Hold", "out"],
            ["Hold", "Hold", "out"]
        ]),
    )
}

#[tokio::test]
async fn a_queued_caller_on_hold_hangs_up_on_schedule() {
    let doc = on_hold();
    let caller = ScriptedCaller::parse("hangup:150").unwrap();
    let (r, end) = run(
        &doc,
        Setup {
            media: Some(&caller),
            ..Setup::default()
        },
    )
    .await;
    assert!(
        matches!(
            r.state.status(),
            Status::Completed {
                outcome: Outcome::ContactEnded { .. }
            }
        ),
        "{:?}",
        r.state.status()
    );
    assert_eq!(end, t0() + chrono::Duration::seconds(150));
    assert_eq!(caller.heard(), ["music:hold.wav"; 3]);
}

#[tokio::test]
async fn a_hold_loop_parks_at_the_horizon() {
    let options = RunOptions {
        horizon: Some(chrono::Duration::hours(1)),
        ..RunOptions::default()
    };
    let (r, end) = run_opts(&on_hold(), Setup::default(), &options).await;
    assert_eq!(
        r.stop,
        Stop::Parked {
            waiting: vec!["Hold waits for a timer due at +1h1m".into()]
        }
    );
    assert_eq!(end, t0() + chrono::Duration::hours(1));
    assert_eq!(r.state.routing().queue.as_deref(), Some("Sales"));
}
