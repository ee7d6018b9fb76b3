//! The tier manager: the interpreter's check points come here (`TierHooks`), the policy
//! decides, compile jobs go to the queue (or run at once for synchronous policies), finished
//! code is installed through `strata_tiers::tier`, and every step is a profile event.

use super::policy::{Decision, FuncState, TierLevel, TierPolicy, Verdict, RECHECK_WHILE_COMPILING};
use super::profile::{EventKind, FuncKey, Profiler};
use super::queue::{Batchable, CompileJob, CompileQueue, JobOutcome, OnDone};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use strata_tiers::tier;
use strata_vm::tiering::{BackedgeVerdict, Counts, TierHooks, LEVEL_IDLE};
use strata_vm::{BoundsChecks, Module};

/// How often the profiler samples which tier each store's thread is in.
const SAMPLE_PERIOD: Duration = Duration::from_micros(200);

/// One per tiered engine, shared by its stores.
pub struct TierManager {
    policy: Arc<dyn TierPolicy>,
    queue: CompileQueue,
    bounds: BoundsChecks,
    profiler: Option<Arc<Profiler>>,
    /// Modules instantiated with this engine, for the profile's counters.
    modules: Mutex<Vec<Weak<Module>>>,
    /// Stores' current-tier cells, sampled for time per tier.
    stores: Arc<Mutex<Vec<Weak<AtomicU8>>>>,
    sampler: Mutex<Option<(Arc<AtomicBool>, JoinHandle<()>)>>,
}

impl TierManager {
    /// A manager with `policy`, a compile queue of `compile_threads` threads, and a
    /// profiler (with its time sampler) when `profile` is set.
    pub fn new(
        policy: Arc<dyn TierPolicy>,
        compile_threads: usize,
        bounds: BoundsChecks,
        profile: bool,
    ) -> Result<TierManager, String> {
        let profiler = profile.then(|| Arc::new(Profiler::new()));
        let stores: Arc<Mutex<Vec<Weak<AtomicU8>>>> = Arc::default();
        let sampler = match &profiler {
            Some(p) => Some(start_sampler(p.clone(), stores.clone())?),
            None => None,
        };
        Ok(TierManager {
            policy,
            queue: CompileQueue::new(compile_threads)?,
            bounds,
            profiler,
            modules: Mutex::default(),
            stores,
            sampler: Mutex::new(sampler),
        })
    }

    /// The tiering policy.
    pub fn policy(&self) -> &dyn TierPolicy {
        &*self.policy
    }

    /// Threads of the compile queue.
    pub fn compile_threads(&self) -> usize {
        self.queue.threads()
    }

    /// The profiler, when the engine was configured to profile.
    pub fn profiler(&self) -> Option<&Profiler> {
        self.profiler.as_deref()
    }

    /// A new instance's module: its functions are interpreted until the policy moves them.
    pub(crate) fn register_module(&self, module: &Arc<Module>) {
        tier::prepare_tiered(module);
        let mut modules = lock(&self.modules);
        if !modules.iter().any(|m| m.as_ptr() == Arc::as_ptr(module)) {
            modules.retain(|m| m.strong_count() > 0);
            modules.push(Arc::downgrade(module));
            if let Some(p) = &self.profiler {
                for (f, name) in &module.func_names {
                    p.name_func(key(module, *f), name.clone());
                }
            }
        }
    }

    /// A new store: the sampler follows its thread's tier.
    pub(crate) fn register_store(&self, tier_now: Arc<AtomicU8>) {
        if self.profiler.is_some() {
            let mut stores = lock(&self.stores);
            stores.retain(|s| s.strong_count() > 0);
            stores.push(Arc::downgrade(&tier_now));
        }
    }

    /// Waits for queued compile jobs (benchmarks, tests, orderly shutdown).
    pub fn wait_idle(&self) {
        self.queue.wait_idle();
    }

    /// Per-function calls and loop iterations of every registered module, read from the
    /// interpreter's counters.
    pub fn counts(&self) -> Vec<(FuncKey, u64, u64)> {
        let mut out = Vec::new();
        for m in lock(&self.modules).iter().filter_map(Weak::upgrade) {
            for def in 0..m.num_defined_funcs() as u32 {
                if let Some((calls, backedges)) = tier::counts(&m, def) {
                    let f = m.num_imported_funcs + def;
                    out.push((key(&m, f), calls, backedges));
                }
            }
        }
        out
    }

    /// Stops the sampler so that the profile's tier times are final.
    pub fn stop_sampling(&self) {
        if let Some((stop, handle)) = lock(&self.sampler).take() {
            stop.store(true, Ordering::Relaxed);
            let _ = handle.join();
        }
    }

    fn state(&self, module: &Module, def_index: u32, level: u8, counts: Counts) -> FuncState {
        let func_index = module.num_imported_funcs + def_index;
        let ready = level_of(tier::ready_level(module, def_index));
        let (compiling, waiting) = self.queue.func_load(key(module, func_index));
        FuncState {
            func_index,
            body_bytes: module.bodies[def_index as usize].range.len() as u32,
            calls: counts.calls,
            backedges: counts.backedges,
            tier: level_of(level),
            ready,
            top: top_level(),
            compiling,
            queued: waiting.map(|n| n as u32),
            compile_threads: self.queue.threads() as u32,
        }
    }

    /// Carries out a compile decision; `false` when nothing was started. With `loop_entry`,
    /// the job compiles only that loop's OSR entry (tiers that build them on demand).
    fn compile(
        &self,
        module: &Arc<Module>,
        def_index: u32,
        tier: TierLevel,
        loop_entry: Option<u32>,
        priority: i32,
        reason: &'static str,
    ) -> bool {
        let func = key(module, module.num_imported_funcs + def_index);
        let Some(compiler) = tier::compiler(tier.as_u8()) else {
            return false;
        };
        let (done, in_flight) = match loop_entry {
            None => (
                tier::ready_level(module, def_index) >= tier.as_u8(),
                self.queue.is_in_flight(func, tier),
            ),
            Some(l) => (
                tier::osr_entry_at(module, def_index, l, tier.as_u8()).is_some(),
                self.queue.is_loop_entry_in_flight(func, tier, l),
            ),
        };
        if done || in_flight {
            return false;
        }
        // Background outcomes are recorded by `on_done`; the queue's copies are not needed.
        self.queue.drain();
        let (m, bounds) = (module.clone(), self.bounds);
        // Code the policy can still move up counts for it; code at the policy's (or the
        // build's) top pays nothing.
        let counting = tier < self.policy.max_tier().min(top_level());
        // The tier the function's calls run in until this job installs its code.
        let from = level_of(tier::ready_level(module, def_index));
        let profiler = self.profiler.clone();
        let job = CompileJob {
            func,
            tier,
            loop_entry,
            reason,
            priority,
            work: Box::new(move || {
                match loop_entry {
                    None => compiler.compile_counting(&m, def_index, bounds, counting),
                    Some(l) => compiler.compile_osr_entry(&m, def_index, l, bounds),
                }
                .map(|info| info.code_size)
            }),
            on_done: profiler
                .map(|p| Box::new(move |o: &JobOutcome| record_outcome(&p, o, from)) as OnDone),
            batch: (loop_entry.is_none() && compiler.batch_bytes() > 0).then(|| {
                let m = module.clone();
                Batchable {
                    key: (func.module, tier),
                    def_index,
                    weight: module.bodies[def_index as usize].range.len(),
                    budget: compiler.batch_bytes(),
                    work: Arc::new(move |defs: &[u32]| {
                        compiler
                            .compile_batch(&m, defs, bounds, counting)
                            .into_iter()
                            .map(|r| r.map(|info| info.code_size))
                            .collect()
                    }),
                }
            }),
        };
        let record = |queue_len| {
            if let Some(p) = &self.profiler {
                let kind = EventKind::CompileQueued {
                    tier,
                    reason,
                    queue_len,
                };
                p.record(Some(func), kind);
            }
        };
        // The compile threads are behind on this tier: compile here rather than wait.
        let help = loop_entry.is_none()
            && self.policy.help_backlog(tier).is_some_and(|per_thread| {
                self.queue.waiting_at(tier) >= per_thread.saturating_mul(self.queue.threads())
            });
        if self.policy.synchronous_at(tier) || help {
            record(0);
            self.queue.run_now(job);
            true
        } else {
            // Recorded before the job can finish, so events stay in order.
            record(self.queue.len() + 1);
            self.queue.submit(job)
        }
    }

    fn act(&self, module: &Arc<Module>, def_index: u32, v: Verdict, reason: &'static str) {
        if let Decision::Compile { tier, priority } = v.decision {
            self.compile(module, def_index, tier, None, priority, reason);
        }
    }

    /// Whether `tier` builds OSR entries one loop at a time.
    fn loop_entries_on_demand(tier: TierLevel) -> bool {
        tier::compiler(tier.as_u8()).is_some_and(|c| c.osr_entries_on_demand())
    }

    /// The loop's OSR entry at `tier`, compiled now or queued when the tier builds them on
    /// demand and it is missing (JavaScriptCore's OMGForOSREntry: a hot loop asks for an
    /// entry of its own, first in the queue).
    fn want_loop_entry(
        &self,
        module: &Arc<Module>,
        def_index: u32,
        loop_index: u32,
        tier: TierLevel,
    ) {
        if Self::loop_entries_on_demand(tier)
            && tier::osr_entry_at(module, def_index, loop_index, tier.as_u8()).is_none()
        {
            self.compile(module, def_index, tier, Some(loop_index), 2, "osr-entry");
        }
    }
}

impl TierHooks for TierManager {
    fn on_call(&self, module: &Arc<Module>, def_index: u32, level: u8, counts: Counts) -> u64 {
        let v = self
            .policy
            .on_call(&self.state(module, def_index, level, counts));
        self.act(module, def_index, v, "calls");
        counts.calls.saturating_add(v.next_check.max(1))
    }

    fn on_backedge(
        &self,
        module: &Arc<Module>,
        def_index: u32,
        loop_index: u32,
        level: u8,
        counts: Counts,
    ) -> BackedgeVerdict {
        let v = self
            .policy
            .on_backedge(&self.state(module, def_index, level, counts), loop_index);
        let osr = match v.decision {
            Decision::Compile { tier, priority } => {
                // A loop asked for the tier: its own entry comes with the function's code.
                self.want_loop_entry(module, def_index, loop_index, tier);
                self.compile(module, def_index, tier, None, priority, "loop");
                false
            }
            Decision::Osr { tier } => {
                self.want_loop_entry(module, def_index, loop_index, tier);
                true
            }
            Decision::Nothing => false,
        };
        // OSR only upwards, into an entry that exists now (a queued one is asked for again
        // at a later check point).
        let ready = tier::osr_entry(module, def_index, loop_index).is_some_and(|e| e.level > level);
        // While the entry is on its way, do not ask at every iteration.
        let wait = if osr && !ready && !self.policy.synchronous() {
            v.next_check.max(RECHECK_WHILE_COMPILING)
        } else {
            v.next_check.max(1)
        };
        BackedgeVerdict {
            next_check: counts.backedges.saturating_add(wait),
            osr: osr && ready,
        }
    }

    fn on_osr(&self, module: &Arc<Module>, def_index: u32, loop_index: u32, from: u8, to: u8) {
        if let Some(p) = &self.profiler {
            p.record(
                Some(key(module, module.num_imported_funcs + def_index)),
                EventKind::OsrEntry {
                    tier: level_of(to),
                    loop_header: loop_index,
                    from: level_of(from),
                },
            );
        }
    }
}

impl Drop for TierManager {
    fn drop(&mut self) {
        self.stop_sampling();
        // Nobody will run the code of jobs not yet started; the running ones hold their
        // modules, so let them finish rather than abandon them mid-compile.
        self.queue.cancel_pending();
        self.queue.wait_idle();
    }
}

fn record_outcome(p: &Profiler, o: &JobOutcome, from: TierLevel) {
    p.record(
        Some(o.func),
        EventKind::Compiled {
            tier: o.tier,
            queue_wait: o.queue_wait,
            compile_time: o.compile_time,
            code_size: o.result.as_ref().ok().copied(),
        },
    );
    // An OSR entry compiled on its own moves no code slot.
    if o.result.is_ok() && o.loop_entry.is_none() {
        p.record(Some(o.func), EventKind::TierUp { from, to: o.tier });
    }
}

/// Samples every registered store's current tier and charges the elapsed time to it.
fn start_sampler(
    profiler: Arc<Profiler>,
    stores: Arc<Mutex<Vec<Weak<AtomicU8>>>>,
) -> Result<(Arc<AtomicBool>, JoinHandle<()>), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::Builder::new()
        .name("strata-profile-sampler".into())
        .spawn(move || {
            let mut last = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(SAMPLE_PERIOD);
                let now = Instant::now();
                let elapsed = now - last;
                last = now;
                for cell in lock(&stores).iter().filter_map(Weak::upgrade) {
                    let level = cell.load(Ordering::Relaxed);
                    if level != LEVEL_IDLE {
                        profiler.add_bucket_time(level as usize, elapsed);
                    }
                }
            }
        })
        .map_err(|e| format!("cannot start the profiler's sampler: {e}"))?;
    Ok((stop, handle))
}

fn key(module: &Module, func_index: u32) -> FuncKey {
    FuncKey {
        module: module as *const Module as u64,
        func_index,
    }
}

/// The highest tier this build can compile to.
fn top_level() -> TierLevel {
    tier::top_compiler().map_or(TierLevel::Interp, |c| level_of(c.level()))
}

fn level_of(level: u8) -> TierLevel {
    TierLevel::from_u8(level).unwrap_or(TierLevel::Interp)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
