//! Multi-memory and memory64 on every registered configuration (`strata::conformance`):
//! accesses, sizes, growth and bulk operations on memories other than 0 and on a 64-bit
//! memory, with their bounds checked per memory in both bounds-check modes, and 64-bit
//! addresses that would land in bounds if anything truncated them to 32 bits.

use strata::conformance::{multi_tier, single_tiers, NamedConfig};
use strata::*;

const WAT: &str = include_str!("wat/memories.wat");
const PAGE: i64 = 65536;

fn all_configs() -> Vec<NamedConfig> {
    let mut c = single_tiers();
    c.extend(multi_tier());
    c
}

struct Inst {
    store: Store,
    instance: Instance,
    name: String,
}

impl Inst {
    fn new(NamedConfig { name, config }: &NamedConfig) -> Inst {
        let engine = Engine::new(config.clone()).unwrap();
        let mut store = Store::new(&engine);
        let module = Module::new(&engine, WAT).unwrap();
        let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
        Inst {
            store,
            instance,
            name: name.clone(),
        }
    }

    fn call(&mut self, f: &str, args: &[Val]) -> Result<Vec<Val>, RuntimeError> {
        let func = self.instance.get_func(&self.store, f).unwrap();
        func.call(&mut self.store, args).map_err(|e| match e {
            Error::Runtime(r) => r,
            other => panic!("{}: {f}: not a trap: {other}", self.name),
        })
    }

    fn ok(&mut self, f: &str, args: &[Val]) -> Vec<Val> {
        match self.call(f, args) {
            Ok(v) => v,
            Err(e) => panic!("{}: {f}{args:?} trapped: {e}", self.name),
        }
    }

    fn oob(&mut self, f: &str, args: &[Val]) {
        match self.call(f, args) {
            Err(e) => assert_eq!(
                e.code(),
                TrapCode::MemoryOutOfBounds,
                "{}: {f}{args:?}",
                self.name
            ),
            Ok(v) => panic!(
                "{}: {f}{args:?} returned {v:?} instead of trapping",
                self.name
            ),
        }
    }
}

#[test]
fn several_memories_have_their_own_contents_sizes_and_bounds() {
    for config in all_configs() {
        let mut i = Inst::new(&config);
        // Data segments went to their memories.
        assert_eq!(i.ok("load_small", &[Val::I32(16)]), [Val::I32(42)]);
        assert_eq!(i.ok("load_big", &[Val::I32(16)]), [Val::I32(0)]);
        assert_eq!(i.ok("load_wide", &[Val::I64(8)]), [Val::I32(7)]);
        // In bounds of memory 0 (4 pages), out of bounds of memory 1 (1 page).
        assert_eq!(i.ok("load_big", &[Val::I32(PAGE as i32)]), [Val::I32(0)]);
        i.oob("load_small", &[Val::I32(PAGE as i32)]);
        i.oob("store_small", &[Val::I32(PAGE as i32 - 3), Val::I32(1)]);
        i.ok(
            "store_small",
            &[Val::I32(PAGE as i32 - 4), Val::I32(0x0102_0304)],
        );
        assert_eq!(
            i.ok("load_small", &[Val::I32(PAGE as i32 - 1)]),
            [Val::I32(1)]
        );
        // Growing memory 1 changes its bounds only.
        assert_eq!(i.ok("size_small", &[]), [Val::I32(1)]);
        assert_eq!(i.ok("grow_small", &[Val::I32(1)]), [Val::I32(1)]);
        assert_eq!(i.ok("grow_small", &[Val::I32(1)]), [Val::I32(-1)]);
        assert_eq!(i.ok("size_small", &[]), [Val::I32(2)]);
        assert_eq!(i.ok("load_small", &[Val::I32(PAGE as i32)]), [Val::I32(0)]);
        i.oob("load_small", &[Val::I32(2 * PAGE as i32)]);
        // Bulk operations between memories, checked against each memory's own size.
        i.ok("fill_small", &[Val::I32(100), Val::I32(9), Val::I32(4)]);
        i.ok(
            "copy_small_to_wide",
            &[Val::I64(200), Val::I32(100), Val::I32(4)],
        );
        assert_eq!(i.ok("load_wide", &[Val::I64(203)]), [Val::I32(9)]);
        i.ok(
            "copy_wide_to_big",
            &[Val::I32(300), Val::I64(200), Val::I32(4)],
        );
        assert_eq!(i.ok("load_big", &[Val::I32(303)]), [Val::I32(9)]);
        i.oob(
            "copy_small_to_wide",
            &[Val::I64(PAGE - 2), Val::I32(100), Val::I32(4)],
        );
        i.oob(
            "fill_small",
            &[Val::I32(2 * PAGE as i32 - 1), Val::I32(0), Val::I32(2)],
        );
    }
}

#[test]
fn a_64_bit_memory_checks_every_address_bit() {
    for config in all_configs() {
        let mut i = Inst::new(&config);
        i.ok("store_wide", &[Val::I64(0), Val::I64(0x55)]);
        i.ok("store_wide", &[Val::I64(PAGE - 8), Val::I64(-1)]);
        assert_eq!(i.ok("load_wide64", &[Val::I64(PAGE - 8)]), [Val::I64(-1)]);
        i.oob("load_wide64", &[Val::I64(PAGE - 7)]);
        // Addresses whose low 32 bits are in bounds: never truncated.
        for high in [1i64 << 32, 1 << 40, 1 << 63, -PAGE] {
            i.oob("load_wide", &[Val::I64(high)]);
            i.oob("store_wide", &[Val::I64(high), Val::I64(1)]);
            i.oob("fill_wide", &[Val::I64(high), Val::I32(1), Val::I64(1)]);
        }
        i.oob("load_wide_far", &[Val::I64(0)]);
        // address + offset past 2^64 is out of bounds, not a wrap to a small address.
        i.oob("load_wide_wrap", &[Val::I64(-16)]);
        i.oob("load_wide_wrap", &[Val::I64(-8)]);
        i.oob("fill_wide", &[Val::I64(8), Val::I32(1), Val::I64(-1)]);
        // Sizes and growth are i64, -1 past the maximum.
        assert_eq!(i.ok("size_wide", &[]), [Val::I64(1)]);
        assert_eq!(i.ok("grow_wide", &[Val::I64(3)]), [Val::I64(1)]);
        assert_eq!(i.ok("grow_wide", &[Val::I64(1)]), [Val::I64(-1)]);
        assert_eq!(i.ok("grow_wide", &[Val::I64(1 << 40)]), [Val::I64(-1)]);
        assert_eq!(i.ok("size_wide", &[]), [Val::I64(4)]);
        assert_eq!(i.ok("load_wide64", &[Val::I64(PAGE - 8)]), [Val::I64(-1)]);
        assert_eq!(i.ok("load_wide", &[Val::I64(4 * PAGE - 1)]), [Val::I32(0)]);
        i.oob("load_wide", &[Val::I64(4 * PAGE)]);
    }
}

#[test]
fn a_host_made_64_bit_memory_links_only_to_a_64_bit_import() {
    let engine = Engine::default();
    let mut store = Store::new(&engine);
    let memory = Memory::new(&mut store, MemoryType::new64(1, Some(1 << 20))).unwrap();
    assert!(memory.ty(&store).is_64());
    assert_eq!(memory.ty(&store).limits.max, Some(1 << 20));
    memory.write(&mut store, 70, &[5]).unwrap();
    let mut imports = Imports::new();
    imports.define("env", "mem", memory);
    let wide = Module::new(
        &engine,
        r#"(module (import "env" "mem" (memory i64 1))
             (func (export "get") (param i64) (result i32) (i32.load8_u (local.get 0)))
             (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0))))"#,
    )
    .unwrap();
    let inst = Instance::new(&mut store, &wide, &imports).unwrap();
    let get = inst.get_typed_func::<i64, i32>(&store, "get").unwrap();
    assert_eq!(get.call(&mut store, 70).unwrap(), 5);
    assert!(get.call(&mut store, 1 << 32).is_err());
    let grow = inst.get_typed_func::<i64, i64>(&store, "grow").unwrap();
    assert_eq!(grow.call(&mut store, 2).unwrap(), 1);
    assert_eq!(memory.size(&store), 3);
    let narrow = Module::new(&engine, r#"(module (import "env" "mem" (memory 1)))"#).unwrap();
    match Instance::new(&mut store, &narrow, &imports) {
        Err(Error::Link(_)) => {}
        other => panic!("a 64-bit memory linked to a 32-bit import: {other:?}"),
    }
    let narrow_mem = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    assert!(!narrow_mem.ty(&store).is_64());
}
