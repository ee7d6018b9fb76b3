//! Catching exceptions in JIT code (docs/abi.md §10): the unwind information a JIT tier
//! publishes with its code, and the search the trap stub runs before it abandons an
//! activation.
//!
//! Nothing here runs unless an exception is thrown. A JIT frame is found from the one below
//! it by the saved-`rbp` chain (every frame is `push rbp; mov rbp, rsp`, docs/abi.md §4); its
//! value-stack frame pointer (`r14`, which is not saved anywhere) from the callee's by the
//! call site's shift: every direct JIT call is `lea r14, [r14 + shift]; call; lea r14,
//! [r14 - shift]`, so the caller's `fp` is the callee's minus the shift recorded for the
//! return address. A tail call replaces a frame in place (same `fp`, the caller's caller's
//! return address), so the rule holds through tail calls too.
//!
//! Handlers are ranges of code offsets, each with a landing pad in the function's code: the
//! search writes the payload (then the `exnref`) into the catching frame's cells, and the
//! trap stub resumes at the pad with that frame's `rbp`/`rsp`/`r14`.

use std::sync::Arc;
use strata_vm::vmctx::VMContext;

/// What a handler entry catches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerKind {
    /// The module's tag with this index (`catch`, `catch_ref`, legacy `catch`).
    Tag(u32),
    /// Every exception (`catch_all`, `catch_all_ref`, legacy `catch_all`).
    All,
    /// Legacy `delegate` to the control frame with this index (0: the function's): entries
    /// of tries nested deeper than it no longer apply.
    Delegate(u32),
}

/// `Handler::exn` of a clause that keeps no reference (the object is then freed).
pub const NO_EXN: u32 = u32::MAX;

/// One catch clause: the code range `(start, end]` of its try body (offsets in the mapping;
/// a return address or throw site `pc` is covered when `start < pc <= end`).
#[derive(Clone, Copy, Debug)]
pub struct Handler {
    pub start: u32,
    pub end: u32,
    /// The try's index in the control stack (the function's frame is 0), for `delegate`.
    pub frame: u32,
    pub kind: HandlerKind,
    /// The landing pad's code offset.
    pub pad: u32,
    /// The frame cell (from `fp`) where the payload's first cell goes.
    pub dst: u32,
    /// The frame cell for the `exnref`, or `NO_EXN`.
    pub exn: u32,
}

impl Handler {
    #[inline]
    fn covers(&self, off: u32) -> bool {
        self.start < off && off <= self.end
    }
}

/// `FrameSaves::cells` of a register the function does not save.
pub const NO_SAVE: u32 = u32::MAX;

/// Where a function's prologue saved the callee-saved registers it uses (rbx, r12; the
/// optimizing tier, docs/abi.md §8): when an exception abandons one of its frames, the
/// caller's values are read back from these cells, so the catching frame (and the frames
/// above it) get back the registers they had.
#[derive(Clone, Debug, Default)]
pub struct FrameSaves {
    /// The function's code range `[start, end)` (offsets in the mapping).
    pub start: u32,
    pub end: u32,
    /// The cells (from `fp`) of rbx and r12, or `NO_SAVE`.
    pub cells: [u32; 2],
    /// Throw sites (keys as the trap stub sees them) reached after the function put the
    /// registers back and reused its cells (a tail call through a helper): nothing to read.
    pub restored: Vec<u32>,
}

impl FrameSaves {
    pub fn any(&self) -> bool {
        self.cells.iter().any(|&c| c != NO_SAVE)
    }
}

/// The unwind information of one mapping, built while its functions are emitted.
#[derive(Default, Debug)]
pub struct UnwindInfo {
    /// (return-address offset, fp shift in bytes) of every direct JIT call, sorted.
    pub calls: Vec<(u32, i32)>,
    /// Handler entries, grouped by function; in a function, innermost try first and the
    /// clauses of one try in source order (the order the search must see them).
    pub handlers: Vec<Handler>,
    /// (code start, code end, first handler, end of handlers) of each function that has
    /// handlers, sorted by code start.
    pub groups: Vec<(u32, u32, u32, u32)>,
    /// The functions that save callee-saved registers, sorted by code start.
    pub saves: Vec<FrameSaves>,
}

impl UnwindInfo {
    /// Marks the handlers added since `first` as those of the function at `[start, end)`.
    pub fn close_function(&mut self, start: u32, end: u32, first: usize) {
        if self.handlers.len() > first {
            self.groups
                .push((start, end, first as u32, self.handlers.len() as u32));
        }
    }

    /// Sorts what must be sorted (after all functions are emitted).
    pub fn finish(&mut self) {
        self.calls.sort_unstable_by_key(|c| c.0);
        self.groups.sort_unstable_by_key(|g| g.0);
        self.saves.sort_unstable_by_key(|s| s.start);
    }

    /// Records a function's saves (offsets relative to the function), placed at `offset`
    /// in the mapping.
    pub fn add_saves(&mut self, saves: &FrameSaves, offset: u32) {
        if saves.any() {
            self.saves.push(FrameSaves {
                start: saves.start + offset,
                end: saves.end + offset,
                cells: saves.cells,
                restored: saves.restored.iter().map(|&r| r + offset).collect(),
            });
        }
    }

    /// The saves of the function whose frame is at pc offset `off` (a return address or
    /// a throw site of it), unless it had already restored them there.
    fn saves_at(&self, off: u32) -> Option<&FrameSaves> {
        let i = self
            .saves
            .partition_point(|s| s.start < off)
            .checked_sub(1)?;
        let s = &self.saves[i];
        (off <= s.end && !s.restored.contains(&off)).then_some(s)
    }

    /// The fp shift of the direct call whose return address is at offset `ret`.
    pub fn call_shift(&self, ret: u32) -> Option<i32> {
        let i = self.calls.binary_search_by_key(&ret, |c| c.0).ok()?;
        Some(self.calls[i].1)
    }

    /// The first handler that catches an exception at code offset `off`; `matches(t)` says
    /// whether the exception's tag is the module's tag `t`. The same search as the
    /// interpreter's (`interp::exec::find_handler`).
    pub fn find_handler(&self, off: u32, matches: impl Fn(u32) -> bool) -> Option<Handler> {
        let g = self.groups.partition_point(|g| g.0 <= off).checked_sub(1)?;
        let (_, end, from, to) = self.groups[g];
        if off > end {
            return None;
        }
        let mut limit = u32::MAX;
        for h in &self.handlers[from as usize..to as usize] {
            if !h.covers(off) || h.frame > limit {
                continue;
            }
            match h.kind {
                HandlerKind::Delegate(target) => limit = limit.min(target),
                HandlerKind::All => return Some(*h),
                HandlerKind::Tag(t) if matches(t) => return Some(*h),
                HandlerKind::Tag(_) => {}
            }
        }
        None
    }
}

/// Frames searched at most per exception (a deeper activation is abandoned as before).
const MAX_SEARCH_FRAMES: usize = 1 << 20;

/// Where the trap stub resumes after a catch: the catching frame's `rbp` (also its `rsp`:
/// JIT frames keep nothing else on the machine stack) and value-stack `fp`, and the
/// callee-saved registers as the catching frame had them (the stub passes in their values
/// at the throw; the search replaces them with what the abandoned frames saved).
#[repr(C)]
pub struct Resume {
    pub rbp: usize,
    pub fp: usize,
    pub rbx: usize,
    pub r12: usize,
}

/// Called by the trap stub for an exception trap, before anything is abandoned: searches
/// the JIT frames of the running activation, innermost first, for a handler of the pending
/// exception. Found: writes the payload and `exnref` into the catching frame, consumes the
/// pending trap, fills `out` and returns the landing pad's address. Otherwise returns 0 (the
/// trap goes on as before: the activation is abandoned and the exception reaches its Rust
/// caller).
///
/// `pc` is a pc of the function that threw, with `rbp` its frame and `fp` its value-stack
/// frame; `pc == 0` when the interp-entry stub is the innermost frame (`rbp` is the stub's
/// frame, `fp` the frame of the function it ran).
///
/// # Safety
/// The helper module's contract (`super::helpers`); the saved-`rbp` chain from `rbp` is
/// intact up to the entry trampoline, every JIT frame of it was entered through a registered
/// direct call site or a tail call, and `out` is writable and holds rbx and r12 as they were
/// at the throw.
pub unsafe extern "C" fn catch_exception(
    vmctx: *const VMContext,
    pc: usize,
    rbp: usize,
    fp: usize,
    out: *mut Resume,
) -> usize {
    // SAFETY: the helper contract.
    let (store, instance) = unsafe { super::helpers::cx(vmctx) };
    let Some(exn) = store
        .runtime
        .pending_trap
        .as_ref()
        .and_then(|t| t.exception_cell())
    else {
        return 0;
    };
    let Some(tag) = store.exns.get(exn).map(|e| e.tag) else {
        return 0;
    };
    let tags = &store.instances[instance as usize].tags;
    // SAFETY: `out` is the stub's scratch, with rbx and r12 at the throw (the contract).
    let mut regs = unsafe { [(*out).rbx, (*out).r12] };
    let (mut pc, mut rbp, mut fp) = (pc, rbp, fp);
    let mut table: Option<Arc<super::code_memory::TrapTable>> = None;
    for _ in 0..MAX_SEARCH_FRAMES {
        if pc != 0 {
            if table.as_ref().is_none_or(|t| !t.contains(pc)) {
                table = super::code_memory::table_at(pc);
            }
            let Some(t) = table.as_ref() else { return 0 };
            let off = (pc - t.start) as u32;
            let hit = t
                .unwind
                .find_handler(off, |i| tags.get(i as usize) == Some(&tag));
            if let Some(h) = hit {
                let pad = t.start + h.pad as usize;
                let Some(e) = store.exns.get(exn) else {
                    return 0;
                };
                // Only a clause of the thrown tag receives the payload: a `catch_all` has no
                // cells for it (the optimizing tier keeps spill cells where a payload of
                // another size would land).
                // SAFETY: `fp` is the catching frame's value-stack frame (recovered by the
                // call-site shifts, module docs), whose cells `dst..` and `exn` are its
                // operand slots at the try's height: inside the frame the code was compiled
                // for, below the value stack's end.
                unsafe {
                    if matches!(h.kind, HandlerKind::Tag(_)) {
                        let dst = (fp as *mut u64).add(h.dst as usize);
                        std::ptr::copy_nonoverlapping(e.payload.as_ptr(), dst, e.payload.len());
                    }
                    if h.exn != NO_EXN {
                        *(fp as *mut u64).add(h.exn as usize) = exn;
                    }
                }
                if h.exn == NO_EXN {
                    store.exns.release(exn);
                } else {
                    store.exns.keep(exn);
                }
                store.runtime.pending_trap = None;
                // SAFETY: `out` is the stub's scratch (the contract).
                unsafe {
                    *out = Resume {
                        rbp,
                        fp,
                        rbx: regs[0],
                        r12: regs[1],
                    }
                };
                return pad;
            }
            // This frame is abandoned: its caller's callee-saved registers are in its cells.
            if let Some(s) = t.unwind.saves_at(off) {
                for (reg, &cell) in regs.iter_mut().zip(&s.cells) {
                    if cell != NO_SAVE {
                        // SAFETY: `fp` is this frame's value-stack frame (as above), and
                        // its prologue stored the register in this cell of it.
                        *reg = unsafe { *(fp as *const u64).add(cell as usize) } as usize;
                    }
                }
            }
        }
        // The caller: its return address and saved rbp are in this frame's header.
        // SAFETY: `rbp` is a frame of the chain (the contract): [rbp] is the caller's rbp,
        // [rbp + 8] the return address.
        let (next, ret) = unsafe { (*(rbp as *const usize), *((rbp + 8) as *const usize)) };
        if table.as_ref().is_none_or(|t| !t.contains(ret)) {
            table = super::code_memory::table_at(ret);
        }
        // A return address outside JIT code is the entry trampoline's: nothing caught here.
        let Some(t) = table.as_ref() else { return 0 };
        let Some(shift) = t.unwind.call_shift((ret - t.start) as u32) else {
            // Every JIT call site is registered; a frame of unknown shape ends the search
            // (the exception then leaves the activation, as a trap does).
            debug_assert!(false, "JIT return address without a call site");
            return 0;
        };
        fp = fp.wrapping_sub(shift as isize as usize);
        rbp = next;
        pc = ret;
    }
    0
}
