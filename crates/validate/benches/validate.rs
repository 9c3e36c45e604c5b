//! Strict validation from bytes (parse + every rule) beside `serde_json::from_slice::<Value>`
//! of the same bytes, the floor. Run: `cargo bench -p switchboard-validate --bench validate`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use switchboard_validate::{Mode, Options, StaticChoices, Validator};

/// The server binary's allocator, so figures match what it runs with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/gen.rs"]
mod gen;

fn bench(c: &mut Criterion) {
    let catalog = catalog::Catalog::builtin();
    let v = Validator::new(catalog);
    let mut choices = StaticChoices::new();
    choices.insert(catalog::ChoicesKind::Queue, "Default Queue");
    let opts = Options {
        mode: Mode::Strict,
        resolver: &choices,
        ..Options::default()
    };
    let mut g = c.benchmark_group("validate");
    g.sample_size(20);
    for n in [10usize, 100, 1_000, 10_000] {
        let bytes = serde_json::to_vec(&gen::generate(n, 0)).unwrap();
        let report = v.validate_bytes(&bytes, &opts).unwrap();
        assert!(
            report.is_valid(),
            "generated flow must be valid: {:?}",
            report.errors().next()
        );
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::new("parse_value", n), &bytes, |b, bytes| {
            b.iter(|| serde_json::from_slice::<serde_json::Value>(bytes).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("strict", n), &bytes, |b, bytes| {
            b.iter(|| v.validate_bytes(bytes, &opts).unwrap())
        });
    }
    let bad = serde_json::to_vec(&gen::generate(1_000, 50)).unwrap();
    let report = v.validate_bytes(&bad, &opts).unwrap();
    assert!(report.errors().count() >= 50);
    g.bench_with_input(
        BenchmarkId::new("strict_50_invalid", 1_000),
        &bad,
        |b, bytes| b.iter(|| v.validate_bytes(bytes, &opts).unwrap()),
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
