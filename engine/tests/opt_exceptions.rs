//! Exceptions with optimized frames on each side (docs/abi.md §10): thrown in code the
//! optimizing tier compiled and caught by an interpreted frame, thrown by an interpreted
//! frame and caught in optimized code, and optimized frames catching their own throws with
//! values live across the throw (restored from their spill cells at the landing block),
//! `try_table` and the legacy instructions alike. Mixed tiers compile exactly the `opt_`
//! functions (with the optimizing tier: the test checks that none fell back to the
//! baseline) and interpret the rest; every result must equal the interpreter's.

use strata::*;
use strata_vm::tiering::LEVEL_OPT;

const MODULE: &str = r#"(module
  (type $ti (func (param i32)))
  (tag $e (param i32))
  (tag $wide (param i64 f32 f64 v128))
  (tag $other)

  (func $opt_throw (type $ti) local.get 0 throw $e)
  (func $interp_throw (type $ti) local.get 0 throw $e)
  (elem declare func $opt_throw $interp_throw)
  (func $interp_throw_wide (param i32)
    local.get 0 i64.extend_i32_s i64.const 40 i64.shl
    local.get 0 f32.convert_i32_s f32.const 0.25 f32.add
    local.get 0 f64.convert_i32_s f64.const -1.5 f64.mul
    local.get 0 i32x4.splat
    throw $wide)
  (func $interp_throw_other throw $other)

  ;; Optimized throw, interpreted catch.
  (func (export "interp_catches_opt") (param i32) (result i32)
    (block $c (result i32)
      (try_table (catch $e $c) local.get 0 call $opt_throw)
      i32.const -1 return)
    i32.const 1000 i32.add)

  ;; Interpreted throw, optimized catch, with values live across the call in registers
  ;; before it (integer and float, one of them only used in the handler).
  (func $opt_catches_interp (export "opt_catches_interp") (param i32) (result i32)
    (local i32 f64)
    local.get 0 i32.const 3 i32.mul local.set 1
    local.get 0 f64.convert_i32_u f64.const 0.5 f64.add local.set 2
    (block $c (result i32)
      (try_table (catch $e $c)
        local.get 0 call $interp_throw)
      i32.const -1 return)
    local.get 1 i32.add
    local.get 2 i32.trunc_f64_u i32.add)

  ;; A wide payload (i64, f32, f64, v128) through the catch cells.
  (func $opt_catch_wide (export "opt_catch_wide") (param i32) (result i64)
    (local $v v128) (local $d f64) (local $f f32)
    (block $c (result i64 f32 f64 v128)
      (try_table (catch $wide $c) local.get 0 call $interp_throw_wide)
      i64.const -1 return)
    local.set $v local.set $d local.set $f
    local.get $d i64.trunc_f64_s i64.add
    local.get $f f32.const 4 f32.mul i64.trunc_f32_s i64.add
    local.get $v i32x4.extract_lane 3 i64.extend_i32_s i64.add)

  ;; Optimized code catching its own throw in a loop, with loop-carried values.
  (func $opt_loop (export "opt_loop") (param i32) (result i32)
    (local i32)
    (loop $l
      (block $c (result i32)
        (try_table (catch $e $c) local.get 0 throw $e)
        unreachable)
      local.get 1 i32.add local.set 1
      local.get 0 i32.const 1 i32.sub local.tee 0
      br_if $l)
    local.get 1)

  ;; catch_ref and throw_ref: the optimized frame rethrows what it caught; the
  ;; interpreted caller catches it (catch_all_ref keeps the object alive).
  (func $opt_rethrow (param i32) (result i32)
    (block $c (result exnref)
      (try_table (catch_all_ref $c) local.get 0 call $interp_throw)
      i32.const -1 return)
    throw_ref)
  (func (export "interp_catches_rethrow") (param i32) (result i32)
    (block $c (result i32 exnref)
      (try_table (catch_ref $e $c) local.get 0 call $opt_rethrow drop)
      i32.const -1 return)
    drop i32.const 7 i32.add)

  ;; A handler that does not match passes the exception on to the next frame.
  (func $opt_no_match (param i32) (result i32)
    (block $c
      (try_table (catch $other $c) local.get 0 call $interp_throw)
      i32.const -1 return)
    i32.const -2)
  (func (export "interp_catches_through_opt") (param i32) (result i32)
    (block $c (result i32)
      (try_table (result i32) (catch $e $c) local.get 0 call $opt_no_match)
      return)
    i32.const 1 i32.add)

  ;; Legacy: catch, catch_all, rethrow and delegate in optimized code.
  (func $opt_legacy (export "opt_legacy") (param i32) (result i32)
    (local i32)
    local.get 0 i32.const 5 i32.mul local.set 1
    try (result i32)
      try (result i32)
        local.get 0 call $interp_throw i32.const -1
      delegate 0
    catch $e
      local.get 1 i32.add
    catch_all
      i32.const -3
    end)
  (func $opt_legacy_rethrow (param i32) (result i32)
    try (result i32)
      local.get 0 call $interp_throw i32.const -1
    catch_all
      try (result i32)
        call $interp_throw_other i32.const -4
      catch $other
        rethrow 1
      end
    end)
  (func (export "interp_catches_legacy_rethrow") (param i32) (result i32)
    (block $c (result i32)
      (try_table (result i32) (catch $e $c) local.get 0 call $opt_legacy_rethrow)
      return)
    i32.const 100 i32.add)

  ;; A call_ref inside a try (an invoke_ref): odd arguments throw from optimized code,
  ;; even ones from an interpreted callee, with a value live across the call.
  (func $opt_call_ref (export "opt_call_ref") (param i32) (result i32)
    (local i32) (local $f (ref null $ti))
    local.get 0 i32.const 7 i32.mul local.set 1
    (local.set $f (ref.func $interp_throw))
    (if (i32.and (local.get 0) (i32.const 1)) (then (local.set $f (ref.func $opt_throw))))
    (block $c (result i32)
      (try_table (catch $e $c) (call_ref $ti (local.get 0) (local.get $f)))
      i32.const -1 return)
    local.get 1 i32.add)

  ;; Uncaught anywhere: the host sees the exception.
  (func (export "opt_uncaught") (param i32) local.get 0 call $opt_throw)
)"#;

/// The functions the mixed configurations compile (with the optimizing tier).
const OPT: [&str; 9] = [
    "opt_throw",
    "opt_catches_interp",
    "opt_catch_wide",
    "opt_loop",
    "opt_rethrow",
    "opt_no_match",
    "opt_legacy",
    "opt_legacy_rethrow",
    "opt_call_ref",
];

const CALLS: [(&str, i32); 11] = [
    ("interp_catches_opt", 5),
    ("opt_catches_interp", 9),
    ("opt_catch_wide", 3),
    ("opt_loop", 1000),
    ("interp_catches_rethrow", 11),
    ("interp_catches_through_opt", 4),
    ("opt_legacy", 6),
    ("interp_catches_legacy_rethrow", 2),
    ("opt_call_ref", 4),
    ("opt_call_ref", 5),
    ("opt_uncaught", 8),
];

fn run(config: Config) -> (Vec<String>, Module) {
    let engine = Engine::new(config).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    let mut out = Vec::new();
    // Twice: the second round runs what the first compiled or left behind.
    for _ in 0..2 {
        for (name, arg) in CALLS {
            let f = instance.get_func(&store, name).unwrap();
            out.push(match f.call(&mut store, &[Val::I32(arg)]) {
                Ok(v) => format!("{name}({arg}) = {v:?}"),
                Err(Error::Exception(_)) => format!("{name}({arg}) throws"),
                Err(e) => format!("{name}({arg}) fails: {e}"),
            });
        }
    }
    (out, module)
}

#[test]
fn exceptions_cross_optimized_and_interpreted_frames() {
    let (want, _) = run(Config::default().tier(Tier::Interp));
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        for egraph in ["", "off", "chaos=5"] {
            let mut config = Config::default()
                .tier(Tier::Mixed { seed: 0 })
                .bounds_checks(bounds);
            config.mixed_funcs = Some(OPT.iter().map(|s| s.to_string()).collect());
            config.egraph = egraph.into();
            let (got, module) = run(config);
            assert_eq!(got, want, "{bounds:?} {egraph:?}");
            let env = module.env().clone();
            for (i, name) in &env.func_names {
                let def = i - env.num_imported_funcs;
                let level = strata_tiers::tier::ready_level(&env, def);
                if OPT.contains(&name.as_str()) {
                    assert_eq!(level, LEVEL_OPT, "{name} is not optimized code");
                } else {
                    assert!(
                        !strata_tiers::jit::is_compiled(&env, def),
                        "{name} is compiled"
                    );
                }
            }
        }
    }
    // And the whole module in the optimizing tier.
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let (got, _) = run(Config::default().tier(Tier::Opt).bounds_checks(bounds));
        assert_eq!(got, want, "opt {bounds:?}");
    }
}
