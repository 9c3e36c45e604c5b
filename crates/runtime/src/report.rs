//! What `flow run` prints: a run as text (one line per activity, the status, the
//! variables) or as JSON (`{status, outcome, error, stop, variables, trace}`). Secure
//! variables are masked here; the engine has already masked them in the trace.
//!
//! A trace line reads: time since the task started, node, activity, the port taken and
//! where it led, then key values — variables assigned (`Name := value`), non-empty
//! outputs (`name=value`), the prompt said — and the error, if any:
//!
//! ```text
//!    +0s  Lookup      http-request  out -> Greet  Tier := "gold", httpStatusCode=200
//!    +0s  Hold        wait          out -> Done  (waited 1h)
//!   +1h  ParseFn      function      error -> Failed  !! TIMEOUT: function 'slow' (Live): ...
//! ```

use engine::{Outcome, Phase, Status, TaskState, TraceRecord, MASK};
use serde_json::{json, Value as Json};

use crate::{RunResult, Stop};

/// The names of the flow's secure (`isSecure`) variables.
pub fn secure_variables(flow: &flow::Flow) -> Vec<String> {
    flow.variables()
        .iter()
        .filter(|v| v.secure())
        .filter_map(|v| v.name().map(str::to_owned))
        .collect()
}

/// `completed`, `failed` or `waiting`.
pub fn status(state: &TaskState) -> &'static str {
    match state.status() {
        Status::Waiting => "waiting",
        Status::Completed { .. } => "completed",
        Status::Failed { .. } => "failed",
    }
}

/// The main flow's variables, secure ones masked.
pub fn variables(state: &TaskState, secure: &[String]) -> serde_json::Map<String, Json> {
    state
        .variables()
        .iter()
        .map(|(name, _)| {
            let v = if secure.iter().any(|s| **s == **name) {
                json!(MASK)
            } else {
                state.variable(name).unwrap_or(Json::Null)
            };
            (name.to_string(), v)
        })
        .collect()
}

/// The run as JSON.
pub fn to_json(run: &RunResult, secure: &[String]) -> Json {
    let mut out = serde_json::Map::new();
    out.insert("status".into(), json!(status(&run.state)));
    if let Status::Completed { outcome } = run.state.status() {
        out.insert(
            "outcome".into(),
            serde_json::to_value(outcome).unwrap_or_default(),
        );
    }
    if let Some(e) = run.state.error() {
        out.insert("error".into(), serde_json::to_value(e).unwrap_or_default());
    }
    out.insert(
        "stop".into(),
        match &run.stop {
            Stop::Finished => json!({"kind": "finished"}),
            Stop::Parked { waiting } => json!({"kind": "parked", "waiting": waiting}),
            Stop::StepLimit { steps } => json!({"kind": "stepLimit", "steps": steps}),
        },
    );
    out.insert(
        "variables".into(),
        Json::Object(variables(&run.state, secure)),
    );
    out.insert(
        "trace".into(),
        serde_json::to_value(&run.trace).unwrap_or_default(),
    );
    Json::Object(out)
}

/// The status in words: `completed (disconnected)`, `failed: CODE at Node: message`...
pub fn describe_status(run: &RunResult) -> String {
    match run.state.status() {
        Status::Completed { outcome } => format!("completed ({})", describe_outcome(outcome)),
        Status::Failed { error } => format!(
            "failed: {} at {} ({}): {}",
            error.code, error.node, error.activity, error.message
        ),
        Status::Waiting => match &run.stop {
            Stop::Parked { waiting } => format!("waiting: {}", waiting.join("; ")),
            Stop::StepLimit { steps } => {
                format!("waiting: the run stopped after {steps} steps (step limit)")
            }
            Stop::Finished => "waiting".to_owned(),
        },
    }
}

fn describe_outcome(o: &Outcome) -> String {
    match o {
        Outcome::Ended => "ended".to_owned(),
        Outcome::Disconnected => "disconnected".to_owned(),
        Outcome::Transferred { destination } => format!("transferred to {destination}"),
        Outcome::WentTo {
            destination_type,
            destination,
        } => format!("went to {destination_type} {destination}"),
        Outcome::AgentConnected { agent_id } => format!("connected to agent {agent_id}"),
        Outcome::ContactEnded { ended_by } => format!("contact ended by {ended_by}"),
        Outcome::Cancelled { reason } if reason.is_empty() => "cancelled".to_owned(),
        Outcome::Cancelled { reason } => format!("cancelled: {reason}"),
    }
}

/// The run as text: the trace, the status, the variables.
pub fn render(run: &RunResult, secure: &[String]) -> String {
    render_limited(run, secure, usize::MAX)
}

/// [`render`], with at most `max_lines` trace lines: a longer trace (a loop) shows its
/// beginning and its last 20 lines around a count of what was left out.
pub fn render_limited(run: &RunResult, secure: &[String], max_lines: usize) -> String {
    let t0 = run.state.started_at();
    let shown: Vec<&TraceRecord> = run
        .trace
        .iter()
        .enumerate()
        .filter(|(i, r)| r.phase == Phase::Completed || !completes_later(&run.trace, *i))
        .map(|(_, r)| r)
        .collect();
    let name_w = shown
        .iter()
        .map(|r| r.node.chars().count() + 2 * r.depth as usize + thread_prefix(r).len())
        .max()
        .unwrap_or(0)
        .min(28);
    let act_w = shown
        .iter()
        .map(|r| r.activity.chars().count())
        .max()
        .unwrap_or(0)
        .min(20);
    let offsets: Vec<String> = shown
        .iter()
        .map(|r| offset((r.started_at - t0).num_milliseconds()))
        .collect();
    let off_w = offsets.iter().map(String::len).max().unwrap_or(0).max(4);
    let mut s = String::new();
    const TAIL: usize = 20;
    let max_lines = max_lines.max(TAIL + 1);
    let (head, skipped) = if shown.len() > max_lines {
        (max_lines - TAIL, shown.len() - max_lines)
    } else {
        (shown.len(), 0)
    };
    for (i, (r, off)) in shown.iter().zip(&offsets).enumerate() {
        if i == head && skipped > 0 {
            s.push_str(&format!(
                "{:>off_w$}  … {skipped} more activities (the JSON output has them all) …\n",
                ""
            ));
        }
        if i >= head && i < head + skipped {
            continue;
        }
        let who = format!(
            "{}{}{}",
            "  ".repeat(r.depth as usize),
            thread_prefix(r),
            r.node
        );
        let line = format!(
            "{off:>off_w$}  {who:<name_w$}  {:<act_w$}  {}",
            r.activity,
            trace_details(r)
        );
        s.push_str(line.trim_end());
        s.push('\n');
    }
    if shown.is_empty() {
        s.push_str("(no activity ran)\n");
    }
    s.push_str(&format!("status: {}\n", describe_status(run)));
    let vars = variables(&run.state, secure);
    if vars.is_empty() {
        s.push_str("variables: (none)\n");
    } else {
        s.push_str("variables:\n");
        let w = vars.keys().map(|k| k.chars().count()).max().unwrap_or(0);
        for (k, v) in &vars {
            let v = match v {
                Json::String(m) if m == MASK => MASK.to_owned(),
                other => other.to_string(),
            };
            s.push_str(&format!("  {k:<w$} = {v}\n"));
        }
    }
    s
}

fn thread_prefix(r: &TraceRecord) -> String {
    if r.thread > 0 {
        format!("t{} ", r.thread)
    } else {
        String::new()
    }
}

/// A waiting record whose completion is the thread's next record is shown once, completed.
fn completes_later(trace: &[TraceRecord], i: usize) -> bool {
    let r = &trace[i];
    trace[i + 1..]
        .iter()
        .find(|n| n.thread == r.thread)
        .is_some_and(|n| n.node == r.node && n.depth == r.depth && n.phase == Phase::Completed)
}

/// Port, destination, key values and error of one record.
pub fn trace_details(r: &TraceRecord) -> String {
    let mut s = match r.phase {
        Phase::Waiting => "waiting".to_owned(),
        Phase::Completed => match (&r.port, &r.next) {
            (Some(p), Some(n)) => format!("{p} -> {n}"),
            (Some(p), None) => format!("{p} (end of path)"),
            (None, Some(n)) => format!("-> {n}"),
            (None, None) => "(end)".to_owned(),
        },
    };
    let mut items = Vec::new();
    if let Json::Object(assigned) = r.assigned_json() {
        for (k, v) in assigned {
            items.push(format!("{k} := {}", short(&v)));
        }
    }
    if let Json::Object(outputs) = r.outputs_json() {
        for (k, v) in outputs {
            if k == "errorCode" || k == "errorMessage" || is_empty(&v) {
                continue;
            }
            items.push(format!("{k}={}", short(&v)));
        }
    }
    if items.is_empty() {
        let inputs = r.inputs_json();
        let text = inputs
            .get("prompt.text")
            .or_else(|| inputs.pointer("/prompt/text"))
            .and_then(Json::as_str);
        if let Some(text) = text {
            items.push(format!("says {}", short(&json!(text))));
        }
    }
    const MAX_ITEMS: usize = 5;
    if !items.is_empty() {
        s.push_str("  ");
        let more = items.len() > MAX_ITEMS;
        items.truncate(MAX_ITEMS);
        s.push_str(&items.join(", "));
        if more {
            s.push_str(", …");
        }
    }
    if r.phase == Phase::Completed && r.duration_ms >= 1000 {
        s.push_str(&format!(
            "  (waited {})",
            offset(r.duration_ms).trim_start_matches('+')
        ));
    }
    if let Some(e) = &r.error {
        s.push_str(&format!("  !! {}: {}", e.code, e.message));
    }
    s
}

fn is_empty(v: &Json) -> bool {
    match v {
        Json::Null => true,
        Json::String(s) => s.is_empty(),
        Json::Object(m) => m.is_empty(),
        Json::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Compact JSON, at most 48 characters.
fn short(v: &Json) -> String {
    let s = v.to_string();
    const MAX: usize = 48;
    if s.chars().count() <= MAX {
        s
    } else {
        let cut: String = s.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}

/// `+0s`, `+1.5s`, `+2m30s`, `+1h`, `+1h0m5s`.
pub fn offset(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 60_000 {
        return if ms % 1000 == 0 {
            format!("+{}s", ms / 1000)
        } else {
            format!("+{:.1}s", ms as f64 / 1000.0)
        };
    }
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::from("+");
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 || (h > 0 && s > 0) {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_naturally() {
        for (ms, s) in [
            (0, "+0s"),
            (12_000, "+12s"),
            (1_500, "+1.5s"),
            (150_000, "+2m30s"),
            (3_600_000, "+1h"),
            (3_605_000, "+1h0m5s"),
            (-5, "+0s"),
        ] {
            assert_eq!(offset(ms), s, "{ms}");
        }
    }

    #[test]
    fn long_values_are_cut() {
        assert_eq!(short(&json!("abc")), "\"abc\"");
        let long = short(&json!("x".repeat(100)));
        assert_eq!(long.chars().count(), 48);
        assert!(long.ends_with('…'));
    }
}
