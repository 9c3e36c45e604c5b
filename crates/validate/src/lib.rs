//! The flow validator: rules over a parsed flow document, producing diagnostics.
//!
//! Validation never fails and never stops at the first problem: [`Validator::validate`]
//! returns every diagnostic, sorted in document order, each with a JSON Pointer into the
//! document as sent, a stable code, a message and a severity. Two modes mirror the API:
//! [`Mode::Lenient`] is `flows:validate`, [`Mode::Strict`] is `flows:import`.
//!
//! Constrained inputs (queues, audio files, ...) are checked through [`ChoiceResolver`], so
//! the same rules run offline (allowed values, an optional choices file) and in the server
//! (the org's configuration, prefetched into a [`StaticChoices`]).
//!
//! API boundary: only [`ValidFlow`] (private constructor) reaches the engine.

mod diagnostic;
mod doc;
mod order;
mod resolver;
mod rules;
mod schema;
mod suppress;
mod valid;

use catalog::Catalog;
use serde_json::Value;

pub use diagnostic::{Diagnostic, Report, Severity};
pub use doc::{Document, Scratch, ScratchPool};
pub use resolver::{ChoiceResolver, NoChoices, StaticChoices};
pub use suppress::Suppressions;
pub use valid::ValidFlow;

/// `Lenient` answers `flows:validate`; `Strict` answers `flows:import`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Lenient,
    Strict,
}

/// A validator bound to a catalog, with every activity's input schema compiled once.
pub struct Validator<'c> {
    catalog: &'c Catalog,
    schemas: rustc_hash::FxHashMap<String, schema::Schema>,
    /// Activity name -> branching port name -> the schema of the edge's branch value.
    branch_schemas: rustc_hash::FxHashMap<String, rustc_hash::FxHashMap<String, schema::Schema>>,
    templates: minijinja::Environment<'static>,
}

/// What an expression reads (sorted `root` / `root.attr` names), or its syntax error.
/// Reference-counted without atomics: an analysis never leaves the thread whose memo holds
/// it, and a validation clones one per template string.
pub(crate) type Analysis = std::rc::Rc<Result<Box<[String]>, String>>;

type Memo = std::collections::HashMap<String, Analysis, foldhash::fast::RandomState>;

thread_local! {
    /// Expression text -> the names it reads (or its syntax error). Expressions repeat
    /// across nodes and across validations of the same flow; analysing one is the most
    /// expensive thing the validator does, and the answer depends on the text alone (not on
    /// the catalog), so one memo per thread serves every validator, with no lock and no
    /// atomic reference counts (a mutex and an `Arc` per template string were a measurable
    /// part of a validation). foldhash: seeded per process (the texts come from clients),
    /// and cheap on short keys.
    static EXPRESSIONS: std::cell::RefCell<Memo> = std::cell::RefCell::default();
}

/// Bound of each thread's expression memo; it is cleared when full.
const EXPRESSION_MEMO: usize = 8192;

/// Per-call settings.
pub struct Options<'a> {
    pub mode: Mode,
    pub resolver: &'a dyn ChoiceResolver,
    pub suppressions: &'a Suppressions,
}

impl Default for Options<'_> {
    fn default() -> Self {
        static NONE: Suppressions = Suppressions::empty();
        Options {
            mode: Mode::Lenient,
            resolver: &NoChoices,
            suppressions: &NONE,
        }
    }
}

impl<'c> Validator<'c> {
    pub fn new(catalog: &'c Catalog) -> Self {
        let mut schemas = rustc_hash::FxHashMap::default();
        let mut branch_schemas = rustc_hash::FxHashMap::default();
        for a in catalog.activities() {
            // The catalog's own tests guarantee schemas compile; a broken override directory
            // simply loses input checking for that activity instead of failing validation.
            if let Some(v) = schema::Schema::new(&a.input_schema) {
                schemas.insert(a.activity_name.clone(), v);
            }
            for p in &a.output_ports {
                if let Some(b) = &p.branching {
                    if let Some(v) = schema::Schema::new(&b.schema) {
                        branch_schemas
                            .entry(a.activity_name.clone())
                            .or_insert_with(rustc_hash::FxHashMap::default)
                            .insert(p.name.clone(), v);
                    }
                }
            }
        }
        let mut templates = minijinja::Environment::new();
        templates.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
        Validator {
            catalog,
            schemas,
            branch_schemas,
            templates,
        }
    }

    pub fn catalog(&self) -> &'c Catalog {
        self.catalog
    }

    /// The sorted names an expression reads (`root` or `root.attr`), or its syntax error.
    pub(crate) fn analyze(&self, expr: &str) -> Analysis {
        let hit = EXPRESSIONS.with(|memo| memo.borrow().get(expr).cloned());
        if let Some(hit) = hit {
            return hit;
        }
        let result = std::rc::Rc::new(match self.templates.template_from_str(expr) {
            Ok(t) => {
                let mut refs: Vec<String> = t.undeclared_variables(true).into_iter().collect();
                refs.sort();
                Ok(refs.into_boxed_slice())
            }
            Err(e) => Err(e.detail().unwrap_or("syntax error").to_string()),
        });
        EXPRESSIONS.with(|memo| {
            let mut memo = memo.borrow_mut();
            if memo.len() >= EXPRESSION_MEMO {
                memo.clear();
            }
            memo.insert(expr.to_string(), result.clone());
        });
        result
    }

    /// Validate raw bytes: the whole of `flows:validate` (and of `flows:import` before it
    /// stores), without building the owned model. `Err` only when the bytes are not a JSON
    /// object at all (not JSON, not an object, nested deeper than serde_json parses).
    pub fn validate_bytes(
        &self,
        bytes: &[u8],
        opts: &Options<'_>,
    ) -> Result<Report, flow::ParseError> {
        doc::with_scratch(|scratch| self.check(&Document::parse(bytes, scratch)?, opts))
    }

    /// Validate a parsed [`Document`] (callers that look at it first, to prefetch the
    /// choices its inputs use, say). `Err` when a node or edge nests deeper than serde_json
    /// parses (the rest of the document was checked by [`Document::parse`]).
    pub fn check(
        &self,
        doc: &Document<'_>,
        opts: &Options<'_>,
    ) -> Result<Report, flow::ParseError> {
        let mut node_rules = rules::NodeRules::new(self, opts);
        let view = doc::View::new(doc.root(), self.catalog, &mut node_rules);
        if view.too_deep {
            return Err(doc::depth_error(doc.bytes()));
        }
        let shape = if view.bad_shape {
            doc.shape_errors()
        } else {
            Vec::new()
        };
        let graphs = [
            doc::Graph::new(&view.procs[0]),
            doc::Graph::new(&view.procs[1]),
        ];
        let mut cx = rules::Ctx::new(self, &view, &graphs, opts);
        for s in shape {
            cx.push(Diagnostic::error(&s.pointer, s.code, s.message));
        }
        rules::run_all(&mut cx, node_rules);
        let mut diags = cx.finish();
        if !diags.is_empty() {
            let may_allow =
                memchr::memmem::find(doc.bytes(), suppress::ALLOW_KEY.as_bytes()).is_some();
            opts.suppressions
                .apply(&view, doc.root(), may_allow, &mut diags);
            order::sort_in_document_order(doc.root(), &view, &mut diags);
        }
        Ok(Report::new(diags))
    }

    /// Validate raw bytes and parse them into the typed model too (for callers that keep
    /// the flow).
    pub fn validate_slice(
        &self,
        bytes: &[u8],
        opts: &Options<'_>,
    ) -> Result<(flow::Flow, Report), flow::ParseError> {
        let report = self.validate_bytes(bytes, opts)?;
        Ok((flow::parse_bytes(bytes)?.flow, report))
    }

    /// Validate a JSON value. A value that is not an object yields one diagnostic.
    pub fn validate_value(
        &self,
        value: &Value,
        opts: &Options<'_>,
    ) -> (Option<flow::Flow>, Report) {
        let not_a_document = |e: flow::ParseError| {
            Report::new(vec![Diagnostic::error(
                "",
                "INVALID_DOCUMENT",
                e.to_string(),
            )])
        };
        // Writing the value out is cheap beside validating it, and keeps one path.
        let bytes = serde_json::to_vec(value).unwrap_or_default();
        match (self.validate_bytes(&bytes, opts), flow::parse(value)) {
            (Ok(report), Ok((parsed, _))) => (Some(parsed), report),
            (Err(e), _) | (_, Err(e)) => (None, not_a_document(e)),
        }
    }

    /// Validate in strict mode and, when there is no error, hand out a [`ValidFlow`].
    pub fn validate_for_engine(
        &self,
        value: &Value,
        opts: &Options<'_>,
    ) -> Result<ValidFlow, Report> {
        let opts = Options {
            mode: Mode::Strict,
            resolver: opts.resolver,
            suppressions: opts.suppressions,
        };
        match self.validate_value(value, &opts) {
            (Some(f), report) if report.is_valid() => Ok(ValidFlow::new(f, report)),
            (_, report) => Err(report),
        }
    }
}
