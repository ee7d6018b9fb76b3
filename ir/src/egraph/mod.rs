//! The e-graph mid-end, shaped like Cranelift's aegraph.
//!
//! Side-effecting instructions (memory, calls, traps, control, and the trapping arithmetic)
//! stay where they are, in a *skeleton* in block order. Pure instructions leave their blocks
//! and live in one e-graph per function (egg), where the rules of `ir/rules/` rewrite them and
//! the [`facts`] analysis folds constants and tracks known bits. Then each class gets one node
//! ([`extract`]: the cheapest under an x86-64 cost model, or a random legal one in chaos
//! mode), and [`elaborate`] puts the chosen nodes back in front of the skeleton instructions
//! that use them, walking the dominator tree: a value computed in a dominating block is reused
//! (scoped GVN), a loop-invariant value goes to the loop's preheader (LICM), and constants are
//! rematerialized in each block that uses them. Memory accesses take constant address
//! arithmetic into their offset there (the `address` rules).
//!
//! Budgets (iterations, nodes and rule matches as multiples of the function's size) are in
//! [`Budget`]; egg's stop reason is recorded per function in [`EgraphStats`]. Every limit
//! counts work, never time, so the mid-end's output depends only on its input (a clock
//! limit made the code depend on the machine's load: bad for differential fuzzing and for
//! reproducing a bug).

pub mod extract;
pub mod facts;
pub mod lang;
pub mod rules;
pub mod saturate;

mod elaborate;

use crate::function::Function;
use std::fmt;
use std::time::Instant;

pub use elaborate::run_egraph;

/// How hard the e-graph may work on one function: all the limits are here.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    /// Rewrite iterations (egg's default is 30: far too many for a JIT).
    pub iterations: usize,
    /// Node limit as a multiple of the function's pure instructions...
    pub node_factor: usize,
    /// ...but never below this many nodes.
    pub min_nodes: usize,
    /// Rule matches (substitutions found by the searches, over all iterations) as a
    /// multiple of the node limit: bounds the applying work the node limit does not (a
    /// match that merges two classes adds no node).
    pub match_factor: usize,
}

impl Budget {
    /// What the optimizing tier uses: measured on benches/programs (see the closing note of
    /// issue 13 and `ir/benches/midend.rs`): most functions saturate in 2-3 iterations.
    pub const DEFAULT: Budget = Budget {
        iterations: 4,
        node_factor: 3,
        min_nodes: 512,
        match_factor: 4,
    };
}

impl Default for Budget {
    fn default() -> Self {
        Budget::DEFAULT
    }
}

/// Switches for experiments.
#[derive(Clone, Debug, PartialEq)]
pub struct MidendConfig {
    /// Run the e-graph at all (off: translation and cleanup only).
    pub egraph: bool,
    /// Rule families switched off (`arith`, `bits`, `shifts`, `compare`, `convert`,
    /// `address`).
    pub disabled_families: Vec<String>,
    /// Chaos extraction: a random legal node per class instead of the cheapest, from this
    /// seed (Cranelift's control-plane idea: fuzzing sees what the cost model hides).
    pub chaos: Option<u64>,
    /// Loop-invariant code motion of pure values to preheaders.
    pub licm: bool,
    /// Redundant bounds-check elimination (explicit-bounds mode).
    pub bounds_checks: bool,
    pub budget: Budget,
}

impl Default for MidendConfig {
    fn default() -> Self {
        MidendConfig {
            egraph: true,
            disabled_families: Vec::new(),
            chaos: None,
            licm: true,
            bounds_checks: true,
            budget: Budget::DEFAULT,
        }
    }
}

impl MidendConfig {
    /// The configuration without the e-graph.
    pub fn off() -> Self {
        MidendConfig {
            egraph: false,
            ..Default::default()
        }
    }

    pub fn chaos(seed: u64) -> Self {
        MidendConfig {
            chaos: Some(seed),
            ..Default::default()
        }
    }

    pub fn family_enabled(&self, family: &str) -> bool {
        !self.disabled_families.iter().any(|f| f == family)
    }

    /// Parses a comma-separated switch list: `off`, `chaos=SEED`, `no-FAMILY`, `no-licm`,
    /// `no-bounds` (what `strata` and `STRATA_EGRAPH` accept).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut cfg = MidendConfig::default();
        for part in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if part == "off" {
                cfg.egraph = false;
            } else if part == "on" {
                cfg.egraph = true;
            } else if let Some(seed) = part.strip_prefix("chaos=") {
                cfg.chaos = Some(seed.parse().map_err(|_| format!("bad chaos seed {seed}"))?);
            } else if part == "chaos" {
                cfg.chaos = Some(1);
            } else if part == "no-licm" {
                cfg.licm = false;
            } else if part == "no-bounds" {
                cfg.bounds_checks = false;
            } else if let Some(fam) = part.strip_prefix("no-") {
                if !rules::FAMILIES.iter().any(|(f, _)| *f == fam) {
                    return Err(format!("unknown rule family {fam}"));
                }
                cfg.disabled_families.push(fam.to_string());
            } else if let Some(n) = part.strip_prefix("iters=") {
                cfg.budget.iterations = n.parse().map_err(|_| format!("bad iterations {n}"))?;
            } else {
                return Err(format!(
                    "unknown mid-end switch `{part}` (off, chaos=SEED, no-FAMILY, no-licm, \
                     no-bounds, iters=N)"
                ));
            }
        }
        Ok(cfg)
    }
}

/// What the mid-end did to one function.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EgraphStats {
    /// Pure instructions that went into the e-graph.
    pub pure_insts: usize,
    pub nodes: usize,
    pub classes: usize,
    pub iterations: usize,
    /// egg's stop reason (`saturated`, `iterations`, `nodes`, `matches`), empty when off.
    pub stop_reason: String,
    /// Rules that fired, by name, with how many times.
    pub rules_fired: Vec<(String, usize)>,
    /// Pure instructions placed back.
    pub elaborated: usize,
    /// Uses served by a value computed in a dominating block (scoped GVN).
    pub gvn_hits: usize,
    /// Values placed in a loop preheader.
    pub hoisted: usize,
    /// Constant offsets folded into memory accesses.
    pub address_folds: usize,
    /// Bounds checks found redundant.
    pub bounds_checks_removed: usize,
    pub nanos_build: u64,
    pub nanos_run: u64,
    /// egg's own split of `nanos_run`: searching, applying, rebuilding.
    pub nanos_search: u64,
    pub nanos_apply: u64,
    pub nanos_rebuild: u64,
    pub nanos_extract: u64,
    pub nanos_elaborate: u64,
}

impl EgraphStats {
    pub fn rules_fired_total(&self) -> usize {
        self.rules_fired.iter().map(|(_, n)| n).sum()
    }
}

impl fmt::Display for EgraphStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.stop_reason.is_empty() {
            write!(f, "e-graph off")?;
        } else {
            write!(
                f,
                "e-graph: {} pure insts, {} nodes, {} classes, {} iterations, stop: {}; \
                 {} placed ({} reused, {} hoisted), {} address folds",
                self.pure_insts,
                self.nodes,
                self.classes,
                self.iterations,
                self.stop_reason,
                self.elaborated,
                self.gvn_hits,
                self.hoisted,
                self.address_folds
            )?;
        }
        write!(f, "; {} bounds checks removed", self.bounds_checks_removed)?;
        if !self.rules_fired.is_empty() {
            write!(f, "\nrules fired:")?;
            for (r, n) in &self.rules_fired {
                write!(f, " {r}={n}")?;
            }
        }
        Ok(())
    }
}

/// The whole mid-end on one function: loop preheaders, the e-graph (unless off), dead code,
/// redundant bounds checks. The function must have gone through the cleanup passes.
pub fn optimize(func: &mut Function, cfg: &MidendConfig) -> EgraphStats {
    let mut stats = EgraphStats::default();
    crate::passes::remove_unreachable_blocks(func);
    if cfg.egraph {
        let nest = if !loop_analysis_affordable(func) {
            crate::analysis::LoopNest::none(func.blocks.len())
        } else {
            let mut nest = crate::analysis::LoopNest::new(func);
            if crate::loops::insert_loop_preheaders_in(func, &mut nest) > 0 {
                // Parameters only: the control flow, and so the nest, stay as they are.
                crate::passes::remove_redundant_params(func);
            }
            nest
        };
        let dt = run_egraph(func, cfg, nest, &mut stats);
        crate::passes::dce(func);
        if cfg.bounds_checks {
            stats.bounds_checks_removed = crate::bounds::remove_redundant_checks_with(func, &dt);
        }
        return stats;
    }
    crate::passes::dce(func);
    if cfg.bounds_checks {
        stats.bounds_checks_removed = crate::bounds::remove_redundant_checks(func);
    }
    stats
}

/// Loops times blocks above which the loop analysis (and so LICM) is skipped: the loop nest
/// lists each loop's blocks, which is quadratic in a deep nest (6,000 nested loops in 60 KB
/// of wasm took 1.7 s). Real functions stay far below (the largest of benches/programs: a
/// few hundred thousand).
pub const MAX_LOOP_WORK: usize = 4_000_000;

/// Whether the function may have loops and the loop analysis stays within
/// [`MAX_LOOP_WORK`]. Every loop has a branch to a block at or before its own place in the
/// layout (the translator lays blocks out in wasm order), so counting those bounds the loops.
fn loop_analysis_affordable(func: &Function) -> bool {
    let mut pos = vec![usize::MAX; func.blocks.len()];
    for (i, &b) in func.layout.iter().enumerate() {
        pos[crate::entity::EntityRef::index(b)] = i;
    }
    let back_edges = func
        .layout
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            func.successors(b)
                .filter(|&s| pos[crate::entity::EntityRef::index(s)] <= i)
                .count()
        })
        .sum::<usize>();
    back_edges > 0 && back_edges.saturating_mul(func.layout.len()) <= MAX_LOOP_WORK
}

pub(crate) fn elapsed_ns(t: Instant) -> u64 {
    t.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64
}
