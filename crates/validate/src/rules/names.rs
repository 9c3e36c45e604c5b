//! Node names and edge ids: present, and unique within their process.

use std::hash::BuildHasher;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::{edge_ptr, node_ptr, process_label, Ctx};

pub(super) fn check(cx: &mut Ctx<'_>) {
    let view = cx.view;
    for (p, g) in view.procs.iter().zip(cx.graphs) {
        for (i, n) in p.nodes.iter().enumerate() {
            let at = node_ptr(p.kind, i);
            match n.name {
                Some(name) => {
                    // The graph has the first node of each name already.
                    if let Some(first) = g.first_named_like(i).filter(|&f| f != i) {
                        cx.error(
                            format!("{at}/name"),
                            "DUPLICATE_NODE_NAME",
                            format!(
                                "Node name '{name}' is already used by {}/nodes/{first} in the {}; names must be unique within a process.",
                                p.kind.pointer_base(),
                                process_label(p.kind)
                            ),
                        );
                    }
                }
                None => cx.error(
                    format!("{at}/name"),
                    "MISSING_FIELD",
                    "Every node needs a 'name': edges reference nodes by name.".into(),
                ),
            }
            if n.id.is_none() {
                cx.warning(
                    format!("{at}/id"),
                    "MISSING_NODE_ID",
                    "Node has no 'id'; a stable id keeps traces and diffs readable.".into(),
                );
            }
        }
        // Edge ids are checked through a set of their 64-bit hashes, eight bytes a slot: on a
        // large document a map of the ids (24 bytes a slot, and every hit compared against
        // the document's bytes) fell out of cache. Only when two hashes meet are the ids
        // themselves compared, in a second pass.
        let mut hashes: HashSet<u64> =
            HashSet::with_capacity_and_hasher(p.edges.len(), Default::default());
        let mut clash = false;
        for (i, e) in p.edges.iter().enumerate() {
            match e.id {
                Some(id) => clash |= !hashes.insert(rustc_hash::FxBuildHasher.hash_one(id)),
                None => cx.error(
                    format!("{}/id", edge_ptr(p.kind, i)),
                    "MISSING_FIELD",
                    "Every edge needs an 'id' (the PATCH merge key).".into(),
                ),
            }
        }
        if !clash {
            continue;
        }
        let mut seen: HashMap<&str, usize> =
            HashMap::with_capacity_and_hasher(p.edges.len(), Default::default());
        for (i, e) in p.edges.iter().enumerate() {
            let Some(id) = e.id else { continue };
            if let Some(&first) = seen.get(id) {
                cx.error(
                    format!("{}/id", edge_ptr(p.kind, i)),
                    "DUPLICATE_EDGE_ID",
                    format!(
                        "Edge id '{id}' is already used by {}/edges/{first} in the {}; edge ids must be unique within a process.",
                        p.kind.pointer_base(),
                        process_label(p.kind)
                    ),
                );
            } else {
                seen.insert(id, i);
            }
        }
    }
}
