//! The one door through which the tier manager reaches the compiling tiers (design.md §0):
//! `CompilerTier` compiles a function at a tier, with its OSR entries, and installs it; the
//! registry here keeps what each function has installed at each level, so the interpreter
//! finds OSR entries and the manager sees which tier is ready, without naming a tier.

use std::any::Any;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use strata_vm::tiering::{LEVEL_BASELINE, LEVEL_OPT};
use strata_vm::{BoundsChecks, Module};

/// The `Module::tier_state` slot of the installed-code registry.
const REGISTRY_SLOT: usize = 3;
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
}

/// The compiling tier at `level`, if this build has one.
pub fn compiler(level: u8) -> Option<&'static dyn CompilerTier> {
    static BASELINE: BaselineTier = BaselineTier;
    match level {
        LEVEL_BASELINE => Some(&BASELINE),
        _ => None,
    }
}

struct BaselineTier;

impl CompilerTier for BaselineTier {
    fn level(&self) -> u8 {
        LEVEL_BASELINE
    }
    fn name(&self) -> &'static str {
        "baseline"
    }
    fn compile(
        &self,
        module: &Module,
        def_index: u32,
        bounds: BoundsChecks,
    ) -> Result<CompileInfo, String> {
        let code = Arc::new(crate::baseline::FuncCode::compile(
            module, def_index, bounds,
        )?);
        let osr: Box<[Option<*const u8>]> =
            (0..code.num_loops()).map(|l| code.osr_entry(l)).collect();
        let info = CompileInfo {
            code_size: code.code_size(),
            osr_entries: osr.iter().flatten().count(),
        };
        install(
            module,
            def_index,
            Installed {
                level: LEVEL_BASELINE,
                entry: code.entry(),
                osr,
                frame_cells: code.frame_cells(),
                code_size: code.code_size(),
                _owner: code,
            },
        )?;
        Ok(info)
    }
}

struct Registry {
    funcs: Box<[[OnceLock<Installed>; JIT_LEVELS]]>,
}

fn registry(module: &Module) -> Option<&Registry> {
    let any = module.tier_state[REGISTRY_SLOT].get_or_init(|| {
        Arc::new(Registry {
            funcs: (0..module.num_defined_funcs())
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
    let entry = code.entry;
    if levels[i].set(code).is_err() {
        // Two threads compiled the function at once (synchronous policies do not queue):
        // the first installed code stays; this copy is dropped unused.
        return Ok(());
    }
    if levels[i + 1..].iter().all(|l| l.get().is_none()) {
        module.code_slots()[def_index as usize].store(entry as *mut u8, Ordering::Release);
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
    // Read-only callers must not create the registry for modules that never tier.
    let reg = module.tier_state[REGISTRY_SLOT]
        .get()?
        .downcast_ref::<Registry>()?;
    reg.funcs.get(def_index as usize)
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

/// The best OSR entry into the loop with ordinal `loop_index` of the function.
pub fn osr_entry(module: &Module, def_index: u32, loop_index: u32) -> Option<OsrEntry> {
    installed(module, def_index)?.iter().rev().find_map(|l| {
        let code = l.get()?;
        let entry = (*code.osr.get(loop_index as usize)?)?;
        Some(OsrEntry {
            entry,
            frame_cells: code.frame_cells,
            level: code.level,
        })
    })
}
