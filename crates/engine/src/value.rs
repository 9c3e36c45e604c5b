//! Typed values: the six flow variable types, conversions between JSON and the expression
//! engine's [`Value`], and the few value rules activities share (truthiness, text rendering,
//! the string form `case` compares).
//!
//! Inside the engine every value is a [`minijinja::Value`]: expressions read variables and
//! node outputs without converting them, and cloning one is a reference-count increment.
//! JSON appears only at the edges (start variables, commands, checkpoints, traces).
//!
//! Type rules (`coerce`): STRING takes anything (numbers and booleans are written out, JSON
//! is serialized); INTEGER takes integers, integral decimals and numeric strings; DECIMAL
//! takes numbers and numeric strings; BOOLEAN takes booleans, `"true"`/`"false"` in any case
//! and 0/1; DATETIME takes RFC 3339 strings (normalized to UTC) and epoch milliseconds; JSON
//! takes anything, and parses strings that hold JSON (other strings stay strings). An empty
//! default value (`""`) means the type's zero: `""`, 0, 0.0, false, and `null` for DATETIME
//! and JSON.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use flow::VariableType;
use minijinja::value::ValueKind;
pub use minijinja::Value;

/// Converts JSON into an engine value (objects keep their key order).
pub fn from_json(v: &serde_json::Value) -> Value {
    Value::from_serialize(v)
}

/// Converts an engine value to JSON. Undefined becomes `null`.
pub fn to_json(v: &Value) -> serde_json::Value {
    if v.is_undefined() {
        return serde_json::Value::Null;
    }
    serde_json::to_value(AsJson(v)).unwrap_or(serde_json::Value::Null)
}

/// An engine value to serialize: the same output as minijinja's own `Serialize` for
/// [`Value`], without its generic path for maps (a value made of every key, a boxed
/// iterator, a lookup per member). The objects the engine makes (records, JSON views, maps
/// and lists converted from JSON) are written from what they hold; anything else goes
/// through minijinja. Every durable step serializes the task's variables and its trace
/// records, right after a database round trip, with cold caches: this is most of that work.
pub(crate) struct AsJson<'a>(pub &'a Value);

impl serde::Serialize for AsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let v = self.0;
        if let Some(text) = v.as_str() {
            return s.serialize_str(text);
        }
        let Some(obj) = v.as_object() else {
            return serde::Serialize::serialize(v, s);
        };
        if let Some(items) = obj.downcast_ref::<Vec<Value>>() {
            let mut seq = s.serialize_seq(Some(items.len()))?;
            for item in items {
                seq.serialize_element(&AsJson(item))?;
            }
            return seq.end();
        }
        if let Some(members) = obj.downcast_ref::<indexmap::IndexMap<Value, Value>>() {
            let mut map = s.serialize_map(Some(members.len()))?;
            for (key, value) in members {
                map.serialize_entry(&AsJson(key), &AsJson(value))?;
            }
            return map.end();
        }
        if let Some(view) = obj.downcast_ref::<JsonView>() {
            return serde::Serialize::serialize(view.node(), s);
        }
        if let Some(text) = obj.downcast_ref::<JsonText>() {
            return AsJson(text.value()).serialize(s);
        }
        macro_rules! records {
            ($($n:literal)*) => {$(
                if let Some(r) = obj.downcast_ref::<Record<$n>>() {
                    let mut map = s.serialize_map(Some(r.len()))?;
                    for (key, value) in &r.pairs {
                        map.serialize_entry(key, &AsJson(value))?;
                    }
                    if r.blank_errors {
                        for key in ERROR_KEYS {
                            map.serialize_entry(key, "")?;
                        }
                    }
                    return map.end();
                }
            )*};
        }
        // Every size `outputs_record` accepts (it asserts the bound).
        records!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
        serde::Serialize::serialize(v, s)
    }
}

/// `#[serde(serialize_with = "crate::value::serialize")]` for a [`Value`] field.
pub(crate) fn serialize<S: serde::Serializer>(v: &Value, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&AsJson(v), s)
}

/// `#[serde(serialize_with = "crate::value::serialize_opt")]` for an `Option<Value>` field.
pub(crate) fn serialize_opt<S: serde::Serializer>(
    v: &Option<Value>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_some(&AsJson(v)),
        None => s.serialize_none(),
    }
}

/// The value a variable starts with: its declared default (a string in the flow document)
/// converted to its type.
pub(crate) fn default_value(
    ty: VariableType,
    raw: Option<&serde_json::Value>,
) -> Result<Value, String> {
    match raw {
        None | Some(serde_json::Value::Null) => Ok(zero(ty)),
        Some(serde_json::Value::String(s)) if s.is_empty() => Ok(zero(ty)),
        Some(v) => coerce(from_json(v), ty),
    }
}

/// The zero value of a type, used for an empty default.
pub(crate) fn zero(ty: VariableType) -> Value {
    match ty {
        VariableType::String => Value::from(""),
        VariableType::Integer => Value::from(0i64),
        VariableType::Decimal => Value::from(0.0f64),
        VariableType::Boolean => Value::from(false),
        VariableType::Datetime | VariableType::Json => Value::from(()),
    }
}

/// Converts a value to a variable type; `Err` says why it does not convert.
pub(crate) fn coerce(v: Value, ty: VariableType) -> Result<Value, String> {
    let kind = v.kind();
    let bad = |v: &Value| Err(format!("{} is not a valid {}", describe(v), ty.as_str()));
    match ty {
        VariableType::String => Ok(match kind {
            ValueKind::String => v,
            _ => Value::from(text(&v)),
        }),
        VariableType::Integer => match kind {
            ValueKind::Number => {
                if let Some(i) = v.as_i64() {
                    Ok(Value::from(i))
                } else {
                    match f64::try_from(v.clone()) {
                        Ok(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Value::from(f as i64)),
                        _ => bad(&v),
                    }
                }
            }
            ValueKind::String => match v
                .as_str()
                .map(str::trim)
                .and_then(|s| s.parse::<i64>().ok())
            {
                Some(i) => Ok(Value::from(i)),
                None => bad(&v),
            },
            _ => bad(&v),
        },
        VariableType::Decimal => match kind {
            ValueKind::Number => match f64::try_from(v.clone()) {
                Ok(f) if f.is_finite() => Ok(Value::from(f)),
                _ => bad(&v),
            },
            ValueKind::String => match v
                .as_str()
                .map(str::trim)
                .and_then(|s| s.parse::<f64>().ok())
            {
                Some(f) if f.is_finite() => Ok(Value::from(f)),
                _ => bad(&v),
            },
            _ => bad(&v),
        },
        VariableType::Boolean => match kind {
            ValueKind::Bool => Ok(v),
            ValueKind::String => match v.as_str().map(str::trim) {
                Some(s) if s.eq_ignore_ascii_case("true") => Ok(Value::from(true)),
                Some(s) if s.eq_ignore_ascii_case("false") => Ok(Value::from(false)),
                _ => bad(&v),
            },
            ValueKind::Number => match v.as_i64() {
                Some(0) => Ok(Value::from(false)),
                Some(1) => Ok(Value::from(true)),
                _ => bad(&v),
            },
            _ => bad(&v),
        },
        VariableType::Datetime => match kind {
            ValueKind::None | ValueKind::Undefined => Ok(Value::from(())),
            ValueKind::String => {
                match v.as_str().map(str::trim).map(DateTime::parse_from_rfc3339) {
                    Some(Ok(dt)) => Ok(Value::from(format_datetime(dt.with_timezone(&Utc)))),
                    _ => bad(&v),
                }
            }
            ValueKind::Number => match v
                .as_i64()
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
            {
                Some(dt) => Ok(Value::from(format_datetime(dt))),
                None => bad(&v),
            },
            _ => bad(&v),
        },
        VariableType::Json => match kind {
            ValueKind::Undefined => Ok(Value::from(())),
            // Text holding JSON is parsed; any other text is a JSON string.
            ValueKind::String => {
                Ok(serde_json::from_str::<Value>(v.as_str().unwrap_or_default()).unwrap_or(v))
            }
            _ => Ok(v),
        },
    }
}

/// RFC 3339 in UTC with a `Z`, the one form DATETIME values take (so they compare as
/// strings in chronological order when the precision is equal).
pub fn format_datetime(dt: DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A short description of a value for error messages, never longer than ~60 characters.
pub(crate) fn describe(v: &Value) -> String {
    let s = match v.kind() {
        ValueKind::Undefined => return "an undefined value".to_owned(),
        ValueKind::None => return "null".to_owned(),
        ValueKind::String => format!("'{}'", v.as_str().unwrap_or_default()),
        _ => text(v),
    };
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// How a value is written into text (templates, prompts, URLs): strings as they are,
/// `null` and undefined as nothing, objects and arrays as JSON.
pub fn text(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => String::new(),
        ValueKind::Bool => if v.is_true() { "true" } else { "false" }.to_owned(),
        ValueKind::String => v.as_str().unwrap_or_default().to_owned(),
        ValueKind::Map | ValueKind::Seq | ValueKind::Iterable | ValueKind::Plain => {
            serde_json::to_string(v).unwrap_or_else(|_| v.to_string())
        }
        _ => v.to_string(),
    }
}

/// The truth of a condition's result: a string is true when it is "true" in any case, a
/// number when it is not 0, a boolean is itself, null and undefined are false, and a
/// collection is true when it is not empty.
pub(crate) fn truthy(v: &Value) -> bool {
    match v.kind() {
        ValueKind::String => v
            .as_str()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("true")),
        ValueKind::Undefined | ValueKind::None => false,
        _ => v.is_true(),
    }
}

/// The string form `case` compares: integral numbers without a fraction (`1.0` is "1"),
/// booleans as "true"/"false", null as "".
pub(crate) fn canonical(v: &Value) -> String {
    if v.kind() == ValueKind::Number {
        if let Some(i) = v.as_i64() {
            return i.to_string();
        }
    }
    text(v)
}

/// [`canonical`] for a JSON value (an edge's branch value).
pub(crate) fn canonical_json(v: &serde_json::Value) -> String {
    canonical(&from_json(v))
}

/// A small map with fixed keys: a node's outputs. Built on every step, so it is an array
/// behind minijinja's object interface (one allocation, no hashing) instead of a hash map;
/// expressions, JSON paths and serialization see an ordinary map. `blank_errors` adds empty
/// `errorCode` and `errorMessage` members (a node with an error port that succeeded)
/// without storing them.
#[derive(Debug)]
struct Record<const N: usize> {
    pairs: [(&'static str, Value); N],
    blank_errors: bool,
}

const ERROR_KEYS: [&str; 2] = ["errorCode", "errorMessage"];

/// The largest record [`outputs_record`] makes: [`AsJson`] knows each size up to it.
const MAX_RECORD: usize = 16;

impl<const N: usize> Record<N> {
    fn len(&self) -> usize {
        N + if self.blank_errors {
            ERROR_KEYS.len()
        } else {
            0
        }
    }

    fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        let errors = if self.blank_errors {
            &ERROR_KEYS[..]
        } else {
            &[]
        };
        self.pairs
            .iter()
            .map(|(k, _)| *k)
            .chain(errors.iter().copied())
    }
}

impl<const N: usize> minijinja::value::Object for Record<N> {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Map
    }

    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str()?;
        match self.pairs.iter().find(|(n, _)| *n == k) {
            Some((_, v)) => Some(v.clone()),
            None if self.blank_errors && ERROR_KEYS.contains(&k) => Some(Value::from("")),
            None => None,
        }
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Values(self.keys().map(Value::from).collect())
    }

    fn enumerator_len(self: &std::sync::Arc<Self>) -> Option<usize> {
        Some(self.len())
    }
}

/// A map value with fixed keys (see [`Record`]).
pub(crate) fn record<const N: usize>(pairs: [(&'static str, Value); N]) -> Value {
    outputs_record(pairs, false)
}

/// A node's outputs: [`record`], with empty `errorCode` and `errorMessage` when
/// `blank_errors`.
pub(crate) fn outputs_record<const N: usize>(
    pairs: [(&'static str, Value); N],
    blank_errors: bool,
) -> Value {
    const {
        assert!(
            N <= MAX_RECORD,
            "AsJson serializes records up to MAX_RECORD pairs"
        )
    };
    Value::from_object(Record {
        pairs,
        blank_errors,
    })
}

/// One step from a JSON document's root to a nested object or array.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// A parsed JSON document seen as an engine value, without converting it: objects and
/// arrays are views into the shared document (converted member by member as expressions
/// read them), scalars are converted when read. Parsing with serde_json and wrapping is
/// much cheaper than building engine maps for a whole document of which a flow reads a
/// field or two.
#[derive(Debug)]
struct JsonView {
    root: std::sync::Arc<serde_json::Value>,
    path: Vec<Step>,
}

impl JsonView {
    fn node(&self) -> &serde_json::Value {
        let mut v = &*self.root;
        for step in &self.path {
            v = match (step, v) {
                (Step::Key(k), serde_json::Value::Object(m)) => {
                    m.get(k).unwrap_or(&serde_json::Value::Null)
                }
                (Step::Index(i), serde_json::Value::Array(a)) => {
                    a.get(*i).unwrap_or(&serde_json::Value::Null)
                }
                _ => &serde_json::Value::Null,
            };
        }
        v
    }

    fn child(&self, step: Step, v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                let mut path = self.path.clone();
                path.push(step);
                Value::from_object(JsonView {
                    root: self.root.clone(),
                    path,
                })
            }
            scalar => scalar_value(scalar),
        }
    }
}

fn scalar_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(u)) => Value::from(u),
            _ => Value::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        other => from_json(other),
    }
}

impl minijinja::value::Object for JsonView {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        match self.node() {
            serde_json::Value::Array(_) => minijinja::value::ObjectRepr::Seq,
            _ => minijinja::value::ObjectRepr::Map,
        }
    }

    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        match self.node() {
            serde_json::Value::Object(m) => {
                let k = key.as_str()?;
                m.get(k).map(|v| self.child(Step::Key(k.to_owned()), v))
            }
            serde_json::Value::Array(a) => {
                let i = key.as_usize()?;
                a.get(i).map(|v| self.child(Step::Index(i), v))
            }
            _ => None,
        }
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        match self.node() {
            serde_json::Value::Object(m) => minijinja::value::Enumerator::Values(
                m.keys().map(|k| Value::from(k.as_str())).collect(),
            ),
            serde_json::Value::Array(a) => minijinja::value::Enumerator::Seq(a.len()),
            _ => minijinja::value::Enumerator::Empty,
        }
    }
}

/// A JSON value as an engine value: scalars directly, objects and arrays converted.
pub(crate) fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Object(_) | serde_json::Value::Array(_) => from_json(v),
        scalar => scalar_value(scalar),
    }
}

/// A JSON document as an engine value, converted lazily (see [`JsonView`]).
pub(crate) fn json_view(doc: serde_json::Value) -> Value {
    match doc {
        serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
            Value::from_object(JsonView {
                root: std::sync::Arc::new(doc),
                path: Vec::new(),
            })
        }
        scalar => scalar_value(&scalar),
    }
}

/// A JSON object or array kept as its text (already checked to be JSON) and parsed when
/// something first reads it: a `parse` node's `result`, which a flow seldom reads. A stored
/// trace does read it, so with the full trace the runtime parses the text a second time
/// when it serializes the record: that cost sits at the edge, once per stored step, instead
/// of building the whole document inside every engine step.
#[derive(Debug)]
struct JsonText {
    text: Box<str>,
    parsed: std::sync::OnceLock<Value>,
}

impl JsonText {
    fn value(&self) -> &Value {
        self.parsed.get_or_init(|| {
            json_view(serde_json::from_str(&self.text).unwrap_or(serde_json::Value::Null))
        })
    }
}

impl minijinja::value::Object for JsonText {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        if self.text.trim_start().starts_with('[') {
            minijinja::value::ObjectRepr::Seq
        } else {
            minijinja::value::ObjectRepr::Map
        }
    }

    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        self.value()
            .get_item(key)
            .ok()
            .filter(|v| !v.is_undefined())
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        let v = self.value();
        match v.kind() {
            ValueKind::Seq => minijinja::value::Enumerator::Seq(v.len().unwrap_or(0)),
            ValueKind::Map => minijinja::value::Enumerator::Values(
                v.try_iter().map(Iterator::collect).unwrap_or_default(),
            ),
            _ => minijinja::value::Enumerator::Empty,
        }
    }
}

/// A parsed document as an engine value: objects and arrays keep their text and are
/// parsed again only if read (see [`JsonText`]), scalars are converted now.
pub(crate) fn json_text(text: &str, tree: &crate::jsondoc::Tree<'_>) -> Value {
    use crate::jsondoc::Tree;
    match tree {
        Tree::Obj(_) | Tree::Arr(_) => Value::from_object(JsonText {
            text: text.into(),
            parsed: std::sync::OnceLock::new(),
        }),
        scalar => scalar.to_value(),
    }
}

/// Builds a map value from `(key, value)` pairs, in order.
pub(crate) fn map_value<I, K>(pairs: I) -> Value
where
    I: IntoIterator<Item = (K, Value)>,
    K: Into<Value>,
{
    Value::from_iter(pairs.into_iter().map(|(k, v)| (k.into(), v)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(v: serde_json::Value, ty: VariableType) -> Result<serde_json::Value, String> {
        coerce(from_json(&v), ty).map(|v| to_json(&v))
    }

    #[test]
    fn strings_take_anything() {
        assert_eq!(c(json!(12), VariableType::String), Ok(json!("12")));
        assert_eq!(c(json!(true), VariableType::String), Ok(json!("true")));
        assert_eq!(
            c(json!({"a": 1}), VariableType::String),
            Ok(json!("{\"a\":1}"))
        );
        assert_eq!(c(json!(null), VariableType::String), Ok(json!("")));
    }

    #[test]
    fn integers() {
        assert_eq!(c(json!(" 42 "), VariableType::Integer), Ok(json!(42)));
        assert_eq!(c(json!(4.0), VariableType::Integer), Ok(json!(4)));
        assert!(c(json!(4.5), VariableType::Integer)
            .unwrap_err()
            .contains("INTEGER"));
        assert!(c(json!("abc"), VariableType::Integer)
            .unwrap_err()
            .contains("'abc'"));
        assert!(c(json!(true), VariableType::Integer).is_err());
    }

    #[test]
    fn decimals_and_booleans() {
        assert_eq!(c(json!("2.5"), VariableType::Decimal), Ok(json!(2.5)));
        assert_eq!(c(json!(3), VariableType::Decimal), Ok(json!(3.0)));
        assert_eq!(c(json!("TRUE"), VariableType::Boolean), Ok(json!(true)));
        assert_eq!(c(json!(0), VariableType::Boolean), Ok(json!(false)));
        assert!(c(json!("yes"), VariableType::Boolean).is_err());
    }

    #[test]
    fn datetimes_normalize_to_utc() {
        assert_eq!(
            c(json!("2026-01-15T10:12:00+01:00"), VariableType::Datetime),
            Ok(json!("2026-01-15T09:12:00Z"))
        );
        assert_eq!(
            c(json!(0), VariableType::Datetime),
            Ok(json!("1970-01-01T00:00:00Z"))
        );
        assert!(c(json!("tomorrow"), VariableType::Datetime).is_err());
    }

    #[test]
    fn json_parses_strings() {
        assert_eq!(
            c(json!("{\"a\":[1,2]}"), VariableType::Json),
            Ok(json!({"a": [1, 2]}))
        );
        assert_eq!(c(json!({"b": 1}), VariableType::Json), Ok(json!({"b": 1})));
        assert_eq!(c(json!("{oops"), VariableType::Json), Ok(json!("{oops")));
    }

    #[test]
    fn defaults() {
        assert_eq!(
            to_json(&default_value(VariableType::Integer, Some(&json!(""))).unwrap()),
            json!(0)
        );
        assert_eq!(
            to_json(&default_value(VariableType::Json, None).unwrap()),
            json!(null)
        );
        assert_eq!(
            to_json(&default_value(VariableType::Boolean, Some(&json!("true"))).unwrap()),
            json!(true)
        );
    }

    #[test]
    fn truthiness_and_canonical_forms() {
        assert!(truthy(&Value::from("True")));
        assert!(!truthy(&Value::from("yes")));
        assert!(truthy(&Value::from(2)));
        assert!(!truthy(&Value::from(0.0)));
        assert!(!truthy(&Value::from(())));
        assert_eq!(canonical(&Value::from(1.0)), "1");
        assert_eq!(canonical(&Value::from(1.5)), "1.5");
        assert_eq!(canonical_json(&json!(true)), "true");
        assert_eq!(text(&Value::from(())), "");
    }

    #[test]
    fn records_behave_like_maps() {
        let r = record([("b", Value::from(1)), ("a", Value::from("x"))]);
        assert_eq!(r.kind(), ValueKind::Map);
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"b":1,"a":"x"}"#);
        assert_eq!(r.get_attr("a").unwrap(), Value::from("x"));
        assert!(r.get_attr("zz").unwrap().is_undefined());
        let back: Value = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let o = outputs_record([("result", Value::from(true))], true);
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"result":true,"errorCode":"","errorMessage":""}"#
        );
        assert_eq!(o.get_attr("errorMessage").unwrap(), Value::from(""));
        assert_eq!(o.len(), Some(3));
        assert!(outputs_record([("a", Value::from(1))], false)
            .get_attr("errorCode")
            .unwrap()
            .is_undefined());
    }

    /// [`AsJson`] writes exactly what minijinja's own serialization writes, for every kind
    /// of value the engine makes, nested in each other.
    #[test]
    fn as_json_writes_what_minijinja_writes() {
        const KEYS: [&str; 16] = [
            "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12", "k13",
            "k14", "k15",
        ];
        let doc = json!({"b": {"c": [1, 2.5, "x\n\"q\"", null, true]}, "a": "y",
            "n": 18446744073709551615u64, "neg": -3, "e": {}, "l": []});
        let text = doc.to_string();
        let tree: crate::jsondoc::Tree<'_> = serde_json::from_str(&text).unwrap();
        let mut values = vec![
            Value::from("plain"),
            Value::from("é\u{1}\t"),
            Value::from(7),
            Value::from(-7i64),
            Value::from(u64::MAX),
            Value::from(i128::MIN),
            Value::from(1.5),
            Value::from(f64::NAN),
            Value::from(true),
            Value::from(()),
            Value::UNDEFINED,
            Value::from_safe_string("<b>".into()),
            from_json(&doc),
            json_view(doc.clone()),
            json_view(doc.clone()).get_attr("b").unwrap(),
            json_text(&text, &tree),
            json_text(
                "[1, {\"z\": 2}]",
                &serde_json::from_str("[1, {\"z\": 2}]").unwrap(),
            ),
            map_value([
                (Value::from(1), Value::from("int key")),
                (Value::from("k"), Value::from(2)),
            ]),
            Value::from(vec![Value::from(1), Value::from(())]),
            record([]),
            record([("a", Value::from(1))]),
            outputs_record([("a", Value::from(1)), ("b", json_view(doc.clone()))], true),
            outputs_record(
                std::array::from_fn::<_, 16, _>(|i| (KEYS[i], Value::from(i))),
                false,
            ),
        ];
        // The maps and lists minijinja makes are the types AsJson writes directly (if a new
        // minijinja changes them, AsJson still writes the same, only slower: this says so).
        let converted = from_json(&doc);
        let converted = converted.as_object().unwrap();
        assert!(converted
            .downcast_ref::<indexmap::IndexMap<Value, Value>>()
            .is_some());
        let list = from_json(&json!([1]));
        assert!(list
            .as_object()
            .unwrap()
            .downcast_ref::<Vec<Value>>()
            .is_some());
        // Nested: each value inside a record, a converted map and a list.
        let nested: Vec<Value> = values
            .iter()
            .flat_map(|v| {
                [
                    record([("v", v.clone()), ("w", Value::from(1))]),
                    map_value([("v", v.clone())]),
                    Value::from(vec![v.clone(), v.clone()]),
                ]
            })
            .collect();
        values.extend(nested);
        for v in &values {
            let ours = serde_json::to_string(&AsJson(v));
            let theirs = serde_json::to_string(v);
            assert_eq!(ours.is_ok(), theirs.is_ok(), "{v:?}");
            if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
                assert_eq!(ours, theirs, "{v:?}");
            }
            assert_eq!(
                serde_json::to_value(AsJson(v)).ok(),
                serde_json::to_value(v).ok(),
                "{v:?}"
            );
        }
    }

    #[test]
    fn json_views_behave_like_converted_json() {
        let doc =
            json!({"b": {"c": [1, 2.5, "x", null, true]}, "a": "y", "n": 18446744073709551615u64});
        let view = json_view(doc.clone());
        let converted = from_json(&doc);
        assert_eq!(view, converted);
        assert_eq!(to_json(&view), doc);
        assert_eq!(
            serde_json::to_string(&view).unwrap(),
            serde_json::to_string(&doc).unwrap()
        );
        assert_eq!(
            view.get_attr("b")
                .unwrap()
                .get_attr("c")
                .unwrap()
                .get_item_by_index(1)
                .unwrap(),
            Value::from(2.5)
        );
        assert_eq!(
            view.get_attr("b").unwrap().get_attr("c").unwrap().len(),
            Some(5)
        );
        assert!(view.get_attr("zz").unwrap().is_undefined());
        assert_eq!(text(&view), serde_json::to_string(&doc).unwrap());
        let e = crate::expr::env()
            .compile_expression("d.b.c[2] ~ d.a ~ (d.b.c | length)")
            .unwrap();
        assert_eq!(
            e.eval(minijinja::context! {d => view}).unwrap(),
            Value::from("xy5")
        );
    }

    #[test]
    fn map_values_keep_order() {
        let m = map_value([("b", Value::from(1)), ("a", Value::from(2))]);
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"b":1,"a":2}"#);
    }
}
