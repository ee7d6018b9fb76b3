//! The interpreter tier: every function starts here. A function is translated on its first
//! call from its validated body into register bytecode (`code::Op`), cached per module, and
//! executed by a loop that keeps all wasm frames off the host stack.

#![allow(unexpected_cfgs)] // `strata_opstats` (exec.rs), `strata_no_counters` (code.rs)

mod asm;
mod code;
mod exec;
mod numeric;
pub(crate) mod raw;
pub(crate) mod simd;
mod threaded;
mod translate;

pub use code::{CompiledFunc, Counters, Op};

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, OnceLock};
use strata_vm::{
    FuncAddr, FuncKind, HostContext, InstanceId, InterpMode, Module, StoreInner, Trap, TrapCode,
};

use strata_vm::abi::MIN_HOST_STACK;

/// The slot of `Module::tier_state` that holds the interpreter's per-module code.
pub const TIER_STATE_SLOT: usize = strata_vm::module::tier_slot::INTERP;

/// A function's translation, done at most once (a failure is kept, so it is reported again).
type TranslationSlot = OnceLock<Result<Box<CompiledFunc>, String>>;

/// Translated functions of one module, filled lazily and shared by all its instances.
pub struct InterpModule {
    funcs: Box<[TranslationSlot]>,
    /// Per defined function, its translation while calls to it may stay in the
    /// interpreter's handlers (`asm.rs`): set when the executor calls it interpreted, cleared
    /// when compiled code is installed for it (null: the executor decides).
    call_targets: Box<[AtomicPtr<CompiledFunc>]>,
    /// The dispatch mode every function of the module is translated for.
    mode: InterpMode,
}

impl InterpModule {
    /// The interpreter state of `module`, created on first use with `mode` (a module runs in
    /// the mode of the first store that runs it: modules belong to one engine).
    pub fn of(module: &Module, mode: InterpMode) -> Arc<InterpModule> {
        let any = module.tier_state[TIER_STATE_SLOT].get_or_init(|| {
            let n = module.num_defined_funcs();
            Arc::new(InterpModule {
                funcs: (0..n).map(|_| OnceLock::new()).collect(),
                call_targets: (0..n).map(|_| AtomicPtr::default()).collect(),
                mode,
            })
        });
        any.clone()
            .downcast::<InterpModule>()
            .expect("tier state slot 0 belongs to the interpreter")
    }

    /// The interpreter state of `module` if something has run it.
    pub fn existing(module: &Module) -> Option<Arc<InterpModule>> {
        module.tier_state[TIER_STATE_SLOT]
            .get()?
            .clone()
            .downcast::<InterpModule>()
            .ok()
    }

    /// The dispatch mode the module's functions are translated for.
    pub fn mode(&self) -> InterpMode {
        self.mode
    }

    /// Defined function `def_index`, translated on first use.
    pub fn get(&self, module: &Module, def_index: u32) -> Result<&CompiledFunc, Trap> {
        self.funcs[def_index as usize]
            .get_or_init(|| {
                translate::translate(module, def_index as usize, self.mode).map(Box::new)
            })
            .as_deref()
            .map_err(|e| Trap::host(format!("interpreter translation failed: {e}")))
    }

    /// Defined function `def_index` if it is already translated.
    #[inline(always)]
    pub(crate) fn translated(&self, def_index: u32) -> Option<&CompiledFunc> {
        match self.funcs.get(def_index as usize)?.get()? {
            Ok(f) => Some(f),
            Err(_) => None,
        }
    }

    /// The counters of defined function `def_index`, once it has been translated (its first
    /// call translates it).
    pub fn counters(&self, def_index: u32) -> Option<&Counters> {
        match self.funcs.get(def_index as usize)?.get()? {
            Ok(f) => Some(&f.counters),
            Err(_) => None,
        }
    }

    /// Lets calls to `f` (defined function `def_index`, which has no compiled code) stay in
    /// the handlers.
    #[inline(always)]
    pub(crate) fn set_call_target(&self, def_index: u32, f: &CompiledFunc) {
        if let Some(t) = self.call_targets.get(def_index as usize) {
            t.store(
                f as *const CompiledFunc as *mut CompiledFunc,
                Ordering::Relaxed,
            );
        }
    }

    /// Sends calls to defined function `def_index` back through the executor (it has
    /// compiled code now).
    pub(crate) fn clear_call_target(&self, def_index: u32) {
        if let Some(t) = self.call_targets.get(def_index as usize) {
            t.store(std::ptr::null_mut(), Ordering::Release);
        }
    }

    /// The call-target table, for the handlers.
    pub(crate) fn call_targets(&self) -> &[AtomicPtr<CompiledFunc>] {
        &self.call_targets
    }

    /// Translates every function now (eager mode, and for measuring translation speed).
    pub fn translate_all(&self, module: &Module) -> Result<(), Trap> {
        for i in 0..self.funcs.len() {
            self.get(module, i as u32)?;
        }
        Ok(())
    }
}

/// Compiled code was installed for defined function `def_index` of `module`: calls to it
/// must leave the interpreter's handlers.
pub fn forget_call_target(module: &Module, def_index: u32) {
    if let Some(m) = InterpModule::existing(module) {
        m.clear_call_target(def_index);
    }
}

/// Translates one function without caching it (benchmarks and tests of the translator).
pub fn translate(
    module: &Module,
    def_index: usize,
    mode: InterpMode,
) -> Result<CompiledFunc, String> {
    translate::translate(module, def_index, mode)
}

/// Runs wasm function `func_index` of `instance` in the interpreter on a value stack that
/// already holds its arguments at `stack[0..]` (a JIT frame calling an interpreted function:
/// the frame layout is shared, docs/abi.md §1); results are left at `stack[0..]`.
pub fn execute_on_stack(
    store: &mut StoreInner,
    stack: &mut [u64],
    instance: InstanceId,
    func_index: u32,
) -> Result<(), Trap> {
    if crate::host_stack::remaining() < MIN_HOST_STACK {
        return Err(TrapCode::StackOverflow.into());
    }
    exec::execute(store, stack, instance, func_index)
}

/// Calls a function from the host: arguments and results are raw cells.
pub fn invoke(
    store: &mut StoreInner,
    func: FuncAddr,
    args: &[u64],
    results: &mut [u64],
) -> Result<(), Trap> {
    match store.funcs[func as usize].kind.clone() {
        FuncKind::Host(host) => {
            let mut cx = HostContext {
                store,
                caller: None,
            };
            host(&mut cx, args, results)
        }
        FuncKind::Wasm {
            instance,
            func_index,
        } => {
            // Wasm frames live off the host stack, but every host -> wasm re-entry (a host
            // function calling back into wasm) nests Rust frames; refuse before they run out.
            if crate::host_stack::remaining() < MIN_HOST_STACK {
                return Err(TrapCode::StackOverflow.into());
            }
            let mut stack = store.take_stack();
            stack[..args.len()].copy_from_slice(args);
            let result = exec::execute(store, &mut stack, instance, func_index);
            if result.is_ok() {
                results.copy_from_slice(&stack[..results.len()]);
            }
            store.return_stack(stack);
            result
        }
    }
}
