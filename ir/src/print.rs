//! The text form: `Display` for `Function`. `parse.rs` reads it back; the two round-trip.
//!
//! ```text
//! function "add_one"(i32) -> (i32) {
//! block0(v0: i32):
//!     v1 = i32.const 1
//!     v2 = i32.add v0, v1
//!     v3 = i32.load v2 offset=4 align=2
//!     brif v3, block1(v2), block2
//! block1(v4: i32):
//!     return v4
//! block2:
//!     trap unreachable
//! block3 osr 0:
//!     v5: i32 = osr.load 0
//!     jump block1(v5)
//! }
//! ```
//! Result types are written where the opcode's table row does not fix them; immediates come
//! right after the opcode, except a memory access's, which follows its operands.

use crate::function::{trap_name, Block, BlockCall, Function, Imm, Inst};
use crate::opcode::{Opcode, Ty};
use crate::types::Type;
use std::fmt::{self, Write};

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "function {:?}(", self.name)?;
        list(f, self.params.iter())?;
        f.write_str(") -> (")?;
        list(f, self.results.iter())?;
        f.write_str(") {\n")?;
        for &b in &self.layout {
            self.write_block(f, b)?;
        }
        f.write_str("}\n")
    }
}

fn list<T: fmt::Display>(
    f: &mut (impl Write + ?Sized),
    items: impl Iterator<Item = T>,
) -> fmt::Result {
    for (i, x) in items.enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{x}")?;
    }
    Ok(())
}

impl Function {
    fn write_block(&self, f: &mut dyn Write, b: Block) -> fmt::Result {
        let data = &self.blocks[b.index()];
        write!(f, "{b}")?;
        if !data.params.is_empty() {
            f.write_char('(')?;
            for (i, &p) in data.params.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{p}: {}", self.ty(p))?;
            }
            f.write_char(')')?;
        }
        for e in self.osr_entries.iter().filter(|e| e.block == b) {
            write!(f, " osr {}", e.loop_index)?;
        }
        f.write_str(":\n")?;
        for &i in &data.insts {
            f.write_str("    ")?;
            self.write_inst(f, i)?;
            f.write_char('\n')?;
        }
        Ok(())
    }

    /// One instruction in the text form (without indentation or newline).
    pub fn write_inst(&self, f: &mut dyn Write, inst: Inst) -> fmt::Result {
        let data = &self.insts[inst.index()];
        let results = self.results(inst);
        let typed = Self::result_types_are_written(data.op);
        for (i, &r) in results.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{r}")?;
            if typed {
                write!(f, ": {}", self.ty(r))?;
            }
        }
        if !results.is_empty() {
            f.write_str(" = ")?;
        }
        f.write_str(data.op.name())?;
        match data.imm {
            Imm::None | Imm::Mem(_) => {}
            Imm::Const(c) => match data.op {
                Opcode::I32Const => write!(f, " {}", c as u32 as i32)?,
                Opcode::I64Const => write!(f, " {}", c as i64)?,
                Opcode::F32Const => write!(f, " {:#010x}", c as u32)?,
                _ => write!(f, " {c:#018x}")?,
            },
            Imm::Index(x) | Imm::Cell(x) => write!(f, " {x}")?,
            Imm::Pair(x, y) => write!(f, " {x} {y}")?,
            Imm::Trap(c) => write!(f, " {}", trap_name(c))?,
            Imm::Type(t) => write!(f, " {t}")?,
        }
        // Operands, then destinations, as one comma-separated list.
        let mut first = true;
        let mut sep = |f: &mut dyn Write| {
            let s = if first { " " } else { ", " };
            first = false;
            f.write_str(s)
        };
        for a in self.values_of(data.args) {
            sep(f)?;
            write!(f, "{a}")?;
        }
        for d in &data.dests {
            sep(f)?;
            write_call(f, d)?;
        }
        if let Imm::Mem(m) = data.imm {
            if m.offset != 0 {
                write!(f, " offset={}", m.offset)?;
            }
            write!(f, " align={}", 1u32 << m.align)?;
            if m.memory != 0 {
                write!(f, " memory={}", m.memory)?;
            }
            if !m.checked {
                f.write_str(" unchecked")?;
            }
        }
        Ok(())
    }

    /// Whether the text form spells the result types (the table does not fix them).
    pub(crate) fn result_types_are_written(op: Opcode) -> bool {
        op.is_variadic() || op.results().contains(&Ty::Dyn)
    }
}

fn write_call(f: &mut (impl Write + ?Sized), d: &BlockCall) -> fmt::Result {
    write!(f, "{}", d.block)?;
    if !d.args.is_empty() {
        f.write_char('(')?;
        list(f, d.args.iter())?;
        f.write_char(')')?;
    }
    Ok(())
}

/// The immediate's text for an opcode whose immediate is a constant of type `ty` (for the
/// rule files and statistics).
pub fn const_text(ty: Type, bits: u64) -> String {
    match ty {
        Type::I32 => (bits as u32 as i32).to_string(),
        Type::I64 => (bits as i64).to_string(),
        Type::F32 => format!("{:#010x}", bits as u32),
        _ => format!("{bits:#018x}"),
    }
}
