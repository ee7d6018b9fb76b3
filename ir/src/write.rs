//! The text form's printer.
//!
//! Values and blocks are numbered canonically (blocks in layout order; values in definition
//! order: each block's parameters, then its instructions' results), so that printing is
//! stable across passes that create and delete entities, and `parse(print(f))` prints the
//! same text. Result types are written only where the opcode does not fix them.

use crate::entity::EntityRef;
use crate::function::{BlockCall, Function, Imm};
use crate::opcode::Format;
use crate::types::type_name;
use crate::{Block, Value};
use std::fmt::{self, Write};
use strata_vm::TrapCode;

/// The text name of a trap code.
pub fn trap_name(code: TrapCode) -> &'static str {
    match code {
        TrapCode::Unreachable => "unreachable",
        TrapCode::MemoryOutOfBounds => "memory_oob",
        TrapCode::TableOutOfBounds => "table_oob",
        TrapCode::IndirectCallToNull => "indirect_call_to_null",
        TrapCode::UndefinedElement => "undefined_element",
        TrapCode::BadSignature => "bad_signature",
        TrapCode::IntegerOverflow => "integer_overflow",
        TrapCode::IntegerDivisionByZero => "integer_divide_by_zero",
        TrapCode::BadConversionToInteger => "bad_conversion_to_integer",
        TrapCode::StackOverflow => "stack_overflow",
        TrapCode::NullReference => "null_reference",
        TrapCode::Host => "host",
        TrapCode::Exit => "exit",
        TrapCode::Interrupt => "interrupt",
        TrapCode::OutOfFuel => "out_of_fuel",
        TrapCode::Exception => "exception",
        TrapCode::NullFunctionReference => "null_function_reference",
    }
}

/// Parses a trap code's text name.
pub fn trap_from_name(name: &str) -> Option<TrapCode> {
    (1..=u8::MAX)
        .filter_map(TrapCode::from_u8)
        .find(|c| trap_name(*c) == name)
}

/// Canonical numbers of a function's blocks and values.
pub struct Numbering {
    blocks: Vec<u32>,
    values: Vec<u32>,
}

const UNNUMBERED: u32 = u32::MAX;

impl Numbering {
    pub fn new(func: &Function) -> Numbering {
        let mut blocks = vec![UNNUMBERED; func.blocks.len()];
        let mut values = vec![UNNUMBERED; func.values.len()];
        let mut next = 0u32;
        for (i, &b) in func.layout.iter().enumerate() {
            blocks[b.index()] = i as u32;
            for &p in func.block_params(b) {
                values[p.index()] = next;
                next += 1;
            }
            for &inst in func.block_insts(b) {
                for r in func.results(inst) {
                    values[r.index()] = next;
                    next += 1;
                }
            }
        }
        Numbering { blocks, values }
    }

    pub fn block(&self, b: Block) -> Option<u32> {
        self.blocks
            .get(b.index())
            .copied()
            .filter(|n| *n != UNNUMBERED)
    }

    pub fn value(&self, func: &Function, v: Value) -> Option<u32> {
        let v = func.resolve(v);
        self.values
            .get(v.index())
            .copied()
            .filter(|n| *n != UNNUMBERED)
    }
}

struct Printer<'a> {
    func: &'a Function,
    num: Numbering,
}

impl Printer<'_> {
    fn value(&self, out: &mut String, v: Value) {
        match self.num.value(self.func, v) {
            Some(n) => write!(out, "v{n}").unwrap(),
            // Not defined in any block of the layout: invalid, and the verifier says so.
            None => write!(out, "v?{}", v.0).unwrap(),
        }
    }

    fn values(&self, out: &mut String, vs: &[Value]) {
        for (i, &v) in vs.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.value(out, v);
        }
    }

    fn block(&self, out: &mut String, b: Block) {
        match self.num.block(b) {
            Some(n) => write!(out, "block{n}").unwrap(),
            None => write!(out, "block?{}", b.0).unwrap(),
        }
    }

    fn call(&self, out: &mut String, c: BlockCall) {
        self.block(out, c.block);
        let args = self.func.call_args(c);
        if !args.is_empty() {
            out.push('(');
            self.values(out, args);
            out.push(')');
        }
    }

    fn inst(&self, out: &mut String, inst: crate::Inst) {
        let f = self.func;
        let d = f.inst(inst);
        out.push_str("    ");
        if d.num_results > 0 {
            let typed = f.needs_result_types(inst);
            for (i, r) in f.results(inst).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                self.value(out, r);
                if typed {
                    write!(out, ":{}", type_name(f.value_type(r))).unwrap();
                }
            }
            out.push_str(" = ");
        }
        out.push_str(d.opcode.name());
        let mut imm = String::new();
        match (d.opcode.format(), d.imm) {
            (Format::ConstI32, Imm::I32(v)) => write!(imm, "{v}").unwrap(),
            (Format::ConstI64, Imm::I64(v)) => write!(imm, "{v}").unwrap(),
            (Format::ConstF32, Imm::F32(bits)) => write!(imm, "{bits:#x}").unwrap(),
            (Format::ConstF64, Imm::F64(bits)) => write!(imm, "{bits:#x}").unwrap(),
            (Format::RefType, Imm::Type(t)) => imm.push_str(type_name(t)),
            (Format::FuncIndex | Format::Call, Imm::Index(i)) => write!(imm, "f{i}").unwrap(),
            (Format::Memory, Imm::Mem(m)) => write!(
                imm,
                "mem{} offset={} align={} {}",
                m.memory,
                m.offset,
                m.align,
                if m.checked { "checked" } else { "unchecked" }
            )
            .unwrap(),
            (Format::MemIndex, Imm::Index(i)) => write!(imm, "mem{i}").unwrap(),
            (Format::MemCopy, Imm::Index2(a, b)) => write!(imm, "mem{a} mem{b}").unwrap(),
            (Format::MemInit, Imm::Index2(a, b)) => write!(imm, "data{a} mem{b}").unwrap(),
            (Format::DataIndex, Imm::Index(i)) => write!(imm, "data{i}").unwrap(),
            (Format::Global, Imm::Index(i)) => write!(imm, "g{i}").unwrap(),
            (Format::Table, Imm::Index(i)) => write!(imm, "table{i}").unwrap(),
            (Format::TableCopy, Imm::Index2(a, b)) => write!(imm, "table{a} table{b}").unwrap(),
            (Format::TableInit, Imm::Index2(a, b)) => write!(imm, "elem{a} table{b}").unwrap(),
            (Format::ElemIndex, Imm::Index(i)) => write!(imm, "elem{i}").unwrap(),
            (Format::CallIndirect, Imm::Index2(a, b)) => write!(imm, "type{a} table{b}").unwrap(),
            (Format::CallRef, Imm::Index(t)) => write!(imm, "type{t}").unwrap(),
            (Format::Trap, Imm::Trap(c)) => imm.push_str(trap_name(c)),
            (Format::Cell, Imm::Index(i)) => write!(imm, "cell{i}").unwrap(),
            (Format::ConstV128 | Format::Shuffle, Imm::V128(b)) => {
                write!(imm, "{:#034x}", u128::from_le_bytes(b)).unwrap()
            }
            (Format::Simd, Imm::Simd(op, lane)) => {
                imm.push_str(op.name());
                if op.lane_count().is_some() {
                    write!(imm, " lane={lane}").unwrap();
                }
            }
            (Format::SimdMem, Imm::SimdMem(m, op, lane)) => {
                write!(
                    imm,
                    "{} mem{} offset={} align={} {}",
                    op.name(),
                    m.memory,
                    m.offset,
                    m.align,
                    if m.checked { "checked" } else { "unchecked" }
                )
                .unwrap();
                if op.lane_count().is_some() {
                    write!(imm, " lane={lane}").unwrap();
                }
            }
            (Format::Nullary | Format::Return, Imm::None) => {}
            (Format::Jump | Format::BrIf | Format::BrTable, Imm::Targets(_)) => {}
            (_, other) => write!(imm, "<bad immediate {other:?}>").unwrap(),
        }
        if !imm.is_empty() {
            out.push(' ');
            out.push_str(&imm);
        }
        let args = f.args(inst);
        let targets = f.targets(inst);
        if !args.is_empty() {
            out.push(' ');
            self.values(out, args);
        }
        match d.opcode.format() {
            Format::Jump | Format::BrIf => {
                for (i, &t) in targets.iter().enumerate() {
                    out.push_str(if i == 0 && args.is_empty() { " " } else { ", " });
                    self.call(out, t);
                }
            }
            Format::BrTable => {
                if let Some((default, rest)) = targets.split_last() {
                    out.push_str(", [");
                    for (i, &t) in rest.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        self.call(out, t);
                    }
                    out.push_str("], ");
                    self.call(out, *default);
                }
            }
            _ => {}
        }
        out.push('\n');
    }
}

/// Prints a function in the text form.
pub fn write_function(out: &mut String, func: &Function) {
    let p = Printer {
        func,
        num: Numbering::new(func),
    };
    write!(out, "function {:?}(", func.name).unwrap();
    for (i, t) in func.params.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(type_name(*t));
    }
    out.push_str(") -> (");
    for (i, t) in func.results.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(type_name(*t));
    }
    out.push_str(") {\n");
    for e in &func.osr_entries {
        write!(out, "    osr_entry {} ", e.loop_ordinal).unwrap();
        p.block(out, e.block);
        out.push('\n');
    }
    for &b in &func.layout {
        p.block(out, b);
        let params = func.block_params(b);
        if !params.is_empty() {
            out.push('(');
            for (i, &v) in params.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                p.value(out, v);
                write!(out, ": {}", type_name(func.value_type(v))).unwrap();
            }
            out.push(')');
        }
        out.push_str(":\n");
        for &inst in func.block_insts(b) {
            p.inst(out, inst);
        }
    }
    out.push_str("}\n");
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        write_function(&mut s, self);
        f.write_str(&s)
    }
}
