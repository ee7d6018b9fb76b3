//! The single point where the API hands a call to an execution tier, and where a new
//! instance's code is made ready for the engine's tier. The tier manager will route calls
//! here by policy.

use crate::config::{Engine, Tier};
use strata_tiers::baseline::BaselineModule;
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
    if config.perf_map
        && matches!(
            config.tier,
            Tier::Baseline | Tier::Tiered | Tier::Mixed { .. }
        )
    {
        strata_tiers::baseline::perf_map::enable();
    }
    if let Some(manager) = engine.tier_manager() {
        manager.register_module(&module);
    }
    match config.tier {
        Tier::Baseline => BaselineModule::of(&module, config.bounds_checks).map(|_| ()),
        Tier::Mixed { .. } => BaselineModule::prepare_mixed(&module, config.bounds_checks, &|f| {
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
        // Tiered: the interpreter runs the function unless compiled code is installed.
        Tier::Interp | Tier::Tiered => strata_tiers::interp::invoke(store, func, args, results),
        // Baseline code slots hold either compiled code or (mixed) the interpreter's stub;
        // the baseline's entry point follows the slot.
        Tier::Baseline | Tier::Mixed { .. } => {
            strata_tiers::baseline::invoke(store, func, args, results)
        }
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
