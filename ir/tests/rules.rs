//! Every rewrite rule is checked against wasm's semantics: both sides are evaluated with
//! `eval_pure` (the constant folder's evaluator) on edge values and on random ones, wherever
//! the rule's guards hold, and must agree bit for bit. A rule broken on purpose is caught.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use strata_ir::egraph::rules::{all_rules, eval_term, parse_rules, RuleDef, Term, FAMILIES};
use strata_ir::types::Type;

fn edges(ty: Type) -> Vec<u64> {
    match ty {
        Type::I32 => [
            0u32,
            1,
            2,
            3,
            4,
            7,
            8,
            15,
            16,
            24,
            31,
            32,
            33,
            63,
            64,
            255,
            256,
            0x7fff,
            0x8000,
            0xffff,
            0x1234_5678,
            0x7fff_ffff,
            0x8000_0000,
            0x8000_0001,
            0xffff_fffe,
            0xffff_ffff,
        ]
        .iter()
        .map(|&v| u64::from(v))
        .collect(),
        Type::I64 => vec![
            0,
            1,
            2,
            3,
            8,
            31,
            32,
            48,
            56,
            63,
            64,
            65,
            255,
            0xffff,
            0xffff_ffff,
            0x1_0000_0000,
            0x7fff_ffff,
            0x8000_0000,
            0x1234_5678_9abc_def0,
            i64::MAX as u64,
            i64::MIN as u64,
            (i64::MIN as u64) + 1,
            u64::MAX - 1,
            u64::MAX,
        ],
        Type::F32 => [
            0.0f32.to_bits(),
            (-0.0f32).to_bits(),
            1.0f32.to_bits(),
            (-1.0f32).to_bits(),
            0.5f32.to_bits(),
            f32::INFINITY.to_bits(),
            f32::NEG_INFINITY.to_bits(),
            f32::MAX.to_bits(),
            f32::MIN_POSITIVE.to_bits(),
            1, // the smallest subnormal
            0x7fc0_0000,
            0xffc0_0000,
            0x7fa0_0001, // signalling NaN with a payload
            0xff80_0001,
        ]
        .iter()
        .map(|&v| u64::from(v))
        .collect(),
        Type::F64 => vec![
            0.0f64.to_bits(),
            (-0.0f64).to_bits(),
            1.0f64.to_bits(),
            (-1.0f64).to_bits(),
            f64::INFINITY.to_bits(),
            f64::NEG_INFINITY.to_bits(),
            f64::MAX.to_bits(),
            f64::MIN_POSITIVE.to_bits(),
            1,
            0x7ff8_0000_0000_0000,
            0xfff8_0000_0000_0000,
            0x7ff4_0000_0000_0001,
            0xfff0_0000_0000_0001,
        ],
        _ => vec![0, 1],
    }
}

fn mask(ty: Type) -> u64 {
    match ty {
        Type::I32 | Type::F32 => u64::from(u32::MAX),
        _ => u64::MAX,
    }
}

fn result_type(rule: &RuleDef, t: &Term) -> Type {
    match t {
        Term::Var(v) => rule.var_type(v).unwrap_or(Type::I32),
        Term::Op { op, args, .. } => match op.signature() {
            Some(s) => s.results.first().copied().unwrap_or(Type::I32),
            None => result_type(rule, &args[0]),
        },
        Term::Addr(..) => Type::I32,
    }
}

/// Checks one assignment of the variables: `Ok(false)` when the guards do not hold.
fn check(rule: &RuleDef, env: &[(String, u64)]) -> Result<bool, String> {
    let env: Vec<(String, u64)> = env
        .iter()
        .map(|(n, v)| (n.clone(), v & mask(rule.var_type(n).unwrap_or(Type::I64))))
        .collect();
    if !rule.guards_hold(&env) {
        return Ok(false);
    }
    let lhs = eval_term(&rule.lhs, &env).ok_or("left side not evaluable")?;
    let ty = result_type(rule, &rule.lhs);
    let (l, r) = match &rule.rhs {
        Term::Addr(base, off) => {
            // zext(lhs) + offset == zext(base) + (offset + c): compare the effective address.
            let b = eval_term(base, &env).ok_or("base not evaluable")?;
            let o = eval_term(off, &env).ok_or("offset not evaluable")?;
            (lhs & mask(ty), (b & mask(ty)) + (o & mask(ty)))
        }
        rhs => {
            let r = eval_term(rhs, &env).ok_or("right side not evaluable")?;
            (lhs & mask(ty), r & mask(ty))
        }
    };
    if l != r {
        return Err(format!(
            "{} ({}) is wrong for {env:?}: left {l:#x}, right {r:#x}",
            rule.name, rule.origin
        ));
    }
    Ok(true)
}

fn vars(rule: &RuleDef) -> Vec<(String, Type)> {
    let mut out: Vec<(String, Type)> = Vec::new();
    fn walk(t: &Term, rule: &RuleDef, out: &mut Vec<(String, Type)>) {
        match t {
            Term::Var(v) => {
                if !out.iter().any(|(n, _)| n == v) {
                    out.push((v.clone(), rule.var_type(v).unwrap_or(Type::I32)));
                }
            }
            Term::Op { args, .. } => args.iter().for_each(|a| walk(a, rule, out)),
            Term::Addr(a, b) => {
                walk(a, rule, out);
                walk(b, rule, out);
            }
        }
    }
    walk(&rule.lhs, rule, &mut out);
    out
}

/// Every combination of edge values (at most ~20 per variable for three variables), then
/// proptest's random values mixed with edges. Returns how many cases satisfied the guards.
fn verify_rule(rule: &RuleDef) -> Result<usize, String> {
    let vs = vars(rule);
    let mut held = 0usize;
    let lists: Vec<Vec<u64>> = vs
        .iter()
        .map(|(_, t)| {
            let mut e = edges(*t);
            if vs.len() >= 3 {
                e.truncate(20);
            }
            e
        })
        .collect();
    let mut idx = vec![0usize; vs.len()];
    loop {
        let env: Vec<(String, u64)> = vs
            .iter()
            .zip(&idx)
            .zip(&lists)
            .map(|(((n, _), &i), l)| (n.clone(), l[i]))
            .collect();
        if check(rule, &env)? {
            held += 1;
        }
        // Next combination.
        let mut k = 0;
        while k < idx.len() {
            idx[k] += 1;
            if idx[k] < lists[k].len() {
                break;
            }
            idx[k] = 0;
            k += 1;
        }
        if k == idx.len() {
            break;
        }
    }
    if held == 0 {
        return Err(format!(
            "{}: no edge case satisfies the guards: the rule is never tested",
            rule.name
        ));
    }
    // Random values, some biased to small numbers so guards on counts and sums hold.
    let strategies: Vec<BoxedStrategy<u64>> = vs
        .iter()
        .map(|(_, t)| {
            let e = edges(*t);
            prop_oneof![
                3 => any::<u64>(),
                2 => 0u64..70,
                2 => proptest::sample::select(e),
            ]
            .boxed()
        })
        .collect();
    let mut runner = TestRunner::new(Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    });
    let names: Vec<String> = vs.iter().map(|(n, _)| n.clone()).collect();
    runner
        .run(&strategies, |values| {
            let env: Vec<(String, u64)> = names.iter().cloned().zip(values).collect();
            check(rule, &env).map(|_| ()).map_err(TestCaseError::fail)
        })
        .map_err(|e| format!("{}: {e}", rule.name))?;
    Ok(held)
}

#[test]
fn every_rule_file_parses_and_says_why() {
    let rules = all_rules();
    for (family, _) in FAMILIES {
        let n = rules.iter().filter(|r| r.family == *family).count();
        assert!(n > 0, "family {family} has no rules");
    }
    for r in rules {
        assert!(!r.why.is_empty(), "{} has no reason", r.name);
    }
    let mut names: Vec<&str> = rules.iter().map(|r| r.name.as_str()).collect();
    names.sort();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "rule names must be unique");
    eprintln!("{} rules in {} families", rules.len(), FAMILIES.len());
    // Every rule builds into an egg rewrite.
    assert_eq!(
        strata_ir::egraph::rules::all_rewrites().len(),
        rules.iter().filter(|r| !r.is_address_rule()).count()
    );
}

#[test]
fn every_rule_keeps_wasm_semantics() {
    let mut failures = Vec::new();
    for r in all_rules() {
        if let Err(e) = verify_rule(r) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_rule_broken_on_purpose_is_caught() {
    let cases = [
        // Plainly wrong.
        "; wrong\nadd-one-is-identity[i32 i64]: (T.add ?x (T.const 1)) => ?x",
        // Missing guard: the shift counts may add up past the width.
        "; wrong\nshl-shl-unguarded[i32]: (T.shl (T.shl ?x ?a) ?b) => (T.shl ?x (T.add ?a ?b)) if (const ?a) (const ?b)",
        // Not exact for floats: -0.0 + 0.0 is +0.0, and NaN payloads change.
        "; wrong\nfadd-zero[f32]: (T.add ?x (T.const 0.0)) => ?x",
        // An address fold without the no-wrap guard.
        "; wrong\nadd-const-unguarded: (i32.add ?x ?c) => (addr ?x ?c) if (const ?c)",
        // Negating a float comparison is not exact (NaN).
        "; wrong\nfeqz-lt: (i32.eqz (f64.lt ?a ?b)) => (f64.ge ?a ?b)",
    ];
    for text in cases {
        let family = if text.contains("addr") {
            "address"
        } else {
            "test"
        };
        let rules = parse_rules(family, text).unwrap();
        let caught = rules.iter().any(|r| verify_rule(r).is_err());
        assert!(caught, "not caught: {text}");
    }
}

#[test]
fn malformed_rules_are_rejected_with_their_line() {
    let cases = [
        ("no-why: (i32.add ?x (i32.const 0)) => ?x", "comment"),
        ("; w\nunbound: (i32.add ?x ?y) => ?z", "not bound"),
        (
            "; w\nimpure: (i32.div_s ?x (i32.const 1)) => ?x",
            "not pure",
        ),
        ("; w\narity: (i32.add ?x) => ?x", "operands"),
        (
            "; w\nguard: (i32.add ?x ?c) => ?x if (bogus ?c)",
            "unknown guard",
        ),
        ("; w\nuntyped: (select ?a ?b ?c) => ?a", "type"),
        ("; w\nbad-op: (i32.frobnicate ?x) => ?x", "unknown opcode"),
        ("; w\nno-arrow: (i32.add ?x ?y)", "=>"),
    ];
    for (text, want) in cases {
        let err = parse_rules("test", text).unwrap_err().to_string();
        assert!(err.contains(want), "{text}: {err}");
        assert!(err.contains("test.rules:"), "{err}");
    }
}
