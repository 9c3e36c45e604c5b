//! The activity catalog reference (`docs/catalog.md`), rendered from the catalog itself.
//!
//! The reference is generated so it cannot drift from the data: a test renders it from the
//! builtin catalog and fails when the committed file differs (`UPDATE_EXPECT=1` rewrites it).

use std::fmt::Write as _;

use serde_json::Value;

use crate::model::{ActivityDef, EventSpec, InputDef};
use crate::Catalog;

impl Catalog {
    /// Renders the catalog as a Markdown reference: one section per activity (group, contact
    /// types, inputs, ports, outputs) and one per event specification.
    pub fn reference_markdown(&self) -> String {
        let mut md = String::new();
        md.push_str(HEADER);

        md.push_str("\n## Activities\n\n");
        md.push_str("| Activity | Group | Contact types | Ports |\n|---|---|---|---|\n");
        for a in self.activities() {
            let ports: Vec<String> = a
                .output_ports
                .iter()
                .map(|p| format!("`{}`", p.name))
                .collect();
            let _ = writeln!(
                md,
                "| [`{name}`](#{name}) | {} | {} | {} |",
                a.group,
                a.contact_types.join(", "),
                or_none(&ports.join(", ")),
                name = a.activity_name,
            );
        }
        for a in self.activities() {
            activity_section(&mut md, a);
        }

        md.push_str("\n## Event specifications\n\n");
        md.push_str(
            "| Event | Binding | Source | Classification | Contact types |\n|---|---|---|---|---|\n",
        );
        for e in self.events() {
            let mut classes = vec![e.event_classification_name.clone()];
            classes.extend(e.additional_classification_names.iter().cloned());
            let _ = writeln!(
                md,
                "| [`{name}`](#{anchor}) | {} | {} | {} | {} |",
                e.binding,
                e.event_source_name,
                classes.join(", "),
                e.contact_types.join(", "),
                name = e.name,
                anchor = e.name.to_lowercase(),
            );
        }
        for e in self.events() {
            event_section(&mut md, e);
        }
        md
    }
}

const HEADER: &str = "\
# Activity catalog reference

<!-- Generated from catalog/*.json by the switchboard-catalog tests; do not edit by hand.
     Regenerate with: UPDATE_EXPECT=1 cargo test -p switchboard-catalog -->

The activities a flow node can run (`properties.activityName`) and the events a flow can be
bound to, as served by `GET .../v2/activities` and `GET .../v2/event-specifications`.

How ports work: an activity completes with an outcome port, and the edge whose `condition` is
that port is followed; when no edge has it, the edge on `default` is followed. So every start,
action and event activity has a `default` port, non-branching activities complete on `out`,
and end activities have no ports. A branching port (`case`, `digit`, `allocation`) may have
several edges, each carrying its branch value in `edge.properties`. The aliases `done` (for
`out`) and `defaultBranch` (for `default`) are accepted in edges and normalized.

Inputs are the keys of `node.properties` besides `activityName`; unknown keys are tolerated.
A *templated* input may contain `{{ }}` expressions, resolved when the node runs. An input with
*choices* names an entity of the org's configuration (listed by `getActivityInputChoices`); a
value that names none is reported as `UNKNOWN_<KIND>` (for example `UNKNOWN_QUEUE`).
";

fn activity_section(md: &mut String, a: &ActivityDef) {
    let _ = write!(
        md,
        "\n### {}\n\n**{}** — {}\n\n- Group: `{}`\n- Contact types: {}\n",
        a.activity_name,
        a.display_name,
        a.description,
        a.group,
        a.contact_types
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    if let Some(rule) = schema_rule(&a.input_schema) {
        let _ = writeln!(md, "- Also: {rule}");
    }

    md.push_str("\n**Inputs**\n\n");
    if a.inputs.is_empty() {
        md.push_str("None.\n");
    } else {
        md.push_str("| Input | Type | Required | Description |\n|---|---|---|---|\n");
        for input in &a.inputs {
            let schema = a.input_property_schema(&input.name).unwrap_or(&Value::Null);
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} |",
                input.name,
                cell(&input_type(input, schema)),
                if input.required { "yes" } else { "no" },
                cell(&input.description),
            );
        }
    }

    md.push_str("\n**Output ports**\n\n");
    if a.output_ports.is_empty() {
        md.push_str("None: the flow ends here.\n");
    } else {
        md.push_str("| Port | Description |\n|---|---|\n");
        for p in &a.output_ports {
            let mut desc = p.description.clone();
            if let Some(b) = &p.branching {
                let _ = write!(
                    desc,
                    " Branching: each edge carries `properties.{}`: {}.",
                    b.property,
                    schema_summary(&b.schema)
                );
            }
            if p.error {
                desc.push_str(" Error port.");
            }
            let _ = writeln!(md, "| `{}` | {} |", p.name, cell(&desc));
        }
    }

    md.push_str("\n**Outputs**\n\n");
    if a.outputs.is_empty() {
        if a.group == crate::Group::Start || a.group == crate::Group::Event {
            md.push_str("The outputs of the bound event specification.\n");
        } else {
            md.push_str("None.\n");
        }
    } else {
        outputs_table(md, &a.outputs);
    }
}

fn event_section(md: &mut String, e: &EventSpec) {
    let _ = write!(
        md,
        "\n### {}\n\n**{}** — {}\n\n- Binding: `{}`\n- Source: `{}`; classification: `{}`",
        e.name,
        e.display_name,
        e.description,
        e.binding,
        e.event_source_name,
        e.event_classification_name,
    );
    for c in &e.additional_classification_names {
        let _ = write!(md, ", `{c}`");
    }
    let _ = writeln!(
        md,
        "\n- Contact types: {}\n",
        e.contact_types
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    md.push_str("**Outputs**\n\n");
    if e.outputs.is_empty() {
        md.push_str("None.\n");
    } else {
        outputs_table(md, &e.outputs);
    }
}

fn outputs_table(md: &mut String, outputs: &[crate::OutputDef]) {
    md.push_str("| Output | Type | Description |\n|---|---|---|\n");
    for o in outputs {
        let _ = writeln!(md, "| `{}` | {} | {} |", o.name, o.ty, cell(&o.description));
    }
}

/// A one-line summary of an input's type from its schema and metadata.
fn input_type(input: &InputDef, schema: &Value) -> String {
    let mut parts = vec![schema_summary(schema)];
    if let Some(kind) = input.choices {
        match &input.choices_field {
            Some(field) => parts.push(format!("choices: {kind} (in `{field}`)")),
            None => parts.push(format!("choices: {kind}")),
        }
    }
    if input.templated {
        parts.push("templated".to_owned());
    }
    parts.join("; ")
}

fn schema_summary(schema: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(Value::Array(values)) = schema.get("enum") {
        let list: Vec<String> = values.iter().map(|v| format!("`{}`", plain(v))).collect();
        parts.push(format!("one of {}", list.join(", ")));
    } else if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        parts.push(format!("object ({})", r.rsplit('/').next().unwrap_or(r)));
    } else {
        match schema.get("type") {
            Some(Value::String(t)) => parts.push(type_name(t, schema)),
            Some(Value::Array(ts)) => parts.push(
                ts.iter()
                    .filter_map(Value::as_str)
                    .map(|t| type_name(t, schema))
                    .collect::<Vec<_>>()
                    .join(" or "),
            ),
            _ => parts.push("any".to_owned()),
        }
    }
    match (schema.get("minimum"), schema.get("maximum")) {
        (Some(min), Some(max)) => parts.push(format!("{min}..{max}")),
        (Some(min), None) => parts.push(format!("≥ {min}")),
        (None, Some(max)) => parts.push(format!("≤ {max}")),
        (None, None) => {}
    }
    if let Some(d) = schema.get("default") {
        parts.push(format!("default `{}`", plain(d)));
    }
    parts.join(", ")
}

fn type_name(t: &str, schema: &Value) -> String {
    match t {
        "array" => match schema.get("items") {
            Some(items) if items.get("type").and_then(Value::as_str) == Some("object") => {
                let keys: Vec<&str> = items
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|p| p.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                format!("array of {{{}}}", keys.join(", "))
            }
            _ => "array".to_owned(),
        },
        "object" if schema.get("properties").is_none() => {
            match schema.get("additionalProperties") {
                Some(v) if v.get("type").and_then(Value::as_str) == Some("string") => {
                    "object of strings".to_owned()
                }
                _ => "object".to_owned(),
            }
        }
        "object" => {
            let keys: Vec<&str> = schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.keys().map(String::as_str).collect())
                .unwrap_or_default();
            format!("object {{{}}}", keys.join(", "))
        }
        other => other.to_owned(),
    }
}

/// Cross-input rules the table cannot show (`anyOf` of required inputs, `if`/`then`).
fn schema_rule(schema: &Value) -> Option<String> {
    let mut rules = Vec::new();
    if let Some(Value::Array(any)) = schema.get("anyOf") {
        let names: Vec<String> = any
            .iter()
            .filter_map(|s| s.get("required")?.as_array()?.first()?.as_str())
            .map(|n| format!("`{n}`"))
            .collect();
        if !names.is_empty() {
            rules.push(format!("at least one of {} is required", names.join(", ")));
        }
    }
    if let Some(Value::Array(all)) = schema.get("allOf") {
        for rule in all {
            let cond = rule
                .get("if")
                .and_then(|i| i.get("properties"))
                .and_then(Value::as_object)
                .and_then(|p| p.iter().next())
                .and_then(|(k, v)| Some((k, v.get("const")?)));
            let then: Option<Vec<&str>> = rule
                .get("then")
                .and_then(|t| t.get("required"))
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect());
            if let (Some((key, value)), Some(then)) = (cond, then) {
                rules.push(format!(
                    "when `{key}` is `{}`, {} is required",
                    plain(value),
                    then.iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    if rules.is_empty() {
        None
    } else {
        Some(rules.join("; "))
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "—"
    } else {
        s
    }
}

/// Makes text safe for one Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
