//! The interpreter's execution loop. Wasm calls never recurse on the host stack: frames live
//! in `Executor::frames` and values in one contiguous value stack, so deep wasm recursion ends
//! in the trap "call stack exhausted", never in a host stack overflow.

use super::asm::{
    icache_slot, AsmInterp, CallLimits, FastPath, Frame, IndirectEntry, ICACHE_ENTRIES,
};
use super::code::{
    CompiledFunc, Counters, Handler, HandlerKind, MemAccess, OffsetTable, Op, NO_EXN,
};
use super::numeric::*;
use super::raw::{init_frame, CodeRef, MemView, Slots};
use super::InterpModule;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use strata_vm::tiering::{Counts, LEVEL_HOST, LEVEL_INTERP};
use strata_vm::{
    cell_funcref, funcref_cell, table_grow_result, table_operand, FrameInfo, FuncAddr, FuncKind,
    HostContext, InstanceId, Module, StoreInner, Trap, TrapCode,
};

/// What the executor knows about the instance whose code is running.
struct InstCtx {
    instance: InstanceId,
    module: Arc<Module>,
    code: Arc<InterpModule>,
    num_imported: u32,
    mem: MemView,
    /// Callees of `call_indirect` through table 0 that the handlers may call directly;
    /// made on the first such call (a context is made at every switch between instances).
    icache: Option<Box<[IndirectEntry; ICACHE_ENTRIES]>>,
}

impl InstCtx {
    fn new(store: &StoreInner, instance: InstanceId) -> InstCtx {
        let data = &store.instances[instance as usize];
        let module = data.module.clone();
        let code = InterpModule::of(&module, store.config.interp);
        let mut ctx = InstCtx {
            instance,
            num_imported: module.num_imported_funcs,
            module,
            code,
            mem: MemView::EMPTY,
            icache: None,
        };
        ctx.refresh_memory(store);
        ctx
    }

    /// Re-reads memory 0's size: after `memory.grow` and after any call that may have grown it.
    fn refresh_memory(&mut self, store: &StoreInner) {
        let data = &store.instances[self.instance as usize];
        if let Some(&addr) = data.memories.first() {
            let mem = &store.memories[addr as usize];
            // SAFETY: a store's linear memory stays mapped, in place, for the store's lifetime,
            // and the executor holds the store borrow for as long as it uses the view.
            self.mem = unsafe { MemView::new(mem.base(), mem.byte_len()) };
        }
    }

    /// The code of defined function `func_index`: a load and a check once it is translated.
    #[inline(always)]
    fn func(&self, func_index: u32) -> Result<CodeRef, Trap> {
        match self.code.translated(func_index - self.num_imported) {
            // SAFETY: as in `func_slow`.
            Some(f) => Ok(unsafe { CodeRef::new(f) }),
            None => self.func_slow(func_index),
        }
    }

    /// First call: translates the function (or reports its translation failure).
    #[cold]
    #[inline(never)]
    fn func_slow(&self, func_index: u32) -> Result<CodeRef, Trap> {
        let f = self
            .code
            .get(&self.module, func_index - self.num_imported)?;
        // SAFETY: `f` lives in this module's interpreter state, which the module keeps for
        // the store's lifetime (see `CodeRef`).
        Ok(unsafe { CodeRef::new(f) })
    }
}

/// The indirect-call cache of a context that has made no `call_indirect` yet.
static EMPTY_ICACHE: [IndirectEntry; ICACHE_ENTRIES] = [IndirectEntry::EMPTY; ICACHE_ENTRIES];

struct Executor<'s> {
    store: &'s mut StoreInner,
    stack: &'s mut [u64],
    ctx: InstCtx,
    code: CodeRef,
    pc: usize,
    fp: usize,
    func_index: u32,
    frames: Vec<Frame>,
    depth_at_entry: usize,
    /// Wasm call depth, kept here on the hot path and written back to `store.runtime.call_depth`
    /// before host code runs and when execution ends.
    depth: usize,
    max_depth: usize,
    /// The outermost frame already returned (its rest ran in compiled code).
    finished: bool,
    /// The innermost frame left for compiled code that trapped: that code's backtrace
    /// already names the function, so the interpreter's frame is not added again.
    left_for_jit: bool,
    /// A trap left `pc` set (a callee stopped on entry): the loop must not overwrite it.
    pc_is_current: bool,
    /// Started by the interp-entry stub for `entry_instance`: a tail call of the outermost
    /// frame to compiled code of that instance is left to the stub (`tail_entry`).
    tail_out: bool,
    entry_instance: InstanceId,
}

/// Where execution goes on after a tail call.
enum TailDone {
    /// A frame of this executor is current (the callee's, or the caller's after a callee
    /// that ran to its end elsewhere).
    Continue,
    /// The outermost frame is done (or was handed to the interp-entry stub).
    Finished,
}

/// Where execution goes on after a check point that may have left for compiled code.
enum Transfer {
    /// In the interpreter, where it was.
    Stay,
    /// The frame finished in compiled code; its caller's frame is current again.
    Returned,
    /// The outermost frame finished in compiled code.
    Finished,
}

#[cold]
#[inline(never)]
fn stack_overflow() -> Trap {
    TrapCode::StackOverflow.into()
}

/// Runs wasm function `func_index` of `instance` with its arguments in `stack[0..]`; its
/// results are left in `stack[0..]`.
pub fn execute(
    store: &mut StoreInner,
    stack: &mut [u64],
    instance: InstanceId,
    func_index: u32,
    tail_out: bool,
) -> Result<(), Trap> {
    let ctx = InstCtx::new(store, instance);
    // Compiled code may have been installed since the caller chose the interpreter.
    if let Some(entry) = crate::jit::installed_entry(&ctx.module, func_index) {
        let range = stack.as_mut_ptr_range();
        let level = crate::tier::code_level(&ctx.module, func_index - ctx.num_imported);
        return crate::jit::run(store, instance, entry, range.start, range.end, level);
    }
    let code = ctx.func(func_index)?;
    let depth_at_entry = store.runtime.call_depth;
    let max_depth = store.runtime.max_call_depth;
    let mut ex = Executor {
        store,
        stack,
        ctx,
        code,
        pc: 0,
        fp: 0,
        func_index,
        frames: Vec::with_capacity(16),
        depth_at_entry,
        depth: depth_at_entry,
        max_depth,
        finished: false,
        left_for_jit: false,
        pc_is_current: false,
        tail_out,
        entry_instance: instance,
    };
    let tier = ex.store.tier_now.enter(LEVEL_INTERP);
    let result = ex
        .enter(code, 0)
        .and_then(|()| if ex.finished { Ok(()) } else { ex.run() });
    ex.store.tier_now.restore(tier);
    #[cfg(strata_opstats)]
    opstats::dump();
    ex.store.runtime.call_depth = ex.depth_at_entry;

    result.map_err(|trap| ex.with_backtrace(trap))
}

/// The wasm offset of the instruction at `pc` of `func`, the translation of `func_index`
/// of `module`; its offset table is made on first use by translating the function again.
/// `None`: a frame stopped on entry, before its first instruction.
fn wasm_offset(
    module: &Module,
    func_index: u32,
    func: &CompiledFunc,
    pc: Option<usize>,
) -> Option<u32> {
    let def = func_index.checked_sub(module.num_imported_funcs)?;
    let mode = InterpModule::existing(module)?.mode();
    let table = func.wasm_offsets.get_or_init(|| {
        let entries = super::translate::wasm_offsets(module, def as usize, mode);
        OffsetTable::encode(&entries.unwrap_or_default())
    });
    match pc {
        Some(pc) => table.lookup(pc),
        None => table.first(),
    }
}

/// The first handler of `f` that catches an exception at resume pc `r`; `matches(t)`
/// says whether the exception's tag is the module's tag `t`.
fn find_handler(f: &CompiledFunc, r: u32, matches: impl Fn(u32) -> bool) -> Option<Handler> {
    // Entries of tries nested deeper than a `delegate`'s target no longer apply.
    let mut limit = u32::MAX;
    for h in f.handlers.iter() {
        if !h.covers(r) || h.frame > limit {
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

impl Executor<'_> {
    /// Adds the activation's frames to `trap`, each with the wasm offset of its instruction:
    /// `self.pc` (the current frame) and the frames' resume pcs are past the instruction
    /// (the trapping one, or the call), so the offset is that of `pc - 1`; a frame stopped
    /// on entry (pc 0) gets its first instruction's (not the first that emitted code).
    fn with_backtrace(&self, mut trap: Trap) -> Trap {
        // Recursion repeats one (function, pc) many times: decode its offset once.
        let mut last: Option<(*const CompiledFunc, usize, Option<u32>)> = None;
        let mut frame = |store: &StoreInner,
                         instance: InstanceId,
                         func_index: u32,
                         code: CodeRef,
                         pc: usize| {
            let module = &store.instances[instance as usize].module;
            let func: *const CompiledFunc = code.func();
            let wasm_offset = match last {
                Some((f, p, off)) if f == func && p == pc => off,
                _ => {
                    let off = wasm_offset(module, func_index, code.func(), pc.checked_sub(1));
                    last = Some((func, pc, off));
                    off
                }
            };
            FrameInfo {
                func_index,
                func_name: module.func_name(func_index).map(str::to_string),
                module_name: module.module_name.clone(),
                wasm_offset,
            }
        };
        if !self.left_for_jit {
            let f = frame(
                self.store,
                self.ctx.instance,
                self.func_index,
                self.code,
                self.pc,
            );
            trap.push_frame(f);
        }
        for f in self.frames.iter().rev() {
            let f = frame(self.store, f.instance, f.func_index, f.code(), f.pc());
            trap.push_frame(f);
        }
        trap
    }

    /// Starts `code` (function `self.func_index`) with its frame at `fp` (arguments already
    /// there). At the call counter's check point the function may instead run to its end in
    /// compiled code (`Transfer`): its caller's frame is then current again, or, for the
    /// outermost frame, `self.finished` is set.
    #[inline(always)]
    fn enter(&mut self, code: CodeRef, fp: usize) -> Result<(), Trap> {
        self.depth += 1;
        let f = code.func();
        if self.depth > self.max_depth || !init_frame(self.stack, fp, f) {
            // The backtrace shows the callee stopped before its first instruction.
            self.code = code;
            self.pc = 0;
            self.pc_is_current = true;
            return Err(stack_overflow());
        }
        self.code = code;
        self.fp = fp;
        self.pc = 0;
        if Counters::bump_check(&f.counters.calls, &f.counters.call_check) {
            if let Transfer::Finished = self.call_check_point()? {
                self.finished = true;
            }
        }
        Ok(())
    }

    /// The call counter of the function just entered reached its check point: ask the tier
    /// manager, then run the function in compiled code if some is installed now.
    #[cold]
    #[inline(never)]
    fn call_check_point(&mut self) -> Result<Transfer, Trap> {
        let f = self.code.func();
        let Some(hooks) = self.store.tier_hooks.clone() else {
            f.counters.call_check.store(u64::MAX, Relaxed);
            return Ok(Transfer::Stay);
        };
        let def = self.func_index - self.ctx.num_imported;
        let counts = Counts {
            calls: f.counters.calls(),
            backedges: f.counters.backedges(),
        };
        self.store.runtime.call_depth = self.depth;
        let next = hooks.on_call(&self.ctx.module, def, LEVEL_INTERP, counts);
        f.counters
            .call_check
            .store(next.max(counts.calls + 1), Relaxed);
        match crate::jit::installed_entry(&self.ctx.module, self.func_index) {
            Some(entry) => {
                self.ctx.code.clear_call_target(def);
                self.leave_for_jit(entry)
            }
            None => Ok(Transfer::Stay),
        }
    }

    /// A back-edge to `header` reached the back-edge counter's check point: ask the tier
    /// manager, and on its word enter compiled code at this loop (OSR, design.md §5).
    #[cold]
    #[inline(never)]
    fn backedge_check_point(&mut self, header: usize) -> Result<Transfer, Trap> {
        let f = self.code.func();
        let Some(hooks) = self.store.tier_hooks.clone() else {
            f.counters.backedge_check.store(u64::MAX, Relaxed);
            return Ok(Transfer::Stay);
        };
        let counts = Counts {
            calls: f.counters.calls(),
            backedges: f.counters.backedges(),
        };
        let Some(l) = f.loop_at(header as u32) else {
            f.counters
                .backedge_check
                .store(counts.backedges + 1024, Relaxed);
            return Ok(Transfer::Stay);
        };
        let def = self.func_index - self.ctx.num_imported;
        self.store.runtime.call_depth = self.depth;
        let verdict = hooks.on_backedge(&self.ctx.module, def, l.ordinal, LEVEL_INTERP, counts);
        f.counters
            .backedge_check
            .store(verdict.next_check.max(counts.backedges + 1), Relaxed);
        if !verdict.osr {
            return Ok(Transfer::Stay);
        }
        let Some(osr) = crate::tier::osr_entry(&self.ctx.module, def, l.ordinal) else {
            return Ok(Transfer::Stay);
        };
        if self.fp + osr.frame_cells > self.stack.len() {
            return Ok(Transfer::Stay);
        }
        // The state at a loop header is the locals (same slots in every tier) and the
        // operand stack, which the JIT tiers keep right after the locals, below the
        // interpreter's constant pool: move it down.
        let canonical = strata_vm::abi::FrameLayout::canonical(f.num_locals);
        let (from, to) = (f.stack_slot(0) as usize, canonical.operand(0) as usize);
        let fp = self.fp;
        if from != to {
            self.stack
                .copy_within(fp + from..fp + from + l.height as usize, fp + to);
        }
        hooks.on_osr(&self.ctx.module, def, l.ordinal, LEVEL_INTERP, osr.level);
        self.leave_for_jit(osr.entry)
    }

    /// Runs the current frame to its end in compiled code entered at `entry` (the function's
    /// entry with the arguments in place, or an OSR entry with the loop state in place),
    /// then returns from the frame.
    fn leave_for_jit(&mut self, entry: *const u8) -> Result<Transfer, Trap> {
        let (instance, fp) = (self.ctx.instance, self.fp);
        // The frame is handed over: the compiled code counts it again in its entry.
        self.depth -= 1;
        let result = self.call_jit(instance, self.func_index, entry, fp);
        self.depth += 1;
        if let Err(trap) = result {
            self.left_for_jit = true;
            return Err(trap);
        }
        Ok(if self.leave() {
            Transfer::Returned
        } else {
            Transfer::Finished
        })
    }

    fn slots(&mut self) -> Slots {
        // SAFETY: `enter` checked that `fp + frame_size` cells fit in the value stack, and
        // `self.stack` is exclusively borrowed by this executor.
        unsafe { Slots::new(self.stack.as_mut_ptr().add(self.fp)) }
    }

    fn push_frame(&mut self) {
        let fp = self.stack.as_mut_ptr().wrapping_add(self.fp);
        self.frames.push(Frame::new(
            self.code,
            self.pc,
            fp,
            self.func_index,
            self.ctx.instance,
        ));
    }

    /// Calls a function by store address with its arguments at `fp`. Host functions run to
    /// completion here; wasm functions get a new frame.
    fn call_addr(&mut self, addr: FuncAddr, fp: usize) -> Result<(), Trap> {
        let func = &self.store.funcs[addr as usize];
        match &func.kind {
            FuncKind::Host(host) => {
                let host = host.clone();
                let ty = self.store.sigs.get(func.sig);
                let (n, r) = (ty.param_cells() as usize, ty.result_cells() as usize);
                let args: Vec<u64> = self.stack[fp..fp + n].to_vec();
                let mut results = vec![0u64; r];
                if fp + r > self.stack.len() {
                    return Err(TrapCode::StackOverflow.into());
                }
                self.store.runtime.call_depth = self.depth;
                let tier = self.store.tier_now.enter(LEVEL_HOST);
                let mut cx = HostContext {
                    store: self.store,
                    caller: Some(self.ctx.instance),
                };
                let outcome = host(&mut cx, &args, &mut results);
                self.store.tier_now.restore(tier);
                outcome?;
                self.stack[fp..fp + r].copy_from_slice(&results);
                self.ctx.refresh_memory(self.store);
                Ok(())
            }
            &FuncKind::Wasm {
                instance,
                func_index,
            } => {
                let module = &self.store.instances[instance as usize].module;
                if let Some(entry) = crate::jit::installed_entry(module, func_index) {
                    return self.call_jit(instance, func_index, entry, fp);
                }
                self.push_frame();
                if instance != self.ctx.instance {
                    self.ctx = InstCtx::new(self.store, instance);
                }
                let code = self.ctx.func(func_index)?;
                if func_index >= self.ctx.num_imported {
                    // Later calls may stay in the handlers (through `call_indirect`).
                    let def = func_index - self.ctx.num_imported;
                    self.ctx.code.set_call_target(def, code.func());
                }
                self.func_index = func_index;
                self.enter(code, fp)
            }
        }
    }

    /// Runs compiled code of `instance` with its frame at `fp` of this value stack (the frame
    /// layout is shared, docs/abi.md §1): the call completes before this returns, results in
    /// `fp[0..]`. The JIT code may grow memory, so the view is refreshed.
    #[cold]
    #[inline(never)]
    fn call_jit(
        &mut self,
        instance: InstanceId,
        func_index: u32,
        entry: *const u8,
        fp: usize,
    ) -> Result<(), Trap> {
        self.store.runtime.call_depth = self.depth;
        let range = self.stack.as_mut_ptr_range();
        // In bounds: `fp` is a slot of the running frame; the JIT prologue checks the frame's
        // end against `range.end`.
        let frame = range.start.wrapping_add(fp);
        let module = &self.store.instances[instance as usize].module;
        let level = crate::tier::code_level(module, func_index - module.num_imported_funcs);
        let result = crate::jit::run(self.store, instance, entry, frame, range.end, level);
        self.ctx.refresh_memory(self.store);
        result
    }

    /// Returns from the current frame; `false` when it was the outermost.
    ///
    /// Returning within one instance keeps the memory view: memory 0 only changes size by
    /// `memory.grow` (which refreshes the view of the instance that runs it), by host code
    /// (refreshed after every host call) or by another instance sharing it (switching
    /// instances rebuilds the view), so the view is current whenever control comes back.
    #[inline(always)]
    fn leave(&mut self) -> bool {
        self.depth -= 1;
        match self.frames.pop() {
            None => false,
            Some(f) => {
                if f.instance != self.ctx.instance {
                    self.switch_instance(f.instance);
                }
                self.code = f.code();
                self.pc = f.pc();
                self.fp = f.fp(self.stack.as_ptr());
                self.func_index = f.func_index;
                true
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn switch_instance(&mut self, instance: InstanceId) {
        self.ctx = InstCtx::new(self.store, instance);
    }

    fn instance(&self) -> &strata_vm::InstanceData {
        &self.store.instances[self.ctx.instance as usize]
    }

    /// Moves the `n` arguments of a tail call from slot `base` to the frame's first slots
    /// (the callee's frame starts where this one does).
    fn tail_args(&mut self, base: u32, n: u32) {
        let (fp, base) = (self.fp, base as usize);
        self.stack
            .copy_within(fp + base..fp + base + n as usize, fp);
    }

    /// A tail call to function `addr` with its arguments in the frame's first slots
    /// (design.md §12): an interpreted callee replaces the current frame (in whatever
    /// instance it belongs to); compiled code and host functions run to their end here and
    /// the frame returns, except that the outermost frame of an activation the
    /// interp-entry stub started leaves a same-instance compiled callee to the stub, so
    /// tail calls bouncing between the tiers never nest.
    fn tail_call(&mut self, addr: FuncAddr) -> Result<TailDone, Trap> {
        let fp = self.fp;
        let FuncKind::Wasm {
            instance,
            func_index,
        } = self.store.funcs[addr as usize].kind
        else {
            let r = self.call_addr(addr, fp);
            return self.tail_returned(r);
        };
        let module = &self.store.instances[instance as usize].module;
        if let Some(entry) = crate::jit::installed_entry(module, func_index) {
            if self.tail_out && self.frames.is_empty() && instance == self.entry_instance {
                self.store.runtime.tail_entry = entry as usize;
                self.depth -= 1;
                self.finished = true;
                return Ok(TailDone::Finished);
            }
            let r = self.call_jit(instance, func_index, entry, fp);
            return self.tail_returned(r);
        }
        if instance != self.ctx.instance {
            self.ctx = InstCtx::new(self.store, instance);
        }
        let code = self.ctx.func(func_index)?;
        if func_index >= self.ctx.num_imported {
            let def = func_index - self.ctx.num_imported;
            self.ctx.code.set_call_target(def, code.func());
        }
        self.func_index = func_index;
        // The callee takes this frame's place: same depth.
        self.depth -= 1;
        self.enter(code, fp)?;
        Ok(if self.finished {
            TailDone::Finished
        } else {
            TailDone::Continue
        })
    }

    /// A nested tail callee (compiled code or a host function) came back. This frame was
    /// replaced by the callee, so a trap or exception from it leaves the frame as compiled
    /// code's would: none of the frame's handlers catches it and no backtrace names it again.
    fn tail_returned<T>(&mut self, r: Result<T, Trap>) -> Result<TailDone, Trap> {
        if let Err(trap) = r {
            self.left_for_jit = true;
            return Err(trap);
        }
        Ok(self.tail_left())
    }

    /// The tail callee ran to its end: the frame returns.
    fn tail_left(&mut self) -> TailDone {
        if self.leave() {
            TailDone::Continue
        } else {
            self.finished = true;
            TailDone::Finished
        }
    }

    /// The function a `call_indirect`/`return_call_indirect` reaches through element `i` of
    /// `table_index`, after the element, null and signature checks.
    fn indirect_target(
        &mut self,
        table_index: u32,
        type_index: u32,
        i: u64,
    ) -> Result<FuncAddr, Trap> {
        let inst = self.instance();
        let expected = inst.sigs[type_index as usize];
        let table = &self.store.tables[inst.tables[table_index as usize] as usize];
        let i = table_operand(i, table.ty.table64) as usize;
        let cell = *table
            .elems
            .get(i)
            .ok_or_else(|| Trap::new(TrapCode::UndefinedElement))?;
        let addr = cell_funcref(cell).ok_or_else(|| Trap::new(TrapCode::IndirectCallToNull))?;
        if self.store.funcs[addr as usize].sig != expected {
            return Err(TrapCode::BadSignature.into());
        }
        Ok(addr)
    }

    /// A view of memory `index` of the running instance as it is now, and whether its
    /// addresses are i64: the slow path of accesses other than memory 0's plain ones.
    fn memory_view(&self, index: u32) -> (MemView, bool) {
        let m = &self.store.memories[self.instance().memories[index as usize] as usize];
        // SAFETY: a store's linear memory stays mapped, in place, for the store's lifetime;
        // the view is used for one access, before anything can grow the memory.
        (unsafe { MemView::new(m.base(), m.byte_len()) }, m.is_64())
    }

    /// Runs the generated handlers from `pc` of `code` (the current function); returns the
    /// pc of the instruction they leave, in `self.code`, which calls and returns there may
    /// have changed (with the frame, the function index and the depth).
    #[inline(always)]
    fn run_handlers(
        &mut self,
        asm: &AsmInterp,
        code: CodeRef,
        pc: usize,
        s: Slots,
        mem: MemView,
        acc: u64,
    ) -> usize {
        let inst = &self.store.instances[self.ctx.instance as usize];
        let table = match inst.tables.first() {
            Some(&t) => &self.store.tables[t as usize].elems[..],
            None => &[],
        };
        let calls = CallLimits {
            targets: self.ctx.code.call_targets(),
            num_imported: self.ctx.num_imported,
            instance: self.ctx.instance,
            globals: &mut self.store.globals[..],
            global_map: &inst.globals[..],
            table,
            icache: self.ctx.icache.as_deref().unwrap_or(&EMPTY_ICACHE),
            func_index: self.func_index,
            runtime: &mut self.store.runtime,
            depth: self.depth as u64,
            max_depth: self.max_depth as u64,
            acc,
        };
        let r = asm.run_code(code, pc, s, mem, self.stack, calls, &mut self.frames);
        self.code = r.code;
        self.fp = r.fp;
        self.func_index = r.func_index;
        self.depth = r.depth as usize;
        r.pc
    }

    /// Runs the current frame and its callees to the outermost frame's return. An exception
    /// (and only an exception: traps are never caught) goes to its handler and execution goes
    /// on there (docs/abi.md §10).
    fn run(&mut self) -> Result<(), Trap> {
        loop {
            match self.run_frames() {
                Err(trap) => match trap.exception_cell() {
                    Some(exn) if self.catch(exn) => continue,
                    _ => return Err(trap),
                },
                done => return done,
            }
        }
    }

    /// An exception left the current frame at its resume pc `self.pc` (the pc after the
    /// instruction that threw or the call it came out of): finds the first handler that
    /// catches it there or in an outer interpreted frame of this activation, popping the
    /// frames in between. `true`: the handler's landing pad is current, with the payload in
    /// place. `false`: no frame of this activation catches it (all are popped).
    #[cold]
    #[inline(never)]
    fn catch(&mut self, exn: u64) -> bool {
        let Some(tag) = self.store.exns.get(exn).map(|e| e.tag) else {
            return false;
        };
        if std::mem::take(&mut self.left_for_jit) && !self.leave() {
            // The frame that threw had moved to compiled code, which the exception left.
            return false;
        }
        loop {
            let f = self.code.func();
            if let Some(h) = find_handler(f, self.pc as u32, |t| {
                self.store.instances[self.ctx.instance as usize].tags[t as usize] == tag
            }) {
                let Some(e) = self.store.exns.get(exn) else {
                    return false;
                };
                let dst = self.fp + h.dst as usize;
                self.stack[dst..dst + e.payload.len()].copy_from_slice(&e.payload);
                if h.exn == NO_EXN {
                    self.store.exns.release(exn);
                } else {
                    self.stack[self.fp + h.exn as usize] = exn;
                    self.store.exns.keep(exn);
                }
                self.pc = h.target as usize;
                // A host function may have grown memory before it threw.
                self.ctx.refresh_memory(self.store);
                return true;
            }
            if !self.leave() {
                return false;
            }
        }
    }

    /// Runs the frames; on a trap, leaves in `self.pc` the pc past the trapping
    /// instruction, for the backtrace (and the exception handler search, which already
    /// had it for throws and calls).
    fn run_frames(&mut self) -> Result<(), Trap> {
        let mut s = self.slots();
        // Memory 0's view, refreshed wherever it may change (calls, returns, `memory.grow`).
        let mut mem = self.ctx.mem;
        macro_rules! un {
            ($dst:expr, $a:expr, |$x:ident: $t:ty| $e:expr) => {{
                let $x = s.get($a) as $t;
                s.set($dst, $e);
            }};
        }
        macro_rules! bin {
            ($dst:expr, $a:expr, $b:expr, |$x:ident: $t:ty, $y:ident| $e:expr) => {{
                let $x = s.get($a) as $t;
                let $y = s.get($b) as $t;
                s.set($dst, $e);
            }};
        }
        macro_rules! f32un {
            ($dst:expr, $a:expr, |$x:ident| $e:expr) => {{
                let $x = f32::from_bits(s.get($a) as u32);
                s.set($dst, ($e).to_bits() as u64);
            }};
        }
        macro_rules! f64un {
            ($dst:expr, $a:expr, |$x:ident| $e:expr) => {{
                let $x = f64::from_bits(s.get($a));
                s.set($dst, ($e).to_bits());
            }};
        }
        macro_rules! f32bin {
            ($dst:expr, $a:expr, $b:expr, |$x:ident, $y:ident| $e:expr) => {{
                let $x = f32::from_bits(s.get($a) as u32);
                let $y = f32::from_bits(s.get($b) as u32);
                s.set($dst, $e);
            }};
        }
        macro_rules! f64bin {
            ($dst:expr, $a:expr, $b:expr, |$x:ident, $y:ident| $e:expr) => {{
                let $x = f64::from_bits(s.get($a));
                let $y = f64::from_bits(s.get($b));
                s.set($dst, $e);
            }};
        }
        // A load's result is also what the handlers find in their accumulators when they go
        // on at the next instruction (`CallCtx::acc`): they leave loads in the last bytes of
        // the memory here, and the next instruction may take the result from there.
        let mut acc = 0u64;
        macro_rules! load {
            ($dst:expr, $addr:expr, $off:expr, $n:literal, |$b:ident| $e:expr) => {{
                let $b = mem.load::<$n>(s.get($addr), $off)?;
                let v = $e;
                s.set($dst, v);
                acc = v;
            }};
        }
        macro_rules! store {
            ($addr:expr, $val:expr, $off:expr, |$v:ident| $e:expr) => {{
                let $v = s.get($val);
                mem.store(s.get($addr), $off, $e)?;
            }};
        }
        let b = |v: bool| v as u64;
        // The hot state lives in locals; `self.pc`/`self.code` are synced around calls.
        let mut code = self.code;
        let mut pc = self.pc;
        macro_rules! reload {
            () => {{
                code = self.code;
                pc = self.pc;
                s = self.slots();
                mem = self.ctx.mem;
            }};
        }
        // Every taken branch goes through here; backward ones are loop iterations.
        macro_rules! jump {
            ($target:expr) => {{
                let t = $target as usize;
                if t < pc {
                    let c = &code.func().counters;
                    if Counters::bump_check(&c.backedges, &c.backedge_check) {
                        match self.backedge_check_point(t)? {
                            Transfer::Stay => {}
                            Transfer::Returned => {
                                reload!();
                                continue;
                            }
                            Transfer::Finished => return Ok(()),
                        }
                    }
                }
                pc = t;
            }};
        }
        macro_rules! br {
            ($a:expr, $b:expr, $target:expr, |$x:ident: $t:ty, $y:ident| $e:expr) => {{
                let $x = s.get($a) as $t;
                let $y = s.get($b) as $t;
                if $e {
                    jump!($target);
                }
            }};
        }
        // The immediate is an i32, sign-extended to the operand width.
        macro_rules! br_imm {
            ($a:expr, $imm:expr, $target:expr, |$x:ident: $t:ty, $y:ident| $e:expr) => {{
                let $x = s.get($a) as $t;
                let $y = $imm as i64 as $t;
                if $e {
                    jump!($target);
                }
            }};
        }
        macro_rules! ext {
            () => {{
                let Op::Ext { a, b, c } = code.op(pc) else {
                    unreachable!("instruction without its extension word")
                };
                pc += 1;
                (a, b, c)
            }};
        }
        // The loop is a closure so that its `?`s come back here, where the pc it kept in a
        // local is still known.
        let mut run = || -> Result<(), Trap> {
            loop {
                // Runs until an instruction the handlers leave to this `match`, on the fast path
                // of the running function's translation (calls and returns change it).
                match code.func().fast {
                    FastPath::Asm(asm) => {
                        pc = self.run_handlers(asm, code, pc, s, mem, acc);
                        code = self.code;
                        s = self.slots();
                    }
                    FastPath::Rust => pc = super::threaded::run(code, pc, s, mem),
                    FastPath::Match => {}
                }
                let op = code.op(pc);
                #[cfg(strata_opstats)]
                opstats::record(op);
                pc += 1;
                match op {
                    Op::Unreachable => return Err(TrapCode::Unreachable.into()),
                    Op::Fuel => self.store.runtime.consume_fuel()?,
                    Op::Epoch => self.store.runtime.check_epoch()?,
                    Op::Ext { .. } => {}
                    Op::Br { target } => jump!(target),
                    Op::BrIfNez { cond, target } => {
                        if s.get(cond) as u32 != 0 {
                            jump!(target);
                        }
                    }
                    Op::BrIfEqz { cond, target } => {
                        if s.get(cond) as u32 == 0 {
                            jump!(target);
                        }
                    }
                    Op::BrI32Eq { a, b: r, target } => br!(a, r, target, |x: u32, y| x == y),
                    Op::BrI32EqImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: u32, y| x == y)
                    }
                    Op::BrI32Ne { a, b: r, target } => br!(a, r, target, |x: u32, y| x != y),
                    Op::BrI32NeImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: u32, y| x != y)
                    }
                    Op::BrI32LtS { a, b: r, target } => br!(a, r, target, |x: i32, y| x < y),
                    Op::BrI32LtSImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: i32, y| x < y)
                    }
                    Op::BrI32LtU { a, b: r, target } => br!(a, r, target, |x: u32, y| x < y),
                    Op::BrI32LtUImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: u32, y| x < y)
                    }
                    Op::BrI32GtS { a, b: r, target } => br!(a, r, target, |x: i32, y| x > y),
                    Op::BrI32GtSImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: i32, y| x > y)
                    }
                    Op::BrI32GtU { a, b: r, target } => br!(a, r, target, |x: u32, y| x > y),
                    Op::BrI32GtUImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: u32, y| x > y)
                    }
                    Op::BrI32LeS { a, b: r, target } => br!(a, r, target, |x: i32, y| x <= y),
                    Op::BrI32LeSImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: i32, y| x <= y)
                    }
                    Op::BrI32LeU { a, b: r, target } => br!(a, r, target, |x: u32, y| x <= y),
                    Op::BrI32LeUImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: u32, y| x <= y)
                    }
                    Op::BrI32GeS { a, b: r, target } => br!(a, r, target, |x: i32, y| x >= y),
                    Op::BrI32GeSImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: i32, y| x >= y)
                    }
                    Op::BrI32GeU { a, b: r, target } => br!(a, r, target, |x: u32, y| x >= y),
                    Op::BrI32GeUImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: u32, y| x >= y)
                    }
                    Op::BrI64Eq { a, b: r, target } => br!(a, r, target, |x: u64, y| x == y),
                    Op::BrI64EqImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: u64, y| x == y)
                    }
                    Op::BrI64Ne { a, b: r, target } => br!(a, r, target, |x: u64, y| x != y),
                    Op::BrI64NeImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: u64, y| x != y)
                    }
                    Op::BrI64LtS { a, b: r, target } => br!(a, r, target, |x: i64, y| x < y),
                    Op::BrI64LtSImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: i64, y| x < y)
                    }
                    Op::BrI64LtU { a, b: r, target } => br!(a, r, target, |x: u64, y| x < y),
                    Op::BrI64LtUImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: u64, y| x < y)
                    }
                    Op::BrI64GtS { a, b: r, target } => br!(a, r, target, |x: i64, y| x > y),
                    Op::BrI64GtSImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: i64, y| x > y)
                    }
                    Op::BrI64GtU { a, b: r, target } => br!(a, r, target, |x: u64, y| x > y),
                    Op::BrI64GtUImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: u64, y| x > y)
                    }
                    Op::BrI64LeS { a, b: r, target } => br!(a, r, target, |x: i64, y| x <= y),
                    Op::BrI64LeSImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: i64, y| x <= y)
                    }
                    Op::BrI64LeU { a, b: r, target } => br!(a, r, target, |x: u64, y| x <= y),
                    Op::BrI64LeUImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: u64, y| x <= y)
                    }
                    Op::BrI64GeS { a, b: r, target } => br!(a, r, target, |x: i64, y| x >= y),
                    Op::BrI64GeSImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: i64, y| x >= y)
                    }
                    Op::BrI64GeU { a, b: r, target } => br!(a, r, target, |x: u64, y| x >= y),
                    Op::BrI64GeUImm { a, imm, target } => {
                        br_imm!(a, imm, target, |x: u64, y| x >= y)
                    }
                    Op::BrTable { index, len } => {
                        let i = (s.get(index) as u32).min(len);
                        pc += i as usize;
                    }
                    Op::Return0 => {
                        if !self.leave() {
                            return Ok(());
                        }
                        reload!();
                    }
                    Op::Return1 { src } => {
                        s.set(0, s.get(src));
                        if !self.leave() {
                            return Ok(());
                        }
                        reload!();
                    }
                    Op::Return { src, n } => {
                        let (fp, src) = (self.fp, src as usize);
                        self.stack.copy_within(fp + src..fp + src + n as usize, fp);
                        if !self.leave() {
                            return Ok(());
                        }
                        reload!();
                    }
                    Op::Copy { dst, src } => s.set(dst, s.get(src)),
                    Op::Const32 { dst, val } => s.set(dst, val as u64),
                    Op::Const64 { dst, val } => s.set(dst, val),
                    Op::Call { func, base } => {
                        self.pc = pc;
                        let fp = self.fp + base as usize;
                        if func >= self.ctx.num_imported {
                            let def = func - self.ctx.num_imported;
                            match crate::jit::installed_entry(&self.ctx.module, func) {
                                // Compiled by a JIT tier: run it on this value stack.
                                Some(entry) => {
                                    self.ctx.code.clear_call_target(def);
                                    self.call_jit(self.ctx.instance, func, entry, fp)?
                                }
                                None => {
                                    let code = self.ctx.func(func)?;
                                    // Later calls may stay in the handlers.
                                    self.ctx.code.set_call_target(def, code.func());
                                    self.push_frame();
                                    self.func_index = func;
                                    self.enter(code, fp)?;
                                }
                            }
                        } else {
                            let addr = self.instance().funcs[func as usize];
                            self.call_addr(addr, fp)?;
                        }
                        reload!();
                    }
                    Op::CallIndirect {
                        type_index,
                        index,
                        base,
                    } => {
                        let (table_index, _, _) = ext!();
                        let inst = self.instance();
                        let expected = inst.sigs[type_index as usize];
                        let table = &self.store.tables[inst.tables[table_index as usize] as usize];
                        let i = table_operand(s.get(index), table.ty.table64) as usize;
                        let cell = *table
                            .elems
                            .get(i)
                            .ok_or_else(|| Trap::new(TrapCode::UndefinedElement))?;
                        let addr = cell_funcref(cell)
                            .ok_or_else(|| Trap::new(TrapCode::IndirectCallToNull))?;
                        let callee = &self.store.funcs[addr as usize];
                        if callee.sig != expected {
                            return Err(TrapCode::BadSignature.into());
                        }
                        // Later calls of this element with this type may stay in the handlers.
                        if let FuncKind::Wasm {
                            instance,
                            func_index,
                        } = callee.kind
                        {
                            if table_index == 0 && instance == self.ctx.instance {
                                let icache = self.ctx.icache.get_or_insert_with(|| {
                                    Box::new([IndirectEntry::default(); ICACHE_ENTRIES])
                                });
                                icache[icache_slot(cell, type_index)] = IndirectEntry {
                                    cell,
                                    type_index,
                                    func_index,
                                };
                            }
                        }
                        let fp = self.fp + base as usize;
                        self.pc = pc;
                        self.call_addr(addr, fp)?;
                        reload!();
                    }
                    Op::ReturnCall { func, base } => {
                        let (n, _, _) = ext!();
                        self.pc = pc;
                        self.tail_args(base, n);
                        let addr = self.instance().funcs[func as usize];
                        match self.tail_call(addr)? {
                            TailDone::Continue => reload!(),
                            TailDone::Finished => return Ok(()),
                        }
                    }
                    Op::ReturnCallIndirect {
                        type_index,
                        index,
                        base,
                    } => {
                        let (table_index, n, _) = ext!();
                        self.pc = pc;
                        // Read before the arguments move: `index` may be a local they overwrite.
                        let i = s.get(index);
                        let addr = self.indirect_target(table_index, type_index, i)?;
                        self.tail_args(base, n);
                        match self.tail_call(addr)? {
                            TailDone::Continue => reload!(),
                            TailDone::Finished => return Ok(()),
                        }
                    }
                    Op::TrapIfNull { src } => {
                        if s.get(src) == 0 {
                            return Err(TrapCode::NullReference.into());
                        }
                    }
                    Op::CallRef { callee, base, .. } => {
                        self.pc = pc;
                        let addr = cell_funcref(s.get(callee))
                            .ok_or_else(|| Trap::new(TrapCode::NullFunctionReference))?;
                        let fp = self.fp + base as usize;
                        self.call_addr(addr, fp)?;
                        reload!();
                    }
                    Op::ReturnCallRef { callee, base, .. } => {
                        let (n, _, _) = ext!();
                        self.pc = pc;
                        let addr = cell_funcref(s.get(callee))
                            .ok_or_else(|| Trap::new(TrapCode::NullFunctionReference))?;
                        self.tail_args(base, n);
                        match self.tail_call(addr)? {
                            TailDone::Continue => reload!(),
                            TailDone::Finished => return Ok(()),
                        }
                    }
                    Op::Select { dst, a, b } => {
                        let (cond, _, _) = ext!();
                        let v = if s.get(cond) as u32 != 0 {
                            s.get(a)
                        } else {
                            s.get(b)
                        };
                        s.set(dst, v);
                    }
                    Op::GlobalGet { dst, index } => {
                        let g = self.instance().globals[index as usize];
                        s.set(dst, self.store.globals[g as usize].value);
                    }
                    Op::GlobalSet { src, index } => {
                        let g = self.instance().globals[index as usize];
                        self.store.globals[g as usize].value = s.get(src);
                    }
                    Op::MemLoad { kind, dst, addr } => {
                        let (m, lo, hi) = ext!();
                        let (view, wide) = self.memory_view(m);
                        let kind = MemAccess::from_u32(kind).expect("a memory access kind");
                        let raw = view.load_wide(
                            s.get(addr),
                            lo as u64 | (hi as u64) << 32,
                            kind.width(),
                            wide,
                        )?;
                        s.set(dst, kind.extend(raw));
                    }
                    Op::MemStore { kind, addr, val } => {
                        let (m, lo, hi) = ext!();
                        let (view, wide) = self.memory_view(m);
                        let kind = MemAccess::from_u32(kind).expect("a memory access kind");
                        view.store_wide(
                            s.get(addr),
                            lo as u64 | (hi as u64) << 32,
                            kind.width(),
                            wide,
                            s.get(val),
                        )?;
                    }
                    Op::MemorySize { dst, mem: m } => {
                        s.set(
                            dst,
                            strata_vm::memory_size(self.store, self.ctx.instance, m),
                        );
                    }
                    Op::MemoryGrow { dst, delta, mem: m } => {
                        let r =
                            strata_vm::memory_grow(self.store, self.ctx.instance, m, s.get(delta));
                        s.set(dst, r);
                        self.ctx.refresh_memory(self.store);
                        mem = self.ctx.mem;
                    }
                    Op::MemoryCopy { dst, src, len } => {
                        let (dm, sm, _) = ext!();
                        let (d, sr, n) = (s.get(dst), s.get(src), s.get(len));
                        strata_vm::memory_copy(self.store, self.ctx.instance, dm, sm, d, sr, n)?;
                    }
                    Op::MemoryFill { dst, val, len } => {
                        let (m, _, _) = ext!();
                        let (d, v, n) = (s.get(dst), s.get(val) as u8, s.get(len));
                        strata_vm::memory_fill(self.store, self.ctx.instance, m, d, v, n)?;
                    }
                    Op::MemoryInit { segment, dst, src } => {
                        let (len, m, _) = ext!();
                        strata_vm::memory_init(
                            self.store,
                            self.ctx.instance,
                            m,
                            segment,
                            s.get(dst),
                            s.get(src) as u32,
                            s.get(len) as u32,
                        )?;
                    }
                    Op::DataDrop { segment } => {
                        let inst = self.ctx.instance as usize;
                        self.store.instances[inst].data_dropped[segment as usize] = true;
                    }
                    Op::TableGet { dst, table, index } => {
                        let t = &self.store.tables[self.instance().tables[table as usize] as usize];
                        let v = *t
                            .elems
                            .get(table_operand(s.get(index), t.ty.table64) as usize)
                            .ok_or_else(|| Trap::new(TrapCode::TableOutOfBounds))?;
                        s.set(dst, v);
                    }
                    Op::TableSet { table, index, val } => {
                        let t = self.instance().tables[table as usize];
                        let t = &mut self.store.tables[t as usize];
                        let i = table_operand(s.get(index), t.ty.table64);
                        let slot = t
                            .elems
                            .get_mut(i as usize)
                            .ok_or_else(|| Trap::new(TrapCode::TableOutOfBounds))?;
                        *slot = s.get(val);
                    }
                    Op::TableSize { dst, table } => {
                        let t = self.instance().tables[table as usize];
                        s.set(dst, self.store.tables[t as usize].elems.len() as u64);
                    }
                    Op::TableGrow { dst, table, init } => {
                        let (delta, _, _) = ext!();
                        let t = self.instance().tables[table as usize];
                        let t = &mut self.store.tables[t as usize];
                        let table64 = t.ty.table64;
                        let r = t.grow(table_operand(s.get(delta), table64) as u64, s.get(init));
                        s.set(dst, table_grow_result(r, table64));
                    }
                    Op::TableFill { table, index, val } => {
                        let (len, _, _) = ext!();
                        let (i, v, n) = (s.get(index), s.get(val), s.get(len));
                        strata_vm::table_fill(self.store, self.ctx.instance, table, i, v, n)?;
                    }
                    Op::TableCopy {
                        dst_table,
                        src_table,
                        dst,
                    } => {
                        let (src, len, _) = ext!();
                        strata_vm::table_copy(
                            self.store,
                            self.ctx.instance,
                            dst_table,
                            src_table,
                            s.get(dst),
                            s.get(src),
                            s.get(len),
                        )?;
                    }
                    Op::TableInit {
                        table,
                        segment,
                        dst,
                    } => {
                        let (src, len, _) = ext!();
                        strata_vm::table_init(
                            self.store,
                            self.ctx.instance,
                            table,
                            segment,
                            s.get(dst),
                            s.get(src),
                            s.get(len),
                        )?;
                    }
                    Op::ElemDrop { segment } => {
                        let inst = self.ctx.instance as usize;
                        self.store.instances[inst].elems[segment as usize] = Box::new([]);
                    }
                    Op::Throw { tag, base } => {
                        self.pc = pc;
                        let addr = self.instance().tags[tag as usize];
                        let n = strata_vm::cells_of(&self.store.tags[addr as usize].ty.params);
                        let fp = self.fp + base as usize;
                        let exn = self
                            .store
                            .exns
                            .alloc(addr, &self.stack[fp..fp + n as usize])?;
                        return Err(Trap::exception(exn));
                    }
                    Op::ThrowRef { src } => {
                        self.pc = pc;
                        return Err(match s.get(src) {
                            0 => TrapCode::NullReference.into(),
                            exn => Trap::exception(exn),
                        });
                    }
                    Op::RefFunc { dst, func } => {
                        s.set(dst, funcref_cell(self.instance().funcs[func as usize]));
                    }
                    Op::Simd { code, dst, a } => {
                        let (b, c, imm) = ext!();
                        match super::simd::SimdCode::from_u16(code as u16) {
                            Some(super::simd::SimdCode::GlobalGet) => {
                                let g = self.instance().globals[imm as usize];
                                super::simd::set(s, dst, self.store.globals[g as usize].get128());
                            }
                            Some(super::simd::SimdCode::GlobalSet) => {
                                let g = self.instance().globals[imm as usize];
                                self.store.globals[g as usize].set128(super::simd::get(s, a));
                            }
                            _ if code & super::simd::OTHER_MEMORY != 0 => {
                                let m =
                                    (code >> super::simd::MEMORY_SHIFT) & super::simd::MAX_MEMORY;
                                let (view, wide) = self.memory_view(m);
                                super::simd::exec(code, dst, a, b, c, imm, s, view, wide)?
                            }
                            _ => super::simd::exec(code, dst, a, b, c, imm, s, mem, false)?,
                        }
                    }

                    Op::I32Eqz { dst, a } => un!(dst, a, |x: u32| b(x == 0)),
                    Op::I64Eqz { dst, a } => un!(dst, a, |x: u64| b(x == 0)),
                    Op::I32Clz { dst, a } => un!(dst, a, |x: u32| x.leading_zeros() as u64),
                    Op::I32Ctz { dst, a } => un!(dst, a, |x: u32| x.trailing_zeros() as u64),
                    Op::I32Popcnt { dst, a } => un!(dst, a, |x: u32| x.count_ones() as u64),
                    Op::I64Clz { dst, a } => un!(dst, a, |x: u64| x.leading_zeros() as u64),
                    Op::I64Ctz { dst, a } => un!(dst, a, |x: u64| x.trailing_zeros() as u64),
                    Op::I64Popcnt { dst, a } => un!(dst, a, |x: u64| x.count_ones() as u64),
                    Op::F32Abs { dst, a } => un!(dst, a, |x: u32| (x & 0x7fff_ffff) as u64),
                    Op::F32Neg { dst, a } => un!(dst, a, |x: u32| (x ^ 0x8000_0000) as u64),
                    Op::F32Ceil { dst, a } => f32un!(dst, a, |x| f32_quiet(x.ceil())),
                    Op::F32Floor { dst, a } => f32un!(dst, a, |x| f32_quiet(x.floor())),
                    Op::F32Trunc { dst, a } => f32un!(dst, a, |x| f32_quiet(x.trunc())),
                    Op::F32Nearest { dst, a } => f32un!(dst, a, |x| f32_quiet(x.round_ties_even())),
                    Op::F32Sqrt { dst, a } => f32un!(dst, a, |x| x.sqrt()),
                    Op::F64Abs { dst, a } => un!(dst, a, |x: u64| x & 0x7fff_ffff_ffff_ffff),
                    Op::F64Neg { dst, a } => un!(dst, a, |x: u64| x ^ 0x8000_0000_0000_0000),
                    Op::F64Ceil { dst, a } => f64un!(dst, a, |x| f64_quiet(x.ceil())),
                    Op::F64Floor { dst, a } => f64un!(dst, a, |x| f64_quiet(x.floor())),
                    Op::F64Trunc { dst, a } => f64un!(dst, a, |x| f64_quiet(x.trunc())),
                    Op::F64Nearest { dst, a } => f64un!(dst, a, |x| f64_quiet(x.round_ties_even())),
                    Op::F64Sqrt { dst, a } => f64un!(dst, a, |x| x.sqrt()),
                    Op::I32WrapI64 { dst, a } => un!(dst, a, |x: u32| x as u64),
                    Op::I32TruncF32S { dst, a } => s.set(
                        dst,
                        i32_trunc_f32_s(f32::from_bits(s.get(a) as u32))? as u32 as u64,
                    ),
                    Op::I32TruncF32U { dst, a } => s.set(
                        dst,
                        i32_trunc_f32_u(f32::from_bits(s.get(a) as u32))? as u64,
                    ),
                    Op::I32TruncF64S { dst, a } => s.set(
                        dst,
                        i32_trunc_f64_s(f64::from_bits(s.get(a)))? as u32 as u64,
                    ),
                    Op::I32TruncF64U { dst, a } => {
                        s.set(dst, i32_trunc_f64_u(f64::from_bits(s.get(a)))? as u64)
                    }
                    Op::I64ExtendI32S { dst, a } => un!(dst, a, |x: i32| x as i64 as u64),
                    Op::I64ExtendI32U { dst, a } => un!(dst, a, |x: u32| x as u64),
                    Op::I64TruncF32S { dst, a } => s.set(
                        dst,
                        i64_trunc_f32_s(f32::from_bits(s.get(a) as u32))? as u64,
                    ),
                    Op::I64TruncF32U { dst, a } => {
                        s.set(dst, i64_trunc_f32_u(f32::from_bits(s.get(a) as u32))?)
                    }
                    Op::I64TruncF64S { dst, a } => {
                        s.set(dst, i64_trunc_f64_s(f64::from_bits(s.get(a)))? as u64)
                    }
                    Op::I64TruncF64U { dst, a } => {
                        s.set(dst, i64_trunc_f64_u(f64::from_bits(s.get(a)))?)
                    }
                    Op::F32ConvertI32S { dst, a } => {
                        un!(dst, a, |x: i32| (x as f32).to_bits() as u64)
                    }
                    Op::F32ConvertI32U { dst, a } => {
                        un!(dst, a, |x: u32| (x as f32).to_bits() as u64)
                    }
                    Op::F32ConvertI64S { dst, a } => {
                        un!(dst, a, |x: i64| (x as f32).to_bits() as u64)
                    }
                    Op::F32ConvertI64U { dst, a } => {
                        un!(dst, a, |x: u64| (x as f32).to_bits() as u64)
                    }
                    Op::F32DemoteF64 { dst, a } => {
                        let x = f64::from_bits(s.get(a));
                        s.set(dst, (x as f32).to_bits() as u64);
                    }
                    Op::F64ConvertI32S { dst, a } => un!(dst, a, |x: i32| (x as f64).to_bits()),
                    Op::F64ConvertI32U { dst, a } => un!(dst, a, |x: u32| (x as f64).to_bits()),
                    Op::F64ConvertI64S { dst, a } => un!(dst, a, |x: i64| (x as f64).to_bits()),
                    Op::F64ConvertI64U { dst, a } => un!(dst, a, |x: u64| (x as f64).to_bits()),
                    Op::F64PromoteF32 { dst, a } => {
                        let x = f32::from_bits(s.get(a) as u32);
                        s.set(dst, (x as f64).to_bits());
                    }
                    Op::I32Extend8S { dst, a } => un!(dst, a, |x: i8| x as i32 as u32 as u64),
                    Op::I32Extend16S { dst, a } => un!(dst, a, |x: i16| x as i32 as u32 as u64),
                    Op::I64Extend8S { dst, a } => un!(dst, a, |x: i8| x as i64 as u64),
                    Op::I64Extend16S { dst, a } => un!(dst, a, |x: i16| x as i64 as u64),
                    Op::I64Extend32S { dst, a } => un!(dst, a, |x: i32| x as i64 as u64),
                    // Rust's float-to-int `as` saturates and maps NaN to 0: exactly trunc_sat.
                    Op::I32TruncSatF32S { dst, a } => {
                        s.set(dst, f32::from_bits(s.get(a) as u32) as i32 as u32 as u64)
                    }
                    Op::I32TruncSatF32U { dst, a } => {
                        s.set(dst, f32::from_bits(s.get(a) as u32) as u32 as u64)
                    }
                    Op::I32TruncSatF64S { dst, a } => {
                        s.set(dst, f64::from_bits(s.get(a)) as i32 as u32 as u64)
                    }
                    Op::I32TruncSatF64U { dst, a } => {
                        s.set(dst, f64::from_bits(s.get(a)) as u32 as u64)
                    }
                    Op::I64TruncSatF32S { dst, a } => {
                        s.set(dst, f32::from_bits(s.get(a) as u32) as i64 as u64)
                    }
                    Op::I64TruncSatF32U { dst, a } => {
                        s.set(dst, f32::from_bits(s.get(a) as u32) as u64)
                    }
                    Op::I64TruncSatF64S { dst, a } => {
                        s.set(dst, f64::from_bits(s.get(a)) as i64 as u64)
                    }
                    Op::I64TruncSatF64U { dst, a } => s.set(dst, f64::from_bits(s.get(a)) as u64),

                    Op::I32Eq { dst, a, b: r } => bin!(dst, a, r, |x: u32, y| b(x == y)),
                    Op::I32Ne { dst, a, b: r } => bin!(dst, a, r, |x: u32, y| b(x != y)),
                    Op::I32LtS { dst, a, b: r } => bin!(dst, a, r, |x: i32, y| b(x < y)),
                    Op::I32LtU { dst, a, b: r } => bin!(dst, a, r, |x: u32, y| b(x < y)),
                    Op::I32GtS { dst, a, b: r } => bin!(dst, a, r, |x: i32, y| b(x > y)),
                    Op::I32GtU { dst, a, b: r } => bin!(dst, a, r, |x: u32, y| b(x > y)),
                    Op::I32LeS { dst, a, b: r } => bin!(dst, a, r, |x: i32, y| b(x <= y)),
                    Op::I32LeU { dst, a, b: r } => bin!(dst, a, r, |x: u32, y| b(x <= y)),
                    Op::I32GeS { dst, a, b: r } => bin!(dst, a, r, |x: i32, y| b(x >= y)),
                    Op::I32GeU { dst, a, b: r } => bin!(dst, a, r, |x: u32, y| b(x >= y)),
                    Op::I64Eq { dst, a, b: r } => bin!(dst, a, r, |x: u64, y| b(x == y)),
                    Op::I64Ne { dst, a, b: r } => bin!(dst, a, r, |x: u64, y| b(x != y)),
                    Op::I64LtS { dst, a, b: r } => bin!(dst, a, r, |x: i64, y| b(x < y)),
                    Op::I64LtU { dst, a, b: r } => bin!(dst, a, r, |x: u64, y| b(x < y)),
                    Op::I64GtS { dst, a, b: r } => bin!(dst, a, r, |x: i64, y| b(x > y)),
                    Op::I64GtU { dst, a, b: r } => bin!(dst, a, r, |x: u64, y| b(x > y)),
                    Op::I64LeS { dst, a, b: r } => bin!(dst, a, r, |x: i64, y| b(x <= y)),
                    Op::I64LeU { dst, a, b: r } => bin!(dst, a, r, |x: u64, y| b(x <= y)),
                    Op::I64GeS { dst, a, b: r } => bin!(dst, a, r, |x: i64, y| b(x >= y)),
                    Op::I64GeU { dst, a, b: r } => bin!(dst, a, r, |x: u64, y| b(x >= y)),
                    Op::F32Eq { dst, a, b: r } => f32bin!(dst, a, r, |x, y| b(x == y)),
                    Op::F32Ne { dst, a, b: r } => f32bin!(dst, a, r, |x, y| b(x != y)),
                    Op::F32Lt { dst, a, b: r } => f32bin!(dst, a, r, |x, y| b(x < y)),
                    Op::F32Gt { dst, a, b: r } => f32bin!(dst, a, r, |x, y| b(x > y)),
                    Op::F32Le { dst, a, b: r } => f32bin!(dst, a, r, |x, y| b(x <= y)),
                    Op::F32Ge { dst, a, b: r } => f32bin!(dst, a, r, |x, y| b(x >= y)),
                    Op::F64Eq { dst, a, b: r } => f64bin!(dst, a, r, |x, y| b(x == y)),
                    Op::F64Ne { dst, a, b: r } => f64bin!(dst, a, r, |x, y| b(x != y)),
                    Op::F64Lt { dst, a, b: r } => f64bin!(dst, a, r, |x, y| b(x < y)),
                    Op::F64Gt { dst, a, b: r } => f64bin!(dst, a, r, |x, y| b(x > y)),
                    Op::F64Le { dst, a, b: r } => f64bin!(dst, a, r, |x, y| b(x <= y)),
                    Op::F64Ge { dst, a, b: r } => f64bin!(dst, a, r, |x, y| b(x >= y)),
                    Op::I32Add { dst, a, b } => {
                        bin!(dst, a, b, |x: u32, y| x.wrapping_add(y) as u64)
                    }
                    Op::I32Sub { dst, a, b } => {
                        bin!(dst, a, b, |x: u32, y| x.wrapping_sub(y) as u64)
                    }
                    Op::I32Mul { dst, a, b } => {
                        bin!(dst, a, b, |x: u32, y| x.wrapping_mul(y) as u64)
                    }
                    Op::I32DivS { dst, a, b } => {
                        let r = i32_div_s(s.get(a) as i32, s.get(b) as i32)?;
                        s.set(dst, r as u32 as u64);
                    }
                    Op::I32DivU { dst, a, b } => {
                        let y = nonzero(s.get(b) as u32)?;
                        s.set(dst, (s.get(a) as u32 / y) as u64);
                    }
                    Op::I32RemS { dst, a, b } => {
                        let y = nonzero(s.get(b) as i32)?;
                        s.set(dst, (s.get(a) as i32).wrapping_rem(y) as u32 as u64);
                    }
                    Op::I32RemU { dst, a, b } => {
                        let y = nonzero(s.get(b) as u32)?;
                        s.set(dst, (s.get(a) as u32 % y) as u64);
                    }
                    Op::I32And { dst, a, b } => bin!(dst, a, b, |x: u32, y| (x & y) as u64),
                    Op::I32Or { dst, a, b } => bin!(dst, a, b, |x: u32, y| (x | y) as u64),
                    Op::I32Xor { dst, a, b } => bin!(dst, a, b, |x: u32, y| (x ^ y) as u64),
                    Op::I32Shl { dst, a, b } => {
                        bin!(dst, a, b, |x: u32, y| x.wrapping_shl(y) as u64)
                    }
                    Op::I32ShrS { dst, a, b } => {
                        bin!(dst, a, b, |x: i32, y| x.wrapping_shr(y as u32) as u32
                            as u64)
                    }
                    Op::I32ShrU { dst, a, b } => {
                        bin!(dst, a, b, |x: u32, y| x.wrapping_shr(y) as u64)
                    }
                    Op::I32Rotl { dst, a, b } => {
                        bin!(dst, a, b, |x: u32, y| x.rotate_left(y) as u64)
                    }
                    Op::I32Rotr { dst, a, b } => {
                        bin!(dst, a, b, |x: u32, y| x.rotate_right(y) as u64)
                    }
                    Op::I64Add { dst, a, b } => bin!(dst, a, b, |x: u64, y| x.wrapping_add(y)),
                    Op::I64Sub { dst, a, b } => bin!(dst, a, b, |x: u64, y| x.wrapping_sub(y)),
                    Op::I64Mul { dst, a, b } => bin!(dst, a, b, |x: u64, y| x.wrapping_mul(y)),
                    Op::I64DivS { dst, a, b } => {
                        let r = i64_div_s(s.get(a) as i64, s.get(b) as i64)?;
                        s.set(dst, r as u64);
                    }
                    Op::I64DivU { dst, a, b } => {
                        let y = nonzero(s.get(b))?;
                        s.set(dst, s.get(a) / y);
                    }
                    Op::I64RemS { dst, a, b } => {
                        let y = nonzero(s.get(b) as i64)?;
                        s.set(dst, (s.get(a) as i64).wrapping_rem(y) as u64);
                    }
                    Op::I64RemU { dst, a, b } => {
                        let y = nonzero(s.get(b))?;
                        s.set(dst, s.get(a) % y);
                    }
                    Op::I64And { dst, a, b } => bin!(dst, a, b, |x: u64, y| x & y),
                    Op::I64Or { dst, a, b } => bin!(dst, a, b, |x: u64, y| x | y),
                    Op::I64Xor { dst, a, b } => bin!(dst, a, b, |x: u64, y| x ^ y),
                    Op::I64Shl { dst, a, b } => {
                        bin!(dst, a, b, |x: u64, y| x.wrapping_shl(y as u32))
                    }
                    Op::I64ShrS { dst, a, b } => {
                        bin!(dst, a, b, |x: i64, y| x.wrapping_shr(y as u32) as u64)
                    }
                    Op::I64ShrU { dst, a, b } => {
                        bin!(dst, a, b, |x: u64, y| x.wrapping_shr(y as u32))
                    }
                    Op::I64Rotl { dst, a, b } => {
                        bin!(dst, a, b, |x: u64, y| x.rotate_left((y & 63) as u32))
                    }
                    Op::I64Rotr { dst, a, b } => {
                        bin!(dst, a, b, |x: u64, y| x.rotate_right((y & 63) as u32))
                    }
                    Op::F32Add { dst, a, b } => f32bin!(dst, a, b, |x, y| (x + y).to_bits() as u64),
                    Op::F32Sub { dst, a, b } => f32bin!(dst, a, b, |x, y| (x - y).to_bits() as u64),
                    Op::F32Mul { dst, a, b } => f32bin!(dst, a, b, |x, y| (x * y).to_bits() as u64),
                    Op::F32Div { dst, a, b } => f32bin!(dst, a, b, |x, y| (x / y).to_bits() as u64),
                    Op::F32Min { dst, a, b } => {
                        f32bin!(dst, a, b, |x, y| f32_min(x, y).to_bits() as u64)
                    }
                    Op::F32Max { dst, a, b } => {
                        f32bin!(dst, a, b, |x, y| f32_max(x, y).to_bits() as u64)
                    }
                    Op::F32Copysign { dst, a, b } => {
                        bin!(dst, a, b, |x: u32, y| f32_copysign(x, y) as u64)
                    }
                    Op::F64Add { dst, a, b } => f64bin!(dst, a, b, |x, y| (x + y).to_bits()),
                    Op::F64Sub { dst, a, b } => f64bin!(dst, a, b, |x, y| (x - y).to_bits()),
                    Op::F64Mul { dst, a, b } => f64bin!(dst, a, b, |x, y| (x * y).to_bits()),
                    Op::F64Div { dst, a, b } => f64bin!(dst, a, b, |x, y| (x / y).to_bits()),
                    Op::F64Min { dst, a, b } => f64bin!(dst, a, b, |x, y| f64_min(x, y).to_bits()),
                    Op::F64Max { dst, a, b } => f64bin!(dst, a, b, |x, y| f64_max(x, y).to_bits()),
                    Op::F64Copysign { dst, a, b } => {
                        bin!(dst, a, b, |x: u64, y| f64_copysign(x, y))
                    }

                    Op::I32EqImm { dst, a, imm } => un!(dst, a, |x: u32| b(x == imm as u32)),
                    Op::I32NeImm { dst, a, imm } => un!(dst, a, |x: u32| b(x != imm as u32)),
                    Op::I32LtSImm { dst, a, imm } => un!(dst, a, |x: i32| b(x < imm)),
                    Op::I32LtUImm { dst, a, imm } => un!(dst, a, |x: u32| b(x < imm as u32)),
                    Op::I32GtSImm { dst, a, imm } => un!(dst, a, |x: i32| b(x > imm)),
                    Op::I32GtUImm { dst, a, imm } => un!(dst, a, |x: u32| b(x > imm as u32)),
                    Op::I32LeSImm { dst, a, imm } => un!(dst, a, |x: i32| b(x <= imm)),
                    Op::I32LeUImm { dst, a, imm } => un!(dst, a, |x: u32| b(x <= imm as u32)),
                    Op::I32GeSImm { dst, a, imm } => un!(dst, a, |x: i32| b(x >= imm)),
                    Op::I32GeUImm { dst, a, imm } => un!(dst, a, |x: u32| b(x >= imm as u32)),
                    Op::I64EqImm { dst, a, imm } => un!(dst, a, |x: i64| b(x == imm as i64)),
                    Op::I64NeImm { dst, a, imm } => un!(dst, a, |x: i64| b(x != imm as i64)),
                    Op::I64LtSImm { dst, a, imm } => un!(dst, a, |x: i64| b(x < imm as i64)),
                    Op::I64LtUImm { dst, a, imm } => {
                        un!(dst, a, |x: u64| b(x < imm as i64 as u64))
                    }
                    Op::I64GtSImm { dst, a, imm } => un!(dst, a, |x: i64| b(x > imm as i64)),
                    Op::I64GtUImm { dst, a, imm } => {
                        un!(dst, a, |x: u64| b(x > imm as i64 as u64))
                    }
                    Op::I64LeSImm { dst, a, imm } => un!(dst, a, |x: i64| b(x <= imm as i64)),
                    Op::I64LeUImm { dst, a, imm } => {
                        un!(dst, a, |x: u64| b(x <= imm as i64 as u64))
                    }
                    Op::I64GeSImm { dst, a, imm } => un!(dst, a, |x: i64| b(x >= imm as i64)),
                    Op::I64GeUImm { dst, a, imm } => {
                        un!(dst, a, |x: u64| b(x >= imm as i64 as u64))
                    }
                    Op::I32AddImm { dst, a, imm } => {
                        un!(dst, a, |x: u32| x.wrapping_add(imm as u32) as u64)
                    }
                    Op::I32MulImm { dst, a, imm } => {
                        un!(dst, a, |x: u32| x.wrapping_mul(imm as u32) as u64)
                    }
                    Op::I32AndImm { dst, a, imm } => un!(dst, a, |x: u32| (x & imm as u32) as u64),
                    Op::I32OrImm { dst, a, imm } => un!(dst, a, |x: u32| (x | imm as u32) as u64),
                    Op::I32XorImm { dst, a, imm } => un!(dst, a, |x: u32| (x ^ imm as u32) as u64),
                    Op::I32ShlImm { dst, a, imm } => {
                        un!(dst, a, |x: u32| x.wrapping_shl(imm as u32) as u64)
                    }
                    Op::I32ShrSImm { dst, a, imm } => {
                        un!(dst, a, |x: i32| x.wrapping_shr(imm as u32) as u32 as u64)
                    }
                    Op::I32ShrUImm { dst, a, imm } => {
                        un!(dst, a, |x: u32| x.wrapping_shr(imm as u32) as u64)
                    }
                    Op::I32RotlImm { dst, a, imm } => {
                        un!(dst, a, |x: u32| x.rotate_left(imm as u32) as u64)
                    }
                    Op::I32RotrImm { dst, a, imm } => {
                        un!(dst, a, |x: u32| x.rotate_right(imm as u32) as u64)
                    }
                    Op::I64AddImm { dst, a, imm } => {
                        un!(dst, a, |x: u64| x.wrapping_add(imm as i64 as u64))
                    }
                    Op::I64MulImm { dst, a, imm } => {
                        un!(dst, a, |x: u64| x.wrapping_mul(imm as i64 as u64))
                    }
                    Op::I64AndImm { dst, a, imm } => un!(dst, a, |x: u64| x & imm as i64 as u64),
                    Op::I64OrImm { dst, a, imm } => un!(dst, a, |x: u64| x | imm as i64 as u64),
                    Op::I64XorImm { dst, a, imm } => un!(dst, a, |x: u64| x ^ imm as i64 as u64),
                    Op::I64ShlImm { dst, a, imm } => {
                        un!(dst, a, |x: u64| x.wrapping_shl(imm as u32))
                    }
                    Op::I64ShrSImm { dst, a, imm } => {
                        un!(dst, a, |x: i64| x.wrapping_shr(imm as u32) as u64)
                    }
                    Op::I64ShrUImm { dst, a, imm } => {
                        un!(dst, a, |x: u64| x.wrapping_shr(imm as u32))
                    }
                    Op::I64RotlImm { dst, a, imm } => {
                        un!(dst, a, |x: u64| x.rotate_left(imm as u32 & 63))
                    }
                    Op::I64RotrImm { dst, a, imm } => {
                        un!(dst, a, |x: u64| x.rotate_right(imm as u32 & 63))
                    }

                    Op::I32Load { dst, addr, offset } => {
                        load!(dst, addr, offset, 4, |v| u32::from_le_bytes(v) as u64)
                    }
                    Op::I64Load { dst, addr, offset } => {
                        load!(dst, addr, offset, 8, |v| u64::from_le_bytes(v))
                    }
                    Op::F32Load { dst, addr, offset } => {
                        load!(dst, addr, offset, 4, |v| u32::from_le_bytes(v) as u64)
                    }
                    Op::F64Load { dst, addr, offset } => {
                        load!(dst, addr, offset, 8, |v| u64::from_le_bytes(v))
                    }
                    Op::I32Load8S { dst, addr, offset } => {
                        load!(dst, addr, offset, 1, |v| v[0] as i8 as i32 as u32 as u64)
                    }
                    Op::I32Load8U { dst, addr, offset } => {
                        load!(dst, addr, offset, 1, |v| v[0] as u64)
                    }
                    Op::I32Load16S { dst, addr, offset } => {
                        load!(
                            dst,
                            addr,
                            offset,
                            2,
                            |v| i16::from_le_bytes(v) as i32 as u32 as u64
                        )
                    }
                    Op::I32Load16U { dst, addr, offset } => {
                        load!(dst, addr, offset, 2, |v| u16::from_le_bytes(v) as u64)
                    }
                    Op::I64Load8S { dst, addr, offset } => {
                        load!(dst, addr, offset, 1, |v| v[0] as i8 as i64 as u64)
                    }
                    Op::I64Load8U { dst, addr, offset } => {
                        load!(dst, addr, offset, 1, |v| v[0] as u64)
                    }
                    Op::I64Load16S { dst, addr, offset } => {
                        load!(dst, addr, offset, 2, |v| i16::from_le_bytes(v) as i64
                            as u64)
                    }
                    Op::I64Load16U { dst, addr, offset } => {
                        load!(dst, addr, offset, 2, |v| u16::from_le_bytes(v) as u64)
                    }
                    Op::I64Load32S { dst, addr, offset } => {
                        load!(dst, addr, offset, 4, |v| i32::from_le_bytes(v) as i64
                            as u64)
                    }
                    Op::I64Load32U { dst, addr, offset } => {
                        load!(dst, addr, offset, 4, |v| u32::from_le_bytes(v) as u64)
                    }
                    Op::I32Store { addr, val, offset } => {
                        store!(addr, val, offset, |v| (v as u32).to_le_bytes())
                    }
                    Op::I64Store { addr, val, offset } => {
                        store!(addr, val, offset, |v| v.to_le_bytes())
                    }
                    Op::F32Store { addr, val, offset } => {
                        store!(addr, val, offset, |v| (v as u32).to_le_bytes())
                    }
                    Op::F64Store { addr, val, offset } => {
                        store!(addr, val, offset, |v| v.to_le_bytes())
                    }
                    Op::I32Store8 { addr, val, offset } => store!(addr, val, offset, |v| [v as u8]),
                    Op::I32Store16 { addr, val, offset } => {
                        store!(addr, val, offset, |v| (v as u16).to_le_bytes())
                    }
                    Op::I64Store8 { addr, val, offset } => store!(addr, val, offset, |v| [v as u8]),
                    Op::I64Store16 { addr, val, offset } => {
                        store!(addr, val, offset, |v| (v as u16).to_le_bytes())
                    }
                    Op::I64Store32 { addr, val, offset } => {
                        store!(addr, val, offset, |v| (v as u32).to_le_bytes())
                    }
                }
            }
        };
        let r = run();
        if r.is_err() && !std::mem::take(&mut self.pc_is_current) {
            self.pc = pc;
        }
        r
    }
}

/// Dynamic op and op-pair frequencies, for choosing superinstructions. Build with
/// `RUSTFLAGS="--cfg strata_opstats"`; the counts go to stderr when a host call returns.
#[cfg(strata_opstats)]
mod opstats {
    use super::Op;
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::mem::{discriminant, Discriminant};

    type D = Discriminant<Op>;
    #[derive(Default)]
    struct Stats {
        prev: Option<D>,
        names: HashMap<D, String>,
        ops: HashMap<D, u64>,
        pairs: HashMap<(D, D), u64>,
    }
    thread_local!(static STATS: RefCell<Stats> = RefCell::default());

    pub fn record(op: Op) {
        STATS.with(|s| {
            let mut s = s.borrow_mut();
            let d = discriminant(&op);
            if !s.names.contains_key(&d) {
                let name = format!("{op:?}");
                let name = name.split([' ', '{']).next().unwrap_or("").to_string();
                s.names.insert(d, name);
            }
            *s.ops.entry(d).or_default() += 1;
            if let Some(p) = s.prev {
                *s.pairs.entry((p, d)).or_default() += 1;
            }
            s.prev = Some(d);
        });
    }

    pub fn dump() {
        STATS.with(|s| {
            let s = s.borrow();
            let total: u64 = s.ops.values().sum();
            let mut ops: Vec<_> = s.ops.iter().collect();
            ops.sort_by_key(|(_, c)| std::cmp::Reverse(**c));
            eprintln!("opstats: {total} ops");
            for (d, c) in ops.iter().take(40) {
                eprintln!(
                    "op {:6.2}% {}",
                    **c as f64 * 100.0 / total as f64,
                    s.names[*d]
                );
            }
            let mut pairs: Vec<_> = s.pairs.iter().collect();
            pairs.sort_by_key(|(_, c)| std::cmp::Reverse(**c));
            for ((a, b), c) in pairs.iter().take(40) {
                eprintln!(
                    "pair {:6.2}% {} {}",
                    **c as f64 * 100.0 / total as f64,
                    s.names[a],
                    s.names[b]
                );
            }
        });
    }
}
