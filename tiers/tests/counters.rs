//! The interpreter's call and back-edge counters, which the tier manager reads.

use std::sync::Arc;
use strata_tiers::interp::{invoke, InterpModule};
use strata_vm::{instantiate, Module, RuntimeConfig, StoreInner};

#[test]
fn calls_and_loop_iterations_are_counted() {
    let bytes = wat::parse_str(
        r#"(module
            (func $leaf (param i32) (result i32) local.get 0 i32.const 1 i32.add)
            (func (export "run") (param i32) (result i32) (local i32)
              (loop $l
                local.get 1 call $leaf local.set 1
                local.get 1 local.get 0 i32.lt_u br_if $l)
              local.get 1))"#,
    )
    .unwrap();
    let module = Arc::new(Module::new(bytes).unwrap());
    let mut store = StoreInner::new(RuntimeConfig::default());
    let inst = instantiate(&mut store, &module, &[]).unwrap();
    let run = store.instances[inst as usize].funcs[1];
    let mut out = [0u64];
    invoke(&mut store, run, &[10], &mut out).unwrap();
    assert_eq!(out[0], 10);
    invoke(&mut store, run, &[5], &mut out).unwrap();
    let interp = InterpModule::existing(&module).unwrap();
    let leaf = interp.counters(0).unwrap();
    let outer = interp.counters(1).unwrap();
    assert_eq!(leaf.calls(), 15);
    assert_eq!(leaf.backedges(), 0);
    assert_eq!(outer.calls(), 2);
    // Each call loops n-1 times back to the header.
    assert_eq!(outer.backedges(), 9 + 4);
}
