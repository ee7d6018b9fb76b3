//! Tail calls (design.md §12): `return_call` and `return_call_indirect` run in constant stack
//! in every tier and between tiers. Ten million mutual tail calls between an interpreted and
//! a compiled function finish (the call-depth limit is 50,000 frames, so any frame left
//! behind per call would trap "call stack exhausted"), and give the interpreter's result.

use strata::conformance::{configurations, NamedConfig, BOUNDS_MODES};
use strata::tiering::{Decision, FuncState, TierLevel, TierPolicy, Verdict};
use strata::*;
use strata_vm::tiering::{LEVEL_BASELINE, LEVEL_INTERP, LEVEL_OPT};

/// `ping` and `pong` tail-call each other `n` times, directly or through the table; their
/// frames differ in size (pong has a third parameter and more locals), so every tail call
/// moves its arguments. `to_host` tail-calls a host function; `not_tail` recurses without
/// tail calls, to show the depth limit is real.
const WAT: &str = r#"(module
  (import "env" "host" (func $host (param i64) (result i64)))
  (type $ping (func (param i64 i64) (result i64)))
  (type $pong (func (param i64 i64 i32) (result i64)))
  (table 2 funcref)
  (elem (i32.const 0) $ping_i $pong_i)
  (func $ping (export "ping") (param i64 i64) (result i64)
    local.get 0 i64.eqz if local.get 1 return end
    local.get 0 i64.const 1 i64.sub
    local.get 1 i64.const 3 i64.add
    local.get 0 i32.wrap_i64
    return_call $pong)
  (func $pong (export "pong") (param i64 i64 i32) (result i64) (local i64 i64 i32)
    local.get 0 i64.eqz if local.get 1 return end
    local.get 0 i64.const 1 i64.sub
    local.get 1 i64.const 7 i64.mul local.get 2 i64.extend_i32_u i64.xor
    return_call $ping)
  (func $ping_i (export "ping_i") (param i64 i64) (result i64)
    local.get 0 i64.eqz if local.get 1 return end
    local.get 0 i64.const 1 i64.sub
    local.get 1 i64.const 3 i64.add
    local.get 0 i32.wrap_i64
    i32.const 1
    return_call_indirect (type $pong))
  (func $pong_i (export "pong_i") (param i64 i64 i32) (result i64) (local i64 i64 i32)
    local.get 0 i64.eqz if local.get 1 return end
    local.get 0 i64.const 1 i64.sub
    local.get 1 i64.const 7 i64.mul local.get 2 i64.extend_i32_u i64.xor
    i32.const 0
    return_call_indirect (type $ping))
  (func $to_host (export "to_host") (param i64) (result i64)
    local.get 0 i64.const 1 i64.add return_call $host)
  (func $not_tail (export "not_tail") (param i64) (result i64)
    local.get 0 i64.eqz if i64.const 0 return end
    local.get 0 i64.const 1 i64.sub call $not_tail i64.const 1 i64.add))"#;

/// What `ping`/`ping_i` return for `n` from 0.
fn expected(mut n: u64) -> i64 {
    let mut acc: u64 = 0;
    loop {
        if n == 0 {
            return acc as i64;
        }
        let k = n as u32;
        n -= 1;
        acc = acc.wrapping_add(3);
        if n == 0 {
            return acc as i64;
        }
        let next = n - 1;
        acc = acc.wrapping_mul(7) ^ k as u64;
        n = next;
    }
}

struct Run {
    store: Store,
    inst: Instance,
}

fn instantiate(config: Config) -> Run {
    let engine = Engine::new(config).unwrap();
    let mut store = Store::new(&engine);
    let host = Func::new(
        &mut store,
        FuncType::new([ValType::I64], [ValType::I64]),
        |_, args, results| {
            let x = args[0].i64().unwrap();
            if x == 100 {
                return Err(Trap::host("host says no"));
            }
            results[0] = Val::I64(x * 10);
            Ok(())
        },
    );
    let mut imports = Imports::new();
    imports.define("env", "host", host);
    let module = Module::new(&engine, WAT).unwrap();
    let inst = Instance::new(&mut store, &module, &imports).unwrap();
    Run { store, inst }
}

impl Run {
    fn call(&mut self, name: &str, args: &[Val]) -> String {
        let f = self.inst.get_func(&self.store, name).unwrap();
        match f.call(&mut self.store, args) {
            Ok(v) => format!("{v:?}"),
            Err(Error::Runtime(e)) => format!("trap {:?}", e.code()),
            Err(e) => format!("error {e}"),
        }
    }
}

fn ping(run: &mut Run, name: &str, n: u64) {
    let got = run.call(name, &[Val::I64(n as i64), Val::I64(0)]);
    assert_eq!(got, format!("{:?}", [Val::I64(expected(n))]), "{name}({n})");
}

#[test]
fn ten_million_tail_calls_between_an_interpreted_and_a_compiled_function() {
    const N: u64 = 10_000_000;
    for bounds in BOUNDS_MODES {
        // One of the pair compiled, the other interpreted, both ways round.
        for (spec, export) in [
            ("mixed:funcs=ping", "ping"),
            ("mixed:funcs=pong", "ping"),
            ("mixed:funcs=ping_i", "ping_i"),
            ("mixed:funcs=pong_i", "ping_i"),
        ] {
            let config = Config::default()
                .tier_spec(spec)
                .unwrap()
                .bounds_checks(bounds);
            let mut run = instantiate(config);
            ping(&mut run, export, N);
            // The same store keeps working, and its depth count is back at zero.
            ping(&mut run, export, 3);
        }
    }
}

/// Tiered execution that puts chosen functions in chosen tiers at their first call
/// (synchronously) and leaves every other function in the interpreter.
struct Pinned(Vec<(u32, TierLevel)>);

impl TierPolicy for Pinned {
    fn name(&self) -> String {
        "pinned".into()
    }
    fn synchronous(&self) -> bool {
        true
    }
    fn on_call(&self, f: &FuncState) -> Verdict {
        match self.0.iter().find(|(i, _)| *i == f.func_index) {
            Some(&(_, tier)) if f.ready < tier => Verdict {
                decision: Decision::Compile { tier, priority: 0 },
                next_check: 1,
            },
            _ => Verdict::wait(u64::MAX),
        }
    }
    fn on_backedge(&self, _: &FuncState, _: u32) -> Verdict {
        Verdict::wait(u64::MAX)
    }
}

#[test]
fn ten_million_tail_calls_between_an_optimized_function_and_another_tier() {
    const N: u64 = 10_000_000;
    // Function indices (the import is 0): ping 1, pong 2, ping_i 3, pong_i 4.
    let (opt, base) = (TierLevel::Opt, TierLevel::Baseline);
    let level = |t: Option<TierLevel>| match t {
        Some(TierLevel::Opt) => LEVEL_OPT,
        Some(TierLevel::Baseline) => LEVEL_BASELINE,
        _ => LEVEL_INTERP,
    };
    for bounds in BOUNDS_MODES {
        for (export, pair, tiers) in [
            ("ping", [1, 2], [Some(opt), None]),
            ("ping", [1, 2], [None, Some(opt)]),
            ("ping", [1, 2], [Some(opt), Some(base)]),
            ("ping_i", [3, 4], [Some(opt), None]),
            ("ping_i", [3, 4], [None, Some(opt)]),
            ("ping_i", [3, 4], [Some(base), Some(opt)]),
        ] {
            let pinned = pair
                .iter()
                .zip(tiers)
                .filter_map(|(&f, t)| t.map(|t| (f, t)))
                .collect();
            let config = Config::default()
                .tier(Tier::Tiered)
                .policy(Pinned(pinned))
                .bounds_checks(bounds);
            let what = format!("{export} {tiers:?} {bounds:?}");
            let mut run = instantiate(config);
            // First calls put each function where it belongs.
            let pong = if export == "ping" { "pong" } else { "pong_i" };
            let zero = [Val::I64(0), Val::I64(0), Val::I32(0)];
            assert_eq!(run.call(pong, &zero), "[I64(0)]", "{what}");
            ping(&mut run, export, 3);
            let env = run.inst.module(&run.store);
            for (f, t) in pair.iter().zip(tiers) {
                let def = f - env.num_imported_funcs;
                assert_eq!(
                    strata_tiers::tier::ready_level(&env, def),
                    level(t),
                    "{what}: function {f}"
                );
            }
            ping(&mut run, export, N);
            ping(&mut run, export, 3);
        }
    }
}

#[test]
fn tail_calls_run_in_constant_stack_in_every_configuration() {
    const N: u64 = 1_000_000;
    let mut configs = configurations();
    for bounds in BOUNDS_MODES {
        for spec in ["mixed:funcs=ping,pong,ping_i,pong_i", "mixed:funcs=to_host"] {
            configs.push(NamedConfig {
                name: format!("{spec}/{bounds:?}"),
                config: Config::default()
                    .tier_spec(spec)
                    .unwrap()
                    .bounds_checks(bounds),
            });
        }
    }
    for NamedConfig { name, config } in configs {
        let mut run = instantiate(config);
        for export in ["ping", "ping_i"] {
            for n in [0, 1, 2, 5, N] {
                let got = run.call(export, &[Val::I64(n as i64), Val::I64(0)]);
                assert_eq!(
                    got,
                    format!("{:?}", [Val::I64(expected(n))]),
                    "{name}: {export}({n})"
                );
            }
        }
        // A host function in tail position: its result, or its trap.
        assert_eq!(run.call("to_host", &[Val::I64(4)]), "[I64(50)]", "{name}");
        assert_eq!(
            run.call("to_host", &[Val::I64(99)]),
            "trap Host",
            "{name}: host trap"
        );
        // Calls that are not tail calls still reach the depth limit.
        assert_eq!(
            run.call("not_tail", &[Val::I64(N as i64)]),
            "trap StackOverflow",
            "{name}"
        );
        assert_eq!(
            run.call("not_tail", &[Val::I64(100)]),
            "[I64(100)]",
            "{name}"
        );
    }
}

/// Traps under tail calls and typed references: `mid*` tail-calls a trapping function
/// directly, through the table and through a reference; `outer` calls `mid*`. The replaced
/// frame is gone from the backtrace in every single tier (the optimizing tier included, in
/// every e-graph mode), and null references trap with their own kinds.
const TRAPS: &str = r#"(module
  (type $t (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $trapper)
  (elem declare func $trapper)
  (func $trapper (type $t) unreachable)
  (func $mid (type $t) local.get 0 return_call $trapper)
  (func $mid_i (type $t) local.get 0 i32.const 0 return_call_indirect (type $t))
  (func $mid_r (type $t) local.get 0 ref.func $trapper return_call_ref $t)
  (func (export "outer") (param i32) (result i32)
    (block $b2 (block $b1 (block $b0
      (br_table $b0 $b1 $b2 (local.get 0)))
      (return (i32.add (call $mid (local.get 0)) (i32.const 1))))
      (return (i32.add (call $mid_i (local.get 0)) (i32.const 1))))
    (i32.add (call $mid_r (local.get 0)) (i32.const 1)))
  (func (export "null_call") (param i32) (result i32)
    (call_ref $t (local.get 0) (ref.null $t)))
  (func (export "null_tail") (param i32) (result i32)
    (return_call_ref $t (local.get 0) (ref.null $t)))
  (func (export "as_non_null") (param i32) (result i32)
    (drop (ref.as_non_null (select (result (ref null $t)) (ref.null $t) (ref.func $trapper) (local.get 0))))
    (i32.const 7))
  (func (export "on_null") (param i32) (result i32)
    (block $null
      (return (call_ref $t (i32.const 5)
        (br_on_null $null (select (result (ref null $t)) (ref.null $t) (ref.func $trapper) (local.get 0))))))
    (i32.const 9)))"#;

#[test]
fn replaced_frames_leave_the_backtrace_and_null_references_trap() {
    // Function indices: trapper 0, mid 1, mid_i 2, mid_r 3, outer 4.
    for NamedConfig { name, config } in strata::conformance::single_tiers() {
        let engine = Engine::new(config).unwrap();
        let mut store = Store::new(&engine);
        let module = Module::new(&engine, TRAPS).unwrap();
        let inst = Instance::new(&mut store, &module, &Imports::new()).unwrap();
        let mut call = |f: &str, arg: i32| {
            let func = inst.get_func(&store, f).unwrap();
            match func.call(&mut store, &[Val::I32(arg)]) {
                Ok(v) => format!("{v:?}"),
                Err(Error::Runtime(e)) => format!(
                    "{:?} {:?}",
                    e.code(),
                    e.backtrace()
                        .iter()
                        .map(|f| f.func_index)
                        .collect::<Vec<_>>()
                ),
                Err(e) => format!("error {e}"),
            }
        };
        for k in 0..3 {
            assert_eq!(call("outer", k), "Unreachable [0, 4]", "{name}: outer({k})");
        }
        assert_eq!(call("null_call", 1), "NullFunctionReference [5]", "{name}");
        assert_eq!(call("null_tail", 1), "NullFunctionReference [6]", "{name}");
        assert_eq!(call("as_non_null", 1), "NullReference [7]", "{name}");
        assert_eq!(call("as_non_null", 0), "[I32(7)]", "{name}");
        assert_eq!(call("on_null", 1), "[I32(9)]", "{name}");
        assert_eq!(call("on_null", 0), "Unreachable [0, 8]", "{name}");
    }
}
