//! Rough phase timings for the validator on a generated flow (not a benchmark; see benches/).
#[path = "../benches/gen.rs"]
mod gen;
use std::time::Instant;
use switchboard_validate::{Mode, Options, Validator};

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let bytes = serde_json::to_vec(&gen::generate(n, 0)).unwrap();
    let v = Validator::new(catalog::Catalog::builtin());
    let opts = Options { mode: Mode::Strict, ..Options::default() };
    let reps = 50;
    let time = |name: &str, f: &dyn Fn()| {
        for _ in 0..3 { f(); }
        let t = Instant::now();
        for _ in 0..reps { f(); }
        println!("{name:<16} {:>10.1} us", t.elapsed().as_secs_f64() * 1e6 / reps as f64);
    };
    time("value", &|| { serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(); });
    let val: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    time("typed_from_value", &|| { flow::parse(&val).unwrap(); });
    time("typed_from_bytes", &|| { serde_json::from_slice::<flow::Flow>(&bytes).unwrap(); });
    time("validate_value", &|| { v.validate_value(&val, &opts); });
    time("validate_slice", &|| { v.validate_slice(&bytes, &opts).unwrap(); });
}
