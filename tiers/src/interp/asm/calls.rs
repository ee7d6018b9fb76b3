//! Calls and returns inside the handlers: `Call`, `CallIndirect` through the indirect-call
//! cache, and the returns of the frames they push. Safe Rust that appends bytes.

use super::handlers::{dispatch_next, Gen, IN_RAX, IN_XMM0};
use super::*;
use crate::interp::code::INIT_CHUNK;

/// Switches the handlers' registers to the function in `rcx` (a `*const CompiledFunc`):
/// `rbp` = its code, `[rsp]` = its counters.
fn enter_func(a: &mut Asm) {
    dynasm!(a
        ; .arch x64
        ; mov rbp, QWORD [rcx + CF_OPS]
        ; lea rax, [rcx + CF_COUNTERS]
        ; mov QWORD [rsp + S_COUNTERS], rax
    );
}

/// The rest of a call, with `rdx` = the `CallCtx` and `eax` = the callee's function index;
/// its frame starts at the slot in word `base`, and the caller goes on `step` ops further.
fn call_body(a: &mut Asm, exit: DynamicLabel, base: i32, step: i32) {
    dynasm!(a
        ; .arch x64
        ; mov r11d, eax
        // An import's index wraps around to far above the number of defined functions
        // (a module has fewer than 2^32 functions), so one unsigned compare is both checks.
        ; sub eax, DWORD [rdx + C_NUM_IMPORTED]
        ; cmp eax, DWORD [rdx + C_NUM_TARGETS]
        ; jae =>exit
        ; mov rcx, QWORD [rdx + C_TARGETS]
        ; mov rcx, QWORD [rcx + rax * 8]
        ; test rcx, rcx
        ; jz =>exit
        // The frame buffer's room and the depth limit, as one limit (`CallCtx`).
        ; mov r9d, DWORD [rdx + C_FRAMES_LEN]
        ; cmp r9d, DWORD [rdx + C_FRAMES_LIMIT]
        ; jae =>exit
        // The callee's frame starts at the argument slots and must fit the value stack.
        ; mov r10d, DWORD [r12 + base]
        ; lea r10, [r13 + r10 * 8]
        ; mov esi, DWORD [rcx + CF_FRAME_SIZE]
        ; lea rsi, [r10 + rsi * 8]
        ; cmp rsi, QWORD [rdx + C_STACK_END]
        ; ja =>exit
    );
    if !cfg!(strata_no_counters) {
        dynasm!(a
            ; .arch x64
            ; mov rsi, QWORD [rcx + CF_COUNTERS + CALLS]
            ; add rsi, 1
            ; cmp rsi, QWORD [rcx + CF_COUNTERS + CALL_CHECK]
            ; jae =>exit
            ; mov QWORD [rcx + CF_COUNTERS + CALLS], rsi
        );
    }
    dynasm!(a
        ; .arch x64
        // Committed: push the caller's frame, make the callee current.
        ; mov rsi, r9
        ; shl rsi, AF_SHIFT
        ; add rsi, QWORD [rdx + C_FRAMES]
        ; mov rdi, QWORD [rdx + C_FUNC]
        ; mov QWORD [rsi + AF_FUNC], rdi
        ; lea rdi, [r12 + step * OP]
        ; mov QWORD [rsi + AF_IP], rdi
        ; mov QWORD [rsi + AF_FP], r13
        ; mov edi, DWORD [rdx + C_FUNC_INDEX]
        ; mov DWORD [rsi + AF_INDEX], edi
        ; mov edi, DWORD [rdx + C_INSTANCE]
        ; mov DWORD [rsi + AF_INSTANCE], edi
        ; add r9d, 1
        ; mov DWORD [rdx + C_FRAMES_LEN], r9d
        ; mov QWORD [rdx + C_FUNC], rcx
        ; mov DWORD [rdx + C_FUNC_INDEX], r11d
        // The frame after the arguments: the declared locals' zeros and the constants,
        // one copy of `frame_init`. Its length is a multiple of four slots (`INIT_CHUNK`:
        // the translator pads it with zeros and sizes the frame for them), so the copy is
        // four slots per step and nothing else; the first step is out of the loop (most
        // frames need one or none). The constant pool makes `frame_init` long in functions
        // with many constants, and every call copies it: one slot per step was a third of
        // a call's instructions.
        ; mov eax, DWORD [rcx + CF_PARAMS]
        ; lea r9, [r10 + rax * 8]
        ; mov rsi, QWORD [rcx + CF_INIT]
        ; mov r8, QWORD [rcx + CF_INIT + 8]
        ; test r8, r8
        ; jz >copied
        ; movups xmm1, [rsi]
        ; movups [r9], xmm1
        ; movups xmm1, [rsi + 16]
        ; movups [r9 + 16], xmm1
        ; cmp r8, INIT_CHUNK as i32
        ; je >copied
        ; mov eax, INIT_CHUNK as i32
        ; copy:
        ; movups xmm1, [rsi + rax * 8]
        ; movups [r9 + rax * 8], xmm1
        ; movups xmm1, [rsi + rax * 8 + 16]
        ; movups [r9 + rax * 8 + 16], xmm1
        ; add rax, INIT_CHUNK as i32
        ; cmp rax, r8
        ; jb <copy
        ; copied:
        ; mov r13, r10
    );
    enter_func(a);
    dynasm!(a ; .arch x64 ; mov r12, rbp);
    dispatch_next(a, 0);
}

/// `Call` of a defined function whose translation is in the call-target table, and the
/// returns of the frames such calls push. Everything else leaves for the executor before
/// changing anything: a call to an import or to compiled code, a callee at its call
/// counter's check point (the tier manager decides), the depth limit (the executor raises
/// the stack-overflow trap) or a full frame buffer (one limit, `CallCtx::frames_limit`), a
/// frame that does not fit the value stack, and a return from the frame the run started in.
/// The handlers keep no depth: the executor gets it back from the frames pushed and popped.
pub(super) fn calls(g: &mut Gen) {
    let exit = g.exit;
    g.handler(Op::Call { func: 0, base: 0 }, 0, move |a| {
        dynasm!(a
            ; .arch x64
            ; mov rdx, QWORD [rsp + S_CTX]
            ; mov eax, DWORD [r12 + F1]
        );
        call_body(a, exit, F2, 1);
    });

    // `CallIndirect { type_index, index, base }` and `Ext { a: table }`: a callee of table 0
    // found in the indirect-call cache under its cell and the expected type (the executor
    // fills it after the checks a call_indirect makes) is called like a `Call`; anything
    // else (another table, an index out of bounds, a null or unknown element) is the
    // executor's, with its traps. The index is read whole: a table64 index at or above 2^32
    // is out of bounds; an i32 index with a dirty upper half (design.md §4) is merely left
    // to the executor, which narrows it by the table's type.
    let op = Op::CallIndirect {
        type_index: 0,
        index: 0,
        base: 0,
    };
    g.handler(op, 0, move |a| {
        dynasm!(a
            ; .arch x64
            ; mov rdx, QWORD [rsp + S_CTX]
            ; cmp DWORD [r12 + OP + F1], 0
            ; jne =>exit
            ; mov eax, DWORD [r12 + F2]
            ; mov rax, QWORD [r13 + rax * 8]
            ; cmp rax, QWORD [rdx + C_TABLE_LEN]
            ; jae =>exit
            ; mov rcx, QWORD [rdx + C_TABLE]
            ; mov rcx, QWORD [rcx + rax * 8]
            ; test rcx, rcx
            ; jz =>exit
            ; mov r8d, DWORD [r12 + F1]
            ; mov eax, ecx
            ; mov esi, r8d
            ; shl esi, ICACHE_TYPE_SHIFT
            ; xor eax, esi
            ; and eax, (ICACHE_ENTRIES - 1) as i32
            ; shl rax, IE_SHIFT
            ; add rax, QWORD [rdx + C_ICACHE]
            ; cmp QWORD [rax + IE_CELL], rcx
            ; jne =>exit
            ; cmp DWORD [rax + IE_TYPE], r8d
            ; jne =>exit
            ; mov eax, DWORD [rax + IE_FUNC]
        );
        call_body(a, exit, F3, 2);
    });
    // Returns: results go to the frame's first slots, then the caller's frame comes back.
    // `Return1` may find its value in an accumulator.
    let ret = move |a: &mut Asm, op: Op, v: usize| {
        // The caller's frame must be an interpreter frame of this instance (the executor
        // returns from the outermost frame and switches instances). Checked before anything
        // changes: a `Return` the executor redoes must find its slots untouched.
        dynasm!(a
            ; .arch x64
            ; mov rdx, QWORD [rsp + S_CTX]
            ; mov r9d, DWORD [rdx + C_FRAMES_LEN]
            ; sub r9d, 1
            ; jb =>exit
            ; mov rsi, r9
            ; shl rsi, AF_SHIFT
            ; add rsi, QWORD [rdx + C_FRAMES]
            ; mov ecx, DWORD [rsi + AF_INSTANCE]
            ; cmp ecx, DWORD [rdx + C_INSTANCE]
            ; jne =>exit
        );
        match (op, v) {
            (Op::Return1 { .. }, 0) => dynasm!(a
                ; .arch x64
                ; mov eax, DWORD [r12 + F1]
                ; mov rax, QWORD [r13 + rax * 8]
                ; mov QWORD [r13], rax
            ),
            (Op::Return1 { .. }, 1) => dynasm!(a ; .arch x64 ; mov QWORD [r13], rax),
            (Op::Return1 { .. }, _) => dynasm!(a ; .arch x64 ; movsd QWORD [r13], xmm0),
            // `n` slots from `src` down to slot 0: ascending, as `src >= 0`.
            (Op::Return { .. }, _) => dynasm!(a
                ; .arch x64
                ; mov eax, DWORD [r12 + F1]
                ; lea rdi, [r13 + rax * 8]
                ; mov r8d, DWORD [r12 + F2]
                ; xor eax, eax
                ; copy:
                ; cmp rax, r8
                ; jae >copied
                ; mov r11, QWORD [rdi + rax * 8]
                ; mov QWORD [r13 + rax * 8], r11
                ; add rax, 1
                ; jmp <copy
                ; copied:
            ),
            _ => {}
        }
        dynasm!(a
            ; .arch x64
            ; mov DWORD [rdx + C_FRAMES_LEN], r9d
            ; mov rcx, QWORD [rsi + AF_FUNC]
            ; mov QWORD [rdx + C_FUNC], rcx
            ; mov eax, DWORD [rsi + AF_INDEX]
            ; mov DWORD [rdx + C_FUNC_INDEX], eax
            ; mov r12, QWORD [rsi + AF_IP]
            ; mov r13, QWORD [rsi + AF_FP]
        );
        enter_func(a);
        dispatch_next(a, 0);
    };
    g.handler(Op::Return0, 0, move |a| ret(a, Op::Return0, 0));
    let op = Op::Return { src: 0, n: 0 };
    g.handler(op, 0, move |a| ret(a, op, 0));
    let op = Op::Return1 { src: 0 };
    g.consumer(op, &[(IN_RAX, F1), (IN_XMM0, F1)], 0, move |a, v| {
        ret(a, op, v)
    });
}
