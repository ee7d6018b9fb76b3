//! The single point where the API hands a call to an execution tier. The tier manager will
//! route calls here by policy; today the interpreter runs everything.

use crate::config::{Engine, Tier};
use strata_vm::{FuncAddr, StoreInner, Trap};

pub(crate) fn invoke(
    engine: &Engine,
    store: &mut StoreInner,
    func: FuncAddr,
    args: &[u64],
    results: &mut [u64],
) -> Result<(), Trap> {
    match engine.config().tier {
        Tier::Interp => strata_tiers::interp::invoke(store, func, args, results),
        Tier::Baseline => {
            if engine.config().perf_map {
                strata_tiers::baseline::perf_map::enable();
            }
            strata_tiers::baseline::invoke(store, func, args, results)
        }
        other => Err(Trap::host(format!("the {other} tier is not available"))),
    }
}
