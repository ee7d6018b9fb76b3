//! lexer: a tokenizer and a tiny parser for a C-like language, in idiomatic
//! Rust: an enum of tokens with owned identifiers, a `Peekable<Chars>`
//! scanner, keyword lookup by `match` on `&str`, and a recursive-descent
//! pass over the token stream that counts declarations, nesting depth and
//! folds constant expressions. The source text is generated.
//!
//! argv[1]: number of generated functions (default DEFAULT_SIZE).
//! Output : "checksum: <u64>".

use std::iter::Peekable;
use std::str::Chars;

const DEFAULT_SIZE: u64 = 700;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Int(i64),
    Str(String),
    Kw(Kw),
    Punct(char),
    Op2([char; 2]),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kw {
    Fn,
    Let,
    If,
    Else,
    While,
    Return,
}

struct Lexer<'a> {
    it: Peekable<Chars<'a>>,
    line: u32,
}

impl<'a> Lexer<'a> {
    fn new(s: &'a str) -> Self {
        Lexer { it: s.chars().peekable(), line: 1 }
    }
}

impl Iterator for Lexer<'_> {
    type Item = Tok;
    fn next(&mut self) -> Option<Tok> {
        loop {
            let c = *self.it.peek()?;
            if c == '\n' {
                self.line += 1;
                self.it.next();
            } else if c.is_whitespace() {
                self.it.next();
            } else if c == '/' {
                self.it.next();
                if self.it.peek() == Some(&'/') {
                    for c in self.it.by_ref() {
                        if c == '\n' {
                            self.line += 1;
                            break;
                        }
                    }
                } else {
                    return Some(Tok::Punct('/'));
                }
            } else {
                break;
            }
        }
        let c = self.it.next()?;
        Some(if c.is_ascii_alphabetic() || c == '_' {
            let mut s = String::from(c);
            while let Some(&d) = self.it.peek() {
                if d.is_ascii_alphanumeric() || d == '_' {
                    s.push(d);
                    self.it.next();
                } else {
                    break;
                }
            }
            match s.as_str() {
                "fn" => Tok::Kw(Kw::Fn),
                "let" => Tok::Kw(Kw::Let),
                "if" => Tok::Kw(Kw::If),
                "else" => Tok::Kw(Kw::Else),
                "while" => Tok::Kw(Kw::While),
                "return" => Tok::Kw(Kw::Return),
                _ => Tok::Ident(s),
            }
        } else if c.is_ascii_digit() {
            let mut v = i64::from(c as u8 - b'0');
            while let Some(d) = self.it.peek().and_then(|d| d.to_digit(10)) {
                v = v.wrapping_mul(10).wrapping_add(i64::from(d));
                self.it.next();
            }
            Tok::Int(v)
        } else if c == '"' {
            let s: String = self.it.by_ref().take_while(|&d| d != '"').collect();
            Tok::Str(s)
        } else {
            match (c, self.it.peek().copied()) {
                ('=', Some('=')) | ('!', Some('=')) | ('<', Some('=')) | ('>', Some('=')) | ('&', Some('&')) => {
                    let d = self.it.next().expect("peeked");
                    Tok::Op2([c, d])
                }
                _ => Tok::Punct(c),
            }
        })
    }
}

#[derive(Default)]
struct Stats {
    fns: u64,
    lets: u64,
    max_depth: u64,
    folded: i64,
    idents: u64,
}

struct Parser<I: Iterator<Item = Tok>> {
    toks: Peekable<I>,
    st: Stats,
}

impl<I: Iterator<Item = Tok>> Parser<I> {
    fn eat(&mut self, t: &Tok) -> bool {
        if self.toks.peek() == Some(t) {
            self.toks.next();
            true
        } else {
            false
        }
    }
    /// expr := term (('+'|'-'|'<'|'=='|...) term)*; returns the folded value (idents count 1)
    fn expr(&mut self) -> i64 {
        let mut v = self.term();
        loop {
            match self.toks.peek() {
                Some(Tok::Punct('+')) => {
                    self.toks.next();
                    v = v.wrapping_add(self.term());
                }
                Some(Tok::Punct('-')) => {
                    self.toks.next();
                    v = v.wrapping_sub(self.term());
                }
                Some(Tok::Punct('<')) | Some(Tok::Op2(_)) => {
                    self.toks.next();
                    v = i64::from(v < self.term());
                }
                _ => return v,
            }
        }
    }
    fn term(&mut self) -> i64 {
        let mut v = self.atom();
        while self.eat(&Tok::Punct('*')) {
            v = v.wrapping_mul(self.atom());
        }
        v
    }
    fn atom(&mut self) -> i64 {
        match self.toks.next() {
            Some(Tok::Int(v)) => v,
            Some(Tok::Ident(s)) => {
                self.st.idents += 1;
                if self.eat(&Tok::Punct('(')) {
                    let mut acc = s.len() as i64;
                    while !self.eat(&Tok::Punct(')')) {
                        acc = acc.wrapping_add(self.expr());
                        self.eat(&Tok::Punct(','));
                    }
                    acc
                } else {
                    s.bytes().map(i64::from).sum::<i64>() % 7
                }
            }
            Some(Tok::Str(s)) => s.len() as i64,
            Some(Tok::Punct('(')) => {
                let v = self.expr();
                self.eat(&Tok::Punct(')'));
                v
            }
            _ => 0,
        }
    }
    fn block(&mut self, depth: u64) {
        self.st.max_depth = self.st.max_depth.max(depth);
        self.eat(&Tok::Punct('{'));
        while let Some(t) = self.toks.peek().cloned() {
            match t {
                Tok::Punct('}') => {
                    self.toks.next();
                    return;
                }
                Tok::Kw(Kw::Let) => {
                    self.toks.next();
                    self.toks.next(); // name
                    self.eat(&Tok::Punct('='));
                    self.st.lets += 1;
                    let v = self.expr();
                    self.st.folded = self.st.folded.wrapping_mul(3).wrapping_add(v);
                    self.eat(&Tok::Punct(';'));
                }
                Tok::Kw(Kw::If) | Tok::Kw(Kw::While) => {
                    self.toks.next();
                    let c = self.expr();
                    self.st.folded ^= c;
                    self.block(depth + 1);
                    if self.eat(&Tok::Kw(Kw::Else)) {
                        self.block(depth + 1);
                    }
                }
                Tok::Kw(Kw::Return) => {
                    self.toks.next();
                    let v = self.expr();
                    self.st.folded = self.st.folded.wrapping_add(v);
                    self.eat(&Tok::Punct(';'));
                }
                _ => {
                    self.expr();
                    self.eat(&Tok::Punct(';'));
                }
            }
        }
    }
    fn program(&mut self) {
        while self.eat(&Tok::Kw(Kw::Fn)) {
            self.st.fns += 1;
            self.toks.next(); // name
            while !self.eat(&Tok::Punct(')')) {
                self.toks.next();
            }
            self.block(1);
        }
    }
}

fn rnd(rng: &mut u64) -> u32 {
    *rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    (*rng >> 33) as u32
}

fn gen_block(out: &mut String, rng: &mut u64, depth: u32) {
    out.push_str("{\n");
    let n = 2 + rnd(rng) % 5;
    for i in 0..n {
        let indent = "    ".repeat(depth as usize);
        out.push_str(&indent);
        match rnd(rng) % 6 {
            0 | 1 => out.push_str(&format!("let v{i} = {} + x{} * ({} - y);\n", rnd(rng) % 1000, rnd(rng) % 9, rnd(rng) % 77)),
            2 if depth < 5 => {
                out.push_str(&format!("if v{} <= {} ", i, rnd(rng) % 50));
                gen_block(out, rng, depth + 1);
                return_else(out, rng, depth);
                continue;
            }
            3 if depth < 5 => {
                out.push_str("while n != 0 && k < 10 ");
                gen_block(out, rng, depth + 1);
                out.push('\n');
                continue;
            }
            4 => out.push_str(&format!("call_{}(a, \"str{}\", {}) ; // note {}\n", rnd(rng) % 13, rnd(rng) % 100, rnd(rng) % 10, rnd(rng))),
            _ => out.push_str(&format!("return r{} * 2 + {};\n", rnd(rng) % 5, rnd(rng) % 100)),
        }
    }
    out.push_str(&"    ".repeat(depth as usize - 1));
    out.push('}');
}

fn return_else(out: &mut String, rng: &mut u64, depth: u32) {
    *rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    if (*rng >> 40) % 2 == 0 {
        out.push_str(" else ");
        gen_block(out, rng, depth + 1);
    }
    out.push('\n');
}

fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(DEFAULT_SIZE);
    let mut rng: u64 = 7;
    let mut src = String::new();
    for f in 0..count {
        src.push_str(&format!("fn func_{f}(a, b, n) "));
        gen_block(&mut src, &mut rng, 1);
        src.push('\n');
    }
    let mut sum: u64 = src.len() as u64;
    for pass in 0..3 {
        let mut lx = Lexer::new(&src);
        let mut kinds = [0u64; 6];
        let toks: Vec<Tok> = lx.by_ref().collect();
        for t in &toks {
            let k = match t {
                Tok::Ident(_) => 0,
                Tok::Int(_) => 1,
                Tok::Str(_) => 2,
                Tok::Kw(_) => 3,
                Tok::Punct(_) => 4,
                Tok::Op2(_) => 5,
            };
            kinds[k] += 1;
        }
        let mut p = Parser { toks: toks.into_iter().peekable(), st: Stats::default() };
        p.program();
        let st = p.st;
        for k in kinds {
            sum = sum.wrapping_mul(31).wrapping_add(k);
        }
        sum = sum
            .wrapping_mul(31)
            .wrapping_add(st.fns + st.lets * 3 + st.max_depth * 5 + st.idents + u64::from(lx.line) + pass)
            .wrapping_add(st.folded as u64);
    }
    println!("checksum: {sum}");
}
