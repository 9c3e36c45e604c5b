//! What activities compile with: [`CompileCx`] reads a node's inputs (its properties, or the
//! catalog's default), compiles templated ones into [`Input`]s, and resolves variable
//! targets; [`NodeNs`] binds the names expressions read.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use catalog::ActivityDef;
use flow::VariableType;
use serde_json::Value as Json;

use crate::expr::{Binding, Expr, Namespace};
use crate::jsonpath::JsonPath;
use crate::program::{Exits, FlowRef, VarDef};

/// Name resolution for one node's expressions.
pub(crate) struct NodeNs<'a> {
    pub vars: &'a [VarDef],
    /// Node names of the node's own process, then of the other process.
    pub own: &'a HashMap<&'a str, u32>,
    pub other: &'a HashMap<&'a str, u32>,
    pub start: Option<u32>,
    pub names: &'a [Arc<str>],
    /// Nodes whose outputs some expression reads.
    pub referenced: &'a RefCell<HashSet<Arc<str>>>,
}

impl Namespace for NodeNs<'_> {
    fn bind(&self, root: &str) -> (Binding, bool) {
        if let Some((slot, v)) = self.vars.iter().enumerate().find(|(_, v)| *v.name == *root) {
            return (
                Binding::Var {
                    slot: slot as u32,
                    name: v.name.clone(),
                },
                v.secure,
            );
        }
        if let Some(&i) = self.own.get(root).or_else(|| self.other.get(root)) {
            if Some(i) == self.start {
                return (Binding::Start, false);
            }
            let name = self.names[i as usize].clone();
            self.referenced.borrow_mut().insert(name.clone());
            return (Binding::Output(name), false);
        }
        match root {
            "now" => (Binding::Now, false),
            "global" => (Binding::Globals, false),
            other => (Binding::Global(Arc::from(other)), false),
        }
    }
}

/// A node input with its expressions compiled: a value built at run time.
#[derive(Debug)]
pub(crate) enum Input {
    Expr(Expr),
    List(Vec<Input>),
    Map(Vec<(Arc<str>, Input)>),
}

impl Input {
    pub(crate) fn is_secure(&self, secure_globals: &[String]) -> bool {
        match self {
            Input::Expr(e) => e.is_secure(secure_globals),
            Input::List(l) => l.iter().any(|i| i.is_secure(secure_globals)),
            Input::Map(m) => m.iter().any(|(_, i)| i.is_secure(secure_globals)),
        }
    }
}

/// Where a value is assigned: a flow variable, or a global variable.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Var {
        slot: u32,
        name: Arc<str>,
        ty: VariableType,
        secure: bool,
    },
    Global(Arc<str>),
}

/// One `parseSettings` entry: a JSON path and the variable it fills.
#[derive(Debug)]
pub(crate) struct ParseSetting {
    pub target: Target,
    /// `Err`: a malformed path, reported when the node runs (INVALID_PATH).
    pub path: Result<JsonPath, String>,
}

/// Compile-time access to one node.
pub(crate) struct CompileCx<'a> {
    pub node: &'a flow::Node,
    pub def: &'a ActivityDef,
    ns: &'a NodeNs<'a>,
    pub exits: &'a Exits,
    /// Expressions compiled for this node.
    pub expressions: usize,
    /// The flow this node calls or jumps to, when it is literal.
    pub flow_ref: Option<FlowRef>,
    /// The node assigns a secure variable: its outputs may hold the secret.
    pub assigns_secure: std::cell::Cell<bool>,
}

impl<'a> CompileCx<'a> {
    pub(crate) fn new(
        node: &'a flow::Node,
        def: &'a ActivityDef,
        ns: &'a NodeNs<'a>,
        exits: &'a Exits,
    ) -> Self {
        CompileCx {
            node,
            def,
            ns,
            exits,
            expressions: 0,
            flow_ref: None,
            assigns_secure: std::cell::Cell::new(false),
        }
    }

    /// The input's value: the node's property, else the catalog's default.
    pub(crate) fn raw(&self, input: &str) -> Option<&'a Json> {
        let def: &'a ActivityDef = self.def;
        match self.node.inputs().and_then(|p| p.get(input)) {
            Some(Json::Null) | None => def.input_default(input),
            Some(v) => Some(v),
        }
    }

    fn compile_str(&mut self, s: &str) -> Result<Expr, String> {
        let e = Expr::compile(s, self.ns)
            .map_err(|e| format!("expression '{s}' does not compile: {e}"))?;
        if !e.is_literal() {
            self.expressions += 1;
        }
        Ok(e)
    }

    /// A scalar input as an expression (strings compile; numbers and booleans are literal).
    pub(crate) fn expr(&mut self, input: &str) -> Result<Option<Expr>, String> {
        match self.raw(input) {
            None => Ok(None),
            Some(Json::String(s)) => self.compile_str(s).map(Some),
            Some(v @ (Json::Number(_) | Json::Bool(_))) => {
                Ok(Some(Expr::literal(crate::value::from_json(v))))
            }
            Some(_) => Err(format!(
                "input '{input}' must be a string, number or boolean"
            )),
        }
    }

    /// A required scalar input.
    pub(crate) fn expr_req(&mut self, input: &str) -> Result<Expr, String> {
        self.expr(input)?
            .ok_or_else(|| format!("input '{input}' is required"))
    }

    /// Any input, with the strings inside it compiled.
    pub(crate) fn input(&mut self, input: &str) -> Result<Option<Input>, String> {
        match self.raw(input) {
            None => Ok(None),
            Some(v) => self.tree(v).map(Some),
        }
    }

    pub(crate) fn tree(&mut self, v: &Json) -> Result<Input, String> {
        Ok(match v {
            Json::String(s) => Input::Expr(self.compile_str(s)?),
            Json::Array(items) => Input::List(
                items
                    .iter()
                    .map(|i| self.tree(i))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(m) => Input::Map(
                m.iter()
                    .map(|(k, v)| Ok((Arc::from(k.as_str()), self.tree(v)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => Input::Expr(Expr::literal(crate::value::from_json(other))),
        })
    }

    /// A literal integer input.
    pub(crate) fn int(&self, input: &str) -> Result<Option<i64>, String> {
        match self.raw(input) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("input '{input}' must be an integer, not {v}")),
        }
    }

    /// A literal boolean input.
    pub(crate) fn bool(&self, input: &str) -> Result<Option<bool>, String> {
        match self.raw(input) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| format!("input '{input}' must be a boolean, not {v}")),
        }
    }

    /// A literal string input (not templated).
    pub(crate) fn string(&self, input: &str) -> Result<Option<String>, String> {
        match self.raw(input) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(format!("input '{input}' must be a string, not {v}")),
        }
    }

    /// The variable a name designates: a flow variable, or else a global variable.
    pub(crate) fn target(&self, name: &str) -> Target {
        match self
            .ns
            .vars
            .iter()
            .enumerate()
            .find(|(_, v)| *v.name == *name)
        {
            Some((slot, v)) => {
                self.assigns_secure
                    .set(self.assigns_secure.get() || v.secure);
                Target::Var {
                    slot: slot as u32,
                    name: v.name.clone(),
                    ty: v.ty,
                    secure: v.secure,
                }
            }
            None => Target::Global(Arc::from(name)),
        }
    }

    /// A `parseSettings` array (absent: none).
    pub(crate) fn parse_settings(&self, input: &str) -> Result<Vec<ParseSetting>, String> {
        let Some(v) = self.raw(input) else {
            return Ok(Vec::new());
        };
        let items = v
            .as_array()
            .ok_or_else(|| format!("input '{input}' must be an array"))?;
        items
            .iter()
            .map(|item| {
                let var = item
                    .get("outputVariable")
                    .and_then(Json::as_str)
                    .ok_or_else(|| format!("{input}: every entry needs outputVariable"))?;
                let path = item
                    .get("pathExpression")
                    .and_then(Json::as_str)
                    .ok_or_else(|| format!("{input}: every entry needs pathExpression"))?;
                Ok(ParseSetting {
                    target: self.target(var),
                    path: JsonPath::parse(path),
                })
            })
            .collect()
    }

    /// An object input of `name -> variable name` (output mappings).
    pub(crate) fn mapping(&self, input: &str) -> Result<Vec<(String, Target)>, String> {
        let Some(v) = self.raw(input) else {
            return Ok(Vec::new());
        };
        let m = v
            .as_object()
            .ok_or_else(|| format!("input '{input}' must be an object"))?;
        m.iter()
            .map(|(k, v)| {
                let var = v
                    .as_str()
                    .ok_or_else(|| format!("{input}.{k} must name a variable"))?;
                Ok((k.clone(), self.target(var)))
            })
            .collect()
    }
}
