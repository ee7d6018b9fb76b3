//! The optimizing tier runs the code itself (no function falls back to the baseline) and
//! agrees with the interpreter, in both bounds-check modes. What every tier must do is in
//! `tiers.rs` and the spec suites, which run on every registered tier, this one included.

use strata::*;
use strata_vm::tiering::LEVEL_OPT;

const WAT: &str = r#"
(module
  (type $ii (func (param i32) (result i32)))
  (memory 1)
  (global $g (mut i64) (i64.const 5))
  (table 2 funcref)
  (elem (i32.const 0) $sq $neg)
  (func $sq (type $ii) local.get 0 local.get 0 i32.mul)
  (func $neg (type $ii) i32.const 0 local.get 0 i32.sub)
  ;; loops, locals, br_if, calls, division
  (func (export "sum") (param $n i32) (result i32) (local $i i32) (local $s i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $s) (call $sq (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.div_s (local.get $s) (i32.const 3)))
  ;; memory, globals, i64, shifts
  (func (export "mem") (param $a i32) (param $v i64) (result i64)
    (i64.store offset=8 (local.get $a) (i64.shl (local.get $v) (i64.const 3)))
    (global.set $g (i64.add (global.get $g) (i64.load offset=8 (local.get $a))))
    (i64.rotr (global.get $g) (i64.extend_i32_u (local.get $a))))
  ;; floats, conversions, select
  (func (export "flt") (param $x f64) (param $y f32) (result i64)
    (i64.trunc_sat_f64_s
      (f64.add
        (f64.min (local.get $x) (f64.promote_f32 (local.get $y)))
        (select (f64.sqrt (f64.abs (local.get $x))) (f64.const 1.5)
                (f64.lt (local.get $x) (f64.const 0))))))
  ;; br_table and call_indirect
  (func (export "tab") (param $k i32) (param $v i32) (result i32)
    (block $b2 (block $b1 (block $b0
      (br_table $b0 $b1 $b2 (local.get $k)))
      (return (call_indirect (type $ii) (local.get $v) (i32.const 0))))
      (return (call_indirect (type $ii) (local.get $v) (i32.const 1))))
    (i32.rem_u (local.get $v) (i32.const 7)))
  (func (export "grow") (param $d i32) (result i32)
    (drop (memory.grow (local.get $d)))
    (memory.size))
  (func (export "oob") (param $a i32) (result i32)
    (i32.load (local.get $a)))
)
"#;

fn run(tier: Tier, bounds: BoundsChecks) -> (Vec<String>, Option<Module>) {
    let engine = Engine::new(Config::default().tier(tier).bounds_checks(bounds)).unwrap();
    let mut store = Store::new(&engine);
    let module = Module::new(&engine, WAT).unwrap();
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    let calls: Vec<(&str, Vec<Val>)> = vec![
        ("sum", vec![Val::I32(100)]),
        ("sum", vec![Val::I32(0)]),
        ("mem", vec![Val::I32(16), Val::I64(-7)]),
        ("mem", vec![Val::I32(65528), Val::I64(1)]),
        ("flt", vec![Val::f64(-2.25), Val::f32(3.5)]),
        ("flt", vec![Val::f64(9.0), Val::f32(f32::NAN)]),
        ("flt", vec![Val::f64(1e300), Val::f32(1e30)]),
        ("tab", vec![Val::I32(0), Val::I32(12)]),
        ("tab", vec![Val::I32(1), Val::I32(12)]),
        ("tab", vec![Val::I32(9), Val::I32(12)]),
        ("grow", vec![Val::I32(2)]),
        ("oob", vec![Val::I32(-1)]),
        ("oob", vec![Val::I32(8)]),
    ];
    let mut out = Vec::new();
    for (name, args) in calls {
        let f = instance.get_func(&store, name).unwrap();
        out.push(match f.call(&mut store, &args) {
            Ok(v) => format!("{name}{args:?} = {v:?}"),
            Err(e) => format!("{name}{args:?} traps: {e}"),
        });
    }
    (out, Some(module))
}

#[test]
fn opt_code_runs_every_function_and_agrees_with_the_interpreter() {
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let (want, _) = run(Tier::Interp, bounds);
        let (got, module) = run(Tier::Opt, bounds);
        assert_eq!(got, want, "{bounds:?}");
        let env = module.unwrap().env().clone();
        for d in 0..env.num_defined_funcs() as u32 {
            assert_eq!(
                strata_tiers::tier::ready_level(&env, d),
                LEVEL_OPT,
                "function {d} fell back to the baseline ({bounds:?})"
            );
        }
    }
}

/// The optimizing tier's code depends only on the module: compiling benches/programs'
/// large.wasm twice gives the same bytes for every function. The second pass runs on
/// another thread and in reverse order, so per-thread state (regalloc2's reused context)
/// and hash orders that differ between runs would show; the mid-end's limits count work,
/// not time, so a loaded machine does not change the code either.
#[test]
fn opt_code_is_deterministic() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../benches/programs/large.wasm"
    );
    let bytes = std::fs::read(path).unwrap();
    let engine = Engine::new(Config::default().tier(Tier::Interp)).unwrap();
    let module = Module::new(&engine, &bytes).unwrap();
    let env = module.env().clone();
    let n = env.num_defined_funcs() as u32;
    let compile = |env: &strata_vm::Module, d: u32| {
        strata_tiers::opt::function_code(env, d, BoundsChecks::GuardPages)
            .unwrap_or_else(|e| panic!("function {d}: {e}"))
    };
    let first: Vec<Vec<u8>> = (0..n).map(|d| compile(&env, d)).collect();
    let env2 = env.clone();
    let mut second: Vec<Vec<u8>> =
        std::thread::spawn(move || (0..n).rev().map(|d| compile(&env2, d)).collect())
            .join()
            .unwrap();
    second.reverse();
    assert!(n > 1000, "large.wasm has {n} functions");
    for d in 0..n as usize {
        assert!(
            first[d] == second[d],
            "function {d}: the two compiles differ"
        );
    }
}
