//! The baseline tier's calling convention and frame layout, written down once
//! (docs/abi.md is the contract; this is how the baseline keeps it).
//!
//! Value stack (shared with the interpreter, docs/abi.md §1), cells of 8 bytes from `fp`:
//!
//! ```text
//!   fp[0 .. P)          parameters (written by the caller); results go to fp[0 .. R)
//!   fp[P .. L)          declared locals, zeroed by the prologue
//!   fp[L + p]           home slot of operand-stack position p (the interpreter's numbering)
//! ```
//!
//! Machine stack: a JIT frame is only `[return address][saved rbp]`; values never live there.
//! After the prologue `rsp` is 16-byte aligned, so helpers are called without adjustment.
//!
//! Registers (x86-64):
//!
//! | reg | role |
//! |---|---|
//! | r15 | `*const VMContext` (preserved by callees) |
//! | r14 | fp (preserved: the caller moves it to the callee frame around a call) |
//! | r13 | memory 0 base, set by the prologue (the base never moves) |
//! | r12 | memory 0 length in bytes (explicit bounds checks), reloaded after calls/grow |
//! | rbp | machine frame pointer |
//! | r11, r10 | scratch of the code generator, never hold a stack value |
//! | rax rcx rdx rsi rdi r8 r9 | allocatable, caller-saved |
//! | rbx | never touched: callee-saved for the optimizing tier (docs/abi.md §8) |
//! | xmm0-xmm14 | allocatable, caller-saved; xmm15 scratch |
//!
//! A call: arguments are stored to their home slots (the callee's `fp[0..n)`), every value
//! cached in a register is spilled, `r14 += 8 * (L + p)`, `call [code slot]`, `r14 -= ...`,
//! `r12` reloaded. Results are found in the home slots of positions `p..p+R`.
//! Runtime helpers are `extern "C"` (System V) functions that take the `VMContext` first and
//! return a trap code (0 = none) or a value; SysV preserves r12-r15 and rbx. The baseline
//! leaves rbx (and, in guard-page mode, r12) alone, so optimized callers keep values in
//! them across calls into baseline code.
//!
//! Traps: `mov eax, code; jmp trap_stub` (see `trampoline.rs`); a guard-page fault at a pc in
//! the function's trap table is redirected to the same stub by the signal handler.

pub const RAX: u8 = 0;
pub const RCX: u8 = 1;
pub const RDX: u8 = 2;
pub const RBX: u8 = 3;
pub const RSI: u8 = 6;
pub const RDI: u8 = 7;
pub const R8: u8 = 8;
pub const R9: u8 = 9;
/// Code generator scratch registers: never hold a value of the abstract stack.
pub const SCRATCH: u8 = 11;
pub const SCRATCH2: u8 = 10;
/// The pinned registers come from the ABI (`strata_vm::abi::reg`); the assembler text spells
/// them r12-r15, and these assertions tie the spelling to the ABI.
pub use strata_vm::abi::reg::{FP, MEM_BASE, MEM_LEN, VMCTX};
const _: () = assert!(VMCTX == 15 && FP == 14 && MEM_BASE == 13 && MEM_LEN == 12);

/// Allocation order of general registers (rax/rdx last: division wants them). Not rbx:
/// the optimizing tier's callers expect it preserved (docs/abi.md §8).
pub const ALLOC_GPRS: [u8; 7] = [RCX, RSI, RDI, R8, R9, RAX, RDX];
/// Allocatable XMM registers; xmm15 is scratch.
pub const ALLOC_XMMS: u8 = 15;
pub const XMM_SCRATCH: u8 = 15;

/// Integer argument registers of the System V ABI, for helper calls.
pub const ARG_REGS: [u8; 6] = [RDI, RSI, RDX, RCX, R8, R9];

/// Byte displacement of value-stack cell `cell` from `fp`.
pub fn cell_disp(cell: u32) -> i32 {
    strata_vm::abi::FrameLayout::disp(cell) as i32
}

/// Largest frame (in cells) whose displacements fit in an i32.
pub const MAX_FRAME_CELLS: u64 = (i32::MAX as u64) / 8 - 16;
