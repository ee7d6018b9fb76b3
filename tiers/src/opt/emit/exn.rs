//! Exceptions in the optimizing tier (docs/abi.md §10), second half: invokes, landing
//! blocks and the handler table.
//!
//! An invoke is emitted as the call or throw it is (`Gen::call`, `Gen::call_indirect`, the
//! `throw_exception`/`throw_ref` helpers), then a jump to its normal continuation. What
//! the unwinder needs to find its handlers are the pcs at which an exception can leave it:
//! the return address of each direct JIT call it makes (a callee's exception is searched
//! from there), and the out-of-line trap site each failing helper call jumps to (its
//! return address less one is the `rdx` the trap stub gets). Each pc gets one handler entry
//! per landing block, `(pc - 1, pc]`, in the invoke's target order (the search order). A
//! landing block starts with the pad prologue (the memory registers, which the trap stub
//! does not keep), then regalloc2's moves, then its `landing` instruction, which loads the
//! values the unwinder wrote to the catch cells.

use super::{Gen, PendingInvoke};
use crate::jit::helpers;
use crate::jit::unwind::{Handler, HandlerKind, NO_EXN};
use crate::opt::abi::cell_disp;
use crate::opt::lower::VCode;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};
use regalloc2::Allocation;
use strata_ir::{EntityRef, Imm, Inst, Opcode};
use strata_vm::vmctx::offsets as off;

macro_rules! asm {
    ($g:ident; $($t:tt)*) => {{
        let a = &mut $g.asm;
        dynasm!(a ; .arch x64 ; $($t)*);
    }};
}

impl Gen<'_> {
    /// An invoke: the call or throw, its exception exits recorded for the handler table,
    /// then (calls) the jump to the normal continuation.
    pub(super) fn invoke(
        &mut self,
        inst: Inst,
        al: &[Allocation],
        vc: &VCode,
        next: usize,
    ) -> Result<(), String> {
        let data = *self.func.inst(inst);
        let Imm::Invoke(imm) = data.imm else {
            return Err(format!("{} without its invoke immediate", data.opcode));
        };
        let (calls, sites) = (self.calls.len(), self.trap_sites.len());
        match data.opcode {
            Opcode::Invoke | Opcode::InvokeImport => self.call(inst, al)?,
            Opcode::InvokeIndirect => self.call_indirect(inst, al)?,
            Opcode::InvokeRef => self.call_ref(inst, al)?,
            Opcode::Throw => {
                let base = self.call_base;
                let mut cell = base;
                for (k, &a) in self.func.args(inst).iter().enumerate() {
                    let t = self.func.value_type(a);
                    self.store_cell(al[k], cell_disp(cell), t);
                    cell += t.cells();
                }
                let shift = cell_disp(base);
                asm!(self
                    ; mov esi, imm.index as i32
                    ; lea rdx, [r14 + shift]
                );
                self.call_helper(helpers::throw_exception as *const () as usize);
                let l = self.trap_exit();
                asm!(self; jmp =>l);
            }
            Opcode::ThrowRef => {
                // The reference is in rsi (the constraint); null traps, anything else is
                // thrown again as it is.
                self.call_helper(helpers::throw_ref as *const () as usize);
                let l = self.trap_exit();
                asm!(self; jmp =>l);
            }
            op => return Err(format!("{op} is not an invoke")),
        }
        let rets: Vec<u32> = self.calls[calls..].iter().map(|c| c.0).collect();
        let exits: Vec<DynamicLabel> = self.trap_sites[sites..]
            .iter()
            .filter(|s| s.1.is_none())
            .map(|s| s.0)
            .collect();
        let first = data.opcode.first_landing();
        let landings = self.func.targets(inst)[first..]
            .iter()
            .map(|t| vc.block_index[t.block.index()])
            .collect();
        self.invokes.push(PendingInvoke {
            rets,
            exits,
            landings,
        });
        if first == 1 {
            let t = self.target(vc, inst, 0);
            self.jump_to(t, next);
        }
        Ok(())
    }

    /// Where the unwinder resumes in this frame (`rbp`, `rsp` and `r14` are the frame's):
    /// the memory registers come back (the trap stub uses r12; a callee may have grown
    /// memory).
    pub(super) fn pad_prologue(&mut self) {
        if self.has_memory {
            let mb = off::VMCTX_MEM_BASE;
            asm!(self; mov r13, QWORD [r15 + mb]);
            self.reload_mem_len();
        }
    }

    /// `landing`: the caught payload, then the `exnref` (`_ref` clauses), from the catch
    /// cells.
    pub(super) fn landing(&mut self, inst: Inst, al: &[Allocation]) {
        self.load_results(inst, al, self.catch_base);
    }

    /// The handler entries of the function's invokes, from the block offsets and the
    /// return addresses (less one) of the out-of-line trap sites.
    pub(super) fn handlers(
        &self,
        vc: &VCode,
        block_offsets: &[u32],
        exit_keys: &[(DynamicLabel, u32)],
    ) -> Result<Vec<Handler>, String> {
        let mut out = Vec::new();
        for inv in &self.invokes {
            let mut clauses = Vec::with_capacity(inv.landings.len());
            for &b in &inv.landings {
                let block = vc.blocks[b as usize].ir;
                let landing = self
                    .func
                    .block_insts(block)
                    .iter()
                    .copied()
                    .find(|&i| self.func.inst(i).opcode == Opcode::Landing)
                    .ok_or("landing block without its landing instruction")?;
                let Imm::Index2(tag, keep) = self.func.inst(landing).imm else {
                    return Err("bad landing".into());
                };
                let payload: u32 = self
                    .func
                    .results(landing)
                    .map(|r| self.func.value_type(r).cells())
                    .sum::<u32>()
                    - keep;
                let kind = if tag == u32::MAX {
                    HandlerKind::All
                } else {
                    HandlerKind::Tag(tag)
                };
                let exn = if keep != 0 {
                    self.catch_base + payload
                } else {
                    NO_EXN
                };
                clauses.push((kind, block_offsets[b as usize], exn));
            }
            let mut keys = inv.rets.clone();
            for l in &inv.exits {
                let (_, k) = exit_keys
                    .iter()
                    .find(|e| e.0 == *l)
                    .ok_or("invoke exit without its trap site")?;
                keys.push(*k);
            }
            for &key in &keys {
                for &(kind, pad, exn) in &clauses {
                    out.push(Handler {
                        start: key - 1,
                        end: key,
                        frame: 0,
                        kind,
                        pad,
                        dst: self.catch_base,
                        exn,
                    });
                }
            }
        }
        Ok(out)
    }
}
