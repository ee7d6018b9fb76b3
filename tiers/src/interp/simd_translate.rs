//! Translation of SIMD operators and of v128 values through the abstract stack.
//!
//! A v128 takes two stack entries (cells, low half first) and `Translator::hi` records the
//! positions of high halves, so `drop` and `select` know what they move and block/call
//! results are marked from their types. Pending `Local` and `Const` entries stay possible
//! for both halves; an instruction that reads a v128 gets it in two consecutive cells
//! (`pop_v128`).

use super::{Entry, Res, Translator};
use crate::interp::code::{Op, Reg};
use crate::interp::simd::{Imm, Shape, SimdCode};
use strata_vm::frontend::BlockSig;
use strata_vm::ValType;
use wasmparser::BlockType;

/// The cell of each local (parameters, then `declared` runs of `(count, is_v128)`) and,
/// last, the number of cells.
pub(super) fn local_cells(params: &[ValType], declared: &[(u32, bool)]) -> Vec<u32> {
    let mut cells = Vec::new();
    let mut next = 0u32;
    for p in params {
        cells.push(next);
        next += p.cells();
    }
    for &(count, wide) in declared {
        let w = if wide { strata_vm::abi::V128_CELLS } else { 1 };
        for _ in 0..count {
            cells.push(next);
            next += w;
        }
    }
    cells.push(next);
    cells
}

impl Translator<'_> {
    /// Whether the top entry is the high half of a v128.
    pub(super) fn top_is_wide(&self) -> bool {
        self.hi
            .last()
            .is_some_and(|&h| h as usize + 1 == self.stack.len())
    }

    /// Marks the values of `types`, starting at stack position `from`.
    pub(super) fn mark_types(&mut self, from: u32, types: &[ValType]) {
        let mut p = from;
        for t in types {
            if *t == ValType::V128 {
                self.hi.push(p + 1);
            }
            p += t.cells();
        }
    }

    /// Marks the parameters (`params`) or results of block type `bt` pushed at `height`.
    pub(super) fn mark_block_types(&mut self, bt: BlockType, height: u32, params: bool) {
        if let Some(sig) = BlockSig::of(self.module, bt) {
            let types = if params { sig.params() } else { sig.results() };
            self.mark_types(height, types);
        }
    }

    /// Marks the results of a call to a function of type `type_index`, just pushed.
    pub(super) fn mark_func_results(&mut self, type_index: u32) {
        let module = self.module;
        let t = &module.types[type_index as usize];
        let from = self.stack.len() as u32 - t.result_cells();
        self.mark_types(from, t.results());
    }

    /// Pushes a v128 into its own two slots; returns the first.
    fn push_v128(&mut self) -> Reg {
        let dst = self.push_temp();
        self.push(Entry::Temp);
        self.hi.push(self.stack.len() as u32 - 1);
        dst
    }

    /// The first of two consecutive cells holding the top v128, which is popped.
    fn pop_v128(&mut self) -> Reg {
        let p = self.stack.len() - 2;
        let r = match (self.stack[p], self.stack[p + 1]) {
            (Entry::Temp, Entry::Temp) => self.slot(p),
            (Entry::Local(i), Entry::Local(j)) if j == i + 1 => i,
            _ => {
                self.materialize(p);
                self.materialize(p + 1);
                self.slot(p)
            }
        };
        self.pop();
        self.pop();
        r
    }

    fn emit_simd(&mut self, code: u32, dst: Reg, a: Reg, b: Reg, c: Reg, imm: u32) {
        self.emit(Op::Simd { code, dst, a });
        self.emit(Op::Ext { a: b, b: c, c: imm });
    }

    /// `select` of either scalar or v128 values.
    pub(super) fn any_select(&mut self) {
        let len = self.stack.len();
        if self.hi.last().is_none_or(|&h| h as usize + 2 != len) {
            return self.select();
        }
        let cond = self.pop_reg();
        let b = self.pop_v128();
        let a = self.pop_v128();
        let dst = self.push_v128();
        self.emit_simd(SimdCode::Select as u32, dst, a, b, cond, 0);
    }

    pub(super) fn wide_local_get(&mut self, i: u32) {
        let c = self.local_cells[i as usize];
        self.push(Entry::Local(c));
        if self.local_cells[i as usize + 1] - c == 2 {
            self.push(Entry::Local(c + 1));
            self.hi.push(self.stack.len() as u32 - 1);
        }
    }

    pub(super) fn wide_local_set(&mut self, i: u32, tee: bool) {
        let c = self.local_cells[i as usize];
        if self.local_cells[i as usize + 1] - c == 1 {
            return if tee {
                self.local_tee(c)
            } else {
                self.local_set(c)
            };
        }
        let p = self.stack.len() - 2;
        let (lo, hi) = (self.stack[p], self.stack[p + 1]);
        self.pop();
        self.pop();
        self.preserve_local(c, p);
        self.preserve_local(c + 1, p);
        self.set_local(c, lo, p);
        self.set_local(c + 1, hi, p + 1);
        if tee {
            self.push(Entry::Local(c));
            self.push(Entry::Local(c + 1));
            self.hi.push(self.stack.len() as u32 - 1);
        }
    }

    pub(super) fn wide_global_get(&mut self, index: u32) {
        let dst = self.push_v128();
        self.emit_simd(SimdCode::GlobalGet as u32, dst, 0, 0, 0, index);
    }

    pub(super) fn wide_global_set(&mut self, index: u32) {
        let a = self.pop_v128();
        self.emit_simd(SimdCode::GlobalSet as u32, 0, a, 0, 0, index);
    }

    /// Translates SIMD operator `op` with immediates `imm`.
    pub(crate) fn simd(&mut self, op: SimdCode, imm: Imm) -> Res {
        if !self.ctrl.reachable() {
            return Ok(());
        }
        let lane = imm.lane.unwrap_or(0) as u32;
        let mut code = op as u32 | lane << 16;
        let offset = match imm.memarg {
            Some(m) => {
                let wasmparser::MemArgTarget::Memory(mem) = m.target else {
                    return Err("SIMD access to a GC array".into());
                };
                if mem != 0 || self.module.memories[0].memory64 {
                    if mem > crate::interp::simd::MAX_MEMORY {
                        return Err(format!("SIMD access to memory {mem}: the interpreter encodes memory indices up to {}", crate::interp::simd::MAX_MEMORY));
                    }
                    code |= crate::interp::simd::OTHER_MEMORY
                        | mem << crate::interp::simd::MEMORY_SHIFT;
                }
                // An offset past 4 GiB (memory64 only) is out of bounds of any memory the
                // runtime reserves (`MAX_PAGES_64_RESERVED`) except a 16 GiB one.
                match u32::try_from(m.offset) {
                    Ok(offset) => offset,
                    // Past every byte the memory can ever have (its declared maximum, or what
                    // the runtime reserves), with that maximum below 4 GiB: any access traps
                    // out of bounds, and so does one at the largest 32-bit offset.
                    Err(_) if self.offset_past_memory(mem, m.offset) => u32::MAX,
                    Err(_) => return Err("SIMD memory offset beyond 32 bits".into()),
                }
            }
            None => 0,
        };
        match op.shape() {
            Shape::Unary => {
                let a = self.pop_v128();
                let dst = self.push_v128();
                self.emit_simd(code, dst, a, 0, 0, 0);
            }
            Shape::Binary => {
                let b = self.pop_v128();
                let a = self.pop_v128();
                let dst = self.push_v128();
                self.emit_simd(code, dst, a, b, 0, 0);
            }
            Shape::Ternary => {
                let c = if let Some(lanes) = imm.lanes {
                    // The shuffle's selector, as a third operand in the slots above.
                    let v = u128::from_le_bytes(lanes);
                    self.push(Entry::Const(v as u64));
                    self.push(Entry::Const((v >> 64) as u64));
                    self.hi.push(self.stack.len() as u32 - 1);
                    self.pop_v128()
                } else {
                    self.pop_v128()
                };
                let b = self.pop_v128();
                let a = self.pop_v128();
                let dst = self.push_v128();
                self.emit_simd(code, dst, a, b, c, 0);
            }
            Shape::Shift | Shape::ReplaceLane => {
                let b = self.pop_reg();
                let a = self.pop_v128();
                let dst = self.push_v128();
                self.emit_simd(code, dst, a, b, 0, 0);
            }
            Shape::ToScalar => {
                let a = self.pop_v128();
                let dst = self.push_temp();
                self.emit_simd(code, dst, a, 0, 0, 0);
            }
            Shape::Splat => {
                let a = self.pop_reg();
                let dst = self.push_v128();
                self.emit_simd(code, dst, a, 0, 0, 0);
            }
            Shape::Load => {
                let a = self.pop_reg();
                let dst = self.push_v128();
                self.emit_simd(code, dst, a, 0, 0, offset);
            }
            Shape::LoadLane => {
                let b = self.pop_v128();
                let a = self.pop_reg();
                let dst = self.push_v128();
                self.emit_simd(code, dst, a, b, 0, offset);
            }
            Shape::Store => {
                let b = self.pop_v128();
                let a = self.pop_reg();
                self.emit_simd(code, 0, a, b, 0, offset);
            }
            Shape::Const => {
                let v = imm.value.map(|v| v.i128() as u128).unwrap_or(0);
                self.push(Entry::Const(v as u64));
                self.push(Entry::Const((v >> 64) as u64));
                self.hi.push(self.stack.len() as u32 - 1);
            }
            Shape::Unsupported => {
                return Err(format!(
                    "the interpreter does not support {op:?} (relaxed SIMD)"
                ))
            }
        }
        Ok(())
    }
}

impl Translator<'_> {
    /// Whether `offset` lies past the largest byte length memory `mem` can reach, and that
    /// length is below 4 GiB (so a 32-bit offset can stand in for it).
    fn offset_past_memory(&self, mem: u32, offset: u64) -> bool {
        let Some(ty) = self.module.memories.get(mem as usize) else {
            return false;
        };
        let cap = if ty.memory64 {
            strata_vm::types::MAX_PAGES_64_RESERVED
        } else {
            strata_vm::types::MAX_PAGES_32
        };
        let pages = ty.limits.max.unwrap_or(cap).min(cap);
        let max_bytes = pages.saturating_mul(strata_vm::types::WASM_PAGE_SIZE);
        max_bytes <= u64::from(u32::MAX) && offset >= max_bytes
    }
}
