//! Translation speed of wasm to SSA (and the cleanup pipeline), in MB/s of function bodies, on
//! one thread: `cargo bench -p strata-ir --bench translate`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use strata_ir::passes::Pipeline;
use strata_ir::translate_function;
use strata_vm::Module;

fn program(name: &str) -> Module {
    let path = format!(
        "{}/../benches/programs/{name}.wasm",
        env!("CARGO_MANIFEST_DIR")
    );
    Module::new(std::fs::read(&path).expect("the program is committed")).expect("valid")
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("ir");
    for name in ["large", "nbody"] {
        let module = program(name);
        let n = module.num_defined_funcs();
        let bytes: usize = (0..n).map(|i| module.bodies[i].range.len()).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(format!("translate/{name}"), |b| {
            b.iter(|| {
                for i in 0..n {
                    black_box(translate_function(&module, i).expect("translates"));
                }
            })
        });
        let pipeline = Pipeline { verify: false };
        group.bench_function(format!("translate+cleanup/{name}"), |b| {
            b.iter(|| {
                for i in 0..n {
                    let mut f = translate_function(&module, i).expect("translates");
                    pipeline.run(&mut f).expect("cleans up");
                    black_box(f);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
