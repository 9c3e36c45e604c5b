//! Document order: diagnostics sort by where their pointer lands in the document as sent
//! (object keys in the order they were written, array elements by index).
//!
//! When validating bytes there is no JSON tree (the flow is parsed straight into the typed
//! model), so the top-level key order comes from a scan of the bytes and positions inside a
//! node, edge or variable from that one element, serialized on demand. Both happen only when
//! there are diagnostics to sort.

use flow::Flow;
use serde_json::Value;

use crate::Diagnostic;

/// What the flow was parsed from.
pub(crate) enum Source<'a> {
    Value(&'a Value),
    Bytes(&'a [u8]),
}

/// Walk `pointer`, calling `visit` on every value along it, and return its order key.
pub(crate) fn walk(
    flow: &Flow,
    src: &Source<'_>,
    top: &[String],
    pointer: &str,
    visit: Option<&mut dyn FnMut(&Value)>,
) -> Vec<usize> {
    let tokens = flow::pointer::tokens(pointer);
    let mut key = Vec::new();
    let mut noop = |_: &Value| {};
    let wants_values = visit.is_some();
    let visit: &mut dyn FnMut(&Value) = match visit {
        Some(v) => v,
        None => &mut noop,
    };
    match src {
        Source::Value(doc) => walk_value(doc, &tokens, &mut key, visit),
        Source::Bytes(_) => {
            let Some(first) = tokens.first() else {
                return key;
            };
            key.push(top.iter().position(|k| k == first).unwrap_or(usize::MAX));
            let (elem, rest) = match (first.as_str(), tokens.get(1), tokens.get(2)) {
                // Nothing below the element to order by, nobody to show values to: the
                // element's index is the whole key (a node-level warning, say).
                ("eventFlows", Some(_), Some(idx)) if tokens.len() == 3 && !wants_values => {
                    key.push(if tokens[1] == "nodes" { 0 } else { 1 });
                    key.push(idx.parse::<usize>().unwrap_or(usize::MAX));
                    (None, &tokens[3..])
                }
                (_, Some(idx), _)
                    if tokens.len() == 2 && first != "eventFlows" && !wants_values =>
                {
                    key.push(idx.parse::<usize>().unwrap_or(usize::MAX));
                    (None, &tokens[2..])
                }
                ("eventFlows", Some(list), Some(idx)) => {
                    key.push(if list == "nodes" { 0 } else { 1 });
                    let i = idx.parse::<usize>().unwrap_or(usize::MAX);
                    key.push(i);
                    let p = flow.event();
                    let elem = match list.as_str() {
                        "nodes" => p.nodes.get(i).map(serde_json::to_value),
                        "edges" => p.edges.get(i).map(serde_json::to_value),
                        _ => None,
                    };
                    (elem, &tokens[3..])
                }
                (list, Some(idx), _) => {
                    let i = idx.parse::<usize>().unwrap_or(usize::MAX);
                    key.push(i);
                    let elem = match list {
                        "nodes" => flow.nodes().get(i).map(serde_json::to_value),
                        "edges" => flow.edges().get(i).map(serde_json::to_value),
                        "variables" => flow.variables().get(i).map(serde_json::to_value),
                        "preferences" => flow.preferences().get(i).map(serde_json::to_value),
                        _ => None,
                    };
                    (elem, &tokens[2..])
                }
                _ => (None, &tokens[1..]),
            };
            if let Some(Ok(elem)) = elem {
                walk_value(&elem, rest, &mut key, visit);
            }
        }
    }
    key
}

fn walk_value(doc: &Value, tokens: &[String], key: &mut Vec<usize>, visit: &mut dyn FnMut(&Value)) {
    let mut cur = doc;
    visit(cur);
    for tok in tokens {
        let next = match cur {
            Value::Object(m) => m.keys().position(|k| k == tok).and_then(|i| {
                key.push(i);
                m.get(tok.as_str())
            }),
            Value::Array(a) => tok.parse::<usize>().ok().and_then(|i| {
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
}

pub(crate) fn top_keys(flow: &Flow, src: &Source<'_>) -> Vec<String> {
    match src {
        Source::Value(v) => v
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default(),
        // Recorded while parsing; a scan of the bytes only if the flow was built otherwise.
        Source::Bytes(b) if flow.key_order.0.is_empty() => flow::locate::top_level_keys(b),
        Source::Bytes(_) => flow.key_order.0.clone(),
    }
}

pub(crate) fn sort_in_document_order(
    flow: &Flow,
    src: &Source<'_>,
    top: &[String],
    diags: &mut Vec<Diagnostic>,
) {
    let mut keyed: Vec<(Vec<usize>, Diagnostic)> = diags
        .drain(..)
        .map(|d| (walk(flow, src, top, &d.path, None), d))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    // One mistake, one diagnostic: rules that overlap (a schema enum and allowedValues, say)
    // must not report the same code at the same place twice.
    keyed.dedup_by(|a, b| a.1.path == b.1.path && a.1.code == b.1.code);
    diags.extend(keyed.into_iter().map(|(_, d)| d));
}
