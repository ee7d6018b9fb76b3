//! Tiered execution's check points in compiled code (docs/tiering.md): baseline code that the
//! policy may still move up counts calls and loop iterations in the function's counters (the
//! interpreter's, so counts add up across tiers) and, when a counter reaches its check point,
//! calls these helpers, which ask the tier manager through the same `TierHooks` as the
//! interpreter, saying the frame runs in the baseline. At a loop the answer may be OSR: the
//! helper then runs the frame to its end in the higher tier's OSR entry and tells the caller,
//! which returns the results that are already in place.
//!
//! Same contract as `helpers` (the `# Safety` of both functions).

use super::helpers::{cx, trap_code};
use std::sync::atomic::Ordering::Relaxed;
use strata_vm::tiering::{Counts, LEVEL_BASELINE};
use strata_vm::vmctx::VMContext;

/// What `loop_check` returns when the frame ran to its end in higher-tier code (any other
/// non-zero value is a trap code, all of which are below it).
pub const OSR_FINISHED: u32 = 0x100;

/// The call counter of defined function `def` (running in the baseline) reached its check
/// point: asks the tier manager; code it installs runs from the next call.
///
/// # Safety
/// See `helpers`.
pub unsafe extern "C" fn call_check(vmctx: *const VMContext, def: u32) {
    // SAFETY: the helpers' contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let module = store.instances[inst as usize].module.clone();
    let Some(interp) = crate::interp::InterpModule::existing(&module) else {
        return;
    };
    let Some(c) = interp.counters(def) else {
        return;
    };
    let Some(hooks) = store.tier_hooks.clone() else {
        c.call_check.store(u64::MAX, Relaxed);
        return;
    };
    let counts = Counts {
        calls: c.calls(),
        backedges: c.backedges(),
    };
    let next = hooks.on_call(&module, def, LEVEL_BASELINE, counts);
    c.call_check.store(next.max(counts.calls + 1), Relaxed);
}

/// The back-edge counter of defined function `def` (running in the baseline, frame at `fp`)
/// reached its check point at the header of the loop with ordinal `loop_index`: asks the
/// tier manager and, on its word, enters the best OSR entry above the baseline with this
/// frame. Returns 0 to go on in the baseline, `OSR_FINISHED` when the frame has run to its
/// end (results at `fp[0..R)`), or a trap code.
///
/// # Safety
/// See `helpers`; every value of the frame's state at the loop header is in its cell.
pub unsafe extern "C" fn loop_check(
    vmctx: *const VMContext,
    def: u32,
    loop_index: u32,
    fp: *mut u64,
) -> u32 {
    // SAFETY: the helpers' contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let module = store.instances[inst as usize].module.clone();
    let Some(interp) = crate::interp::InterpModule::existing(&module) else {
        return 0;
    };
    let Some(c) = interp.counters(def) else {
        return 0;
    };
    let Some(hooks) = store.tier_hooks.clone() else {
        c.backedge_check.store(u64::MAX, Relaxed);
        return 0;
    };
    let counts = Counts {
        calls: c.calls(),
        backedges: c.backedges(),
    };
    let verdict = hooks.on_backedge(&module, def, loop_index, LEVEL_BASELINE, counts);
    c.backedge_check
        .store(verdict.next_check.max(counts.backedges + 1), Relaxed);
    if !verdict.osr {
        return 0;
    }
    let Some(osr) = crate::tier::osr_entry(&module, def, loop_index) else {
        return 0;
    };
    let end = store.runtime.stack_end;
    let room = (end as usize).saturating_sub(fp as usize) / 8;
    if osr.level <= LEVEL_BASELINE || osr.frame_cells > room {
        return 0;
    }
    hooks.on_osr(&module, def, loop_index, LEVEL_BASELINE, osr.level);
    // The frame is handed over: the entered code counts it again (docs/abi.md §4).
    let base = store.runtime.call_depth;
    store.runtime.call_depth = super::helper_caller_depth(&store.runtime).saturating_sub(1);
    let r = super::run(store, inst, osr.entry, fp, end, osr.level);
    store.runtime.call_depth = base;
    match r {
        Ok(()) => OSR_FINISHED,
        Err(mut trap) => {
            // The frame continued in the higher tier's code, whose frame knows the wasm
            // offset it trapped at: it stands in for the baseline frame, which the trap stub
            // would record at this check point (`record_trap` takes it from here).
            if let Some(osr_frame) = trap.pop_frame() {
                store.runtime.trap_frames.clear();
                store.runtime.trap_frames.push(osr_frame);
            }
            trap_code(store, trap)
        }
    }
}
