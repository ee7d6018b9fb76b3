//! The interface between the tiers and the tier manager (design.md §6-§8), written here so
//! that neither names the other: the interpreter reports its counters' check points through
//! `TierHooks`, and every execution tier says which tier the store's thread is running in
//! through `TierNow` (the profiler samples it for time per tier).

use crate::module::Module;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// The tiers in the order code moves up: the one tier-level type. Where a level is stored
/// in an atomic or passed through JIT-facing code it is `as_u8()` (the `LEVEL_*` values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum TierLevel {
    Interp = 0,
    Baseline = 1,
    Opt = 2,
}

impl TierLevel {
    pub const ALL: [TierLevel; 3] = [TierLevel::Interp, TierLevel::Baseline, TierLevel::Opt];

    pub fn name(self) -> &'static str {
        match self {
            TierLevel::Interp => "interp",
            TierLevel::Baseline => "baseline",
            TierLevel::Opt => "opt",
        }
    }

    pub fn next(self) -> Option<TierLevel> {
        match self {
            TierLevel::Interp => Some(TierLevel::Baseline),
            TierLevel::Baseline => Some(TierLevel::Opt),
            TierLevel::Opt => None,
        }
    }

    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The tier of a stored level (`None` for the host and idle markers).
    pub fn from_u8(level: u8) -> Option<TierLevel> {
        TierLevel::ALL.into_iter().find(|t| t.as_u8() == level)
    }
}

impl std::fmt::Display for TierLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Levels as stored (`TierLevel::as_u8`), for atomics and JIT-facing code.
pub const LEVEL_INTERP: u8 = TierLevel::Interp.as_u8();
pub const LEVEL_BASELINE: u8 = TierLevel::Baseline.as_u8();
pub const LEVEL_OPT: u8 = TierLevel::Opt.as_u8();
/// Not a tier: host functions running on behalf of wasm.
pub const LEVEL_HOST: u8 = 3;
/// Not a tier: no wasm on this store's stack.
pub const LEVEL_IDLE: u8 = u8::MAX;

/// A function's counters at a check point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub calls: u64,
    pub backedges: u64,
}

/// What the tier manager answers at a back-edge check point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackedgeVerdict {
    /// The back-edge count at which to ask again.
    pub next_check: u64,
    /// Leave the interpreter for the best installed code at this loop now, if it has an
    /// entry for the loop.
    pub osr: bool,
}

/// The tier manager, as the tiers see it. Every tier that counts (the interpreter, and the
/// baseline's code when the policy can take it higher) calls it at its check points and says
/// which tier it is running in (`level`, a `LEVEL_*`), so the manager never guesses where a
/// function runs. Called on the executing thread, only when a function's counter reaches
/// the check point the previous answer set, so calls are rare; implementations must not
/// block unless their policy compiles synchronously.
pub trait TierHooks: Send + Sync {
    /// Defined function `def_index` of `module`, running at `level`, is being called and its
    /// call counter reached its check point. Returns the call count at which to ask again.
    /// Code it installs before returning runs for this very call (from the interpreter) or
    /// from the next call (from compiled code).
    fn on_call(&self, module: &Arc<Module>, def_index: u32, level: u8, counts: Counts) -> u64;
    /// A back-edge to the loop with ordinal `loop_index` (the loop's position among the
    /// body's `loop` operators, from 0), running at `level`, reached its check point. When
    /// the verdict says OSR, an entry above `level` is installed for the loop
    /// (`strata_tiers::tier::osr_entry`).
    fn on_backedge(
        &self,
        module: &Arc<Module>,
        def_index: u32,
        loop_index: u32,
        level: u8,
        counts: Counts,
    ) -> BackedgeVerdict;
    /// A frame at level `from` entered code at level `to` at `loop_index` by OSR (for the
    /// profile).
    fn on_osr(&self, module: &Arc<Module>, def_index: u32, loop_index: u32, from: u8, to: u8);
}

/// The tier the store's thread is executing in (a `LEVEL_*`), shared with a profiler's
/// sampling thread. Each switch is one relaxed store.
#[derive(Clone, Debug)]
pub struct TierNow(Arc<AtomicU8>);

impl Default for TierNow {
    fn default() -> Self {
        TierNow(Arc::new(AtomicU8::new(LEVEL_IDLE)))
    }
}

impl TierNow {
    #[inline(always)]
    pub fn get(&self) -> u8 {
        self.0.load(Ordering::Relaxed)
    }
    /// Switches to `level`; returns the previous level, to restore when the switch ends.
    #[inline(always)]
    pub fn enter(&self, level: u8) -> u8 {
        let prev = self.0.load(Ordering::Relaxed);
        self.0.store(level, Ordering::Relaxed);
        prev
    }
    #[inline(always)]
    pub fn restore(&self, level: u8) {
        self.0.store(level, Ordering::Relaxed);
    }
    /// The shared cell, for a sampler.
    pub fn cell(&self) -> Arc<AtomicU8> {
        self.0.clone()
    }
}
