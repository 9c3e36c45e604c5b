//! A small JSONPath: what `parse`, `http-request` parse settings, function output mappings
//! and the `jsonpath` filter use to pick values out of a JSON document.
//!
//! Supported: `$` (optional: `customer.id` means `$.customer.id`), `.name`, `['name']` /
//! `["name"]`, `[3]`, `[-1]` (from the end), `*` / `[*]` (every member or item) and `..name`
//! (recursive descent). A path without `*` or `..` is *definite* and selects at most one
//! value; an indefinite path selects an array of every match. Filters (`[?()]`), slices and
//! unions are not supported and are reported as malformed, never silently mis-read.

use minijinja::value::ValueKind;
use minijinja::Value;

#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Child(String),
    Index(i64),
    Wildcard,
    Descend(String),
}

/// A parsed path, reusable across documents.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonPath {
    segs: Vec<Seg>,
    definite: bool,
}

impl JsonPath {
    /// Parses a path; `Err` explains what is malformed.
    pub fn parse(src: &str) -> Result<JsonPath, String> {
        let s = src.trim();
        if s.is_empty() {
            return Err("the path is empty".to_owned());
        }
        let chars: Vec<char> = s.chars().collect();
        let mut segs = Vec::new();
        let mut i;
        if chars[0] == '$' {
            i = 1;
        } else {
            // `customer.id`: an implicit root.
            let (name, next) = ident(&chars, 0)
                .ok_or_else(|| format!("'{src}' does not start with $ or a name"))?;
            segs.push(Seg::Child(name));
            i = next;
        }
        while i < chars.len() {
            match chars[i] {
                '.' if chars.get(i + 1) == Some(&'.') => {
                    if chars.get(i + 2) == Some(&'*') {
                        return Err(format!("'{src}': '..*' is not supported"));
                    }
                    let (name, next) = ident(&chars, i + 2).ok_or_else(|| {
                        format!("'{src}': expected a name after '..' at {}", i + 2)
                    })?;
                    segs.push(Seg::Descend(name));
                    i = next;
                }
                '.' => {
                    if chars.get(i + 1) == Some(&'*') {
                        segs.push(Seg::Wildcard);
                        i += 2;
                    } else {
                        let (name, next) = ident(&chars, i + 1).ok_or_else(|| {
                            format!("'{src}': expected a name after '.' at {}", i + 1)
                        })?;
                        segs.push(Seg::Child(name));
                        i = next;
                    }
                }
                '[' => {
                    let close = find_close(&chars, i + 1)
                        .ok_or_else(|| format!("'{src}': unclosed '[' at {i}"))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let inner = inner.trim();
                    if inner == "*" {
                        segs.push(Seg::Wildcard);
                    } else if let Some(q) = quoted(inner) {
                        segs.push(Seg::Child(q));
                    } else if let Ok(n) = inner.parse::<i64>() {
                        segs.push(Seg::Index(n));
                    } else {
                        return Err(format!("'{src}': unsupported selector [{inner}]"));
                    }
                    i = close + 1;
                }
                c => return Err(format!("'{src}': unexpected '{c}' at {i}")),
            }
        }
        let definite = segs
            .iter()
            .all(|s| matches!(s, Seg::Child(_) | Seg::Index(_)));
        Ok(JsonPath { segs, definite })
    }

    /// Whether the path selects at most one value.
    pub fn is_definite(&self) -> bool {
        self.definite
    }

    /// What the path selects in `doc`: one value for a definite path, every match for an
    /// indefinite one, `None` when nothing matches. Works on engine values and on borrowed
    /// `serde_json` values alike (the latter without copying the document).
    pub fn select<T: Doc>(&self, doc: T) -> Option<Selection<T>> {
        if self.definite {
            // One value at each step: no lists.
            let mut v = doc;
            for seg in &self.segs {
                v = match seg {
                    Seg::Child(name) => v.child(name)?,
                    Seg::Index(n) => v.index(*n)?,
                    Seg::Wildcard | Seg::Descend(_) => unreachable!("not in a definite path"),
                };
            }
            return Some(Selection::One(v));
        }
        let mut current = vec![doc];
        for seg in &self.segs {
            let mut next = Vec::new();
            for v in &current {
                match seg {
                    Seg::Child(name) => next.extend(v.child(name)),
                    Seg::Index(n) => next.extend(v.index(*n)),
                    Seg::Wildcard => next.extend(v.members()),
                    Seg::Descend(name) => descend(v, name, &mut next),
                }
            }
            current = next;
            if current.is_empty() {
                return None;
            }
        }
        if self.definite {
            current.into_iter().next().map(Selection::One)
        } else {
            Some(Selection::Many(current))
        }
    }

    /// [`JsonPath::select`] on an engine value, as an engine value (an array for an
    /// indefinite path).
    pub fn select_value(&self, doc: &Value) -> Option<Value> {
        self.select(doc.clone()).map(|s| match s {
            Selection::One(v) => v,
            Selection::Many(vs) => Value::from(vs),
        })
    }
}

/// What a path selected.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection<T> {
    One(T),
    Many(Vec<T>),
}

/// A JSON-like document a path can walk (cheap to clone: a shared value or a reference).
pub trait Doc: Clone {
    /// The member `name` of an object.
    fn child(&self, name: &str) -> Option<Self>;
    /// Item `i` of an array (negative: from the end).
    fn index(&self, i: i64) -> Option<Self>;
    /// The items of an array or the values of an object.
    fn members(&self) -> Vec<Self>;
}

pub(crate) fn resolve_index(n: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let i = if n < 0 { len + n } else { n };
    (0..len).contains(&i).then_some(i as usize)
}

impl Doc for Value {
    fn child(&self, name: &str) -> Option<Value> {
        if self.kind() != ValueKind::Map {
            return None;
        }
        self.get_attr(name).ok().filter(|x| !x.is_undefined())
    }

    fn index(&self, n: i64) -> Option<Value> {
        if self.kind() != ValueKind::Seq {
            return None;
        }
        let i = resolve_index(n, self.len()?)?;
        self.get_item_by_index(i).ok().filter(|x| !x.is_undefined())
    }

    fn members(&self) -> Vec<Value> {
        match self.kind() {
            ValueKind::Seq => self.try_iter().map(|it| it.collect()).unwrap_or_default(),
            ValueKind::Map => self
                .try_iter()
                .map(|keys| keys.filter_map(|k| self.get_item(&k).ok()).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

impl<'a> Doc for &'a serde_json::Value {
    fn child(&self, name: &str) -> Option<&'a serde_json::Value> {
        self.as_object()?.get(name)
    }

    fn index(&self, n: i64) -> Option<&'a serde_json::Value> {
        let a = self.as_array()?;
        a.get(resolve_index(n, a.len())?)
    }

    fn members(&self) -> Vec<&'a serde_json::Value> {
        match self {
            serde_json::Value::Array(a) => a.iter().collect(),
            serde_json::Value::Object(o) => o.values().collect(),
            _ => Vec::new(),
        }
    }
}

fn ident(chars: &[char], at: usize) -> Option<(String, usize)> {
    let mut end = at;
    while end < chars.len()
        && (chars[end].is_alphanumeric() || matches!(chars[end], '_' | '-' | '$' | '@'))
    {
        end += 1;
    }
    (end > at).then(|| (chars[at..end].iter().collect(), end))
}

fn find_close(chars: &[char], from: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (j, &c) in chars.iter().enumerate().skip(from) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == ']' => return Some(j),
            None => {}
        }
    }
    None
}

fn quoted(s: &str) -> Option<String> {
    let first = s.chars().next()?;
    if (first == '\'' || first == '"') && s.len() >= 2 && s.ends_with(first) {
        Some(s[1..s.len() - 1].to_owned())
    } else {
        None
    }
}

fn descend<T: Doc>(v: &T, name: &str, out: &mut Vec<T>) {
    if let Some(x) = v.child(name) {
        out.push(x);
    }
    for m in v.members() {
        descend(&m, name, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Selects on both document kinds and checks they agree.
    fn sel(path: &str, doc: serde_json::Value) -> Option<serde_json::Value> {
        let p = JsonPath::parse(path).unwrap();
        let engine = p
            .select_value(&crate::value::from_json(&doc))
            .map(|v| crate::value::to_json(&v));
        let plain = p.select(&doc).map(|s| match s {
            Selection::One(v) => v.clone(),
            Selection::Many(vs) => serde_json::Value::Array(vs.into_iter().cloned().collect()),
        });
        assert_eq!(engine, plain, "{path}");
        engine
    }

    #[test]
    fn definite_paths() {
        let doc = json!({"customer": {"id": "C1", "tags": ["a", "b"]}, "odd key": 1});
        assert_eq!(sel("$.customer.id", doc.clone()), Some(json!("C1")));
        assert_eq!(sel("customer.id", doc.clone()), Some(json!("C1")));
        assert_eq!(sel("$.customer.tags[1]", doc.clone()), Some(json!("b")));
        assert_eq!(sel("$.customer.tags[-1]", doc.clone()), Some(json!("b")));
        assert_eq!(sel("$['odd key']", doc.clone()), Some(json!(1)));
        assert_eq!(sel("$", doc.clone()), Some(doc.clone()));
        assert_eq!(sel("$.customer.missing", doc.clone()), None);
        assert_eq!(sel("$.customer.tags[5]", doc), None);
    }

    #[test]
    fn indefinite_paths_select_arrays() {
        let doc = json!({"items": [{"sku": "A"}, {"sku": "B"}, {"x": 1}]});
        assert_eq!(sel("$.items[*].sku", doc.clone()), Some(json!(["A", "B"])));
        assert_eq!(sel("$..sku", doc.clone()), Some(json!(["A", "B"])));
        assert_eq!(sel("$.items.*.x", doc.clone()), Some(json!([1])));
        assert_eq!(sel("$..nothing", doc), None);
    }

    #[test]
    fn malformed_paths_are_errors() {
        for bad in ["", "$.a[", "$.a[?(@.x)]", "$.a[1:2]", "$..*", "$a", "#"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
        assert!(JsonPath::parse("$.a.b").unwrap().is_definite());
        assert!(!JsonPath::parse("$.a[*]").unwrap().is_definite());
    }
}
