//! Tiered execution's check points in compiled code (docs/tiering.md): baseline code that the
//! policy may still move up counts calls and loop iterations down in a `Budget` of its own
//! (two instructions per event: `sub dword [rip + budget], 1; js cold`) and, when the budget
//! runs out, calls these helpers. They add what was spent to the function's counters (the
//! interpreter's, so counts add up across tiers), ask the tier manager through the same
//! `TierHooks` as the interpreter (saying the frame runs in the baseline) when a counter
//! reached its check point, and grant the budget up to the next check point. At a loop the
//! answer may be OSR: the helper then runs the frame to its end in the higher tier's OSR
//! entry and tells the caller, which returns the results that are already in place.
//!
//! Same contract as `helpers` (the `# Safety` of both functions).

use super::helpers::{cx, trap_code};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicI32, AtomicU64};
use strata_vm::tiering::{Counts, LEVEL_BASELINE};
use strata_vm::vmctx::VMContext;

/// Events (calls or loop iterations) baseline code may count before it calls its check
/// point: `left` is decremented by the code and the check point runs when it goes below
/// zero; `granted` is what the last check point set it to, so that `granted - left` events
/// were counted since. Lives in a read+write data page after the function's code, reached
/// `rip`-relative (no register, no load of a structure on the fast path). The code starts
/// with both at 0: its first event syncs with the counters.
#[repr(C)]
pub struct Budget {
    pub left: AtomicI32,
    pub granted: AtomicI32,
}

// The code decrements the budget at its label: `left` comes first.
const _: () = assert!(std::mem::offset_of!(Budget, left) == 0);
/// Bytes of a `Budget` in the code's data page.
pub const BUDGET_BYTES: usize = std::mem::size_of::<Budget>();

/// Adds the events `budget` counted since it was granted to `count` and returns the new
/// count. Concurrent instances of the code may lose a decrement or count one twice: counts
/// are a heuristic, and the interpreter's are relaxed too.
fn spend(budget: &Budget, count: &AtomicU64) -> u64 {
    let spent = (budget.granted.load(Relaxed) as i64 - budget.left.load(Relaxed) as i64).max(0);
    let n = count.load(Relaxed).saturating_add(spent as u64);
    count.store(n, Relaxed);
    n
}

/// Sets `budget` to the events from `count` up to `check` (the event that reaches `check`
/// runs the check point; far away ones are capped, which only costs a sync).
fn grant(budget: &Budget, count: u64, check: u64) {
    let g = check
        .saturating_sub(count)
        .saturating_sub(1)
        .min(i32::MAX as u64) as i32;
    budget.granted.store(g, Relaxed);
    budget.left.store(g, Relaxed);
}

/// What `loop_check` returns when the frame ran to its end in higher-tier code (any other
/// non-zero value is a trap code, all of which are below it).
pub const OSR_FINISHED: u32 = 0x100;

/// The call budget of defined function `def` (running in the baseline) ran out: counts its
/// calls and, when they reached their check point, asks the tier manager; code it installs
/// runs from the next call.
///
/// # Safety
/// See `helpers`; `budget` is the function's call budget.
pub unsafe extern "C" fn call_check(vmctx: *const VMContext, def: u32, budget: *const Budget) {
    // SAFETY: the helpers' contract.
    let (store, inst) = unsafe { cx(vmctx) };
    // SAFETY: the budget is in the data page of the running code, which outlives the call.
    let budget = unsafe { &*budget };
    let module = store.instances[inst as usize].module.clone();
    let Some(interp) = crate::interp::InterpModule::existing(&module) else {
        return grant(budget, 0, u64::MAX);
    };
    let Some(c) = interp.counters(def) else {
        return grant(budget, 0, u64::MAX);
    };
    let calls = spend(budget, &c.calls);
    if calls < c.call_check.load(Relaxed) {
        return grant(budget, calls, c.call_check.load(Relaxed));
    }
    let Some(hooks) = store.tier_hooks.clone() else {
        c.call_check.store(u64::MAX, Relaxed);
        return grant(budget, calls, u64::MAX);
    };
    let counts = Counts {
        calls,
        backedges: c.backedges(),
    };
    let next = hooks.on_call(&module, def, LEVEL_BASELINE, counts);
    let next = next.max(calls + 1);
    c.call_check.store(next, Relaxed);
    grant(budget, calls, next);
}

/// The loop budget of defined function `def` (running in the baseline, frame at `fp`) ran
/// out at the header of the loop with ordinal `loop_index`: counts its iterations and, when
/// they reached their check point, asks the tier manager and, on its word, enters the best
/// OSR entry above the baseline with this frame. Returns 0 to go on in the baseline,
/// `OSR_FINISHED` when the frame has run to its end (results at `fp[0..R)`), or a trap code.
///
/// # Safety
/// See `helpers`; `budget` is the function's loop budget; every value of the frame's state
/// at the loop header is in its cell.
pub unsafe extern "C" fn loop_check(
    vmctx: *const VMContext,
    def: u32,
    loop_index: u32,
    fp: *mut u64,
    budget: *const Budget,
) -> u32 {
    // SAFETY: the helpers' contract.
    let (store, inst) = unsafe { cx(vmctx) };
    // SAFETY: the budget is in the data page of the running code, which outlives the call.
    let budget = unsafe { &*budget };
    let module = store.instances[inst as usize].module.clone();
    let Some(interp) = crate::interp::InterpModule::existing(&module) else {
        grant(budget, 0, u64::MAX);
        return 0;
    };
    let Some(c) = interp.counters(def) else {
        grant(budget, 0, u64::MAX);
        return 0;
    };
    let backedges = spend(budget, &c.backedges);
    if backedges < c.backedge_check.load(Relaxed) {
        grant(budget, backedges, c.backedge_check.load(Relaxed));
        return 0;
    }
    let Some(hooks) = store.tier_hooks.clone() else {
        c.backedge_check.store(u64::MAX, Relaxed);
        grant(budget, backedges, u64::MAX);
        return 0;
    };
    let counts = Counts {
        calls: c.calls(),
        backedges,
    };
    let verdict = hooks.on_backedge(&module, def, loop_index, LEVEL_BASELINE, counts);
    let next = verdict.next_check.max(backedges + 1);
    c.backedge_check.store(next, Relaxed);
    grant(budget, backedges, next);
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
