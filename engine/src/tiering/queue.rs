//! The background compile queue (design.md §6): jobs are (function, tier, reason, priority),
//! run on a rayon pool of configurable size, highest priority first; a job for a function
//! and tier already queued or running is coalesced; the executing thread never waits unless
//! the policy asks for synchronous compilation. Outcomes (queue wait, compile time, code
//! size, or the failure) are kept for the executing thread to collect and become profile
//! events.

use super::policy::TierLevel;
use super::profile::FuncKey;
use std::collections::{BinaryHeap, HashSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The work of a job: compile and install; returns the code size, or why it failed (the
/// function then stays on its current tier).
pub type CompileWork = Box<dyn FnOnce() -> Result<usize, String> + Send>;

/// Called with a job's outcome on the thread that ran it.
pub type OnDone = Box<dyn FnOnce(&JobOutcome) + Send>;

/// Compiles and installs the functions of a batch (defined-function indices): one result per
/// function, in order, each the code size or why it failed.
pub type BatchWork = Arc<dyn Fn(&[u32]) -> Vec<Result<usize, String>> + Send + Sync>;

/// How a job can run together with other waiting jobs (`CompilerTier::compile_batch`): the
/// thread that takes it also takes the jobs right behind it in the queue that have the same
/// key, up to a budget, and compiles them into one mapping. Their functions are installed at
/// the end of the batch, so the budget bounds the delay the first one sees.
pub struct Batchable {
    /// Only jobs with equal keys run together (a module and a tier).
    pub key: (u64, TierLevel),
    /// The defined function's index, for `work`.
    pub def_index: u32,
    /// The job's share of the budget (bytes of wasm body).
    pub weight: usize,
    /// What one batch may weigh in all.
    pub budget: usize,
    /// The compilation of a whole batch (the first job's is used).
    pub work: BatchWork,
}

/// A function to compile at a tier.
pub struct CompileJob {
    /// The function.
    pub func: FuncKey,
    /// The tier.
    pub tier: TierLevel,
    /// The loop (ordinal) whose OSR entry this job compiles on its own, for tiers that build
    /// OSR entries on demand; `None` for the function itself.
    pub loop_entry: Option<u32>,
    /// Why (the policy's word).
    pub reason: &'static str,
    /// Higher runs first.
    pub priority: i32,
    /// The compilation itself.
    pub work: CompileWork,
    /// Called with the outcome on the thread that ran the job, as soon as it finished (the
    /// tier manager records its profile events there).
    pub on_done: Option<OnDone>,
    /// Whether and how it can run in a batch (`work` is used when it runs alone).
    pub batch: Option<Batchable>,
}

/// How a compile job went.
#[derive(Clone, Debug)]
pub struct JobOutcome {
    /// The function.
    pub func: FuncKey,
    /// The tier.
    pub tier: TierLevel,
    /// The loop whose OSR entry was compiled, if that was the job.
    pub loop_entry: Option<u32>,
    /// Why it was compiled.
    pub reason: &'static str,
    /// Time in the queue.
    pub queue_wait: Duration,
    /// Time compiling (a batch's time is shared out evenly between its jobs).
    pub compile_time: Duration,
    /// Bytes of machine code, or why compiling failed.
    pub result: Result<usize, String>,
}

struct Pending {
    priority: i32,
    seq: u64,
    queued_at: Instant,
    job: CompileJob,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    /// Higher priority first; among equals the lower tier (a baseline compile is about ten
    /// times cheaper than an opt compile and lifts a function out of the interpreter, about
    /// ten times slower, so it should not wait behind opt jobs), then first come first served.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.priority
            .cmp(&other.priority)
            .then(other.job.tier.cmp(&self.job.tier))
            .then(other.seq.cmp(&self.seq))
    }
}

#[derive(Default)]
struct State {
    pending: BinaryHeap<Pending>,
    in_flight: HashSet<(FuncKey, TierLevel, Option<u32>)>,
    /// Jobs waiting to start, per tier (indexed by `TierLevel::as_u8`): the policies' load
    /// feedback.
    waiting: [usize; 3],
    running: usize,
    outcomes: Vec<JobOutcome>,
    seq: u64,
}

/// Most jobs one batch takes.
const MAX_BATCH: usize = 64;

impl State {
    /// Takes the waiting jobs right behind a job with `batch` that can run with it, within
    /// its budget (`weight` already spent).
    fn take_batchmates(&mut self, batch: Option<&Batchable>, out: &mut Vec<Pending>) {
        let Some(first) = batch else { return };
        let mut weight = first.weight;
        while out.len() + 1 < MAX_BATCH {
            let fits = self.pending.peek().is_some_and(|p| {
                p.job.batch.as_ref().is_some_and(|b| {
                    b.key == first.key && weight.saturating_add(b.weight) <= first.budget
                })
            });
            if !fits {
                break;
            }
            let p = self.pending.pop().expect("peeked");
            weight += p.job.batch.as_ref().map_or(0, |b| b.weight);
            self.waiting[tier_slot(p.job.tier)] -= 1;
            self.running += 1;
            out.push(p);
        }
    }
}

struct Shared {
    state: Mutex<State>,
    idle: Condvar,
}

impl Shared {
    /// A poisoned lock only means a job panicked while holding it; the state stays usable.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Background compilation: a thread pool running the most urgent job first.
pub struct CompileQueue {
    pool: rayon::ThreadPool,
    shared: Arc<Shared>,
    threads: usize,
}

impl CompileQueue {
    /// The default pool size: cores - 1, at least 1.
    pub fn default_threads() -> usize {
        std::thread::available_parallelism()
            .map(|n| n.get().saturating_sub(1))
            .unwrap_or(1)
            .max(1)
    }

    /// A queue with `threads` compile threads (at least 1).
    pub fn new(threads: usize) -> Result<CompileQueue, String> {
        let threads = threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("strata-compile-{i}"))
            .build()
            .map_err(|e| format!("cannot start the compile pool: {e}"))?;
        Ok(CompileQueue {
            pool,
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                idle: Condvar::new(),
            }),
            threads,
        })
    }

    /// Its compile threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Queues a job; `false` when the same function and tier is already queued or running.
    pub fn submit(&self, job: CompileJob) -> bool {
        {
            let mut st = self.shared.lock();
            if !st.in_flight.insert((job.func, job.tier, job.loop_entry)) {
                return false;
            }
            st.seq += 1;
            st.waiting[tier_slot(job.tier)] += 1;
            let seq = st.seq;
            st.pending.push(Pending {
                priority: job.priority,
                seq,
                queued_at: Instant::now(),
                job,
            });
        }
        let shared = self.shared.clone();
        // Each spawned task runs whichever job is most urgent when it starts.
        self.pool.spawn(move || {
            let jobs = {
                let mut st = shared.lock();
                let mut jobs = Vec::new();
                if let Some(p) = st.pending.pop() {
                    st.running += 1;
                    st.waiting[tier_slot(p.job.tier)] -= 1;
                    jobs.push(p);
                    let first = jobs[0].job.batch.take();
                    st.take_batchmates(first.as_ref(), &mut jobs);
                    jobs[0].job.batch = first;
                }
                jobs
            };
            if jobs.is_empty() {
                return;
            }
            let outcomes = run_batch(jobs);
            let mut st = shared.lock();
            st.running -= outcomes.len();
            for o in &outcomes {
                st.in_flight.remove(&(o.func, o.tier, o.loop_entry));
            }
            st.outcomes.extend(outcomes);
            if st.pending.is_empty() && st.running == 0 {
                shared.idle.notify_all();
            }
        });
        true
    }

    /// Runs a job on the calling thread (synchronous policies); the outcome is also kept
    /// for `drain`, so profiles see synchronous and background compiles alike.
    /// The waiting jobs that can run in a batch with it run too (the executing thread helps
    /// with the backlog a whole batch at a time).
    pub fn run_now(&self, mut job: CompileJob) -> JobOutcome {
        let first = job.batch.take();
        let mut jobs = Vec::new();
        self.shared
            .lock()
            .take_batchmates(first.as_ref(), &mut jobs);
        job.batch = first;
        let mates = jobs.len();
        jobs.insert(
            0,
            Pending {
                priority: job.priority,
                seq: 0,
                queued_at: Instant::now(),
                job,
            },
        );
        let outcomes = run_batch(jobs);
        let mut st = self.shared.lock();
        st.running -= mates;
        for o in &outcomes[1..] {
            st.in_flight.remove(&(o.func, o.tier, o.loop_entry));
        }
        st.outcomes.extend(outcomes.iter().cloned());
        if st.pending.is_empty() && st.running == 0 {
            self.shared.idle.notify_all();
        }
        outcomes.into_iter().next().expect("the job itself")
    }

    /// Outcomes finished since the last call.
    pub fn drain(&self) -> Vec<JobOutcome> {
        std::mem::take(&mut self.shared.lock().outcomes)
    }

    /// Jobs waiting to start.
    pub fn len(&self) -> usize {
        self.shared.lock().pending.len()
    }

    /// Jobs at `tier` waiting to start (not counting the running ones).
    pub fn waiting_at(&self, tier: TierLevel) -> usize {
        self.shared.lock().waiting[tier_slot(tier)]
    }

    /// No job is waiting to start.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// In one look: whether a job for `func` (the function, not an OSR entry) is queued or
    /// running at any tier above the interpreter, and the jobs waiting per tier.
    pub fn func_load(&self, func: FuncKey) -> (bool, [usize; 3]) {
        let st = self.shared.lock();
        let compiling = [TierLevel::Baseline, TierLevel::Opt]
            .into_iter()
            .any(|t| st.in_flight.contains(&(func, t, None)));
        (compiling, st.waiting)
    }

    /// Whether a job for `func` at `tier` is queued or running.
    pub fn is_in_flight(&self, func: FuncKey, tier: TierLevel) -> bool {
        self.shared.lock().in_flight.contains(&(func, tier, None))
    }

    /// Whether a job compiling the OSR entry of `func` at loop `loop_index` at `tier` is
    /// queued or running.
    pub fn is_loop_entry_in_flight(&self, func: FuncKey, tier: TierLevel, loop_index: u32) -> bool {
        self.shared
            .lock()
            .in_flight
            .contains(&(func, tier, Some(loop_index)))
    }

    /// Drops the jobs that have not started (a shutting-down engine does not need their
    /// code); returns how many there were. Running jobs finish.
    pub fn cancel_pending(&self) -> usize {
        let mut st = self.shared.lock();
        let dropped: Vec<Pending> = std::mem::take(&mut st.pending).into_vec();
        st.waiting = [0; 3];
        for p in &dropped {
            st.in_flight
                .remove(&(p.job.func, p.job.tier, p.job.loop_entry));
        }
        if st.running == 0 {
            self.shared.idle.notify_all();
        }
        dropped.len()
    }

    /// Blocks until no job is queued or running (tests, and orderly shutdown).
    pub fn wait_idle(&self) {
        let mut st = self.shared.lock();
        while !(st.pending.is_empty() && st.running == 0) {
            st = self.shared.idle.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn tier_slot(tier: TierLevel) -> usize {
    (tier.as_u8() as usize).min(2)
}

/// Runs jobs taken together: alone through their own `work`, or as one batch through the
/// first job's batch work. Outcomes in the jobs' order.
fn run_batch(mut jobs: Vec<Pending>) -> Vec<JobOutcome> {
    if jobs.len() == 1 {
        return vec![run(jobs.pop().expect("one job"))];
    }
    let started = Instant::now();
    let defs: Vec<u32> = jobs
        .iter()
        .map(|p| p.job.batch.as_ref().map_or(0, |b| b.def_index))
        .collect();
    let work = jobs[0].job.batch.as_ref().map(|b| b.work.clone());
    // A compiler bug must not take the engine down: a panicking batch fails each job.
    let results = work
        .and_then(|w| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w(&defs))).ok())
        .filter(|r| r.len() == jobs.len())
        .unwrap_or_else(|| vec![Err("the compiler panicked".to_string()); jobs.len()]);
    let share = started.elapsed() / jobs.len() as u32;
    jobs.into_iter()
        .zip(results)
        .map(|(p, result)| {
            let job = p.job;
            let outcome = JobOutcome {
                func: job.func,
                tier: job.tier,
                loop_entry: job.loop_entry,
                reason: job.reason,
                queue_wait: started.saturating_duration_since(p.queued_at),
                compile_time: share,
                result,
            };
            if let Some(done) = job.on_done {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| done(&outcome)));
            }
            outcome
        })
        .collect()
}

fn run(p: Pending) -> JobOutcome {
    let started = Instant::now();
    let queue_wait = started - p.queued_at;
    let job = p.job;
    // A compiler bug must not take the engine down: a panicking job is a failed job.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job.work))
        .unwrap_or_else(|_| Err("the compiler panicked".to_string()));
    let outcome = JobOutcome {
        func: job.func,
        tier: job.tier,
        loop_entry: job.loop_entry,
        reason: job.reason,
        queue_wait,
        compile_time: started.elapsed(),
        result,
    };
    if let Some(done) = job.on_done {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| done(&outcome)));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn key(i: u32) -> FuncKey {
        FuncKey {
            module: 1,
            func_index: i,
        }
    }

    #[test]
    fn jobs_run_and_report_outcomes() {
        let q = CompileQueue::new(2).unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        for i in 0..20 {
            let r = ran.clone();
            assert!(q.submit(CompileJob {
                func: key(i),
                tier: TierLevel::Baseline,
                loop_entry: None,
                reason: "test",
                priority: (i % 3) as i32,
                work: Box::new(move || {
                    r.fetch_add(1, Ordering::SeqCst);
                    if i == 7 {
                        Err("no".into())
                    } else {
                        Ok(i as usize)
                    }
                }),
                on_done: None,
                batch: None,
            }));
        }
        q.wait_idle();
        assert_eq!(ran.load(Ordering::SeqCst), 20);
        let outcomes = q.drain();
        assert_eq!(outcomes.len(), 20);
        assert_eq!(outcomes.iter().filter(|o| o.result.is_err()).count(), 1);
        assert!(q.drain().is_empty());
    }

    #[test]
    fn pending_jobs_can_be_cancelled() {
        let q = CompileQueue::new(1).unwrap();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let g = gate.clone();
        assert!(q.submit(CompileJob {
            func: key(0),
            tier: TierLevel::Baseline,
            loop_entry: None,
            reason: "block",
            priority: 0,
            work: Box::new(move || {
                let (m, c) = &*g;
                let mut open = m.lock().unwrap();
                while !*open {
                    open = c.wait(open).unwrap();
                }
                Ok(1)
            }),
            on_done: None,
            batch: None,
        }));
        // Wait until the blocker runs, so the next two stay pending.
        while !q.is_empty() {
            std::thread::yield_now();
        }
        let ran = Arc::new(AtomicUsize::new(0));
        for i in 1..3 {
            let r = ran.clone();
            assert!(q.submit(CompileJob {
                func: key(i),
                tier: TierLevel::Baseline,
                loop_entry: None,
                reason: "pending",
                priority: 0,
                work: Box::new(move || {
                    r.fetch_add(1, Ordering::SeqCst);
                    Ok(0)
                }),
                on_done: None,
                batch: None,
            }));
        }
        assert_eq!(q.cancel_pending(), 2);
        assert!(!q.is_in_flight(key(1), TierLevel::Baseline));
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        q.wait_idle();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert_eq!(q.drain().len(), 1);
    }

    #[test]
    fn duplicates_are_coalesced_and_panics_contained() {
        let q = CompileQueue::new(1).unwrap();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let g = gate.clone();
        let blocker = CompileJob {
            func: key(0),
            tier: TierLevel::Baseline,
            loop_entry: None,
            reason: "block",
            priority: 0,
            work: Box::new(move || {
                let (m, c) = &*g;
                let mut open = m.lock().unwrap();
                while !*open {
                    open = c.wait(open).unwrap();
                }
                Ok(1)
            }),
            on_done: None,
            batch: None,
        };
        assert!(q.submit(blocker));
        let dup = CompileJob {
            func: key(0),
            tier: TierLevel::Baseline,
            loop_entry: None,
            reason: "dup",
            priority: 0,
            work: Box::new(|| Ok(2)),
            on_done: None,
            batch: None,
        };
        assert!(!q.submit(dup));
        assert!(q.is_in_flight(key(0), TierLevel::Baseline));
        assert!(q.submit(CompileJob {
            func: key(1),
            tier: TierLevel::Baseline,
            loop_entry: None,
            reason: "panics",
            priority: 5,
            work: Box::new(|| panic!("compiler bug")),
            on_done: None,
            batch: None,
        }));
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        q.wait_idle();
        let outcomes = q.drain();
        assert_eq!(outcomes.len(), 2);
        let failed = outcomes.iter().find(|o| o.func == key(1)).unwrap();
        assert_eq!(failed.result, Err("the compiler panicked".into()));
        assert!(!q.is_in_flight(key(0), TierLevel::Baseline));
    }

    #[test]
    fn waiting_jobs_of_one_key_run_as_batches_within_the_budget() {
        let q = CompileQueue::new(1).unwrap();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let g = gate.clone();
        assert!(q.submit(CompileJob {
            func: key(0),
            tier: TierLevel::Opt,
            loop_entry: None,
            reason: "block",
            priority: 9,
            work: Box::new(move || {
                let (m, c) = &*g;
                let mut open = m.lock().unwrap();
                while !*open {
                    open = c.wait(open).unwrap();
                }
                Ok(0)
            }),
            on_done: None,
            batch: None,
        }));
        while !q.is_empty() {
            std::thread::yield_now();
        }
        let batches: Arc<Mutex<Vec<Vec<u32>>>> = Arc::default();
        let b = batches.clone();
        let work: BatchWork = Arc::new(move |defs: &[u32]| {
            b.lock().unwrap().push(defs.to_vec());
            defs.iter()
                .map(|&d| {
                    if d == 3 {
                        Err("no".into())
                    } else {
                        Ok(d as usize)
                    }
                })
                .collect()
        });
        // Functions 1..=6 of module 1 weigh 10 bytes each (budget 30), function 7 belongs to
        // another module, and the lone job of function 8 runs through its own work.
        for i in 1..=8u32 {
            let module = if i == 7 { 2 } else { 1 };
            assert!(q.submit(CompileJob {
                func: FuncKey {
                    module,
                    func_index: i,
                },
                tier: TierLevel::Baseline,
                loop_entry: None,
                reason: "batch",
                priority: 0,
                work: Box::new(move || Ok(1000 + i as usize)),
                on_done: None,
                batch: (i != 8).then(|| Batchable {
                    key: (module, TierLevel::Baseline),
                    def_index: i,
                    weight: 10,
                    budget: 30,
                    work: work.clone(),
                }),
            }));
        }
        assert_eq!(q.waiting_at(TierLevel::Baseline), 8);
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        q.wait_idle();
        assert_eq!(
            *batches.lock().unwrap(),
            vec![vec![1, 2, 3], vec![4, 5, 6]],
            "first come first served, three per batch, the other module's job alone"
        );
        let mut outcomes = q.drain();
        outcomes.sort_by_key(|o| o.func.func_index);
        let results: Vec<_> = outcomes.iter().map(|o| o.result.clone()).collect();
        assert_eq!(
            results,
            vec![
                Ok(0),
                Ok(1),
                Ok(2),
                Err("no".into()),
                Ok(4),
                Ok(5),
                Ok(6),
                Ok(1007),
                Ok(1008)
            ]
        );
        for i in 1..=8 {
            assert!(!q.is_in_flight(key(i), TierLevel::Baseline));
        }
        assert_eq!(q.waiting_at(TierLevel::Baseline), 0);
    }
}
