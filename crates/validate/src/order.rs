//! Document order: diagnostics sort by where their pointer lands in the document as sent
//! (object keys in the order they were written, array elements by index).

use serde_json::Value;

use crate::Diagnostic;

fn order_key(doc: &Value, pointer: &str) -> Vec<usize> {
    let mut key: Vec<usize> = Vec::new();
    let mut cur = Some(doc);
    for tok in flow::pointer::tokens(pointer) {
        let next = match cur {
            Some(Value::Object(m)) => m.keys().position(|k| *k == tok).and_then(|i| {
                key.push(i);
                m.get(tok.as_str())
            }),
            Some(Value::Array(a)) => tok.parse::<usize>().ok().and_then(|i| {
                key.push(i);
                a.get(i)
            }),
            _ => None,
        };
        if next.is_none() {
            // A missing key (a required field that is absent) sorts after its parent's
            // existing children.
            key.push(usize::MAX);
            break;
        }
        cur = next;
    }
    key
}

pub fn sort_in_document_order(doc: &Value, diags: &mut Vec<Diagnostic>) {
    let mut keyed: Vec<(Vec<usize>, Diagnostic)> = diags
        .drain(..)
        .map(|d| (order_key(doc, &d.path), d))
        .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    // One mistake, one diagnostic: rules that overlap (a schema enum and allowedValues, say)
    // must not report the same code at the same place twice.
    keyed.dedup_by(|a, b| a.1.path == b.1.path && a.1.code == b.1.code);
    diags.extend(keyed.into_iter().map(|(_, d)| d));
}
