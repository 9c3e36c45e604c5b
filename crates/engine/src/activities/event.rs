//! `event`: the entry of an event flow handler. It runs when its bound event fires (the
//! engine raises GlobalErrorHandling; the runtime reports AgentAnswered, ContactEnded...),
//! exposes the event's outputs (`{{GlobalErrorHandling.errorMessage}}`) and continues on
//! `out`, on the task's variables.

use crate::compile::CompileCx;
use crate::run::{Cx, Outcome};

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config;

pub(crate) fn compile(_: &mut CompileCx<'_>) -> Result<Config, String> {
    Ok(Config)
}

pub(crate) fn run(_: &Config, cx: &mut Cx<'_>) -> Outcome {
    cx.outputs = Some(cx.trigger.take().unwrap_or_else(|| crate::value::map_value::<_, &str>([])));
    Outcome::Port("out")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::Event;

    #[test]
    fn runs_with_the_events_outputs() {
        let mut doc = flow(
            json!([var("Agent", "STRING", "")]),
            json!([node("Hold", "wait", json!({"duration": 60}))]),
            json!([["Start", "Hold", "out"]]),
        );
        doc["eventFlows"] = json!({
            "nodes": [
                {"id": "ev", "name": "Answered", "activityType": "event", "properties": {
                    "activityName": "event", "eventSourceName": "WebexContactCenter",
                    "eventClassificationName": "VoiceInteractions", "eventSpecificationName": "AgentAnswered"}},
                {"id": "ev-set", "name": "Remember", "activityType": "action", "properties": {
                    "activityName": "set-variable", "variableName": "Agent", "value": "{{ Answered.agentName }}"}}
            ],
            "edges": [{"id": "ee", "from": "Answered", "to": "Remember", "condition": "out", "properties": {}}]
        });
        let k = Kit::new(doc);
        let (mut st, _) = k.start();
        let out = k.step(&mut st, Event::notify("AgentAnswered", json!({"agentId": "a1", "agentName": "Ada"})), 5);
        assert_eq!(outputs(&out, "Answered")["agentName"], json!("Ada"));
        assert_eq!(st.variable("Agent"), Some(json!("Ada")));
    }
}
