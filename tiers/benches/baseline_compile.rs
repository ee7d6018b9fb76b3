//! Compile speed of the baseline tier: a whole benchmark program, per byte of code section
//! (`cargo bench -p strata-tiers --bench baseline_compile`), in both bounds-check modes.
//! Criterion reports bytes per second; the goal is at least 80 MB/s on one thread
//! (`strata compile --tier baseline --repeat N` measures the same thing from the CLI).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use strata_tiers::baseline::BaselineModule;
use strata_vm::{BoundsChecks, Module};

fn program(name: &str) -> Module {
    let path = format!(
        "{}/../benches/programs/{name}.wasm",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Module::new(bytes).expect("benchmark program validates")
}

fn baseline_compile(c: &mut Criterion) {
    let mut group = c.benchmark_group("baseline_compile");
    for name in ["large", "nbody"] {
        let module = program(name);
        group.throughput(Throughput::Bytes(module.code_section_bytes as u64));
        for (mode, bounds) in [
            ("guard", BoundsChecks::GuardPages),
            ("explicit", BoundsChecks::Explicit),
        ] {
            group.bench_function(format!("{name}/{mode}"), |b| {
                b.iter(|| black_box(BaselineModule::compile(&module, bounds).expect("compiles")))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, baseline_compile);
criterion_main!(benches);
