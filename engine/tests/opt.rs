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

/// The register changes of docs/abi.md §8 (r10 allocatable, r11 the only scratch register
/// elsewhere): a loop with more live values than registers around a `br_table`, shifts by
/// a register (BMI2), accesses sharing one index at several offsets with the explicit
/// check's moving r11 (and offsets past 2^31), division traps, `copysign`, float `eq`/`ne`
/// on NaN, the unsigned 64-bit conversion and globals, against the interpreter.
const REGS_WAT: &str = r#"
(module
  (memory 1)
  (global $gi (mut i32) (i32.const 7))
  (global $gf (mut f64) (f64.const 0.5))
  (func (export "switch") (param $n i32) (result i64)
    (local $i i32) (local $a i64) (local $b i64) (local $c i64) (local $d i64)
    (local $e i64) (local $f i64) (local $g i64) (local $h i64) (local $k i32)
    (local.set $a (i64.const 1)) (local.set $b (i64.const 2)) (local.set $c (i64.const 3))
    (local.set $d (i64.const 4)) (local.set $e (i64.const 5)) (local.set $f (i64.const 6))
    (local.set $g (i64.const 7)) (local.set $h (i64.const 8))
    (loop $l
      (local.set $k (i32.rem_u (i32.mul (local.get $i) (i32.const 7)) (i32.const 11)))
      (block $d9 (block $d8 (block $d7 (block $d6 (block $d5 (block $d4 (block $d3
      (block $d2 (block $d1 (block $d0
        (br_table $d0 $d1 $d2 $d3 $d4 $d5 $d6 $d7 $d8 $d9 (local.get $k)))
        (local.set $a (i64.add (local.get $a) (local.get $h))) (br $d9))
        (local.set $b (i64.xor (local.get $b) (local.get $a))) (br $d9))
        (local.set $c (i64.shl (local.get $c) (i64.extend_i32_u (local.get $k)))) (br $d9))
        (local.set $d (i64.shr_s (local.get $d) (local.get $b))) (br $d9))
        (local.set $e (i64.rotl (local.get $e) (local.get $c))) (br $d9))
        (local.set $f (i64.div_s (local.get $f) (i64.or (local.get $d) (i64.const 1)))) (br $d9))
        (local.set $g (i64.rem_u (local.get $g) (i64.or (local.get $e) (i64.const 3)))) (br $d9))
        (local.set $h (i64.shr_u (local.get $h) (local.get $a))) (br $d9))
        (local.set $a (i64.mul (local.get $a) (i64.const 31))))
      (local.set $b (i64.add (local.get $b) (i64.extend_i32_u (local.get $k))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                          (local.get $n))))
    (i64.add (i64.add (i64.add (local.get $a) (local.get $b)) (i64.add (local.get $c) (local.get $d)))
             (i64.add (i64.add (local.get $e) (local.get $f)) (i64.add (local.get $g) (local.get $h)))))
  (func (export "shifts") (param $x i32) (param $y i64) (param $s i32) (result i64)
    (i64.add
      (i64.extend_i32_u (i32.xor (i32.xor (i32.shl (local.get $x) (local.get $s))
                                          (i32.shr_s (local.get $x) (local.get $s)))
                                 (i32.shr_u (local.get $x) (local.get $s))))
      (i64.xor (i64.xor (i64.shl (local.get $y) (i64.extend_i32_s (local.get $s)))
                        (i64.shr_s (local.get $y) (i64.extend_i32_s (local.get $s))))
               (i64.shr_u (local.get $y) (i64.extend_i32_u (local.get $s))))))
  (func (export "shared") (param $a i32) (result i64)
    (i32.store offset=4 (local.get $a) (i32.const 0x01020304))
    (i64.add
      (i64.add (i64.load32_u (local.get $a)) (i64.load offset=4 (local.get $a)))
      (i64.add (i64.load16_s offset=2 (local.get $a)) (i64.load8_u offset=65000 (local.get $a)))))
  (func (export "far") (param $a i32) (result i32)
    (i32.load offset=0x80000000 (local.get $a)))
  (func (export "div") (param $x i64) (param $y i64) (result i64)
    (i64.add (i64.div_s (local.get $x) (local.get $y)) (i64.rem_s (local.get $x) (local.get $y))))
  (func (export "div32") (param $x i32) (param $y i32) (result i32)
    (i32.add (i32.div_s (local.get $x) (local.get $y)) (i32.rem_u (local.get $x) (local.get $y))))
  (func (export "floats") (param $x f64) (param $y f32) (result i32)
    (i32.add
      (i32.add (f64.eq (local.get $x) (local.get $x)) (i32.shl (f64.ne (local.get $x) (local.get $x)) (i32.const 1)))
      (i32.add (i32.shl (f32.eq (local.get $y) (local.get $y)) (i32.const 2))
               (i32.add (i32.shl (f32.ne (local.get $y) (f32.const 1)) (i32.const 3))
                        (i32.shl (f32.lt (f32.copysign (f32.const 2) (local.get $y)) (f32.const 0)) (i32.const 4))))))
  (func (export "sign") (param $x f64) (param $y f64) (result i64)
    (i64.reinterpret_f64 (f64.copysign (local.get $x) (local.get $y))))
  (func (export "conv") (param $x i64) (result f64)
    (global.set $gf (f64.add (global.get $gf) (f64.convert_i64_u (local.get $x))))
    (global.set $gi (i32.add (global.get $gi) (i32.wrap_i64 (local.get $x))))
    (f64.add (global.get $gf) (f64.convert_i32_u (global.get $gi))))
)
"#;

fn run_regs(tier: Tier, bounds: BoundsChecks) -> Vec<String> {
    let engine = Engine::new(Config::default().tier(tier).bounds_checks(bounds)).unwrap();
    let mut store = Store::new(&engine);
    let module = Module::new(&engine, REGS_WAT).unwrap();
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    let calls: Vec<(&str, Vec<Val>)> = vec![
        ("switch", vec![Val::I32(1000)]),
        (
            "shifts",
            vec![Val::I32(-12345), Val::I64(-0x1234_5678_9abc), Val::I32(37)],
        ),
        (
            "shifts",
            vec![
                Val::I32(0x7fff_0001),
                Val::I64(0x1234_5678_9abc),
                Val::I32(-1),
            ],
        ),
        ("shared", vec![Val::I32(16)]),
        ("shared", vec![Val::I32(535)]),
        ("shared", vec![Val::I32(536)]),
        ("shared", vec![Val::I32(65532)]),
        ("far", vec![Val::I32(0)]),
        ("far", vec![Val::I32(-1)]),
        ("div", vec![Val::I64(i64::MIN), Val::I64(-1)]),
        ("div", vec![Val::I64(-7), Val::I64(2)]),
        ("div", vec![Val::I64(7), Val::I64(0)]),
        ("div32", vec![Val::I32(i32::MIN), Val::I32(-1)]),
        ("div32", vec![Val::I32(i32::MIN), Val::I32(3)]),
        ("floats", vec![Val::f64(f64::NAN), Val::f32(-0.0)]),
        ("floats", vec![Val::f64(2.0), Val::f32(f32::NAN)]),
        ("floats", vec![Val::f64(2.0), Val::f32(1.0)]),
        ("sign", vec![Val::f64(3.0), Val::f64(-0.0)]),
        ("sign", vec![Val::f64(-3.0), Val::f64(f64::NAN)]),
        ("conv", vec![Val::I64(-1)]),
        ("conv", vec![Val::I64(i64::MIN | 0x401)]),
        ("conv", vec![Val::I64(12345)]),
    ];
    let mut out = Vec::new();
    for (name, args) in calls {
        let f = instance.get_func(&store, name).unwrap();
        out.push(match f.call(&mut store, &args) {
            Ok(v) => format!("{name}{args:?} = {v:?}"),
            Err(e) => format!("{name}{args:?} traps: {e}"),
        });
    }
    out
}

#[test]
fn opt_registers_and_jump_tables_agree_with_the_interpreter() {
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let want = run_regs(Tier::Interp, bounds);
        assert!(want.iter().any(|r| r.contains("traps")), "{want:?}");
        assert_eq!(run_regs(Tier::Opt, bounds), want, "{bounds:?}");
    }
}

/// A leaf omits the prologue's value-stack check when its frame fits the value stack's red
/// zone (docs/abi.md §4). Called at every depth up to the end of a small value stack, it
/// writes its spill cells past the end into the zone: every call either returns the right
/// value or is "call stack exhausted" in the caller's prologue, never a crash.
#[test]
fn leaf_frames_at_the_value_stack_end_use_the_red_zone() {
    let wat = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wat/leaf_red_zone.wat");
    // The leaf's value: l0 = 3, l1 = 4, l(k+2) = l(k+1)^2 xor (k+1), summed (wrapping).
    let mut l = vec![3u64, 4];
    for k in 0..24u64 {
        let last = l[l.len() - 1];
        l.push(last.wrapping_mul(last) ^ (k + 1));
    }
    let leaf = l.iter().fold(0u64, |a, &b| a.wrapping_add(b));
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let mut config = Config::default().tier(Tier::Opt).bounds_checks(bounds);
        config.max_stack_cells = 1024;
        let engine = Engine::new(config).unwrap();
        let mut store = Store::new(&engine);
        let module = Module::new(&engine, std::fs::read_to_string(wat).unwrap()).unwrap();
        let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
        let rec = instance.get_func(&store, "rec").unwrap();
        let (mut ok, mut exhausted) = (0, 0);
        for n in 0..1024 {
            match rec.call(&mut store, &[Val::I32(n)]) {
                Ok(v) => {
                    assert_eq!(v, vec![Val::I64(leaf.wrapping_add(n as u64) as i64)]);
                    ok += 1;
                }
                Err(e) => {
                    assert!(e.to_string().contains("call stack exhausted"), "{n}: {e}");
                    exhausted += 1;
                }
            }
        }
        assert!(
            ok > 100 && exhausted > 100,
            "{ok} returned, {exhausted} exhausted"
        );
        let env = module.env().clone();
        for d in 0..env.num_defined_funcs() as u32 {
            assert_eq!(strata_tiers::tier::ready_level(&env, d), LEVEL_OPT);
        }
    }
}
