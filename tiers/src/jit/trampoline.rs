//! The entry trampoline (Rust -> JIT) and the trap stub, generated once per process.
//!
//! `enter(vmctx, fp, entry) -> trap code`: saves the System V callee-saved registers, records
//! `rsp` in `VMRuntime.entry_sp`, loads `r15 = vmctx`, `r14 = fp` and calls `entry`; a normal
//! return yields 0. The trap stub (entered with the trap code in `eax`, a pc of the trapping
//! function in `rdx` and `r15`/`rbp` intact, by a jump from JIT code or by the signal handler
//! rewriting the context) records the JIT frames for the backtrace, restores `rsp` from
//! `entry_sp` and leaves through the trampoline's epilogue, returning the code. Nothing is
//! unwound: the JIT frames are simply abandoned (they own no resources). An exception first
//! searches the frames for a handler (`super::unwind`) and resumes at its landing pad if one
//! catches it.

use super::code_memory::CodeMemory;
use dynasmrt::{dynasm, x64::X64Relocation, DynasmApi, DynasmLabelApi, VecAssembler};
use std::sync::OnceLock;
use strata_vm::vmctx::{offsets, VMContext};

pub struct Stubs {
    _code: CodeMemory,
    enter: usize,
    trap: usize,
    interp: usize,
}

// The assembler text below spells the pinned registers (r15 = vmctx, r14 = fp); the ABI
// defines them.
const _: () = assert!(strata_vm::abi::reg::VMCTX == 15 && strata_vm::abi::reg::FP == 14);

fn build() -> Stubs {
    let mut ops: VecAssembler<X64Relocation> = VecAssembler::new(0);
    let exit = ops.new_dynamic_label();
    let rt = offsets::VMCTX_RUNTIME;
    let entry_sp_off = offsets::RUNTIME_ENTRY_SP;
    let limit_off = offsets::RUNTIME_STACK_LIMIT;
    let room_off = offsets::RUNTIME_DEPTH_ROOM;
    let jit_fp_off = offsets::RUNTIME_JIT_FP;
    let tail_off = offsets::RUNTIME_TAIL_ENTRY;
    let enter = ops.offset().0;
    dynasm!(ops
        ; .arch x64
        ; push rbp
        ; mov rbp, rsp
        ; push rbx
        ; push r12
        ; push r13
        ; push r14
        ; push r15
        ; sub rsp, 8
        ; mov r15, rdi
        ; mov r14, rsi
        ; mov r11, QWORD [r15 + rt]
        ; mov QWORD [r11 + entry_sp_off], rsp
        // The depth limit as a stack limit: JIT frame k sits at entry_sp - 16k, so the
        // prologue's `rsp < stack_limit` fails exactly past `depth_room / 16` frames.
        ; mov r10, rsp
        ; sub r10, QWORD [r11 + room_off]
        ; jae >room
        ; xor r10d, r10d
        ; room:
        ; cmp r10, QWORD [r11 + limit_off]
        ; jbe >keep
        ; mov QWORD [r11 + limit_off], r10
        ; keep:
        ; call rdx
        ; xor eax, eax
        ; =>exit
        ; add rsp, 8
        ; pop r15
        ; pop r14
        ; pop r13
        ; pop r12
        ; pop rbx
        ; pop rbp
        ; ret
    );
    // Entered with eax = trap code, rdx = a pc in the trapping function, rbp = its frame.
    // First the frames are recorded for the backtrace (they are still intact), then they are
    // abandoned. r12 is free here: the trampoline's epilogue restores the caller's.
    let trap = ops.offset().0;
    let record = super::helpers::record_trap as *const () as i64;
    let catch = super::unwind::catch_exception as *const () as i64;
    let exception = strata_vm::TrapCode::Exception as u8 as i32;
    let trap_label = ops.new_dynamic_label();
    dynasm!(ops
        ; .arch x64
        ; =>trap_label
        // An exception first looks for a handler in the activation's JIT frames (r14 = the
        // throwing frame's fp; docs/abi.md §10). Found: resume at its landing pad in the
        // catching frame (rsp = rbp: JIT frames keep nothing else on the machine stack),
        // with the callee-saved rbx and r12 the search recovered from the abandoned frames
        // (`unwind::Resume`: it starts from their values here).
        ; cmp eax, exception
        ; jne >plain
        ; and rsp, -16
        ; sub rsp, 32
        ; mov QWORD [rsp + 16], rbx
        ; mov QWORD [rsp + 24], r12
        ; mov rbx, rdx
        ; mov rdi, r15
        ; mov rsi, rdx
        ; mov rdx, rbp
        ; mov rcx, r14
        ; mov r8, rsp
        ; mov rax, QWORD catch
        ; call rax
        ; test rax, rax
        ; jz >uncaught
        ; mov rbp, QWORD [rsp]
        ; mov r14, QWORD [rsp + 8]
        ; mov rbx, QWORD [rsp + 16]
        ; mov r12, QWORD [rsp + 24]
        ; mov rsp, rbp
        ; jmp rax
        ; uncaught:
        ; mov rdx, rbx
        ; mov eax, exception
        ; plain:
        ; mov r12d, eax
        ; mov rdi, r15
        ; mov rsi, rdx
        ; mov rdx, rbp
        ; and rsp, -16
        ; mov rax, QWORD record
        ; call rax
        ; mov eax, r12d
        ; mov r11, QWORD [r15 + rt]
        ; mov rsp, QWORD [r11 + entry_sp_off]
        ; jmp =>exit
    );
    // The code slot of a function that stays in the interpreter (mixed tiers): JIT callers
    // pass the defined-function index in eax; the helper runs the interpreter on the frame.
    // JIT code may also jump here in place of a call (a tail call, design.md §12): the
    // return address is then the tail caller's caller's, which is all this stub needs.
    // Entered like a function: rsp = 8 mod 16, so one push aligns it for the helper call.
    let interp = ops.offset().0;
    let helper = super::helpers::call_interp as *const () as i64;
    dynasm!(ops
        ; .arch x64
        // The calling JIT frame, for the interpreted callee's depth.
        ; mov r11, QWORD [r15 + rt]
        ; mov QWORD [r11 + jit_fp_off], rbp
        ; push rbp
        ; mov rbp, rsp
        ; mov rdi, r15
        ; mov esi, eax
        ; mov rdx, r14
        ; mov rax, QWORD helper
        ; call rax
        ; test eax, eax
        ; jnz >trap
        // A tail call the interpreter handed back (`VMRuntime::tail_entry`): this stub's
        // frame is the caller's, so jump to the callee in its place (frame at r14 already).
        ; mov r11, QWORD [r15 + rt]
        ; mov rax, QWORD [r11 + tail_off]
        ; test rax, rax
        ; jnz >tail
        ; pop rbp
        ; ret
        ; tail:
        ; mov QWORD [r11 + tail_off], 0
        ; pop rbp
        ; jmp rax
        ; trap:
        // rdx: a pc outside any wasm function, so the walk starts at this stub's caller.
        ; xor edx, edx
        ; jmp =>trap_label
    );
    let bytes = ops.finalize().expect("trampoline assembles");
    let code = CodeMemory::new(&bytes).expect("cannot map the JIT entry trampoline");
    let base = code.base() as usize;
    Stubs {
        enter: base + enter,
        trap: base + trap,
        interp: base + interp,
        _code: code,
    }
}

pub fn stubs() -> &'static Stubs {
    static STUBS: OnceLock<Stubs> = OnceLock::new();
    STUBS.get_or_init(build)
}

/// Address JIT code jumps to with a trap code in `eax`.
pub fn trap_stub() -> usize {
    stubs().trap
}

/// The code-slot value of a function that runs in the interpreter.
pub fn interp_stub() -> usize {
    stubs().interp
}

type EnterFn = unsafe extern "C" fn(*const VMContext, *mut u64, usize) -> u32;

/// Runs JIT code `entry` with frame `fp`; returns 0 or the trap code.
///
/// # Safety
/// `vmctx` must be the live context of the instance `entry` was compiled for, with its
/// runtime's `store`, `stack_end` and `stack_limit` set for this activation; `fp` must point
/// into the value stack that ends at `stack_end`, with the arguments in place.
pub unsafe fn enter(vmctx: *const VMContext, fp: *mut u64, entry: *const u8) -> u32 {
    // SAFETY: `stubs().enter` is the trampoline built above, with exactly this signature.
    let f: EnterFn = unsafe { std::mem::transmute::<usize, EnterFn>(stubs().enter) };
    // SAFETY: the caller's contract.
    unsafe { f(vmctx, fp, entry as usize) }
}
