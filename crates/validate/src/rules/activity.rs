//! Activities: every node names a known activity whose group matches the node's
//! activityType.

use catalog::Group;
use flow::ActivityType;

use super::Ctx;

pub(super) fn check(cx: &mut Ctx<'_>) {
    // The same misspelling tends to repeat; look for the closest name once per spelling.
    let mut suggestions: std::collections::HashMap<&str, Option<String>> = Default::default();
    for (n, at) in cx.all_nodes() {
        let Some(name) = n.activity_name else {
            let props = n.props;
            if props.is_some_and(|p| p.as_object().is_none()) {
                cx.error(
                    format!("{at}/properties"),
                    "INVALID_FIELD",
                    "Node 'properties' must be an object with an 'activityName'.".into(),
                );
            } else if props.and_then(|p| p.get("activityName")).is_some() {
                cx.error(
                    format!("{at}/properties/activityName"),
                    "INVALID_FIELD",
                    "'activityName' must be a string naming an activity.".into(),
                );
            } else if props.is_some() {
                cx.error(
                    format!("{at}/properties/activityName"),
                    "MISSING_FIELD",
                    "Node properties must include 'activityName'.".into(),
                );
            } else {
                cx.error(
                    format!("{at}/properties"),
                    "MISSING_FIELD",
                    "Every node needs 'properties' with an 'activityName'.".into(),
                );
            }
            continue;
        };
        let Some(def) = n.def else {
            let hint = match suggestions.get(name) {
                Some(h) => h.clone(),
                None => {
                    let h = suggest(cx, name);
                    suggestions.insert(name, h.clone());
                    h
                }
            };
            let mut d = crate::Diagnostic::error(
                &format!("{at}/properties/activityName"),
                "UNKNOWN_ACTIVITY",
                format!("Activity '{name}' is not in this project's activity definitions."),
            );
            if let Some(h) = hint {
                d = d.with_hint(format!("did you mean '{h}'?"));
            }
            cx.push(d);
            continue;
        };
        let Some(ty) = n.activity_type else {
            cx.error(
                format!("{at}/activityType"),
                "MISSING_FIELD",
                format!(
                    "Node needs an 'activityType'; activity '{name}' is in group '{}'.",
                    def.group.as_str()
                ),
            );
            continue;
        };
        let expected = match def.group {
            Group::Start => ActivityType::Start,
            Group::Action => ActivityType::Action,
            Group::Event => ActivityType::Event,
            Group::End => ActivityType::End,
        };
        if ty != expected {
            cx.error(
                format!("{at}/activityType"),
                "ACTIVITY_TYPE_MISMATCH",
                format!(
                    "Node activityType is '{}' but activity '{name}' is in group '{}'.",
                    ty.as_str(),
                    def.group.as_str()
                ),
            );
        }
    }
}

/// The closest known activity name, for a hint.
fn suggest(cx: &Ctx<'_>, name: &str) -> Option<String> {
    cx.v.catalog
        .activities()
        .iter()
        // The lengths alone rule most names out: the distance is at least their difference.
        .filter(|a| a.activity_name.len().abs_diff(name.len()) <= 3)
        .map(|a| (distance(name, &a.activity_name), &a.activity_name))
        .filter(|(d, _)| *d <= 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.clone())
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
