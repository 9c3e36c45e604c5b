//! Parsing and checking catalog sources: `(file name, contents)` pairs in, activities,
//! events and compiled schemas out, or every problem found.
//!
//! A catalog file is a JSON object:
//!
//! ```json
//! { "description": "...", "activities": [ActivityDef...], "events": [EventSpec...] }
//! ```
//!
//! Both arrays are optional. Each activity and event is deserialized on its own, so one bad
//! entry does not hide the problems of the others. Beyond the shape, the checks here are the
//! catalog's invariants, which the validator and the engine rely on: unique kebab-case
//! activity names, unique event names, input schemas that compile and agree with `inputs`,
//! a `default` port on every start, action and event activity and no port on an end activity.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::check::{compile_schema, CompiledActivity};
use crate::error::{CatalogError, Problem, ProblemKind};
use crate::model::{
    escape_pointer_token, ActivityDef, EventSpec, Group, OutputDef, CONTACT_TYPES, DEFAULT_PORT,
    OUTPUT_TYPES,
};

/// The top-level members a catalog file may have.
const FILE_MEMBERS: &[&str] = &["$schema", "description", "activities", "events"];

/// What a successful load produces; `compiled[i]` belongs to `activities[i]`.
pub(crate) struct Loaded {
    pub activities: Vec<ActivityDef>,
    pub events: Vec<EventSpec>,
    pub compiled: Vec<CompiledActivity>,
}

struct Loader {
    problems: Vec<Problem>,
    activities: Vec<ActivityDef>,
    compiled: Vec<CompiledActivity>,
    events: Vec<EventSpec>,
    /// name → (file, pointer) of the first definition, to report duplicates.
    activity_names: HashMap<String, (String, String)>,
    event_names: HashMap<String, (String, String)>,
}

pub(crate) fn load<I, N, C>(sources: I) -> Result<Loaded, CatalogError>
where
    I: IntoIterator<Item = (N, C)>,
    N: AsRef<str>,
    C: AsRef<str>,
{
    let mut loader = Loader {
        problems: Vec::new(),
        activities: Vec::new(),
        compiled: Vec::new(),
        events: Vec::new(),
        activity_names: HashMap::new(),
        event_names: HashMap::new(),
    };
    for (name, contents) in sources {
        loader.file(name.as_ref(), contents.as_ref());
    }
    if loader.problems.is_empty() {
        Ok(Loaded {
            activities: loader.activities,
            events: loader.events,
            compiled: loader.compiled,
        })
    } else {
        Err(CatalogError::Invalid {
            problems: loader.problems,
        })
    }
}

impl Loader {
    fn problem(&mut self, file: &str, pointer: &str, kind: ProblemKind, message: String) {
        self.problems.push(Problem {
            file: file.to_owned(),
            pointer: pointer.to_owned(),
            kind,
            message,
        });
    }

    fn file(&mut self, file: &str, contents: &str) {
        let doc: Value = match serde_json::from_str(contents) {
            Ok(doc) => doc,
            Err(e) => {
                self.problem(
                    file,
                    "",
                    ProblemKind::BadJson,
                    format!("not valid JSON: {e}"),
                );
                return;
            }
        };
        let Some(members) = doc.as_object() else {
            self.problem(
                file,
                "",
                ProblemKind::BadShape,
                "a catalog file must be a JSON object with \"activities\" and/or \"events\""
                    .to_owned(),
            );
            return;
        };
        for key in members.keys() {
            if !FILE_MEMBERS.contains(&key.as_str()) {
                self.problem(
                    file,
                    &format!("/{}", escape_pointer_token(key)),
                    ProblemKind::BadShape,
                    format!("unknown member {key:?}; expected one of {FILE_MEMBERS:?}"),
                );
            }
        }
        if let Some(list) = self.array(file, members.get("activities"), "/activities") {
            for (i, entry) in list.iter().enumerate() {
                self.activity(file, &format!("/activities/{i}"), entry);
            }
        }
        if let Some(list) = self.array(file, members.get("events"), "/events") {
            for (i, entry) in list.iter().enumerate() {
                self.event(file, &format!("/events/{i}"), entry);
            }
        }
    }

    fn array<'v>(
        &mut self,
        file: &str,
        value: Option<&'v Value>,
        pointer: &str,
    ) -> Option<&'v Vec<Value>> {
        match value {
            None => None,
            Some(Value::Array(list)) => Some(list),
            Some(_) => {
                self.problem(
                    file,
                    pointer,
                    ProblemKind::BadShape,
                    "must be an array".to_owned(),
                );
                None
            }
        }
    }

    fn activity(&mut self, file: &str, at: &str, entry: &Value) {
        let def: ActivityDef = match serde_json::from_value(entry.clone()) {
            Ok(def) => def,
            Err(e) => {
                let label = entry
                    .get("activityName")
                    .and_then(Value::as_str)
                    .map(|n| format!("activity {n:?}: "))
                    .unwrap_or_default();
                self.problem(file, at, ProblemKind::BadShape, format!("{label}{e}"));
                return;
            }
        };
        let before = self.problems.len();
        let name = def.activity_name.clone();
        if !is_kebab_case(&name) {
            self.problem(
                file,
                &format!("{at}/activityName"),
                ProblemKind::BadName,
                format!("activity name {name:?} is not kebab-case (like \"play-message\")"),
            );
        }
        if let Some((first_file, first_at)) = self.activity_names.get(&name).cloned() {
            self.problem(
                file,
                &format!("{at}/activityName"),
                ProblemKind::DuplicateActivity,
                format!("activity {name:?} is already defined in {first_file} at {first_at}"),
            );
        } else {
            self.activity_names
                .insert(name.clone(), (file.to_owned(), at.to_owned()));
        }
        self.contact_types(file, at, &def.contact_types);
        self.inputs(file, at, &def);
        self.ports(file, at, &def);
        self.outputs(file, at, &def.outputs);
        let compiled = CompiledActivity::compile(&def);
        match compiled {
            Ok(compiled) if self.problems.len() == before => {
                self.activities.push(def);
                self.compiled.push(compiled);
            }
            Ok(_) => {}
            Err(errors) => {
                for (pointer, message) in errors {
                    self.problem(
                        file,
                        &format!("{at}{pointer}"),
                        ProblemKind::InvalidSchema,
                        format!("activity {name:?}: {message}"),
                    );
                }
            }
        }
    }

    fn contact_types(&mut self, file: &str, at: &str, contact_types: &[String]) {
        for (i, ct) in contact_types.iter().enumerate() {
            if !CONTACT_TYPES.contains(&ct.as_str()) {
                self.problem(
                    file,
                    &format!("{at}/contactTypes/{i}"),
                    ProblemKind::UnknownContactType,
                    format!("unknown contact type {ct:?}; expected one of {CONTACT_TYPES:?}"),
                );
            }
        }
    }

    fn inputs(&mut self, file: &str, at: &str, def: &ActivityDef) {
        let name = &def.activity_name;
        let schema = &def.input_schema;
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            self.problem(
                file,
                &format!("{at}/inputSchema/type"),
                ProblemKind::InvalidSchema,
                format!("activity {name:?}: the input schema must describe an object (\"type\": \"object\")"),
            );
        }
        let empty = serde_json::Map::new();
        let properties = match schema.get("properties") {
            None => &empty,
            Some(Value::Object(p)) => p,
            Some(_) => {
                self.problem(
                    file,
                    &format!("{at}/inputSchema/properties"),
                    ProblemKind::InvalidSchema,
                    format!("activity {name:?}: \"properties\" must be an object"),
                );
                return;
            }
        };
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();

        let mut seen = HashSet::new();
        for (i, input) in def.inputs.iter().enumerate() {
            if !seen.insert(input.name.as_str()) {
                self.problem(
                    file,
                    &format!("{at}/inputs/{i}/name"),
                    ProblemKind::DuplicateName,
                    format!("activity {name:?}: input {:?} is listed twice", input.name),
                );
            }
        }
        let input_names: Vec<&str> = def.inputs.iter().map(|i| i.name.as_str()).collect();
        let property_names: Vec<&str> = properties.keys().map(String::as_str).collect();
        if input_names != property_names {
            self.problem(
                file,
                &format!("{at}/inputs"),
                ProblemKind::InputsMismatch,
                format!(
                    "activity {name:?}: inputs {input_names:?} do not match inputSchema.properties {property_names:?} (same names, same order)"
                ),
            );
        }
        for r in &required {
            if !properties.contains_key(*r) {
                self.problem(
                    file,
                    &format!("{at}/inputSchema/required"),
                    ProblemKind::InputsMismatch,
                    format!(
                        "activity {name:?}: required input {r:?} is not in inputSchema.properties"
                    ),
                );
            }
        }
        for (i, input) in def.inputs.iter().enumerate() {
            let here = format!("{at}/inputs/{i}");
            let is_required = required.contains(&input.name.as_str());
            if input.required != is_required {
                self.problem(
                    file,
                    &format!("{here}/required"),
                    ProblemKind::InputsMismatch,
                    format!(
                        "activity {name:?}: input {:?} says required: {} but inputSchema.required says {}",
                        input.name, input.required, is_required
                    ),
                );
            }
            let schema_enum = properties.get(&input.name).and_then(|p| p.get("enum"));
            let listed = input.allowed_values.as_ref();
            let agree = match (listed, schema_enum) {
                (None, None) => true,
                (Some(values), Some(Value::Array(e))) => values == e,
                _ => false,
            };
            if !agree {
                self.problem(
                    file,
                    &format!("{here}/allowedValues"),
                    ProblemKind::InputsMismatch,
                    format!(
                        "activity {name:?}: input {:?}: allowedValues must equal the \"enum\" of its schema",
                        input.name
                    ),
                );
            }
            if input.choices_field.is_some() && input.choices.is_none() {
                self.problem(
                    file,
                    &format!("{here}/choicesField"),
                    ProblemKind::InputsMismatch,
                    format!(
                        "activity {name:?}: input {:?} has choicesField but no choices",
                        input.name
                    ),
                );
            }
            for parent in &input.parent_inputs {
                if parent == &input.name || !input_names.contains(&parent.as_str()) {
                    self.problem(
                        file,
                        &format!("{here}/parentInputs"),
                        ProblemKind::InputsMismatch,
                        format!(
                            "activity {name:?}: input {:?}: parent input {parent:?} is not a sibling input",
                            input.name
                        ),
                    );
                }
            }
        }
    }

    fn ports(&mut self, file: &str, at: &str, def: &ActivityDef) {
        let name = &def.activity_name;
        let mut seen = HashSet::new();
        for (i, port) in def.output_ports.iter().enumerate() {
            if !seen.insert(port.name.as_str()) {
                self.problem(
                    file,
                    &format!("{at}/outputPorts/{i}/name"),
                    ProblemKind::DuplicateName,
                    format!("activity {name:?}: port {:?} is listed twice", port.name),
                );
            }
            if port.name == DEFAULT_PORT && (port.branching.is_some() || port.error) {
                self.problem(
                    file,
                    &format!("{at}/outputPorts/{i}"),
                    ProblemKind::BadPorts,
                    format!("activity {name:?}: the default port is neither branching nor an error port"),
                );
            }
            if let Some(b) = &port.branching {
                if let Err(e) = compile_schema(&b.schema) {
                    self.problem(
                        file,
                        &format!("{at}/outputPorts/{i}/branching/schema"),
                        ProblemKind::InvalidSchema,
                        format!("activity {name:?}: port {:?}: {e}", port.name),
                    );
                }
            }
        }
        match def.group {
            Group::End if !def.output_ports.is_empty() => self.problem(
                file,
                &format!("{at}/outputPorts"),
                ProblemKind::BadPorts,
                format!("activity {name:?}: an end activity has no output ports"),
            ),
            Group::Start | Group::Action | Group::Event if def.port(DEFAULT_PORT).is_none() => {
                self.problem(
                    file,
                    &format!("{at}/outputPorts"),
                    ProblemKind::BadPorts,
                    format!(
                        "activity {name:?}: a {} activity needs the \"default\" port (the fallback when no edge matches the outcome)",
                        def.group
                    ),
                )
            }
            _ => {}
        }
    }

    fn outputs(&mut self, file: &str, at: &str, outputs: &[OutputDef]) {
        let mut seen = HashSet::new();
        for (i, output) in outputs.iter().enumerate() {
            if !seen.insert(output.name.as_str()) {
                self.problem(
                    file,
                    &format!("{at}/outputs/{i}/name"),
                    ProblemKind::DuplicateName,
                    format!("output {:?} is listed twice", output.name),
                );
            }
            if !OUTPUT_TYPES.contains(&output.ty.as_str()) {
                self.problem(
                    file,
                    &format!("{at}/outputs/{i}/type"),
                    ProblemKind::UnknownOutputType,
                    format!(
                        "output {:?} has unknown type {:?}; expected one of {OUTPUT_TYPES:?}",
                        output.name, output.ty
                    ),
                );
            }
        }
    }

    fn event(&mut self, file: &str, at: &str, entry: &Value) {
        let spec: EventSpec = match serde_json::from_value(entry.clone()) {
            Ok(spec) => spec,
            Err(e) => {
                let label = entry
                    .get("name")
                    .and_then(Value::as_str)
                    .map(|n| format!("event {n:?}: "))
                    .unwrap_or_default();
                self.problem(file, at, ProblemKind::BadShape, format!("{label}{e}"));
                return;
            }
        };
        let before = self.problems.len();
        if spec.name.trim().is_empty() {
            self.problem(
                file,
                &format!("{at}/name"),
                ProblemKind::BadName,
                "an event specification needs a name".to_owned(),
            );
        }
        if let Some((first_file, first_at)) = self.event_names.get(&spec.name).cloned() {
            self.problem(
                file,
                &format!("{at}/name"),
                ProblemKind::DuplicateEvent,
                format!(
                    "event {:?} is already defined in {first_file} at {first_at}",
                    spec.name
                ),
            );
        } else {
            self.event_names
                .insert(spec.name.clone(), (file.to_owned(), at.to_owned()));
        }
        self.contact_types(file, at, &spec.contact_types);
        self.outputs(file, at, &spec.outputs);
        if self.problems.len() == before {
            self.events.push(spec);
        }
    }
}

/// `play-message`, `end-flow`, `start`: lowercase ASCII words joined by single hyphens.
pub(crate) fn is_kebab_case(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && name.starts_with(|c: char| c.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case() {
        for ok in [
            "start",
            "play-message",
            "escalate-cdg",
            "get-queue-info",
            "step2",
        ] {
            assert!(is_kebab_case(ok), "{ok}");
        }
        for bad in [
            "",
            "Play",
            "play_message",
            "-a",
            "a-",
            "a--b",
            "2fa",
            "playMessage",
        ] {
            assert!(!is_kebab_case(bad), "{bad}");
        }
    }
}
