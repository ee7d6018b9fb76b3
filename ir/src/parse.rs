//! The text form's parser: the inverse of `write.rs`. Value and block numbers in the text
//! are names only; the parsed function gets fresh ids (and prints canonically again).

use crate::function::{BlockCall, Builder, Function, Imm, MemArg, OsrEntry, ValueData, ValueDef};
use crate::opcode::{Format, Opcode};
use crate::simd::SimdOp;
use crate::types::{type_from_name, Type};
use crate::write::trap_from_name;
use crate::{Block, Value};
use std::collections::HashMap;
use std::fmt;

/// A parse error with its 1-based line.
#[derive(Clone, Debug, PartialEq, Eq)]
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

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Punct(char),
    Arrow,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Word(w) => write!(f, "`{w}`"),
            Tok::Str(s) => write!(f, "{s:?}"),
            Tok::Punct(c) => write!(f, "`{c}`"),
            Tok::Arrow => f.write_str("`->`"),
        }
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '?' | '+')
}

/// Splits one line into tokens; `;` starts a comment.
fn tokenize(line: &str, lineno: usize) -> Result<Vec<Tok>, ParseError> {
    let err = |m: String| ParseError {
        line: lineno,
        message: m,
    };
    let mut toks = Vec::new();
    let mut chars = line.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == ';' {
            break;
        } else if c == '-' && line[i + 1..].starts_with('>') {
            chars.next();
            chars.next();
            toks.push(Tok::Arrow);
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    None => return Err(err("unterminated string".into())),
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => s.push('\n'),
                        Some((_, 't')) => s.push('\t'),
                        Some((_, 'r')) => s.push('\r'),
                        Some((_, '0')) => s.push('\0'),
                        Some((_, 'u')) => {
                            let mut hex = String::new();
                            if chars.next().map(|p| p.1) != Some('{') {
                                return Err(err("bad \\u escape".into()));
                            }
                            for (_, h) in chars.by_ref() {
                                if h == '}' {
                                    break;
                                }
                                hex.push(h);
                            }
                            let ch = u32::from_str_radix(&hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .ok_or_else(|| err("bad \\u escape".into()))?;
                            s.push(ch);
                        }
                        Some((_, other)) => s.push(other),
                        None => return Err(err("unterminated string".into())),
                    },
                    Some((_, ch)) => s.push(ch),
                }
            }
            toks.push(Tok::Str(s));
        } else if is_word_char(c) {
            let mut end = i;
            while let Some(&(j, ch)) = chars.peek() {
                if !is_word_char(ch) {
                    break;
                }
                end = j + ch.len_utf8();
                chars.next();
            }
            toks.push(Tok::Word(line[i..end].to_string()));
        } else if "(),:={}[]".contains(c) {
            chars.next();
            toks.push(Tok::Punct(c));
        } else {
            return Err(err(format!("unexpected character `{c}`")));
        }
    }
    Ok(toks)
}

struct Line {
    toks: Vec<Tok>,
    pos: usize,
    lineno: usize,
}

impl Line {
    fn err<T>(&self, m: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            line: self.lineno,
            message: m.into(),
        })
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }
    fn next(&mut self) -> Result<Tok, ParseError> {
        match self.toks.get(self.pos) {
            Some(t) => {
                self.pos += 1;
                Ok(t.clone())
            }
            None => self.err("unexpected end of line"),
        }
    }
    fn word(&mut self) -> Result<String, ParseError> {
        match self.next()? {
            Tok::Word(w) => Ok(w),
            t => self.err(format!("expected a word, found {t}")),
        }
    }
    fn punct(&mut self, c: char) -> Result<(), ParseError> {
        match self.next()? {
            Tok::Punct(p) if p == c => Ok(()),
            t => self.err(format!("expected `{c}`, found {t}")),
        }
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_end(&self) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => self.err(format!("unexpected {t} at end of line")),
        }
    }
    /// A word `prefix<number>`.
    fn prefixed(&mut self, prefix: &str) -> Result<u32, ParseError> {
        let w = self.word()?;
        match w.strip_prefix(prefix).and_then(|n| n.parse::<u32>().ok()) {
            Some(n) => Ok(n),
            None => self.err(format!("expected `{prefix}N`, found `{w}`")),
        }
    }
    fn number<T: std::str::FromStr>(&mut self) -> Result<T, ParseError> {
        let w = self.word()?;
        match w.parse() {
            Ok(n) => Ok(n),
            Err(_) => self.err(format!("expected a number, found `{w}`")),
        }
    }
    fn hex(&mut self) -> Result<u64, ParseError> {
        let w = self.word()?;
        match w
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
        {
            Some(n) => Ok(n),
            None => self.err(format!("expected hex bits `0x...`, found `{w}`")),
        }
    }
    fn ty(&mut self) -> Result<Type, ParseError> {
        let w = self.word()?;
        match type_from_name(&w) {
            Some(t) => Ok(t),
            None => self.err(format!("unknown type `{w}`")),
        }
    }
    fn key(&mut self, key: &str) -> Result<u64, ParseError> {
        let w = self.word()?;
        if w != key {
            return self.err(format!("expected `{key}=`, found `{w}`"));
        }
        self.punct('=')?;
        self.number()
    }
}

/// Parses every function in `text`.
pub fn parse_functions(text: &str) -> Result<Vec<Function>, ParseError> {
    let mut lines = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let toks = tokenize(l, i + 1)?;
        if !toks.is_empty() {
            lines.push(Line {
                toks,
                pos: 0,
                lineno: i + 1,
            });
        }
    }
    let mut funcs = Vec::new();
    let mut it = lines.into_iter();
    while let Some(mut header) = it.next() {
        let (name, params, results) = parse_header(&mut header)?;
        let mut p = FuncParser {
            func: Function::new(name, params, results),
            values: HashMap::new(),
            forward: HashMap::new(),
            blocks: HashMap::new(),
            defined_blocks: Vec::new(),
            current: None,
        };
        let mut closed = false;
        for mut line in it.by_ref() {
            if line.toks == [Tok::Punct('}')] {
                closed = true;
                break;
            }
            p.line(&mut line)?;
        }
        if !closed {
            return Err(ParseError {
                line: text.lines().count(),
                message: "missing `}` at the end of the function".into(),
            });
        }
        funcs.push(p.finish(header.lineno)?);
    }
    Ok(funcs)
}

/// Parses a text that holds exactly one function.
pub fn parse_function(text: &str) -> Result<Function, ParseError> {
    let mut fs = parse_functions(text)?;
    if fs.len() != 1 {
        return Err(ParseError {
            line: 1,
            message: format!("expected one function, found {}", fs.len()),
        });
    }
    Ok(fs.pop().unwrap())
}

fn parse_types(l: &mut Line) -> Result<Vec<Type>, ParseError> {
    l.punct('(')?;
    let mut tys = Vec::new();
    if !l.eat(')') {
        loop {
            tys.push(l.ty()?);
            if l.eat(')') {
                break;
            }
            l.punct(',')?;
        }
    }
    Ok(tys)
}

fn parse_header(l: &mut Line) -> Result<(String, Vec<Type>, Vec<Type>), ParseError> {
    if l.word()? != "function" {
        return l.err("expected `function`");
    }
    let name = match l.next()? {
        Tok::Str(s) => s,
        t => {
            return l.err(format!(
                "expected the function's name as a string, found {t}"
            ))
        }
    };
    let params = parse_types(l)?;
    if l.next()? != Tok::Arrow {
        return l.err("expected `->`");
    }
    let results = parse_types(l)?;
    l.punct('{')?;
    l.expect_end()?;
    Ok((name, params, results))
}

struct FuncParser {
    func: Function,
    /// Text value number -> value.
    values: HashMap<u32, Value>,
    /// Values used before their definition, by text number: placeholders to alias.
    forward: HashMap<u32, (Value, usize)>,
    blocks: HashMap<u32, Block>,
    defined_blocks: Vec<Block>,
    current: Option<Block>,
}

impl FuncParser {
    fn block_ref(&mut self, l: &mut Line) -> Result<Block, ParseError> {
        let n = l.prefixed("block")?;
        let func = &mut self.func;
        Ok(*self
            .blocks
            .entry(n)
            .or_insert_with(|| func.blocks.push(Default::default())))
    }

    fn value_number(l: &mut Line) -> Result<u32, ParseError> {
        l.prefixed("v")
    }

    fn use_value(&mut self, l: &mut Line) -> Result<Value, ParseError> {
        let n = Self::value_number(l)?;
        if let Some(&v) = self.values.get(&n) {
            return Ok(v);
        }
        if let Some(&(v, _)) = self.forward.get(&n) {
            return Ok(v);
        }
        // A placeholder; its type and definition come from the later definition.
        let v = self.func.values.next_key();
        self.func.values.push(ValueData {
            ty: Type::I32,
            def: ValueDef::Alias(v),
        });
        self.forward.insert(n, (v, l.lineno));
        Ok(v)
    }

    fn define_value(&mut self, n: u32, v: Value, l: &Line) -> Result<(), ParseError> {
        if self.values.insert(n, v).is_some() {
            return l.err(format!("value v{n} defined twice"));
        }
        if let Some((placeholder, _)) = self.forward.remove(&n) {
            self.func.values[placeholder] = ValueData {
                ty: self.func.value_type(v),
                def: ValueDef::Alias(v),
            };
        }
        Ok(())
    }

    fn value_list(&mut self, l: &mut Line) -> Result<Vec<Value>, ParseError> {
        let mut vs = Vec::new();
        if l.at_end() {
            return Ok(vs);
        }
        loop {
            vs.push(self.use_value(l)?);
            if !l.eat(',') {
                return Ok(vs);
            }
        }
    }

    fn block_call(&mut self, l: &mut Line) -> Result<BlockCall, ParseError> {
        let block = self.block_ref(l)?;
        let mut args = Vec::new();
        if l.eat('(') {
            loop {
                args.push(self.use_value(l)?);
                if l.eat(')') {
                    break;
                }
                l.punct(',')?;
            }
        }
        Ok(self.func.make_block_call(block, &args))
    }

    fn line(&mut self, l: &mut Line) -> Result<(), ParseError> {
        let first = l.peek().cloned();
        match first {
            Some(Tok::Word(w)) if w == "osr_entry" => {
                l.next()?;
                let loop_ordinal = l.number()?;
                let block = self.block_ref(l)?;
                l.expect_end()?;
                self.func.osr_entries.push(OsrEntry {
                    loop_ordinal,
                    block,
                });
                Ok(())
            }
            Some(Tok::Word(w))
                if w.starts_with("block")
                    && matches!(l.toks.last(), Some(Tok::Punct(':')))
                    && !l.toks.contains(&Tok::Punct('=')) =>
            {
                let block = self.block_ref(l)?;
                if self.defined_blocks.contains(&block) {
                    return l.err(format!("{w} defined twice"));
                }
                self.defined_blocks.push(block);
                if l.eat('(') {
                    loop {
                        let n = Self::value_number(l)?;
                        l.punct(':')?;
                        let ty = l.ty()?;
                        let v = self.func.append_block_param(block, ty);
                        self.define_value(n, v, l)?;
                        if l.eat(')') {
                            break;
                        }
                        l.punct(',')?;
                    }
                }
                l.punct(':')?;
                l.expect_end()?;
                self.current = Some(block);
                Ok(())
            }
            _ => self.inst(l),
        }
    }

    fn memarg(l: &mut Line) -> Result<MemArg, ParseError> {
        let memory = l.prefixed("mem")?;
        let offset = l.key("offset")?;
        let align = l.key("align")?;
        let checked = match l.word()?.as_str() {
            "checked" => true,
            "unchecked" => false,
            w => return l.err(format!("expected checked|unchecked, found `{w}`")),
        };
        match u8::try_from(align) {
            Ok(align) => Ok(MemArg {
                memory,
                offset,
                align,
                checked,
            }),
            Err(_) => l.err("alignment out of range"),
        }
    }

    fn simd_op(l: &mut Line) -> Result<SimdOp, ParseError> {
        let w = l.word()?;
        match SimdOp::from_name(&w) {
            Some(op) => Ok(op),
            None => l.err(format!("unknown SIMD operator `{w}`")),
        }
    }

    /// `lane=N` for an operator with a lane index, else 0.
    fn lane(l: &mut Line, op: SimdOp) -> Result<u8, ParseError> {
        let Some(n) = op.lane_count() else {
            return Ok(0);
        };
        let lane = l.key("lane")?;
        match u8::try_from(lane) {
            Ok(x) if x < n => Ok(x),
            _ => l.err("lane index out of range"),
        }
    }

    fn inst(&mut self, l: &mut Line) -> Result<(), ParseError> {
        let Some(block) = self.current else {
            return l.err("instruction outside a block");
        };
        // Results: `v1, v2:i32 = ...`.
        let mut results: Vec<(u32, Option<Type>)> = Vec::new();
        if l.toks.contains(&Tok::Punct('=')) && matches!(l.toks.get(1), Some(Tok::Punct(_))) {
            loop {
                let n = Self::value_number(l)?;
                let ty = if l.eat(':') { Some(l.ty()?) } else { None };
                results.push((n, ty));
                if l.eat('=') {
                    break;
                }
                l.punct(',')?;
            }
        }
        let name = l.word()?;
        let Some(opcode) = Opcode::from_name(&name) else {
            return l.err(format!("unknown opcode `{name}`"));
        };
        let imm = match opcode.format() {
            Format::Nullary | Format::Return | Format::Jump | Format::BrIf | Format::BrTable => {
                Imm::None
            }
            Format::ConstI32 => Imm::I32(l.number()?),
            Format::ConstI64 => Imm::I64(l.number()?),
            Format::ConstF32 => {
                let bits = l.hex()?;
                match u32::try_from(bits) {
                    Ok(b) => Imm::F32(b),
                    Err(_) => return l.err("f32 bits out of range"),
                }
            }
            Format::ConstF64 => Imm::F64(l.hex()?),
            Format::RefType => Imm::Type(l.ty()?),
            Format::FuncIndex | Format::Call => Imm::Index(l.prefixed("f")?),
            Format::Memory => Imm::Mem(Self::memarg(l)?),
            Format::ConstV128 | Format::Shuffle => {
                let w = l.word()?;
                let digits = w.strip_prefix("0x").unwrap_or(&w);
                match u128::from_str_radix(digits, 16) {
                    Ok(v) => Imm::V128(v.to_le_bytes()),
                    Err(_) => return l.err(format!("bad v128 constant `{w}`")),
                }
            }
            Format::Simd => {
                let op = Self::simd_op(l)?;
                let lane = Self::lane(l, op)?;
                Imm::Simd(op, lane)
            }
            Format::SimdMem => {
                let op = Self::simd_op(l)?;
                let m = Self::memarg(l)?;
                let lane = Self::lane(l, op)?;
                Imm::SimdMem(m, op, lane)
            }
            Format::MemIndex => Imm::Index(l.prefixed("mem")?),
            Format::MemCopy => Imm::Index2(l.prefixed("mem")?, l.prefixed("mem")?),
            Format::MemInit => Imm::Index2(l.prefixed("data")?, l.prefixed("mem")?),
            Format::DataIndex => Imm::Index(l.prefixed("data")?),
            Format::Global => Imm::Index(l.prefixed("g")?),
            Format::Table => Imm::Index(l.prefixed("table")?),
            Format::TableCopy => Imm::Index2(l.prefixed("table")?, l.prefixed("table")?),
            Format::TableInit => Imm::Index2(l.prefixed("elem")?, l.prefixed("table")?),
            Format::ElemIndex => Imm::Index(l.prefixed("elem")?),
            Format::CallIndirect => Imm::Index2(l.prefixed("type")?, l.prefixed("table")?),
            Format::CallRef => Imm::Index(l.prefixed("type")?),
            Format::Trap => {
                let w = l.word()?;
                match trap_from_name(&w) {
                    Some(c) => Imm::Trap(c),
                    None => return l.err(format!("unknown trap code `{w}`")),
                }
            }
            Format::Cell => Imm::Index(l.prefixed("cell")?),
        };
        let inst = match opcode.format() {
            Format::Jump => {
                let t = self.block_call(l)?;
                Builder::new(&mut self.func, block).branch(opcode, &[], &[t])
            }
            Format::BrIf => {
                let cond = self.use_value(l)?;
                l.punct(',')?;
                let t = self.block_call(l)?;
                l.punct(',')?;
                let e = self.block_call(l)?;
                Builder::new(&mut self.func, block).branch(opcode, &[cond], &[t, e])
            }
            Format::BrTable => {
                let index = self.use_value(l)?;
                l.punct(',')?;
                l.punct('[')?;
                let mut targets = Vec::new();
                if !l.eat(']') {
                    loop {
                        targets.push(self.block_call(l)?);
                        if l.eat(']') {
                            break;
                        }
                        l.punct(',')?;
                    }
                }
                l.punct(',')?;
                targets.push(self.block_call(l)?);
                Builder::new(&mut self.func, block).branch(opcode, &[index], &targets)
            }
            _ => {
                let args = self.value_list(l)?;
                let tys: Vec<Type> = if results.iter().all(|r| r.1.is_some()) {
                    results.iter().map(|r| r.1.unwrap()).collect()
                } else if let Some(t) = Function::fixed_result_types(opcode, &imm) {
                    t.to_vec()
                } else if opcode == Opcode::Select && !args.is_empty() {
                    vec![self.func.value_type(self.func.resolve(args[0]))]
                } else {
                    return l.err(format!(
                        "`{name}` needs its result types written (`v1:i32`)"
                    ));
                };
                if tys.len() != results.len() {
                    return l.err(format!(
                        "`{name}` has {} results, {} named",
                        tys.len(),
                        results.len()
                    ));
                }
                Builder::new(&mut self.func, block).inst(opcode, imm, &args, &tys)
            }
        };
        l.expect_end()?;
        if opcode.is_terminator() && !results.is_empty() {
            return l.err("a terminator has no results");
        }
        let rs: Vec<Value> = self.func.results(inst).collect();
        for ((n, _), v) in results.iter().zip(rs) {
            self.define_value(*n, v, l)?;
        }
        Ok(())
    }

    fn finish(mut self, header_line: usize) -> Result<Function, ParseError> {
        if let Some((n, (_, line))) = self.forward.iter().min_by_key(|(_, (_, line))| *line) {
            return Err(ParseError {
                line: *line,
                message: format!("value v{n} is never defined"),
            });
        }
        for (n, b) in &self.blocks {
            if !self.defined_blocks.contains(b) {
                return Err(ParseError {
                    line: header_line,
                    message: format!("block{n} is used but never defined"),
                });
            }
        }
        self.func.layout = std::mem::take(&mut self.defined_blocks);
        // Placeholders of forward references read through to their definitions.
        self.func.resolve_all_aliases();
        Ok(self.func)
    }
}
