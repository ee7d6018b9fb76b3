//! Exception handling across tiers and the host (design.md §11, docs/abi.md §10): a host
//! function's exception caught in wasm, an uncaught one arriving at the host with its tag and
//! arguments, traps passing through every kind of handler, and exceptions crossing
//! compiled and interpreted frames, on every registered configuration.

use strata::conformance::{multi_tier, single_tiers, NamedConfig};
use strata::*;

/// Every configuration the spec suites run on.
fn configs() -> Vec<NamedConfig> {
    let mut all = single_tiers();
    all.extend(multi_tier());
    all
}

const MODULE: &str = r#"(module
  (import "host" "tag" (tag $h (param i32)))
  (import "host" "throw" (func $host_throw (param i32)))
  (import "host" "fail" (func $host_fail))
  (tag $e (export "e") (param i32 f64))
  (tag $other)

  ;; No handler here: compiled by the JIT tiers (the throw runs in compiled code there).
  (func $thrower (export "thrower") (param i32)
    local.get 0 f64.const 2.5 throw $e)

  ;; A handler that does not match: its throw passes through it (in every tier).
  (func $interp_thrower (param i32)
    (block $no
      (try_table (catch $other $no)
        local.get 0 f64.const 0.5 throw $e))
    unreachable)

  ;; Frames without handlers between the throw and the catch (compiled by the JIT tiers).
  (func $middle (param i32 i32)
    local.get 1
    if
      local.get 0 call $interp_thrower
    else
      local.get 0 call $thrower
    end)

  ;; Catches $e from `middle`: payload (i32 f64), returns i32 + f64 as i32.
  (func (export "catch_through") (param i32 i32) (result i32)
    (local f64)
    (block $c (result i32 f64)
      (try_table (catch $e $c)
        local.get 0 local.get 1 call $middle)
      i32.const -1 return)
    local.set 2
    f64.convert_i32_s local.get 2 f64.add i32.trunc_f64_s)

  ;; The host's exception, caught by its (imported) tag; its payload doubled.
  (func (export "catch_host") (param i32) (result i32)
    (block $c (result i32)
      (try_table (catch $h $c)
        local.get 0 call $host_throw)
      i32.const -1 return)
    i32.const 2 i32.mul)

  ;; Rethrown with throw_ref after catching it with catch_all_ref: reaches the host.
  (func (export "rethrow") (param i32)
    (block $c (result exnref)
      (try_table (catch_all_ref $c)
        local.get 0 call $thrower)
      unreachable)
    throw_ref)

  ;; Traps inside every kind of handler: none catches them.
  (func (export "trap_try_table") (param i32) (result i32)
    (block $a
      (block $b (result exnref)
        (block $c (result i32 f64)
          (try_table (catch $e $c) (catch_all_ref $b) (catch_all $a)
            local.get 0 i32.const 0 i32.div_u drop
            unreachable)
          unreachable)
        unreachable)
      unreachable)
    i32.const 1)
  (func (export "trap_legacy") (result i32)
    try (result i32)
      unreachable
    catch_all
      i32.const 1
    end)
  (func (export "trap_host") (result i32)
    (block $a
      (try_table (catch_all $a) call $host_fail)
      i32.const 0 return)
    i32.const 1)

  ;; Legacy try/catch/rethrow/delegate around a compiled thrower.
  (func (export "legacy") (param i32) (result i32)
    try (result i32)
      try
        local.get 0 call $thrower
      delegate 0
      i32.const -1
    catch $e
      drop
    end)
  (func (export "legacy_rethrow") (param i32) (result i32)
    try (result i32)
      try
        local.get 0 call $thrower
      catch $e
        drop drop
        rethrow 0
      end
      i32.const -1
    catch_all
      i32.const 77
    end)
)"#;

struct Setup {
    store: Store,
    instance: Instance,
    host_tag: Tag,
}

fn setup(config: &Config) -> Setup {
    let engine = Engine::new(config.clone()).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine);
    let host_tag = Tag::new(&mut store, TagType::new([ValType::I32]));
    let throw = Func::new(
        &mut store,
        FuncType::new([ValType::I32], []),
        move |mut caller: Caller<'_, ()>, args: &[Val], _results: &mut [Val]| {
            let x = args[0].i32().unwrap_or(0);
            let e = Exception::new(&mut caller, host_tag, vec![Val::I32(x + 1)])
                .map_err(|e| Trap::host(e.to_string()))?;
            Err(e.into())
        },
    );
    let fail = Func::new(
        &mut store,
        FuncType::new([], []),
        |_caller: Caller<'_, ()>, _args: &[Val], _results: &mut [Val]| {
            Err(Trap::host("the host failed"))
        },
    );
    let mut imports = Imports::new();
    imports
        .define("host", "tag", host_tag)
        .define("host", "throw", throw)
        .define("host", "fail", fail);
    let instance = Instance::new(&mut store, &module, &imports).unwrap();
    Setup {
        store,
        instance,
        host_tag,
    }
}

fn call(s: &mut Setup, name: &str, args: &[Val]) -> Result<Vec<Val>, Error> {
    let f = s.instance.get_func(&s.store, name).unwrap();
    f.call(&mut s.store, args)
}

/// Runs `check` on every configuration and reports every failure at once.
fn on_every_config(check: impl Fn(&mut Setup) -> Result<(), String>) {
    let mut failures = Vec::new();
    for NamedConfig { name, config } in configs() {
        let mut s = setup(&config);
        // Twice: tiered configurations compile at the first calls.
        for round in 0..2 {
            if let Err(e) = check(&mut s) {
                failures.push(format!("{name} (round {round}): {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn expect_i32(r: Result<Vec<Val>, Error>, want: i32) -> Result<(), String> {
    match r {
        Ok(v) if v == [Val::I32(want)] => Ok(()),
        other => Err(format!("expected {want}, got {other:?}")),
    }
}

fn expect_trap(r: Result<Vec<Val>, Error>, code: TrapCode) -> Result<(), String> {
    match r {
        Err(Error::Runtime(e)) if e.code() == code => Ok(()),
        other => Err(format!("expected trap {code:?}, got {other:?}")),
    }
}

#[test]
fn host_exception_is_caught_in_wasm() {
    on_every_config(|s| expect_i32(call(s, "catch_host", &[Val::I32(20)]), 42));
}

#[test]
fn uncaught_exception_reaches_the_host_with_its_tag_and_arguments() {
    on_every_config(|s| {
        let e_tag = match s.instance.get_export(&s.store, "e") {
            Some(Extern::Tag(t)) => t,
            other => return Err(format!("export e: {other:?}")),
        };
        for name in ["thrower", "rethrow"] {
            let exn = match call(s, name, &[Val::I32(9)]) {
                Err(Error::Exception(exn)) => exn,
                other => return Err(format!("{name}: expected an exception, got {other:?}")),
            };
            if !exn.is(e_tag) || exn.is(s.host_tag) {
                return Err(format!("{name}: wrong tag {:?}", exn.tag()));
            }
            let args = (exn.get_arg(e_tag, 0), exn.get_arg(e_tag, 1));
            if !matches!(args, (Ok(Val::I32(9)), Ok(Val::F64(b))) if f64::from_bits(b) == 2.5) {
                return Err(format!("{name}: arguments {args:?}"));
            }
            if !matches!(exn.get_arg(e_tag, 2), Err(Error::Range(_)))
                || !matches!(exn.get_arg(s.host_tag, 0), Err(Error::Type(_)))
            {
                return Err(format!("{name}: get_arg must check the tag and index"));
            }
        }
        // The typed API carries it too.
        let f = s
            .instance
            .get_typed_func::<i32, ()>(&s.store, "thrower")
            .map_err(|e| e.to_string())?;
        match f.call(&mut s.store, 3) {
            Err(e) if e.code() == TrapCode::Exception && e.exception().is_some() => Ok(()),
            other => Err(format!("typed call: {other:?}")),
        }
    });
}

#[test]
fn traps_pass_through_every_handler() {
    on_every_config(|s| {
        expect_trap(
            call(s, "trap_try_table", &[Val::I32(1)]),
            TrapCode::IntegerDivisionByZero,
        )?;
        expect_trap(call(s, "trap_legacy", &[]), TrapCode::Unreachable)?;
        match call(s, "trap_host", &[]) {
            Err(Error::Runtime(e)) if e.message().contains("the host failed") => Ok(()),
            other => Err(format!("trap_host: {other:?}")),
        }
    });
}

#[test]
fn exceptions_cross_compiled_and_interpreted_frames() {
    on_every_config(|s| {
        // Thrown by the compiled `thrower` (JIT tiers), through the compiled `middle`,
        // caught by `catch_through` (compiled too in the JIT tiers).
        expect_i32(call(s, "catch_through", &[Val::I32(5), Val::I32(0)]), 7)?;
        // Thrown by `interp_thrower` through its non-matching handler and
        // the compiled `middle`.
        expect_i32(call(s, "catch_through", &[Val::I32(5), Val::I32(1)]), 5)?;
        expect_i32(call(s, "legacy", &[Val::I32(4)]), 4)?;
        expect_i32(call(s, "legacy_rethrow", &[Val::I32(4)]), 77)
    });
}

#[test]
fn the_baseline_compiles_functions_with_handlers() {
    let mut s = setup(&Config::default().tier(Tier::Baseline));
    expect_i32(
        call(&mut s, "catch_through", &[Val::I32(5), Val::I32(0)]),
        7,
    )
    .unwrap();
    let module = s.instance.module(&s.store);
    let def = |name: &str| -> u32 {
        let e = &module.exports[module.export_index[name]];
        e.index - module.num_imported_funcs
    };
    for name in [
        "thrower",
        "catch_through",
        "catch_host",
        "legacy",
        "legacy_rethrow",
    ] {
        assert!(
            strata_tiers::jit::is_compiled(&module, def(name)),
            "{name} is not compiled"
        );
    }
}

#[test]
fn caught_exceptions_do_not_accumulate() {
    // A loop of throw-and-catch (no reference kept) reuses one exception object.
    let wat = r#"(module
      (tag $t (param i32))
      (func (export "loop") (param i32) (result i32)
        (local i32)
        (loop $l
          (block $c (result i32)
            (try_table (catch $t $c) local.get 0 throw $t)
            unreachable)
          local.get 1 i32.add local.set 1
          local.get 0 i32.const 1 i32.sub local.tee 0
          br_if $l)
        local.get 1))"#;
    for NamedConfig { name, config } in configs() {
        let engine = Engine::new(config).unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine);
        let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
        let f = instance.get_func(&store, "loop").unwrap();
        let r = f.call(&mut store, &[Val::I32(100_000)]).unwrap();
        assert_eq!(r, [Val::I32(705_082_704)], "{name}");
    }
}

// ---- handlers in compiled code (docs/abi.md §10) ----

/// Catchers and throwers of every kind, for running with the catching frames in the
/// baseline and the throwing ones in any tier (`JIT_CONFIGS`).
const CATCHING: &str = r#"(module
  (import "host" "throw" (func $host_throw (param i32)))
  (import "host" "tag" (tag $h (param i32)))
  (type $t (func (param i32)))
  (tag $e (param i32))
  (tag $v (param v128 i32))
  (table 9 funcref)
  (elem (i32.const 0) func $jit_throw $interp_throw $host_throw
    $tail_i $tail_j $tail_h $tail_in_try_i $tail_in_try_j $tail_in_try_h)

  (func $jit_throw (param i32) local.get 0 throw $e)
  (func $interp_throw (param i32) local.get 0 throw $e)
  ;; Tail calls: the exception is thrown after this frame is gone.
  (func $tail_i (param i32) local.get 0 return_call $interp_throw)
  (func $tail_j (param i32) local.get 0 return_call $jit_throw)
  (func $tail_h (param i32) local.get 0 return_call $host_throw)
  ;; A tail call inside a try_table leaves the try: its handler must not catch.
  (func $tail_in_try_i (param i32)
    (block $no (try_table (catch_all $no) local.get 0 return_call $interp_throw))
    unreachable)
  (func $tail_in_try_j (param i32)
    (block $no (try_table (catch_all $no) local.get 0 return_call $jit_throw))
    unreachable)
  (func $tail_in_try_h (param i32)
    (block $no (try_table (catch_all $no) local.get 0 return_call $host_throw))
    unreachable)

  ;; No handler: a frame between the catcher and the thrower.
  (func $middle (param i32 i32) local.get 1 local.get 0 call_indirect (type $t))

  ;; Values below the try (a constant, a local read) must survive the catch.
  (func $catcher (export "catch") (param i32 i32) (result i32)
    i32.const 100000
    local.get 1
    (block $done (result i32)
      (block $ce (result i32)
        (block $ch (result i32)
          (try_table (result i32) (catch $e $ce) (catch $h $ch)
            local.get 0 local.get 1 call $middle
            i32.const -1)
          br $done)
        i32.const 2000 i32.add br $done)
      i32.const 1000 i32.add)
    i32.add i32.add)

  ;; The same with the try around the call_indirect itself.
  (func $catcher_indirect (export "catch_indirect") (param i32 i32) (result i32)
    (block $ce (result i32)
      (block $ch (result i32)
        (try_table (catch $e $ce) (catch $h $ch)
          local.get 1 local.get 0 call_indirect (type $t))
        i32.const -1 return)
      i32.const 2000 i32.add return)
    i32.const 1000 i32.add)

  ;; A v128 payload.
  (func $v_throw (param i32) v128.const i32x4 1 2 3 4 local.get 0 throw $v)
  (func $v_catch (export "v_catch") (param i32) (result i32)
    (local i32)
    (block $c (result v128 i32)
      (try_table (catch $v $c) local.get 0 call $v_throw)
      unreachable)
    local.set 1
    i32x4.extract_lane 2
    local.get 1 i32.add)

  ;; catch_ref, then throw_ref: caught again by the caller.
  (func $rethrower (param i32) (local exnref)
    (block $c (result i32 exnref)
      (try_table (catch_ref $e $c) local.get 0 call $interp_throw)
      unreachable)
    local.set 1 drop local.get 1 throw_ref)
  (func $rethrow_catch (export "rethrow_catch") (param i32) (result i32)
    (block $c (result i32)
      (try_table (catch $e $c) local.get 0 call $rethrower)
      i32.const -1 return)
    i32.const 300 i32.add)

  ;; Legacy try/catch/rethrow and delegate.
  (func $legacy_catch (export "legacy_catch") (param i32) (result i32)
    try (result i32)
      try (result i32)
        local.get 0 call $interp_throw
        i32.const -1
      catch $e
        drop
        rethrow 0
      end
    catch $e
      i32.const 100 i32.add
    end)
  (func $legacy_delegate (export "legacy_delegate") (param i32) (result i32)
    try (result i32)
      try (result i32)
        try
          local.get 0 call $jit_throw
        delegate 1
        i32.const -1
      catch $e
        drop i32.const 1
      end
    catch $e
      i32.const 500 i32.add
    end)

  ;; A loop inside a try: tiered execution may enter it by OSR.
  (func $loop_in_try (export "loop_in_try") (param i32) (result i32)
    (local i32)
    (block $c (result i32)
      (try_table (catch $e $c)
        (loop $l
          local.get 1 i32.const 1 i32.add local.tee 1
          local.get 0 i32.eq
          if local.get 1 call $interp_throw end
          br $l))
      unreachable))
)"#;

/// Functions the baseline compiles in the mixed configurations below (the rest stay
/// interpreted): every catcher, and the throwers named `jit`.
const COMPILED_CATCHERS: [&str; 12] = [
    "catcher",
    "catcher_indirect",
    "v_catch",
    "rethrower",
    "rethrow_catch",
    "legacy_catch",
    "legacy_delegate",
    "loop_in_try",
    "jit_throw",
    "tail_j",
    "tail_in_try_j",
    "middle",
];

fn catching_setup(config: &Config) -> (Store, Instance) {
    let engine = Engine::new(config.clone()).unwrap();
    let module = Module::new(&engine, CATCHING).unwrap();
    let mut store = Store::new(&engine);
    let tag = Tag::new(&mut store, TagType::new([ValType::I32]));
    let throw = Func::new(
        &mut store,
        FuncType::new([ValType::I32], []),
        move |mut caller: Caller<'_, ()>, args: &[Val], _results: &mut [Val]| {
            let x = args[0].i32().unwrap_or(0);
            let e = Exception::new(&mut caller, tag, vec![Val::I32(x + 1)])
                .map_err(|e| Trap::host(e.to_string()))?;
            Err(e.into())
        },
    );
    let mut imports = Imports::new();
    imports
        .define("host", "throw", throw)
        .define("host", "tag", tag);
    let instance = Instance::new(&mut store, &module, &imports).unwrap();
    (store, instance)
}

fn check_catching(store: &mut Store, instance: &Instance) -> Result<(), String> {
    let mut call = |name: &str, args: &[Val]| {
        let f = instance.get_func(&*store, name).unwrap();
        f.call(&mut *store, args)
    };
    for which in 0..9 {
        let x = 40 + which;
        // Host throwers raise $h with x + 1; the rest $e with x.
        let host = which % 3 == 2;
        let caught = if host { x + 1 + 2000 } else { x + 1000 };
        let args = [Val::I32(which), Val::I32(x)];
        expect_i32(call("catch", &args), 100_000 + x + caught)
            .map_err(|e| format!("catch {which}: {e}"))?;
        expect_i32(call("catch_indirect", &args), caught)
            .map_err(|e| format!("catch_indirect {which}: {e}"))?;
    }
    expect_i32(call("v_catch", &[Val::I32(7)]), 10).map_err(|e| format!("v_catch: {e}"))?;
    expect_i32(call("rethrow_catch", &[Val::I32(7)]), 307)
        .map_err(|e| format!("rethrow_catch: {e}"))?;
    expect_i32(call("legacy_catch", &[Val::I32(7)]), 107)
        .map_err(|e| format!("legacy_catch: {e}"))?;
    expect_i32(call("legacy_delegate", &[Val::I32(7)]), 507)
        .map_err(|e| format!("legacy_delegate: {e}"))?;
    expect_i32(call("loop_in_try", &[Val::I32(20_000)]), 20_000)
        .map_err(|e| format!("loop_in_try: {e}"))
}

/// Every registered configuration, and mixed tiers with exactly the catchers (and the
/// `jit` throwers) compiled.
#[test]
fn handlers_catch_in_compiled_frames_from_every_tier_and_the_host() {
    let mut configs = configs();
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let mut config = Config::default()
            .tier(Tier::Mixed { seed: 0 })
            .bounds_checks(bounds);
        config.mixed_funcs = Some(COMPILED_CATCHERS.iter().map(|s| s.to_string()).collect());
        configs.push(NamedConfig {
            name: format!("mixed[catchers compiled]/{bounds:?}"),
            config,
        });
    }
    let mut failures = Vec::new();
    for NamedConfig { name, config } in configs {
        let (mut store, instance) = catching_setup(&config);
        for round in 0..3 {
            if let Err(e) = check_catching(&mut store, &instance) {
                failures.push(format!("{name} (round {round}): {e}"));
            }
        }
        if config.mixed_funcs.is_some() {
            let module = instance.module(&store);
            for (i, name) in &module.func_names {
                let compiled =
                    strata_tiers::jit::is_compiled(&module, i - module.num_imported_funcs);
                if compiled != COMPILED_CATCHERS.contains(&name.as_str()) {
                    failures.push(format!("mixed: {name} compiled: {compiled}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A caught exception leaves the machine and value stacks as they were: ten thousand
/// catches in a compiled loop, each through a compiled callee, run in constant stack.
#[test]
fn catching_in_compiled_code_runs_in_constant_stack() {
    let wat = r#"(module
      (tag $t (param i32))
      (func $thrower (param i32) local.get 0 throw $t)
      (func (export "loop") (param i32) (result i32)
        (local i32)
        (loop $l
          (block $c (result i32)
            (try_table (catch $t $c) local.get 0 call $thrower)
            unreachable)
          local.get 1 i32.add local.set 1
          local.get 0 i32.const 1 i32.sub local.tee 0
          br_if $l)
        local.get 1))"#;
    let config = Config::default().tier(Tier::Baseline).max_call_depth(100);
    let engine = Engine::new(config).unwrap();
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    let f = instance.get_func(&store, "loop").unwrap();
    let r = f.call(&mut store, &[Val::I32(1_000_000)]).unwrap();
    assert_eq!(r, [Val::I32(1_784_293_664)]);
}
