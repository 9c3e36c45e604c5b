//! switchboard-catalog: the activities a flow node can run and the events a flow can be
//! bound to, as data.
//!
//! The catalog is the contract between flow authors, the validator and the engine: which
//! `activityName`s exist, in which group, with which inputs (a JSON Schema per activity),
//! output ports and outputs, and which event specifications a start node or an event flow
//! can name. It lives in `catalog/*.json` at the workspace root, compiled into the binary,
//! and a deployment can replace or extend it with a directory of files in the same format.
//!
//! Architecture invariant: this crate is pure. It does no I/O: callers hand it
//! `(file name, contents)` pairs ([`Catalog::from_sources`]). It knows nothing of flows'
//! storage, HTTP or the async runtime.
//!
//! Engine rule the ports encode: an activity completes with an outcome port; the edge whose
//! `condition` is that port is followed, and if there is none, the edge on `default`. So every
//! start, action and event activity has a `default` port, and end activities have no port.

// Fx: names are looked up for every node of every validation; no untrusted key chooses
// the table layout (the catalog is ours).
use rustc_hash::FxHashMap as HashMap;
use std::sync::OnceLock;

use serde::ser::SerializeStruct;
use serde::Serialize;

mod builtin;
mod check;
mod error;
mod load;
mod model;
mod reference;

pub use check::InputViolation;
pub use error::{CatalogError, Problem, ProblemKind};
pub use model::{
    escape_pointer_token, ActivityDef, Branching, ChoicesKind, EventBinding, EventSpec, Group,
    InputDef, OutputDef, PortDef, CONTACT_TYPES, DEFAULT_PORT, OUTPUT_TYPES, OUT_PORT,
};

/// A loaded, checked catalog: activities and event specifications with name indexes and
/// compiled schemas.
pub struct Catalog {
    activities: Vec<ActivityDef>,
    events: Vec<EventSpec>,
    activity_index: HashMap<String, usize>,
    event_index: HashMap<String, usize>,
    /// `compiled[i]` holds the schemas of `activities[i]`.
    compiled: Vec<check::CompiledActivity>,
}

impl Catalog {
    /// The catalog compiled into the binary (`catalog/*.json`), parsed once.
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(
            || match Catalog::from_sources(builtin::SOURCES.iter().copied()) {
                Ok(catalog) => catalog,
                // The builtin files are part of the source tree and the crate's tests load them.
                Err(e) => panic!("the builtin catalog is invalid: {e}"),
            },
        )
    }

    /// The builtin catalog's files, as `(file name, contents)`, in load order.
    pub fn builtin_sources() -> &'static [(&'static str, &'static str)] {
        builtin::SOURCES
    }

    /// Parses a catalog from `(file name, contents)` pairs, e.g. the `*.json` files of a
    /// `--catalog` directory (the caller chooses their order: sorted by name is
    /// reproducible). Files are loaded in the order given and entries in array order, which
    /// is the order of [`Catalog::activities`] and [`Catalog::events`]. Reports every
    /// problem of every file, never only the first.
    pub fn from_sources<I, N, C>(sources: I) -> Result<Catalog, CatalogError>
    where
        I: IntoIterator<Item = (N, C)>,
        N: AsRef<str>,
        C: AsRef<str>,
    {
        let loaded = load::load(sources)?;
        let activity_index = loaded
            .activities
            .iter()
            .enumerate()
            .map(|(i, a)| (a.activity_name.clone(), i))
            .collect();
        let event_index = loaded
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.clone(), i))
            .collect();
        Ok(Catalog {
            activities: loaded.activities,
            events: loaded.events,
            activity_index,
            event_index,
            compiled: loaded.compiled,
        })
    }

    /// The builtin files overridden by `sources`: a source with the name of a builtin file
    /// (`core.json`) replaces it, any other is added after the builtin files. An activity or
    /// event defined both in a kept builtin file and in an added file is a duplicate.
    pub fn builtin_with_overrides<I, N, C>(sources: I) -> Result<Catalog, CatalogError>
    where
        I: IntoIterator<Item = (N, C)>,
        N: AsRef<str>,
        C: AsRef<str>,
    {
        let overrides: Vec<(String, String)> = sources
            .into_iter()
            .map(|(n, c)| (n.as_ref().to_owned(), c.as_ref().to_owned()))
            .collect();
        let mut merged: Vec<(String, String)> = Vec::new();
        for (name, contents) in builtin::SOURCES {
            match overrides.iter().find(|(n, _)| n == name) {
                Some(replacement) => merged.push(replacement.clone()),
                None => merged.push(((*name).to_owned(), (*contents).to_owned())),
            }
        }
        for (name, contents) in &overrides {
            if !builtin::SOURCES.iter().any(|(n, _)| n == name) {
                merged.push((name.clone(), contents.clone()));
            }
        }
        Catalog::from_sources(merged)
    }

    /// Every activity, in a stable order: file order, then array order.
    pub fn activities(&self) -> &[ActivityDef] {
        &self.activities
    }

    /// The activity a node's `properties.activityName` names.
    pub fn activity(&self, activity_name: &str) -> Option<&ActivityDef> {
        self.activity_index
            .get(activity_name)
            .map(|&i| &self.activities[i])
    }

    /// Every event specification, in a stable order: file order, then array order.
    pub fn events(&self) -> &[EventSpec] {
        &self.events
    }

    /// The event specification called `event_specification_name`.
    pub fn event(&self, event_specification_name: &str) -> Option<&EventSpec> {
        self.event_index
            .get(event_specification_name)
            .map(|&i| &self.events[i])
    }

    /// The activities offered for flows of one contact type, in catalog order.
    pub fn activities_for(&self, contact_type: &str) -> impl Iterator<Item = &ActivityDef> {
        let contact_type = contact_type.to_owned();
        self.activities
            .iter()
            .filter(move |a| a.supports(&contact_type))
    }

    /// The event specifications with this binding, in catalog order.
    pub fn events_with_binding(&self, binding: EventBinding) -> impl Iterator<Item = &EventSpec> {
        self.events.iter().filter(move |e| e.binding == binding)
    }
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field(
                "activities",
                &self
                    .activities
                    .iter()
                    .map(|a| a.activity_name.as_str())
                    .collect::<Vec<_>>(),
            )
            .field(
                "events",
                &self
                    .events
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Serializes as a catalog file: `{"activities": [...], "events": [...]}`, which
/// [`Catalog::from_sources`] reads back.
impl Serialize for Catalog {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Catalog", 2)?;
        s.serialize_field("activities", &self.activities)?;
        s.serialize_field("events", &self.events)?;
        s.end()
    }
}

#[cfg(test)]
mod tests;
