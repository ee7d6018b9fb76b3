//! Typed function references (`set_function_references_enabled`): `call_ref`,
//! `return_call_ref`, `ref.as_non_null`, `br_on_null`, `br_on_non_null`, non-nullable locals
//! and a table with an initializer expression, on every registered configuration and with
//! one function of a `return_call_ref` pair compiled and the other interpreted.

use strata::conformance::{configurations, NamedConfig, BOUNDS_MODES};
use strata::*;

const WAT: &str = r#"(module
  (type $i2i (func (param i32) (result i32)))
  (type $step (func (param i64 i64) (result i64)))
  (table $t 2 (ref null $i2i) (ref.func $double))
  (elem declare func $double $inc $ping $pong)
  (func $double (type $i2i) local.get 0 i32.const 2 i32.mul)
  (func $inc (type $i2i) local.get 0 i32.const 1 i32.add)
  (func (export "call_ref") (param i32 i32) (result i32)
    (local $f (ref $i2i))
    local.get 0
    if (result (ref $i2i)) ref.func $double else ref.func $inc end
    local.set $f
    local.get 1 local.get $f call_ref $i2i)
  (func (export "call_null") (param i32) (result i32)
    local.get 0 ref.null $i2i call_ref $i2i)
  (func (export "from_table") (param i32 i32) (result i32)
    local.get 1 local.get 0 table.get $t ref.as_non_null call_ref $i2i)
  (func (export "on_null") (param i32) (result i32)
    (block $null
      local.get 0
      if (result (ref null $i2i)) ref.func $inc else ref.null $i2i end
      br_on_null $null
      drop
      i32.const 1
      return)
    i32.const 0)
  (func (export "on_non_null") (param i32) (result i32)
    (local $r (ref $i2i))
    (block $some (result (ref $i2i))
      local.get 0
      if (result (ref null $i2i)) ref.func $inc else ref.null $i2i end
      br_on_non_null $some
      i32.const -1
      return)
    local.set $r
    i32.const 10 local.get $r call_ref $i2i drop
    i32.const 2)
  (func $ping (export "ping") (type $step)
    local.get 0 i64.eqz if local.get 1 return end
    local.get 0 i64.const 1 i64.sub
    local.get 1 i64.const 3 i64.add
    ref.func $pong return_call_ref $step)
  (func $pong (type $step)
    local.get 0 i64.eqz if local.get 1 return end
    local.get 0 i64.const 1 i64.sub
    local.get 1 i64.const 5 i64.xor
    ref.func $ping return_call_ref $step))"#;

fn expected_ping(n: u64) -> i64 {
    let mut acc: u64 = 0;
    for k in 0..n {
        acc = if k % 2 == 0 { acc + 3 } else { acc ^ 5 };
    }
    acc as i64
}

fn run_all(config: Config, n: u64) -> Vec<String> {
    set_function_references_enabled(true);
    let engine = Engine::new(config).unwrap();
    let mut store = Store::new(&engine);
    let module = Module::new(&engine, WAT).unwrap();
    let inst = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    let calls: Vec<(&str, Vec<Val>)> = vec![
        ("call_ref", vec![Val::I32(1), Val::I32(21)]),
        ("call_ref", vec![Val::I32(0), Val::I32(21)]),
        ("call_null", vec![Val::I32(3)]),
        ("from_table", vec![Val::I32(0), Val::I32(8)]),
        ("from_table", vec![Val::I32(1), Val::I32(8)]),
        ("from_table", vec![Val::I32(2), Val::I32(8)]),
        ("on_null", vec![Val::I32(0)]),
        ("on_null", vec![Val::I32(1)]),
        ("on_non_null", vec![Val::I32(0)]),
        ("on_non_null", vec![Val::I32(1)]),
        ("ping", vec![Val::I64(n as i64), Val::I64(0)]),
    ];
    calls
        .into_iter()
        .map(|(name, args)| {
            let f = inst.get_func(&store, name).unwrap();
            match f.call(&mut store, &args) {
                Ok(v) => format!("{name}{args:?} = {v:?}"),
                Err(Error::Runtime(e)) => format!("{name}{args:?} traps {:?}", e.code()),
                Err(e) => format!("{name}{args:?} error {e}"),
            }
        })
        .collect()
}

#[test]
fn typed_function_references_agree_on_every_configuration() {
    const N: u64 = 1_000_000;
    let expected = run_all(Config::default().tier(Tier::Interp), N);
    let want = [
        "call_ref[I32(1), I32(21)] = [I32(42)]".to_string(),
        "call_ref[I32(0), I32(21)] = [I32(22)]".into(),
        "call_null[I32(3)] traps NullFunctionReference".into(),
        "from_table[I32(0), I32(8)] = [I32(16)]".into(),
        "from_table[I32(1), I32(8)] = [I32(16)]".into(),
        "from_table[I32(2), I32(8)] traps TableOutOfBounds".into(),
        "on_null[I32(0)] = [I32(0)]".into(),
        "on_null[I32(1)] = [I32(1)]".into(),
        "on_non_null[I32(0)] = [I32(-1)]".into(),
        "on_non_null[I32(1)] = [I32(2)]".into(),
        format!("ping[I64({N}), I64(0)] = [I64({})]", expected_ping(N)),
    ];
    assert_eq!(expected, want);
    for NamedConfig { name, config } in configurations() {
        assert_eq!(run_all(config, N), expected, "{name}");
    }
}

#[test]
fn return_call_ref_between_an_interpreted_and_a_compiled_function() {
    const N: u64 = 10_000_000;
    for bounds in BOUNDS_MODES {
        for spec in ["mixed:funcs=ping", "mixed:funcs=pong"] {
            let config = Config::default()
                .tier_spec(spec)
                .unwrap()
                .bounds_checks(bounds);
            let got = run_all(config, N);
            assert_eq!(
                got.last().unwrap(),
                &format!("ping[I64({N}), I64(0)] = [I64({})]", expected_ping(N)),
                "{spec} {bounds:?}"
            );
        }
    }
}

/// The API writes into typed globals and tables, and passes typed parameters, only values
/// of the precise type: compiled code trusts `(ref $t)` (call_ref checks for null only).
#[test]
fn api_checks_values_of_typed_reference_types() {
    let engine = Engine::new(Config::default()).unwrap();
    let mut store = Store::new(&engine);
    let module = Module::new(
        &engine,
        r#"(module
          (type $i2i (func (param i32) (result i32)))
          (type $other (func (param i64) (result i64)))
          (func $double (export "double") (type $i2i) local.get 0 i32.const 2 i32.mul)
          (func $other (export "other") (type $other) local.get 0)
          (global (export "g") (mut (ref $i2i)) (ref.func $double))
          (global (export "gn") (mut (ref null $i2i)) (ref.null $i2i))
          (table (export "t") 1 (ref null $i2i))
          (func (export "apply") (param (ref $i2i)) (param i32) (result i32)
            local.get 1 local.get 0 call_ref $i2i))"#,
    )
    .unwrap();
    let inst = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    let double = inst.get_func(&store, "double").unwrap();
    let other = inst.get_func(&store, "other").unwrap();
    let g = inst.get_global(&store, "g").unwrap();
    let gn = inst.get_global(&store, "gn").unwrap();
    let t = inst.get_table(&store, "t").unwrap();
    let apply = inst.get_func(&store, "apply").unwrap();

    assert!(g.set(&mut store, Val::FuncRef(None)).is_err());
    assert!(g.set(&mut store, Val::FuncRef(Some(other))).is_err());
    g.set(&mut store, Val::FuncRef(Some(double))).unwrap();
    gn.set(&mut store, Val::FuncRef(None)).unwrap();
    assert!(gn.set(&mut store, Val::FuncRef(Some(other))).is_err());
    assert!(t.set(&mut store, 0, Val::FuncRef(Some(other))).is_err());
    t.set(&mut store, 0, Val::FuncRef(Some(double))).unwrap();
    assert!(t.grow(&mut store, 1, Val::FuncRef(Some(other))).is_err());
    assert!(apply
        .call(&mut store, &[Val::FuncRef(None), Val::I32(1)])
        .is_err());
    assert!(apply
        .call(&mut store, &[Val::FuncRef(Some(other)), Val::I32(1)])
        .is_err());
    let r = apply
        .call(&mut store, &[Val::FuncRef(Some(double)), Val::I32(21)])
        .unwrap();
    assert_eq!(r, vec![Val::I32(42)]);
    assert!(apply.typed::<(Option<Func>, i32), i32>(&store).is_err());
    let g_ty = g.ty(&store);
    assert_eq!(g_ty.content, ValType::FuncRef);
    assert!(g_ty.typed.is_some_and(|r| !r.nullable));
}
