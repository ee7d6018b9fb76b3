//! Tiered execution: functions move from the interpreter to the baseline by call and by OSR
//! at loop headers, and every result, trap and backtrace is the interpreter's. A test policy
//! written against the public `TierPolicy` trait puts OSR where each case needs it.

use std::sync::Arc;
use strata::tiering::{Decision, EventKind, FuncState, TierLevel, TierPolicy, Verdict};
use strata::*;

const MODULE: &str = r#"(module
  (memory 1 4)
  (global $g (export "g") (mut i64) (i64.const 0))

  ;; Loop parameters and results, two of them (multi-value).
  (func (export "params") (param $n i32) (result i32 i64)
    (local $i i32) (local $t i64)
    i32.const 0
    i64.const 1
    loop $l (param i32 i64) (result i32 i64)
      local.set $t
      local.get $i i32.add
      local.get $t i64.const 0x100000003 i64.mul local.get $i i64.extend_i32_u i64.add
      local.get $i i32.const 1 i32.add local.tee $i
      local.get $n i32.lt_u
      br_if $l
    end)

  ;; Values below the loop on the operand stack, in blocks around it (a constant one too:
  ;; the baseline keeps it as a constant, the interpreter in its slot).
  (func (export "nested") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    local.get $n
    i32.const 1000
    block $outer (param i32) (result i32)
      i32.const 77
      block $inner
        loop $l
          ;; A float constant puts the interpreter's constant pool between the locals
          ;; and the operand stack, so OSR has to move the values below the loop.
          local.get $s local.get $i i32.xor i32.const 3 i32.add
          f64.convert_i32_u f64.const 0.75 f64.mul i32.trunc_f64_u local.set $s
          local.get $i i32.const 1 i32.add local.tee $i
          local.get $n i32.ge_u br_if $inner
          br $l
        end
      end
      local.get $s i32.add
      i32.add
    end
    i32.add)

  ;; OSR at the inner loop; the outer loop then goes on in compiled code.
  (func (export "nest2") (param $n i32) (result i64)
    (local $i i32) (local $j i32) (local $acc i64)
    loop $outer
      i32.const 0 local.set $j
      loop $inner
        local.get $acc
        local.get $i local.get $j i32.mul i64.extend_i32_u
        i64.add local.set $acc
        local.get $j i32.const 1 i32.add local.tee $j
        i32.const 50 i32.lt_u br_if $inner
      end
      local.get $i i32.const 1 i32.add local.tee $i
      local.get $n i32.lt_u br_if $outer
    end
    local.get $acc)

  ;; The back-edge is a br_table entry.
  (func (export "table_loop") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    block $done
      loop $l
        local.get $s local.get $i i32.add local.set $s
        local.get $i i32.const 1 i32.add local.tee $i
        local.get $n i32.lt_u
        br_table $done $l $done
      end
    end
    local.get $s)

  ;; Memory (grown inside the loop before OSR), floats and a global.
  (func (export "mem") (param $n i32) (result f64)
    (local $i i32) (local $x f64)
    loop $l
      local.get $i i32.const 1000 i32.eq
      if i32.const 1 memory.grow drop end
      local.get $i i32.const 3 i32.shl
      local.get $x f64.const 1.5 f64.add local.tee $x
      f64.store offset=8
      global.get $g local.get $i i64.extend_i32_u i64.add global.set $g
      local.get $i i32.const 1 i32.add local.tee $i
      local.get $n i32.lt_u br_if $l
    end
    local.get $n i32.const 1 i32.sub i32.const 3 i32.shl
    f64.load offset=8
    memory.size f64.convert_i32_u
    f64.add)

  ;; A trap after OSR: the backtrace names each function once.
  (func $trapper (param $n i32) (result i32)
    (local $i i32)
    loop $l
      local.get $i i32.const 1 i32.add local.tee $i
      local.get $n i32.lt_u br_if $l
    end
    i32.const 1 local.get $n local.get $i i32.sub i32.div_u)
  (func (export "trap") (param i32) (result i32)
    local.get 0 call $trapper i32.const 1 i32.add)

  ;; Recursion: every interpreted frame loops, the innermost first.
  (func $rec (export "rec") (param $n i32) (result i64)
    (local $i i32) (local $acc i64)
    local.get $n
    if
      local.get $n i32.const 1 i32.sub call $rec local.set $acc
    end
    loop $l
      local.get $acc local.get $i local.get $n i32.add i64.extend_i32_u i64.add local.set $acc
      local.get $i i32.const 1 i32.add local.tee $i
      i32.const 300 i32.lt_u br_if $l
    end
    local.get $acc)

  ;; Compiled code calls an interpreted function, which leaves by OSR.
  (func $looper (param $n i32) (result i64)
    (local $i i32) (local $acc i64)
    loop $l
      local.get $acc i64.const 7 i64.mul local.get $i i64.extend_i32_u i64.xor local.set $acc
      local.get $i i32.const 1 i32.add local.tee $i
      local.get $n i32.lt_u br_if $l
    end
    local.get $acc)
  (func $from_jit (export "from_jit") (param $n i32) (result i64)
    local.get $n call $looper
    local.get $n i32.const 2 i32.div_u call $looper
    i64.add))"#;

/// Index of `from_jit` in MODULE's function index space.
const FROM_JIT: u32 = 9;

/// Compiles a function (synchronously) at `tier` at its `at`-th back-edge and enters OSR at
/// the next one; compiles the functions in `eager` at their first call.
/// With `start` above the interpreter, every function is compiled at `start` at its first
/// call, so its loops count (and leave by OSR) in that tier's code.
struct OsrAt {
    at: u64,
    eager: Vec<u32>,
    tier: TierLevel,
    start: TierLevel,
}

impl OsrAt {
    fn baseline(at: u64, eager: Vec<u32>) -> OsrAt {
        OsrAt {
            at,
            eager,
            tier: TierLevel::Baseline,
            start: TierLevel::Interp,
        }
    }
}

impl TierPolicy for OsrAt {
    fn name(&self) -> String {
        format!("osr-at:{}", self.at)
    }
    fn synchronous(&self) -> bool {
        true
    }
    fn on_call(&self, f: &FuncState) -> Verdict {
        if f.ready < self.start {
            return Verdict {
                decision: Decision::Compile {
                    tier: self.start,
                    priority: 0,
                },
                next_check: 1,
            };
        }
        if self.eager.contains(&f.func_index) && f.ready < self.tier {
            return Verdict {
                decision: Decision::Compile {
                    tier: self.tier,
                    priority: 0,
                },
                next_check: 1,
            };
        }
        Verdict::wait(u64::MAX)
    }
    fn on_backedge(&self, f: &FuncState, _loop: u32) -> Verdict {
        if f.ready > f.tier {
            return Verdict {
                decision: Decision::Osr { tier: f.ready },
                next_check: 1,
            };
        }
        if f.backedges >= self.at && f.ready < self.tier {
            return Verdict {
                decision: Decision::Compile {
                    tier: self.tier,
                    priority: 1,
                },
                next_check: 1,
            };
        }
        Verdict::wait(self.at - f.backedges)
    }
}

/// The outcome of every export on a few inputs, rendered for comparison.
fn run_all(engine: &Engine) -> Vec<String> {
    let module = Module::new(engine, MODULE).unwrap();
    let mut out = Vec::new();
    // The long run first: it is the one where loops reach their OSR point.
    for n in [1500, 10, 3, 2, 1] {
        // A fresh store per input: tier-ups stay (they belong to the module), state does not.
        let mut store = Store::new(engine);
        let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
        for name in [
            "params",
            "nested",
            "nest2",
            "table_loop",
            "mem",
            "trap",
            "rec",
            "from_jit",
        ] {
            let f = instance.get_func(&store, name).unwrap();
            let arg = if name == "rec" { n.min(40) } else { n };
            let r = match f.call(&mut store, &[Val::I32(arg)]) {
                Ok(v) => format!("{v:?}"),
                Err(Error::Runtime(e)) => format!(
                    "trap {:?} at {:?}",
                    Some(e.code()),
                    e.backtrace()
                        .iter()
                        .map(|f| f.func_index)
                        .collect::<Vec<_>>()
                ),
                Err(e) => format!("error {e}"),
            };
            out.push(format!("{name}({arg}) = {r}"));
        }
        let g = instance.get_global(&store, "g").unwrap().get(&store);
        out.push(format!("g = {g:?}"));
    }
    out
}

fn tiered(policy: impl TierPolicy + 'static, bounds: BoundsChecks) -> Engine {
    Engine::new(
        Config::default()
            .tier(Tier::Tiered)
            .policy(policy)
            .bounds_checks(bounds)
            .profile(true),
    )
    .unwrap()
}

fn osr_entries(engine: &Engine) -> Vec<u32> {
    let manager = engine.tier_manager().unwrap();
    manager.wait_idle();
    let mut funcs: Vec<u32> = manager
        .profiler()
        .unwrap()
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::OsrEntry { .. }))
        .filter_map(|e| e.func.map(|f| f.func_index))
        .collect();
    funcs.sort_unstable();
    funcs.dedup();
    funcs
}

#[test]
fn osr_gives_the_interpreters_results() {
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let interp =
            Engine::new(Config::default().tier(Tier::Interp).bounds_checks(bounds)).unwrap();
        let expected = run_all(&interp);
        for at in [1, 2, 5, 200] {
            let engine = tiered(OsrAt::baseline(at, vec![FROM_JIT]), bounds);
            assert_eq!(
                run_all(&engine),
                expected,
                "OSR at back-edge {at}, {bounds:?}"
            );
            // Every function with a loop left the interpreter by OSR (from_jit has none).
            assert_eq!(
                osr_entries(&engine),
                vec![0, 1, 2, 3, 4, 5, 7, 8],
                "at {at}, {bounds:?}"
            );
        }
    }
}

/// The (from, to) levels of every OSR entry, each pair once.
fn osr_levels(engine: &Engine) -> Vec<(TierLevel, TierLevel)> {
    let manager = engine.tier_manager().unwrap();
    manager.wait_idle();
    let mut levels: Vec<(TierLevel, TierLevel)> = manager
        .profiler()
        .unwrap()
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::OsrEntry { from, tier, .. } => Some((from, tier)),
            _ => None,
        })
        .collect();
    levels.sort_unstable();
    levels.dedup();
    levels
}

#[test]
fn osr_from_the_interpreter_into_opt_gives_the_interpreters_results() {
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let interp =
            Engine::new(Config::default().tier(Tier::Interp).bounds_checks(bounds)).unwrap();
        let expected = run_all(&interp);
        for at in [1, 2, 5, 200] {
            let engine = tiered(
                OsrAt {
                    at,
                    eager: vec![FROM_JIT],
                    tier: TierLevel::Opt,
                    start: TierLevel::Interp,
                },
                bounds,
            );
            assert_eq!(
                run_all(&engine),
                expected,
                "OSR into opt at back-edge {at}, {bounds:?}"
            );
            assert_eq!(
                osr_entries(&engine),
                vec![0, 1, 2, 3, 4, 5, 7, 8],
                "at {at}, {bounds:?}"
            );
            assert_eq!(
                osr_levels(&engine),
                vec![(TierLevel::Interp, TierLevel::Opt)],
                "at {at}, {bounds:?}"
            );
        }
    }
}

#[test]
fn osr_from_the_baseline_into_opt_gives_the_interpreters_results() {
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let interp =
            Engine::new(Config::default().tier(Tier::Interp).bounds_checks(bounds)).unwrap();
        let expected = run_all(&interp);
        for at in [1, 2, 5, 200] {
            let engine = tiered(
                OsrAt {
                    at,
                    eager: vec![FROM_JIT],
                    tier: TierLevel::Opt,
                    start: TierLevel::Baseline,
                },
                bounds,
            );
            assert_eq!(
                run_all(&engine),
                expected,
                "OSR baseline -> opt at back-edge {at}, {bounds:?}"
            );
            assert_eq!(
                osr_entries(&engine),
                vec![0, 1, 2, 3, 4, 5, 7, 8],
                "at {at}, {bounds:?}"
            );
            assert_eq!(
                osr_levels(&engine),
                vec![(TierLevel::Baseline, TierLevel::Opt)],
                "at {at}, {bounds:?}"
            );
        }
    }
}

#[test]
fn osr_trap_backtrace_names_each_frame_once() {
    let engine = tiered(OsrAt::baseline(1, vec![]), BoundsChecks::GuardPages);
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    let f = instance.get_typed_func::<i32, i32>(&store, "trap").unwrap();
    let e = f.call(&mut store, 100).unwrap_err();
    assert_eq!(Some(e.code()), Some(TrapCode::IntegerDivisionByZero));
    let frames: Vec<u32> = e.backtrace().iter().map(|f| f.func_index).collect();
    assert_eq!(frames, vec![5, 6], "{e}");
    assert_eq!(osr_entries(&engine), vec![5]);
    // The same from baseline code into opt code.
    let engine = tiered(
        OsrAt {
            at: 1,
            eager: vec![],
            tier: TierLevel::Opt,
            start: TierLevel::Baseline,
        },
        BoundsChecks::GuardPages,
    );
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    let f = instance.get_typed_func::<i32, i32>(&store, "trap").unwrap();
    let e = f.call(&mut store, 100).unwrap_err();
    assert_eq!(Some(e.code()), Some(TrapCode::IntegerDivisionByZero));
    let frames: Vec<u32> = e.backtrace().iter().map(|f| f.func_index).collect();
    assert_eq!(frames, vec![5, 6], "{e}");
    assert_eq!(
        osr_levels(&engine),
        vec![(TierLevel::Baseline, TierLevel::Opt)]
    );
}

#[test]
fn background_compile_reaches_a_running_loop() {
    // One call, one long loop: only OSR can move it, and the code comes from the queue: the
    // baseline's, then (three levels) the optimizing tier's entry for the loop and its
    // function, entered from the baseline code the loop runs in by then.
    let cases = [
        (
            "counters:call=1000000,loop=100,max=baseline",
            1,
            vec![(TierLevel::Interp, TierLevel::Baseline)],
        ),
        (
            "counters:call=1000000,loop=100,opt-call=1000000,opt-loop=10000",
            3,
            vec![
                (TierLevel::Interp, TierLevel::Baseline),
                (TierLevel::Baseline, TierLevel::Opt),
            ],
        ),
    ];
    for (policy, jobs, levels) in cases {
        let engine = Engine::new(
            Config::default()
                .tier(Tier::Tiered)
                .tiering(policy)
                .unwrap()
                .profile(true),
        )
        .unwrap();
        let module = Module::new(&engine, MODULE).unwrap();
        let mut store = Store::new(&engine);
        let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
        let f = instance
            .get_typed_func::<i32, (i32, i64)>(&store, "params")
            .unwrap();
        let n = 20_000_000;
        let (a, b) = f.call(&mut store, n).unwrap();
        let interp = Engine::new(Config::default().tier(Tier::Interp)).unwrap();
        let mut s2 = Store::new(&interp);
        let m2 = Module::new(&interp, MODULE).unwrap();
        let i2 = Instance::new(&mut s2, &m2, &Imports::new()).unwrap();
        let expected = i2
            .get_typed_func::<i32, (i32, i64)>(&s2, "params")
            .unwrap()
            .call(&mut s2, n)
            .unwrap();
        assert_eq!((a, b), expected, "{policy}");
        assert_eq!(osr_entries(&engine), vec![0], "{policy}");
        assert_eq!(osr_levels(&engine), levels, "{policy}");
        let manager = engine.tier_manager().unwrap();
        let compiled = manager
            .profiler()
            .unwrap()
            .events()
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::Compiled { .. } if e.thread.starts_with("strata-compile")
                )
            })
            .count();
        assert_eq!(compiled, jobs, "compiled on the background queue: {policy}");
    }
}

#[test]
fn builtin_policies_agree_with_the_interpreter() {
    let interp = Engine::new(Config::default().tier(Tier::Interp)).unwrap();
    let expected = run_all(&interp);
    for spec in [
        "interp",
        "baseline",
        "baseline:sync",
        "counters:call=1,loop=1,max=baseline",
        "counters:call=1,loop=1,opt-call=1,opt-loop=1",
        "counters:call=2,loop=3,opt-call=4,opt-loop=5,sync",
        "counters:call=1,loop=1,skip-baseline,sync",
        "budget:500,sync",
        "budget:500,opt=1000,sync",
        "jsc",
        "v8",
        "random:1",
        "random:2",
        "random:3",
        "random:1,max=baseline",
    ] {
        let engine =
            Engine::new(Config::default().tier(Tier::Tiered).tiering(spec).unwrap()).unwrap();
        assert_eq!(run_all(&engine), expected, "policy {spec}");
    }
}

#[test]
fn bad_policies_are_config_errors() {
    assert!(Config::default().tiering("warp:9").is_err());
    assert!(Config::default().tiering("counters:call=x").is_err());
    let e = Engine::new(Config::default().tier(Tier::Tiered).compile_threads(0)).unwrap_err();
    assert!(e.to_string().contains("compile threads"), "{e}");
    // A policy is shared, so one can be used by several engines.
    let p: Arc<dyn TierPolicy> = Arc::new(OsrAt::baseline(3, vec![]));
    assert_eq!(p.name(), "osr-at:3");
}
