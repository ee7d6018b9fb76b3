//! Running one case on every side and comparing the reports step by step.
//!
//! Checks, each counted as passed, failed or skipped: the instantiation (compile, link, data
//! and element segments, start function), then each call of the plan, then the final state.
//! A step that any side could not finish conclusively (an exhausted call stack, a timeout)
//! is skipped, and so is everything after it: from there on the sides' states may differ for
//! a reason the spec allows (how deep the stack goes is the engine's choice). A panic is a
//! failure. When every side agrees that instantiation failed, that is the whole case.

use super::plan::{make_plan_for, Plan};
use super::side::Side;
use super::value::{list, Outcome};
use super::worker::{run_sides, SideRun};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use strata::{Engine, Module};

/// A module to check and the seed of its arguments.
#[derive(Clone, Debug)]
pub struct Case {
    pub wasm: Vec<u8>,
    /// Seed of the call plan's arguments.
    pub seed: u64,
    /// Rounds of calls: each exported function is called this many times.
    pub rounds: usize,
}

/// The first disagreement of a case.
#[derive(Clone, Debug)]
pub struct Divergence {
    /// "instantiation", "call 3 of 12: \"f\"(i32:1)" or "final state".
    pub step: String,
    /// Each side's name and what it did.
    pub outcomes: Vec<(String, String)>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "divergence at {}", self.step)?;
        let width = self
            .outcomes
            .iter()
            .map(|(n, _)| n.len())
            .max()
            .unwrap_or(0);
        for (name, what) in &self.outcomes {
            writeln!(f, "  {name:width$}  {what}")?;
        }
        Ok(())
    }
}

/// The verdict on one case.
#[derive(Clone, Debug, Default)]
pub struct CaseReport {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub divergence: Option<Divergence>,
    /// Why steps were skipped (the first reason of each kind), for the summary.
    pub skip_reasons: Vec<String>,
    /// Set when every side failed to instantiate the same way: what happened.
    pub not_instantiated: Option<String>,
    /// Every step compared, in order, with its verdict (`passed`, `FAILED`, `skipped`), for
    /// `strata diff -v`.
    pub steps: Vec<(String, &'static str)>,
}

impl CaseReport {
    fn fail(&mut self, d: Divergence) {
        self.failed += 1;
        if self.divergence.is_none() {
            self.divergence = Some(d);
        }
    }
    fn skip(&mut self, reason: &str) {
        self.skipped += 1;
        if !self.skip_reasons.iter().any(|r| r == reason) && self.skip_reasons.len() < 8 {
            self.skip_reasons.push(reason.to_string());
        }
    }
}

/// Options of a run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The longest wait for one step of one side.
    pub timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: Duration::from_secs(10),
        }
    }
}

/// The call plan of `case`: built from the module's exports as Strata's validator sees them.
/// An error when Strata cannot compile the module at all.
pub fn plan_for(case: &Case) -> Result<Plan, String> {
    let module = Module::new(&Engine::default(), &case.wasm).map_err(|e| e.to_string())?;
    let exports: Vec<_> = module
        .exports()
        .into_iter()
        .map(|e| (e.name, e.ty))
        .collect();
    let wasi = module
        .imports()
        .iter()
        .any(|i| i.module == crate::wasi::MODULE);
    Ok(make_plan_for(&exports, wasi, case.seed, case.rounds))
}

/// Runs `case` on every side and compares. With fewer than two sides there is nothing to
/// compare and every step is skipped. An error when the module does not compile in Strata.
pub fn run_case(
    case: &Case,
    sides: &[Arc<dyn Side>],
    opts: &RunOptions,
) -> Result<CaseReport, String> {
    let plan = Arc::new(plan_for(case)?);
    let wasm = Arc::new(case.wasm.clone());
    let runs = run_sides(sides, &wasm, &plan, opts.timeout);
    Ok(compare(sides, &plan, &runs))
}

/// Compares the reports of `sides` (same order as `runs`) step by step.
pub fn compare(sides: &[Arc<dyn Side>], plan: &Plan, runs: &[SideRun]) -> CaseReport {
    let mut report = CaseReport::default();
    let names: Vec<&str> = sides.iter().map(|s| s.name()).collect();
    let peer = |i: usize| sides[i].is_peer();
    if runs.len() < 2 {
        report.skip("fewer than two configurations to compare");
        return report;
    }
    let describe = |outcomes: Vec<String>| -> Vec<(String, String)> {
        names.iter().map(|n| n.to_string()).zip(outcomes).collect()
    };

    // Instantiation. A peer words failures differently: any failure agrees with any other.
    let inst: Vec<&Outcome> = runs.iter().map(|r| &r.instantiate).collect();
    let same_inst = |a: &Outcome, b: &Outcome, coarse: bool| {
        let failed = |o: &Outcome| matches!(o, Outcome::Trapped(..) | Outcome::Failed(_));
        a.same(b, coarse) || (coarse && failed(a) && failed(b))
    };
    let verdict = step(&inst, |i, a, b| same_inst(a, b, peer(0) || peer(i)));
    report.steps.push(("instantiation".into(), verdict.word()));
    match verdict {
        Verdict::Skip(why) => {
            report.skip(&format!(
                "instantiation: {why} (with the {} calls and the final state)",
                plan.calls.len()
            ));
            report.skipped += plan.calls.len() + 1;
            return report;
        }
        Verdict::Fail => {
            report.fail(Divergence {
                step: "instantiation".into(),
                outcomes: describe(inst.iter().map(|o| o.to_string()).collect()),
            });
            return report;
        }
        Verdict::Pass => report.passed += 1,
    }
    if !matches!(inst[0], Outcome::Returned(_)) {
        // Every side failed to instantiate, the same way: nothing more to run.
        report.not_instantiated = Some(inst[0].to_string());
        return report;
    }

    let total = plan.calls.len();
    for (i, call) in plan.calls.iter().enumerate() {
        let outs: Vec<&Outcome> = runs.iter().map(|r| &r.calls[i]).collect();
        let verdict = step(&outs, |j, a, b| a.same(b, peer(0) || peer(j)));
        report.steps.push((
            format!(
                "call {} of {total}: {:?}({}) -> {}",
                i + 1,
                call.func,
                list(&call.args),
                outs[0]
            ),
            verdict.word(),
        ));
        match verdict {
            Verdict::Pass => report.passed += 1,
            Verdict::Fail => report.fail(Divergence {
                step: format!(
                    "call {} of {total}: {:?}({})",
                    i + 1,
                    call.func,
                    list(&call.args)
                ),
                outcomes: describe(outs.iter().map(|o| o.to_string()).collect()),
            }),
            Verdict::Skip(why) => {
                // Everything after an inconclusive step is inconclusive too.
                report.skip(&format!(
                    "call {} of {total}: {:?}({}): {why} (with the {} calls after it and the \
                     final state)",
                    i + 1,
                    call.func,
                    list(&call.args),
                    total - i - 1
                ));
                report.skipped += total - i;
                return report;
            }
        }
    }

    let snaps: Vec<_> = runs.iter().map(|r| r.snapshot.as_ref()).collect();
    let Some(reference) = snaps[0] else {
        report.skip("no final state");
        return report;
    };
    let mut outcomes = Vec::new();
    let mut differs = false;
    for s in &snaps {
        match s {
            None => {
                report.skip("no final state");
                return report;
            }
            Some(s) => match reference.difference(s) {
                Some(d) => {
                    differs = true;
                    outcomes.push(d);
                }
                None => outcomes.push("same as the first".into()),
            },
        }
    }
    let word = if differs { "FAILED" } else { "passed" };
    report
        .steps
        .push(("final state (memories, globals, tables)".into(), word));
    if differs {
        report.fail(Divergence {
            step: "final state (memories, globals, tables)".into(),
            outcomes: describe(outcomes),
        });
    } else {
        report.passed += 1;
    }
    report
}

enum Verdict {
    Pass,
    Fail,
    Skip(String),
}

impl Verdict {
    fn word(&self) -> &'static str {
        match self {
            Verdict::Pass => "passed",
            Verdict::Fail => "FAILED",
            Verdict::Skip(_) => "skipped",
        }
    }
}

/// One step: skipped if any side is inconclusive, failed if any panicked or differs from the
/// first side (`same(index, first, other)`).
fn step(outs: &[&Outcome], same: impl Fn(usize, &Outcome, &Outcome) -> bool) -> Verdict {
    if outs.iter().any(|o| matches!(o, Outcome::Panicked(_))) {
        return Verdict::Fail;
    }
    if let Some(Outcome::Inconclusive(why)) = outs.iter().find(|o| o.is_inconclusive()) {
        return Verdict::Skip(why.clone());
    }
    if let Some(Outcome::Trapped(super::value::TrapKind::StackOverflow, _)) =
        outs.iter().find(|o| {
            matches!(
                o,
                Outcome::Trapped(super::value::TrapKind::StackOverflow, _)
            )
        })
    {
        return Verdict::Skip("call stack exhausted".into());
    }
    if outs[1..]
        .iter()
        .enumerate()
        .all(|(j, o)| same(j + 1, outs[0], o))
    {
        Verdict::Pass
    } else {
        Verdict::Fail
    }
}

#[cfg(test)]
mod tests {
    use super::super::plan::Call;
    use super::super::side::Event;
    use super::super::value::{TrapKind, Value};
    use super::*;

    /// A side that reports fixed outcomes.
    struct Fake {
        name: &'static str,
        calls: Vec<Outcome>,
    }

    impl Side for Fake {
        fn name(&self) -> &str {
            self.name
        }
        fn execute(&self, _: &[u8], _: &Plan, emit: &mut dyn FnMut(super::super::side::Event)) {
            emit(Event::Instantiated(Outcome::Returned(vec![])));
            for c in &self.calls {
                emit(Event::Call(c.clone()));
            }
            emit(Event::Finished(Default::default()));
        }
    }

    fn run(a: Vec<Outcome>, b: Vec<Outcome>) -> CaseReport {
        let n = a.len();
        let sides: Vec<Arc<dyn Side>> = vec![
            Arc::new(Fake {
                name: "a",
                calls: a,
            }),
            Arc::new(Fake {
                name: "b",
                calls: b,
            }),
        ];
        let plan = Arc::new(Plan {
            calls: (0..n)
                .map(|_| Call {
                    func: "f".into(),
                    args: vec![Value::I32(-1)],
                })
                .collect(),
            fuel: None,
            wasi: false,
        });
        let runs = run_sides(&sides, &Arc::new(vec![]), &plan, Duration::from_secs(5));
        compare(&sides, &plan, &runs)
    }

    fn ret(v: i32) -> Outcome {
        Outcome::Returned(vec![Value::I32(v)])
    }

    #[test]
    fn agreement_passes_every_step() {
        let r = run(vec![ret(1), ret(2)], vec![ret(1), ret(2)]);
        assert_eq!((r.passed, r.failed, r.skipped), (4, 0, 0));
    }

    #[test]
    fn a_different_result_is_the_first_divergence() {
        let trap = Outcome::Trapped(TrapKind::Unreachable, String::new());
        let r = run(vec![ret(1), ret(2)], vec![ret(1), trap]);
        assert_eq!((r.passed, r.failed), (3, 1));
        let d = r.divergence.unwrap();
        assert!(
            d.step.starts_with("call 2 of 2: \"f\"(i32:-1)"),
            "{}",
            d.step
        );
        assert!(d.to_string().contains("trapped: unreachable"));
    }

    #[test]
    fn an_exhausted_stack_skips_the_rest() {
        let so = Outcome::Trapped(TrapKind::StackOverflow, String::new());
        let r = run(vec![ret(1), so, ret(3)], vec![ret(1), ret(2), ret(4)]);
        assert_eq!((r.passed, r.failed, r.skipped), (2, 0, 3));
    }

    #[test]
    fn a_panic_fails() {
        struct Panics;
        impl Side for Panics {
            fn name(&self) -> &str {
                "p"
            }
            fn execute(&self, _: &[u8], _: &Plan, emit: &mut dyn FnMut(Event)) {
                emit(Event::Instantiated(Outcome::Returned(vec![])));
                panic!("boom");
            }
        }
        let sides: Vec<Arc<dyn Side>> = vec![
            Arc::new(Fake {
                name: "a",
                calls: vec![ret(1)],
            }),
            Arc::new(Panics),
        ];
        let plan = Arc::new(Plan {
            calls: vec![Call {
                func: "f".into(),
                args: vec![],
            }],
            fuel: None,
            wasi: false,
        });
        let runs = run_sides(&sides, &Arc::new(vec![]), &plan, Duration::from_secs(5));
        let r = compare(&sides, &plan, &runs);
        assert_eq!(r.failed, 1);
        assert!(r.divergence.unwrap().to_string().contains("PANICKED: boom"));
    }
}
