//! The baseline JIT: traps in both bounds-check modes, stack exhaustion, the signal handler's
//! refusal to swallow foreign faults, 32-bit address hygiene, perf map and disassembly.

use std::sync::Arc;
use strata_tiers::baseline::{self, disasm, BaselineModule};
use strata_vm::{instantiate, BoundsChecks, Module, RuntimeConfig, StoreInner, Trap, TrapCode};

struct Inst {
    store: StoreInner,
    module: Arc<Module>,
    id: u32,
}

fn inst(wat: &str, bounds: BoundsChecks) -> Inst {
    let bytes = wat::parse_str(wat).unwrap();
    let module = Arc::new(Module::new(bytes).unwrap());
    let mut store = StoreInner::new(RuntimeConfig {
        bounds_checks: bounds,
        ..RuntimeConfig::default()
    });
    let id = instantiate(&mut store, &module, &[]).unwrap();
    Inst { store, module, id }
}

impl Inst {
    fn call(&mut self, name: &str, args: &[u64], nres: usize) -> Result<Vec<u64>, Trap> {
        let e = &self.module.exports[self.module.export_index[name]];
        let addr = self.store.instances[self.id as usize].funcs[e.index as usize];
        let mut out = vec![0u64; nres];
        baseline::invoke(&mut self.store, addr, args, &mut out)?;
        Ok(out)
    }
}

const TRAPS: &str = r#"(module
  (memory 1)
  (table 2 funcref)
  (type $v (func))
  (func $nop)
  (elem (i32.const 0) $nop)
  (func (export "unreachable") unreachable)
  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
  (func (export "load_off") (param i32) (result i64) local.get 0 i64.load offset=65530)
  (func (export "store8") (param i32) local.get 0 i32.const 7 i32.store8)
  (func (export "div0") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u)
  (func (export "ovf") (param i64 i64) (result i64) local.get 0 local.get 1 i64.div_s)
  (func (export "trunc") (param f64) (result i32) local.get 0 i32.trunc_f64_s)
  (func (export "trunc_nan") (result i32) f32.const nan i32.trunc_f32_u)
  (func (export "null") (param i32) local.get 0 call_indirect (type $v))
  (func (export "sig") (param i32) (result i32) local.get 0 call_indirect (result i32))
  (func (export "table") (param i32) (result funcref) local.get 0 table.get 0)
  (func (export "fill") (param i32 i32) local.get 0 i32.const 0 local.get 1 memory.fill))"#;

fn check_traps(bounds: BoundsChecks) {
    let mut i = inst(TRAPS, bounds);
    let code = |r: Result<Vec<u64>, Trap>| r.unwrap_err().code();
    assert_eq!(code(i.call("unreachable", &[], 0)), TrapCode::Unreachable);
    assert_eq!(i.call("load", &[65532], 1).unwrap(), vec![0]);
    assert_eq!(
        code(i.call("load", &[65533], 1)),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        code(i.call("load", &[u32::MAX as u64], 1)),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        code(i.call("load_off", &[0], 1)),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        code(i.call("store8", &[65536], 0)),
        TrapCode::MemoryOutOfBounds
    );
    assert_eq!(
        code(i.call("div0", &[1, 0], 1)),
        TrapCode::IntegerDivisionByZero
    );
    assert_eq!(
        code(i.call("ovf", &[i64::MIN as u64, u64::MAX], 1)),
        TrapCode::IntegerOverflow
    );
    assert_eq!(
        code(i.call("trunc", &[3e9f64.to_bits()], 1)),
        TrapCode::IntegerOverflow
    );
    assert_eq!(
        i.call("trunc", &[(-2.5f64).to_bits()], 1).unwrap(),
        vec![(-2i32) as u32 as u64]
    );
    assert_eq!(
        code(i.call("trunc_nan", &[], 1)),
        TrapCode::BadConversionToInteger
    );
    assert_eq!(code(i.call("null", &[1], 0)), TrapCode::IndirectCallToNull);
    assert_eq!(code(i.call("null", &[2], 0)), TrapCode::UndefinedElement);
    assert_eq!(code(i.call("sig", &[0], 1)), TrapCode::BadSignature);
    assert_eq!(code(i.call("table", &[5], 1)), TrapCode::TableOutOfBounds);
    assert_eq!(
        code(i.call("fill", &[65000, 1000], 0)),
        TrapCode::MemoryOutOfBounds
    );
    // After all those traps the instance still works.
    i.call("null", &[0], 0).unwrap();
    assert_eq!(i.call("div0", &[7, 2], 1).unwrap(), vec![3]);
}

#[test]
fn trap_kinds_guard_pages() {
    check_traps(BoundsChecks::GuardPages);
}

#[test]
fn trap_kinds_explicit_checks() {
    check_traps(BoundsChecks::Explicit);
}

const RECURSE: &str = r#"(module
  (func $f (export "f") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add call $f)
  (func $g (export "g") (param i64 i64 i64 i64) (result i64)
    (local f64 f64 f64 f64)
    local.get 0 local.get 1 local.get 2 local.get 3 call $g))"#;

#[test]
fn deep_recursion_is_call_stack_exhausted() {
    let mut i = inst(RECURSE, BoundsChecks::GuardPages);
    let e = i.call("f", &[0], 1).unwrap_err();
    assert_eq!(e.code(), TrapCode::StackOverflow);
    assert_eq!(e.message(), "call stack exhausted");
    let e = i.call("g", &[0, 0, 0, 0], 1).unwrap_err();
    assert_eq!(e.code(), TrapCode::StackOverflow);
}

#[test]
fn deep_recursion_on_a_small_thread_stack() {
    let t = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let mut i = inst(RECURSE, BoundsChecks::Explicit);
            i.call("f", &[0], 1).unwrap_err().code()
        })
        .unwrap();
    assert_eq!(t.join().unwrap(), TrapCode::StackOverflow);
}

/// In a child process: a fault outside JIT code must still kill the process.
#[test]
fn fault_outside_jit_code_is_a_real_crash() {
    if std::env::var_os("STRATA_BASELINE_CRASH_CHILD").is_some() {
        // Make sure the handler is installed, then fault in Rust code.
        let mut i = inst(TRAPS, BoundsChecks::GuardPages);
        assert!(i.call("load", &[70000], 1).is_err());
        let p = std::hint::black_box(16usize) as *mut u8;
        // SAFETY: none: this deliberately faults to check that the handler does not eat it.
        unsafe { p.write_volatile(1) };
        std::process::exit(0);
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "fault_outside_jit_code_is_a_real_crash",
            "--exact",
            "--nocapture",
        ])
        .env("STRATA_BASELINE_CRASH_CHILD", "1")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert!(!out.status.success(), "the child survived a segfault");
    assert_eq!(
        out.status.signal(),
        Some(libc_sigsegv()),
        "{:?}",
        out.status
    );
}

fn libc_sigsegv() -> i32 {
    11
}

/// An address computed with i64 arithmetic and wrapped to i32 carries garbage in the upper
/// half of its register; the access must use only the low 32 bits.
#[test]
fn upper_address_bits_do_not_escape() {
    let wat = r#"(module
      (memory 1)
      (data (i32.const 16) "\2a")
      (func (export "f") (param i64) (result i32)
        local.get 0
        i64.const 0x100000000
        i64.mul
        i64.const 16
        i64.add
        i32.wrap_i64
        i32.load8_u)
      (func (export "g") (param i64) (result i32)
        local.get 0 i64.const 32 i64.shl i64.const 16 i64.or i32.wrap_i64
        i32.const 7 i32.store8
        i32.const 16 i32.load8_u))"#;
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let mut i = inst(wat, bounds);
        for hi in [1u64, 0xffff_ffff, 0x7fff_0000] {
            assert_eq!(i.call("f", &[hi], 1).unwrap(), vec![42]);
        }
        assert_eq!(i.call("g", &[0xdead_beef], 1).unwrap(), vec![7]);
    }
}

#[test]
fn perf_map_has_a_line_per_function() {
    baseline::perf_map::enable();
    let wat = r#"(module (func $alpha (export "a")) (func $beta (export "b")))"#;
    let module = Module::new(wat::parse_str(wat).unwrap()).unwrap();
    let code = BaselineModule::compile(&module, BoundsChecks::GuardPages).unwrap();
    let text = std::fs::read_to_string(baseline::perf_map::path()).unwrap();
    for (d, name) in ["alpha", "beta"].iter().enumerate() {
        let start = format!("{:x} ", code.entry(d as u32) as usize);
        let line = text
            .lines()
            .find(|l| l.starts_with(&start))
            .unwrap_or_else(|| panic!("no perf map line for {name}:\n{text}"));
        let parts: Vec<&str> = line.splitn(3, ' ').collect();
        assert!(usize::from_str_radix(parts[1], 16).unwrap() > 0);
        assert!(parts[2].ends_with(name), "{line}");
    }
}

#[test]
fn disassembly_shows_the_prologue_and_return() {
    let wat = r#"(module (func (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"#;
    let module = Module::new(wat::parse_str(wat).unwrap()).unwrap();
    let code = BaselineModule::compile(&module, BoundsChecks::GuardPages).unwrap();
    let text = disasm::disassemble(code.function_code(0), code.entry(0) as u64);
    assert!(text.lines().next().unwrap().ends_with("push rbp"), "{text}");
    assert!(text.contains("add "), "{text}");
    assert!(text.contains("ret"), "{text}");
}

#[test]
fn host_stack_limit_leaves_room_for_helpers() {
    // A call_indirect recursion goes through a helper and nested entries.
    let wat = r#"(module
      (type $t (func (param i32) (result i32)))
      (table 1 funcref)
      (elem (i32.const 0) $f)
      (func $f (export "f") (param i32) (result i32)
        local.get 0 i32.const 1 i32.add i32.const 0 call_indirect (type $t)))"#;
    let mut i = inst(wat, BoundsChecks::GuardPages);
    assert_eq!(
        i.call("f", &[0], 1).unwrap_err().code(),
        TrapCode::StackOverflow
    );
}
