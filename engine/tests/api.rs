//! The embedding API, including every kind of bad input: each must be a clear error.

use std::io::Read;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use strata::*;

fn setup(wat: &str) -> (Store, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    (store, instance)
}

#[test]
fn validate_accepts_and_rejects() {
    let ok = wat::parse_str("(module (func (result i32) i32.const 1))").unwrap();
    assert!(validate(&ok).is_ok());
    let err = validate(b"\0asm\x01\0\0\0\x01").unwrap_err();
    assert!(err.offset.is_some(), "{err}");
    let invalid = wat::parse_str("(module (func (result i32) i64.const 1))").unwrap();
    let err = validate(&invalid).unwrap_err();
    assert!(err.message.contains("type mismatch"), "{err}");
    assert!(validate(b"not wasm at all").is_err());
    assert!(validate(&[]).is_err());
}

#[test]
fn compile_errors_carry_offset_and_reason() {
    let engine = Engine::default();
    let err = Module::new(&engine, b"\0asm\x02\0\0\0").unwrap_err();
    assert!(err.to_string().contains("compile error"), "{err}");
    let err = Module::new(
        &engine,
        "(module (func (param i32) (result i64) local.get 0))",
    )
    .unwrap_err();
    assert!(err.offset.is_some());
    assert!(err.message.contains("type mismatch"), "{err}");
    let err = Module::new(&engine, "(module (func $x (call $nope)))").unwrap_err();
    assert!(err.message.contains("text format"), "{err}");
    // Threads are a proposal Strata does not enable: named in the error.
    let shared = "(module (memory 1 1 shared))";
    let err = Module::new(&engine, shared).unwrap_err();
    assert!(err.message.contains("threads"), "{err}");
    let err = Module::from_file(&engine, "/definitely/not/here.wasm").unwrap_err();
    assert!(err.message.contains("cannot read"), "{err}");
}

/// A reader that hands out bytes a few at a time and records how far it was read.
struct Trickle {
    data: Vec<u8>,
    pos: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(3).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn streaming_compile_validates_as_bytes_arrive() {
    let engine = Engine::default();
    let bytes = wat::parse_str(
        r#"(module (memory 1) (func (export "f") (result i32) i32.const 42)
           (@custom "meta" "hello"))"#,
    )
    .unwrap();
    let module = Module::from_reader(
        &engine,
        Trickle {
            data: bytes,
            pos: 0,
        },
    )
    .unwrap();
    assert_eq!(module.custom_sections("meta"), vec![b"hello".as_slice()]);
    let mut store = Store::new(&engine);
    let inst = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    let f = inst.get_typed_func::<(), i32>(&store, "f").unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 42);

    // A bad type section fails before the rest of a long stream is read.
    let mut bad = b"\0asm\x01\0\0\0\x01\x04\x01\x60\x00\x7b".to_vec(); // bad result type
    bad.extend(std::iter::repeat_n(0u8, 100_000));
    let mut reader = Trickle { data: bad, pos: 0 };
    let err = Module::from_reader(&engine, &mut reader).unwrap_err();
    assert!(
        reader.pos < 1000,
        "read {} bytes before failing",
        reader.pos
    );
    assert!(err.offset.is_some(), "{err}");

    // A truncated stream is an error, not a hang.
    let full = wat::parse_str("(module (func))").unwrap();
    let err = Module::from_reader(&engine, &full[..full.len() - 2]).unwrap_err();
    assert!(err.message.contains("unexpected end"), "{err}");
}

#[test]
fn imports_exports_and_custom_sections() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "f" (func (param i32) (result i64)))
            (import "env" "m" (memory 1 2))
            (import "env" "g" (global (mut f32)))
            (import "env" "t" (table 3 funcref))
            (func (export "run"))
            (export "mem" (memory 0))
            (global (export "answer") i32 (i32.const 42))
            (table (export "tab") 1 externref)
            (@custom "a" "1") (@custom "b" "2") (@custom "a" "3"))"#,
    )
    .unwrap();
    let imports = module.imports();
    assert_eq!(imports.len(), 4);
    assert_eq!(
        (imports[0].module.as_str(), imports[0].name.as_str()),
        ("env", "f")
    );
    assert_eq!(
        imports[0].ty,
        ExternType::Func(FuncType::new([ValType::I32], [ValType::I64]))
    );
    assert!(matches!(imports[1].ty, ExternType::Memory(m) if m.limits.max == Some(2)));
    assert!(matches!(imports[2].ty, ExternType::Global(g) if g.mutable));
    let exports: Vec<String> = module.exports().into_iter().map(|e| e.name).collect();
    assert_eq!(exports, ["run", "mem", "answer", "tab"]);
    assert_eq!(
        module.custom_sections("a"),
        vec![b"1".as_slice(), b"3".as_slice()]
    );
    assert!(module.custom_sections("zzz").is_empty());
}

#[test]
fn host_functions_and_link_errors() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "add" (func $add (param i32 i32) (result i32)))
            (func (export "twice") (param i32) (result i32)
              local.get 0 local.get 0 call $add))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine);
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let add = Func::new(
        &mut store,
        FuncType::new([ValType::I32, ValType::I32], [ValType::I32]),
        move |_, args, results| {
            c.fetch_add(1, Ordering::Relaxed);
            results[0] = Val::I32(args[0].i32().unwrap() + args[1].i32().unwrap());
            Ok(())
        },
    );
    // Missing import: the error names it.
    let err = Instance::new(&mut store, &module, &Imports::new()).unwrap_err();
    let Error::Link(link) = &err else {
        panic!("{err}")
    };
    assert_eq!((link.module.as_str(), link.name.as_str()), ("env", "add"));
    // Wrong type: the error says what mismatched.
    let wrong = Func::new(&mut store, FuncType::new([ValType::I32], []), |_, _, _| {
        Ok(())
    });
    let mut imports = Imports::new();
    imports.define("env", "add", wrong);
    let err = Instance::new(&mut store, &module, &imports).unwrap_err();
    assert!(
        err.to_string().contains("incompatible import type"),
        "{err}"
    );
    // Wrong kind.
    let g = Global::new(
        &mut store,
        GlobalType::new(ValType::I32, false),
        Val::I32(1),
    )
    .unwrap();
    imports.define("env", "add", g);
    let err = Instance::new(&mut store, &module, &imports).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected a function, found a global"),
        "{err}"
    );

    imports.define("env", "add", add);
    let inst = Instance::new(&mut store, &module, &imports).unwrap();
    let twice = inst.get_func(&store, "twice").unwrap();
    assert_eq!(
        twice.call(&mut store, &[Val::I32(21)]).unwrap(),
        vec![Val::I32(42)]
    );
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    // Bad arguments are type errors, not traps or panics.
    assert!(matches!(twice.call(&mut store, &[]), Err(Error::Type(_))));
    assert!(matches!(
        twice.call(&mut store, &[Val::I64(1)]),
        Err(Error::Type(_))
    ));
    assert!(inst.get_typed_func::<i64, i32>(&store, "twice").is_err());
    assert!(inst.get_typed_func::<i32, i32>(&store, "nope").is_err());
}

#[test]
fn host_traps_propagate_with_backtrace() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module $m
            (import "env" "fail" (func $fail))
            (func $inner (call $fail))
            (func $outer (export "go") (call $inner)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine);
    let fail = Func::new(&mut store, FuncType::new([], []), |_, _, _| {
        Err(Trap::host("the host said no"))
    });
    let mut imports = Imports::new();
    imports.define("env", "fail", fail);
    let inst = Instance::new(&mut store, &module, &imports).unwrap();
    let err = inst
        .get_func(&store, "go")
        .unwrap()
        .call(&mut store, &[])
        .unwrap_err();
    let Error::Runtime(rt) = err else { panic!() };
    assert_eq!(rt.code(), TrapCode::Host);
    assert_eq!(rt.message(), "the host said no");
    let names: Vec<_> = rt.backtrace().iter().map(|f| f.func_name.clone()).collect();
    assert_eq!(
        names,
        [Some("inner".to_string()), Some("outer".to_string())]
    );
    assert!(rt.to_string().contains("m!outer"), "{rt}");
}

#[test]
fn traps_have_spec_kinds_and_backtraces() {
    let (mut store, inst) = setup(
        r#"(module
            (memory 1 3)
            (table 2 funcref)
            (func $div (export "div") (param i32 i32) (result i32)
              local.get 0 local.get 1 i32.div_s)
            (func $load (export "load") (param i32) (result i32) local.get 0 i32.load)
            (func (export "unreachable") unreachable)
            (func (export "indirect") (param i32) local.get 0 call_indirect)
            (func $deep (export "deep") (param i32) (result i32)
              local.get 0 i32.const 1 i32.add call $deep)
            (func (export "trunc") (param f64) (result i32) local.get 0 i32.trunc_f64_s)
            (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#,
    );
    let mut call = |name: &str, args: &[Val]| {
        let f = inst.get_func(&store, name).unwrap();
        f.call(&mut store, args)
    };
    let code = |r: Result<Vec<Val>, Error>| match r {
        Err(Error::Runtime(e)) => e.code(),
        other => panic!("expected a trap, got {other:?}"),
    };
    assert_eq!(
        code(call("div", &[Val::I32(1), Val::I32(0)])),
        TrapCode::IntegerDivisionByZero
    );
    assert_eq!(
        code(call("div", &[Val::I32(i32::MIN), Val::I32(-1)])),
        TrapCode::IntegerOverflow
    );
    assert_eq!(
        code(call("load", &[Val::I32(65534)])),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        code(call("load", &[Val::I32(-1)])),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(code(call("unreachable", &[])), TrapCode::Unreachable);
    assert_eq!(
        code(call("indirect", &[Val::I32(0)])),
        TrapCode::IndirectCallToNull
    );
    assert_eq!(
        code(call("indirect", &[Val::I32(5)])),
        TrapCode::UndefinedElement
    );
    assert_eq!(
        code(call("trunc", &[Val::f64(f64::NAN)])),
        TrapCode::BadConversionToInteger
    );
    // Deep recursion is a trap, never a host stack overflow; the store stays usable.
    let err = call("deep", &[Val::I32(0)]).unwrap_err();
    let Error::Runtime(rt) = &err else { panic!() };
    assert_eq!(rt.code(), TrapCode::StackOverflow);
    assert_eq!(rt.message(), "call stack exhausted");
    assert!(rt.backtrace().len() > 1000);
    assert_eq!(
        call("div", &[Val::I32(7), Val::I32(2)]).unwrap(),
        [Val::I32(3)]
    );
    // memory.grow past the maximum returns -1 and leaves the memory as it was.
    assert_eq!(call("grow", &[Val::I32(2)]).unwrap(), [Val::I32(1)]);
    assert_eq!(call("grow", &[Val::I32(1)]).unwrap(), [Val::I32(-1)]);
    let mem = inst.get_memory(&store, "nope");
    assert!(mem.is_none());
}

#[test]
fn host_reentrancy_is_bounded() {
    // wasm -> host -> wasm -> host ... without end: a trap, not a crash of the host.
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "back" (func $back))
            (func (export "ping") call $back))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine);
    let slot: Arc<std::sync::OnceLock<Func>> = Arc::new(std::sync::OnceLock::new());
    let s = slot.clone();
    let back = Func::new(
        &mut store,
        FuncType::new([], []),
        move |mut caller, _, _| {
            let ping = *s.get().unwrap();
            ping.call(&mut caller, &[])
                .map(|_| ())
                .map_err(|e| match e {
                    Error::Runtime(rt) => rt.trap().clone(),
                    other => Trap::host(other.to_string()),
                })
        },
    );
    let mut imports = Imports::new();
    imports.define("env", "back", back);
    let inst = Instance::new(&mut store, &module, &imports).unwrap();
    let ping = inst.get_func(&store, "ping").unwrap();
    slot.set(ping).unwrap();
    let err = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || ping.call(&mut store, &[]).unwrap_err().to_string())
        .unwrap()
        .join()
        .unwrap();
    assert!(err.contains("call stack exhausted"), "{err}");
}

#[test]
fn memory_table_global_objects_shared_across_instances() {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let memory = Memory::new(
        &mut store,
        MemoryType {
            limits: Limits {
                min: 1,
                max: Some(4),
            },
            memory64: false,
            shared: false,
        },
    )
    .unwrap();
    let global = Global::new(&mut store, GlobalType::new(ValType::I64, true), Val::I64(5)).unwrap();
    let table = Table::new(
        &mut store,
        TableType {
            elem: ValType::FuncRef,
            limits: Limits { min: 2, max: None },
            table64: false,
            typed: None,
        },
        Val::FuncRef(None),
    )
    .unwrap();
    let module = Module::new(
        &engine,
        r#"(module
            (import "env" "mem" (memory 1))
            (import "env" "g" (global $g (mut i64)))
            (import "env" "t" (table 2 funcref))
            (func $seven (result i32) i32.const 7)
            (elem (i32.const 1) $seven)
            (func (export "bump") (result i64)
              global.get $g i64.const 1 i64.add global.set $g global.get $g)
            (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store8)
            (func (export "size") (result i32) memory.size))"#,
    )
    .unwrap();
    let mut imports = Imports::new();
    imports
        .define("env", "mem", memory)
        .define("env", "g", global)
        .define("env", "t", table);
    let a = Instance::new(&mut store, &module, &imports).unwrap();
    let b = Instance::new(&mut store, &module, &imports).unwrap();
    let bump_a = a.get_typed_func::<(), i64>(&store, "bump").unwrap();
    let bump_b = b.get_typed_func::<(), i64>(&store, "bump").unwrap();
    assert_eq!(bump_a.call(&mut store, ()).unwrap(), 6);
    assert_eq!(bump_b.call(&mut store, ()).unwrap(), 7);
    assert_eq!(global.get(&store), Val::I64(7));
    global.set(&mut store, Val::I64(100)).unwrap();
    assert_eq!(bump_a.call(&mut store, ()).unwrap(), 101);
    assert!(matches!(
        global.set(&mut store, Val::I32(1)),
        Err(Error::Type(_))
    ));

    let store8 = b.get_typed_func::<(i32, i32), ()>(&store, "store8");
    assert!(store8.is_err());
    let store8 = b.get_typed_func::<(i32, i32), ()>(&store, "store").unwrap();
    store8.call(&mut store, (10, 0xab)).unwrap();
    assert_eq!(memory.data(&store)[10], 0xab);
    memory.write(&mut store, 20, b"hi").unwrap();
    let mut buf = [0u8; 2];
    memory.read(&store, 20, &mut buf).unwrap();
    assert_eq!(&buf, b"hi");
    assert!(memory.read(&store, 65535, &mut buf).is_err());
    assert!(memory.write(&mut store, usize::MAX, b"x").is_err());
    // Growth by the host is seen by the instances; past the maximum it is an error.
    assert_eq!(memory.grow(&mut store, 2).unwrap(), 1);
    let size = a.get_typed_func::<(), i32>(&store, "size").unwrap();
    assert_eq!(size.call(&mut store, ()).unwrap(), 3);
    assert!(matches!(memory.grow(&mut store, 2), Err(Error::Range(_))));
    assert_eq!(memory.size(&store), 3);

    // The element segment wrote a function of the instance into the host's table.
    let Some(Val::FuncRef(Some(f))) = table.get(&store, 1) else {
        panic!()
    };
    assert_eq!(f.call(&mut store, &[]).unwrap(), vec![Val::I32(7)]);
    assert_eq!(table.get(&store, 0), Some(Val::FuncRef(None)));
    assert_eq!(table.get(&store, 2), None);
    assert_eq!(table.grow(&mut store, 3, Val::FuncRef(Some(f))).unwrap(), 2);
    assert_eq!(table.size(&store), 5);
    assert!(table.set(&mut store, 9, Val::FuncRef(None)).is_err());
    assert!(table.set(&mut store, 0, Val::I32(0)).is_err());
}

#[test]
fn instantiation_traps_and_resource_errors() {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let m = Module::new(
        &engine,
        "(module (memory 1) (data (i32.const 65535) \"ab\"))",
    )
    .unwrap();
    let err = Instance::new(&mut store, &m, &Imports::new()).unwrap_err();
    assert!(
        matches!(&err, Error::Runtime(e) if e.code() == TrapCode::MemoryOutOfBounds),
        "{err}"
    );
    let m = Module::new(&engine, "(module (func unreachable) (start 0))").unwrap();
    let err = Instance::new(&mut store, &m, &Imports::new()).unwrap_err();
    assert!(matches!(&err, Error::Runtime(e) if e.code() == TrapCode::Unreachable));
    let huge = Table::new(
        &mut store,
        TableType::new(ValType::FuncRef, u32::MAX, None),
        Val::FuncRef(None),
    );
    assert!(matches!(huge, Err(Error::Range(_))));
    let bad = Memory::new(
        &mut store,
        MemoryType {
            limits: Limits {
                min: 70_000,
                max: None,
            },
            memory64: false,
            shared: false,
        },
    );
    assert!(matches!(bad, Err(Error::Range(_))));
}

#[test]
fn externref_round_trip_and_nan_bits() {
    let (mut store, inst) = setup(
        r#"(module
            (func (export "id") (param externref) (result externref) local.get 0)
            (func (export "fid") (param f32) (result f32) local.get 0)
            (func (export "neg") (param f64) (result f64) local.get 0 f64.neg))"#,
    );
    let r = ExternRef::new(&mut store, String::from("payload"));
    let id = inst.get_func(&store, "id").unwrap();
    let out = id.call(&mut store, &[Val::ExternRef(Some(r))]).unwrap();
    let Val::ExternRef(Some(back)) = &out[0] else {
        panic!()
    };
    assert_eq!(
        back.data(&store).downcast_ref::<String>().unwrap(),
        "payload"
    );
    let fid = inst.get_func(&store, "fid").unwrap();
    let nan_payload = 0x7fa0_0001u32;
    assert_eq!(
        fid.call(&mut store, &[Val::F32(nan_payload)]).unwrap(),
        [Val::F32(nan_payload)]
    );
    let neg = inst.get_func(&store, "neg").unwrap();
    assert_eq!(
        neg.call(&mut store, &[Val::F64(0x7ff4_0000_0000_0001)])
            .unwrap(),
        [Val::F64(0xfff4_0000_0000_0001)]
    );
}

#[test]
fn every_tier_of_this_build_is_available_and_unknown_names_are_errors() {
    assert!(Engine::new(Config::default().tier(Tier::Baseline)).is_ok());
    assert!(Engine::new(Config::default().tier(Tier::Tiered)).is_ok());
    assert!(Engine::new(Config::default().tier(Tier::Opt)).is_ok());
    assert!(Tier::compiled().any(|t| t == Tier::Opt));
    assert!("bogus".parse::<Tier>().is_err());
}

#[test]
fn dropping_stores_frees_memory_reservations() {
    // Each store reserves 10 GiB of address space per memory; thousands of stores must not
    // exhaust the address space when they are dropped.
    let engine = Engine::default();
    let module = Module::new(&engine, "(module (memory 1))").unwrap();
    for _ in 0..20_000 {
        let mut store = Store::new(&engine);
        Instance::new(&mut store, &module, &Imports::new()).unwrap();
    }
}
