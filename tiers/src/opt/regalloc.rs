//! regalloc2 over the VCode (`lower.rs`): the IR's values are the virtual registers, its
//! block parameters regalloc2's block parameters.

use super::lower::{VCode, VKind};
use regalloc2::{
    Block, Inst, InstRange, Operand, Output, PRegSet, RegClass, RegallocOptions, VReg,
};
use strata_ir::Opcode;

pub struct RaFunc<'a> {
    pub vc: &'a VCode,
    pub ir: &'a strata_ir::Function,
}

impl regalloc2::Function for RaFunc<'_> {
    fn num_insts(&self) -> usize {
        self.vc.insts.len()
    }

    fn num_blocks(&self) -> usize {
        self.vc.blocks.len()
    }

    fn entry_block(&self) -> Block {
        Block::new(0)
    }

    fn block_insns(&self, block: Block) -> InstRange {
        let r = &self.vc.blocks[block.index()].insts;
        InstRange::new(Inst::new(r.start as usize), Inst::new(r.end as usize))
    }

    fn block_succs(&self, block: Block) -> &[Block] {
        &self.vc.blocks[block.index()].succs
    }

    fn block_preds(&self, block: Block) -> &[Block] {
        &self.vc.blocks[block.index()].preds
    }

    fn block_params(&self, block: Block) -> &[VReg] {
        &self.vc.blocks[block.index()].params
    }

    fn is_ret(&self, insn: Inst) -> bool {
        match self.vc.insts[insn.index()].kind {
            VKind::Ir(i) => {
                let op = self.ir.inst(i).opcode;
                matches!(op, Opcode::Return | Opcode::Trap) || op.is_tail_call()
            }
            VKind::Params => false,
        }
    }

    fn is_branch(&self, insn: Inst) -> bool {
        match self.vc.insts[insn.index()].kind {
            VKind::Ir(i) => matches!(
                self.ir.inst(i).opcode,
                Opcode::Jump | Opcode::BrIf | Opcode::BrTable
            ),
            VKind::Params => false,
        }
    }

    fn branch_blockparams(&self, _block: Block, insn: Inst, succ_idx: usize) -> &[VReg] {
        let r = &self.vc.insts[insn.index()].succ_args[succ_idx];
        &self.vc.branch_args[r.start as usize..r.end as usize]
    }

    fn inst_operands(&self, insn: Inst) -> &[Operand] {
        let r = &self.vc.insts[insn.index()].ops;
        &self.vc.operands[r.start as usize..r.end as usize]
    }

    fn inst_clobbers(&self, insn: Inst) -> PRegSet {
        self.vc.insts[insn.index()].clobbers
    }

    fn num_vregs(&self) -> usize {
        self.vc.num_vregs
    }

    fn spillslot_size(&self, regclass: RegClass) -> usize {
        // One 8-byte value-stack cell, or two for XMM values when the function has v128s
        // (scalar-only functions keep their frames and 8-byte float spills).
        match regclass {
            RegClass::Float if self.vc.has_v128 => 2,
            _ => 1,
        }
    }
}

/// Allocates registers for the function and hands the result to `then` (regalloc2's
/// context, and the output in it, are reused from the thread's previous function).
pub fn allocate<T>(
    vc: &VCode,
    ir: &strata_ir::Function,
    then: impl FnOnce(&Output) -> Result<T, String>,
) -> Result<T, String> {
    thread_local! {
        static ENV: regalloc2::MachineEnv = super::abi::machine_env();
        static CTX: std::cell::RefCell<regalloc2::Ctx> = Default::default();
    }
    let f = RaFunc { vc, ir };
    let opts = RegallocOptions {
        verbose_log: false,
        validate_ssa: cfg!(debug_assertions),
        algorithm: regalloc2::Algorithm::Ion,
    };
    ENV.with(|env| {
        CTX.with(|ctx| {
            let mut ctx = ctx.borrow_mut();
            let out = regalloc2::run_with_ctx(&f, env, &opts, &mut ctx)
                .map_err(|e| format!("regalloc2: {e:?}"))?;
            then(out)
        })
    })
}
