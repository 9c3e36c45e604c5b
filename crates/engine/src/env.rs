//! [`Env`]: what the engine may look up while stepping, synchronously and without I/O.
//!
//! Compiled programs (a task's pinned version, a subflow's current version, a go-to target)
//! and business-hours schedules are configuration the runtime holds in memory; it answers
//! from a cache and loads what a task will need *before* stepping it
//! ([`crate::TaskState::programs`], [`crate::Program::flow_refs`]). [`StaticEnv`] is the
//! in-memory implementation tests, the CLI and small deployments use.

use std::collections::HashMap;
use std::sync::Arc;

use crate::program::{FlowRef, Program, ProgramKey};
use crate::schedule::BusinessHours;

/// Lookups the engine makes while stepping.
pub trait Env {
    /// A program by exact key: the version a task (or subflow frame) is pinned to.
    fn program(&self, key: &ProgramKey) -> Option<Arc<Program>>;

    /// The program a reference designates now (subflow calls, go-to): by id or name, at the
    /// version its label names.
    fn resolve_flow(&self, flow: &FlowRef) -> Option<Arc<Program>> {
        let _ = flow;
        None
    }

    /// A business-hours schedule by id or name.
    fn business_hours(&self, id_or_name: &str) -> Option<Arc<BusinessHours>> {
        let _ = id_or_name;
        None
    }
}

/// Programs and schedules held in memory.
#[derive(Default, Clone)]
pub struct StaticEnv {
    programs: HashMap<ProgramKey, Arc<Program>>,
    /// (flow id or name, label) -> version.
    labels: HashMap<(String, String), i64>,
    business_hours: HashMap<String, Arc<BusinessHours>>,
}

impl StaticEnv {
    pub fn new() -> StaticEnv {
        StaticEnv::default()
    }

    /// Adds a program. Without explicit labels, a reference resolves to the highest version
    /// of a flow (by id or name).
    pub fn add_program(&mut self, p: Arc<Program>) -> &mut Self {
        self.programs.insert(p.key().clone(), p);
        self
    }

    /// Points a label (`Live`, `Latest`...) of a flow (id or name) at a version.
    pub fn set_label(&mut self, flow: &str, label: &str, version: i64) -> &mut Self {
        self.labels
            .insert((flow.to_owned(), label.to_owned()), version);
        self
    }

    pub fn add_business_hours(&mut self, bh: BusinessHours) -> &mut Self {
        let bh = Arc::new(bh);
        if let Some(id) = &bh.id {
            self.business_hours.insert(id.clone(), bh.clone());
        }
        self.business_hours.insert(bh.name.clone(), bh);
        self
    }

    fn candidates<'a>(&'a self, who: &'a str) -> impl Iterator<Item = &'a Arc<Program>> + 'a {
        self.programs
            .values()
            .filter(move |p| p.key().flow_id == who || p.name() == who)
    }
}

impl Env for StaticEnv {
    fn program(&self, key: &ProgramKey) -> Option<Arc<Program>> {
        self.programs.get(key).cloned()
    }

    fn resolve_flow(&self, flow: &FlowRef) -> Option<Arc<Program>> {
        for who in flow.id.iter().chain(flow.name.iter()) {
            if let Some(v) = self.labels.get(&(who.clone(), flow.label.clone())) {
                if let Some(p) = self.candidates(who).find(|p| p.key().version == *v) {
                    return Some(p.clone());
                }
            }
            if let Some(p) = self.candidates(who).max_by_key(|p| p.key().version) {
                return Some(p.clone());
            }
        }
        None
    }

    fn business_hours(&self, id_or_name: &str) -> Option<Arc<BusinessHours>> {
        self.business_hours.get(id_or_name).cloned()
    }
}

impl<T: Env + ?Sized> Env for &T {
    fn program(&self, key: &ProgramKey) -> Option<Arc<Program>> {
        (**self).program(key)
    }
    fn resolve_flow(&self, flow: &FlowRef) -> Option<Arc<Program>> {
        (**self).resolve_flow(flow)
    }
    fn business_hours(&self, id_or_name: &str) -> Option<Arc<BusinessHours>> {
        (**self).business_hours(id_or_name)
    }
}
