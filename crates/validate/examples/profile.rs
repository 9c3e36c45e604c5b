//! Median phase timings for the validator on a generated flow (not a benchmark; see benches/).
#[path = "../benches/common/gen.rs"]
mod gen;
use std::time::Instant;
use switchboard_validate::{Mode, Options, Validator};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let bytes = match std::env::args().nth(2) {
        Some(file) => std::fs::read(file).expect("readable flow file"),
        None => serde_json::to_vec(&gen::generate(n, 0)).unwrap(),
    };
    let v = Validator::new(catalog::Catalog::builtin());
    let opts = Options {
        mode: Mode::Strict,
        ..Options::default()
    };
    // `SWITCHBOARD_PROFILE_LOOP=N`: only validate_bytes, N times, for `perf record`.
    if let Some(n) = std::env::var("SWITCHBOARD_PROFILE_LOOP")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        for _ in 0..n {
            std::hint::black_box(v.validate_bytes(&bytes, &opts).unwrap());
        }
        return;
    }
    let reps = 50;
    let time = |name: &str, f: &dyn Fn()| {
        for _ in 0..3 {
            f();
        }
        // Median of single runs: robust to a noisy neighbour.
        let mut times: Vec<f64> = (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        times.sort_by(|a, b| a.total_cmp(b));
        println!("{name:<16} {:>10.1} us", times[reps / 2]);
    };
    time("value", &|| {
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap();
    });
    let val: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    time("typed_from_value", &|| {
        flow::parse(&val).unwrap();
    });
    time("typed_from_bytes", &|| {
        serde_json::from_slice::<flow::Flow>(&bytes).unwrap();
    });
    time("validate_value", &|| {
        v.validate_value(&val, &opts);
    });
    time("validate_slice", &|| {
        v.validate_slice(&bytes, &opts).unwrap();
    });
    // The parse alone, into reused buffers as validate_bytes does.
    let scratch = std::cell::RefCell::new(switchboard_validate::Scratch::default());
    time("parse_tape", &|| {
        let mut scratch = scratch.borrow_mut();
        std::hint::black_box(switchboard_validate::Document::parse(&bytes, &mut scratch).is_ok());
    });
    time("validate_bytes", &|| {
        v.validate_bytes(&bytes, &opts).unwrap();
    });
}
