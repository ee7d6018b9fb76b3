//! The single point where the API hands a call to the tiers, and where a new instance's code
//! is made ready for the engine's tier, both through `strata_tiers::tier` (the door: no tier
//! is named here).

use crate::config::{Engine, Tier};
use strata_tiers::tier;
use strata_vm::tiering::{LEVEL_BASELINE, LEVEL_OPT};
use strata_vm::{FuncAddr, InstanceId, StoreInner, Trap};

/// Prepares a new instance's module for the engine's tier before any of its code runs
/// (before the start function): `baseline` compiles every function, `mixed` also decides
/// which functions stay in the interpreter.
pub(crate) fn prepare_instance(
    engine: &Engine,
    store: &mut StoreInner,
    instance: InstanceId,
) -> Result<(), Trap> {
    let config = engine.config();
    let module = store.instances[instance as usize].module.clone();
    if config.perf_map && config.tier != Tier::Interp {
        strata_tiers::jit::perf_map::enable();
    }
    if let Some(manager) = engine.tier_manager() {
        manager.register_module(&module);
    }
    match config.tier {
        Tier::Baseline => tier::prepare_compiled(&module, LEVEL_BASELINE, config.bounds_checks),
        Tier::Opt => tier::prepare_compiled(&module, LEVEL_OPT, config.bounds_checks),
        Tier::Mixed { .. } => tier::prepare_mixed(&module, config.bounds_checks, &|f| {
            config.mixed_compiles(f, module.func_name(f))
        }),
        _ => Ok(()),
    }
}

pub(crate) fn invoke(
    engine: &Engine,
    store: &mut StoreInner,
    func: FuncAddr,
    args: &[u64],
    results: &mut [u64],
) -> Result<(), Trap> {
    let result = match engine.config().tier {
        // Code slots say where each function runs: compiled code, or the interpreter.
        t if t.is_available() => tier::invoke(store, func, args, results),
        other => Err(Trap::host(format!("the {other} tier is not available"))),
    };
    if let (Err(trap), Some(p)) = (&result, engine.tier_manager().and_then(|m| m.profiler())) {
        p.record(
            None,
            crate::tiering::EventKind::Trap {
                message: trap.to_string(),
            },
        );
    }
    result
}
