//! Reads the text form that `print.rs` writes. Blocks and values are numbered in the order
//! they are defined (block parameters, then results, in layout order), as `Function::compact`
//! numbers them, so a compacted function's text parses back to the same text.

use crate::function::{trap_from_name, Block, BlockCall, Function, Imm, Inst, InstData, MemArg};
use crate::function::{OsrEntry, Value, ValueData, ValueDef};
use crate::opcode::{ImmKind, Opcode};
use crate::types::Type;
use std::collections::HashMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

type Result<T> = std::result::Result<T, ParseError>;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Punct(char),
    Arrow,
}

struct Lexer {
    toks: Vec<(Tok, usize)>,
    pos: usize,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

impl Lexer {
    fn new(text: &str) -> Result<Lexer> {
        let mut toks = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line_no = n + 1;
            let mut chars = line.char_indices().peekable();
            while let Some(&(i, c)) = chars.peek() {
                if c == ';' {
                    break;
                } else if c.is_whitespace() {
                    chars.next();
                } else if c == '-' && line[i..].starts_with("->") {
                    chars.next();
                    chars.next();
                    toks.push((Tok::Arrow, line_no));
                } else if c == '"' {
                    chars.next();
                    let mut s = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '"')) => break,
                            Some((_, '\\')) => match chars.next() {
                                Some((_, 'n')) => s.push('\n'),
                                Some((_, 't')) => s.push('\t'),
                                Some((_, c)) => s.push(c),
                                None => return err(line_no, "unterminated string"),
                            },
                            Some((_, c)) => s.push(c),
                            None => return err(line_no, "unterminated string"),
                        }
                    }
                    toks.push((Tok::Str(s), line_no));
                } else if "(){}:,=".contains(c) {
                    chars.next();
                    toks.push((Tok::Punct(c), line_no));
                } else if c.is_alphanumeric() || "._-+$".contains(c) {
                    let mut s = String::new();
                    while let Some(&(_, c)) = chars.peek() {
                        if c.is_alphanumeric() || "._-+$".contains(c) {
                            s.push(c);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    toks.push((Tok::Word(s), line_no));
                } else {
                    return err(line_no, format!("unexpected character `{c}`"));
                }
            }
        }
        Ok(Lexer { toks, pos: 0 })
    }

    fn line(&self) -> usize {
        self.toks
            .get(self.pos.min(self.toks.len().saturating_sub(1)))
            .map_or(0, |t| t.1)
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }

    fn next(&mut self) -> Result<Tok> {
        let line = self.line();
        let t = self.toks.get(self.pos).map(|t| t.0.clone());
        self.pos += 1;
        t.map_or_else(|| err(line, "unexpected end of text"), Ok)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<()> {
        if self.eat(c) {
            Ok(())
        } else {
            err(
                self.line(),
                format!("expected `{c}`, found {:?}", self.peek()),
            )
        }
    }

    fn word(&mut self) -> Result<String> {
        match self.next()? {
            Tok::Word(w) => Ok(w),
            t => err(self.line(), format!("expected a word, found {t:?}")),
        }
    }

    fn peek_word(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }

    /// The next word if it is on line `line` (an instruction ends with its line).
    fn peek_word_on(&self, line: usize) -> Option<&str> {
        match self.toks.get(self.pos) {
            Some((Tok::Word(w), l)) if *l == line => Some(w),
            _ => None,
        }
    }

    fn ty(&mut self) -> Result<Type> {
        let w = self.word()?;
        Type::from_name(&w).map_or_else(|| err(self.line(), format!("unknown type `{w}`")), Ok)
    }

    fn types(&mut self) -> Result<Vec<Type>> {
        self.expect('(')?;
        let mut out = Vec::new();
        while !self.eat(')') {
            if !out.is_empty() {
                self.expect(',')?;
            }
            out.push(self.ty()?);
        }
        Ok(out)
    }

    fn number<T: TryFrom<i128>>(&mut self) -> Result<T> {
        let w = self.word()?;
        let n = parse_int(&w).ok_or_else(|| ParseError {
            line: self.line(),
            message: format!("expected a number, found `{w}`"),
        })?;
        T::try_from(n).map_err(|_| ParseError {
            line: self.line(),
            message: format!("`{w}` is out of range"),
        })
    }
}

fn parse_int(w: &str) -> Option<i128> {
    let (neg, digits) = match w.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, w),
    };
    let n = match digits.strip_prefix("0x") {
        Some(h) => i128::from_str_radix(h, 16).ok()?,
        None => digits.parse::<i128>().ok()?,
    };
    Some(if neg { -n } else { n })
}

fn entity(w: &str, prefix: &str) -> Option<u32> {
    w.strip_prefix(prefix)?.parse().ok()
}

struct InstAst {
    line: usize,
    results: Vec<(u32, Option<Type>)>,
    op: Opcode,
    imm: Imm,
    args: Vec<u32>,
    dests: Vec<(u32, Vec<u32>)>,
}

struct BlockAst {
    num: u32,
    params: Vec<(u32, Type)>,
    osr: Vec<u32>,
    insts: Vec<InstAst>,
}

/// Parses one function.
pub fn parse_function(text: &str) -> Result<Function> {
    let mut funcs = parse_functions(text)?;
    match funcs.len() {
        1 => Ok(funcs.remove(0)),
        n => err(1, format!("expected one function, found {n}")),
    }
}

/// Parses every function of a text.
pub fn parse_functions(text: &str) -> Result<Vec<Function>> {
    let mut lx = Lexer::new(text)?;
    let mut out = Vec::new();
    while lx.peek().is_some() {
        out.push(parse_one(&mut lx)?);
    }
    Ok(out)
}

fn parse_one(lx: &mut Lexer) -> Result<Function> {
    if lx.word()? != "function" {
        return err(lx.line(), "expected `function`");
    }
    let name = match lx.next()? {
        Tok::Str(s) => s,
        Tok::Word(w) => w,
        t => return err(lx.line(), format!("expected a function name, found {t:?}")),
    };
    let params = lx.types()?;
    if lx.next()? != Tok::Arrow {
        return err(lx.line(), "expected `->`");
    }
    let results = lx.types()?;
    lx.expect('{')?;
    let mut blocks: Vec<BlockAst> = Vec::new();
    while !lx.eat('}') {
        let line = lx.line();
        let w = lx.word()?;
        if let Some(num) = entity(&w, "block") {
            let mut params = Vec::new();
            if lx.eat('(') {
                while !lx.eat(')') {
                    if !params.is_empty() {
                        lx.expect(',')?;
                    }
                    let v = lx.word()?;
                    let v = entity(&v, "v").map_or_else(|| err(line, "expected a value"), Ok)?;
                    lx.expect(':')?;
                    params.push((v, lx.ty()?));
                }
            }
            let mut osr = Vec::new();
            while lx.peek_word() == Some("osr") {
                lx.word()?;
                osr.push(lx.number()?);
            }
            lx.expect(':')?;
            blocks.push(BlockAst {
                num,
                params,
                osr,
                insts: Vec::new(),
            });
            continue;
        }
        let Some(block) = blocks.last_mut() else {
            return err(line, "an instruction before the first block");
        };
        lx.pos -= 1;
        block.insts.push(parse_inst(lx)?);
    }
    build(name, params, results, blocks)
}

fn parse_inst(lx: &mut Lexer) -> Result<InstAst> {
    let line = lx.line();
    let mut results = Vec::new();
    // Results: `v1, v2: i32 = ...` (a word starting with v and a number, then `,` `:` or `=`).
    let start = lx.pos;
    let mut has_results = false;
    if lx.peek_word().and_then(|w| entity(w, "v")).is_some() {
        loop {
            let w = lx.word()?;
            let v = entity(&w, "v").map_or_else(|| err(line, "expected a value"), Ok)?;
            let ty = if lx.eat(':') { Some(lx.ty()?) } else { None };
            results.push((v, ty));
            if lx.eat('=') {
                has_results = true;
                break;
            }
            if !lx.eat(',') {
                break;
            }
        }
    }
    if !has_results {
        lx.pos = start;
        results.clear();
    }
    let name = lx.word()?;
    let op = Opcode::from_name(&name)
        .map_or_else(|| err(line, format!("unknown opcode `{name}`")), Ok)?;
    let imm = match op.imm_kind() {
        ImmKind::None | ImmKind::Mem => Imm::None,
        ImmKind::Const => {
            let w = lx.word()?;
            let n = parse_int(&w).map_or_else(|| err(line, "expected a constant"), Ok)?;
            Imm::Const(match op {
                Opcode::I32Const => n as i32 as i64 as u64,
                _ => n as u64,
            })
        }
        ImmKind::Index => Imm::Index(lx.number()?),
        ImmKind::Cell => Imm::Cell(lx.number()?),
        ImmKind::Pair => Imm::Pair(lx.number()?, lx.number()?),
        ImmKind::Trap => {
            let w = lx.word()?;
            Imm::Trap(trap_from_name(&w).map_or_else(|| err(line, "unknown trap code"), Ok)?)
        }
        ImmKind::Type => Imm::Type(lx.ty()?),
    };
    let mut args = Vec::new();
    let mut dests = Vec::new();
    let mut first = true;
    while let Some(w) = lx.peek_word_on(line) {
        if !(first
            || matches!(
                lx.toks.get(lx.pos.wrapping_sub(1)),
                Some((Tok::Punct(','), _))
            ))
        {
            break;
        }
        if let Some(v) = entity(w, "v") {
            if !dests.is_empty() {
                return err(line, "an operand after a destination");
            }
            lx.word()?;
            args.push(v);
        } else if let Some(b) = entity(w, "block") {
            lx.word()?;
            let mut dargs = Vec::new();
            if lx.eat('(') {
                while !lx.eat(')') {
                    if !dargs.is_empty() {
                        lx.expect(',')?;
                    }
                    let w = lx.word()?;
                    dargs.push(entity(&w, "v").map_or_else(|| err(line, "expected a value"), Ok)?);
                }
            }
            dests.push((b, dargs));
        } else {
            break;
        }
        first = false;
        if !lx.eat(',') {
            break;
        }
    }
    let imm = if op.imm_kind() == ImmKind::Mem {
        let mut m = MemArg {
            memory: 0,
            offset: 0,
            align: 0,
            checked: true,
        };
        while let Some(w) = lx.peek_word_on(line) {
            match w {
                "unchecked" => {
                    lx.word()?;
                    m.checked = false;
                }
                "offset" | "align" | "memory" => {
                    let w = lx.word()?;
                    lx.expect('=')?;
                    let n: u64 = lx.number()?;
                    match w.as_str() {
                        "offset" => m.offset = n,
                        "memory" => {
                            m.memory = u32::try_from(n).map_err(|_| ParseError {
                                line,
                                message: "bad memory".into(),
                            })?
                        }
                        _ if n.is_power_of_two() && n <= 1 << 16 => {
                            m.align = n.trailing_zeros() as u8
                        }
                        _ => return err(line, "align must be a power of two"),
                    }
                }
                _ => break,
            }
        }
        Imm::Mem(m)
    } else {
        imm
    };
    Ok(InstAst {
        line,
        results,
        op,
        imm,
        args,
        dests,
    })
}

fn build(
    name: String,
    params: Vec<Type>,
    results: Vec<Type>,
    blocks: Vec<BlockAst>,
) -> Result<Function> {
    let mut f = Function::new(name, params, results);
    let mut block_of: HashMap<u32, Block> = HashMap::new();
    for b in &blocks {
        let nb = f.create_block();
        if block_of.insert(b.num, nb).is_some() {
            return err(0, format!("block{} is defined twice", b.num));
        }
    }
    // Every value is defined before any instruction is built, so uses may come first in
    // the text.
    let mut value_of: HashMap<u32, Value> = HashMap::new();
    let mut define = |f: &mut Function, num: u32, ty: Type, def: ValueDef, line: usize| {
        let v = Value(f.values.len() as u32);
        f.values.push(ValueData { ty, def });
        match value_of.insert(num, v) {
            Some(_) => err(line, format!("v{num} is defined twice")),
            None => Ok(v),
        }
    };
    let mut inst_count = 0u32;
    let mut result_values: Vec<Vec<Value>> = Vec::new();
    for (bn, b) in blocks.iter().enumerate() {
        let block = Block(bn as u32);
        for (pn, &(num, ty)) in b.params.iter().enumerate() {
            let v = define(&mut f, num, ty, ValueDef::Param(block, pn as u32), 0)?;
            f.blocks[bn].params.push(v);
        }
        for i in &b.insts {
            let fixed = Function::fixed_results(i.op);
            let mut vals = Vec::new();
            for (rn, &(num, ty)) in i.results.iter().enumerate() {
                let ty = match (ty, fixed.as_ref().and_then(|r| r.get(rn))) {
                    (Some(t), _) => t,
                    (None, Some(&t)) => t,
                    (None, None) => return err(i.line, format!("v{num} needs a type")),
                };
                let def = ValueDef::Result(Inst(inst_count), rn as u32);
                vals.push(define(&mut f, num, ty, def, i.line)?);
            }
            if let Some(fixed) = &fixed {
                if !i.op.is_variadic() && fixed.len() != vals.len() {
                    return err(
                        i.line,
                        format!("{} has {} results", i.op.name(), fixed.len()),
                    );
                }
            }
            result_values.push(vals);
            inst_count += 1;
        }
    }
    let val = |num: u32, line: usize| {
        value_of
            .get(&num)
            .copied()
            .map_or_else(|| err(line, format!("v{num} is not defined")), Ok)
    };
    let blk = |num: u32, line: usize| {
        block_of
            .get(&num)
            .copied()
            .map_or_else(|| err(line, format!("block{num} is not defined")), Ok)
    };
    let mut results = result_values.into_iter();
    for (bn, b) in blocks.iter().enumerate() {
        for &loop_index in &b.osr {
            f.osr_entries.push(OsrEntry {
                loop_index,
                block: Block(bn as u32),
            });
        }
        for i in &b.insts {
            let args: Vec<Value> = i
                .args
                .iter()
                .map(|&a| val(a, i.line))
                .collect::<Result<_>>()?;
            let mut dests = Vec::new();
            for (d, dargs) in &i.dests {
                let args = dargs
                    .iter()
                    .map(|&a| val(a, i.line))
                    .collect::<Result<_>>()?;
                dests.push(BlockCall {
                    block: blk(*d, i.line)?,
                    args,
                });
            }
            let res = results.next().unwrap_or_default();
            let args = f.list(&args);
            let res = f.list(&res);
            let inst = Inst(f.insts.len() as u32);
            f.insts.push(InstData {
                op: i.op,
                imm: i.imm,
                args,
                results: res,
                dests,
            });
            f.blocks[bn].insts.push(inst);
        }
    }
    Ok(f)
}
