//! The verifier: run after every pass in tests and debug builds.
//!
//! Checks: every layout block ends in exactly one terminator; operands and results match the
//! opcode's table row (arity, types, immediate kind); branch arguments match their target's
//! parameters; every use is dominated by its definition; the entry block's parameters are
//! the function's; OSR entries have no parameters; returns give the function's results.

use crate::analysis::{Cfg, DomTree};
use crate::function::{Block, Function, Imm, Inst, Value, ValueDef};
use crate::opcode::{ImmKind, Opcode, Ty};
use crate::types::Type;

/// Verifies `f`; the error names the first problem found.
pub fn verify(f: &Function) -> Result<(), String> {
    let cfg = Cfg::new(f);
    let dom = DomTree::new(f, &cfg);
    Verifier { f, dom: &dom }.run()
}

struct Verifier<'a> {
    f: &'a Function,
    dom: &'a DomTree,
}

impl Verifier<'_> {
    fn run(&self) -> Result<(), String> {
        let f = self.f;
        let entry = f.entry().ok_or("the function has no blocks")?;
        let entry_types: Vec<Type> = f.blocks[entry.index()]
            .params
            .iter()
            .map(|&p| f.ty(p))
            .collect();
        if entry_types != f.params {
            return Err(format!("{entry}'s parameters are not the function's"));
        }
        for e in &f.osr_entries {
            if !f.blocks[e.block.index()].params.is_empty() {
                return Err(format!("OSR entry {} has parameters", e.block));
            }
        }
        let mut in_layout = vec![false; f.blocks.len()];
        for &b in &f.layout {
            if std::mem::replace(&mut in_layout[b.index()], true) {
                return Err(format!("{b} is twice in the layout"));
            }
        }
        // Where each instruction sits, for dominance within a block.
        let mut position = vec![(u32::MAX, 0u32); f.insts.len()];
        for &b in &f.layout {
            for (n, &i) in f.blocks[b.index()].insts.iter().enumerate() {
                if position[i.index()].0 != u32::MAX {
                    return Err(format!("{i} is placed twice"));
                }
                position[i.index()] = (b.0, n as u32);
            }
            for (n, &p) in f.blocks[b.index()].params.iter().enumerate() {
                if f.values[p.index()].def != ValueDef::Param(b, n as u32) {
                    return Err(format!(
                        "{p} is listed as a parameter of {b} but not defined so"
                    ));
                }
            }
        }
        for &b in &f.layout {
            let insts = &f.blocks[b.index()].insts;
            match insts.last() {
                Some(&last) if f.insts[last.index()].op.is_terminator() => {}
                _ => return Err(format!("{b} does not end in a terminator")),
            }
            for (n, &i) in insts.iter().enumerate() {
                let op = f.insts[i.index()].op;
                if op.is_terminator() && n + 1 != insts.len() {
                    return Err(format!("{b}: terminator {} before the end", op.name()));
                }
                self.inst(b, i, &in_layout, &position)
                    .map_err(|e| format!("{b}: {}: {e}", self.text(i)))?;
            }
        }
        Ok(())
    }

    fn text(&self, i: Inst) -> String {
        let mut s = String::new();
        let _ = self.f.write_inst(&mut s, i);
        s
    }

    fn inst(
        &self,
        b: Block,
        i: Inst,
        in_layout: &[bool],
        position: &[(u32, u32)],
    ) -> Result<(), String> {
        let f = self.f;
        let data = &f.insts[i.index()];
        let op = data.op;
        let args = f.args(i);
        let results = f.results(i);
        let imm_ok = match (op.imm_kind(), data.imm) {
            (ImmKind::None, Imm::None) => true,
            (k, imm) => k == imm.kind() && k != ImmKind::None,
        };
        if !imm_ok {
            return Err(format!(
                "immediate {:?} does not fit {}",
                data.imm,
                op.name()
            ));
        }
        for (n, &r) in results.iter().enumerate() {
            if f.values[r.index()].def != ValueDef::Result(i, n as u32) {
                return Err(format!("{r} is not defined by this instruction"));
            }
        }
        for &a in args
            .iter()
            .chain(data.dests.iter().flat_map(|d| d.args.iter()))
        {
            self.dominated(a, b, i, position)?;
        }
        let fixed = op.args();
        if op.is_variadic() {
            if args.len() < fixed.len() {
                return Err("too few operands".into());
            }
        } else if args.len() != fixed.len() {
            return Err(format!("{} operands, {} expected", args.len(), fixed.len()));
        }
        for (&a, t) in args.iter().zip(fixed) {
            if let Ty::T(t) = t {
                if f.ty(a) != *t {
                    return Err(format!("{a} is {}, {t} expected", f.ty(a)));
                }
            }
        }
        if !op.is_variadic() {
            let want = op.results();
            if results.len() != want.len() {
                return Err(format!(
                    "{} results, {} expected",
                    results.len(),
                    want.len()
                ));
            }
            for (&r, t) in results.iter().zip(want) {
                if let Ty::T(t) = t {
                    if f.ty(r) != *t {
                        return Err(format!("{r} is {}, {t} expected", f.ty(r)));
                    }
                }
            }
        }
        self.special(i)?;
        // Destinations.
        let want_dests = match op {
            Opcode::Jump => Some(1),
            Opcode::Brif => Some(2),
            Opcode::BrTable => None,
            _ => Some(0),
        };
        match want_dests {
            Some(n) if data.dests.len() != n => {
                return Err(format!("{} destinations, {n} expected", data.dests.len()))
            }
            None if data.dests.is_empty() => return Err("br_table without a default".into()),
            _ => {}
        }
        for d in &data.dests {
            if !in_layout.get(d.block.index()).copied().unwrap_or(false) {
                return Err(format!("branch to {}, which is not in the layout", d.block));
            }
            if f.is_osr_entry(d.block) {
                return Err(format!("branch to OSR entry {}", d.block));
            }
            let params = &f.blocks[d.block.index()].params;
            if params.len() != d.args.len() {
                return Err(format!(
                    "{} arguments to {}, which has {} parameters",
                    d.args.len(),
                    d.block,
                    params.len()
                ));
            }
            for (&a, &p) in d.args.iter().zip(params) {
                if f.ty(a) != f.ty(p) {
                    return Err(format!("{a}: {} passed to {p}: {}", f.ty(a), f.ty(p)));
                }
            }
        }
        Ok(())
    }

    /// Type rules the table cannot state.
    fn special(&self, i: Inst) -> Result<(), String> {
        let f = self.f;
        let args = f.args(i);
        let results = f.results(i);
        let is_ref = |t: Type| matches!(t, Type::FuncRef | Type::ExternRef);
        match f.insts[i.index()].op {
            Opcode::Select => {
                let (a, b, r) = (f.ty(args[0]), f.ty(args[1]), f.ty(results[0]));
                if a != b || a != r {
                    return Err(format!("select of {a} and {b} giving {r}"));
                }
            }
            Opcode::RefIsNull if !is_ref(f.ty(args[0])) => {
                return Err("ref.is_null of a number".into())
            }
            Opcode::RefNull => {
                let Imm::Type(t) = f.insts[i.index()].imm else {
                    return Err("ref.null without a type".into());
                };
                if !is_ref(t) || f.ty(results[0]) != t {
                    return Err("ref.null's type".into());
                }
            }
            Opcode::Return => {
                let got: Vec<Type> = args.iter().map(|&a| f.ty(a)).collect();
                if got != f.results {
                    return Err(format!(
                        "returns {got:?}, the function returns {:?}",
                        f.results
                    ));
                }
            }
            Opcode::CallIndirect => match args.last() {
                Some(&x) if f.ty(x) == Type::I32 => {}
                _ => return Err("call_indirect without an i32 table index".into()),
            },
            _ => {}
        }
        Ok(())
    }

    fn dominated(
        &self,
        v: Value,
        b: Block,
        i: Inst,
        position: &[(u32, u32)],
    ) -> Result<(), String> {
        let f = self.f;
        let Some(data) = f.values.get(v.index()) else {
            return Err(format!("{v} does not exist"));
        };
        let (def_block, def_pos) = match data.def {
            ValueDef::Alias(_) => return Err(format!("{v} is an unresolved alias")),
            ValueDef::Param(db, _) => (db, None),
            ValueDef::Result(di, _) => {
                let (db, n) = position[di.index()];
                if db == u32::MAX {
                    return Err(format!(
                        "{v} is defined by an instruction not in the layout"
                    ));
                }
                (Block(db), Some(n))
            }
        };
        if !self.dom.is_reachable(b) {
            return Ok(());
        }
        if def_block == b {
            if let Some(n) = def_pos {
                if n >= position[i.index()].1 {
                    return Err(format!("{v} is used before it is defined"));
                }
            }
            return Ok(());
        }
        if !self.dom.dominates(def_block, b) {
            return Err(format!(
                "{v} (defined in {def_block}) does not dominate its use"
            ));
        }
        Ok(())
    }
}
