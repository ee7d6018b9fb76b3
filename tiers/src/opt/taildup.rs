//! Tail duplication of indirect dispatch: which jumps the emitter replaces by a copy of
//! the code they jump to.
//!
//! A `br_table` in a loop (an interpreter's `switch`) is one indirect jump that every
//! iteration runs through, so the branch predictor sees one site whose target changes on
//! nearly every execution. A block that jumps to that dispatch instead gets its own copy
//! of it, ending in its own indirect jump, so the predictor keys the target on which
//! case ran before: threaded code, made by the compiler. GCC's `duplicate_computed_gotos`
//! and LLVM's tail duplicator (`tail-dup-indirect-size`, 20 instructions) do the same.
//!
//! The copy is made after register allocation: a jump's moves come before it (regalloc2
//! puts an edge's moves at the end of a block with one successor) and the copied code runs
//! with the very registers the original would, so nothing is re-allocated or renamed.
//! Each copy registers its own trap sites and its own jump table.

use super::lower::{VCode, VKind};
use super::regalloc::RaFunc;
use regalloc2::{Block, InstOrEdit, Output};
use strata_ir::{EntityRef, Function, Opcode};

/// The largest dispatch copied (instructions and moves, the whole chain): LLVM's limit for
/// blocks ending in an indirect branch.
const MAX_COPY: usize = 20;

/// The most instructions and moves copied into one function, so a `br_table` with
/// thousands of predecessors does not multiply the function's size.
const BUDGET: usize = 4096;

/// For each block (regalloc2 index), the block its final jump is replaced by a copy of.
/// `forward` is the emitter's forwarding of empty blocks, `landing` its landing blocks;
/// `next[b]` is the block emitted after `b` (a jump there costs nothing, so it stays).
pub(super) fn plan(
    func: &Function,
    vc: &VCode,
    out: &Output,
    ra: &RaFunc,
    forward: &[u32],
    landing: &[bool],
    next: &[usize],
) -> Vec<Option<u32>> {
    let n = vc.blocks.len();
    // Each block's size, whether it may be copied at all, its terminator and jump target.
    let mut size = vec![0usize; n];
    let mut copyable = vec![false; n];
    let mut ends = vec![None; n];
    for b in 0..n {
        let mut calls = false;
        for item in out.block_insts_and_edits(ra, Block::new(b)) {
            size[b] += 1;
            if let InstOrEdit::Inst(i) = item {
                match vc.insts[i.index()].kind {
                    VKind::Ir(inst) => {
                        let op = func.inst(inst).opcode;
                        calls |= op.is_call() || op.is_invoke();
                        if op.is_terminator() {
                            let target = match op {
                                Opcode::Jump => Some(
                                    forward[vc.block_index[func.targets(inst)[0].block.index()]
                                        as usize],
                                ),
                                _ => None,
                            };
                            ends[b] = Some((op, target));
                        }
                    }
                    // The entry block's parameters (the entry is never copied, below).
                    VKind::Params => {}
                }
            }
        }
        // The entry block and landing blocks are entered from outside the code's jumps;
        // a call records a return address, which stays unique.
        copyable[b] = b != 0 && !landing[b] && !calls;
    }
    let dispatch = |t: usize| copyable[t] && matches!(ends[t], Some((Opcode::BrTable, _)));
    // The size of the chain a jump to `t` copies: a dispatch, or a jump-only tail (a loop
    // latch) into one.
    let chain = |t: usize| -> Option<(usize, Option<u32>)> {
        if !copyable[t] {
            return None;
        }
        let (cost, inner) = match ends[t]? {
            (Opcode::BrTable, _) => (size[t], None),
            (Opcode::Jump, Some(u)) if u as usize != t && dispatch(u as usize) => {
                (size[t] + size[u as usize], Some(u))
            }
            _ => return None,
        };
        (cost <= MAX_COPY).then_some((cost, inner))
    };
    let mut dup = vec![None; n];
    let mut budget = BUDGET;
    for b in 0..n {
        let Some((Opcode::Jump, Some(t))) = ends[b] else {
            continue;
        };
        let t = t as usize;
        if t == b || t == next[b] {
            continue;
        }
        let Some((cost, inner)) = chain(t) else {
            continue;
        };
        if cost > budget {
            break;
        }
        budget -= cost;
        dup[b] = Some(t as u32);
        // The copy of a tail copies its dispatch in turn.
        if let Some(u) = inner {
            dup[t] = Some(u);
        }
    }
    dup
}
