//! Cleanup passes, and the pipeline the optimizing tier runs (the e-graph mid-end joins it).
//!
//! - `remove_trivial_params`: a block parameter whose incoming arguments are all one value
//!   (or the parameter itself) is that value (Braun et al.'s trivial phis, removed after
//!   construction rather than during it).
//! - `eliminate_dead_code`: instructions whose results are unused and that have no effect,
//!   and unused block parameters (with their arguments).
//! - `remove_unreachable_blocks`: blocks no root reaches.

use crate::analysis::{use_counts, Cfg, DomTree};
use crate::function::{Block, Function, Value, ValueDef};

/// Replaces trivial block parameters by the value they always hold, to a fixpoint.
pub fn remove_trivial_params(f: &mut Function) {
    // Incoming arguments of each parameter: per block, the argument lists of its edges.
    loop {
        let mut incoming: Vec<Vec<Vec<Value>>> = vec![Vec::new(); f.blocks.len()];
        for &b in &f.layout {
            if let Some(t) = f.terminator(b) {
                for d in &f.insts[t.index()].dests {
                    incoming[d.block.index()].push(d.args.clone());
                }
            }
        }
        let mut changed = false;
        for bi in 0..f.layout.len() {
            let b = f.layout[bi];
            if Some(b) == f.entry() {
                continue;
            }
            let params = f.blocks[b.index()].params.clone();
            let mut keep = Vec::with_capacity(params.len());
            let mut removed = Vec::new();
            for (n, &p) in params.iter().enumerate() {
                let mut same: Option<Value> = None;
                let mut trivial = true;
                for args in &incoming[b.index()] {
                    let a = f.resolve(args[n]);
                    if a == p || Some(a) == same {
                        continue;
                    }
                    if same.is_some() {
                        trivial = false;
                        break;
                    }
                    same = Some(a);
                }
                match (trivial, same) {
                    (true, Some(v)) if f.resolve(v) != p => {
                        f.alias(p, v);
                        removed.push(n);
                    }
                    _ => keep.push(p),
                }
            }
            if !removed.is_empty() {
                changed = true;
                remove_params(f, b, &removed, keep);
            }
        }
        f.resolve_aliases();
        if !changed {
            break;
        }
    }
}

/// Removes parameters `removed` (indices, ascending) of `b` and the matching arguments of
/// every edge into it; `keep` are the parameters left.
fn remove_params(f: &mut Function, b: Block, removed: &[usize], keep: Vec<Value>) {
    for &pb in &f.layout.clone() {
        if let Some(t) = f.terminator(pb) {
            for d in f.insts[t.index()].dests.iter_mut().filter(|d| d.block == b) {
                for &n in removed.iter().rev() {
                    d.args.remove(n);
                }
            }
        }
    }
    for (n, &p) in keep.iter().enumerate() {
        f.values[p.index()].def = ValueDef::Param(b, n as u32);
    }
    f.blocks[b.index()].params = keep;
}

/// Removes unused pure instructions and unused block parameters, to a fixpoint.
pub fn eliminate_dead_code(f: &mut Function) {
    loop {
        let uses = use_counts(f);
        let mut changed = false;
        for &b in &f.layout.clone() {
            let insts = std::mem::take(&mut f.blocks[b.index()].insts);
            let kept: Vec<_> = insts
                .iter()
                .copied()
                .filter(|&i| {
                    let dead = f.insts[i.index()].op.is_removable_if_unused()
                        && f.results(i).iter().all(|r| uses[r.index()] == 0);
                    changed |= dead;
                    !dead
                })
                .collect();
            f.blocks[b.index()].insts = kept;
        }
        // Unused parameters of blocks other than the entry and the OSR entries' targets'
        // explicit ones are dropped with their arguments. (A parameter used only as an
        // argument to itself around a loop counts as used; `remove_trivial_params` handles
        // the common case.)
        for &b in &f.layout.clone() {
            if Some(b) == f.entry() {
                continue;
            }
            let params = f.blocks[b.index()].params.clone();
            let removed: Vec<usize> = (0..params.len())
                .filter(|&n| uses[params[n].index()] == 0)
                .collect();
            if !removed.is_empty() {
                changed = true;
                let keep = params
                    .iter()
                    .enumerate()
                    .filter(|(n, _)| !removed.contains(n))
                    .map(|(_, &p)| p)
                    .collect();
                remove_params(f, b, &removed, keep);
            }
        }
        if !changed {
            break;
        }
    }
}

/// Drops blocks no root (the entry, an OSR entry) reaches.
pub fn remove_unreachable_blocks(f: &mut Function) {
    let cfg = Cfg::new(f);
    let dom = DomTree::new(f, &cfg);
    f.layout.retain(|&b| dom.is_reachable(b));
}

/// A pass over one function.
type Pass = fn(&mut Function);

/// What the pipeline runs; the switches of experiments live here.
#[derive(Clone, Copy, Debug)]
pub struct Pipeline {
    /// Verify after every pass (on in tests and debug builds).
    pub verify: bool,
}

// Verification is on in debug builds, so the default depends on the build (clippy sees one).
#[allow(clippy::derivable_impls)]
impl Default for Pipeline {
    fn default() -> Self {
        Pipeline {
            verify: cfg!(debug_assertions),
        }
    }
}

impl Pipeline {
    /// Runs the cleanup passes, verifying after each when asked.
    pub fn run(&self, f: &mut Function) -> Result<(), String> {
        let passes: [(&str, Pass); 3] = [
            ("remove_unreachable_blocks", remove_unreachable_blocks),
            ("remove_trivial_params", remove_trivial_params),
            ("eliminate_dead_code", eliminate_dead_code),
        ];
        self.check(f, "translation")?;
        for (name, pass) in passes {
            pass(f);
            self.check(f, name)?;
        }
        f.compact();
        self.check(f, "compact")
    }

    fn check(&self, f: &Function, after: &str) -> Result<(), String> {
        if self.verify {
            crate::verify(f).map_err(|e| format!("after {after}: {e}\n{f}"))?;
        }
        Ok(())
    }
}

/// Runs a pass by name (for the filetests): `cleanup` is the whole pipeline.
pub fn run_pass(name: &str, f: &mut Function) -> Result<(), String> {
    match name {
        "remove_unreachable_blocks" => remove_unreachable_blocks(f),
        "remove_trivial_params" => remove_trivial_params(f),
        "eliminate_dead_code" => eliminate_dead_code(f),
        "cleanup" => return Pipeline { verify: true }.run(f),
        "none" => {}
        other => return Err(format!("unknown pass `{other}`")),
    }
    f.compact();
    crate::verify(f)
}
