//! Expressions: `{{ }}` templates, compiled once per program version and evaluated per step.
//!
//! minijinja is the expression language. One process-wide [`Environment`] (Chainable
//! undefined behaviour, JSON-aware output, a few extra filters) compiles every expression, so
//! a compiled expression can live inside an immutable, shareable [`crate::Program`].
//!
//! A string input compiles to one of:
//! - a **literal**: no `{{` at all; never touches minijinja;
//! - a **single expression** (`{{ Amount > 100 and Tier == 'gold' }}`, `{{ HTTP_1.body }}`):
//!   evaluates to a typed value (a boolean, a number, a JSON object...), not to text;
//! - **text** with embedded expressions (`Hello {{ Name }}!`): a string, each `{{ }}` part
//!   compiled on its own;
//! - a **template** using `{% %}` or `{# #}` or whitespace control: rendered by minijinja's
//!   template engine (compiled per evaluation: rare in flows, correct, slower).
//!
//! Paths, comparisons, boolean logic and arithmetic are evaluated natively
//! ([`crate::fast`]), with minijinja's semantics and minijinja as the fallback; filters,
//! tests and the rest run in minijinja's VM.
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

use crate::fast::Fast;
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
            Binding::Var { slot, name } => self
                .vars
                .get_slot(*slot, name)
                .cloned()
                .unwrap_or(Value::UNDEFINED),
            Binding::Output(name) => self.outputs.get(name).cloned().unwrap_or_else(empty_map),
            Binding::Start => self.contact.clone(),
            Binding::Now => Value::from(crate::value::format_datetime(self.now)),
            Binding::Globals => Value::from_iter(
                self.globals
                    .iter()
                    .map(|(k, v)| (Value::from(&**k), v.clone())),
            ),
            Binding::Global(name) => self.globals.get(name).cloned().unwrap_or(Value::UNDEFINED),
        }
    }
}

/// An empty map: the outputs of a node that has not run, so `{{Node.field}}` is empty
/// instead of an error.
pub(crate) fn empty_map() -> Value {
    // One shared value: cloning it is a reference count, not an allocation.
    static EMPTY: OnceLock<Value> = OnceLock::new();
    EMPTY
        .get_or_init(|| Value::from_iter(std::iter::empty::<(Value, Value)>()))
        .clone()
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
            out.write_str(&crate::value::text(value))
                .map_err(Error::from)
        });
        env.add_filter("fromjson", fromjson);
        env.add_filter("jsonpath", jsonpath);
        env
    })
}

/// `{{ Body | fromjson }}`: parses JSON text.
fn fromjson(s: &str) -> Result<Value, Error> {
    serde_json::from_str::<Value>(s)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("not valid JSON: {e}")))
}

/// `{{ Doc | jsonpath('$.items[0].sku') }}`: selects from a JSON value (or JSON text).
fn jsonpath(doc: Value, path: &str) -> Result<Value, Error> {
    let p = crate::jsonpath::JsonPath::parse(path)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, e))?;
    let doc = match doc.as_str() {
        Some(s) if doc.kind() == ValueKind::String => fromjson(s)?,
        _ => doc,
    };
    Ok(p.select_value(&doc).unwrap_or(Value::UNDEFINED))
}

/// A compiled `{{ }}` part: natively evaluable or not; minijinja's compiled form is kept
/// either way, the reference for anything the native evaluator gives up on.
struct Compiled {
    fast: Option<Fast>,
    expr: Expression<'static, 'static>,
}

enum Part {
    Text(Box<str>),
    Expr(Compiled),
}

enum Kind {
    Literal(Value),
    Single(Compiled),
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
        let parts = (!has_block && !src.contains("{{-") && !src.contains("-}}"))
            .then(|| split(src))
            .flatten();
        let mut raw: Vec<(&str, Option<Expression<'static, 'static>>)> = Vec::new();
        match &parts {
            Some(parts) => {
                for p in parts {
                    match p {
                        RawPart::Text(t) => raw.push((t, None)),
                        RawPart::Expr(e) => {
                            let x = env
                                .compile_expression_owned((*e).to_owned())
                                .map_err(describe)?;
                            roots.extend(x.undeclared_variables(false));
                            raw.push((e, Some(x)));
                        }
                    }
                }
            }
            None => {
                let t = env.template_from_str(src).map_err(describe)?;
                roots.extend(t.undeclared_variables(false));
            }
        }
        roots.sort();
        roots.dedup();
        let names: Vec<Arc<str>> = roots.iter().map(|r| Arc::from(r.as_str())).collect();
        let kind = if parts.is_none() {
            Kind::Template
        } else {
            let single = raw.len() == 1 && raw[0].1.is_some();
            let mut compiled: Vec<Part> = raw
                .into_iter()
                .map(|(text, x)| match x {
                    Some(expr) => Part::Expr(Compiled {
                        fast: Fast::parse(text, &names),
                        expr,
                    }),
                    None => Part::Text(Box::from(text)),
                })
                .collect();
            match compiled.pop() {
                Some(Part::Expr(c)) if single => Kind::Single(c),
                Some(last) => {
                    compiled.push(last);
                    Kind::Text(compiled.into_boxed_slice())
                }
                None => Kind::Literal(Value::from(src)),
            }
        };
        let mut binds = Vec::with_capacity(roots.len());
        let mut secure = false;
        for r in &roots {
            let (b, s) = ns.bind(r);
            secure |= s;
            binds.push(b);
        }
        Ok(Expr {
            source: Box::from(src),
            kind,
            names: names.into(),
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

    fn eval_compiled(
        &self,
        c: &Compiled,
        d: &Data<'_>,
        ctx: &mut Option<Value>,
    ) -> Result<Value, String> {
        if let Some(v) = c
            .fast
            .as_ref()
            .and_then(|f| f.eval(&|i| d.get(&self.binds[i])))
        {
            return Ok(v);
        }
        let ctx = ctx.get_or_insert_with(|| self.ctx(d));
        c.expr.eval(&*ctx).map_err(describe)
    }

    /// Evaluates: a typed value for a literal or a single expression, a string for text and
    /// templates. `Err` is minijinja's description of the failure.
    pub(crate) fn eval(&self, d: &Data<'_>) -> Result<Value, String> {
        match &self.kind {
            Kind::Literal(v) => Ok(v.clone()),
            Kind::Single(c) => self.eval_compiled(c, d, &mut None),
            Kind::Text(parts) => {
                let mut ctx = None;
                let mut out = String::with_capacity(self.source.len());
                for p in parts.iter() {
                    match p {
                        Part::Text(t) => out.push_str(t),
                        Part::Expr(c) => {
                            out.push_str(&crate::value::text(&self.eval_compiled(c, d, &mut ctx)?))
                        }
                    }
                }
                Ok(Value::from(out))
            }
            Kind::Template => env()
                .render_str(&self.source, self.ctx(d))
                .map(Value::from)
                .map_err(describe),
        }
    }
}

/// Escapes a JSON Pointer reference token (RFC 6901).
pub(crate) fn pointer_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Binds `Secret` as a secure variable (slot 1), `Name`/`Count`/`Doc` as variables,
    /// `HTTP` as a node, `NewContact` as the start node; anything else is a global.
    struct Ns;
    impl Namespace for Ns {
        fn bind(&self, root: &str) -> (Binding, bool) {
            let var = |slot, name: &str| Binding::Var {
                slot,
                name: Arc::from(name),
            };
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
            (
                "Doc",
                crate::value::from_json(&json!({"items": [{"sku": "A"}], "n": null})),
            ),
        ])
    }

    fn eval(src: &str) -> Result<serde_json::Value, String> {
        let vars = vars();
        let outputs = Vars::from_pairs([(
            "HTTP",
            crate::value::from_json(&json!({"httpStatusCode": 200})),
        )]);
        let globals = Vars::from_pairs([("Language", Value::from("en-US"))]);
        let contact = crate::value::from_json(&json!({"ANI": "+14155550100"}));
        let d = Data {
            vars: &vars,
            outputs: &outputs,
            contact: &contact,
            globals: &globals,
            now: DateTime::parse_from_rfc3339("2026-01-15T09:12:00Z")
                .unwrap()
                .with_timezone(&Utc),
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
        assert_eq!(
            eval("{{ Doc }}"),
            Ok(json!({"items": [{"sku": "A"}], "n": null}))
        );
    }

    #[test]
    fn text_and_templates_render_strings() {
        assert_eq!(
            eval("Hi {{ Name }}, {{ Count + 1 }} left"),
            Ok(json!("Hi Ada, 8 left"))
        );
        assert_eq!(eval("{{ Doc.items }}!"), Ok(json!("[{\"sku\":\"A\"}]!")));
        assert_eq!(
            eval("{% if Count > 5 %}big{% else %}small{% endif %}"),
            Ok(json!("big"))
        );
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
        assert_eq!(
            eval("{{ Doc | jsonpath('$.items[0].sku') }}"),
            Ok(json!("A"))
        );
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
        assert!(Expr::compile("pin {{ Secret }}", &Ns)
            .unwrap()
            .is_secure(&[]));
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
