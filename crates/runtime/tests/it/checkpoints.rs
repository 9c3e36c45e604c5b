//! The checkpoint hook: called once per step, the start included, with the state after the
//! step and its commands, before any command is performed.

use std::sync::Mutex;

use engine::{Command, StepOutput, TaskState};
use runtime::{BoxFuture, Checkpoint, MockHttp, RuntimeError};
use serde_json::json;

use crate::harness::{flow, node, run, status, var, Setup};

/// What one checkpoint saw: the task's status, the step's command types, the pending
/// timers, and how many HTTP requests had been performed by then.
type Seen = (String, Vec<String>, usize, usize);

struct Recorder<'a> {
    http: &'a MockHttp,
    seen: Mutex<Vec<Seen>>,
}

impl Checkpoint for Recorder<'_> {
    fn record<'a>(
        &'a self,
        state: &'a TaskState,
        step: &'a StepOutput,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        let kinds = step
            .commands
            .iter()
            .map(|c| {
                serde_json::to_value(c).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        self.seen.lock().unwrap().push((
            runtime::report::status(state).to_owned(),
            kinds,
            state.pending_timers().len(),
            self.http.calls().len(),
        ));
        Box::pin(std::future::ready(Ok(())))
    }
}

#[tokio::test]
async fn every_step_is_recorded_before_its_commands_run() {
    let doc = flow(
        json!([var("Tier", "STRING", "")]),
        json!([
            node(
                "Lookup",
                "http-request",
                json!({
                    "url": "https://crm.example.com/c",
                    "parseSettings": [{"outputVariable": "Tier", "pathExpression": "$.tier"}]
                })
            ),
            node("Hold", "wait", json!({"duration": 60}))
        ]),
        json!([["Start", "Lookup", "out"], ["Lookup", "Hold", "out"]]),
    );
    let http = MockHttp::from_json(
        &json!([{"url": "https://crm.example.com/c", "body": {"tier": "gold"}}]),
    )
    .unwrap();
    let recorder = Recorder {
        http: &http,
        seen: Mutex::new(Vec::new()),
    };
    let (r, _) = run(
        &doc,
        Setup {
            http: Some(&http),
            checkpoint: Some(&recorder),
            ..Setup::default()
        },
    )
    .await;
    assert_eq!(status(&r), "completed");
    let seen = recorder.seen.into_inner().unwrap();
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        seen,
        vec![
            ("waiting".into(), s(&["httpRequest"]), 0, 0),
            ("waiting".into(), s(&["startTimer"]), 1, 1),
            ("completed".into(), s(&["end"]), 0, 1),
        ]
    );
    assert_eq!(seen.len(), 1 + r.events.len());
    assert!(matches!(r.commands.last(), Some(Command::End { .. })));
}
