//! Call overhead in the interpreter (`cargo bench -p strata-tiers --bench calls`):
//! a call-heavy kernel (a loop calling a small function, benches/kernels/call_overhead.wat)
//! and the cost of one host -> wasm call of a trivial function.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::sync::Arc;
use strata_tiers::interp::invoke;
use strata_vm::{instantiate, FuncAddr, Module, RuntimeConfig, StoreInner};

fn load(bytes: Vec<u8>) -> (StoreInner, Arc<Module>, u32) {
    let module = Arc::new(Module::new(bytes).expect("validates"));
    let mut store = StoreInner::new(RuntimeConfig::default());
    let inst = instantiate(&mut store, &module, &[]).expect("instantiates");
    (store, module, inst)
}

fn export(store: &StoreInner, module: &Module, inst: u32, name: &str) -> FuncAddr {
    let export = &module.exports[module.export_index[name]];
    store.instances[inst as usize].funcs[export.index as usize]
}

fn calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("calls");

    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../benches/kernels/call_overhead.wat"
    );
    let bytes = wat::parse_file(path).expect("kernel parses");
    let (mut store, module, inst) = load(bytes);
    let run = export(&store, &module, inst, "run");
    const N: u64 = 10_000;
    group.throughput(Throughput::Elements(N));
    group.bench_function("wasm_to_wasm", |b| {
        let mut out = [0u64];
        b.iter(|| {
            invoke(&mut store, run, &[black_box(N)], &mut out).expect("runs");
            black_box(out[0])
        })
    });

    let bytes = wat::parse_str(
        r#"(module (func $inc (export "inc") (param i32) (result i32)
             local.get 0 i32.const 1 i32.add))"#,
    )
    .expect("parses");
    let (mut store, module, inst) = load(bytes);
    let inc = export(&store, &module, inst, "inc");
    group.throughput(Throughput::Elements(1));
    group.bench_function("host_to_wasm", |b| {
        let mut out = [0u64];
        b.iter(|| {
            invoke(&mut store, inc, &[black_box(41)], &mut out).expect("runs");
            black_box(out[0])
        })
    });
    group.finish();
}

criterion_group!(benches, calls);
criterion_main!(benches);
