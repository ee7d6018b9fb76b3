//! The one door through which the engine and the tier manager reach the tiers (design.md
//! §0): `CompilerTier` compiles a whole module or one function at a tier (with its OSR
//! entries) and installs it, found by level in `compiler`; `prepare_*` make a module's code
//! slots ready for the engine's way of running; `invoke` calls a function from the host in
//! whichever tier its slot says; the installed-code registry keeps what each function has at
//! each level, so the interpreter finds OSR entries and the manager sees which tier is ready.
//! Neither the engine nor the interpreter names a compiling tier.

use std::any::Any;
use std::sync::{Arc, Mutex, OnceLock};
use strata_vm::module::tier_slot;
use strata_vm::tiering::{LEVEL_BASELINE, LEVEL_OPT};
use strata_vm::{BoundsChecks, FuncAddr, FuncKind, Module, StoreInner, Trap};

/// The `Module::tier_state` slot of the installed-code registry.
const REGISTRY_SLOT: usize = tier_slot::REGISTRY;
/// Levels above the interpreter that can hold code (baseline, opt).
const JIT_LEVELS: usize = 2;

/// Code installed for one function at one level.
pub struct Installed {
    pub level: u8,
    pub entry: *const u8,
    /// OSR entries by loop ordinal (`None`: unreachable loop).
    pub osr: Box<[Option<*const u8>]>,
    /// Value-stack cells the compiled frame needs.
    pub frame_cells: usize,
    pub code_size: usize,
    /// The register entry of optimized code (docs/abi.md §3): what the register-entry slot
    /// gets with `entry` in the code slot. `None`: the code takes its arguments in cells.
    pub reg_entry: Option<*const u8>,
    /// Keeps the code mapped (code is never freed while its module lives, docs/abi.md §5).
    _owner: Arc<dyn Any + Send + Sync>,
}

// SAFETY: the pointers are entries into immutable executable code kept alive by `_owner`.
unsafe impl Send for Installed {}
// SAFETY: as above.
unsafe impl Sync for Installed {}

/// An OSR entry: where to jump, and the frame it needs.
#[derive(Clone, Copy, Debug)]
pub struct OsrEntry {
    pub entry: *const u8,
    pub frame_cells: usize,
    pub level: u8,
}

/// What a compile produced, for the profile.
#[derive(Clone, Copy, Debug)]
pub struct CompileInfo {
    pub code_size: usize,
    pub osr_entries: usize,
}

/// A tier that compiles single functions for tiered execution.
pub trait CompilerTier: Send + Sync {
    /// `strata_vm::tiering::LEVEL_*`.
    fn level(&self) -> u8;
    fn name(&self) -> &'static str;
    /// Compiles defined function `def_index` with an OSR entry per loop and installs it:
    /// the next call of the function runs it, and the interpreter can enter it at loops.
    fn compile(
        &self,
        module: &Module,
        def_index: u32,
        bounds: BoundsChecks,
    ) -> Result<CompileInfo, String>;
    /// Compiles every defined function of `module` (once per module) and publishes each
    /// entry in its code slot, before any of the module's code runs.
    fn compile_module(&self, module: &Module, bounds: BoundsChecks) -> Result<(), Trap>;
    /// `compile`, with code that counts calls and loop iterations and calls the tier
    /// manager at their check points when `counting` (the policy can move the function
    /// higher). Tiers that do not count compile as `compile` does.
    fn compile_counting(
        &self,
        module: &Module,
        def_index: u32,
        bounds: BoundsChecks,
        _counting: bool,
    ) -> Result<CompileInfo, String> {
        self.compile(module, def_index, bounds)
    }
    /// `compile_counting` for several functions at once (the compile queue batches waiting
    /// jobs of one module: `batch_bytes`), one result per function in `defs`' order. A tier
    /// that shares one mapping between them overrides this; the default compiles each alone.
    fn compile_batch(
        &self,
        module: &Module,
        defs: &[u32],
        bounds: BoundsChecks,
        counting: bool,
    ) -> Vec<Result<CompileInfo, String>> {
        defs.iter()
            .map(|&d| self.compile_counting(module, d, bounds, counting))
            .collect()
    }
    /// How many bytes of wasm function bodies one `compile_batch` may take (0: the tier
    /// compiles one function per job). It bounds the delay a batch adds to its first
    /// function's installation.
    fn batch_bytes(&self) -> usize {
        0
    }
    /// Whether this tier builds its OSR entries one loop at a time, on demand
    /// (`compile_osr_entry`), rather than with the function.
    fn osr_entries_on_demand(&self) -> bool {
        false
    }
    /// Compiles and installs the OSR entry of defined function `def_index` at the loop with
    /// ordinal `loop_index` (tiers that build them on demand).
    fn compile_osr_entry(
        &self,
        _module: &Module,
        _def_index: u32,
        _loop_index: u32,
        _bounds: BoundsChecks,
    ) -> Result<CompileInfo, String> {
        Err(format!(
            "the {} tier builds its OSR entries with the function",
            self.name()
        ))
    }
}

/// The best compiling tier this build has (what `Tier::Baseline`-style engines and mixed tiers
/// compile with, until each level is chosen by name).
pub fn top_compiler() -> Option<&'static dyn CompilerTier> {
    [LEVEL_OPT, LEVEL_BASELINE].into_iter().find_map(compiler)
}

/// Every function of `module` compiled by the tier at `level` before it runs.
pub fn prepare_compiled(module: &Module, level: u8, bounds: BoundsChecks) -> Result<(), Trap> {
    let tier = compiler(level).ok_or_else(|| Trap::host(format!("no tier at level {level}")))?;
    tier.compile_module(module, bounds)
}

/// Mixed tiers: every function compiled, then the ones `compiled(func_index)` rejects sent
/// back to the interpreter (their slots get the interp-entry stub). Decided once per module:
/// the first decision stays.
pub fn prepare_mixed(
    module: &Module,
    bounds: BoundsChecks,
    compiled: &dyn Fn(u32) -> bool,
) -> Result<(), Trap> {
    let tier = top_compiler().ok_or_else(|| Trap::host("no compiling tier in this build"))?;
    tier.compile_module(module, bounds)?;
    module.tier_state[tier_slot::MIXED].get_or_init(|| {
        let stub = crate::jit::trampoline::interp_stub() as *const u8;
        for d in 0..module.num_defined_funcs() as u32 {
            if !compiled(module.num_imported_funcs + d) {
                // Optimized callers reach it through its thunk, like the stub's other callers.
                crate::jit::reg_args::set_code_slot(module, d, stub);
            }
        }
        Arc::new(())
    });
    Ok(())
}

/// Tiered execution: every function starts in the interpreter (empty code slots get the
/// interp-entry stub, so compiled code reaches interpreted functions through it).
pub fn prepare_tiered(module: &Module) {
    crate::jit::fill_slots_with_interp_stub(module);
}

/// Calls a function from the host: compiled code when its code slot holds some, else the
/// interpreter (which itself enters compiled code installed since). Arguments and results are
/// raw cells.
pub fn invoke(
    store: &mut StoreInner,
    func: FuncAddr,
    args: &[u64],
    results: &mut [u64],
) -> Result<(), Trap> {
    let FuncKind::Wasm {
        instance,
        func_index,
    } = store.funcs[func as usize].kind
    else {
        return crate::interp::invoke(store, func, args, results);
    };
    let module = store.instances[instance as usize].module.clone();
    let Some(entry) = crate::jit::installed_entry(&module, func_index) else {
        return crate::interp::invoke(store, func, args, results);
    };
    let level = code_level(&module, func_index - module.num_imported_funcs);
    let mut stack = store.take_stack();
    if stack.len() < args.len().max(results.len()) {
        store.return_stack(stack);
        return Err(strata_vm::TrapCode::StackOverflow.into());
    }
    stack[..args.len()].copy_from_slice(args);
    let range = stack.as_mut_ptr_range();
    let result = crate::jit::run(store, instance, entry, range.start, range.end, level);
    if result.is_ok() {
        results.copy_from_slice(&stack[..results.len()]);
    }
    store.return_stack(stack);
    result
}

/// Calls and loop iterations counted so far for defined function `def_index` (the
/// interpreter counts them), if it has run.
pub fn counts(module: &Module, def_index: u32) -> Option<(u64, u64)> {
    let interp = crate::interp::InterpModule::existing(module)?;
    let c = interp.counters(def_index)?;
    Some((c.calls(), c.backedges()))
}

/// The compiling tier at `level`, if this build has one: the registry of compiling tiers.
pub fn compiler(level: u8) -> Option<&'static dyn CompilerTier> {
    static BASELINE: crate::baseline::BaselineTier = crate::baseline::BaselineTier;
    static OPT: crate::opt::OptTier = crate::opt::OptTier;
    match level {
        LEVEL_BASELINE => Some(&BASELINE),
        LEVEL_OPT => Some(&OPT),
        _ => None,
    }
}

impl Installed {
    pub fn new(
        level: u8,
        entry: *const u8,
        osr: Box<[Option<*const u8>]>,
        frame_cells: usize,
        code_size: usize,
        owner: Arc<dyn Any + Send + Sync>,
    ) -> Installed {
        Installed {
            level,
            entry,
            osr,
            frame_cells,
            code_size,
            reg_entry: None,
            _owner: owner,
        }
    }

    /// This code with a register entry (optimized code, docs/abi.md §3).
    pub fn with_reg_entry(mut self, reg_entry: *const u8) -> Installed {
        self.reg_entry = Some(reg_entry);
        self
    }
}

/// The level of the compiled code in a function's code slot, for the profiler: the level the
/// registry installed, or the baseline's for code a whole-module compile put there.
pub fn code_level(module: &Module, def_index: u32) -> u8 {
    match ready_level(module, def_index) {
        strata_vm::tiering::LEVEL_INTERP => LEVEL_BASELINE,
        level => level,
    }
}

struct Registry {
    funcs: Box<[[OnceLock<Installed>; JIT_LEVELS]]>,
    /// OSR entries compiled on their own, one per loop (`CompilerTier::compile_osr_entry`),
    /// per function; looked up only at check points, so a lock is cheap enough.
    loop_entries: Box<[Mutex<Vec<LoopEntry>>]>,
}

/// An OSR entry compiled on its own for one loop.
struct LoopEntry {
    loop_index: u32,
    entry: OsrEntry,
    /// Keeps the code mapped.
    _owner: Arc<dyn Any + Send + Sync>,
}

// SAFETY: `entry` points into immutable executable code kept alive by `_owner`.
unsafe impl Send for LoopEntry {}

fn registry(module: &Module) -> Option<&Registry> {
    let any = module.tier_state[REGISTRY_SLOT].get_or_init(|| {
        Arc::new(Registry {
            funcs: (0..module.num_defined_funcs())
                .map(|_| Default::default())
                .collect(),
            loop_entries: (0..module.num_defined_funcs())
                .map(|_| Default::default())
                .collect(),
        })
    });
    any.downcast_ref::<Registry>()
}

/// Installs compiled code: recorded for OSR, then published in the function's code slot
/// (release store after the code is final) unless a higher level is already there.
pub fn install(module: &Module, def_index: u32, code: Installed) -> Result<(), String> {
    let reg = registry(module).ok_or("tier state slot 3 belongs to the code registry")?;
    let levels = reg
        .funcs
        .get(def_index as usize)
        .ok_or("no such function")?;
    let level = code.level;
    let i = level_index(level).ok_or("the interpreter has no installed code")?;
    let (entry, reg_entry) = (code.entry, code.reg_entry);
    if reg_entry.is_some() {
        // Its calls go through the register-entry slots: they must hold something first.
        crate::jit::reg_args::prepare(module)?;
    }
    if levels[i].set(code).is_err() {
        // Two threads compiled the function at once (synchronous policies do not queue):
        // the first installed code stays; this copy is dropped unused.
        return Ok(());
    }
    if levels[i + 1..].iter().all(|l| l.get().is_none()) {
        match reg_entry {
            Some(r) => crate::jit::reg_args::set_opt_slots(module, def_index, entry, r),
            None => crate::jit::reg_args::set_code_slot(module, def_index, entry),
        }
        crate::interp::forget_call_target(module, def_index);
    }
    Ok(())
}

fn level_index(level: u8) -> Option<usize> {
    match level {
        LEVEL_BASELINE => Some(0),
        LEVEL_OPT => Some(1),
        _ => None,
    }
}

fn installed(module: &Module, def_index: u32) -> Option<&[OnceLock<Installed>; JIT_LEVELS]> {
    existing_registry(module)?.funcs.get(def_index as usize)
}

/// The registry if some code was installed (read-only callers must not create it for
/// modules that never tier).
fn existing_registry(module: &Module) -> Option<&Registry> {
    module.tier_state[REGISTRY_SLOT]
        .get()?
        .downcast_ref::<Registry>()
}

/// Records an OSR entry compiled on its own for the loop with ordinal `loop_index` of the
/// function (the first one installed stays).
pub fn install_osr_entry(
    module: &Module,
    def_index: u32,
    loop_index: u32,
    entry: OsrEntry,
    owner: Arc<dyn Any + Send + Sync>,
) -> Result<(), String> {
    let reg = registry(module).ok_or("tier state slot 3 belongs to the code registry")?;
    let mut entries = lock(
        reg.loop_entries
            .get(def_index as usize)
            .ok_or("no such function")?,
    );
    if !entries
        .iter()
        .any(|e| e.loop_index == loop_index && e.entry.level == entry.level)
    {
        entries.push(LoopEntry {
            loop_index,
            entry,
            _owner: owner,
        });
    }
    Ok(())
}

/// The OSR entry into the loop with ordinal `loop_index` of the function at exactly `level`.
pub fn osr_entry_at(
    module: &Module,
    def_index: u32,
    loop_index: u32,
    level: u8,
) -> Option<OsrEntry> {
    let reg = existing_registry(module)?;
    let own = lock(reg.loop_entries.get(def_index as usize)?)
        .iter()
        .find(|e| e.loop_index == loop_index && e.entry.level == level)
        .map(|e| e.entry);
    own.or_else(|| {
        let code = installed_at(module, def_index, level)?;
        let entry = (*code.osr.get(loop_index as usize)?)?;
        Some(OsrEntry {
            entry,
            frame_cells: code.frame_cells,
            level,
        })
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The highest level with code installed for the function (the interpreter's, 0, if none).
pub fn ready_level(module: &Module, def_index: u32) -> u8 {
    installed(module, def_index)
        .and_then(|levels| levels.iter().rev().find_map(|l| l.get().map(|c| c.level)))
        .unwrap_or(strata_vm::tiering::LEVEL_INTERP)
}

/// The code installed for the function at `level`.
pub fn installed_at(module: &Module, def_index: u32, level: u8) -> Option<&Installed> {
    installed(module, def_index)?[level_index(level)?].get()
}

/// The best OSR entry into the loop with ordinal `loop_index` of the function: the highest
/// level that has one, whether built with the function or on its own.
pub fn osr_entry(module: &Module, def_index: u32, loop_index: u32) -> Option<OsrEntry> {
    [LEVEL_OPT, LEVEL_BASELINE]
        .into_iter()
        .find_map(|level| osr_entry_at(module, def_index, loop_index, level))
}
