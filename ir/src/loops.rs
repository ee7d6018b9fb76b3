//! Loop canonicalization: one preheader per loop that every entering edge goes through,
//! OSR entries included.
//!
//! The translator gives each loop header an OSR entry predecessor besides the normal entering
//! edge, so without this no block outside a loop dominates its header once the OSR entries
//! count as roots, and nothing could be hoisted. With a preheader `P(params) -> header(P's
//! params)` taking both edges, a header parameter that the back edges pass unchanged becomes
//! redundant (`remove_redundant_params` replaces it by `P`'s), and code that depends only on
//! such values can move to `P`.

use crate::analysis::LoopNest;
use crate::entity::EntityRef;
use crate::function::{Builder, Function};

/// Gives every loop a dedicated preheader. Returns how many were created.
pub fn insert_loop_preheaders(func: &mut Function) -> usize {
    let mut nest = LoopNest::new(func);
    insert_loop_preheaders_in(func, &mut nest)
}

/// The same, keeping `nest` (the function's loop nest) up to date for later passes.
pub fn insert_loop_preheaders_in(func: &mut Function, nest: &mut LoopNest) -> usize {
    let mut created = 0;
    for li in 0..nest.loops.len() {
        let l = &nest.loops[li];
        let h = l.header;
        let mut in_loop = vec![false; func.blocks.len()];
        for &b in &l.blocks {
            in_loop[b.index()] = true;
        }
        // Branches from outside the loop into the header (OSR entries included).
        let mut entering = Vec::new();
        for &b in &func.layout {
            if in_loop[b.index()] {
                continue;
            }
            if let Some(t) = func.terminator(b) {
                if func.targets(t).iter().any(|c| c.block == h) {
                    entering.push((b, t));
                }
            }
        }
        if let [(b, t)] = entering.as_slice() {
            if func.targets(*t).len() == 1 && !func.osr_entries.iter().any(|e| e.block == *b) {
                nest.loops[li].preheader = Some(*b);
                continue; // Already a preheader.
            }
        }
        if entering.is_empty() {
            continue;
        }
        let pre = func.create_block();
        // Place it just before the header in the layout (the printing order).
        func.layout.pop();
        let at = func
            .layout
            .iter()
            .position(|&b| b == h)
            .unwrap_or(func.layout.len());
        func.layout.insert(at, pre);
        let types: Vec<_> = func
            .block_params(h)
            .iter()
            .map(|&p| func.value_type(p))
            .collect();
        let params: Vec<_> = types
            .iter()
            .map(|&t| func.append_block_param(pre, t))
            .collect();
        Builder::new(func, pre).jump(h, &params);
        for (_, t) in entering {
            for c in func.targets_mut(t).iter_mut() {
                if c.block == h {
                    c.block = pre;
                }
            }
        }
        nest.set_preheader(li, pre);
        created += 1;
    }
    created
}

/// The pass-table entry.
pub fn loop_preheaders(func: &mut Function) {
    insert_loop_preheaders(func);
}
