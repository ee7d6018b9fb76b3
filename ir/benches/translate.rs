//! Translation speed (wasm code bytes per second, one thread) on benches/programs/large.wasm:
//! translation alone, and translation plus the cleanup pipeline.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strata_ir::passes::{default_pipeline, run_pipeline};
use strata_ir::Translator;
use strata_vm::Module;

fn load(name: &str) -> Module {
    let path = format!("{}/../benches/programs/{name}", env!("CARGO_MANIFEST_DIR"));
    Module::new(std::fs::read(&path).expect("benchmark program")).expect("valid module")
}

fn translate(c: &mut Criterion) {
    let module = load("large.wasm");
    let bytes = module.code_section_bytes as u64;
    let mut g = c.benchmark_group("large.wasm");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(20);
    let mut t = Translator::new();
    g.bench_function("translate", |b| {
        b.iter(|| {
            for i in 0..module.num_defined_funcs() {
                std::hint::black_box(t.translate(&module, i).unwrap());
            }
        })
    });
    let pipeline = default_pipeline();
    g.bench_function("translate+cleanup", |b| {
        b.iter(|| {
            for i in 0..module.num_defined_funcs() {
                let mut f = t.translate(&module, i).unwrap();
                run_pipeline(&mut f, &pipeline, false).unwrap();
                std::hint::black_box(f);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, translate);
criterion_main!(benches);
