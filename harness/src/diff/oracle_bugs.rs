//! Divergences that are the oracle's fault, told apart from real ones.
//!
//! A peer oracle has bugs of its own. When one of them makes every generated module of some
//! shape diverge, a campaign drowns in reports that say nothing about Strata. This module
//! attributes such a divergence to a *known* oracle bug, and only by a positive check:
//!
//! 1. the case diverged, the oracle is the first side and every other side is Strata;
//! 2. the known bug has a *neutralizing rewrite*: a change to the module that, by the
//!    WebAssembly spec, changes nothing observable, but that keeps the oracle from taking
//!    the faulty path (for the wasmi bug below: an empty `block end` before every `select`);
//!    the rewrite must actually change the module;
//! 3. the case is run again with the oracle on the rewritten module, every Strata side on the
//!    original module, and the first Strata side on the rewritten module as well (so the
//!    rewrite is checked to preserve behaviour);
//! 4. that re-run must pass every step that the original run compared (no divergence, no
//!    failure, at least as many steps passed as the original passed and failed together).
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
pub const KNOWN_ORACLE_BUGS: &[KnownOracleBug] = &[KnownOracleBug {
    oracle: "wasmi",
    id: "wasmi-select-fusion",
    description: "wasmi 2.0.0 fuses `select` with a preceding i32.eqz (or i32.eq / i32.ne \
        with 0) of a local and then reads a stale register as the condition, so it can pick \
        the wrong operand: the divisor guard select(1, x, x == 0) then yields 0 (\"integer \
        divide by zero\") or 1 (wrong results, loops that end early). Confirmed with \
        wasmtime; reduced cases in harness/tests/fuzz_regressions/wasmi_*.wat",
    neutralize: block_before_select,
}];

/// A divergence attributed to a known oracle bug.
#[derive(Debug)]
pub struct Attribution {
    pub bug: &'static KnownOracleBug,
    /// The re-run that cleared Strata (oracle on the rewritten module).
    pub recheck: CaseReport,
}

impl std::fmt::Debug for KnownOracleBug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id)
    }
}

impl Attribution {
    /// A few lines for reports: which bug, and the evidence.
    pub fn explain(&self) -> String {
        format!(
            "attributed to a known {} bug ({}): {}\n\
             evidence: with the neutralizing rewrite (same behaviour by the spec) the {} run \
             agrees with every Strata configuration: {} passed, 0 failed, {} skipped",
            self.bug.oracle,
            self.bug.id,
            self.bug.description,
            self.bug.oracle,
            self.recheck.passed,
            self.recheck.skipped
        )
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
    for bug in KNOWN_ORACLE_BUGS
        .iter()
        .filter(|b| b.oracle == oracle.name())
    {
        let Ok(Some(_)) = (bug.neutralize)(&case.wasm) else {
            continue;
        };
        let rewritten = |inner: &Arc<dyn Side>| -> Arc<dyn Side> {
            Arc::new(Rewritten {
                name: format!("{}+{}", inner.name(), bug.id),
                inner: inner.clone(),
                rewrite: bug.neutralize,
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
            return Some(Attribution { bug, recheck });
        }
    }
    None
}

/// A side that runs a rewritten module (the plan is the original's: a neutralizing rewrite
/// keeps the exports).
struct Rewritten {
    name: String,
    inner: Arc<dyn Side>,
    rewrite: Rewrite,
}

impl Side for Rewritten {
    fn name(&self) -> &str {
        &self.name
    }
    fn is_peer(&self) -> bool {
        self.inner.is_peer()
    }
    fn execute(&self, wasm: &[u8], plan: &Plan, emit: &mut dyn FnMut(Event)) {
        match (self.rewrite)(wasm) {
            Ok(Some(w)) => self.inner.execute(&w, plan, emit),
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
    let mut r = BlockBeforeSelect { inserted: 0 };
    let mut module = wasm_encoder::Module::new();
    r.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)
        .map_err(|e| format!("{e:?}"))?;
    Ok((r.inserted > 0).then(|| module.finish()))
}

struct BlockBeforeSelect {
    inserted: usize,
}

impl Reencode for BlockBeforeSelect {
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
            if matches!(op, Operator::Select | Operator::TypedSelect { .. }) {
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
        assert_eq!(a.bug.id, "wasmi-select-fusion");
        assert_eq!(a.recheck.failed, 0);
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
