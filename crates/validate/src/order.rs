//! Document order: diagnostics sort by where their pointer lands in the document as sent
//! (object keys in the order they were written, array elements by index). The document tree
//! keeps key order, so this is a walk down each pointer, done only when there are
//! diagnostics to sort.

use crate::doc::{Kind, J};
use crate::Diagnostic;

/// Walk `pointer` from `root`, calling `visit` on every value along it, and return its order
/// key.
pub(crate) fn walk(root: J<'_>, pointer: &str, visit: &mut dyn FnMut(J<'_>)) -> Vec<usize> {
    let mut key = Vec::new();
    let mut cur = root;
    visit(cur);
    for tok in flow::pointer::tokens(pointer) {
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

pub(crate) fn sort_in_document_order(root: J<'_>, diags: &mut Vec<Diagnostic>) {
    let mut keyed: Vec<(Vec<usize>, Diagnostic)> = diags
        .drain(..)
        .map(|d| (walk(root, &d.path, &mut |_| {}), d))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    // One mistake, one diagnostic: rules that overlap (a schema enum and allowedValues, say)
    // must not report the same code at the same place twice.
    keyed.dedup_by(|a, b| a.1.path == b.1.path && a.1.code == b.1.code);
    diags.extend(keyed.into_iter().map(|(_, d)| d));
}
