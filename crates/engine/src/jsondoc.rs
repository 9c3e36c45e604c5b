//! A JSON document parsed for one look: `parse` and `http-request` parse text, pick a few
//! values out of it by JSON path and drop the rest. [`Tree`] borrows its keys and strings
//! from the text (only strings with escapes are copied) and keeps objects as vectors of
//! members, so parsing costs one allocation per object or array: no key strings, no hash
//! tables. `serde_json` still does the parsing, so what is and is not JSON is its rule.
//!
//! An object with a repeated key reads as `serde_json::Value` does: the key's last value,
//! at its first position.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::jsonpath::Doc;
use crate::value::Value;

/// A parsed JSON value borrowing from its text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tree<'a> {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(Cow<'a, str>),
    Arr(Vec<Tree<'a>>),
    Obj(Vec<(Cow<'a, str>, Tree<'a>)>),
}

impl<'a> Tree<'a> {
    /// Parses `text`; `Err` is serde_json's message (with line and column).
    pub(crate) fn parse(text: &'a str) -> Result<Tree<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The value as an engine value (objects in key order).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Tree::Null => Value::from(()),
            Tree::Bool(b) => Value::from(*b),
            Tree::I64(i) => Value::from(*i),
            Tree::U64(u) => Value::from(*u),
            Tree::F64(f) => Value::from(*f),
            Tree::Str(s) => Value::from(&**s),
            Tree::Arr(items) => Value::from(items.iter().map(Tree::to_value).collect::<Vec<_>>()),
            // A map built in order keeps a repeated key at its first position with its
            // last value, as serde_json's map does.
            Tree::Obj(members) => Value::from_iter(
                members
                    .iter()
                    .map(|(k, v)| (Value::from(&**k), v.to_value())),
            ),
        }
    }
}

impl<'t, 'a> Doc for &'t Tree<'a> {
    fn child(&self, name: &str) -> Option<&'t Tree<'a>> {
        match self {
            Tree::Obj(members) => members
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn index(&self, n: i64) -> Option<&'t Tree<'a>> {
        match self {
            Tree::Arr(items) => items.get(crate::jsonpath::resolve_index(n, items.len())?),
            _ => None,
        }
    }

    fn members(&self) -> Vec<&'t Tree<'a>> {
        match self {
            Tree::Arr(items) => items.iter().collect(),
            Tree::Obj(members) => distinct_members(members),
            _ => Vec::new(),
        }
    }
}

/// An object's values with a repeated key counted once (its last value, at its first
/// position).
fn distinct_members<'t, 'a>(members: &'t [(Cow<'a, str>, Tree<'a>)]) -> Vec<&'t Tree<'a>> {
    let mut last: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::with_capacity(members.len());
    for (i, (k, _)) in members.iter().enumerate() {
        last.insert(k, i);
    }
    if last.len() == members.len() {
        return members.iter().map(|(_, v)| v).collect();
    }
    let mut seen = std::collections::HashSet::with_capacity(last.len());
    members
        .iter()
        .filter(|(k, _)| seen.insert(&**k))
        .map(|(k, _)| &members[last[&**k]].1)
        .collect()
}

impl crate::run::ToValue for &Tree<'_> {
    fn to_value(self) -> Value {
        Tree::to_value(self)
    }
}

impl<'de> Deserialize<'de> for Tree<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Tree<'de>, D::Error> {
        d.deserialize_any(TreeVisitor)
    }
}

/// A string that borrows from the text when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Tree<'de>, E> {
        Ok(Tree::Null)
    }
    fn visit_none<E>(self) -> Result<Tree<'de>, E> {
        Ok(Tree::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Tree<'de>, E> {
        Ok(Tree::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Tree<'de>, E> {
        Ok(Tree::I64(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Tree<'de>, E> {
        // Integers that fit are i64, as serde_json's own values convert.
        Ok(i64::try_from(u).map_or(Tree::U64(u), Tree::I64))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Tree<'de>, E> {
        Ok(Tree::F64(f))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Tree<'de>, E> {
        Ok(Tree::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Tree<'de>, E> {
        Ok(Tree::Str(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Tree<'de>, E> {
        Ok(Tree::Str(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Tree::Arr(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(Text(key)) = map.next_key()? {
            members.push((key, map.next_value()?));
        }
        Ok(Tree::Obj(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonpath::{JsonPath, Selection};
    use serde_json::json;

    /// Parses with both and checks the engine values agree.
    fn same(text: &str) {
        let tree = Tree::parse(text).unwrap();
        let plain: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(tree.to_value(), crate::value::from_json(&plain), "{text}");
        assert_eq!(crate::value::to_json(&tree.to_value()), plain, "{text}");
    }

    #[test]
    fn reads_as_serde_json_values_do() {
        same(r#"{"customer": {"id": "C-7", "name": "Ada"}, "open": true, "n": null}"#);
        same(r#"[1, -2, 2.5, 18446744073709551615, "x\"y\u00e9", [], {}]"#);
        same(r#"{"b": 1, "a": 2, "b": 3}"#);
        same(r#""just text""#);
        same("12");
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let Tree::Obj(m) = Tree::parse(r#"{"k": "plain", "e": "a\nb"}"#).unwrap() else {
            panic!("not an object")
        };
        assert!(matches!(m[0].0, Cow::Borrowed("k")));
        assert!(matches!(m[0].1, Tree::Str(Cow::Borrowed("plain"))));
        assert_eq!(m[1].1, Tree::Str(Cow::Owned("a\nb".to_owned())));
    }

    #[test]
    fn malformed_text_is_an_error() {
        for bad in ["", "{oops", "[1,]", "{\"a\" 1}", "1 2", "\"\\x\""] {
            assert!(Tree::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paths_select_what_they_select_in_serde_json_values() {
        let text = r#"{"items": [{"sku": "A", "q": 1}, {"sku": "B"}, {"x": {"sku": "C"}}],
                       "dup": 1, "k": {"dup": 2}, "dup": 3}"#;
        let tree = Tree::parse(text).unwrap();
        let plain: serde_json::Value = serde_json::from_str(text).unwrap();
        for path in [
            "$.items[0].sku",
            "$.items[-1].x.sku",
            "$.items[*].sku",
            "$..sku",
            "$.dup",
            "$..dup",
            "$.*",
            "$.items[9]",
            "$.nothing",
            "$",
        ] {
            let p = JsonPath::parse(path).unwrap();
            let a = p.select(&tree).map(|s| match s {
                Selection::One(v) => v.to_value(),
                Selection::Many(vs) => {
                    Value::from(vs.iter().map(|v| v.to_value()).collect::<Vec<_>>())
                }
            });
            let b = p.select(&plain).map(|s| match s {
                Selection::One(v) => crate::value::from_json(v),
                Selection::Many(vs) => Value::from(
                    vs.iter()
                        .map(|v| crate::value::from_json(v))
                        .collect::<Vec<_>>(),
                ),
            });
            assert_eq!(a, b, "{path}");
        }
        assert_eq!(
            crate::value::to_json(
                &JsonPath::parse("$..dup")
                    .unwrap()
                    .select_value(&tree.to_value())
                    .unwrap()
            ),
            json!([3, 2])
        );
    }
}
