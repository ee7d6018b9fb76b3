//! The VM layout that JIT code reads (design.md §0, docs/abi.md): one `repr(C)` definition of
//! each structure, with its offsets as constants computed by `offset_of!` and tested here. No
//! tier writes an offset of its own.
//!
//! - [`VMRuntime`]: one per store (boxed, stable address): the entry trampoline's saved stack
//!   pointer, the host stack limit, the value-stack end of the running activation, the trap
//!   record, and the store itself for runtime helpers.
//! - [`VMContext`]: one per instance (boxed, stable address), held in `r15` by JIT code: the
//!   runtime, memory 0, the globals, the module's code slots.
//! - [`VMMemoryDefinition`]: one per linear memory (boxed, stable address): base and current
//!   length, updated by `grow`, shared by every instance that imports the memory.

use crate::store::{InstanceId, StoreInner};
use crate::trap::Trap;
use std::mem::offset_of;
use std::sync::atomic::AtomicPtr;

/// Store-wide state of JIT execution.
#[repr(C)]
pub struct VMRuntime {
    /// `rsp` recorded by the innermost entry trampoline; the trap stub restores it.
    pub entry_sp: usize,
    /// Lowest host stack address JIT prologues accept for `rsp` ("call stack exhausted" below).
    pub stack_limit: usize,
    /// One past the last cell of the running activation's value stack.
    pub stack_end: *mut u64,
    /// The store, valid while JIT code runs (set on every entry from Rust).
    pub store: *mut StoreInner,
    /// Wasm frames live below the running activation's JIT frames, counted the same way by
    /// every tier: a frame past `max_call_depth` is "call stack exhausted" (docs/abi.md §4).
    /// The interpreter counts its frames here; JIT frames are counted by position instead
    /// (each is 16 bytes of machine stack below `entry_sp`), so a JIT call costs nothing more.
    pub call_depth: usize,
    /// `RuntimeConfig::max_call_depth`.
    pub max_call_depth: usize,
    /// Bytes of machine stack the running activation's JIT frames may take: 16 per frame the
    /// depth limit still allows. The entry trampoline lowers `stack_limit` to
    /// `entry_sp - depth_room` when that is higher, so the prologue's stack check is also the
    /// depth check.
    pub depth_room: usize,
    /// `rbp` of the JIT frame that last called a helper that may run wasm (or the interp-entry
    /// stub): its depth is `(entry_sp - jit_fp) / 16` frames into the activation.
    pub jit_fp: usize,
    /// Fuel left (design.md §13, `interrupt.rs`): each interruption point subtracts one and
    /// traps "all fuel consumed" when the result is negative. Read only with fuel enabled.
    pub fuel: i64,
    /// The engine's epoch counter (or `interrupt::NO_EPOCH`), never null.
    pub epoch: *const std::sync::atomic::AtomicU64,
    /// The epoch at which interruption points trap "interrupt" (`u64::MAX`: never).
    pub epoch_deadline: u64,
    /// A trap with more than a code (a host trap's message, `proc_exit`'s status), left by a
    /// runtime helper that returned its code. Never read by JIT code.
    pub pending_trap: Option<Trap>,
    /// The JIT frames a trap left (innermost first), walked by the trap stub before it
    /// abandons them; appended to the trap's backtrace by the entry point. Never read by
    /// JIT code.
    pub trap_frames: Vec<crate::FrameInfo>,
    /// A tail call the interpreter hands back to the interp-entry stub (design.md §12): set
    /// by an interpreter activation the stub started when its outermost frame tail-calls
    /// compiled code of the stub's instance; the stub clears it and jumps there with the
    /// frame in place, so a ping-pong of tail calls between the tiers nests nothing.
    /// 0: none.
    pub tail_entry: usize,
    /// The store's function records, by store function address (`StoreInner::func_records`,
    /// re-pointed whenever a function is added): what an inline `call_indirect` reads to
    /// check an element's signature and find a same-instance callee (docs/abi.md §3).
    pub func_records: *const VMFuncRecord,
}

impl Default for VMRuntime {
    fn default() -> Self {
        VMRuntime {
            entry_sp: 0,
            stack_limit: usize::MAX,
            stack_end: std::ptr::null_mut(),
            store: std::ptr::null_mut(),
            call_depth: 0,
            max_call_depth: usize::MAX,
            depth_room: usize::MAX,
            jit_fp: 0,
            fuel: 0,
            epoch: &crate::interrupt::NO_EPOCH,
            epoch_deadline: u64::MAX,
            pending_trap: None,
            trap_frames: Vec::new(),
            tail_entry: 0,
            func_records: std::ptr::null(),
        }
    }
}

/// A table's elements and current length, as JIT code reads them (boxed in its
/// `TableData`, re-pointed whenever the element vector is reallocated).
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    pub base: *mut u64,
    /// Current size in elements.
    pub len: u64,
}

/// What JIT code needs of a store function to call it through a table: its canonical
/// signature, and for a function defined by a wasm instance, that instance and its defined
/// index (`NO_INSTANCE` for host functions).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VMFuncRecord {
    pub sig: u32,
    pub instance: u32,
    pub def_index: u32,
    pub _pad: u32,
}

impl VMFuncRecord {
    /// The `instance` of a function no instance's code slot holds (a host function).
    pub const NO_INSTANCE: u32 = u32::MAX;

    /// The record before the first function's (`StoreInner::func_records[0]`): what a null
    /// funcref cell (0) finds at `func_records + 16 * cell - 16`. It matches no signature key
    /// (no instance has `NO_INSTANCE`), so inline `call_indirect`/`call_ref` need no null
    /// test: a null element fails the key or instance compare and takes the helper, which
    /// reports the null.
    pub const NULL: VMFuncRecord = VMFuncRecord {
        sig: u32::MAX,
        instance: Self::NO_INSTANCE,
        def_index: 0,
        _pad: 0,
    };

    /// A record's first 8 bytes as one little-endian u64: the signature, then the instance.
    pub fn key(sig: u32, instance: u32) -> u64 {
        sig as u64 | (instance as u64) << 32
    }
}

/// A linear memory's base and current length, as JIT code reads them.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    pub base: *mut u8,
    /// Current size in bytes.
    pub len: usize,
}

/// Per-instance context, held in `r15` by JIT code.
#[repr(C)]
pub struct VMContext {
    pub runtime: *mut VMRuntime,
    /// Memory 0's base (never moves), or null without a memory.
    pub mem_base: *mut u8,
    /// Memory 0's definition (its current length), or null.
    pub memory: *const VMMemoryDefinition,
    /// Per global index: the address of the global's 64-bit value cell.
    pub globals: *const usize,
    /// The module's code slots, one per defined function (null = no compiled code).
    pub code_slots: *const AtomicPtr<u8>,
    /// This instance's id in the store.
    pub instance: InstanceId,
    /// Per memory index: the address of the memory's `VMMemoryDefinition` (imports first).
    /// Memory 0 is also reachable through `mem_base`/`memory` (the pinned fast path); JIT
    /// code reads every other memory's base and length through this table.
    pub memories: *const usize,
    /// Per table index: the address of the table's `VMTableDefinition` (imports first).
    pub tables: *const usize,
    /// Per type index of the module, the first 8 bytes of the `VMFuncRecord` of a function
    /// of that type defined by this instance: its canonical `SigId` in the low half, this
    /// instance's id in the high half (`InstanceData::sig_keys`). An inline `call_indirect`
    /// checks the signature and the instance with one compare (docs/abi.md §3).
    pub sig_keys: *const u64,
    /// Table 0's `VMTableDefinition` (also `tables[0]`), or null: one load less for the
    /// table most `call_indirect`s use.
    pub table0: *const VMTableDefinition,
    /// The store's function records, as `VMRuntime::func_records` (kept in step by
    /// `StoreInner::push_func`): one load less for an inline `call_indirect`.
    pub func_records: *const VMFuncRecord,
    /// The module's register-entry slots, one per defined function (docs/abi.md §3): what
    /// optimized code calls with the arguments in registers.
    pub reg_slots: *const AtomicPtr<u8>,
}

// SAFETY: the raw pointers point into objects owned by the same store (or the module, which
// outlives the store's instances); a store is used by one thread at a time, like the rest of
// `StoreInner`, and JIT code dereferences them only while it holds the store.
unsafe impl Send for VMContext {}
// SAFETY: as above; shared references never write through the pointers.
unsafe impl Sync for VMContext {}
// SAFETY: as for `VMContext`.
unsafe impl Send for VMRuntime {}
// SAFETY: as for `VMContext`.
unsafe impl Sync for VMRuntime {}
// SAFETY: the definition is owned by its `LinearMemory`; see `VMContext`.
unsafe impl Send for VMMemoryDefinition {}
// SAFETY: the definition is owned by its `TableData` and points into that table's elements;
// like the rest of the store, used by one thread at a time.
unsafe impl Send for VMTableDefinition {}
// SAFETY: as above; shared references never write through the pointer.
unsafe impl Sync for VMTableDefinition {}
// SAFETY: as above.
unsafe impl Sync for VMMemoryDefinition {}

/// Byte offsets JIT code uses. i32 because they become displacements.
pub mod offsets {
    use super::*;
    pub const RUNTIME_ENTRY_SP: i32 = offset_of!(VMRuntime, entry_sp) as i32;
    pub const RUNTIME_STACK_LIMIT: i32 = offset_of!(VMRuntime, stack_limit) as i32;
    pub const RUNTIME_STACK_END: i32 = offset_of!(VMRuntime, stack_end) as i32;
    pub const RUNTIME_DEPTH_ROOM: i32 = offset_of!(VMRuntime, depth_room) as i32;
    pub const RUNTIME_JIT_FP: i32 = offset_of!(VMRuntime, jit_fp) as i32;
    pub const RUNTIME_FUEL: i32 = offset_of!(VMRuntime, fuel) as i32;
    pub const RUNTIME_EPOCH: i32 = offset_of!(VMRuntime, epoch) as i32;
    pub const RUNTIME_EPOCH_DEADLINE: i32 = offset_of!(VMRuntime, epoch_deadline) as i32;
    pub const RUNTIME_TAIL_ENTRY: i32 = offset_of!(VMRuntime, tail_entry) as i32;
    pub const RUNTIME_FUNC_RECORDS: i32 = offset_of!(VMRuntime, func_records) as i32;
    pub const TABLE_BASE: i32 = offset_of!(VMTableDefinition, base) as i32;
    pub const TABLE_LEN: i32 = offset_of!(VMTableDefinition, len) as i32;
    pub const FUNC_RECORD_SIG: i32 = offset_of!(VMFuncRecord, sig) as i32;
    pub const FUNC_RECORD_INSTANCE: i32 = offset_of!(VMFuncRecord, instance) as i32;
    pub const FUNC_RECORD_DEF_INDEX: i32 = offset_of!(VMFuncRecord, def_index) as i32;
    /// `size_of::<VMFuncRecord>()`, a power of two: records are indexed by a shift.
    pub const FUNC_RECORD_SIZE: i32 = std::mem::size_of::<VMFuncRecord>() as i32;
    pub const VMCTX_TABLES: i32 = offset_of!(VMContext, tables) as i32;
    pub const VMCTX_SIG_KEYS: i32 = offset_of!(VMContext, sig_keys) as i32;
    pub const VMCTX_TABLE0: i32 = offset_of!(VMContext, table0) as i32;
    pub const VMCTX_FUNC_RECORDS: i32 = offset_of!(VMContext, func_records) as i32;
    pub const VMCTX_INSTANCE: i32 = offset_of!(VMContext, instance) as i32;
    pub const MEMORY_BASE: i32 = offset_of!(VMMemoryDefinition, base) as i32;
    pub const MEMORY_LEN: i32 = offset_of!(VMMemoryDefinition, len) as i32;
    pub const VMCTX_RUNTIME: i32 = offset_of!(VMContext, runtime) as i32;
    pub const VMCTX_MEM_BASE: i32 = offset_of!(VMContext, mem_base) as i32;
    pub const VMCTX_MEMORY: i32 = offset_of!(VMContext, memory) as i32;
    pub const VMCTX_GLOBALS: i32 = offset_of!(VMContext, globals) as i32;
    pub const VMCTX_CODE_SLOTS: i32 = offset_of!(VMContext, code_slots) as i32;
    pub const VMCTX_MEMORIES: i32 = offset_of!(VMContext, memories) as i32;
    pub const VMCTX_REG_SLOTS: i32 = offset_of!(VMContext, reg_slots) as i32;
    /// Size of a value-stack cell and of a code slot.
    pub const CELL: i32 = 8;
}

#[cfg(test)]
mod tests {
    use super::offsets::*;
    use super::*;

    #[test]
    fn offsets_match_the_structs() {
        let rt = VMRuntime::default();
        let base = &rt as *const _ as usize;
        assert_eq!(
            &rt.entry_sp as *const _ as usize - base,
            RUNTIME_ENTRY_SP as usize
        );
        assert_eq!(
            &rt.stack_limit as *const _ as usize - base,
            RUNTIME_STACK_LIMIT as usize
        );
        assert_eq!(
            &rt.stack_end as *const _ as usize - base,
            RUNTIME_STACK_END as usize
        );
        assert_eq!(
            &rt.depth_room as *const _ as usize - base,
            RUNTIME_DEPTH_ROOM as usize
        );
        assert_eq!(
            &rt.jit_fp as *const _ as usize - base,
            RUNTIME_JIT_FP as usize
        );
        assert_eq!(&rt.fuel as *const _ as usize - base, RUNTIME_FUEL as usize);
        assert_eq!(
            &rt.epoch as *const _ as usize - base,
            RUNTIME_EPOCH as usize
        );
        assert_eq!(
            &rt.epoch_deadline as *const _ as usize - base,
            RUNTIME_EPOCH_DEADLINE as usize
        );
        assert_eq!(
            &rt.tail_entry as *const _ as usize - base,
            RUNTIME_TAIL_ENTRY as usize
        );
        let m = VMMemoryDefinition {
            base: std::ptr::null_mut(),
            len: 0,
        };
        let mb = &m as *const _ as usize;
        assert_eq!(&m.base as *const _ as usize - mb, MEMORY_BASE as usize);
        assert_eq!(&m.len as *const _ as usize - mb, MEMORY_LEN as usize);
        let cx = VMContext {
            runtime: std::ptr::null_mut(),
            mem_base: std::ptr::null_mut(),
            memory: std::ptr::null(),
            globals: std::ptr::null(),
            code_slots: std::ptr::null(),
            instance: 0,
            memories: std::ptr::null(),
            tables: std::ptr::null(),
            sig_keys: std::ptr::null(),
            table0: std::ptr::null(),
            func_records: std::ptr::null(),
            reg_slots: std::ptr::null(),
        };
        assert_eq!(FUNC_RECORD_SIZE, 16);
        let cb = &cx as *const _ as usize;
        assert_eq!(
            &cx.runtime as *const _ as usize - cb,
            VMCTX_RUNTIME as usize
        );
        assert_eq!(
            &cx.mem_base as *const _ as usize - cb,
            VMCTX_MEM_BASE as usize
        );
        assert_eq!(&cx.memory as *const _ as usize - cb, VMCTX_MEMORY as usize);
        assert_eq!(
            &cx.globals as *const _ as usize - cb,
            VMCTX_GLOBALS as usize
        );
        assert_eq!(
            &cx.code_slots as *const _ as usize - cb,
            VMCTX_CODE_SLOTS as usize
        );
        assert_eq!(
            &cx.memories as *const _ as usize - cb,
            VMCTX_MEMORIES as usize
        );
        assert_eq!(&cx.tables as *const _ as usize - cb, VMCTX_TABLES as usize);
        assert_eq!(
            &cx.sig_keys as *const _ as usize - cb,
            VMCTX_SIG_KEYS as usize
        );
        assert_eq!(&cx.table0 as *const _ as usize - cb, VMCTX_TABLE0 as usize);
        assert_eq!(
            &cx.func_records as *const _ as usize - cb,
            VMCTX_FUNC_RECORDS as usize
        );
        assert_eq!(
            &cx.reg_slots as *const _ as usize - cb,
            VMCTX_REG_SLOTS as usize
        );
        assert_eq!(std::mem::size_of::<AtomicPtr<u8>>() as i32, CELL);
        assert_eq!(std::mem::size_of::<u64>() as i32, CELL);
    }

    /// A signature key (`VMContext::sig_keys`) is a record's first 8 bytes read as one u64.
    #[test]
    fn sig_key_is_a_records_first_eight_bytes() {
        let r = VMFuncRecord {
            sig: 0x1234,
            instance: 7,
            def_index: 9,
            _pad: 0,
        };
        // SAFETY: the record is `repr(C)` and at least 8 bytes; an unaligned read is allowed.
        let head = unsafe { std::ptr::read_unaligned(&r as *const VMFuncRecord as *const u64) };
        assert_eq!(head, VMFuncRecord::key(0x1234, 7));
        assert_eq!(FUNC_RECORD_SIG, 0);
        assert_eq!(FUNC_RECORD_INSTANCE, 4);
    }
}
