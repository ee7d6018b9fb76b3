//! Trap kinds in both bounds-check modes, stack exhaustion, 32-bit address hygiene and the
//! signal handler's refusal to swallow foreign faults, on every registered tier
//! (`strata::conformance`): a new tier joins these tests by being registered.

use strata::conformance::{multi_tier, single_tiers, NamedConfig, BOUNDS_MODES};
use strata::*;

struct Inst {
    store: Store,
    instance: Instance,
}

fn inst(wat: &str, config: &Config) -> Inst {
    let engine = Engine::new(config.clone()).unwrap();
    let mut store = Store::new(&engine);
    let module = Module::new(&engine, wat).unwrap();
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    Inst { store, instance }
}

impl Inst {
    fn call(&mut self, name: &str, args: &[Val]) -> Result<Vec<Val>, RuntimeError> {
        let f = self.instance.get_func(&self.store, name).unwrap();
        f.call(&mut self.store, args).map_err(|e| match e {
            Error::Runtime(r) => r,
            other => panic!("{name}: not a trap: {other}"),
        })
    }

    fn trap(&mut self, name: &str, args: &[Val]) -> TrapCode {
        match self.call(name, args) {
            Err(e) => e.code(),
            Ok(v) => panic!("{name}{args:?} returned {v:?} instead of trapping"),
        }
    }

    fn i32(&mut self, name: &str, args: &[Val]) -> i32 {
        self.call(name, args).unwrap()[0].i32().unwrap()
    }
}

/// Each single tier in each bounds mode, and each compiled tier alone.
fn jit_tiers() -> Vec<NamedConfig> {
    single_tiers()
        .into_iter()
        .filter(|c| Tier::compiled().any(|t| t == c.config.tier))
        .collect()
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

#[test]
fn trap_kinds_on_every_tier() {
    use Val::*;
    for NamedConfig { name, config } in single_tiers() {
        let mut i = inst(TRAPS, &config);
        let oob = TrapCode::MemoryOutOfBounds;
        assert_eq!(i.trap("unreachable", &[]), TrapCode::Unreachable, "{name}");
        assert_eq!(i.i32("load", &[I32(65532)]), 0, "{name}");
        assert_eq!(i.trap("load", &[I32(65533)]), oob, "{name}");
        assert_eq!(i.trap("load", &[I32(-1)]), oob, "{name}");
        assert_eq!(i.trap("load_off", &[I32(0)]), oob, "{name}");
        assert_eq!(i.trap("store8", &[I32(65536)]), oob, "{name}");
        let div = TrapCode::IntegerDivisionByZero;
        assert_eq!(i.trap("div0", &[I32(1), I32(0)]), div, "{name}");
        let ovf = TrapCode::IntegerOverflow;
        assert_eq!(i.trap("ovf", &[I64(i64::MIN), I64(-1)]), ovf, "{name}");
        assert_eq!(i.trap("trunc", &[F64(3e9f64.to_bits())]), ovf, "{name}");
        assert_eq!(i.i32("trunc", &[F64((-2.5f64).to_bits())]), -2, "{name}");
        let conv = TrapCode::BadConversionToInteger;
        assert_eq!(i.trap("trunc_nan", &[]), conv, "{name}");
        let null = TrapCode::IndirectCallToNull;
        assert_eq!(i.trap("null", &[I32(1)]), null, "{name}");
        let undef = TrapCode::UndefinedElement;
        assert_eq!(i.trap("null", &[I32(2)]), undef, "{name}");
        assert_eq!(i.trap("sig", &[I32(0)]), TrapCode::BadSignature, "{name}");
        let table = TrapCode::TableOutOfBounds;
        assert_eq!(i.trap("table", &[I32(5)]), table, "{name}");
        assert_eq!(i.trap("fill", &[I32(65000), I32(1000)]), oob, "{name}");
        // After all those traps the instance still works.
        i.call("null", &[I32(0)]).unwrap();
        assert_eq!(i.i32("div0", &[I32(7), I32(2)]), 3, "{name}");
    }
}

const RECURSE: &str = r#"(module
  (func $f (export "f") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add call $f)
  (func $g (export "g") (param i64 i64 i64 i64) (result i64)
    (local f64 f64 f64 f64)
    local.get 0 local.get 1 local.get 2 local.get 3 call $g)
  (type $t (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $h)
  (func $h (export "h") (param i32) (result i32)
    local.get 0 i32.const 1 i32.add i32.const 0 call_indirect (type $t)))"#;

/// Unbounded recursion, direct and through `call_indirect` (a helper and nested entries in
/// the JIT tiers), is the trap "call stack exhausted" on every tier, on the main test
/// thread's stack and on a small one.
#[test]
fn deep_recursion_is_call_stack_exhausted_on_every_tier() {
    use Val::*;
    for NamedConfig { name, config } in single_tiers() {
        let mut i = inst(RECURSE, &config);
        let e = i.call("f", &[I32(0)]).unwrap_err();
        assert_eq!(e.code(), TrapCode::StackOverflow, "{name}");
        assert_eq!(e.message(), "call stack exhausted", "{name}");
        let args = [I64(0), I64(0), I64(0), I64(0)];
        assert_eq!(i.trap("g", &args), TrapCode::StackOverflow, "{name}");
        assert_eq!(i.trap("h", &[I32(0)]), TrapCode::StackOverflow, "{name}");
        let small = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let mut i = inst(RECURSE, &config);
                (i.trap("f", &[I32(0)]), i.trap("h", &[I32(0)]))
            })
            .unwrap();
        let overflow = (TrapCode::StackOverflow, TrapCode::StackOverflow);
        assert_eq!(small.join().unwrap(), overflow, "{name} on a 2 MiB stack");
    }
}

/// An address computed with i64 arithmetic and wrapped to i32 carries garbage in the upper
/// half of its register; the access must use only the low 32 bits.
#[test]
fn upper_address_bits_do_not_escape_on_every_tier() {
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
    for NamedConfig { name, config } in single_tiers() {
        let mut i = inst(wat, &config);
        for hi in [1i64, 0xffff_ffff, 0x7fff_0000] {
            assert_eq!(i.i32("f", &[Val::I64(hi)]), 42, "{name}");
        }
        assert_eq!(i.i32("g", &[Val::I64(0xdead_beef)]), 7, "{name}");
    }
}

/// In a child process: a fault outside JIT code must still kill the process, whichever JIT
/// tier installed the signal handler.
#[test]
fn fault_outside_jit_code_is_a_real_crash() {
    const CHILD: &str = "STRATA_FOREIGN_FAULT_CHILD";
    if let Some(which) = std::env::var_os(CHILD) {
        let which: usize = which.to_str().unwrap().parse().unwrap();
        let config = &jit_tiers()[which].config;
        // Make sure the handler is installed (a guard-page trap was caught), then fault in
        // Rust code.
        let mut i = inst(TRAPS, config);
        assert!(i.call("load", &[Val::I32(70000)]).is_err());
        let p = std::hint::black_box(16usize) as *mut u8;
        // SAFETY: none: this deliberately faults to check that the handler does not eat it.
        unsafe { p.write_volatile(1) };
        std::process::exit(0);
    }
    let tiers = jit_tiers();
    assert!(!tiers.is_empty(), "no JIT tier is registered");
    for (which, c) in tiers.iter().enumerate() {
        if c.config.bounds_checks != BOUNDS_MODES[0] {
            continue;
        }
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args(["fault_outside_jit_code_is_a_real_crash", "--exact"])
            .env(CHILD, which.to_string())
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert!(!out.status.success(), "{}: the child survived", c.name);
        const SIGSEGV: i32 = 11;
        assert_eq!(out.status.signal(), Some(SIGSEGV), "{}: {:?}", c.name, out);
    }
}

/// One depth limit, counted the same way in every tier: a recursion exactly at the limit
/// returns and one frame more is "call stack exhausted", whichever tier runs it and whenever
/// it tiers up (the outside probe saw 200,000 frames return on the baseline and trap on the
/// interpreter).
#[test]
fn the_call_depth_limit_is_the_same_in_every_tier_and_policy() {
    let wat = r#"(module
      (func $r (export "r") (param i32) (result i32)
        local.get 0 i32.eqz
        if (result i32) i32.const 0
        else local.get 0 i32.const 1 i32.sub call $r i32.const 1 i32.add end))"#;
    let all = single_tiers().into_iter().chain(multi_tier());
    for NamedConfig { name, config } in all {
        // A small limit: exact, and fast.
        let limit = 3_000;
        let mut i = inst(wat, &config.clone().max_call_depth(limit));
        // r(n) makes n + 1 frames.
        let at = Val::I32(limit as i32 - 1);
        assert_eq!(i.i32("r", &[at]), limit as i32 - 1, "{name}: at the limit");
        let over = Val::I32(limit as i32);
        assert_eq!(
            i.trap("r", &[over]),
            TrapCode::StackOverflow,
            "{name}: one over"
        );
        // The probe's case, with the default limit.
        let mut i = inst(wat, &config);
        let deep = Val::I32(200_000);
        assert_eq!(
            i.trap("r", &[deep]),
            TrapCode::StackOverflow,
            "{name}: 200,000"
        );
        // And the store is usable afterwards.
        assert_eq!(i.i32("r", &[Val::I32(10)]), 10, "{name}: after the trap");
    }
}

/// The interpreter's handlers check an access with one compare against the memory's length
/// less 15 and leave the last 15 bytes to the executor: loads and stores there, whose
/// results the next instruction takes from an accumulator, in plain, fused
/// (address-computing add) and looped forms, before and after `memory.grow`.
const LAST_BYTES: &str = r#"(module
  (memory 1)
  ;; The last 32 bytes of the memory: 0xe0, 0xe1, ... 0xff.
  (data (i32.const 65504)
    "\e0\e1\e2\e3\e4\e5\e6\e7\e8\e9\ea\eb\ec\ed\ee\ef\f0\f1\f2\f3\f4\f5\f6\f7\f8\f9\fa\fb\fc\fd\fe\ff")
  ;; Loads whose results feed the next instruction, at every address of the last 32 bytes
  ;; where the access fits.
  (func (export "sum32") (result i32) (local $a i32) (local $s i32)
    i32.const 65504 local.set $a
    loop $l
      local.get $a i32.load local.get $s i32.add local.set $s
      local.get $a i32.load8_u local.get $s i32.xor local.set $s
      local.get $a i32.const 1 i32.add local.tee $a
      i32.const 65532 i32.le_u br_if $l
    end
    local.get $s)
  (func (export "sum64") (result i64) (local $a i32) (local $s i64)
    i32.const 65504 local.set $a
    loop $l
      local.get $a i64.load local.get $s i64.add local.set $s
      local.get $a i32.const 1 i32.add local.tee $a
      i32.const 65528 i32.le_u br_if $l
    end
    local.get $s)
  (func (export "sumf") (result f32) (local $a i32) (local $s f32)
    i32.const 65504 local.set $a
    loop $l
      local.get $a local.get $a f32.convert_i32_u f32.store
      local.get $a f32.load local.get $s f32.add local.set $s
      local.get $a i32.const 1 i32.add local.tee $a
      i32.const 65532 i32.le_u br_if $l
    end
    local.get $s)
  ;; The address computed by an add (the load fused with it) and the offset in the last bytes.
  (func (export "fused") (param $base i32) (result i32) (local $i i32) (local $s i32)
    loop $l
      local.get $base local.get $i i32.add i32.load16_u offset=3 local.get $s i32.add local.set $s
      local.get $i i32.const 1 i32.add local.tee $i
      i32.const 16 i32.lt_u br_if $l
    end
    local.get $s)
  (func (export "store_load") (result i32) (local $a i32) (local $s i32)
    i32.const 65520 local.set $a
    loop $l
      local.get $a local.get $a i32.store16
      local.get $a i32.load16_u local.get $s i32.add local.set $s
      local.get $a i32.const 1 i32.add local.tee $a
      i32.const 65534 i32.le_u br_if $l
    end
    local.get $s)
  ;; After memory.grow, at the end of the grown memory.
  (func (export "grown") (result i32) (local $a i32) (local $s i32)
    i32.const 1 memory.grow drop
    i32.const 131060 local.set $a
    loop $l
      local.get $a local.get $a i32.store8
      local.get $a i32.load8_u local.get $s i32.add local.set $s
      local.get $a i32.const 1 i32.add local.tee $a
      i32.const 131072 i32.lt_u br_if $l
    end
    local.get $s)
)"#;

#[test]
fn accesses_in_the_last_bytes_of_memory_on_every_tier() {
    for NamedConfig { name, config } in single_tiers().into_iter().chain(multi_tier()) {
        // A fresh instance per call: some of them write the bytes the others read.
        let call = |f: &str, args: &[Val]| inst(LAST_BYTES, &config).call(f, args);
        let one = |f: &str, args: &[Val]| call(f, args).unwrap()[0].clone();
        assert_eq!(one("sum32", &[]).i32(), Some(1749750528), "{name}");
        assert_eq!(
            one("sum64", &[]).i64(),
            Some(-3262399951521104884),
            "{name}"
        );
        assert_eq!(one("sumf", &[]).to_f32(), Some(1900022.0), "{name}");
        assert_eq!(
            one("fused", &[Val::I32(65514)]).i32(),
            Some(1009480),
            "{name}"
        );
        let e = call("fused", &[Val::I32(65517)]).unwrap_err();
        assert_eq!(e.code(), TrapCode::MemoryOutOfBounds, "{name}");
        assert_eq!(one("store_load", &[]).i32(), Some(982905), "{name}");
        let grown = (131060..131072).map(|a| a & 0xff).sum::<i32>();
        assert_eq!(one("grown", &[]).i32(), Some(grown), "{name}");
    }
}
