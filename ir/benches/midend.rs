//! The mid-end's speed (wasm code bytes per second, one thread) on
//! benches/programs/large.wasm: translation + cleanup, then the whole mid-end with the
//! e-graph off, on, and in chaos mode. The e-graph's share is the difference between "on"
//! and "off"; `strata compile --print-ir after` gives the per-phase split of one function.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strata_ir::egraph::{optimize, MidendConfig};
use strata_ir::passes::{default_pipeline, run_pipeline};
use strata_ir::Translator;
use strata_vm::Module;

fn load(name: &str) -> Module {
    let path = format!("{}/../benches/programs/{name}", env!("CARGO_MANIFEST_DIR"));
    Module::new(std::fs::read(&path).expect("benchmark program")).expect("valid module")
}

fn midend(c: &mut Criterion) {
    let module = load("large.wasm");
    let bytes = module.code_section_bytes as u64;
    let mut g = c.benchmark_group("midend/large.wasm");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    let pipeline = default_pipeline();
    let mut t = Translator::new();
    for (name, cfg) in [
        ("translate+cleanup", None),
        ("egraph-off", Some(MidendConfig::off())),
        ("egraph-on", Some(MidendConfig::default())),
        ("egraph-chaos", Some(MidendConfig::chaos(1))),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                for i in 0..module.num_defined_funcs() {
                    let mut f = t.translate(&module, i).unwrap();
                    run_pipeline(&mut f, &pipeline, false).unwrap();
                    if let Some(cfg) = &cfg {
                        std::hint::black_box(optimize(&mut f, cfg));
                    }
                    std::hint::black_box(f);
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, midend);
criterion_main!(benches);
