//! The optimizing tier's registers and frame (docs/abi.md §7).
//!
//! Value stack, cells of 8 bytes from `fp` (r14):
//!
//! ```text
//!   fp[0 .. L)                  parameters and locals (the shared layout; results at fp[0..R))
//!   fp[L .. B)                  the operand cells an OSR entry reads, and the catch cells a
//!                               landing block reads (B = max(L, R, cells + 1, L + catch cells))
//!   fp[B .. B + S)              regalloc2 spill slots (one cell each)
//!   fp[B + S ..)                outgoing call frames: arguments and results of every call
//! ```
//!
//! Registers: r15 vmctx, r14 fp, r13 memory base, r12 memory length (explicit bounds) are
//! pinned as in every JIT tier; r11 is the emitter's scratch (never allocated);
//! rax rcx rdx rsi rdi r8 r9 r10 and xmm0-xmm14 are allocatable and caller-saved (xmm15 is
//! scratch). The few sequences that need a second general scratch register take r10 through
//! a fixed temporary operand (`lower::r10_temp`), so regalloc2 keeps it free of values there
//! and nowhere else (docs/abi.md §8 lists them). rbx, and r12 in guard-page mode with a
//! 32-bit memory 0 (or none), are allocatable and *callee-saved* between JIT functions
//! (docs/abi.md §8): a function that allocates one saves it in a frame cell in its prologue
//! and restores it before it returns or tail-calls, so values live across calls stay in
//! them. Every other value live across a call is spilled to a cell by the allocator.
//!
//! The frame then reads `fp[B + S .. B + S + K)` = the K callee-saved registers the
//! function uses, before the outgoing call frames.

use regalloc2::{MachineEnv, PReg, PRegSet, RegClass};

pub const RAX: u8 = 0;
pub const RCX: u8 = 1;
pub const RDX: u8 = 2;
pub const RBX: u8 = 3;
pub const RSI: u8 = 6;
pub const RDI: u8 = 7;
pub const R8: u8 = 8;
pub const R9: u8 = 9;
pub const R10: u8 = 10;
pub const R12: u8 = 12;

/// Caller-saved allocatable general registers, in preference order (r10 after the others
/// that no instruction fixes, as a few sequences take it as a temporary; rax/rdx/rcx last:
/// div and shifts).
pub const GPRS: [u8; 8] = [RSI, RDI, R8, R9, R10, RCX, RAX, RDX];
/// Callee-saved allocatable general registers (r12 only when not pinned), taken after the
/// caller-saved ones: a function that uses one pays a save and a restore.
pub const CALLEE_SAVED: [u8; 2] = [RBX, R12];
/// Allocatable XMM registers: xmm0..xmm14 (xmm15 is scratch).
pub const NUM_XMMS: u8 = 15;

pub fn gpr(r: u8) -> PReg {
    PReg::new(r as usize, RegClass::Int)
}

pub fn xmm(r: u8) -> PReg {
    PReg::new(r as usize, RegClass::Float)
}

/// The machine description regalloc2 allocates for: r12 too unless `r12_pinned` (it holds
/// memory 0's length for bounds checks: explicit bounds, or a 64-bit memory 0). The
/// callee-saved registers are regalloc2's non-preferred ones: used when the others are taken
/// or for values live across calls.
pub fn machine_env(r12_pinned: bool) -> MachineEnv {
    let mut ints = PRegSet::empty();
    for r in GPRS {
        ints.add(gpr(r));
    }
    let mut saved = PRegSet::empty();
    for r in CALLEE_SAVED {
        if r != R12 || !r12_pinned {
            saved.add(gpr(r));
        }
    }
    let mut floats = PRegSet::empty();
    for r in 0..NUM_XMMS {
        floats.add(xmm(r));
    }
    MachineEnv {
        preferred_regs_by_class: [ints, floats, PRegSet::empty()],
        non_preferred_regs_by_class: [saved, PRegSet::empty(), PRegSet::empty()],
        scratch_by_class: [None, None, None],
        fixed_stack_slots: Vec::new(),
    }
}

/// Every allocatable register in either bounds mode: what an invoke clobbers on its
/// exceptional edge (the frames between the thrower and the handler are abandoned).
pub fn all_allocatable() -> PRegSet {
    let mut s = PRegSet::empty();
    for r in GPRS.into_iter().chain(CALLEE_SAVED) {
        s.add(gpr(r));
    }
    for r in 0..NUM_XMMS {
        s.add(xmm(r));
    }
    s
}

/// What a call clobbers: every allocatable register except the callee-saved ones (JIT
/// callees restore them, System V helpers preserve them).
pub fn call_clobbers() -> PRegSet {
    let mut s = all_allocatable();
    for r in CALLEE_SAVED {
        s.remove(gpr(r));
    }
    s
}

/// System V integer argument registers (helper calls).
pub const ARG_REGS: [u8; 6] = [RDI, RSI, RDX, RCX, R8, R9];

/// Byte displacement of value-stack cell `cell` from `fp`.
pub fn cell_disp(cell: u32) -> i32 {
    strata_vm::abi::FrameLayout::disp(cell) as i32
}

/// Largest frame (in cells) whose displacements fit in an i32.
pub const MAX_FRAME_CELLS: u64 = (i32::MAX as u64) / 8 - 16;
