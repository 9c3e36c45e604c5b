//! Graph queries over one process: name lookup, outgoing edges, reachability.

use std::collections::{HashMap, HashSet, VecDeque};

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
        let mut by_name = HashMap::with_capacity(process.nodes.len());
        for (i, n) in process.nodes.iter().enumerate() {
            if let Some(name) = n.name() {
                by_name.entry(name).or_insert(i);
            }
        }
        let mut outgoing: HashMap<&str, Vec<usize>> = HashMap::new();
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

    /// Node indexes reachable from the entry nodes (entries included).
    pub fn reachable(&self) -> HashSet<usize> {
        let mut seen: HashSet<usize> = HashSet::new();
        let mut queue: VecDeque<usize> = self.entries().into_iter().collect();
        while let Some(i) = queue.pop_front() {
            if !seen.insert(i) {
                continue;
            }
            let Some(name) = self.process.nodes[i].name() else {
                continue;
            };
            for &e in self.outgoing.get(name).into_iter().flatten() {
                if let Some(&j) = self.process.edges[e].to().and_then(|t| self.by_name.get(t)) {
                    if !seen.contains(&j) {
                        queue.push_back(j);
                    }
                }
            }
        }
        seen
    }
}
