//! Calls across tiers: every registered tier alone, and every subset of a module's functions
//! compiled by the baseline (the rest interpreted), must behave exactly like the interpreter, for direct, indirect,
//! cross-instance and host calls, multi-value results, traps and recursion.

use strata::conformance::{single_tiers, NamedConfig, BOUNDS_MODES};
use strata::*;

const LIB: &str = r#"(module
  (func (export "mv") (param i32) (result i32 i64)
    local.get 0 i32.const 7 i32.mul
    local.get 0 i64.extend_i32_s i64.const 3 i64.shl))"#;

const MAIN: &str = r#"(module
  (type $mv (func (param i32) (result i32 i64)))
  (import "lib" "mv" (func $lib_mv (type $mv)))
  (import "env" "host" (func $host (param i32) (result i32)))
  (table 5 funcref)
  (elem (i32.const 0) $a $b $lib_mv $even $div)
  (func $a (type $mv) local.get 0 i32.const 1 i32.add local.get 0 i64.extend_i32_u)
  (func $b (type $mv) local.get 0 i32.const 2 i32.sub local.get 0 i64.extend_i32_s i64.const -1 i64.mul)
  (func $sum (param i32) (result i64)
    (local i64)
    local.get 0 call $a local.set 1 i64.extend_i32_s local.get 1 i64.add
    local.get 0 call $b local.set 1 i64.extend_i32_s local.get 1 i64.add i64.add
    local.get 0 call $lib_mv local.set 1 i64.extend_i32_s local.get 1 i64.add i64.add)
  (func $indirect (export "indirect") (param i32 i32) (result i64)
    (local i64)
    local.get 0 local.get 1 call_indirect (type $mv)
    local.set 2 i64.extend_i32_s local.get 2 i64.add)
  (func $even (param i32) (result i32 i64)
    local.get 0 i32.eqz if i32.const 1 i64.const 0 return end
    local.get 0 i32.const 1 i32.sub call $odd i64.const 1 i64.add)
  (func $odd (param i32) (result i32 i64)
    local.get 0 i32.eqz if i32.const 0 i64.const 0 return end
    local.get 0 i32.const 1 i32.sub call $even i64.const 1 i64.add)
  (func (export "parity") (param i32) (result i32 i64) local.get 0 call $even)
  (func (export "sum") (param i32) (result i64) local.get 0 call $sum)
  (func (export "host") (param i32) (result i32) local.get 0 call $host i32.const 1 i32.add)
  (func $div (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 call $div)
  (func $deep (export "deep") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add call $deep))"#;

/// Names of MAIN's defined functions, in order.
const FUNCS: [&str; 9] = [
    "a",
    "b",
    "sum",
    "indirect",
    "even",
    "odd",
    "parity-export",
    "div",
    "deep",
];

fn run_all(config: Config) -> Vec<String> {
    let engine = Engine::new(config).unwrap();
    let mut store = Store::new(&engine);
    let lib = Module::new(&engine, LIB).unwrap();
    let lib = Instance::new(&mut store, &lib, &Imports::new()).unwrap();
    let host = Func::new(
        &mut store,
        FuncType::new([ValType::I32], [ValType::I32]),
        |_, args, results| {
            results[0] = Val::I32(args[0].i32().unwrap().wrapping_mul(3));
            Ok(())
        },
    );
    let mut imports = Imports::new();
    imports.define_instance(&store, "lib", &lib);
    imports.define("env", "host", host);
    let main = Module::new(&engine, MAIN).unwrap();
    let inst = Instance::new(&mut store, &main, &imports).unwrap();
    let calls: Vec<(&str, Vec<Val>)> = vec![
        ("sum", vec![Val::I32(5)]),
        ("sum", vec![Val::I32(-9)]),
        ("indirect", vec![Val::I32(10), Val::I32(0)]),
        ("indirect", vec![Val::I32(10), Val::I32(1)]),
        ("indirect", vec![Val::I32(10), Val::I32(2)]),
        ("indirect", vec![Val::I32(10), Val::I32(3)]),
        ("indirect", vec![Val::I32(10), Val::I32(4)]),
        ("indirect", vec![Val::I32(10), Val::I32(9)]),
        ("parity", vec![Val::I32(7)]),
        ("parity", vec![Val::I32(1000)]),
        ("host", vec![Val::I32(14)]),
        ("div", vec![Val::I32(9), Val::I32(2)]),
        ("div", vec![Val::I32(9), Val::I32(0)]),
        ("deep", vec![Val::I32(0)]),
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
fn every_subset_of_compiled_functions_matches_the_interpreter() {
    let expected = run_all(Config::default().tier(Tier::Interp));
    assert!(
        expected.iter().any(|l| l.contains("StackOverflow")),
        "{expected:#?}"
    );
    assert!(expected.iter().any(|l| l.contains("IntegerDivisionByZero")));
    assert!(expected.iter().any(|l| l.contains("BadSignature")));
    assert!(expected.iter().any(|l| l.contains("UndefinedElement")));
    // Every registered single tier, alone, agrees.
    for NamedConfig { name, config } in single_tiers() {
        assert_eq!(run_all(config), expected, "{name}");
    }
    // Function indices of MAIN's defined functions start after its two imports.
    let n = FUNCS.len() as u32;
    for mask in 0..(1u32 << n) {
        let funcs: Vec<String> = (0..n)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| (i + 2).to_string())
            .collect();
        for bounds in BOUNDS_MODES {
            let config = Config::default()
                .tier_spec(&format!("mixed:funcs={}", funcs.join(",")))
                .unwrap()
                .bounds_checks(bounds);
            assert_eq!(
                run_all(config),
                expected,
                "compiled functions {funcs:?}, {bounds:?}"
            );
        }
    }
}

#[test]
fn mixed_seeds_and_specs_parse() {
    assert_eq!(
        "mixed:42".parse::<Tier>().unwrap(),
        Tier::Mixed { seed: 42 }
    );
    assert!("mixed:x".parse::<Tier>().is_err());
    let c = Config::default().tier_spec("mixed:funcs=3,foo").unwrap();
    assert!(c.mixed_compiles(3, None));
    assert!(c.mixed_compiles(9, Some("foo")));
    assert!(!c.mixed_compiles(4, Some("bar")));
    // A seed compiles some functions and interprets others.
    let c = Config::default().tier(Tier::Mixed { seed: 7 });
    let compiled = (0..64).filter(|&f| c.mixed_compiles(f, None)).count();
    assert!((16..48).contains(&compiled), "{compiled}");
}

/// A trap's wasm backtrace is the same whichever tier runs each frame, including traps
/// raised by the guard-page signal handler (out-of-bounds load) and by explicit checks.
#[test]
fn backtraces_agree_across_tiers() {
    let wat = r#"(module $bt
        (memory 1)
        (func $leaf (param i32) (result i32) local.get 0 i32.load)
        (func $middle (param i32) (result i32) local.get 0 call $leaf i32.const 1 i32.add)
        (func $top (export "top") (param i32) (result i32) local.get 0 call $middle)
        (func $div (param i32) (result i32) i32.const 1 local.get 0 i32.div_u)
        (func $via (export "via") (param i32) (result i32) local.get 0 call $div))"#;
    let trace = |config: Config, export: &str, arg: i32| {
        let engine = Engine::new(config).unwrap();
        let mut store = Store::new(&engine);
        let m = Module::new(&engine, wat).unwrap();
        let inst = Instance::new(&mut store, &m, &Imports::new()).unwrap();
        let f = inst.get_func(&store, export).unwrap();
        match f.call(&mut store, &[Val::I32(arg)]) {
            Err(Error::Runtime(e)) => {
                let names: Vec<String> = e.backtrace().iter().map(|f| f.to_string()).collect();
                format!("{:?} {}", e.code(), names.join(" < "))
            }
            other => panic!("expected a trap, got {other:?}"),
        }
    };
    for (export, arg) in [("top", 70_000), ("via", 0)] {
        let expected = trace(Config::default(), export, arg);
        assert!(expected.contains("bt!"), "{expected}");
        for NamedConfig { name, config } in single_tiers() {
            assert_eq!(trace(config, export, arg), expected, "{name}");
        }
        for bounds in BOUNDS_MODES {
            for spec in [
                "mixed:funcs=0",
                "mixed:funcs=1",
                "mixed:funcs=0,2",
                "mixed:funcs=3",
            ] {
                let config = Config::default()
                    .tier_spec(spec)
                    .unwrap()
                    .bounds_checks(bounds);
                assert_eq!(trace(config, export, arg), expected, "{spec} {bounds:?}");
            }
        }
    }
}
