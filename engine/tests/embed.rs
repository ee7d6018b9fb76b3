//! The embedding API as a wasmtime user writes it: host state in the store, typed host
//! functions, the linker and its shadowing rules.

use strata::*;

#[derive(Default)]
struct State {
    log: Vec<i64>,
    calls: u32,
}

#[test]
fn host_state_is_reached_from_typed_host_functions() {
    let engine = Engine::default();
    let mut store = Store::with_data(&engine, State::default());
    let log = Func::wrap(&mut store, |mut caller: Caller<'_, State>, x: i64| {
        let state = caller.data_mut();
        state.log.push(x);
        state.calls += 1;
        state.calls
    });
    let mut imports = Imports::new();
    imports.define("host", "log", log);
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "log" (func $log (param i64) (result i32)))
            (func (export "run") (param i64) (result i32)
              (drop (call $log (local.get 0)))
              (call $log (i64.add (local.get 0) (i64.const 1)))))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &imports).unwrap();
    let run = instance.get_typed_func::<i64, i32>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, 40).unwrap(), 2);
    assert_eq!(store.data().log, [40, 41]);
    store.data_mut().calls = 10;
    assert_eq!(run.call(&mut store, 0).unwrap(), 12);
    let state = store.into_data();
    assert_eq!(state.log, [40, 41, 0, 1]);
}

#[test]
fn one_tuples_and_sixteen_values() {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let wat = r#"(module
        (func (export "id") (param i32) (result i32) local.get 0)
        (func (export "sum16")
          (param i32 i64 i32 i64 i32 i64 i32 i64 i32 i64 i32 i64 i32 i64 i32 i64) (result i64)
          (local $i i32) (local $acc i64)
          (i64.extend_i32_u (local.get 0))
          (i64.add (local.get 1)) (i64.add (i64.extend_i32_u (local.get 2)))
          (i64.add (local.get 3)) (i64.add (i64.extend_i32_u (local.get 4)))
          (i64.add (local.get 5)) (i64.add (i64.extend_i32_u (local.get 6)))
          (i64.add (local.get 7)) (i64.add (i64.extend_i32_u (local.get 8)))
          (i64.add (local.get 9)) (i64.add (i64.extend_i32_u (local.get 10)))
          (i64.add (local.get 11)) (i64.add (i64.extend_i32_u (local.get 12)))
          (i64.add (local.get 13)) (i64.add (i64.extend_i32_u (local.get 14)))
          (i64.add (local.get 15))))"#;
    let module = Module::new(&engine, wat).unwrap();
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    let id = instance
        .get_typed_func::<(i32,), (i32,)>(&store, "id")
        .unwrap();
    assert_eq!(id.call(&mut store, (7,)).unwrap(), (7,));
    type P16 = (
        i32,
        i64,
        i32,
        i64,
        i32,
        i64,
        i32,
        i64,
        i32,
        i64,
        i32,
        i64,
        i32,
        i64,
        i32,
        i64,
    );
    let sum = instance
        .get_typed_func::<P16, i64>(&store, "sum16")
        .unwrap();
    let args: P16 = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);
    assert_eq!(sum.call(&mut store, args).unwrap(), 136);
    // A wrong arity or type is a clear error, not a bad call.
    assert!(instance
        .get_typed_func::<(i32, i32), i32>(&store, "id")
        .is_err());
    assert!(instance.get_typed_func::<i64, i32>(&store, "id").is_err());

    // Host functions of 16 parameters and tuple results.
    let host = Func::wrap(
        &mut store,
        |a: i32,
         b: i32,
         c: i32,
         d: i32,
         e: i32,
         f: i32,
         g: i32,
         h: i32,
         i: i32,
         j: i32,
         k: i32,
         l: i32,
         m: i32,
         n: i32,
         o: i32,
         p: i32| {
            let s = a + b + c + d + e + f + g + h + i + j + k + l + m + n + o + p;
            (s, s as i64 * 2, s as f32, s as f64)
        },
    );
    let ty = host.ty(&store);
    assert_eq!(ty.params().len(), 16);
    assert_eq!(
        ty.results(),
        [ValType::I32, ValType::I64, ValType::F32, ValType::F64]
    );
    let args = vec![Val::I32(1); 16];
    let out = host.call(&mut store, &args).unwrap();
    assert_eq!(
        out,
        [Val::I32(16), Val::I64(32), Val::f32(16.0), Val::f64(16.0)]
    );
}

#[test]
fn host_traps_from_wrapped_closures_reach_the_caller() {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let check = Func::wrap(&mut store, |x: u32| -> Result<u32, Trap> {
        if x > 10 {
            Err(Trap::host(format!("{x} is too large")))
        } else {
            Ok(x * 2)
        }
    });
    let typed = check.typed::<u32, u32>(&store).unwrap();
    assert_eq!(typed.call(&mut store, 5).unwrap(), 10);
    let err = typed.call(&mut store, 11).unwrap_err();
    assert!(err.to_string().contains("11 is too large"), "{err}");
}

#[test]
fn linker_defines_host_functions_once_per_store_and_links_instances() {
    let engine = Engine::default();
    let mut linker = Linker::<State>::new(&engine);
    linker
        .func_wrap("host", "note", |mut caller: Caller<'_, State>, x: i64| {
            caller.data_mut().log.push(x)
        })
        .unwrap();
    let producer = Module::new(
        &engine,
        r#"(module
            (import "host" "note" (func $note (param i64)))
            (memory (export "mem") 1)
            (func (export "twice") (param i64) (result i64)
              (call $note (local.get 0))
              (i64.mul (local.get 0) (i64.const 2))))"#,
    )
    .unwrap();
    let consumer = Module::new(
        &engine,
        r#"(module
            (import "producer" "twice" (func $twice (param i64) (result i64)))
            (import "producer" "mem" (memory 1))
            (import "host" "note" (func $note (param i64)))
            (func (export "run") (result i64)
              (i64.store (i32.const 8) (call $twice (i64.const 21)))
              (call $note (i64.load (i32.const 8)))
              (i64.load (i32.const 8))))"#,
    )
    .unwrap();
    let mut store = Store::with_data(&engine, State::default());
    let first = linker.module(&mut store, "producer", &producer).unwrap();
    let second = linker.instantiate(&mut store, &consumer).unwrap();
    let run = second.get_typed_func::<(), i64>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 42);
    assert_eq!(store.data().log, [21, 42]);
    // The host function was put in the store once, for both instantiations.
    let a = linker.get(&mut store, "host", "note").unwrap();
    let b = linker.get(&mut store, "host", "note").unwrap();
    assert_eq!(a, b);
    // The producer's memory is the one the consumer wrote.
    let mem = first.get_memory(&store, "mem").unwrap();
    assert_eq!(mem.data(&store)[8], 42);

    // A second store gets its own copy of the host function.
    let mut other = Store::with_data(&engine, State::default());
    let c = linker.get(&mut other, "host", "note").unwrap();
    let f = c.into_func().unwrap();
    f.call(&mut other, &[Val::I64(9)]).unwrap();
    assert_eq!(other.data().log, [9]);
    assert_eq!(store.data().log, [21, 42]);
}

#[test]
fn linker_shadowing_is_an_error_unless_allowed() {
    let engine = Engine::default();
    let mut linker = Linker::<()>::new(&engine);
    linker.func_wrap("m", "f", || 1i32).unwrap();
    let err = linker.func_wrap("m", "f", || 2i32).unwrap_err();
    assert!(err.to_string().contains("defined twice"), "{err}");

    let module = Module::new(
        &engine,
        r#"(module (import "m" "f" (func $f (result i32)))
            (func (export "g") (result i32) (call $f)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let g = instance.get_typed_func::<(), i32>(&store, "g").unwrap();
    assert_eq!(g.call(&mut store, ()).unwrap(), 1);

    // A whole instance clashing with a defined name is refused before anything is defined.
    let exporter = Module::new(
        &engine,
        r#"(module (func (export "h") (result i32) i32.const 3)
                   (func (export "f") (result i32) i32.const 4))"#,
    )
    .unwrap();
    let ex = Instance::new(&mut store, &exporter, &Imports::new()).unwrap();
    assert!(linker.define_instance(&store, "m", &ex).is_err());
    assert!(!linker.contains("m", "h"));

    linker.allow_shadowing(true);
    linker.define_instance(&store, "m", &ex).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let g = instance.get_typed_func::<(), i32>(&store, "g").unwrap();
    assert_eq!(g.call(&mut store, ()).unwrap(), 4);
}

#[test]
fn linker_reports_missing_and_mistyped_imports() {
    let engine = Engine::default();
    let mut linker = Linker::<()>::new(&engine);
    linker.func_wrap("env", "f", |x: i32| x).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "f" (func (param i64) (result i64)))
                   (import "env" "missing" (func)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine);
    match linker.instantiate(&mut store, &module).unwrap_err() {
        Error::Link(e) => assert_eq!((e.module.as_str(), e.name.as_str()), ("env", "missing")),
        other => panic!("expected a link error, got {other}"),
    }
    linker.define_unknown_imports_as_traps(&module).unwrap();
    match linker.instantiate(&mut store, &module).unwrap_err() {
        Error::Link(e) => assert_eq!(e.name, "f", "{e}"),
        other => panic!("expected a link error, got {other}"),
    }
    let ok = Module::new(
        &engine,
        r#"(module (import "env" "nothing" (func $n))
                   (func (export "run") (call $n)))"#,
    )
    .unwrap();
    linker.define_unknown_imports_as_traps(&ok).unwrap();
    let instance = linker.instantiate(&mut store, &ok).unwrap();
    let err = instance
        .get_typed_func::<(), ()>(&store, "run")
        .unwrap()
        .call(&mut store, ())
        .unwrap_err();
    assert!(err.to_string().contains("env.nothing"), "{err}");
}

#[test]
fn host_functions_can_call_back_into_wasm_with_their_caller() {
    let engine = Engine::default();
    let mut linker = Linker::<u32>::new(&engine);
    linker
        .func_wrap(
            "host",
            "again",
            |mut caller: Caller<'_, u32>, n: i32| -> Result<i32, Trap> {
                *caller.data_mut() += 1;
                if n == 0 {
                    return Ok(0);
                }
                let f = caller
                    .get_export("down")
                    .and_then(Extern::into_func)
                    .expect("the caller exports `down`");
                let r = f
                    .call(&mut caller, &[Val::I32(n - 1)])
                    .map_err(|e| Trap::host(e.to_string()))?;
                Ok(r[0].i32().unwrap() + 1)
            },
        )
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "again" (func $again (param i32) (result i32)))
            (func (export "down") (param i32) (result i32) (call $again (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::with_data(&engine, 0u32);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let down = instance.get_typed_func::<i32, i32>(&store, "down").unwrap();
    assert_eq!(down.call(&mut store, 5).unwrap(), 5);
    assert_eq!(*store.data(), 6);
}

fn trap_of(wat: &str, export: &str) -> RuntimeError {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    let f = instance.get_func(&store, export).unwrap();
    match f.call(&mut store, &[]).unwrap_err() {
        Error::Runtime(e) => e,
        other => panic!("expected a trap, got {other}"),
    }
}

#[test]
fn deep_recursion_prints_a_few_lines() {
    let e = trap_of(
        r#"(module $m (func $down (export "down") (call $down)))"#,
        "down",
    );
    assert_eq!(e.code(), TrapCode::StackOverflow);
    assert!(e.frames().len() > 1000);
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() <= 8, "{text}");
    assert_eq!(lines[0], "runtime error: call stack exhausted");
    assert_eq!(lines[1], "wasm backtrace:");
    // Frames print as wasmtime's do: the instruction's wasm offset, then the function.
    assert!(lines[2].starts_with("  0: 0x"), "{text}");
    assert!(lines[2].ends_with(" - m!down (func 0)"), "{text}");
    assert!(
        lines[5].starts_with(&format!("  ... {} more frames of 0x", e.frames().len() - 3)),
        "{text}"
    );
    assert!(lines[5].ends_with(" - m!down (func 0)"), "{text}");
}

#[test]
fn frames_carry_code_offsets_and_demangled_names() {
    let wat = r#"(module
        (func $_ZN4core9panicking5panic17h0123456789abcdefE (unreachable))
        (func $_Z6middlei (param i32) (call $_ZN4core9panicking5panic17h0123456789abcdefE))
        (func $plain (export "run") (call $_Z6middlei (i32.const 1))))"#;
    let e = trap_of(wat, "run");
    let frames = e.frames();
    let names: Vec<_> = frames.iter().map(|f| f.func_name().unwrap()).collect();
    assert_eq!(names, ["core::panicking::panic", "middle(int)", "plain"]);
    assert_eq!(
        frames[0].raw_func_name(),
        Some("_ZN4core9panicking5panic17h0123456789abcdefE")
    );
    // Each frame's offset is where its function's body starts in the binary: increasing,
    // and inside the code section.
    let bytes = wat::parse_str(wat).unwrap();
    let offsets: Vec<usize> = frames.iter().map(|f| f.func_offset().unwrap()).collect();
    assert!(
        offsets[0] < offsets[1] && offsets[1] < offsets[2],
        "{offsets:?}"
    );
    assert!(offsets[2] < bytes.len());
    // A body starts with its local declarations: `$_Z6middlei` has none (count 0), then
    // `call 0`.
    assert_eq!(&bytes[offsets[1]..offsets[1] + 3], [0x00, 0x10, 0x00]);
    let text = e.to_string();
    assert!(
        text.contains(" - core::panicking::panic (func 0)"),
        "{text}"
    );
    assert!(text.contains(" - middle(int) (func 1)"), "{text}");
    // Each frame's instruction lies in its function's body.
    for f in frames {
        let (at, body) = (f.wasm_offset().unwrap() as usize, f.func_offset().unwrap());
        assert!(at > body, "{at:#x} in the body at {body:#x}");
    }
}

/// A panic in a host function reaches the embedder as that panic in every tier (it does not
/// unwind through compiled wasm frames, which would abort the process), and the store stays
/// usable.
#[test]
fn host_panics_resume_in_the_embedder() {
    let wat = r#"(module (import "h" "f" (func $f (param i32) (result i32)))
        (func (export "run") (param i32) (result i32) (call $f (local.get 0))))"#;
    for tier in [Tier::Interp, Tier::Baseline, Tier::Tiered] {
        let engine = Engine::new(Config::default().tier(tier)).unwrap();
        let mut linker = Linker::<u32>::new(&engine);
        linker
            .func_wrap("h", "f", |mut caller: Caller<'_, u32>, x: i32| -> i32 {
                *caller.data_mut() += 1;
                assert!(x != 13, "unlucky {x}");
                x * 2
            })
            .unwrap();
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::with_data(&engine, 0u32);
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let run = instance.get_typed_func::<i32, i32>(&store, "run").unwrap();
        let payload =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.call(&mut store, 13)))
                .unwrap_err();
        let message = payload.downcast_ref::<String>().unwrap();
        assert_eq!(message, "unlucky 13", "{tier}");
        // Through the untyped call too, and the store keeps working.
        let f = run.func();
        assert!(std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            f.call(&mut store, &[Val::I32(13)])
        }))
        .is_err());
        assert_eq!(run.call(&mut store, 4).unwrap(), 8, "{tier}");
        assert_eq!(*store.data(), 3, "{tier}");
    }
}

#[test]
fn references_in_typed_calls_and_wrapped_host_functions() {
    for tier in [Tier::Interp, Tier::Baseline, Tier::Tiered] {
        references_in(Engine::new(Config::default().tier(tier)).unwrap());
    }
}

fn references_in(engine: Engine) {
    let mut store = Store::new(&engine);
    // The host sees the externref the guest passes on, and hands back a funcref.
    let double = Func::wrap(&mut store, |x: i32| x * 2);
    let seen = Func::wrap(&mut store, move |r: Option<ExternRef>| -> Option<Func> {
        r.map(|_| double)
    });
    let mut imports = Imports::new();
    imports.define("host", "seen", seen);
    let module = Module::new(
        &engine,
        r#"(module
            (import "host" "seen" (func $seen (param externref) (result funcref)))
            (type $i2i (func (param i32) (result i32)))
            (table 1 funcref)
            (func (export "swap") (param funcref externref) (result externref funcref)
              (local.get 1) (local.get 0))
            (func (export "through") (param externref i32) (result i32)
              (table.set (i32.const 0) (call $seen (local.get 0)))
              (call_indirect (type $i2i) (local.get 1) (i32.const 0))))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &imports).unwrap();
    let swap = instance
        .get_typed_func::<(Option<Func>, Option<ExternRef>), (Option<ExternRef>, Option<Func>)>(
            &store, "swap",
        )
        .unwrap();
    let token = ExternRef::new(&mut store, "token");
    let (e, f) = swap.call(&mut store, (Some(double), Some(token))).unwrap();
    assert_eq!((e, f), (Some(token), Some(double)));
    assert_eq!(
        e.unwrap().data(&store).downcast_ref::<&str>(),
        Some(&"token")
    );
    assert_eq!(swap.call(&mut store, (None, None)).unwrap(), (None, None));

    let through = instance
        .get_typed_func::<(Option<ExternRef>, i32), i32>(&store, "through")
        .unwrap();
    assert_eq!(through.call(&mut store, (Some(token), 21)).unwrap(), 42);
    // A null externref gives a null funcref: calling it traps.
    let err = through.call(&mut store, (None, 21)).unwrap_err();
    assert_eq!(err.code(), TrapCode::IndirectCallToNull, "{err}");
}
