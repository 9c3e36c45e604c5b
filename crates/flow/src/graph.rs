//! Graph queries over one process: name lookup, outgoing edges, reachability.

use std::collections::VecDeque;

// Internal indexes keyed by the document's own strings: FxHash is several times cheaper
// than SipHash and there is no untrusted-key concern for a map that lives one call.
use rustc_hash::FxHashMap as HashMap;

use crate::model::{ActivityType, Process};

/// Indexes over one process, built once and shared by the validator and the engine.
pub struct Graph<'a> {
    pub process: Process<'a>,
    /// First node index per name.
    pub by_name: HashMap<&'a str, usize>,
    /// Outgoing edge indexes per source node name, in document order.
    pub outgoing: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Graph<'a> {
    pub fn new(process: Process<'a>) -> Self {
        let mut by_name =
            HashMap::with_capacity_and_hasher(process.nodes.len(), Default::default());
        for (i, n) in process.nodes.iter().enumerate() {
            if let Some(name) = n.name() {
                by_name.entry(name).or_insert(i);
            }
        }
        let mut outgoing: HashMap<&str, Vec<usize>> =
            HashMap::with_capacity_and_hasher(process.nodes.len(), Default::default());
        for (i, e) in process.edges.iter().enumerate() {
            if let Some(from) = e.from() {
                outgoing.entry(from).or_default().push(i);
            }
        }
        Graph {
            process,
            by_name,
            outgoing,
        }
    }

    /// Entry nodes: start nodes in the main process, event nodes in the event process.
    pub fn entries(&self) -> Vec<usize> {
        self.process
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                matches!(
                    n.activity_type.get(),
                    Some(ActivityType::Start | ActivityType::Event)
                )
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Which node indexes the entry nodes reach (entries included), by index.
    pub fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.process.nodes.len()];
        let mut queue: VecDeque<usize> = self.entries().into_iter().collect();
        while let Some(i) = queue.pop_front() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            let Some(name) = self.process.nodes[i].name() else {
                continue;
            };
            for &e in self.outgoing.get(name).into_iter().flatten() {
                if let Some(&j) = self.process.edges[e].to().and_then(|t| self.by_name.get(t)) {
                    if !seen[j] {
                        queue.push_back(j);
                    }
                }
            }
        }
        seen
    }
}
