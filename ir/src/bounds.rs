//! Redundant bounds checks (explicit-bounds mode): an access whose check is covered by a
//! check that dominates it needs none.
//!
//! A memory only grows, so once an access of `[base + o, base + o + w)` passed its check,
//! every later access of the same memory with the same base value whose range ends at or
//! below `base + o + w` is in bounds too, whatever happens in between (calls, `memory.grow`).
//! Walking the dominator tree, each base value remembers the furthest end checked on the
//! path from the entry. A check is only a *source* when it really traps: an access whose
//! flag was already cleared proves nothing.
//!
//! The same holds for a 64-bit memory (memory64), whose check is `base + o + w <= len`
//! computed without wrapping: only the static part `o + w` is added here, saturating, and
//! an access whose `o + w` passes 2^64 always traps, so whatever it dominates is never
//! reached past it.

use crate::analysis::{ControlFlowGraph, DominatorTree};
use crate::function::{Function, Imm};
use crate::opcode::Format;
use crate::{Block, Value};
use std::collections::HashMap;

/// Clears `checked` on covered accesses; returns how many.
pub fn remove_redundant_checks(func: &mut Function) -> usize {
    let cfg = ControlFlowGraph::new(func);
    let dt = DominatorTree::new(&cfg);
    remove_redundant_checks_with(func, &dt)
}

/// The same with the function's dominator tree (all entries as roots) already built.
pub fn remove_redundant_checks_with(func: &mut Function, dt: &DominatorTree) -> usize {
    let mut removed = 0;
    // (memory, base) -> stack of (end, scope depth) along the current dominator path.
    let mut covered: HashMap<(u32, Value), Vec<(u64, usize)>> = HashMap::new();
    let mut undo: Vec<Vec<(u32, Value)>> = Vec::new();
    // Iterative preorder with explicit exits.
    enum Step {
        Enter(Block),
        Exit,
    }
    let mut work: Vec<Step> = dt.roots().iter().copied().map(Step::Enter).collect();
    work.reverse();
    while let Some(step) = work.pop() {
        match step {
            Step::Exit => {
                for key in undo.pop().unwrap_or_default() {
                    if let Some(v) = covered.get_mut(&key) {
                        v.pop();
                    }
                }
            }
            Step::Enter(b) => {
                if !dt.is_reachable(b) {
                    continue;
                }
                let depth = undo.len();
                let mut pushed = Vec::new();
                for i in 0..func.block_insts(b).len() {
                    let inst = func.block_insts(b)[i];
                    if func.inst(inst).opcode.format() != Format::Memory {
                        continue;
                    }
                    let Imm::Mem(mut mem) = func.inst(inst).imm else {
                        continue;
                    };
                    let Some(width) = func.inst(inst).opcode.access_bytes() else {
                        continue;
                    };
                    let Some(&base) = func.args(inst).first() else {
                        continue;
                    };
                    let base = func.resolve(base);
                    let end = mem.offset.saturating_add(u64::from(width));
                    let key = (mem.memory, base);
                    let best = covered.get(&key).and_then(|v| v.last()).map(|e| e.0);
                    if !mem.checked {
                        continue;
                    }
                    if best.is_some_and(|e| e >= end) {
                        mem.checked = false;
                        func.insts[inst].imm = Imm::Mem(mem);
                        removed += 1;
                    } else {
                        covered
                            .entry(key)
                            .or_default()
                            .push((end.max(best.unwrap_or(0)), depth));
                        pushed.push(key);
                    }
                }
                undo.push(pushed);
                work.push(Step::Exit);
                for &c in dt.children(b).iter().rev() {
                    work.push(Step::Enter(c));
                }
            }
        }
    }
    removed
}
