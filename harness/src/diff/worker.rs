//! Running sides in worker threads, each step bounded in time.
//!
//! Each side runs on its own thread (the sides of a case one after another) and reports each
//! step over a channel. Strata sides stop a step that runs past `timeout` themselves, by epoch
//! interruption (`Side::execute_limited`): the step is inconclusive ("timed out") and the
//! thread is free again. For the others (peers) the collector waits at most `timeout` for
//! every next step; when the wait runs out, that step and everything after it are
//! inconclusive, the case goes on without that side, and the thread is left behind
//! (detached: Rust cannot kill a thread; it ends with the process). The collector also waits
//! for Strata sides, `STOP_GRACE` longer, in case an engine bug keeps one from stopping.
//! Generated modules do not need any of this: wasm-smith's `ensure_termination` bounds their
//! work.
//!
//! A panic in a side is caught on its thread and becomes [`Outcome::Panicked`] for the step it
//! happened in: always a failure, never a crash of the checker.

use super::plan::Plan;
use super::side::{Event, Side};
use super::value::{Outcome, Snapshot};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// Native stack of a worker thread: room for JIT tiers that recurse on the machine stack.
const WORKER_STACK: usize = 64 << 20;

/// How much longer than the step limit the collector waits for a side that stops itself.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Everything one side reported for a case. `calls` always has one entry per call of the plan.
#[derive(Debug)]
pub struct SideRun {
    pub instantiate: Outcome,
    pub calls: Vec<Outcome>,
    /// `None` when the side stopped early (failure, exhausted stack, timeout, panic).
    pub snapshot: Option<Snapshot>,
}

enum Msg {
    Event(Event),
    Panic(String),
    Done,
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// Runs every side on `wasm` and `plan`, one after another (so that one store at a time
/// holds the guest's memory: a module that grows to 4 GiB took 4 GiB per configuration when
/// they ran at once), and collects their reports.
pub fn run_sides(
    sides: &[Arc<dyn Side>],
    wasm: &Arc<Vec<u8>>,
    plan: &Arc<Plan>,
    timeout: Duration,
) -> Vec<SideRun> {
    sides
        .iter()
        .map(|side| {
            let (tx, rx) = mpsc::channel();
            let n_calls = plan.calls.len();
            let side_here = side.clone();
            let (side, wasm, plan) = (side.clone(), wasm.clone(), plan.clone());
            let rx = std::thread::Builder::new()
                .name(format!("diff-{}", side.name()))
                .stack_size(WORKER_STACK)
                .spawn(move || {
                    let emit_tx = tx.clone();
                    let result = catch_unwind(AssertUnwindSafe(|| {
                        side.execute_limited(&wasm, &plan, timeout, &mut |e| {
                            let _ = emit_tx.send(Msg::Event(e));
                        })
                    }));
                    let _ = tx.send(match result {
                        Ok(()) => Msg::Done,
                        Err(p) => Msg::Panic(panic_message(&*p)),
                    });
                })
                .map(|_| rx)
                .map_err(|e| format!("cannot start a worker thread: {e}"));
            let wait = if side_here.interrupts_itself() {
                timeout + STOP_GRACE
            } else {
                timeout
            };
            collect(rx, n_calls, wait)
        })
        .collect()
}

fn collect(rx: Result<mpsc::Receiver<Msg>, String>, n_calls: usize, timeout: Duration) -> SideRun {
    let mut run = SideRun {
        instantiate: Outcome::Inconclusive("not run".into()),
        calls: Vec::with_capacity(n_calls),
        snapshot: None,
    };
    let rx = match rx {
        Ok(rx) => rx,
        Err(e) => {
            run.instantiate = Outcome::Inconclusive(e);
            fill(&mut run, n_calls, "not run");
            return run;
        }
    };
    let mut instantiated = false;
    // Why the steps not reported are inconclusive.
    let mut missing = "the side stopped before this step";
    loop {
        match rx.recv_timeout(timeout) {
            Ok(Msg::Event(Event::Instantiated(o))) => {
                if !matches!(o, Outcome::Returned(_)) {
                    missing = "not instantiated";
                }
                run.instantiate = o;
                instantiated = true;
            }
            Ok(Msg::Event(Event::Call(o))) => {
                if matches!(
                    o,
                    Outcome::Trapped(super::value::TrapKind::StackOverflow, _)
                ) {
                    missing = "after an exhausted call stack";
                }
                if run.calls.len() < n_calls {
                    run.calls.push(o);
                }
            }
            Ok(Msg::Event(Event::Finished(s))) => run.snapshot = Some(s),
            Ok(Msg::Done) => break,
            Ok(Msg::Panic(m)) => {
                if instantiated {
                    run.calls.push(Outcome::Panicked(m));
                } else {
                    run.instantiate = Outcome::Panicked(m);
                }
                run.snapshot = None;
                missing = "after a panic";
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let what = Outcome::Inconclusive(format!(
                    "timed out after {:.1} s (the worker thread was abandoned)",
                    timeout.as_secs_f64()
                ));
                if instantiated {
                    run.calls.push(what);
                } else {
                    run.instantiate = what;
                }
                run.snapshot = None;
                missing = "after a timeout";
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    fill(&mut run, n_calls, missing);
    run
}

fn fill(run: &mut SideRun, n_calls: usize, why: &str) {
    run.calls.truncate(n_calls);
    while run.calls.len() < n_calls {
        run.calls.push(Outcome::Inconclusive(why.to_string()));
    }
}
