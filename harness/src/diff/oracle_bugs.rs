//! Divergences that are the oracle's fault, told apart from real ones.
//!
//! A peer oracle has bugs of its own. When one of them makes every generated module of some
//! shape diverge, a campaign drowns in reports that say nothing about Strata. This module
//! attributes such a divergence to a *known* oracle bug, and only by a positive check:
//!
//! 1. the case diverged, the oracle is the first side and every other side is Strata;
//! 2. the known bug has a *neutralizing rewrite*: a change to the module that, by the
//!    WebAssembly spec, changes nothing observable, but that keeps the oracle from taking
//!    the faulty path (for the wasmi bugs below: an empty `block end` before every `select`,
//!    or before every block, loop and if that takes parameters, or every `br_table` written
//!    as a chain of `br_if`s); the rewrite must actually change the module;
//! 3. the case is run again with the oracle on the rewritten module, every Strata side on the
//!    original module, and the first Strata side on the rewritten module as well (so the
//!    rewrite is checked to preserve behaviour);
//! 4. that re-run must pass every step that the original run compared (no divergence, no
//!    failure, at least as many steps passed as the original passed and failed together).
//!
//! Each known bug that has something to rewrite is tried alone; if none clears the case
//! alone and several apply, their rewrites are tried together (a case can hit two bugs).
//!
//! Then the oracle gave two different answers for two modules that the spec says behave
//! the same, and agrees with every Strata configuration on the one that avoids its known
//! fault: the divergence is the oracle's. Anything else stays a failure: Strata sides that
//! disagree among themselves (they disagree in the re-run too), a Strata bug (the oracle
//! still disagrees on the rewritten module), a case without the pattern (no rewrite),
//! or a re-run that stops early.

use super::compare::{run_case, Case, CaseReport, RunOptions};
use super::plan::Plan;
use super::side::{Event, Side};
use super::value::Outcome;
use std::sync::Arc;
use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{BlockType, CodeSection, Instruction};
use wasmparser::Operator;

/// A neutralizing rewrite: the rewritten module, `Ok(None)` when there is nothing to rewrite.
pub type Rewrite = fn(&[u8]) -> Result<Option<Vec<u8>>, String>;

/// A known bug of a peer oracle, and how to run a module past it.
pub struct KnownOracleBug {
    /// The oracle's name ([`Side::name`]) this applies to.
    pub oracle: &'static str,
    /// A short identifier, used in file names and reports.
    pub id: &'static str,
    /// What is wrong, and where it was confirmed.
    pub description: &'static str,
    /// The neutralizing rewrite.
    pub neutralize: Rewrite,
}

/// The known oracle bugs.
pub const KNOWN_ORACLE_BUGS: &[KnownOracleBug] = &[
    KnownOracleBug {
        oracle: "wasmi",
        id: "wasmi-select-fusion",
        description: "wasmi 2.0.0 fuses `select` with a preceding i32.eqz (or i32.eq / \
            i32.ne with 0) of a local and then reads a stale register as the condition, so \
            it can pick the wrong operand: the divisor guard select(1, x, x == 0) then yields \
            0 (\"integer divide by zero\") or 1 (wrong results, loops that end early). \
            Confirmed with wasmtime; reduced cases in \
            harness/tests/fuzz_regressions/wasmi_select_*.wat, wasmi_rem_after_select.wat",
        neutralize: block_before_select,
    },
    KnownOracleBug {
        oracle: "wasmi",
        id: "wasmi-block-params",
        description: "wasmi 2.0.0, entering a block, loop or if with N parameters, copies \
            the `local.get` operands below them out of their locals except the first N \
            *locals* from the top instead of the top N operands; with a parameter that is not \
            a local, a local below it is copied later, inside one arm only, and the other path \
            reads a slot never written (0). Confirmed with wasmtime; reduced case in \
            harness/tests/fuzz_regressions/wasmi_if_param_below_local.wat",
        neutralize: block_before_blocks_with_params,
    },
    KnownOracleBug {
        oracle: "wasmi",
        id: "wasmi-br-table-values",
        description: "wasmi 2.0.0 translates a `br_table` whose targets all start at the same \
            stack height without copying the branch values down to that height (it only does \
            per-target copies when the heights differ); with two or more values and other \
            operands below them (e.g. a block parameter left on the stack), the target reads \
            those operands instead. Confirmed with wasmtime; reduced case in \
            harness/tests/fuzz_regressions/wasmi_br_table_values.wat",
        neutralize: br_table_as_br_ifs,
    },
];

/// A divergence attributed to known oracle bugs.
#[derive(Debug)]
pub struct Attribution {
    /// One bug, or several whose rewrites together cleared the case.
    pub bugs: Vec<&'static KnownOracleBug>,
    /// The re-run that cleared Strata (oracle on the rewritten module).
    pub recheck: CaseReport,
}

impl std::fmt::Debug for KnownOracleBug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

impl Attribution {
    /// The bugs' ids, joined with `+`.
    pub fn id(&self) -> String {
        let ids: Vec<&str> = self.bugs.iter().map(|b| b.id).collect();
        ids.join("+")
    }

    /// A few lines for reports: which bugs, and the evidence.
    pub fn explain(&self) -> String {
        let oracle = self.bugs.first().map_or("", |b| b.oracle);
        let mut text = String::new();
        for bug in &self.bugs {
            text.push_str(&format!(
                "attributed to a known {oracle} bug ({}): {}\n",
                bug.id, bug.description
            ));
        }
        text.push_str(&format!(
            "evidence: with the neutralizing rewrite{} (same behaviour by the spec) the \
             {oracle} run agrees with every Strata configuration: {} passed, 0 failed, {} \
             skipped",
            if self.bugs.len() > 1 { "s" } else { "" },
            self.recheck.passed,
            self.recheck.skipped
        ));
        text
    }
}

/// Checks whether the divergence in `original` (a run of `case` on `sides`) is a known bug of
/// the oracle `sides[0]`, by the rule in the module documentation. `None`: not attributed.
pub fn attribute(
    case: &Case,
    sides: &[Arc<dyn Side>],
    opts: &RunOptions,
    original: &CaseReport,
) -> Option<Attribution> {
    original.divergence.as_ref()?;
    let (oracle, strata) = sides.split_first()?;
    if !oracle.is_peer() || strata.is_empty() || strata.iter().any(|s| s.is_peer()) {
        return None;
    }
    // The known bugs of this oracle with something to rewrite in this module.
    let applicable: Vec<&'static KnownOracleBug> = KNOWN_ORACLE_BUGS
        .iter()
        .filter(|b| b.oracle == oracle.name())
        .filter(|b| matches!((b.neutralize)(&case.wasm), Ok(Some(_))))
        .collect();
    let mut candidates: Vec<Vec<&'static KnownOracleBug>> =
        applicable.iter().map(|b| vec![*b]).collect();
    if applicable.len() > 1 {
        candidates.push(applicable);
    }
    for bugs in candidates {
        let rewritten = |inner: &Arc<dyn Side>| -> Arc<dyn Side> {
            let ids: Vec<&str> = bugs.iter().map(|b| b.id).collect();
            Arc::new(Rewritten {
                name: format!("{}+{}", inner.name(), ids.join("+")),
                inner: inner.clone(),
                bugs: bugs.clone(),
            })
        };
        let mut recheck_sides = vec![rewritten(oracle)];
        recheck_sides.extend(strata.iter().cloned());
        recheck_sides.push(rewritten(&strata[0]));
        let Ok(recheck) = run_case(case, &recheck_sides, opts) else {
            continue;
        };
        if recheck.divergence.is_none()
            && recheck.failed == 0
            && recheck.passed >= original.passed + original.failed
        {
            return Some(Attribution { bugs, recheck });
        }
    }
    None
}

/// A side that runs a module rewritten past `bugs` (the plan is the original's: a
/// neutralizing rewrite keeps the exports).
struct Rewritten {
    name: String,
    inner: Arc<dyn Side>,
    bugs: Vec<&'static KnownOracleBug>,
}

/// `wasm` with the rewrites of every bug in `bugs` applied in turn; `Ok(None)` if none had
/// anything to rewrite.
fn neutralize_all(wasm: &[u8], bugs: &[&KnownOracleBug]) -> Result<Option<Vec<u8>>, String> {
    let mut out: Option<Vec<u8>> = None;
    for bug in bugs {
        if let Some(w) = (bug.neutralize)(out.as_deref().unwrap_or(wasm))? {
            out = Some(w);
        }
    }
    Ok(out)
}

impl Side for Rewritten {
    fn name(&self) -> &str {
        &self.name
    }
    fn is_peer(&self) -> bool {
        self.inner.is_peer()
    }
    fn interrupts_itself(&self) -> bool {
        self.inner.interrupts_itself()
    }
    fn execute(&self, wasm: &[u8], plan: &Plan, emit: &mut dyn FnMut(Event)) {
        self.run(wasm, plan, None, emit)
    }
    fn execute_limited(
        &self,
        wasm: &[u8],
        plan: &Plan,
        limit: std::time::Duration,
        emit: &mut dyn FnMut(Event),
    ) {
        self.run(wasm, plan, Some(limit), emit)
    }
}

impl Rewritten {
    fn run(
        &self,
        wasm: &[u8],
        plan: &Plan,
        limit: Option<std::time::Duration>,
        emit: &mut dyn FnMut(Event),
    ) {
        match neutralize_all(wasm, &self.bugs) {
            Ok(Some(w)) => match limit {
                Some(limit) => self.inner.execute_limited(&w, plan, limit, emit),
                None => self.inner.execute(&w, plan, emit),
            },
            Ok(None) => emit(Event::Instantiated(Outcome::Failed(
                "nothing to rewrite".into(),
            ))),
            Err(e) => emit(Event::Instantiated(Outcome::Failed(format!(
                "rewrite failed: {e}"
            )))),
        }
    }
}

/// Inserts an empty `block end` before every `select` (plain or typed). By the spec the pair
/// does nothing; in wasmi 2.0 it ends the instruction fusion that the `select` would
/// otherwise take part in. `Ok(None)` when the module has no `select`.
pub fn block_before_select(wasm: &[u8]) -> Result<Option<Vec<u8>>, String> {
    empty_block_before(wasm, |op, _| {
        matches!(
            op,
            Operator::Select | Operator::TypedSelect { .. } | Operator::TypedSelectMulti { .. }
        )
    })
}

/// Inserts an empty `block end` before every `block`, `loop` and `if` whose type has
/// parameters. By the spec the pair does nothing; in wasmi 2.0 the empty block copies every
/// `local.get` operand on the stack out of its local, there, on every path, so the block
/// with parameters that follows finds none to get wrong. `Ok(None)` when there is no such
/// block.
pub fn block_before_blocks_with_params(wasm: &[u8]) -> Result<Option<Vec<u8>>, String> {
    empty_block_before(wasm, |op, params| {
        let ty = match op {
            Operator::Block { blockty } | Operator::Loop { blockty } | Operator::If { blockty } => {
                blockty
            }
            _ => return false,
        };
        match ty {
            wasmparser::BlockType::FuncType(i) => params.get(*i as usize).is_some_and(|&n| n > 0),
            _ => false,
        }
    })
}

/// `wasm` with an empty `block end` before every instruction for which `before(op, params)`
/// holds, `params` being the number of parameters of each type index. `Ok(None)` when
/// nothing was inserted.
fn empty_block_before(
    wasm: &[u8],
    before: fn(&Operator, &[usize]) -> bool,
) -> Result<Option<Vec<u8>>, String> {
    let mut r = EmptyBlockBefore {
        before,
        params: type_params(wasm)?.0,
        inserted: 0,
    };
    let mut module = wasm_encoder::Module::new();
    r.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)
        .map_err(|e| format!("{e:?}"))?;
    Ok((r.inserted > 0).then(|| module.finish()))
}

/// The number of parameters of each type index, and the type index of each function defined
/// in the module (in the order of the code section).
pub(super) fn type_params(wasm: &[u8]) -> Result<(Vec<usize>, Vec<u32>), String> {
    let (mut params, mut funcs) = (Vec::new(), Vec::new());
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            wasmparser::Payload::TypeSection(types) => {
                for ty in types.into_iter_err_on_gc_types() {
                    params.push(ty.map_err(|e| e.to_string())?.params().len());
                }
            }
            wasmparser::Payload::FunctionSection(f) => {
                for ty in f {
                    funcs.push(ty.map_err(|e| e.to_string())?);
                }
            }
            _ => {}
        }
    }
    Ok((params, funcs))
}

/// Replaces every `br_table` with a chain of `br_if`s on a new i32 local that holds the index:
/// `local.set $i`, then for each target k `local.get $i`, `i32.const k`, `i32.eq`, `br_if`
/// to it, then `br` to the default. By the spec the same branch is taken with the same
/// values; wasmi 2.0 then copies the values to each target as it does for `br`. `Ok(None)`
/// when there is no `br_table`.
pub fn br_table_as_br_ifs(wasm: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let (params, funcs) = type_params(wasm)?;
    let func_params = funcs
        .iter()
        .map(|&t| params.get(t as usize).copied().ok_or("bad type index"))
        .collect::<Result<Vec<usize>, _>>()?;
    let mut r = BrTableAsBrIfs {
        func_params,
        next_func: 0,
        rewritten: 0,
    };
    let mut module = wasm_encoder::Module::new();
    r.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)
        .map_err(|e| format!("{e:?}"))?;
    Ok((r.rewritten > 0).then(|| module.finish()))
}

struct BrTableAsBrIfs {
    /// The number of parameters of each defined function, in code section order.
    func_params: Vec<usize>,
    next_func: usize,
    rewritten: usize,
}

impl Reencode for BrTableAsBrIfs {
    type Error = std::convert::Infallible;

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        let params = self.func_params.get(self.next_func).copied().unwrap_or(0);
        self.next_func += 1;
        let mut locals = Vec::new();
        let mut index = params as u32;
        for pair in func.get_locals_reader()? {
            let (count, ty) = pair?;
            index += count;
            locals.push((count, self.val_type(ty)?));
        }
        // The new local comes after all others: no existing index changes.
        let scratch = index;
        locals.push((1, wasm_encoder::ValType::I32));
        let mut f = wasm_encoder::Function::new(locals);
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            match reader.read()? {
                Operator::BrTable { targets } => {
                    f.instruction(&Instruction::LocalSet(scratch));
                    for (k, target) in targets.targets().enumerate() {
                        f.instruction(&Instruction::LocalGet(scratch));
                        f.instruction(&Instruction::I32Const(k as i32));
                        f.instruction(&Instruction::I32Eq);
                        f.instruction(&Instruction::BrIf(target?));
                    }
                    f.instruction(&Instruction::Br(targets.default()));
                    self.rewritten += 1;
                }
                op => {
                    f.instruction(&self.instruction(op)?);
                }
            }
        }
        code.function(&f);
        Ok(())
    }
}

struct EmptyBlockBefore {
    before: fn(&Operator, &[usize]) -> bool,
    params: Vec<usize>,
    inserted: usize,
}

impl Reencode for EmptyBlockBefore {
    type Error = std::convert::Infallible;

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        let mut f = self.new_function_with_parsed_locals(&func)?;
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            if (self.before)(&op, &self.params) {
                f.instruction(&Instruction::Block(BlockType::Empty));
                f.instruction(&Instruction::End);
                self.inserted += 1;
            }
            f.instruction(&self.instruction(op)?);
        }
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::compare::Divergence;
    use super::super::side::StrataConfig;
    use super::super::targets::strata_sides;
    use super::*;

    const SELECT_EQZ: &str = r#"(module
        (global (export "g") (mut i32) (i32.const 0))
        (func (export "f") (param i32) (result i32) (local i32)
          i32.const 3 local.set 1
          i32.const 1 local.get 1 local.get 1 i32.eqz select
          global.set 0
          local.get 0 i32.const 1 i32.const 2 local.get 0 select (result i32) i32.add))"#;

    #[test]
    fn the_rewrite_only_adds_empty_blocks_before_selects() {
        let wasm = wat::parse_str(SELECT_EQZ).unwrap();
        let out = block_before_select(&wasm).unwrap().expect("two selects");
        let text = wasmprinter::print_bytes(&out)
            .unwrap()
            .replace(" ;; label = @1", "");
        assert_eq!(text.matches("block").count(), 2, "{text}");
        assert!(
            text.contains("i32.eqz\n    block\n    end\n    select\n"),
            "{text}"
        );
        strata::validate(&out).unwrap();
        let none = wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 1))"#);
        assert!(block_before_select(&none.unwrap()).unwrap().is_none());
    }

    /// Hits the second wasmi bug: the `local.get 0` below the constant parameter of the `if`.
    const IF_PARAM: &str = r#"(module
        (global $c (mut i32) (i32.const 0))
        (func (export "f") (param i64) (result i64)
          local.get 0
          i64.const 0
          global.get $c
          if (param i64) (result i64)
            loop end
          end
          drop
          block (result i64) i64.const 1 end
          i64.add))"#;

    #[test]
    fn the_second_rewrite_only_adds_empty_blocks_before_blocks_with_params() {
        let wasm = wat::parse_str(IF_PARAM).unwrap();
        let out = block_before_blocks_with_params(&wasm)
            .unwrap()
            .expect("an if with a parameter");
        let text = wasmprinter::print_bytes(&out)
            .unwrap()
            .replace(" ;; label = @1", "");
        // Before the `if` with a parameter, not before the `block` without one.
        assert_eq!(text.matches("block\n    end\n").count(), 1, "{text}");
        assert!(
            text.contains("global.get $c\n    block\n    end\n    if (type"),
            "{text}"
        );
        strata::validate(&out).unwrap();
        assert!(block_before_select(&wasm).unwrap().is_none());
        let none = wat::parse_str(SELECT_EQZ).unwrap();
        assert!(block_before_blocks_with_params(&none).unwrap().is_none());
    }

    #[test]
    fn the_br_table_rewrite_keeps_locals_and_targets() {
        let wasm = wat::parse_str(
            r#"(module
              (import "m" "f" (func (param i64)))
              (func (export "f") (param i32 f32) (result i32) (local i64)
                block (result i32)
                  i32.const 7
                  local.get 0
                  br_table 0 1 0
                end))"#,
        )
        .unwrap();
        let out = br_table_as_br_ifs(&wasm).unwrap().expect("a br_table");
        let text = wasmprinter::print_bytes(&out).unwrap();
        assert!(text.contains("(local i64 i32)"), "{text}");
        for k in 0..2 {
            assert!(
                text.contains(&format!(
                    "local.get 3\n      i32.const {k}\n      i32.eq\n      br_if {k}"
                )),
                "{text}"
            );
        }
        assert!(text.contains("local.set 3\n"), "{text}");
        // The default target last, after the last listed target (the function body).
        assert!(
            text.contains("br_if 1\n      br 0 (;@1;)\n    end"),
            "{text}"
        );
        strata::validate(&out).unwrap();
        assert!(br_table_as_br_ifs(&wat::parse_str(SELECT_EQZ).unwrap())
            .unwrap()
            .is_none());
    }

    /// A peer that always returns `[i32:-1]`: wrong whatever the module, and so never
    /// cleared by a rewrite.
    struct WrongPeer;

    impl Side for WrongPeer {
        fn name(&self) -> &str {
            "wasmi"
        }
        fn is_peer(&self) -> bool {
            true
        }
        fn execute(&self, _: &[u8], plan: &Plan, emit: &mut dyn FnMut(Event)) {
            emit(Event::Instantiated(Outcome::Returned(vec![])));
            for _ in &plan.calls {
                emit(Event::Call(Outcome::Returned(vec![
                    super::super::value::Value::I32(-1),
                ])));
            }
            emit(Event::Finished(Default::default()));
        }
    }

    fn case(text: &str) -> Case {
        Case {
            wasm: wat::parse_str(text).unwrap(),
            seed: 3,
            rounds: 2,
        }
    }

    #[test]
    fn an_oracle_that_is_simply_wrong_is_not_excused() {
        let case = case(SELECT_EQZ);
        let mut sides: Vec<Arc<dyn Side>> = vec![Arc::new(WrongPeer)];
        sides.extend(strata_sides(&[StrataConfig::parse("interp").unwrap()]));
        let opts = RunOptions::default();
        let report = run_case(&case, &sides, &opts).unwrap();
        assert!(report.divergence.is_some());
        assert!(attribute(&case, &sides, &opts, &report).is_none());
    }

    #[test]
    fn no_attribution_without_a_divergence_or_without_an_oracle_first() {
        let case = case(SELECT_EQZ);
        let sides = strata_sides(&[
            StrataConfig::parse("interp").unwrap(),
            StrataConfig::parse("interp-explicit").unwrap(),
        ]);
        let opts = RunOptions::default();
        let mut report = run_case(&case, &sides, &opts).unwrap();
        assert!(report.divergence.is_none());
        assert!(attribute(&case, &sides, &opts, &report).is_none());
        // A made-up divergence between two Strata sides: no oracle to blame.
        report.failed = 1;
        report.divergence = Some(Divergence {
            step: "call 1".into(),
            outcomes: vec![],
        });
        assert!(attribute(&case, &sides, &opts, &report).is_none());
    }

    #[cfg(feature = "oracle-wasmi")]
    #[test]
    fn the_wasmi_select_fusion_bug_is_recognized() {
        let case = case(SELECT_EQZ);
        let mut sides = vec![super::super::targets::oracle("wasmi").unwrap()];
        sides.extend(strata_sides(&[StrataConfig::parse("interp").unwrap()]));
        let opts = RunOptions::default();
        let report = run_case(&case, &sides, &opts).unwrap();
        assert!(
            report.divergence.is_some(),
            "wasmi 2.0.0 picks the wrong operand here; if a newer wasmi is fixed, update \
             KNOWN_ORACLE_BUGS and this test"
        );
        let a = attribute(&case, &sides, &opts, &report).expect("attributed");
        assert_eq!(a.id(), "wasmi-select-fusion");
        assert_eq!(a.recheck.failed, 0);
    }

    #[cfg(feature = "oracle-wasmi")]
    #[test]
    fn the_wasmi_block_params_bug_and_both_bugs_together_are_recognized() {
        let opts = RunOptions::default();
        let mut sides = vec![super::super::targets::oracle("wasmi").unwrap()];
        sides.extend(strata_sides(&[StrataConfig::parse("interp").unwrap()]));
        let one = case(IF_PARAM);
        let report = run_case(&one, &sides, &opts).unwrap();
        assert!(report.divergence.is_some(), "wasmi 2.0.0 returns 1 here");
        let a = attribute(&one, &sides, &opts, &report).expect("attributed");
        assert_eq!(a.id(), "wasmi-block-params");
        // Both patterns in one module: neither rewrite alone clears it, both together do.
        let both = SELECT_EQZ.trim_end().strip_suffix(')').unwrap().to_string()
            + r#"(global $zero (mut i32) (i32.const 0))
                (func (export "h") (param i64) (result i64)
                  local.get 0
                  i64.const 0
                  global.get $zero
                  if (param i64) (result i64)
                    loop end
                  end
                  drop))"#;
        let both = case(&both);
        let report = run_case(&both, &sides, &opts).unwrap();
        let a = attribute(&both, &sides, &opts, &report).expect("attributed");
        assert_eq!(a.id(), "wasmi-select-fusion+wasmi-block-params");
    }

    #[cfg(feature = "oracle-wasmi")]
    #[test]
    fn the_wasmi_br_table_bug_is_recognized() {
        let opts = RunOptions::default();
        let mut sides = vec![super::super::targets::oracle("wasmi").unwrap()];
        sides.extend(strata_sides(&[StrataConfig::parse("interp").unwrap()]));
        let case = case(
            r#"(module
              (type $t (func (param i32) (result i32 i32)))
              (global (mut i32) (i32.const 0))
              (func (export "f") (type $t)
                global.get 0
                block (type $t)
                  i32.const 1
                  call $g
                  local.get 0
                  br_table 0 1 0
                end)
              (func $g (type $t) i32.const 1 i32.const 2))"#,
        );
        let report = run_case(&case, &sides, &opts).unwrap();
        assert!(
            report.divergence.is_some(),
            "wasmi 2.0.0 returns [0, 2] here"
        );
        let a = attribute(&case, &sides, &opts, &report).expect("attributed");
        assert_eq!(a.id(), "wasmi-br-table-values");
    }

    /// A Strata side that always returns `[i32:-1]`.
    #[cfg(feature = "oracle-wasmi")]
    struct WrongStrata;

    #[cfg(feature = "oracle-wasmi")]
    impl Side for WrongStrata {
        fn name(&self) -> &str {
            "wrong-strata"
        }
        fn execute(&self, wasm: &[u8], plan: &Plan, emit: &mut dyn FnMut(Event)) {
            WrongPeer.execute(wasm, plan, emit)
        }
    }

    #[cfg(feature = "oracle-wasmi")]
    #[test]
    fn a_wrong_strata_side_is_never_covered_by_the_oracle_bug() {
        let case = case(SELECT_EQZ);
        let opts = RunOptions::default();
        let wasmi = super::super::targets::oracle("wasmi").unwrap();
        let interp = strata_sides(&[StrataConfig::parse("interp").unwrap()]);
        // Strata sides that disagree among themselves, and Strata wrong on its own.
        for strata in [
            vec![interp[0].clone(), Arc::new(WrongStrata) as Arc<dyn Side>],
            vec![Arc::new(WrongStrata) as Arc<dyn Side>],
        ] {
            let mut sides = vec![wasmi.clone()];
            sides.extend(strata);
            let report = run_case(&case, &sides, &opts).unwrap();
            assert!(report.divergence.is_some());
            assert!(attribute(&case, &sides, &opts, &report).is_none());
        }
    }
}
