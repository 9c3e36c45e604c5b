//! Expressions: `{{ }}` templates, compiled once per program version and evaluated per step.
//!
//! minijinja is the expression language. One process-wide [`Environment`] (Chainable
//! undefined behaviour, JSON-aware output, a few extra filters) compiles every expression, so
//! a compiled expression can live inside an immutable, shareable [`crate::Program`].
//!
//! A string input compiles to one of:
//! - a **literal**: no `{{` at all; never touches minijinja;
//! - a **path** (`{{ Customer.tier }}`, `{{ HTTP_1.httpStatusCode }}`): read directly from the
//!   task's data, with the compiled expression kept as the reference semantics for anything
//!   unusual on the way (a `null` mid-path, a non-map);
//! - a **single expression** (`{{ Amount > 100 and Tier == 'gold' }}`): evaluates to a typed
//!   value (a boolean, a number, a JSON object...), not to text;
//! - **text** with embedded expressions (`Hello {{ Name }}!`): a string, each `{{ }}` part
//!   compiled on its own;
//! - a **template** using `{% %}` or `{# #}` or whitespace control: rendered by minijinja's
//!   template engine (compiled per evaluation: rare in flows, correct, slower).
//!
//! Names an expression reads are resolved when the program is compiled ([`Binding`]): a flow
//! variable (by slot), a node's outputs (`{{Node.field}}`), the start node (the contact's
//! start data), `now` (the step's clock, RFC 3339), `global` (all global variables), or a
//! global variable by name (looked up at run time, since the caller supplies globals).
//! Evaluation hands minijinja an object holding only those names' values.

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use minijinja::value::{Object, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Expression, UndefinedBehavior, Value};

use crate::state::Vars;

/// What a root name in an expression refers to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Binding {
    /// A variable of the flow the expression belongs to.
    Var { slot: u32, name: Arc<str> },
    /// The outputs of a node of that flow.
    Output(Arc<str>),
    /// The start node: the contact's start data.
    Start,
    /// The step's clock.
    Now,
    /// Every global variable, as a map (`{{ global.Language }}`).
    Globals,
    /// A global variable by name (or nothing, when the caller gave none by that name).
    Global(Arc<str>),
}

/// Resolves root names while compiling (implemented by the program compiler).
pub(crate) trait Namespace {
    /// The binding of a root name, and whether it is a secure variable.
    fn bind(&self, root: &str) -> (Binding, bool);
}

/// The data an expression reads, borrowed from the task for one evaluation.
pub(crate) struct Data<'a> {
    pub vars: &'a Vars,
    pub outputs: &'a Vars,
    pub contact: &'a Value,
    pub globals: &'a Vars,
    pub now: DateTime<Utc>,
}

impl Data<'_> {
    fn get(&self, b: &Binding) -> Value {
        match b {
            Binding::Var { slot, name } => self.vars.get_slot(*slot, name).cloned().unwrap_or(Value::UNDEFINED),
            Binding::Output(name) => self.outputs.get(name).cloned().unwrap_or_else(empty_map),
            Binding::Start => self.contact.clone(),
            Binding::Now => Value::from(crate::value::format_datetime(self.now)),
            Binding::Globals => Value::from_iter(self.globals.iter().map(|(k, v)| (Value::from(&**k), v.clone()))),
            Binding::Global(name) => self.globals.get(name).cloned().unwrap_or(Value::UNDEFINED),
        }
    }
}

/// An empty map: the outputs of a node that has not run, so `{{Node.field}}` is empty
/// instead of an error.
fn empty_map() -> Value {
    Value::from_iter(std::iter::empty::<(Value, Value)>())
}

/// The process-wide expression environment.
pub(crate) fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // `{{ Customer.address.zip }}` on a customer without an address is empty, not an
        // error: flows are written against data that is often partial.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_formatter(|out, _state, value| {
            out.write_str(&crate::value::text(value)).map_err(Error::from)
        });
        env.add_filter("fromjson", fromjson);
        env.add_filter("jsonpath", jsonpath);
        env
    })
}

/// `{{ Body | fromjson }}`: parses JSON text.
fn fromjson(s: &str) -> Result<Value, Error> {
    serde_json::from_str::<Value>(s).map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("not valid JSON: {e}")))
}

/// `{{ Doc | jsonpath('$.items[0].sku') }}`: selects from a JSON value (or JSON text).
fn jsonpath(doc: Value, path: &str) -> Result<Value, Error> {
    let p = crate::jsonpath::JsonPath::parse(path).map_err(|e| Error::new(ErrorKind::InvalidOperation, e))?;
    let doc = match doc.as_str() {
        Some(s) if doc.kind() == ValueKind::String => fromjson(s)?,
        _ => doc,
    };
    Ok(p.select(&doc).unwrap_or(Value::UNDEFINED))
}

/// One step of a path expression.
#[derive(Debug)]
enum Step {
    Attr(Box<str>),
    Index(usize),
}

enum Part {
    Text(Box<str>),
    Expr(Expression<'static, 'static>),
}

enum Kind {
    Literal(Value),
    Path { steps: Box<[Step]>, expr: Expression<'static, 'static> },
    Single(Expression<'static, 'static>),
    Text(Box<[Part]>),
    Template,
}

/// A compiled expression (or literal).
pub(crate) struct Expr {
    source: Box<str>,
    kind: Kind,
    /// Root names read, and what they are bound to (same order).
    names: Arc<[Arc<str>]>,
    binds: Box<[Binding]>,
    /// Reads a secure flow variable.
    secure: bool,
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Expr").field(&self.source).finish()
    }
}

/// The names minijinja sees during one evaluation.
#[derive(Debug)]
struct Ctx {
    names: Arc<[Arc<str>]>,
    values: Vec<Value>,
}

impl Object for Ctx {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str()?;
        let i = self.names.iter().position(|n| **n == *k)?;
        Some(self.values[i].clone())
    }
}

const KEYWORDS: &[&str] = &["true", "false", "none", "True", "False", "None", "not", "and", "or", "in", "is", "if", "else", "loop"];

impl Expr {
    /// A constant.
    pub(crate) fn literal(v: Value) -> Expr {
        Expr {
            source: Box::from(""),
            kind: Kind::Literal(v),
            names: Arc::from(Vec::new()),
            binds: Box::from([]),
            secure: false,
        }
    }

    /// Compiles a string input. `Err` is minijinja's description of the syntax error.
    pub(crate) fn compile(src: &str, ns: &dyn Namespace) -> Result<Expr, String> {
        let has_expr = src.contains("{{");
        let has_block = src.contains("{%") || src.contains("{#");
        if !has_expr && !has_block {
            return Ok(Expr::literal(Value::from(src)));
        }
        let env = env();
        let mut roots: Vec<String> = Vec::new();
        let kind = match (!has_block && !src.contains("{{-") && !src.contains("-}}")).then(|| split(src)).flatten() {
            Some(parts) => {
                let single = parts.len() == 1 && matches!(parts[0], RawPart::Expr(_));
                let mut compiled = Vec::with_capacity(parts.len());
                for p in parts {
                    match p {
                        RawPart::Text(t) => compiled.push(Part::Text(Box::from(t))),
                        RawPart::Expr(e) => {
                            let x = env.compile_expression_owned(e.to_owned()).map_err(describe)?;
                            roots.extend(x.undeclared_variables(false));
                            compiled.push(Part::Expr(x));
                        }
                    }
                }
                if single {
                    let Some(Part::Expr(x)) = compiled.pop() else {
                        return Err("internal: lost the expression".to_owned());
                    };
                    let inner = &src[2..src.len() - 2];
                    match path(inner) {
                        Some(steps) => Kind::Path { steps, expr: x },
                        None => Kind::Single(x),
                    }
                } else {
                    Kind::Text(compiled.into_boxed_slice())
                }
            }
            None => {
                let t = env.template_from_str(src).map_err(describe)?;
                roots.extend(t.undeclared_variables(false));
                Kind::Template
            }
        };
        roots.sort();
        roots.dedup();
        let mut binds = Vec::with_capacity(roots.len());
        let mut secure = false;
        for r in &roots {
            let (b, s) = ns.bind(r);
            secure |= s;
            binds.push(b);
        }
        // A path's root must be the first name so evaluation can find it.
        if let Kind::Path { .. } = kind {
            debug_assert_eq!(roots.len(), 1);
        }
        Ok(Expr {
            source: Box::from(src),
            kind,
            names: roots.into_iter().map(Arc::from).collect::<Vec<_>>().into(),
            binds: binds.into_boxed_slice(),
            secure,
        })
    }

    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The text of a literal string.
    pub(crate) fn literal_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Literal(v) => v.as_str(),
            _ => None,
        }
    }

    pub(crate) fn is_literal(&self) -> bool {
        matches!(self.kind, Kind::Literal(_))
    }

    /// Whether the value may reveal a secure variable (a secure flow variable, or a global
    /// the caller marked secure).
    pub(crate) fn is_secure(&self, secure_globals: &[String]) -> bool {
        self.secure
            || (!secure_globals.is_empty()
                && self.binds.iter().any(|b| match b {
                    Binding::Global(n) => secure_globals.iter().any(|s| **s == **n),
                    Binding::Globals => true,
                    _ => false,
                }))
    }

    fn ctx(&self, d: &Data<'_>) -> Value {
        Value::from_object(Ctx {
            names: self.names.clone(),
            values: self.binds.iter().map(|b| d.get(b)).collect(),
        })
    }

    /// Evaluates: a typed value for a literal, path or single expression, a string for text
    /// and templates. `Err` is minijinja's description of the failure.
    pub(crate) fn eval(&self, d: &Data<'_>) -> Result<Value, String> {
        match &self.kind {
            Kind::Literal(v) => Ok(v.clone()),
            Kind::Path { steps, expr } => {
                let mut v = d.get(&self.binds[0]);
                for step in steps.iter() {
                    v = match (step, v.kind()) {
                        (Step::Attr(a), ValueKind::Map) => v.get_attr(a).map_err(describe)?,
                        (Step::Index(i), ValueKind::Seq) => v.get_item_by_index(*i).map_err(describe)?,
                        // Anything else (null, undefined, a string...): minijinja decides.
                        _ => return expr.eval(self.ctx(d)).map_err(describe),
                    };
                }
                Ok(v)
            }
            Kind::Single(e) => e.eval(self.ctx(d)).map_err(describe),
            Kind::Text(parts) => {
                let ctx = self.ctx(d);
                let mut out = String::with_capacity(self.source.len());
                for p in parts.iter() {
                    match p {
                        Part::Text(t) => out.push_str(t),
                        Part::Expr(e) => out.push_str(&crate::value::text(&e.eval(&ctx).map_err(describe)?)),
                    }
                }
                Ok(Value::from(out))
            }
            Kind::Template => env().render_str(&self.source, self.ctx(d)).map(Value::from).map_err(describe),
        }
    }
}

/// A minijinja error in one line: its detail, or its kind.
fn describe(e: Error) -> String {
    match e.detail() {
        Some(d) => format!("{} ({d})", e.kind()),
        None => e.kind().to_string(),
    }
}

enum RawPart<'a> {
    Text(&'a str),
    Expr(&'a str),
}

/// Splits `a {{ x }} b` into text and expression parts. `None` when a `{{` is not closed
/// (minijinja's template parser then reports the error).
fn split(src: &str) -> Option<Vec<RawPart<'_>>> {
    let mut parts = Vec::new();
    let mut rest = src;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(RawPart::Text(&rest[..open]));
        }
        let body = &rest[open + 2..];
        let close = closing(body)?;
        parts.push(RawPart::Expr(&body[..close]));
        rest = &body[close + 2..];
    }
    if !rest.is_empty() {
        parts.push(RawPart::Text(rest));
    }
    Some(parts)
}

/// The index of the `}}` closing an expression, skipping string literals.
fn closing(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(_) if c == b'\\' => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if c == b'}' && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

/// `Customer.address[0].zip` as steps after the root; `None` when the expression is more
/// than a path (or its root is a keyword).
fn path(inner: &str) -> Option<Box<[Step]>> {
    let s = inner.trim();
    let b = s.as_bytes();
    let ident_end = |from: usize| -> Option<usize> {
        let first = *b.get(from)?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        let mut j = from + 1;
        while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
            j += 1;
        }
        Some(j)
    };
    let root_end = ident_end(0)?;
    if KEYWORDS.contains(&&s[..root_end]) {
        return None;
    }
    let mut steps = Vec::new();
    let mut i = root_end;
    while i < b.len() {
        match b[i] {
            b'.' => {
                let end = ident_end(i + 1)?;
                steps.push(Step::Attr(Box::from(&s[i + 1..end])));
                i = end;
            }
            b'[' => {
                let close = s[i..].find(']')? + i;
                let n: usize = s[i + 1..close].parse().ok()?;
                steps.push(Step::Index(n));
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps.into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Binds `Secret` as a secure variable (slot 1), `Name`/`Count`/`Doc` as variables,
    /// `HTTP` as a node, `NewContact` as the start node; anything else is a global.
    struct Ns;
    impl Namespace for Ns {
        fn bind(&self, root: &str) -> (Binding, bool) {
            let var = |slot, name: &str| Binding::Var { slot, name: Arc::from(name) };
            match root {
                "Name" => (var(0, "Name"), false),
                "Secret" => (var(1, "Secret"), true),
                "Count" => (var(2, "Count"), false),
                "Doc" => (var(3, "Doc"), false),
                "HTTP" => (Binding::Output(Arc::from("HTTP")), false),
                "NewContact" => (Binding::Start, false),
                "now" => (Binding::Now, false),
                "global" => (Binding::Globals, false),
                other => (Binding::Global(Arc::from(other)), false),
            }
        }
    }

    fn vars() -> Vars {
        Vars::from_pairs([
            ("Name", Value::from("Ada")),
            ("Secret", Value::from("1234")),
            ("Count", Value::from(7)),
            ("Doc", crate::value::from_json(&json!({"items": [{"sku": "A"}], "n": null}))),
        ])
    }

    fn eval(src: &str) -> Result<serde_json::Value, String> {
        let vars = vars();
        let outputs = Vars::from_pairs([("HTTP", crate::value::from_json(&json!({"httpStatusCode": 200})))]);
        let globals = Vars::from_pairs([("Language", Value::from("en-US"))]);
        let contact = crate::value::from_json(&json!({"ANI": "+14155550100"}));
        let d = Data {
            vars: &vars,
            outputs: &outputs,
            contact: &contact,
            globals: &globals,
            now: DateTime::parse_from_rfc3339("2026-01-15T09:12:00Z").unwrap().with_timezone(&Utc),
        };
        let e = Expr::compile(src, &Ns)?;
        e.eval(&d).map(|v| crate::value::to_json(&v))
    }

    #[test]
    fn literals_paths_and_typed_results() {
        assert_eq!(eval("plain"), Ok(json!("plain")));
        assert_eq!(eval("{{ Count }}"), Ok(json!(7)));
        assert_eq!(eval("{{HTTP.httpStatusCode}}"), Ok(json!(200)));
        assert_eq!(eval("{{ NewContact.ANI }}"), Ok(json!("+14155550100")));
        assert_eq!(eval("{{ Doc.items[0].sku }}"), Ok(json!("A")));
        assert_eq!(eval("{{ Count > 5 and Name == 'Ada' }}"), Ok(json!(true)));
        assert_eq!(eval("{{ Doc }}"), Ok(json!({"items": [{"sku": "A"}], "n": null})));
    }

    #[test]
    fn text_and_templates_render_strings() {
        assert_eq!(eval("Hi {{ Name }}, {{ Count + 1 }} left"), Ok(json!("Hi Ada, 8 left")));
        assert_eq!(eval("{{ Doc.items }}!"), Ok(json!("[{\"sku\":\"A\"}]!")));
        assert_eq!(eval("{% if Count > 5 %}big{% else %}small{% endif %}"), Ok(json!("big")));
        assert_eq!(eval("x{{ Missing }}y"), Ok(json!("xy")));
        assert_eq!(eval("{{ '}}' }}"), Ok(json!("}}")));
    }

    #[test]
    fn paths_agree_with_minijinja_on_odd_data() {
        // Chainable: a missing member, a null mid-path and an unknown root are all empty.
        assert_eq!(eval("{{ Doc.missing.deeper }}"), Ok(json!(null)));
        assert_eq!(eval("{{ Doc.n.x }}"), Ok(json!(null)));
        assert_eq!(eval("{{ Nobody.x }}"), Ok(json!(null)));
        assert_eq!(eval("{{ Unrun.x }}"), Ok(json!(null)));
        assert_eq!(eval("{{ Doc.items[3] }}"), Ok(json!(null)));
    }

    #[test]
    fn names_now_globals_and_filters() {
        assert_eq!(eval("{{ now }}"), Ok(json!("2026-01-15T09:12:00Z")));
        assert_eq!(eval("{{ Language }}"), Ok(json!("en-US")));
        assert_eq!(eval("{{ global.Language }}"), Ok(json!("en-US")));
        assert_eq!(eval("{{ Name | upper }}"), Ok(json!("ADA")));
        assert_eq!(eval("{{ '{\"a\": 2}' | fromjson }}"), Ok(json!({"a": 2})));
        assert_eq!(eval("{{ Doc | jsonpath('$.items[0].sku') }}"), Ok(json!("A")));
        assert_eq!(eval("{{ Missing | default('x') }}"), Ok(json!("x")));
    }

    #[test]
    fn failures_are_errors() {
        assert!(eval("{{ Count + 'a' }}").is_err());
        assert!(eval("{{ Count() }}").is_err());
        assert!(eval("{{ Count | nosuchfilter }}").is_err());
        assert!(eval("{{ Count +").is_err());
    }

    #[test]
    fn secure_reads_are_flagged() {
        assert!(Expr::compile("pin {{ Secret }}", &Ns).unwrap().is_secure(&[]));
        assert!(!Expr::compile("{{ Name }}", &Ns).unwrap().is_secure(&[]));
        let g = Expr::compile("{{ Token }}", &Ns).unwrap();
        assert!(!g.is_secure(&[]));
        assert!(g.is_secure(&["Token".to_owned()]));
    }

    #[test]
    fn shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Expr>();
    }
}
