//! Rewrite rules as data: the files under `ir/rules/`, parsed at start-up into egg rewrites.
//!
//! # Syntax (one rule per line; `ir/rules/README.md` has the invariants)
//! ```text
//! ; x + 0 is x (a comment before every rule says why it holds and why it pays)
//! add-zero[i32 i64]: (T.add ?x (T.const 0)) => ?x
//! mul-pow2[i32 i64]: (T.mul ?x ?c) => (T.shl ?x (T.ctz ?c)) if (power-of-two ?c)
//! ```
//! - `NAME[TYPES]:` instantiates the rule once per type, with `T` in opcode names replaced
//!   by it (`add-zero.i32`, `add-zero.i64`); `NAME:` alone is one rule.
//! - Patterns are s-expressions over the IR's text names; `?x` is a variable (`?x:f32`
//!   gives its type where no opcode implies it); `(T.const N)` is a constant (decimal,
//!   `0x` hex, negative; float constants as bits `0x...` or decimal `1.0`).
//! - `if (GUARD ?a ...) ...`: guards, named conditions implemented in Rust ([`Guard`]), each
//!   with a symbolic form over the e-graph's facts and a concrete form over values; the
//!   symbolic one must imply the concrete one, which is what the property tests check rules
//!   against.
//! - The right-hand side may apply pure operators to constants (`(T.ctz ?c)`): the constant
//!   folder evaluates them when the rule fires.
//! - The address family (`address.rules`) rewrites a memory access's address: its right-hand
//!   side is `(addr BASE OFFSET)`, meaning "BASE, with the constant OFFSET added to the
//!   access's static offset". Those rules run at elaboration, on the address operand of each
//!   access, not inside the e-graph (accesses are in the skeleton).

use super::facts::{Facts, FactsAnalysis, Graph};
use super::lang::{imm_bits, int_width, type_mask, Node};
use crate::eval::eval_pure;
use crate::function::Imm;
use crate::opcode::Opcode;
use crate::types::{type_from_name, Type};
use egg::{Id, Pattern, PatternAst, RecExpr, Rewrite, Subst, Var};
use std::fmt;

/// The rule families, one file each.
pub const FAMILIES: &[(&str, &str)] = &[
    ("arith", include_str!("../../rules/arith.rules")),
    ("bits", include_str!("../../rules/bits.rules")),
    ("shifts", include_str!("../../rules/shifts.rules")),
    ("compare", include_str!("../../rules/compare.rules")),
    ("convert", include_str!("../../rules/convert.rules")),
    ("address", include_str!("../../rules/address.rules")),
];

/// A pattern term: what a rule's sides are made of.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    Var(String),
    /// An operator applied to terms; `imm` as in [`Node::Op`].
    Op {
        op: Opcode,
        imm: u64,
        args: Vec<Term>,
    },
    /// `(addr BASE OFFSET)` (address rules only).
    Addr(Box<Term>, Box<Term>),
}

/// A named condition over variables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// The variable's class is a constant.
    Const,
    /// The variable's class is not known to be a constant.
    NotConst,
    /// A constant power of two.
    PowerOfTwo,
    /// A constant below the type's width.
    LtWidth,
    /// A constant at or above the type's width.
    GeWidth,
    /// Two constants below the width whose sum is below it too.
    SumLtWidth,
    /// Known to be 0 or 1.
    IsBool,
    /// Known non-zero.
    NonZero,
    /// Known zero.
    Zero,
    /// `(mask-covers ?x ?c)`: every bit of `?x` that may be one is set in the constant `?c`.
    MaskCovers,
    /// `(no-wrap-add ?x ?c)`: `?x + ?c` does not wrap around 2^32 (unsigned).
    NoWrapAdd,
}

impl Guard {
    const ALL: &'static [(&'static str, Guard, usize)] = &[
        ("const", Guard::Const, 1),
        ("not-const", Guard::NotConst, 1),
        ("power-of-two", Guard::PowerOfTwo, 1),
        ("lt-width", Guard::LtWidth, 1),
        ("ge-width", Guard::GeWidth, 1),
        ("sum-lt-width", Guard::SumLtWidth, 2),
        ("is-bool", Guard::IsBool, 1),
        ("nonzero", Guard::NonZero, 1),
        ("zero", Guard::Zero, 1),
        ("mask-covers", Guard::MaskCovers, 2),
        ("no-wrap-add", Guard::NoWrapAdd, 2),
    ];

    fn from_name(s: &str) -> Option<(Guard, usize)> {
        Guard::ALL
            .iter()
            .find(|(n, ..)| *n == s)
            .map(|&(_, g, a)| (g, a))
    }

    pub fn name(self) -> &'static str {
        Guard::ALL.iter().find(|(_, g, _)| *g == self).unwrap().0
    }

    /// Over concrete values: what the guard promises about them.
    pub fn holds(self, args: &[(u64, Type)]) -> bool {
        let (a, ty) = args[0];
        let mask = type_mask(ty);
        let a = a & mask;
        let width = u64::from(int_width(ty).unwrap_or(64));
        match self {
            Guard::Const | Guard::NotConst => true,
            Guard::PowerOfTwo => a.is_power_of_two(),
            Guard::LtWidth => a < width,
            Guard::GeWidth => a >= width,
            Guard::SumLtWidth => {
                let b = args[1].0 & mask;
                a < width && b < width && a + b < width
            }
            Guard::IsBool => a <= 1,
            Guard::NonZero => a != 0,
            Guard::Zero => a == 0,
            Guard::MaskCovers => {
                let c = args[1].0 & mask;
                a & !c == 0
            }
            Guard::NoWrapAdd => {
                let c = args[1].0 & u64::from(u32::MAX);
                (a & u64::from(u32::MAX)) + c <= u64::from(u32::MAX)
            }
        }
    }

    /// Over the e-graph's facts: must imply [`Guard::holds`] for every value of the classes.
    pub fn holds_for(self, facts: &[Facts]) -> bool {
        let f = facts[0];
        let konst = |i: usize| facts[i].konst.map(|c| (c, facts[i].ty));
        match self {
            Guard::Const => f.konst.is_some(),
            Guard::NotConst => f.konst.is_none(),
            Guard::PowerOfTwo | Guard::LtWidth | Guard::GeWidth | Guard::Zero => {
                konst(0).is_some_and(|c| self.holds(&[c]))
            }
            Guard::SumLtWidth => match (konst(0), konst(1)) {
                (Some(a), Some(b)) => self.holds(&[a, b]),
                _ => false,
            },
            Guard::IsBool => f.zeros & type_mask(f.ty) & !1 == type_mask(f.ty) & !1,
            Guard::NonZero => f.ones & type_mask(f.ty) != 0,
            Guard::MaskCovers => match konst(1) {
                Some((c, _)) => f.max_unsigned_bits() & !c == 0,
                None => false,
            },
            Guard::NoWrapAdd => match konst(1) {
                Some((c, _)) => {
                    f.ty == Type::I32
                        && f.max_unsigned() + (c & u64::from(u32::MAX)) <= u64::from(u32::MAX)
                }
                None => false,
            },
        }
    }
}

impl Facts {
    /// The bits that may be one.
    pub fn max_unsigned_bits(&self) -> u64 {
        !self.zeros & type_mask(self.ty)
    }
}

/// One rule, instantiated for one type.
#[derive(Clone, Debug)]
pub struct RuleDef {
    /// `family/name.type`, what statistics and switches use.
    pub name: String,
    pub family: String,
    /// The comment that says why the rule holds.
    pub why: String,
    pub lhs: Term,
    pub rhs: Term,
    pub guards: Vec<(Guard, Vec<String>)>,
    /// Each variable's type.
    pub var_types: Vec<(String, Type)>,
    /// Where the rule came from (`family.rules:LINE`).
    pub origin: String,
}

impl RuleDef {
    pub fn is_address_rule(&self) -> bool {
        matches!(self.rhs, Term::Addr(..))
    }

    pub fn var_type(&self, v: &str) -> Option<Type> {
        self.var_types.iter().find(|(n, _)| n == v).map(|(_, t)| *t)
    }

    /// Whether the guards hold for concrete values of the variables.
    pub fn guards_hold(&self, env: &[(String, u64)]) -> bool {
        self.guards.iter().all(|(g, vars)| {
            let args: Vec<(u64, Type)> = vars
                .iter()
                .map(|v| {
                    (
                        lookup(env, v).unwrap_or(0),
                        self.var_type(v).unwrap_or(Type::I32),
                    )
                })
                .collect();
            g.holds(&args)
        })
    }
}

fn lookup(env: &[(String, u64)], v: &str) -> Option<u64> {
    env.iter().find(|(n, _)| n == v).map(|(_, x)| *x)
}

/// Evaluates a term on concrete values (`None` if an operator is not evaluable).
pub fn eval_term(t: &Term, env: &[(String, u64)]) -> Option<u64> {
    match t {
        Term::Var(v) => lookup(env, v),
        Term::Op { op, imm, args } => {
            let vals: Option<Vec<u64>> = args.iter().map(|a| eval_term(a, env)).collect();
            let imm = super::lang::imm_from_bits(*op, *imm);
            eval_pure(*op, &imm, &vals?)
        }
        Term::Addr(..) => None,
    }
}

/// A parse error, with the file and line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError(pub String);

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleError {}

/// Parses one family's file.
pub fn parse_rules(family: &str, text: &str) -> Result<Vec<RuleDef>, RuleError> {
    let mut out = Vec::new();
    let mut why = String::new();
    for (ln, line) in text.lines().enumerate() {
        let origin = format!("{family}.rules:{}", ln + 1);
        let err = |m: String| RuleError(format!("{origin}: {m}"));
        let line = line.trim();
        if line.is_empty() {
            why.clear();
            continue;
        }
        if let Some(c) = line.strip_prefix(';') {
            if !why.is_empty() {
                why.push(' ');
            }
            why.push_str(c.trim());
            continue;
        }
        if why.is_empty() {
            return Err(err(
                "a rule must follow a `;` comment that says why it holds".into(),
            ));
        }
        let (head, body) = line
            .split_once(':')
            .ok_or_else(|| err("expected `NAME: LHS => RHS`".into()))?;
        let (name, types) = match head.split_once('[') {
            Some((n, rest)) => {
                let list = rest
                    .strip_suffix(']')
                    .ok_or_else(|| err("unclosed type list".into()))?;
                let mut tys = Vec::new();
                for t in list.split_whitespace() {
                    tys.push(type_from_name(t).ok_or_else(|| err(format!("unknown type {t}")))?);
                }
                (n.trim(), Some(tys))
            }
            None => (head.trim(), None),
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(err(format!("bad rule name `{name}`")));
        }
        let insts: Vec<Option<Type>> = match types {
            Some(t) => t.into_iter().map(Some).collect(),
            None => vec![None],
        };
        for ty in insts {
            let body = match ty {
                Some(t) => {
                    let n = crate::types::type_name(t);
                    body.replace("T.", &format!("{n}."))
                        .replace(":T", &format!(":{n}"))
                }
                None => body.to_string(),
            };
            let full = match ty {
                Some(t) => format!("{family}/{name}.{}", crate::types::type_name(t)),
                None => format!("{family}/{name}"),
            };
            let rule = parse_rule_body(&body, family, &full, &why, &origin).map_err(err)?;
            out.push(rule);
        }
        why.clear();
    }
    Ok(out)
}

fn parse_rule_body(
    body: &str,
    family: &str,
    name: &str,
    why: &str,
    origin: &str,
) -> Result<RuleDef, String> {
    let tokens = tokenize(body);
    let mut p = Parser {
        toks: &tokens,
        pos: 0,
        annotations: Vec::new(),
    };
    let lhs = p.term(false)?;
    p.expect("=>")?;
    let rhs = p.term(family == "address")?;
    let mut guards = Vec::new();
    if p.peek() == Some("if") {
        p.pos += 1;
        while p.peek().is_some() {
            p.expect("(")?;
            let g = p.next().ok_or("guard name expected")?.to_string();
            let g = g.as_str();
            let (guard, arity) = Guard::from_name(g).ok_or_else(|| format!("unknown guard {g}"))?;
            let mut vars = Vec::new();
            while p.peek() != Some(")") {
                let v = p.next().ok_or("unclosed guard")?.to_string();
                let v = v
                    .strip_prefix('?')
                    .ok_or_else(|| format!("guard {g} takes variables"))?;
                vars.push(v.split(':').next().unwrap_or(v).to_string());
            }
            p.pos += 1;
            if vars.len() != arity {
                return Err(format!("guard {g} takes {arity} variables"));
            }
            guards.push((guard, vars));
        }
    }
    if let Some(t) = p.peek() {
        return Err(format!("unexpected `{t}`"));
    }
    if let Term::Var(_) = lhs {
        return Err("a left-hand side must be an operator".into());
    }
    // Types: annotations, then what operators imply, to a fixed point.
    let mut types: Vec<(String, Type)> = p.annotations.clone();
    for _ in 0..4 {
        infer(&lhs, None, &mut types);
        infer(&rhs, None, &mut types);
    }
    let mut lhs_vars = Vec::new();
    vars_of(&lhs, &mut lhs_vars);
    let mut rhs_vars = Vec::new();
    vars_of(&rhs, &mut rhs_vars);
    for (_, vs) in &guards {
        rhs_vars.extend(vs.iter().cloned());
    }
    for v in &rhs_vars {
        if !lhs_vars.contains(v) {
            return Err(format!("?{v} is not bound by the left-hand side"));
        }
    }
    for v in &lhs_vars {
        if !types.iter().any(|(n, _)| n == v) {
            return Err(format!("the type of ?{v} is not known: write ?{v}:TYPE"));
        }
    }
    if family == "address" && !matches!(rhs, Term::Addr(..)) {
        return Err("an address rule's right-hand side is (addr BASE OFFSET)".into());
    }
    Ok(RuleDef {
        name: name.to_string(),
        family: family.to_string(),
        why: why.to_string(),
        lhs,
        rhs,
        guards,
        var_types: types,
        origin: origin.to_string(),
    })
}

fn vars_of(t: &Term, out: &mut Vec<String>) {
    match t {
        Term::Var(v) => {
            if !out.contains(v) {
                out.push(v.clone())
            }
        }
        Term::Op { args, .. } => args.iter().for_each(|a| vars_of(a, out)),
        Term::Addr(a, b) => {
            vars_of(a, out);
            vars_of(b, out);
        }
    }
}

/// Records the types that operators imply for variables; `want` is the type the context
/// expects of `t`. Returns `t`'s type when known.
fn infer(t: &Term, want: Option<Type>, types: &mut Vec<(String, Type)>) -> Option<Type> {
    match t {
        Term::Var(v) => {
            if let Some(ty) = types.iter().find(|(n, _)| n == v).map(|(_, t)| *t) {
                return Some(ty);
            }
            if let Some(w) = want {
                types.push((v.clone(), w));
            }
            want
        }
        Term::Op { op, imm, args } => match op {
            Opcode::Select => {
                let mut ty = want;
                for a in &args[..2] {
                    ty = ty.or(infer(a, ty, types));
                }
                for a in &args[..2] {
                    infer(a, ty, types);
                }
                infer(&args[2], Some(Type::I32), types);
                ty
            }
            Opcode::RefNull => Some(super::lang::type_from_code(*imm)),
            _ => {
                let sig = op.signature()?;
                for (a, &p) in args.iter().zip(sig.params) {
                    infer(a, Some(p), types);
                }
                sig.results.first().copied()
            }
        },
        Term::Addr(a, b) => {
            infer(a, Some(Type::I32), types);
            infer(b, Some(Type::I32), types);
            Some(Type::I32)
        }
    }
}

fn tokenize(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in s.chars() {
        match ch {
            '(' | ')' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(ch.to_string());
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

struct Parser<'a> {
    toks: &'a [String],
    pos: usize,
    annotations: Vec<(String, Type)>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).map(|s| s.as_str())
    }

    fn next(&mut self) -> Option<&str> {
        let t = self.toks.get(self.pos).map(|s| s.as_str());
        self.pos += 1;
        t
    }

    fn expect(&mut self, t: &str) -> Result<(), String> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            Some(x) => Err(format!("expected `{t}`, found `{x}`")),
            None => Err(format!("expected `{t}` at the end")),
        }
    }

    fn term(&mut self, allow_addr: bool) -> Result<Term, String> {
        let tok = self.next().ok_or("a term expected")?.to_string();
        if let Some(v) = tok.strip_prefix('?') {
            let (name, ty) = match v.split_once(':') {
                Some((n, t)) => (
                    n,
                    Some(type_from_name(t).ok_or(format!("unknown type {t}"))?),
                ),
                None => (v, None),
            };
            if name.is_empty() {
                return Err("empty variable name".into());
            }
            if let Some(ty) = ty {
                self.annotations.push((name.to_string(), ty));
            }
            return Ok(Term::Var(name.to_string()));
        }
        if tok != "(" {
            return Err(format!("expected `(` or a variable, found `{tok}`"));
        }
        let opname = self.next().ok_or("an operator expected")?.to_string();
        if opname == "addr" {
            if !allow_addr {
                return Err("(addr ..) only on the right of an address rule".into());
            }
            let base = self.term(false)?;
            let off = self.term(false)?;
            self.expect(")")?;
            return Ok(Term::Addr(Box::new(base), Box::new(off)));
        }
        let op = Opcode::from_name(&opname).ok_or_else(|| format!("unknown opcode {opname}"))?;
        if !super::lang::in_egraph(op) {
            return Err(format!("{opname} is not pure: it cannot appear in a rule"));
        }
        if super::lang::is_const_op(op) {
            let lit = self.next().ok_or("a constant expected")?.to_string();
            let bits = parse_const(op, &lit).ok_or_else(|| format!("bad constant {lit}"))?;
            self.expect(")")?;
            return Ok(Term::Op {
                op,
                imm: bits,
                args: Vec::new(),
            });
        }
        if matches!(op, Opcode::RefNull | Opcode::RefFunc) {
            return Err(format!("{opname} has no rule syntax"));
        }
        let mut args = Vec::new();
        while self.peek() != Some(")") {
            if self.peek().is_none() {
                return Err(format!("unclosed ({opname}"));
            }
            args.push(self.term(false)?);
        }
        self.pos += 1;
        let arity = match op.signature() {
            Some(s) => s.params.len(),
            None if op == Opcode::Select => 3,
            None => 1,
        };
        if args.len() != arity {
            return Err(format!(
                "{opname} takes {arity} operands, not {}",
                args.len()
            ));
        }
        Ok(Term::Op { op, imm: 0, args })
    }
}

fn parse_const(op: Opcode, lit: &str) -> Option<u64> {
    let int = |s: &str| -> Option<u64> {
        let (neg, s) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let v = match s.strip_prefix("0x") {
            Some(h) => u64::from_str_radix(&h.replace('_', ""), 16).ok()?,
            None => s.replace('_', "").parse::<u64>().ok()?,
        };
        Some(if neg { v.wrapping_neg() } else { v })
    };
    let imm = match op {
        Opcode::I32Const => Imm::I32(int(lit)? as u32 as i32),
        Opcode::I64Const => Imm::I64(int(lit)? as i64),
        Opcode::F32Const if lit.starts_with("0x") => Imm::F32(int(lit)? as u32),
        Opcode::F64Const if lit.starts_with("0x") => Imm::F64(int(lit)?),
        Opcode::F32Const => Imm::F32(lit.parse::<f32>().ok()?.to_bits()),
        Opcode::F64Const => Imm::F64(lit.parse::<f64>().ok()?.to_bits()),
        _ => return None,
    };
    imm_bits(op, &imm)
}

// ---- into egg ----------------------------------------------------------------------------

fn to_ast(t: &Term, ast: &mut PatternAst<Node>) -> Id {
    match t {
        Term::Var(v) => ast.add(egg::ENodeOrVar::Var(var(v))),
        Term::Op { op, imm, args } => {
            let ids: Vec<Id> = args.iter().map(|a| to_ast(a, ast)).collect();
            ast.add(egg::ENodeOrVar::ENode(Node::op(*op, *imm, &ids)))
        }
        Term::Addr(..) => unreachable!("address rules are not egg rewrites"),
    }
}

pub fn var(name: &str) -> Var {
    format!("?{name}").parse().expect("a variable name")
}

/// A term as an egg pattern.
pub fn pattern(t: &Term) -> Pattern<Node> {
    let mut ast = RecExpr::default();
    to_ast(t, &mut ast);
    Pattern::new(ast)
}

/// The guards of a rule, checked on the facts of the matched classes.
struct Guards(Vec<(Guard, Vec<Var>)>);

impl egg::Condition<Node, FactsAnalysis> for Guards {
    fn check(&self, egraph: &mut Graph, _eclass: Id, subst: &Subst) -> bool {
        self.0.iter().all(|(g, vars)| {
            let facts: Vec<Facts> = vars.iter().map(|v| egraph[subst[*v]].data).collect();
            g.holds_for(&facts)
        })
    }

    fn vars(&self) -> Vec<Var> {
        self.0.iter().flat_map(|(_, v)| v.iter().copied()).collect()
    }
}

/// A child of a one-level pattern.
#[derive(Clone, Debug)]
enum Slot {
    /// A variable (index into `ShallowSearcher::vars`).
    Var(usize),
    /// A constant, matched on the class's folded value.
    Const(u64),
}

/// The searcher of a one-level left side, `(op ?a (T.const 0) ...)`: most rules. egg's
/// pattern machine allocates a match for every node of the root's operator before the
/// guards run; this one checks constants and guards on the facts first and allocates only
/// for real matches (the guards are checked again by the applier: both must hold).
struct ShallowSearcher {
    root: (Opcode, u64, usize, Option<crate::Value>),
    slots: Vec<Slot>,
    vars: Vec<Var>,
    guards: Vec<(Guard, Vec<usize>)>,
}

impl ShallowSearcher {
    fn new(rule: &RuleDef) -> Option<ShallowSearcher> {
        let Term::Op { op, imm, args } = &rule.lhs else {
            return None;
        };
        let mut names: Vec<&str> = Vec::new();
        let mut slots = Vec::new();
        for a in args {
            match a {
                Term::Var(v) => {
                    let i = match names.iter().position(|n| n == v) {
                        Some(i) => i,
                        None => {
                            names.push(v);
                            names.len() - 1
                        }
                    };
                    slots.push(Slot::Var(i));
                }
                Term::Op { op, imm, args } if args.is_empty() && super::lang::is_const_op(*op) => {
                    slots.push(Slot::Const(*imm))
                }
                _ => return None,
            }
        }
        let guards = rule
            .guards
            .iter()
            .map(|(g, vs)| {
                let idx: Option<Vec<usize>> = vs
                    .iter()
                    .map(|v| names.iter().position(|n| n == v))
                    .collect();
                idx.map(|i| (*g, i))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(ShallowSearcher {
            root: (*op, *imm, args.len(), None),
            slots,
            vars: names.iter().map(|n| var(n)).collect(),
            guards,
        })
    }

    fn match_node(&self, egraph: &Graph, node: &Node, bound: &mut [Option<Id>]) -> bool {
        bound.iter_mut().for_each(|b| *b = None);
        for (slot, &child) in self.slots.iter().zip(egg::Language::children(node)) {
            let child = egraph.find(child);
            match slot {
                Slot::Const(c) => {
                    if egraph[child].data.konst != Some(*c) {
                        return false;
                    }
                }
                Slot::Var(i) => match bound[*i] {
                    Some(b) if b != child => return false,
                    Some(_) => {}
                    None => bound[*i] = Some(child),
                },
            }
        }
        self.guards.iter().all(|(g, idx)| {
            let facts: smallvec::SmallVec<[Facts; 2]> = idx
                .iter()
                .map(|&i| egraph[bound[i].expect("bound")].data)
                .collect();
            g.holds_for(&facts)
        })
    }
}

impl egg::Searcher<Node, FactsAnalysis> for ShallowSearcher {
    fn search_eclass_with_limit(
        &self,
        egraph: &Graph,
        eclass: Id,
        limit: usize,
    ) -> Option<egg::SearchMatches<'_, Node>> {
        let mut bound: smallvec::SmallVec<[Option<Id>; 3]> =
            smallvec::smallvec![None; self.vars.len()];
        let mut substs = Vec::new();
        for node in &egraph[eclass].nodes {
            if egg::Language::discriminant(node) != self.root {
                continue;
            }
            if self.match_node(egraph, node, &mut bound) {
                let mut s = Subst::with_capacity(self.vars.len());
                for (v, b) in self.vars.iter().zip(bound.iter()) {
                    s.insert(*v, b.expect("every variable is bound"));
                }
                substs.push(s);
                if substs.len() >= limit {
                    break;
                }
            }
        }
        (!substs.is_empty()).then_some(egg::SearchMatches {
            eclass,
            substs,
            ast: None,
        })
    }

    fn search_with_limit(
        &self,
        egraph: &Graph,
        mut limit: usize,
    ) -> Vec<egg::SearchMatches<'_, Node>> {
        let mut out = Vec::new();
        let Some(classes) = egraph.classes_for_op(&self.root) else {
            return out;
        };
        for id in classes {
            if limit == 0 {
                break;
            }
            if let Some(m) = self.search_eclass_with_limit(egraph, id, limit) {
                limit = limit.saturating_sub(m.substs.len());
                out.push(m);
            }
        }
        out
    }

    fn vars(&self) -> Vec<Var> {
        self.vars.clone()
    }
}

/// A nested left side, `(op ?a (op2 ?b (T.const 1)))`, flattened into its operator nodes in
/// preorder. egg's pattern machine allocates its registers and a match per candidate class;
/// this searcher backtracks over the classes' nodes with a few inline buffers, checks
/// constants and guards on the facts first, and allocates only for real matches.
struct TreeSearcher {
    /// Operator nodes in preorder (the root first); each reads its class from register
    /// `reg` (the root from register 0).
    ops: Vec<TreeOp>,
    vars: Vec<Var>,
    guards: Vec<(Guard, Vec<usize>)>,
    registers: usize,
}

struct TreeOp {
    key: (Opcode, u64, usize, Option<crate::Value>),
    reg: usize,
    args: Vec<TreeArg>,
}

enum TreeArg {
    Var(usize),
    Const(u64),
    /// An operator node: the child's class goes to this register.
    Op(usize),
}

/// Room for the variables and registers of every built-in rule without a heap allocation.
type Regs = smallvec::SmallVec<[Option<Id>; 8]>;

impl TreeSearcher {
    fn new(rule: &RuleDef) -> Option<TreeSearcher> {
        let mut s = TreeSearcher {
            ops: Vec::new(),
            vars: Vec::new(),
            guards: Vec::new(),
            registers: 1,
        };
        let mut names: Vec<&str> = Vec::new();
        fn flatten<'r>(
            t: &'r Term,
            reg: usize,
            s: &mut TreeSearcher,
            names: &mut Vec<&'r str>,
        ) -> Option<()> {
            let Term::Op { op, imm, args } = t else {
                return None;
            };
            let at = s.ops.len();
            s.ops.push(TreeOp {
                key: (*op, *imm, args.len(), None),
                reg,
                args: Vec::new(),
            });
            let mut nested = Vec::new();
            for a in args {
                let arg = match a {
                    Term::Var(v) => TreeArg::Var(match names.iter().position(|n| n == v) {
                        Some(i) => i,
                        None => {
                            names.push(v);
                            names.len() - 1
                        }
                    }),
                    Term::Op { op, imm, args }
                        if args.is_empty() && super::lang::is_const_op(*op) =>
                    {
                        TreeArg::Const(*imm)
                    }
                    Term::Op { .. } => {
                        s.registers += 1;
                        nested.push((a, s.registers - 1));
                        TreeArg::Op(s.registers - 1)
                    }
                    Term::Addr(..) => return None,
                };
                s.ops[at].args.push(arg);
            }
            for (a, r) in nested {
                flatten(a, r, s, names)?;
            }
            Some(())
        }
        flatten(&rule.lhs, 0, &mut s, &mut names)?;
        // Preorder with children flattened after their parent: every register is written by
        // an earlier operator than the one that reads it.
        s.guards = rule
            .guards
            .iter()
            .map(|(g, vs)| {
                let idx: Option<Vec<usize>> = vs
                    .iter()
                    .map(|v| names.iter().position(|n| n == v))
                    .collect();
                idx.map(|i| (*g, i))
            })
            .collect::<Option<Vec<_>>>()?;
        s.vars = names.iter().map(|n| var(n)).collect();
        Some(s)
    }

    /// Matches operator `k` onward; calls `found` with the bound variables of each match.
    /// Returns false once `found` asks to stop.
    fn step(
        &self,
        egraph: &Graph,
        k: usize,
        regs: &mut Regs,
        bound: &mut Regs,
        found: &mut dyn FnMut(&[Option<Id>]) -> bool,
    ) -> bool {
        let Some(op) = self.ops.get(k) else {
            let holds = self.guards.iter().all(|(g, idx)| {
                let facts: smallvec::SmallVec<[Facts; 2]> = idx
                    .iter()
                    .map(|&i| egraph[bound[i].expect("bound")].data)
                    .collect();
                g.holds_for(&facts)
            });
            return !holds || found(bound);
        };
        let class = regs[op.reg].expect("written by an earlier operator");
        let saved = bound.clone();
        for node in &egraph[class].nodes {
            if egg::Language::discriminant(node) != op.key {
                continue;
            }
            let mut ok = true;
            for (arg, &child) in op.args.iter().zip(egg::Language::children(node)) {
                let child = egraph.find(child);
                match *arg {
                    TreeArg::Const(c) => ok = egraph[child].data.konst == Some(c),
                    TreeArg::Var(i) => match bound[i] {
                        Some(b) => ok = b == child,
                        None => bound[i] = Some(child),
                    },
                    TreeArg::Op(r) => regs[r] = Some(child),
                }
                if !ok {
                    break;
                }
            }
            if ok && !self.step(egraph, k + 1, regs, bound, found) {
                return false;
            }
            bound.clone_from(&saved);
        }
        true
    }
}

impl egg::Searcher<Node, FactsAnalysis> for TreeSearcher {
    fn search_eclass_with_limit(
        &self,
        egraph: &Graph,
        eclass: Id,
        limit: usize,
    ) -> Option<egg::SearchMatches<'_, Node>> {
        let mut regs: Regs = smallvec::smallvec![None; self.registers];
        let mut bound: Regs = smallvec::smallvec![None; self.vars.len()];
        regs[0] = Some(egraph.find(eclass));
        let mut substs: Vec<Subst> = Vec::new();
        self.step(egraph, 0, &mut regs, &mut bound, &mut |b| {
            let mut s = Subst::with_capacity(self.vars.len());
            for (v, id) in self.vars.iter().zip(b) {
                s.insert(*v, id.expect("every variable is bound"));
            }
            // Like egg's machine, no deduplication: applying a match twice changes nothing.
            substs.push(s);
            substs.len() < limit
        });
        (!substs.is_empty()).then_some(egg::SearchMatches {
            eclass,
            substs,
            ast: None,
        })
    }

    fn search_with_limit(
        &self,
        egraph: &Graph,
        mut limit: usize,
    ) -> Vec<egg::SearchMatches<'_, Node>> {
        let mut out = Vec::new();
        let Some(classes) = egraph.classes_for_op(&self.ops[0].key) else {
            return out;
        };
        for id in classes {
            if limit == 0 {
                break;
            }
            if let Some(m) = self.search_eclass_with_limit(egraph, id, limit) {
                limit = limit.saturating_sub(m.substs.len());
                out.push(m);
            }
        }
        out
    }

    fn vars(&self) -> Vec<Var> {
        self.vars.clone()
    }
}

/// The egg rewrite of a (non-address) rule.
pub fn rewrite(rule: &RuleDef) -> Result<Rewrite<Node, FactsAnalysis>, String> {
    let rhs = pattern(&rule.rhs);
    let guards = Guards(
        rule.guards
            .iter()
            .map(|(g, vs)| (*g, vs.iter().map(|v| var(v)).collect()))
            .collect(),
    );
    let applier = egg::ConditionalApplier {
        condition: guards,
        applier: rhs,
    };
    if let Some(s) = ShallowSearcher::new(rule) {
        return Rewrite::new(rule.name.as_str(), s, applier);
    }
    match TreeSearcher::new(rule) {
        Some(s) => Rewrite::new(rule.name.as_str(), s, applier),
        None => Rewrite::new(rule.name.as_str(), pattern(&rule.lhs), applier),
    }
}

/// Whether the guards of an address rule hold for a match.
pub fn guards_hold_for(rule: &RuleDef, egraph: &Graph, subst: &Subst) -> bool {
    rule.guards.iter().all(|(g, vars)| {
        let facts: Vec<Facts> = vars.iter().map(|v| egraph[subst[var(v)]].data).collect();
        g.holds_for(&facts)
    })
}

/// An address rule ready for the elaborator, prepared once rather than per function: its
/// left side as a pattern, the variables of its base and offset, and its guards over egg
/// variables.
pub struct AddressRule {
    pub rule: &'static RuleDef,
    pub pattern: Pattern<Node>,
    pub base: Var,
    pub offset: Var,
    guards: Vec<(Guard, Vec<Var>)>,
}

impl AddressRule {
    /// [`guards_hold_for`] without parsing variable names.
    pub fn guards_hold(&self, egraph: &Graph, subst: &Subst) -> bool {
        self.guards.iter().all(|(g, vars)| {
            let facts: smallvec::SmallVec<[Facts; 3]> =
                vars.iter().map(|v| egraph[subst[*v]].data).collect();
            g.holds_for(&facts)
        })
    }
}

/// The address rules (`Term::Addr` right sides whose base and offset are variables), in
/// [`all_rules`] order.
pub fn address_rules() -> &'static [AddressRule] {
    static RULES: std::sync::OnceLock<Vec<AddressRule>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        all_rules()
            .iter()
            .filter(|r| r.is_address_rule())
            .filter_map(|rule| {
                let Term::Addr(base, off) = &rule.rhs else {
                    return None;
                };
                let (Term::Var(bv), Term::Var(ov)) = (&**base, &**off) else {
                    return None;
                };
                Some(AddressRule {
                    rule,
                    pattern: pattern(&rule.lhs),
                    base: var(bv),
                    offset: var(ov),
                    guards: rule
                        .guards
                        .iter()
                        .map(|(g, vars)| (*g, vars.iter().map(|v| var(v)).collect()))
                        .collect(),
                })
            })
            .collect()
    })
}

/// Every rule of every family, parsed once.
pub fn all_rules() -> &'static [RuleDef] {
    static RULES: std::sync::OnceLock<Vec<RuleDef>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        let mut all = Vec::new();
        for (family, text) in FAMILIES {
            // The files are part of the binary and a test parses them: an error here is a
            // build defect, reported with its line.
            match parse_rules(family, text) {
                Ok(r) => all.extend(r),
                Err(e) => panic!("built-in rule file: {e}"),
            }
        }
        all
    })
}

/// The egg rewrites of the built-in rules, in [`all_rules`] order (address rules excluded).
pub fn all_rewrites() -> &'static [(usize, Rewrite<Node, FactsAnalysis>)] {
    static RW: std::sync::OnceLock<Vec<(usize, Rewrite<Node, FactsAnalysis>)>> =
        std::sync::OnceLock::new();
    RW.get_or_init(|| {
        all_rules()
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.is_address_rule())
            .map(|(i, r)| match rewrite(r) {
                Ok(rw) => (i, rw),
                Err(e) => panic!("built-in rule {}: {e}", r.name),
            })
            .collect()
    })
}

/// A set of opcodes (a bitset over the opcode table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpSet([u64; 8]);

impl OpSet {
    pub fn insert(&mut self, op: Opcode) {
        let i = op as usize;
        self.0[i / 64] |= 1 << (i % 64);
    }

    pub fn contains_all(&self, other: &OpSet) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| b & !a == 0)
    }

    pub fn union(&mut self, other: &OpSet) -> bool {
        let before = self.0;
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
        before != self.0
    }

    /// The operators a term mentions.
    pub fn of_term(t: &Term) -> OpSet {
        let mut s = OpSet::default();
        fn walk(t: &Term, s: &mut OpSet) {
            match t {
                Term::Var(_) => {}
                Term::Op { op, args, .. } => {
                    s.insert(*op);
                    args.iter().for_each(|a| walk(a, s));
                }
                Term::Addr(a, b) => {
                    walk(a, s);
                    walk(b, s);
                }
            }
        }
        walk(t, &mut s);
        s
    }
}

/// The operators each built-in rule needs (left side) and introduces (right side), in
/// [`all_rules`] order.
pub fn rule_opsets() -> &'static [(OpSet, OpSet)] {
    static SETS: std::sync::OnceLock<Vec<(OpSet, OpSet)>> = std::sync::OnceLock::new();
    SETS.get_or_init(|| {
        all_rules()
            .iter()
            .map(|r| (OpSet::of_term(&r.lhs), OpSet::of_term(&r.rhs)))
            .collect()
    })
}
