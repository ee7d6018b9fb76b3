//! Translation speed of the interpreter: every function of a benchmark program, per byte of
//! function body (`cargo bench -p strata-tiers --bench translate`). Criterion reports bytes
//! per second; the budget is at most 15 ns per byte.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use strata_tiers::interp;
use strata_vm::{InterpMode, Module};

fn program(name: &str) -> Module {
    let path = format!(
        "{}/../benches/programs/{name}.wasm",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Module::new(bytes).expect("benchmark program validates")
}

fn translate(c: &mut Criterion) {
    let mut group = c.benchmark_group("translate");
    for name in ["large", "nbody"] {
        let module = program(name);
        let n = module.num_defined_funcs();
        let bytes: usize = (0..n).map(|i| module.bodies[i].range.len()).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for i in 0..n {
                    black_box(
                        interp::translate(&module, i, InterpMode::default()).expect("translates"),
                    );
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, translate);
criterion_main!(benches);
