//! Running sides in worker threads, each step bounded in time.
//!
//! Each side runs on a worker thread (the sides of a case one after another; a worker that
//! ended its job cleanly runs the same side's next case) and reports each step over a channel. Strata sides stop a step that runs past `timeout` themselves, by epoch
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
            let n_calls = plan.calls.len();
            let wait = if side.interrupts_itself() {
                timeout + STOP_GRACE
            } else {
                timeout
            };
            let (tx, rx) = mpsc::channel();
            let job = Job {
                side: side.clone(),
                wasm: wasm.clone(),
                plan: plan.clone(),
                timeout,
                reply: tx,
            };
            let rx = take_worker().and_then(|worker| {
                worker
                    .jobs
                    .send(job)
                    .map_err(|_| "a worker thread ended early".to_string())?;
                Ok((worker, rx))
            });
            let (worker, rx) = match rx {
                Ok((worker, rx)) => (Some(worker), Ok(rx)),
                Err(e) => (None, Err(e)),
            };
            let (run, reusable) = collect(rx, n_calls, wait);
            if let (Some(worker), true) = (worker, reusable) {
                IDLE.with(|idle| {
                    let mut idle = idle.borrow_mut();
                    // Beyond the cap the worker is dropped and its thread ends.
                    if idle.len() < MAX_IDLE {
                        idle.push(worker);
                    }
                });
            }
            run
        })
        .collect()
}

/// One side's run of one case, sent to a worker thread.
struct Job {
    side: Arc<dyn Side>,
    wasm: Arc<Vec<u8>>,
    plan: Arc<Plan>,
    timeout: Duration,
    reply: mpsc::Sender<Msg>,
}

/// A worker thread waiting for jobs. Starting a thread per side and case (with its 64 MiB
/// stack mapped and unmapped each time) cost more of a campaign's time than some sides'
/// work, so a thread that finished its job cleanly runs a later job. Any worker runs any
/// side: the mixed target's side names change with every seed, and a pool by name kept a
/// thread per name (thousands).
struct Worker {
    jobs: mpsc::Sender<Job>,
}

thread_local! {
    /// Idle workers of the calling thread (at most `MAX_IDLE`). A worker that timed out or
    /// panicked is never put back: it is abandoned as before.
    static IDLE: std::cell::RefCell<Vec<Worker>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Idle workers kept per calling thread: sides run one after another, so one is enough;
/// a few spare cost nothing.
const MAX_IDLE: usize = 4;

fn take_worker() -> Result<Worker, String> {
    if let Some(worker) = IDLE.with(|idle| idle.borrow_mut().pop()) {
        return Ok(worker);
    }
    let (jobs, inbox) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("diff-worker".to_string())
        .stack_size(WORKER_STACK)
        .spawn(move || {
            // Ends when the pool drops its sender (the calling thread ended, or the worker
            // was abandoned).
            while let Ok(job) = inbox.recv() {
                let emit_tx = job.reply.clone();
                let result = catch_unwind(AssertUnwindSafe(|| {
                    job.side
                        .execute_limited(&job.wasm, &job.plan, job.timeout, &mut |e| {
                            let _ = emit_tx.send(Msg::Event(e));
                        })
                }));
                let _ = job.reply.send(match result {
                    Ok(()) => Msg::Done,
                    Err(p) => Msg::Panic(panic_message(&*p)),
                });
            }
        })
        .map(|_| Worker { jobs })
        .map_err(|e| format!("cannot start a worker thread: {e}"))
}

/// Collects one side's reports; also says whether its worker ended the job cleanly (and may
/// run the next).
fn collect(
    rx: Result<mpsc::Receiver<Msg>, String>,
    n_calls: usize,
    timeout: Duration,
) -> (SideRun, bool) {
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
            return (run, false);
        }
    };
    let mut clean = false;
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
            Ok(Msg::Done) => {
                clean = true;
                break;
            }
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
    (run, clean)
}

fn fill(run: &mut SideRun, n_calls: usize, why: &str) {
    run.calls.truncate(n_calls);
    while run.calls.len() < n_calls {
        run.calls.push(Outcome::Inconclusive(why.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records the thread each run happens on; panics on the runs listed in `panic_on`.
    struct Recorder {
        threads: Mutex<Vec<std::thread::ThreadId>>,
        panic_on: Vec<usize>,
    }

    impl Side for Recorder {
        fn name(&self) -> &str {
            "recorder"
        }
        fn execute(&self, _: &[u8], _: &Plan, _: &mut dyn FnMut(Event)) {
            let mut threads = self.threads.lock().unwrap();
            threads.push(std::thread::current().id());
            let run = threads.len() - 1;
            drop(threads);
            if self.panic_on.contains(&run) {
                panic!("run {run} panics");
            }
        }
    }

    #[test]
    fn a_worker_runs_the_next_case_unless_its_job_panicked() {
        let recorder = Arc::new(Recorder {
            threads: Mutex::new(Vec::new()),
            panic_on: vec![1],
        });
        let sides: Vec<Arc<dyn Side>> = vec![recorder.clone()];
        let plan = Arc::new(Plan {
            calls: vec![],
            fuel: None,
            wasi: false,
        });
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            let runs = run_sides(&sides, &Arc::new(vec![]), &plan, Duration::from_secs(5));
            outcomes.push(matches!(runs[0].instantiate, Outcome::Panicked(_)));
        }
        assert_eq!(outcomes, [false, true, false]);
        let threads = recorder.threads.lock().unwrap().clone();
        assert_eq!(
            threads[0], threads[1],
            "a clean run leaves its worker for the next"
        );
        assert_ne!(
            threads[1], threads[2],
            "a worker whose job panicked is not reused"
        );
        assert_ne!(threads[0], std::thread::current().id());
    }

    /// A side whose name is new in every case, as the mixed target's `mixed:SEED`.
    struct Named(String);

    impl Side for Named {
        fn name(&self) -> &str {
            &self.0
        }
        fn execute(&self, _: &[u8], _: &Plan, _: &mut dyn FnMut(Event)) {}
    }

    #[test]
    fn sides_named_anew_in_every_case_share_the_workers() {
        let plan = Arc::new(Plan {
            calls: vec![],
            fuel: None,
            wasi: false,
        });
        let threads = || std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count());
        // Run on a thread of its own: its pool is then this test's alone.
        std::thread::spawn(move || {
            let before = threads();
            for seed in 0..200 {
                let sides: Vec<Arc<dyn Side>> = vec![
                    Arc::new(Named(format!("mixed:{seed}"))),
                    Arc::new(Named(format!("tiered@random:{seed}"))),
                ];
                run_sides(&sides, &Arc::new(vec![]), &plan, Duration::from_secs(5));
            }
            // Other tests' threads come and go meanwhile; a thread per name would be 400.
            assert!(
                threads() < before + 50,
                "{} threads after, {before} before",
                threads()
            );
        })
        .join()
        .unwrap();
    }
}
