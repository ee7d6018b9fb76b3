//! What the optimizing tier's focused tests share (`mod support;` in each).

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use strata::*;

/// Runs `run` on the interpreter and on the optimizing tier in both bounds modes: the
/// results agree, at least `min_traps` of them trap (so the traps are exercised), and every
/// function ran as compiled by the optimizing tier (none fell back to the baseline).
pub fn opt_agrees_with_interpreter(
    run: impl Fn(Tier, BoundsChecks) -> (Vec<String>, Module),
    min_traps: usize,
) {
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let (want, _) = run(Tier::Interp, bounds);
        let traps = want.iter().filter(|r| r.contains("traps")).count();
        assert!(traps >= min_traps, "{want:?}");
        let (got, module) = run(Tier::Opt, bounds);
        assert_eq!(got, want, "{bounds:?}");
        let env = module.env().clone();
        for d in 0..env.num_defined_funcs() as u32 {
            assert_eq!(
                strata_tiers::tier::ready_level(&env, d),
                strata_vm::tiering::LEVEL_OPT,
                "function {d} fell back to the baseline ({bounds:?})"
            );
        }
    }
}

/// An instance of `wat` (no imports) on `tier` in `bounds` mode, with its store and module.
pub fn instantiate(tier: Tier, bounds: BoundsChecks, wat: &str) -> (Store, Instance, Module) {
    let engine = Engine::new(Config::default().tier(tier).bounds_checks(bounds)).unwrap();
    let mut store = Store::new(&engine);
    let module = Module::new(&engine, wat).unwrap();
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    (store, instance, module)
}

/// Calls export `name` with `args`: `name[args] = results`, or the trap it ends in and the
/// wasm offset of the trapping instruction, as one line.
pub fn call(store: &mut Store, instance: &Instance, name: &str, args: &[Val]) -> String {
    let f = instance.get_func(&*store, name).unwrap();
    match f.call(&mut *store, args) {
        Ok(v) => format!("{name}{args:?} = {v:?}"),
        Err(Error::Runtime(rt)) => {
            let at = rt.frames().first().and_then(|f| f.wasm_offset());
            format!("{name}{args:?} traps: {} at {at:?}", rt.trap())
        }
        Err(e) => format!("{name}{args:?} fails: {e}"),
    }
}

/// `call` of each (export, arguments) of `calls` on a fresh instance of `wat`.
pub fn calls(
    tier: Tier,
    bounds: BoundsChecks,
    wat: &str,
    calls: Vec<(&str, Vec<Val>)>,
) -> (Vec<String>, Module) {
    let (mut store, instance, module) = instantiate(tier, bounds, wat);
    let out = calls
        .iter()
        .map(|(name, args)| call(&mut store, &instance, name, args))
        .collect();
    (out, module)
}

/// The optimizing tier's code for each defined function of `wat` (guard pages), as text.
pub fn opt_disassembly(wat: &str) -> Vec<String> {
    let engine = Engine::new(Config::default().tier(Tier::Interp)).unwrap();
    let module = Module::new(&engine, wat).unwrap();
    let env = module.env().clone();
    (0..env.num_defined_funcs() as u32)
        .map(|d| {
            let bytes =
                strata_tiers::opt::function_code(&env, d, BoundsChecks::GuardPages).unwrap();
            strata_tiers::jit::disasm::disassemble(&bytes, 0)
        })
        .collect()
}
