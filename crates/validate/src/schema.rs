//! Input schemas checked over the document tree itself.
//!
//! `jsonschema` validates `serde_json::Value`s only, and converting every node's properties
//! into one costs more than the check. So each catalog schema is also compiled into a
//! [`Check`] that answers "valid?" over the sonic-rs tree for the keywords the catalog uses.
//! `jsonschema` stays the authority: it words every error (the properties of a failing node
//! are converted then), and a schema using any keyword [`Check`] does not know is left to it
//! entirely. Tests hold the two to the same answers.

use serde_json::Value;

use crate::doc::{json_eq, same, Kind, J};

/// An input schema, as a compiled fast check when it can be, and always as `jsonschema`.
pub(crate) struct Schema {
    fast: Option<Check>,
    full: jsonschema::Validator,
}

impl Schema {
    pub fn new(schema: &Value) -> Option<Self> {
        let full = jsonschema::validator_for(schema).ok()?;
        Some(Schema {
            fast: Check::compile(schema),
            full,
        })
    }

    /// Is `v` valid? Fast over the tree when the schema allows, else through `jsonschema`.
    pub fn is_valid(&self, v: J<'_>) -> bool {
        match &self.fast {
            Some(c) => c.is_valid(v),
            None => self.full.is_valid(&crate::doc::to_serde(v)),
        }
    }

    /// `jsonschema`'s own validator, for wording errors.
    pub fn full(&self) -> &jsonschema::Validator {
        &self.full
    }
}

/// A compiled schema: the root and its `$defs`, which `$ref`s index.
pub(crate) struct Check {
    root: Node,
    defs: Vec<Node>,
}

enum Node {
    Bool(bool),
    Schema(Box<Keywords>),
}

#[derive(Default)]
struct Keywords {
    /// Bit set of [`Ty`] the value may have.
    types: Option<u8>,
    properties: Vec<(String, Node)>,
    required: Vec<String>,
    additional: Option<Node>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum: Option<f64>,
    exclusive_maximum: Option<f64>,
    enumeration: Option<Vec<Value>>,
    constant: Option<Value>,
    all_of: Vec<Node>,
    any_of: Vec<Node>,
    one_of: Vec<Node>,
    not: Option<Node>,
    if_then_else: Option<(Node, Option<Node>, Option<Node>)>,
    items: Option<Node>,
    min_items: Option<usize>,
    max_items: Option<usize>,
    pattern: Option<regex::Regex>,
    reference: Option<usize>,
}

#[derive(Clone, Copy)]
#[repr(u8)]
enum Ty {
    Null = 1,
    Boolean = 2,
    Integer = 4,
    Number = 8,
    String = 16,
    Array = 32,
    Object = 64,
}

/// Keywords that only annotate: they never change validity.
const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "default",
    "examples",
    "$comment",
    "deprecated",
    "readOnly",
    "writeOnly",
    "$schema",
];

impl Check {
    /// `None` when the schema uses something this checker does not implement.
    pub fn compile(schema: &Value) -> Option<Check> {
        let names: Vec<String> = match schema.get("$defs") {
            Some(Value::Object(defs)) => defs.keys().cloned().collect(),
            Some(_) => return None,
            None => Vec::new(),
        };
        let cx = Cx { defs: &names };
        let defs = match schema.get("$defs") {
            Some(Value::Object(defs)) => defs
                .values()
                .map(|d| cx.node(d, false))
                .collect::<Option<Vec<_>>>()?,
            _ => Vec::new(),
        };
        let root = cx.node(schema, true)?;
        Some(Check { root, defs })
    }

    pub fn is_valid(&self, v: J<'_>) -> bool {
        self.node_valid(&self.root, v, 0)
    }

    fn node_valid(&self, node: &Node, v: J<'_>, depth: usize) -> bool {
        match node {
            Node::Bool(b) => *b,
            // A `$ref` cycle deeper than any document: let it fail closed.
            Node::Schema(_) if depth > 64 => false,
            Node::Schema(k) => self.keywords_valid(k, v, depth),
        }
    }

    fn keywords_valid(&self, k: &Keywords, v: J<'_>, depth: usize) -> bool {
        let d = depth + 1;
        // One decode of the value: every accessor of a tree value decodes it again.
        let r = v.kind();
        if let Some(types) = k.types {
            if types & ty_of(&r) == 0 {
                return false;
            }
        }
        if let Some(i) = k.reference {
            if !self.node_valid(&self.defs[i], v, d) {
                return false;
            }
        }
        if let Some(e) = &k.enumeration {
            if !e.iter().any(|x| json_eq(x, v)) {
                return false;
            }
        }
        if let Some(c) = &k.constant {
            if !json_eq(c, v) {
                return false;
            }
        }
        match r {
            Kind::Str(s) => {
                // Lengths count code points; bytes bound them (1 to 4 bytes each), so most
                // strings are decided without counting.
                let b = s.len();
                let short = |m: usize| b < m || (b < m.saturating_mul(4) && s.chars().count() < m);
                let long = |m: usize| b > m && s.chars().count() > m;
                if k.min_length.is_some_and(short) || k.max_length.is_some_and(long) {
                    return false;
                }
                if k.pattern.as_ref().is_some_and(|p| !p.is_match(s)) {
                    return false;
                }
            }
            Kind::Num(n) => {
                let x = n.as_f64();
                if k.minimum.is_some_and(|m| x < m)
                    || k.maximum.is_some_and(|m| x > m)
                    || k.exclusive_minimum.is_some_and(|m| x <= m)
                    || k.exclusive_maximum.is_some_and(|m| x >= m)
                {
                    return false;
                }
            }
            Kind::Obj(o) => {
                if !k.required.is_empty() || !k.properties.is_empty() || k.additional.is_some() {
                    let mut seen = 0usize;
                    for (key, x) in o.iter() {
                        match k.properties.iter().position(|(p, _)| same(p, key)) {
                            Some(i) => {
                                if !self.node_valid(&k.properties[i].1, x, d) {
                                    return false;
                                }
                            }
                            None => {
                                if let Some(a) = &k.additional {
                                    if !self.node_valid(a, x, d) {
                                        return false;
                                    }
                                }
                            }
                        }
                        if k.required.iter().any(|r| same(r, key)) {
                            seen += 1;
                        }
                    }
                    // Counting is exact only without duplicate keys; those are rare enough
                    // to check the slow way.
                    if seen != k.required.len() && !k.required.iter().all(|r| o.contains_key(r)) {
                        return false;
                    }
                }
            }
            Kind::Arr(a) => {
                if k.min_items.is_some_and(|m| a.len() < m)
                    || k.max_items.is_some_and(|m| a.len() > m)
                {
                    return false;
                }
                if let Some(items) = &k.items {
                    if !a.iter().all(|x| self.node_valid(items, x, d)) {
                        return false;
                    }
                }
            }
            Kind::Null | Kind::Bool(_) => {}
        }
        if !k.all_of.iter().all(|s| self.node_valid(s, v, d)) {
            return false;
        }
        if !k.any_of.is_empty() && !k.any_of.iter().any(|s| self.node_valid(s, v, d)) {
            return false;
        }
        if !k.one_of.is_empty() && k.one_of.iter().filter(|s| self.node_valid(s, v, d)).count() != 1
        {
            return false;
        }
        if k.not.as_ref().is_some_and(|s| self.node_valid(s, v, d)) {
            return false;
        }
        if let Some((cond, then, otherwise)) = &k.if_then_else {
            let branch = if self.node_valid(cond, v, d) {
                then
            } else {
                otherwise
            };
            if branch.as_ref().is_some_and(|s| !self.node_valid(s, v, d)) {
                return false;
            }
        }
        true
    }
}

fn ty_of(r: &Kind<'_>) -> u8 {
    match r {
        Kind::Null => Ty::Null as u8,
        Kind::Bool(_) => Ty::Boolean as u8,
        Kind::Str(_) => Ty::String as u8,
        Kind::Arr(_) => Ty::Array as u8,
        Kind::Obj(_) => Ty::Object as u8,
        Kind::Num(n) if n.is_integral() => Ty::Integer as u8 | Ty::Number as u8,
        Kind::Num(_) => Ty::Number as u8,
    }
}

struct Cx<'a> {
    defs: &'a [String],
}

impl Cx<'_> {
    fn node(&self, s: &Value, root: bool) -> Option<Node> {
        let obj = match s {
            Value::Bool(b) => return Some(Node::Bool(*b)),
            Value::Object(o) => o,
            _ => return None,
        };
        let mut k = Keywords::default();
        for (key, v) in obj {
            match key.as_str() {
                "type" => k.types = Some(types(v)?),
                "properties" => {
                    k.properties = v
                        .as_object()?
                        .iter()
                        .map(|(p, s)| Some((p.clone(), self.node(s, false)?)))
                        .collect::<Option<_>>()?
                }
                "required" => {
                    k.required = v
                        .as_array()?
                        .iter()
                        .map(|r| r.as_str().map(str::to_owned))
                        .collect::<Option<_>>()?
                }
                "additionalProperties" => k.additional = Some(self.node(v, false)?),
                "minLength" => k.min_length = Some(usize::try_from(v.as_u64()?).ok()?),
                "maxLength" => k.max_length = Some(usize::try_from(v.as_u64()?).ok()?),
                "minItems" => k.min_items = Some(usize::try_from(v.as_u64()?).ok()?),
                "maxItems" => k.max_items = Some(usize::try_from(v.as_u64()?).ok()?),
                "minimum" => k.minimum = Some(v.as_f64()?),
                "maximum" => k.maximum = Some(v.as_f64()?),
                "exclusiveMinimum" => k.exclusive_minimum = Some(v.as_f64()?),
                "exclusiveMaximum" => k.exclusive_maximum = Some(v.as_f64()?),
                "enum" => k.enumeration = Some(v.as_array()?.clone()),
                "const" => k.constant = Some(v.clone()),
                "allOf" => k.all_of = self.list(v)?,
                "anyOf" => k.any_of = self.list(v)?,
                "oneOf" => k.one_of = self.list(v)?,
                "not" => k.not = Some(self.node(v, false)?),
                "if" => {
                    let then = match obj.get("then") {
                        Some(t) => Some(self.node(t, false)?),
                        None => None,
                    };
                    let otherwise = match obj.get("else") {
                        Some(e) => Some(self.node(e, false)?),
                        None => None,
                    };
                    k.if_then_else = Some((self.node(v, false)?, then, otherwise));
                }
                // Without `if` they are ignored, as the specification says.
                "then" | "else" => {}
                "items" => k.items = Some(self.node(v, false)?),
                "pattern" => k.pattern = Some(pattern(v.as_str()?)?),
                "$ref" => {
                    let name = v.as_str()?.strip_prefix("#/$defs/")?;
                    k.reference = Some(self.defs.iter().position(|d| d == name)?);
                }
                "$defs" if root => {}
                other if ANNOTATIONS.contains(&other) || other.starts_with("x-") => {}
                _ => return None,
            }
        }
        Some(Node::Schema(Box::new(k)))
    }

    fn list(&self, v: &Value) -> Option<Vec<Node>> {
        v.as_array()?.iter().map(|s| self.node(s, false)).collect()
    }
}

fn types(v: &Value) -> Option<u8> {
    let one = |t: &Value| -> Option<u8> {
        Some(match t.as_str()? {
            "null" => Ty::Null as u8,
            "boolean" => Ty::Boolean as u8,
            "integer" => Ty::Integer as u8,
            "number" => Ty::Number as u8 | Ty::Integer as u8,
            "string" => Ty::String as u8,
            "array" => Ty::Array as u8,
            "object" => Ty::Object as u8,
            _ => return None,
        })
    };
    match v {
        Value::Array(ts) => ts.iter().try_fold(0u8, |acc, t| Some(acc | one(t)?)),
        t => one(t),
    }
}

/// ECMA-262 patterns as the `regex` crate reads them, for the patterns where both agree:
/// no character-class escapes (`\d` is ASCII in ECMA-262, Unicode in `regex`), no
/// look-around or back-references (which `regex` refuses anyway).
fn pattern(p: &str) -> Option<regex::Regex> {
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.next().is_some_and(|e| e.is_ascii_alphanumeric()) {
            return None;
        }
    }
    regex::Regex::new(p).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Check `v` through the document parser, as validation does.
    fn fast_valid(c: &Check, v: &Value) -> bool {
        let text = serde_json::to_vec(&serde_json::json!({ "v": v })).unwrap();
        let mut scratch = crate::Scratch::default();
        let doc = crate::doc::Document::parse(&text, &mut scratch).unwrap();
        let got = doc.root().get("v").unwrap();
        c.is_valid(got)
    }

    /// Every catalog schema that compiles answers like `jsonschema` on a spread of values.
    #[test]
    fn agrees_with_jsonschema_on_the_catalog() {
        let catalog = catalog::Catalog::builtin();
        let samples = [
            json!(null),
            json!(true),
            json!(1),
            json!(1.5),
            json!(-3),
            json!(""),
            json!("x"),
            json!("{{ a }}"),
            json!([]),
            json!(["a", 1]),
            json!({}),
        ];
        let mut compiled = 0;
        for a in catalog.activities() {
            let full = jsonschema::validator_for(&a.input_schema).unwrap();
            let Some(fast) = Check::compile(&a.input_schema) else {
                continue;
            };
            compiled += 1;
            let mut docs: Vec<Value> = vec![json!({"activityName": a.activity_name})];
            let props: Vec<String> = a
                .input_schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default();
            for p in &props {
                for s in &samples {
                    docs.push(json!({"activityName": a.activity_name, p.as_str(): s}));
                }
            }
            // Every node of the fixtures and examples running this activity, then each of
            // its inputs broken in turn.
            for ex in nodes_of(&a.activity_name) {
                docs.push(ex.clone());
                for p in &props {
                    for s in &samples {
                        let mut d = ex.clone();
                        d[p.as_str()] = s.clone();
                        docs.push(d);
                    }
                }
            }
            for d in &docs {
                assert_eq!(
                    fast_valid(&fast, d),
                    full.is_valid(d),
                    "{}: {d}",
                    a.activity_name
                );
            }
        }
        assert!(compiled >= catalog.activities().len() - 2, "{compiled}");
    }

    /// The properties of every node running `activity` in the repo's valid documents.
    fn nodes_of(activity: &str) -> Vec<Value> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let mut out = Vec::new();
        for dir in [
            "crates/validate/test_data/ok",
            "examples/ivr",
            "examples/seeds",
            "examples/work-item",
            "crates/engine/tests/fixtures",
        ] {
            let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
                continue;
            };
            for e in entries.flatten() {
                let Ok(text) = std::fs::read_to_string(e.path()) else {
                    continue;
                };
                let Ok(doc) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let nodes = doc["nodes"].as_array().into_iter().flatten();
                let events = doc["eventFlows"]["nodes"].as_array().into_iter().flatten();
                for n in nodes.chain(events) {
                    if n["properties"]["activityName"] == activity {
                        out.push(n["properties"].clone());
                    }
                }
            }
        }
        out
    }

    #[test]
    fn keywords() {
        let cases = [
            (json!({"type": "integer"}), json!(2.0), true),
            (json!({"type": "integer"}), json!(2.5), false),
            (json!({"type": ["string", "null"]}), json!(null), true),
            (json!({"minLength": 2}), json!("é"), false),
            (json!({"minLength": 2}), json!(3), true),
            (json!({"enum": [1, "a"]}), json!(1.0), true),
            (json!({"const": {"a": [1]}}), json!({"a": [1]}), true),
            (json!({"pattern": "\\{\\{"}), json!("a {{ b"), true),
            (json!({"pattern": "\\{\\{"}), json!("a { b"), false),
            (
                json!({"oneOf": [{"type": "string"}, {"minLength": 1}]}),
                json!("a"),
                false,
            ),
            (json!({"not": {"type": "string"}}), json!(1), true),
            (json!({"exclusiveMinimum": 0}), json!(0), false),
            (
                json!({"$defs": {"p": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/p"}}}),
                json!({"a": 1}),
                false,
            ),
            (
                json!({"properties": {"a": true}, "additionalProperties": false}),
                json!({"a": 1, "b": 2}),
                false,
            ),
            (
                json!({"items": {"type": "string"}, "minItems": 1}),
                json!([]),
                false,
            ),
            (
                json!({"if": {"properties": {"t": {"const": "x"}}}, "then": {"required": ["x"]}}),
                json!({"t": "x"}),
                false,
            ),
        ];
        for (schema, v, want) in cases {
            let fast = Check::compile(&schema).expect("compiles");
            let full = jsonschema::validator_for(&schema).unwrap();
            assert_eq!(full.is_valid(&v), want, "jsonschema: {schema} {v}");
            assert_eq!(fast_valid(&fast, &v), want, "{schema} {v}");
        }
    }

    #[test]
    fn unknown_keywords_are_left_to_jsonschema() {
        for s in [
            json!({"format": "email"}),
            json!({"patternProperties": {"a": {}}}),
            json!({"pattern": "\\d+"}),
            json!({"$ref": "https://example.com/s"}),
        ] {
            assert!(Check::compile(&s).is_none(), "{s}");
        }
    }
}
