//! Runtime helpers called from baseline code (`extern "C"`, System V). Each takes the caller's
//! `VMContext` first. Those that can trap return a trap code (0 = none); a trap with more than
//! a code (a host function's message, `proc_exit`) is parked in `VMRuntime.pending_trap` for
//! the entry point to pick up.
//!
//! Contract shared by every helper (the `# Safety` of all of them): `vmctx` is the live
//! context of the calling instance, and its runtime's `store` points at the store that owns
//! it, which JIT code holds exclusively while it runs (the Rust frame that entered JIT code
//! does not touch the store until the trampoline returns). Frame pointers passed in point into
//! the running activation's value stack, below `VMRuntime.stack_end`.

use strata_vm::vmctx::VMContext;
use strata_vm::{
    cell_funcref, funcref_cell, table_grow_result, table_operand, FuncAddr, FuncKind, HostContext,
    InstanceId, StoreInner, Trap, TrapCode,
};

/// The store and the calling instance.
///
/// # Safety
/// See the module documentation.
pub(super) unsafe fn cx<'a>(vmctx: *const VMContext) -> (&'a mut StoreInner, InstanceId) {
    // SAFETY: the module contract: vmctx and its runtime's store are live and exclusively ours.
    unsafe {
        let vm = &*vmctx;
        let store = &mut *(*vm.runtime).store;
        (store, vm.instance)
    }
}

pub(super) fn trap_code(store: &mut StoreInner, trap: Trap) -> u32 {
    let code = trap.code() as u8 as u32;
    store.runtime.pending_trap = Some(trap);
    code
}

fn result(store: &mut StoreInner, r: Result<(), Trap>) -> u32 {
    match r {
        Ok(()) => 0,
        Err(t) => trap_code(store, t),
    }
}

/// `throw` of the caller's tag `tag` with the payload cells at `args`: makes the exception
/// and parks it as the pending trap; returns its trap code (docs/abi.md §10).
///
/// # Safety
/// See the module documentation; `args` points at the tag's payload cells in the caller's
/// frame.
pub unsafe extern "C" fn throw_exception(
    vmctx: *const VMContext,
    tag: u32,
    args: *const u64,
) -> u32 {
    // SAFETY: module contract.
    let (store, instance) = unsafe { cx(vmctx) };
    let addr = store.instances[instance as usize].tags[tag as usize];
    let n = strata_vm::cells_of(&store.tags[addr as usize].ty.params) as usize;
    // SAFETY: the caller stored the `n` payload cells at `args`, in its frame.
    let payload = unsafe { std::slice::from_raw_parts(args, n) };
    let trap = match store.exns.alloc(addr, payload) {
        Ok(exn) => Trap::exception(exn),
        Err(t) => t,
    };
    trap_code(store, trap)
}

/// `throw_ref` of `exn`: a null reference traps; any other is thrown again as it is.
///
/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn throw_ref(vmctx: *const VMContext, exn: u64) -> u32 {
    if exn == 0 {
        return TrapCode::NullReference as u8 as u32;
    }
    // SAFETY: module contract.
    let (store, _) = unsafe { cx(vmctx) };
    trap_code(store, Trap::exception(exn))
}

/// Frames recorded at most per trap: deep recursion would otherwise walk up to the whole
/// host stack.
const MAX_TRAP_FRAMES: usize = 10_000;

/// Called by the trap stub before it abandons the JIT frames: records the trapping function
/// (the one containing `pc`) and every JIT caller found by following the saved-`rbp` chain
/// from `rbp` (every baseline prologue starts with `push rbp; mov rbp, rsp`).
///
/// # Safety
/// See the module documentation; `rbp` is the trapping frame's frame pointer, and the chain
/// of saved frame pointers above it is intact up to the entry trampoline's frame.
pub unsafe extern "C" fn record_trap(vmctx: *const VMContext, pc: usize, rbp: usize) {
    // SAFETY: module contract.
    let (store, _) = unsafe { cx(vmctx) };
    let frames = &mut store.runtime.trap_frames;
    // A frame left there by an OSR check point (`check_points::loop_check`) is the
    // trapping frame as the tier it moved to saw it; otherwise the list is empty.
    let osr_frame = frames.pop();
    frames.clear();
    match osr_frame {
        Some(f) => frames.push(f),
        None => frames.extend(super::code_memory::frame_at(pc)),
    }
    let mut fp = rbp;
    while fp != 0 && frames.len() < MAX_TRAP_FRAMES {
        // SAFETY: `fp` is a frame pointer of the JIT frame chain (the function's contract):
        // [fp] holds the caller's frame pointer and [fp + 8] the return address.
        let (next, ret) = unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        // A return address outside JIT code is the entry trampoline's: the chain ends. The
        // code keys its calls' offsets by the return address less one.
        match super::code_memory::frame_at(ret.wrapping_sub(1)) {
            Some(f) => frames.push(f),
            None => break,
        }
        fp = next;
    }
}

/// The interp-entry stub's helper: runs defined function `def` of the calling instance in
/// the interpreter, arguments at `fp`, results left at `fp` (mixed tiers).
///
/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn call_interp(vmctx: *const VMContext, def: u32, fp: *mut u64) -> u32 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let func_index = store.instances[inst as usize].module.num_imported_funcs + def;
    let addr = store.instances[inst as usize].funcs[func_index as usize];
    // The stub can finish a tail call to compiled code for the interpreter (design.md §12).
    let r = at_caller_depth(store, |store| interpret(store, addr, fp, true));
    result(store, r)
}

/// Runs `f` (which may run wasm) with `call_depth` at the depth of the JIT frame that called
/// the helper, and puts the activation's base back after (docs/abi.md §4).
fn at_caller_depth<T>(store: &mut StoreInner, f: impl FnOnce(&mut StoreInner) -> T) -> T {
    let base = store.runtime.call_depth;
    store.runtime.call_depth = super::helper_caller_depth(&store.runtime);
    let r = f(store);
    store.runtime.call_depth = base;
    r
}

/// Runs wasm function `addr` in the interpreter with its frame at `fp` in the running
/// activation's value stack: the interpreter continues on the same stack (the frame layout
/// is shared), so tier ping-pong costs no stack allocation. `tail_out`: the caller is the
/// interp-entry stub, which jumps to `VMRuntime::tail_entry` when the interpreter leaves
/// one there.
fn interpret(
    store: &mut StoreInner,
    addr: FuncAddr,
    fp: *mut u64,
    tail_out: bool,
) -> Result<(), Trap> {
    let FuncKind::Wasm {
        instance,
        func_index,
    } = store.funcs[addr as usize].kind
    else {
        return Err(Trap::host("interpreting a host function"));
    };
    let end = store.runtime.stack_end as usize;
    let Some(cells) = end.checked_sub(fp as usize).map(|bytes| bytes / 8) else {
        return Err(TrapCode::StackOverflow.into());
    };
    // SAFETY: [fp, stack_end) is the tail of the running activation's value stack from the
    // callee's frame on; the JIT caller's frame lies below `fp` and nothing else touches
    // this range until the interpreter returns.
    let stack = unsafe { std::slice::from_raw_parts_mut(fp, cells) };
    // The runtime fields describe this activation; a nested JIT entry from the interpreter
    // saves and restores them itself.
    crate::interp::execute_on_stack(store, stack, instance, func_index, tail_out)
}

/// Calls any function by store address with its frame at `fp` (arguments there, results
/// left there): host functions directly, wasm functions through the entry trampoline.
pub(crate) fn call_func(
    store: &mut StoreInner,
    caller: InstanceId,
    addr: FuncAddr,
    fp: *mut u64,
) -> Result<(), Trap> {
    at_caller_depth(store, |store| call_func_at_depth(store, caller, addr, fp))
}

fn call_func_at_depth(
    store: &mut StoreInner,
    caller: InstanceId,
    addr: FuncAddr,
    fp: *mut u64,
) -> Result<(), Trap> {
    let func = store.funcs[addr as usize].clone();
    match func.kind {
        FuncKind::Host(host) => {
            let ty = store.sigs.get(func.sig);
            let (n, r) = (ty.param_cells() as usize, ty.result_cells() as usize);
            let end = store.runtime.stack_end as usize;
            if fp as usize + 8 * n.max(r) > end {
                return Err(TrapCode::StackOverflow.into());
            }
            // SAFETY: [fp, fp + max(n, r)) lies in the value stack (checked above), which
            // nothing else accesses while the host function runs.
            let args: Vec<u64> = unsafe { std::slice::from_raw_parts(fp, n) }.to_vec();
            let mut results = vec![0u64; r];
            let tier = store.tier_now.enter(strata_vm::tiering::LEVEL_HOST);
            let mut hcx = HostContext {
                store,
                caller: Some(caller),
            };
            let outcome = host(&mut hcx, &args, &mut results);
            hcx.store.tier_now.restore(tier);
            outcome?;
            // SAFETY: as above.
            unsafe { std::slice::from_raw_parts_mut(fp, r) }.copy_from_slice(&results);
            Ok(())
        }
        FuncKind::Wasm {
            instance,
            func_index,
        } => {
            // Compiled code if the callee's slot holds some (its module was prepared when it
            // was instantiated), else the interpreter.
            let module = store.instances[instance as usize].module.clone();
            let Some(entry) = super::installed_entry(&module, func_index) else {
                return interpret(store, addr, fp, false);
            };
            let level = crate::tier::code_level(&module, func_index - module.num_imported_funcs);
            let end = store.runtime.stack_end;
            super::run(store, instance, entry, fp, end, level)
        }
    }
}

/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn call_import(vmctx: *const VMContext, func: u32, fp: *mut u64) -> u32 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let addr = store.instances[inst as usize].funcs[func as usize];
    let r = call_func(store, inst, addr, fp);
    result(store, r)
}

/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn call_indirect(
    vmctx: *const VMContext,
    table: u32,
    type_index: u32,
    index: u64,
    fp: *mut u64,
) -> u32 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let data = &store.instances[inst as usize];
    let expected = data.sigs[type_index as usize];
    let t = &store.tables[data.tables[table as usize] as usize];
    let index = table_operand(index, t.ty.table64);
    let Some(&cell) = t.elems.get(index as usize) else {
        return TrapCode::UndefinedElement as u32;
    };
    let Some(addr) = cell_funcref(cell) else {
        return TrapCode::IndirectCallToNull as u32;
    };
    if store.funcs[addr as usize].sig != expected {
        return TrapCode::BadSignature as u32;
    }
    let r = call_func(store, inst, addr, fp);
    result(store, r)
}

/// The fast path of `call_indirect`: checks the element and signature and, when the target
/// is a compiled function of the calling instance, returns its entry (JIT code then calls it
/// directly). `value` 0 with `trap` 0 means "take the general path" (`call_indirect`).
///
/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn resolve_indirect(
    vmctx: *const VMContext,
    table: u32,
    type_index: u64,
    index: u64,
) -> ValueOrTrap {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let data = &store.instances[inst as usize];
    let expected = data.sigs[type_index as usize];
    let t = &store.tables[data.tables[table as usize] as usize];
    let index = table_operand(index, t.ty.table64);
    let trap = |c: TrapCode| ValueOrTrap {
        value: 0,
        trap: c as u64,
    };
    let Some(&cell) = t.elems.get(index as usize) else {
        return trap(TrapCode::UndefinedElement);
    };
    let Some(addr) = cell_funcref(cell) else {
        return trap(TrapCode::IndirectCallToNull);
    };
    let f = &store.funcs[addr as usize];
    if f.sig != expected {
        return trap(TrapCode::BadSignature);
    }
    if let FuncKind::Wasm {
        instance,
        func_index,
    } = f.kind
    {
        if instance == inst && func_index >= data.module.num_imported_funcs {
            let slot =
                &data.module.code_slots()[(func_index - data.module.num_imported_funcs) as usize];
            let entry = slot.load(std::sync::atomic::Ordering::Acquire);
            // An interpreted callee takes the general path (it needs its index, not a jump).
            let entry = if entry as usize == super::trampoline::interp_stub() {
                std::ptr::null_mut()
            } else {
                entry
            };
            return ValueOrTrap {
                value: entry as u64,
                trap: 0,
            };
        }
    }
    ValueOrTrap { value: 0, trap: 0 }
}

/// The target of `return_call_indirect` (design.md §12): checks the element and signature
/// like `resolve_indirect`, and for a function of the calling instance returns the entry
/// its code slot holds, the interp-entry stub included, with its defined index in `trap`
/// (the stub reads it in eax), so JIT code can jump there in place of its own frame.
/// `value` 0 with `trap` 0: another instance's or a host function (call it, then return).
///
/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn resolve_tail_indirect(
    vmctx: *const VMContext,
    table: u32,
    type_index: u64,
    index: u64,
) -> ValueOrTrap {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let data = &store.instances[inst as usize];
    let expected = data.sigs[type_index as usize];
    let t = &store.tables[data.tables[table as usize] as usize];
    let index = table_operand(index, t.ty.table64);
    let trap = |c: TrapCode| ValueOrTrap {
        value: 0,
        trap: c as u64,
    };
    let Some(&cell) = t.elems.get(index as usize) else {
        return trap(TrapCode::UndefinedElement);
    };
    let Some(addr) = cell_funcref(cell) else {
        return trap(TrapCode::IndirectCallToNull);
    };
    let f = &store.funcs[addr as usize];
    if f.sig != expected {
        return trap(TrapCode::BadSignature);
    }
    same_instance_entry(store, inst, addr)
}

/// `call_ref`: calls the function reference `cell` (null traps) with its frame at `fp`.
///
/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn call_ref(vmctx: *const VMContext, cell: u64, fp: *mut u64) -> u32 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let Some(addr) = cell_funcref(cell) else {
        return TrapCode::NullFunctionReference as u32;
    };
    let r = call_func(store, inst, addr, fp);
    result(store, r)
}

/// The target of `return_call_ref`, as `resolve_tail_indirect` answers for a table element:
/// a same-instance callee's entry and defined index, a trap code (null), or `0, 0` for
/// another instance's or a host function.
///
/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn resolve_tail_ref(vmctx: *const VMContext, cell: u64) -> ValueOrTrap {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    match cell_funcref(cell) {
        Some(addr) => same_instance_entry(store, inst, addr),
        None => ValueOrTrap {
            value: 0,
            trap: TrapCode::NullFunctionReference as u64,
        },
    }
}

/// The code-slot entry (and defined index) of function `addr` if it is a defined function
/// of instance `inst`; `value` 0 and `trap` 0 otherwise.
fn same_instance_entry(store: &StoreInner, inst: InstanceId, addr: FuncAddr) -> ValueOrTrap {
    let data = &store.instances[inst as usize];
    if let FuncKind::Wasm {
        instance,
        func_index,
    } = store.funcs[addr as usize].kind
    {
        let imported = data.module.num_imported_funcs;
        if instance == inst && func_index >= imported {
            let def = func_index - imported;
            let entry =
                data.module.code_slots()[def as usize].load(std::sync::atomic::Ordering::Acquire);
            return ValueOrTrap {
                value: entry as u64,
                trap: def as u64,
            };
        }
    }
    ValueOrTrap { value: 0, trap: 0 }
}

/// `memory.grow` of memory `mem` by `delta` pages (a cell of the memory's index type): the old
/// size, or -1 of the index type.
///
/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn memory_grow(vmctx: *const VMContext, mem: u32, delta: u64) -> u64 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    strata_vm::memory_grow(store, inst, mem, delta)
}

/// `memory.copy` from memory `src_mem` to memory `dst_mem` (operands are cells; the runtime
/// reads them by the memories' index types).
///
/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn memory_copy(
    vmctx: *const VMContext,
    dst_mem: u32,
    src_mem: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let r = strata_vm::memory_copy(store, inst, dst_mem, src_mem, dst, src, len);
    result(store, r)
}

/// `memory.fill` of memory `mem`.
///
/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn memory_fill(
    vmctx: *const VMContext,
    mem: u32,
    dst: u64,
    val: u32,
    len: u64,
) -> u32 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let r = strata_vm::memory_fill(store, inst, mem, dst, val as u8, len);
    result(store, r)
}

/// `memory.init` of memory `mem` from data segment `seg`.
///
/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn memory_init(
    vmctx: *const VMContext,
    mem: u32,
    seg: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let r = strata_vm::memory_init(store, inst, mem, seg, dst, src, len);
    result(store, r)
}

/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn data_drop(vmctx: *const VMContext, seg: u32) {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    store.instances[inst as usize].data_dropped[seg as usize] = true;
}

/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn elem_drop(vmctx: *const VMContext, seg: u32) {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    store.instances[inst as usize].elems[seg as usize] = Box::new([]);
}

/// Value and trap code, returned in rax:rdx.
#[repr(C)]
pub struct ValueOrTrap {
    pub value: u64,
    pub trap: u64,
}

/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn table_get(vmctx: *const VMContext, table: u32, index: u64) -> ValueOrTrap {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let t = &store.tables[store.instances[inst as usize].tables[table as usize] as usize];
    match t.elems.get(table_operand(index, t.ty.table64) as usize) {
        Some(&value) => ValueOrTrap { value, trap: 0 },
        None => ValueOrTrap {
            value: 0,
            trap: TrapCode::TableOutOfBounds as u64,
        },
    }
}

/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn table_set(
    vmctx: *const VMContext,
    table: u32,
    index: u64,
    val: u64,
) -> u32 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let t = &mut store.tables[store.instances[inst as usize].tables[table as usize] as usize];
    let index = table_operand(index, t.ty.table64);
    match t.elems.get_mut(index as usize) {
        Some(slot) => {
            *slot = val;
            0
        }
        None => TrapCode::TableOutOfBounds as u32,
    }
}

/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn table_size(vmctx: *const VMContext, table: u32) -> u64 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let t = store.instances[inst as usize].tables[table as usize];
    store.tables[t as usize].elems.len() as u64
}

/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn table_grow(
    vmctx: *const VMContext,
    table: u32,
    init: u64,
    delta: u64,
) -> u64 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let t = &mut store.tables[store.instances[inst as usize].tables[table as usize] as usize];
    let table64 = t.ty.table64;
    let r = t.grow(table_operand(delta, table64) as u64, init);
    table_grow_result(r, table64)
}

/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn table_fill(
    vmctx: *const VMContext,
    table: u32,
    index: u64,
    val: u64,
    len: u64,
) -> u32 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let r = strata_vm::table_fill(store, inst, table, index, val, len);
    result(store, r)
}

/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn table_copy(
    vmctx: *const VMContext,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let r = strata_vm::table_copy(store, inst, dst_table, src_table, dst, src, len);
    result(store, r)
}

/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn table_init(
    vmctx: *const VMContext,
    table: u32,
    seg: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    let r = strata_vm::table_init(store, inst, table, seg, dst, src, len);
    result(store, r)
}

/// # Safety
/// See the module documentation.
pub unsafe extern "C" fn ref_func(vmctx: *const VMContext, func: u32) -> u64 {
    // SAFETY: module contract.
    let (store, inst) = unsafe { cx(vmctx) };
    funcref_cell(store.instances[inst as usize].funcs[func as usize])
}

/// Runs one SIMD operator with the interpreter's semantics (`interp::simd::exec`, the
/// reference every tier agrees with) on value-stack cells: the baseline's lowering of the
/// operators it does not inline. `word` is the operator code and lane (low 32 bits, the
/// interpreter's `code`) and the operand cells `a`, `b`, `c` relative to `cells` (a byte
/// each from bit 32); the result goes to `cells[0..]`. `offset` is a memory access's static
/// offset. Returns a trap code (0 = none).
///
/// # Safety
/// See the module documentation; `cells` points at the operands' home slots, and the frame
/// holds two cells from there and every operand cell named in `word`.
pub unsafe extern "C" fn simd_exec(
    vmctx: *const VMContext,
    word: u64,
    offset: u32,
    cells: *mut u64,
) -> u32 {
    use crate::interp::raw::{MemView, Slots};
    let (a, b, c) = (
        (word >> 32) as u8 as u32,
        (word >> 40) as u8 as u32,
        (word >> 48) as u8 as u32,
    );
    // SAFETY: the function's contract: the cells are the caller's frame, ours while it runs.
    let s = unsafe { Slots::new(cells) };
    // SAFETY: the module contract: vmctx is live; its memory 0 (if any) stays mapped with at
    // least its current length for the store's lifetime.
    let mem = unsafe {
        let vm = &*vmctx;
        if vm.memory.is_null() {
            MemView::EMPTY
        } else {
            MemView::new(vm.mem_base, (*vm.memory).len)
        }
    };
    // Loads and stores are always inline in the baseline (any memory, 32- or 64-bit): an
    // access that reaches here is to memory 0 with 32-bit addresses.
    match crate::interp::simd::exec(word as u32, 0, a, b, c, offset, s, mem, false) {
        Ok(()) => 0,
        Err(t) => {
            // SAFETY: module contract.
            let (store, _) = unsafe { cx(vmctx) };
            trap_code(store, t)
        }
    }
}
