//! The callee-saved registers of optimized code (docs/abi.md §8: rbx, and r12 in guard-page
//! mode) across every way a frame is left: returns, tail calls, calls into baseline code,
//! and exceptions that abandon optimized frames which changed them, caught by a baseline
//! frame that then returns to an optimized caller (the unwinder puts back what the abandoned
//! frames saved). The module runs in the optimizing tier with the catching function swapped
//! to its baseline code; every result must equal the interpreter's.

use strata::*;
use strata_vm::tiering::LEVEL_OPT;

const MODULE: &str = r#"(module
  (tag $e (param i32))
  (func $leaf (param i32) (result i32) local.get 0 i32.const 1 i32.add)

  ;; Keeps three values across a call (callee-saved registers), then throws.
  (func $opt_thrower (param i32) (result i32)
    (local i32 i32 i32)
    local.get 0 i32.const 3 i32.mul local.set 1
    local.get 0 i32.const 5 i32.xor local.set 2
    local.get 0 i32.const 7 i32.add local.set 3
    local.get 0 call $leaf
    local.get 1 i32.add local.get 2 i32.mul local.get 3 i32.xor
    throw $e)

  ;; Catches (swapped to baseline code by the test).
  (func $catcher (param i32) (result i32)
    (block $c (result i32)
      (try_table (result i32) (catch $e $c) local.get 0 call $opt_thrower)
      return)
    i32.const 1000 i32.add)

  ;; Keeps values across a call, then leaves by a tail call.
  (func $opt_tailer (param i32) (result i32)
    (local i32 i32 i32)
    local.get 0 i32.const 9 i32.mul local.set 1
    local.get 0 i32.const 6 i32.xor local.set 2
    local.get 0 i32.const 2 i32.add local.set 3
    local.get 0 call $leaf
    local.get 1 i32.add local.get 2 i32.mul local.get 3 i32.xor
    return_call $leaf)

  ;; The caller whose values must survive all of the above.
  (func (export "outer") (param i32) (result i32)
    (local i32 i32 i32 i32 i32)
    local.get 0 i32.const 11 i32.mul local.set 1
    local.get 0 i32.const 13 i32.add local.set 2
    local.get 0 i32.const 17 i32.xor local.set 3
    local.get 0 i32.const 19 i32.sub local.set 5
    local.get 0 call $catcher local.set 4
    local.get 1 local.get 2 i32.add local.get 3 i32.add local.get 4 i32.add local.get 5 i32.add
    local.get 0 call $opt_tailer i32.add
    local.get 0 call $catcher i32.add
    local.get 1 i32.mul local.get 2 i32.add local.get 3 i32.xor local.get 5 i32.sub)

  ;; A loop with several values live across each call.
  (func (export "loop") (param i32) (result i32)
    (local $i i32) (local $a i32) (local $b i32) (local $c i32)
    local.get 0 local.set $b
    (loop $l
      local.get $a local.get $i call $leaf i32.add local.set $a
      local.get $b local.get $a call $catcher i32.xor local.set $b
      local.get $c local.get $b i32.add local.get $i i32.add local.set $c
      local.get $i i32.const 1 i32.add local.tee $i
      local.get 0 i32.lt_u br_if $l)
    local.get $a local.get $b i32.add local.get $c i32.add)
)"#;

fn run(config: Config, baseline_catcher: bool) -> Vec<String> {
    let bounds = config.bounds_checks;
    let engine = Engine::new(config).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    if baseline_catcher {
        let env = module.env().clone();
        let def = |name: &str| {
            env.func_names
                .iter()
                .find(|(_, n)| n.as_str() == name)
                .map(|(i, _)| i - env.num_imported_funcs)
                .unwrap()
        };
        for f in ["opt_thrower", "opt_tailer"] {
            assert_eq!(
                strata_tiers::tier::ready_level(&env, def(f)),
                LEVEL_OPT,
                "{f}"
            );
        }
        let baseline = strata_tiers::baseline::BaselineModule::of(&env, bounds).unwrap();
        let d = def("catcher");
        // The register-entry slot gets the spill thunk back, so optimized callers reach the
        // baseline code too.
        strata_tiers::jit::reg_args::set_code_slot(&env, d, baseline.entry(d));
    }
    let mut out = Vec::new();
    for (name, arg) in [("outer", 5), ("outer", 1234567), ("loop", 100), ("loop", 7)] {
        let f = instance.get_func(&store, name).unwrap();
        out.push(match f.call(&mut store, &[Val::I32(arg)]) {
            Ok(v) => format!("{name}({arg}) = {v:?}"),
            Err(e) => format!("{name}({arg}) fails: {e}"),
        });
    }
    out
}

#[test]
fn callee_saved_registers_survive_returns_tail_calls_and_exceptions() {
    let want = run(Config::default().tier(Tier::Interp), false);
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        for baseline_catcher in [false, true] {
            let config = Config::default().tier(Tier::Opt).bounds_checks(bounds);
            let got = run(config, baseline_catcher);
            assert_eq!(
                got, want,
                "{bounds:?}, baseline catcher: {baseline_catcher}"
            );
        }
    }
}
