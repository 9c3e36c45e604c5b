//! Document order: diagnostics sort by where their pointer lands in the document as sent
//! (object keys in the order they were written, array elements by index). The document tree
//! keeps key order, so this is a walk down each pointer, done only when there are
//! diagnostics to sort.

use crate::doc::{Kind, View, J};
use crate::Diagnostic;

/// Walk `pointer` from `root`, calling `visit` on every value along it, and return its order
/// key.
pub(crate) fn walk(root: J<'_>, pointer: &str, visit: &mut dyn FnMut(J<'_>)) -> Vec<usize> {
    walk_from(root, &flow::pointer::tokens(pointer), Vec::new(), visit)
}

/// Walk `tokens` from `cur`, appending to `key`.
fn walk_from(
    mut cur: J<'_>,
    tokens: &[String],
    mut key: Vec<usize>,
    visit: &mut dyn FnMut(J<'_>),
) -> Vec<usize> {
    visit(cur);
    for tok in tokens {
        let next = match cur.kind() {
            Kind::Obj(m) => {
                m.iter()
                    .enumerate()
                    .find(|(_, (k, _))| *k == tok)
                    .map(|(i, (_, v))| {
                        key.push(i);
                        v
                    })
            }
            Kind::Arr(a) => tok.parse::<usize>().ok().and_then(|i| {
                key.push(i);
                a.get(i)
            }),
            _ => None,
        };
        let Some(next) = next else {
            // A missing key (a required field that is absent) sorts after its parent's
            // existing children.
            key.push(usize::MAX);
            break;
        };
        visit(next);
        cur = next;
    }
    key
}

/// The order key of a pointer. Pointers into a node or an edge (nearly all of them) start
/// from the element the view already holds instead of walking the array to it.
fn order_key(root: J<'_>, view: &View<'_>, pointer: &str) -> Vec<usize> {
    let tokens = flow::pointer::tokens(pointer);
    let (list, rest) = match tokens.first().map(String::as_str) {
        Some("eventFlows") => (tokens.get(1), tokens.get(1..).unwrap_or_default()),
        _ => (tokens.first(), &tokens[..]),
    };
    let index = rest.get(1).and_then(|i| i.parse::<usize>().ok());
    let proc = &view.procs[usize::from(tokens.len() != rest.len())];
    let element = match (list.map(String::as_str), index) {
        (Some("nodes"), Some(i)) => proc.nodes.get(i).and_then(|n| n.value),
        (Some("edges"), Some(i)) => proc.edges.get(i).and_then(|e| e.value),
        _ => None,
    };
    let Some(element) = element else {
        return walk_from(root, &tokens, Vec::new(), &mut |_| {});
    };
    // The path down to the element, then from it.
    let head = tokens.len() - rest.len() + 2;
    let mut key = walk_from(root, &tokens[..head - 1], Vec::new(), &mut |_| {});
    key.push(index.unwrap_or(usize::MAX));
    walk_from(element, &tokens[head..], key, &mut |_| {})
}

pub(crate) fn sort_in_document_order(root: J<'_>, view: &View<'_>, diags: &mut Vec<Diagnostic>) {
    let mut keyed: Vec<(Vec<usize>, Diagnostic)> = diags
        .drain(..)
        .map(|d| (order_key(root, view, &d.path), d))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    // One mistake, one diagnostic: rules that overlap (a schema enum and allowedValues, say)
    // must not report the same code at the same place twice.
    keyed.dedup_by(|a, b| a.1.path == b.1.path && a.1.code == b.1.code);
    diags.extend(keyed.into_iter().map(|(_, d)| d));
}
