//! `percent-allocation`: takes one of the `allocation` edges at random, weighted by their
//! `properties.percentage`; the remainder (100 minus their sum) takes `default`. The random
//! number comes from the task's seeded generator, so a seed fixes the branch. Percentages
//! adding up to more than 100 are a failure (INVALID_ALLOCATION). Exposes `percentage`.

use minijinja::Value;

use crate::compile::CompileCx;
use crate::run::{Cx, Outcome};

pub(crate) use super::no_resume as resume;

#[derive(Debug)]
pub(crate) struct Config {
    /// (target node, percentage), in document order.
    shares: Vec<(u32, i64)>,
}

pub(crate) fn compile(cx: &mut CompileCx<'_>) -> Result<Config, String> {
    let shares = cx
        .exits
        .branches_on("allocation")
        .map(|b| (b.target, b.raw.as_i64().unwrap_or(0)))
        .collect();
    Ok(Config { shares })
}

pub(crate) fn run(c: &Config, cx: &mut Cx<'_>) -> Outcome {
    let total: i64 = c.shares.iter().map(|(_, p)| *p).sum();
    if total > 100 {
        return cx.failure("INVALID_ALLOCATION", format!("the percentages add up to {total}, more than 100"));
    }
    let draw = cx.random_below(100) as i64;
    let mut upto = 0;
    for (target, pct) in &c.shares {
        upto += pct;
        if draw < upto {
            cx.set_outputs([("percentage", Value::from(*pct))]);
            return Outcome::Target("allocation", Some(*target));
        }
    }
    cx.set_outputs([("percentage", Value::from(0))]);
    Outcome::Target("allocation", None)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use crate::activities::testkit::*;
    use crate::Start;

    fn kit() -> Kit {
        Kit::new(flow(
            json!([]),
            json!([
                node("Split", "percent-allocation", json!({})),
                node("A", "end-flow", json!({})),
                node("B", "end-flow", json!({})),
                node("Rest", "end-flow", json!({}))
            ]),
            json!([
                ["Start", "Split", "out"],
                ["Split", "A", "allocation", {"percentage": 50}],
                ["Split", "B", "allocation", {"percentage": 30}],
                ["Split", "Rest", "default"]
            ]),
        ))
    }

    fn branch(k: &Kit, seed: u64) -> String {
        let (_, out) = k.start_with(Start { seed, ..Start::default() });
        out.trace.get(1).unwrap().next.as_deref().unwrap_or("").to_owned()
    }

    #[test]
    fn a_seed_fixes_the_branch() {
        let k = kit();
        for seed in 0..20 {
            assert_eq!(branch(&k, seed), branch(&k, seed));
        }
    }

    #[test]
    fn shares_follow_the_percentages() {
        let k = kit();
        let mut counts: BTreeMap<String, u32> = BTreeMap::new();
        for seed in 0..2000 {
            *counts.entry(branch(&k, seed)).or_default() += 1;
        }
        let share = |n: &str| counts.get(n).copied().unwrap_or(0) as f64 / 2000.0;
        assert!((share("A") - 0.5).abs() < 0.05, "{counts:?}");
        assert!((share("B") - 0.3).abs() < 0.05, "{counts:?}");
        assert!((share("Rest") - 0.2).abs() < 0.05, "{counts:?}");
    }
}
