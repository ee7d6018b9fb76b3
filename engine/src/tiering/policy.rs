//! Tiering policies: strategy objects fed by counters and events, returning decisions
//! (design.md §7). The interpreter consults a policy only when a function's next check
//! point is reached, so a policy also says how long to wait before it is asked again: this
//! keeps counting cheap (one compare per call or back-edge in the interpreter).

use std::sync::atomic::{AtomicU64, Ordering};

pub use strata_vm::tiering::TierLevel;

/// What a policy sees of a function when it is consulted.
#[derive(Clone, Copy, Debug)]
pub struct FuncState {
    /// Function index in its module.
    pub func_index: u32,
    /// Size of the wasm body in bytes.
    pub body_bytes: u32,
    /// Calls counted so far.
    pub calls: u64,
    /// Loop back-edges taken so far.
    pub backedges: u64,
    /// The tier the function currently runs in.
    pub tier: TierLevel,
    /// The highest tier with code ready (installed), if above `tier` the next call runs it.
    pub ready: TierLevel,
    /// A compile job for the function is queued or running.
    pub compiling: bool,
    /// The highest tier this engine can compile to: a policy's `max` above it means it.
    pub top: TierLevel,
    /// Compile jobs waiting to start in the background queue, per tier (indexed by
    /// `TierLevel::as_u8`), for policies that back off while the compilers are behind.
    pub queued: [u32; 3],
    /// Threads of the background compile queue.
    pub compile_threads: u32,
}

impl FuncState {
    /// Compile jobs at `tier` waiting to start.
    pub fn queued_at(&self, tier: TierLevel) -> u32 {
        self.queued[(tier.as_u8() as usize).min(2)]
    }
}

/// A policy's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Keep running as is.
    Nothing,
    /// Compile the function at `tier`. `priority`: higher runs first.
    Compile {
        /// The tier to compile for.
        tier: TierLevel,
        /// Queue priority.
        priority: i32,
    },
    /// Leave the running loop for code at `tier` now (only at a back-edge, with code ready).
    Osr {
        /// The tier whose code the loop continues in.
        tier: TierLevel,
    },
}

/// A decision and how many more calls or back-edges to wait before asking again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// What to do now.
    pub decision: Decision,
    /// Calls or back-edges before the policy is asked again (at least 1).
    pub next_check: u64,
}

impl Verdict {
    /// Do nothing and ask again after `next_check` more events.
    pub fn wait(next_check: u64) -> Verdict {
        Verdict {
            decision: Decision::Nothing,
            next_check: next_check.max(1),
        }
    }
}

/// A tiering policy. Implement it to experiment with new strategies: the engine calls it from
/// the executing thread, so it must be cheap and must not block.
pub trait TierPolicy: Send + Sync {
    /// The policy's name and parameters, for reports.
    fn name(&self) -> String;
    /// Compile synchronously (the caller waits for the code) instead of on the background
    /// queue. Deterministic tier-up timing, for testing and fuzzing.
    fn synchronous(&self) -> bool {
        false
    }
    /// Compile synchronously when moving a function up to `tier` (default: `synchronous()`
    /// for every tier). V8 compiles Liftoff lazily on the executing thread at a function's
    /// first call and TurboFan in the background: the `v8` preset waits for the baseline
    /// only.
    fn synchronous_at(&self, tier: TierLevel) -> bool {
        let _ = tier;
        self.synchronous()
    }
    /// Jobs waiting per compile thread at `tier` from which the executing thread compiles a
    /// new job at `tier` itself instead of queueing it behind them (`None`: always queue).
    /// Default: baseline jobs, from 4 per thread. A baseline compile takes tens of
    /// microseconds and the function it lifts runs about ten times slower in the
    /// interpreter meanwhile; when thousands of functions get warm at once (large.wasm:
    /// 3061 baseline jobs at 200 ms), waiting in the queue kept each in the interpreter for
    /// 48 ms on average (docs/tiering.md).
    fn help_backlog(&self, tier: TierLevel) -> Option<usize> {
        (tier == TierLevel::Baseline).then_some(DEFAULT_HELP_BACKLOG)
    }
    /// A function is being entered; its calls counter has reached its check point.
    fn on_call(&self, f: &FuncState) -> Verdict;
    /// A loop back-edge is being taken; `loop_header` identifies the loop within the function.
    fn on_backedge(&self, f: &FuncState, loop_header: u32) -> Verdict;
    /// The highest tier the policy may ask for. Code below it counts calls and back-edges
    /// for the policy; code at it does not (baseline code counts only when this is above
    /// the baseline). A custom policy that does not say may ask for any tier.
    fn max_tier(&self) -> TierLevel {
        TierLevel::Opt
    }
}

/// The default `TierPolicy::help_backlog` of baseline jobs, per compile thread.
pub const DEFAULT_HELP_BACKLOG: usize = 4;

/// Shared rule: ask for the next tier unless it is ready or on its way.
fn next_tier(f: &FuncState, max: TierLevel) -> Option<TierLevel> {
    let next = f.tier.max(f.ready).next()?;
    (next <= max.min(f.top) && !f.compiling).then_some(next)
}

/// The tier a function moves to from where it runs (or will run at its next call), with
/// `skip_baseline` going from the interpreter straight to the optimizing tier; `None` at the
/// top, above `max`, or while a compile is on its way.
fn target_tier(f: &FuncState, max: TierLevel, skip_baseline: bool) -> Option<TierLevel> {
    let max = max.min(f.top);
    let cur = f.tier.max(f.ready);
    let mut next = cur.next()?;
    if skip_baseline && next == TierLevel::Baseline {
        next = TierLevel::Opt;
    }
    let next = next.min(max);
    (next > cur && !f.compiling).then_some(next)
}

/// `interp`: never leave the interpreter.
#[derive(Debug, Default)]
pub struct InterpPolicy;

impl TierPolicy for InterpPolicy {
    fn name(&self) -> String {
        "interp".into()
    }
    fn on_call(&self, _: &FuncState) -> Verdict {
        Verdict::wait(u64::MAX)
    }
    fn on_backedge(&self, _: &FuncState, _: u32) -> Verdict {
        Verdict::wait(u64::MAX)
    }
    fn max_tier(&self) -> TierLevel {
        TierLevel::Interp
    }
}

/// `baseline`: compile every function at the baseline tier on its first call.
#[derive(Debug, Default)]
pub struct BaselinePolicy {
    /// Compile on the executing thread before the call continues (`sync`).
    pub synchronous: bool,
}

impl TierPolicy for BaselinePolicy {
    fn name(&self) -> String {
        if self.synchronous {
            "baseline:sync".into()
        } else {
            "baseline".into()
        }
    }
    fn synchronous(&self) -> bool {
        self.synchronous
    }
    fn on_call(&self, f: &FuncState) -> Verdict {
        match next_tier(f, TierLevel::Baseline) {
            Some(tier) => Verdict {
                decision: Decision::Compile { tier, priority: 0 },
                next_check: 1,
            },
            None => Verdict::wait(u64::MAX),
        }
    }
    fn on_backedge(&self, f: &FuncState, _: u32) -> Verdict {
        osr_if_ready(f).unwrap_or_else(|| Verdict::wait(1024))
    }
    fn max_tier(&self) -> TierLevel {
        TierLevel::Baseline
    }
}

/// Back-edges (or calls) to wait, once a function is being compiled, before asking whether
/// its code is ready: at once when compilation was synchronous; otherwise soon, but not at
/// every iteration of a loop while a background job runs. A check point that reaches the
/// manager costs a few hundred instructions (the queue's lock, the registry), against a
/// few per iteration of a tight loop: asking every 16 iterations made loop checks, queue
/// lookups and registry reads 7% of large.wasm's executing thread while its functions
/// waited in the queue (perf, docs/tiering.md). 256 iterations of a loop are microseconds
/// later than 16, next to a compile of a millisecond.
pub(crate) const RECHECK_WHILE_COMPILING: u64 = 256;

fn recheck_after_compile(synchronous: bool) -> u64 {
    if synchronous {
        1
    } else {
        RECHECK_WHILE_COMPILING
    }
}

/// OSR into code that is ready above the running tier.
fn osr_if_ready(f: &FuncState) -> Option<Verdict> {
    (f.ready > f.tier).then_some(Verdict {
        decision: Decision::Osr { tier: f.ready },
        next_check: 1,
    })
}

/// `counters:call=N,loop=M[,opt-call=N2,opt-loop=M2][,opt-load=K][,max=baseline|opt][,skip-baseline][,sync]`:
/// JSC/Wizard-like thresholds. A function moves up to the baseline after N calls or M loop
/// iterations, and on to the optimizing tier after N2 calls or M2 iterations in all (with
/// `skip-baseline`, straight from the interpreter to the optimizing tier at N or M); a
/// function looping in a lower tier enters OSR at the next back-edge once its code is ready.
#[derive(Debug, Clone)]
pub struct CountersPolicy {
    /// Calls before a function moves up.
    pub call_threshold: u64,
    /// Loop iterations before a function moves up.
    pub loop_threshold: u64,
    /// Calls before a baseline function moves up to the optimizing tier.
    pub opt_call_threshold: u64,
    /// Loop iterations before a baseline function moves up to the optimizing tier.
    pub opt_loop_threshold: u64,
    /// The highest tier the policy asks for.
    pub max: TierLevel,
    /// Go from the interpreter straight to the optimizing tier.
    pub skip_baseline: bool,
    /// Compile on the executing thread (`sync`).
    pub synchronous: bool,
    /// Load feedback of the optimizing tier (`opt-load=N`, HotSpot's `Tier4LoadFeedback`):
    /// the opt thresholds are multiplied by `1 + waiting / (N * compile threads)`, where
    /// `waiting` counts the opt jobs not yet started, so that when many functions become
    /// warm at once only those still getting hotter while the queue drains are compiled.
    /// 0 turns it off.
    pub opt_load: u64,
}

/// The default `opt-load`: HotSpot's `Tier4LoadFeedback` (3 waiting C2 jobs per compiler
/// thread double the thresholds); measured on large.wasm in docs/tiering.md.
pub const DEFAULT_OPT_LOAD: u64 = 3;

impl Default for CountersPolicy {
    fn default() -> Self {
        // The first step as JSC's (interpreter -> BBQ after ~150 weighted events, a call
        // weighing 15: field-notes.md). The second step at a tenth of JSC's BBQ -> OMG
        // (50,000): chosen by a sweep of opt-loop = 1500 .. 500,000 (opt-call = opt-loop / 15)
        // over benches/programs (papers/threshold-sweep, docs/tiering.md), where JSC's 50,000
        // and 1500 were 8-12% behind 5000 .. 150,000 on the geomean.
        CountersPolicy {
            call_threshold: 10,
            loop_threshold: 150,
            opt_call_threshold: 333,
            opt_loop_threshold: 5000,
            max: TierLevel::Opt,
            skip_baseline: false,
            synchronous: false,
            opt_load: DEFAULT_OPT_LOAD,
        }
    }
}

impl CountersPolicy {
    /// JavaScriptCore's thresholds (field-notes.md): the interpreter -> BBQ after about 150
    /// weighted events (10 calls, 150 iterations: Wizard and this policy's default), BBQ ->
    /// OMG after 50,000 weighted events in all, where a call weighs 15 and a back-edge 1
    /// (3333 calls, 50,000 iterations); loop OSR at both steps.
    pub fn jsc(synchronous: bool) -> Self {
        CountersPolicy {
            call_threshold: 10,
            loop_threshold: 150,
            opt_call_threshold: 50_000 / 15,
            opt_loop_threshold: 50_000,
            max: TierLevel::Opt,
            skip_baseline: false,
            synchronous,
            // JavaScriptCore's thresholds do not move with its compile queue.
            opt_load: 0,
        }
    }

    /// How much the opt thresholds grow while opt jobs wait in the queue (`opt_load`).
    fn load_scale(&self, f: &FuncState) -> u64 {
        if self.opt_load == 0 {
            return 1;
        }
        let per_thread = self.opt_load * u64::from(f.compile_threads.max(1));
        1 + u64::from(f.queued_at(TierLevel::Opt)) / per_thread
    }

    /// The (calls, back-edges) thresholds of the step from where `f` runs to `target`: the
    /// first step (out of the interpreter, to whichever tier) uses `call`/`loop`, the step
    /// from the baseline to the optimizing tier `opt-call`/`opt-loop`.
    fn thresholds_from(&self, f: &FuncState, target: TierLevel) -> (u64, u64) {
        let from = f.tier.max(f.ready);
        if from >= TierLevel::Baseline && target == TierLevel::Opt {
            let scale = self.load_scale(f);
            (
                self.opt_call_threshold.saturating_mul(scale),
                self.opt_loop_threshold.saturating_mul(scale),
            )
        } else {
            (self.call_threshold, self.loop_threshold)
        }
    }
}

impl TierPolicy for CountersPolicy {
    fn name(&self) -> String {
        let opt = if self.max >= TierLevel::Opt {
            format!(
                ",opt-call={},opt-loop={},opt-load={}",
                self.opt_call_threshold, self.opt_loop_threshold, self.opt_load
            )
        } else {
            String::new()
        };
        format!(
            "counters:call={},loop={}{opt},max={}{}{}",
            self.call_threshold,
            self.loop_threshold,
            self.max,
            if self.skip_baseline {
                ",skip-baseline"
            } else {
                ""
            },
            if self.synchronous { ",sync" } else { "" }
        )
    }
    fn max_tier(&self) -> TierLevel {
        self.max
    }
    fn synchronous(&self) -> bool {
        self.synchronous
    }
    fn on_call(&self, f: &FuncState) -> Verdict {
        let Some(tier) = target_tier(f, self.max, self.skip_baseline) else {
            // At the top, or a compile is on its way: ask again much later. (Code installed
            // at a call runs from the next call without asking.)
            return Verdict::wait(if f.compiling {
                RECHECK_WHILE_COMPILING
            } else {
                1 << 16
            });
        };
        let (calls, _) = self.thresholds_from(f, tier);
        if f.calls >= calls {
            return Verdict {
                decision: Decision::Compile { tier, priority: 0 },
                next_check: 1,
            };
        }
        Verdict::wait(calls - f.calls)
    }
    fn on_backedge(&self, f: &FuncState, _: u32) -> Verdict {
        if let Some(v) = osr_if_ready(f) {
            return v;
        }
        let Some(tier) = target_tier(f, self.max, self.skip_baseline) else {
            return Verdict::wait(if f.compiling {
                recheck_after_compile(self.synchronous)
            } else {
                1 << 16
            });
        };
        let (_, loops) = self.thresholds_from(f, tier);
        if f.backedges >= loops {
            // A hot loop waits on this compile: ask for it first.
            return Verdict {
                decision: Decision::Compile { tier, priority: 1 },
                next_check: recheck_after_compile(self.synchronous),
            };
        }
        Verdict::wait(loops - f.backedges)
    }
}

/// `budget:N[,opt=M][,max=..][,sync-baseline][,sync]`: V8-like. Every call spends the function's size in bytes
/// and every back-edge a fixed 16 from a per-function budget of N; an exhausted budget asks
/// for the baseline, and a total spend of N + M for the optimizing tier.
#[derive(Debug, Clone)]
pub struct BudgetPolicy {
    /// The per-function budget.
    pub budget: u64,
    /// The second level's budget (spent after the first).
    pub opt_budget: u64,
    /// The highest tier the policy asks for.
    pub max: TierLevel,
    /// Compile on the executing thread (`sync`).
    pub synchronous: bool,
    /// Compile the baseline on the executing thread, the optimizing tier in the background
    /// (`sync-baseline`, V8's lazy Liftoff).
    pub sync_baseline: bool,
}

impl BudgetPolicy {
    const BACKEDGE_COST: u64 = 16;
    fn spent(&self, f: &FuncState) -> u64 {
        f.calls.saturating_mul(f.body_bytes.max(1) as u64)
            + f.backedges.saturating_mul(Self::BACKEDGE_COST)
    }
    fn verdict(&self, f: &FuncState, priority: i32) -> Verdict {
        let spent = self.spent(f);
        let budget = if f.tier.max(f.ready) >= TierLevel::Baseline {
            self.budget.saturating_add(self.opt_budget)
        } else {
            self.budget
        };
        if next_tier(f, self.max).is_none() && !f.compiling {
            return Verdict::wait(1 << 16);
        }
        if spent >= budget {
            if let Some(tier) = next_tier(f, self.max) {
                return Verdict {
                    decision: Decision::Compile { tier, priority },
                    next_check: recheck_after_compile(self.synchronous),
                };
            }
            if f.compiling {
                return Verdict::wait(recheck_after_compile(self.synchronous));
            }
            return Verdict::wait(1024);
        }
        // Wait at least until the budget could be exhausted by the cheaper of the two events.
        let left = budget - spent;
        Verdict::wait((left / (f.body_bytes.max(1) as u64).max(Self::BACKEDGE_COST)).max(1))
    }
}

impl TierPolicy for BudgetPolicy {
    fn name(&self) -> String {
        let opt = if self.max >= TierLevel::Opt {
            format!(",opt={}", self.opt_budget)
        } else {
            String::new()
        };
        format!(
            "budget:{}{opt},max={}{}{}",
            self.budget,
            self.max,
            if self.sync_baseline && !self.synchronous {
                ",sync-baseline"
            } else {
                ""
            },
            if self.synchronous { ",sync" } else { "" }
        )
    }
    fn max_tier(&self) -> TierLevel {
        self.max
    }
    fn synchronous(&self) -> bool {
        self.synchronous
    }
    fn synchronous_at(&self, tier: TierLevel) -> bool {
        self.synchronous || (self.sync_baseline && tier == TierLevel::Baseline)
    }
    fn on_call(&self, f: &FuncState) -> Verdict {
        self.verdict(f, 0)
    }
    fn on_backedge(&self, f: &FuncState, _: u32) -> Verdict {
        osr_if_ready(f).unwrap_or_else(|| self.verdict(f, 1))
    }
}

/// `random:SEED[,max=..]`: a stress policy that tiers up at random calls and enters OSR at
/// random back-edges, synchronously so a seed reproduces the same run. For differential
/// testing of tier transitions, not for speed.
#[derive(Debug)]
pub struct RandomPolicy {
    /// The seed that reproduces a run.
    pub seed: u64,
    /// The highest tier the policy asks for.
    pub max: TierLevel,
    state: AtomicU64,
}

impl RandomPolicy {
    /// A random policy from `seed`, up to `max`.
    pub fn new(seed: u64, max: TierLevel) -> Self {
        RandomPolicy {
            seed,
            max,
            state: AtomicU64::new(seed ^ 0x9E37_79B9_7F4A_7C15),
        }
    }
    /// xorshift64*: tiny, deterministic per seed for a single-threaded run.
    fn next(&self) -> u64 {
        let mut x = self.state.load(Ordering::Relaxed).max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

impl TierPolicy for RandomPolicy {
    fn name(&self) -> String {
        format!("random:{},max={}", self.seed, self.max)
    }
    fn max_tier(&self) -> TierLevel {
        self.max
    }
    fn synchronous(&self) -> bool {
        true
    }
    fn on_call(&self, f: &FuncState) -> Verdict {
        let r = self.next();
        if r.is_multiple_of(4) {
            // Now and then straight from the interpreter to the top tier.
            let skip = (r >> 16).is_multiple_of(3);
            if let Some(tier) = target_tier(f, self.max, skip) {
                return Verdict {
                    decision: Decision::Compile { tier, priority: 0 },
                    next_check: 1,
                };
            }
        }
        Verdict::wait(1 + (r >> 8) % 8)
    }
    fn on_backedge(&self, f: &FuncState, _: u32) -> Verdict {
        let r = self.next();
        if f.ready > f.tier && r.is_multiple_of(2) {
            return Verdict {
                decision: Decision::Osr { tier: f.ready },
                next_check: 1,
            };
        }
        if r.is_multiple_of(3) {
            if let Some(tier) = next_tier(f, self.max) {
                return Verdict {
                    decision: Decision::Compile { tier, priority: 1 },
                    next_check: 1,
                };
            }
        }
        Verdict::wait(1 + (r >> 8) % 4)
    }
}

/// `k=v` pairs and bare flags of a comma-separated parameter list.
fn split_params(params: &str) -> (Vec<(&str, &str)>, Vec<&str>) {
    let mut kv = Vec::new();
    let mut flags = Vec::new();
    for p in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p.split_once('=') {
            Some((k, v)) => kv.push((k.trim(), v.trim())),
            None => flags.push(p),
        }
    }
    (kv, flags)
}

/// `...,no-osr`: any policy, with OSR turned off. Loops never leave the tier they started
/// in; functions move up only at calls (how V8 runs wasm, which has no OSR: a long-running
/// call stays in Liftoff code).
pub struct NoOsr(pub Box<dyn TierPolicy>);

impl TierPolicy for NoOsr {
    fn name(&self) -> String {
        format!("{},no-osr", self.0.name())
    }
    fn max_tier(&self) -> TierLevel {
        self.0.max_tier()
    }
    fn synchronous(&self) -> bool {
        self.0.synchronous()
    }
    fn synchronous_at(&self, tier: TierLevel) -> bool {
        self.0.synchronous_at(tier)
    }
    fn help_backlog(&self, tier: TierLevel) -> Option<usize> {
        self.0.help_backlog(tier)
    }
    fn on_call(&self, f: &FuncState) -> Verdict {
        self.0.on_call(f)
    }
    fn on_backedge(&self, f: &FuncState, loop_index: u32) -> Verdict {
        let v = self.0.on_backedge(f, loop_index);
        match v.decision {
            // The code is ready and this loop will not use it: stop asking for a while.
            Decision::Osr { .. } => Verdict::wait(1 << 20),
            _ => v,
        }
    }
}

/// Parses a policy from the command line: `interp`, `baseline[:sync]`,
/// `counters:call=N,loop=M[,opt-call=N2,opt-loop=M2][,opt-load=K][,max=T][,skip-baseline][,sync]`,
/// `budget:N[,opt=M][,max=T][,sync-baseline][,sync]`, `random:SEED[,max=T]`, and the presets `jsc` and `v8`;
/// any of them with `,no-osr` (or `:no-osr` when it has no parameters) as well.
pub fn parse_policy(spec: &str) -> Result<Box<dyn TierPolicy>, String> {
    // `NAME:PARAMS`, or `NAME,FLAGS` for a policy without parameters (`baseline,sync`).
    let (name, params) = spec
        .split_once(':')
        .or_else(|| spec.split_once(','))
        .unwrap_or((spec, ""));
    let parts: Vec<&str> = params.split(',').map(str::trim).collect();
    if parts.contains(&"no-osr") {
        let rest: Vec<&str> = parts.into_iter().filter(|p| *p != "no-osr").collect();
        let inner = if rest.iter().all(|p| p.is_empty()) {
            name.to_string()
        } else {
            format!("{name}:{}", rest.join(","))
        };
        return Ok(Box::new(NoOsr(parse_policy(&inner)?)));
    }
    let (kv, flags) = split_params(params);
    let num = |k: &str, v: &str| -> Result<u64, String> {
        v.parse()
            .map_err(|_| format!("policy parameter `{k}` takes a number, got `{v}`"))
    };
    let max = |kv: &[(&str, &str)], default: TierLevel| -> Result<TierLevel, String> {
        match kv.iter().find(|(k, _)| *k == "max").map(|(_, v)| *v) {
            None => Ok(default),
            Some("baseline") => Ok(TierLevel::Baseline),
            Some("opt") => Ok(TierLevel::Opt),
            Some("interp") => Ok(TierLevel::Interp),
            Some(other) => Err(format!("unknown tier `{other}` in max=")),
        }
    };
    let sync = flags.contains(&"sync");
    let check_known = |known: &[&str], kv: &[(&str, &str)], flags: &[&str]| -> Result<(), String> {
        for (k, _) in kv {
            if !known.contains(k) {
                return Err(format!("policy `{name}` has no parameter `{k}`"));
            }
        }
        for f in flags {
            if *f != "sync" {
                return Err(format!("policy `{name}` has no flag `{f}`"));
            }
        }
        Ok(())
    };
    Ok(match name {
        "interp" => {
            check_known(&[], &kv, &flags)?;
            Box::new(InterpPolicy)
        }
        "baseline" => {
            check_known(&[], &kv, &flags)?;
            Box::new(BaselinePolicy { synchronous: sync })
        }
        "counters" => {
            let flags: Vec<&str> = flags
                .into_iter()
                .filter(|f| *f != "skip-baseline")
                .collect();
            check_known(
                &["call", "loop", "opt-call", "opt-loop", "opt-load", "max"],
                &kv,
                &flags,
            )?;
            let mut p = CountersPolicy {
                max: max(&kv, TierLevel::Opt)?,
                skip_baseline: params.split(',').any(|p| p.trim() == "skip-baseline"),
                synchronous: sync,
                ..Default::default()
            };
            for (k, v) in &kv {
                match *k {
                    "call" => p.call_threshold = num(k, v)?,
                    "loop" => p.loop_threshold = num(k, v)?,
                    "opt-call" => p.opt_call_threshold = num(k, v)?,
                    "opt-loop" => p.opt_loop_threshold = num(k, v)?,
                    "opt-load" => p.opt_load = num(k, v)?,
                    _ => {}
                }
            }
            Box::new(p)
        }
        // JavaScriptCore's thresholds and loop OSR at both steps (field-notes.md).
        "jsc" => {
            check_known(&[], &kv, &flags)?;
            Box::new(CountersPolicy::jsc(sync))
        }
        // V8: the baseline (Liftoff) compiled lazily on the executing thread at the first
        // call, so that call runs in it; the optimizing tier (TurboFan) in the background by
        // a budget (`--wasm-tiering-budget`, 1,800,000); no OSR (field-notes.md).
        "v8" => {
            check_known(&[], &kv, &flags)?;
            Box::new(NoOsr(Box::new(BudgetPolicy {
                budget: 1,
                opt_budget: 1_800_000,
                max: TierLevel::Opt,
                synchronous: sync,
                sync_baseline: true,
            })))
        }
        "budget" => {
            let (budget, rest) = params.split_once(',').unwrap_or((params, ""));
            let budget = num("budget", budget)?;
            let (kv, mut flags) = split_params(rest);
            let sync_baseline = flags.contains(&"sync-baseline");
            flags.retain(|f| *f != "sync-baseline");
            check_known(&["max", "opt"], &kv, &flags)?;
            // Default second level: 1000 N, the best of 10 N, 100 N and 1000 N in the sweep
            // of papers/threshold-sweep (V8's 1.8 M bytes is of that order for N = 1000).
            let opt_budget = match kv.iter().find(|(k, _)| *k == "opt") {
                Some((k, v)) => num(k, v)?,
                None => budget.saturating_mul(1000),
            };
            Box::new(BudgetPolicy {
                budget,
                opt_budget,
                max: max(&kv, TierLevel::Opt)?,
                synchronous: flags.contains(&"sync"),
                sync_baseline,
            })
        }
        "random" => {
            let (seed, rest) = params.split_once(',').unwrap_or((params, ""));
            let seed = num("seed", seed)?;
            let (kv, flags) = split_params(rest);
            check_known(&["max"], &kv, &flags)?;
            Box::new(RandomPolicy::new(seed, max(&kv, TierLevel::Opt)?))
        }
        other => {
            return Err(format!(
                "unknown tiering policy `{other}` (expected interp, baseline, counters:..., \
                 budget:..., random:SEED, jsc, v8)"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(calls: u64, backedges: u64) -> FuncState {
        FuncState {
            func_index: 0,
            body_bytes: 100,
            calls,
            backedges,
            tier: TierLevel::Interp,
            ready: TierLevel::Interp,
            compiling: false,
            top: TierLevel::Opt,
            queued: [0; 3],
            compile_threads: 1,
        }
    }

    fn compiles(v: Verdict) -> Option<TierLevel> {
        match v.decision {
            Decision::Compile { tier, .. } => Some(tier),
            _ => None,
        }
    }

    #[test]
    fn counters_over_three_levels() {
        let p = parse_policy("counters:call=3,loop=100,opt-call=50,opt-loop=1000,max=opt").unwrap();
        assert_eq!(compiles(p.on_call(&state(3, 0))), Some(TierLevel::Baseline));
        let mut at_baseline = state(10, 0);
        at_baseline.ready = TierLevel::Baseline;
        // Past the first step's threshold but not the second's: nothing, and wait for it.
        assert_eq!(compiles(p.on_call(&at_baseline)), None);
        assert_eq!(p.on_call(&at_baseline).next_check, 40);
        at_baseline.calls = 50;
        assert_eq!(compiles(p.on_call(&at_baseline)), Some(TierLevel::Opt));
        let mut looping = state(0, 1000);
        looping.ready = TierLevel::Baseline;
        looping.tier = TierLevel::Baseline;
        assert_eq!(compiles(p.on_backedge(&looping, 0)), Some(TierLevel::Opt));
        // Opt code ready: OSR into it.
        looping.ready = TierLevel::Opt;
        assert_eq!(
            p.on_backedge(&looping, 0).decision,
            Decision::Osr {
                tier: TierLevel::Opt
            }
        );
        // At the top: nothing more, and do not ask often.
        let mut top = state(1_000_000, 0);
        top.tier = TierLevel::Opt;
        top.ready = TierLevel::Opt;
        assert_eq!(compiles(p.on_call(&top)), None);
        assert!(p.on_call(&top).next_check > 1000);
    }

    #[test]
    fn skip_baseline_and_top_clamp() {
        let p = parse_policy("counters:call=3,loop=100,max=opt,skip-baseline").unwrap();
        assert_eq!(compiles(p.on_call(&state(3, 0))), Some(TierLevel::Opt));
        assert!(p.name().contains("skip-baseline"));
        // Without an optimizing tier in this build, the same policy stops at the baseline
        // and does not keep asking.
        let mut no_opt = state(3, 0);
        no_opt.top = TierLevel::Baseline;
        assert_eq!(compiles(p.on_call(&no_opt)), Some(TierLevel::Baseline));
        no_opt.ready = TierLevel::Baseline;
        assert_eq!(compiles(p.on_call(&no_opt)), None);
        assert!(p.on_call(&no_opt).next_check > 1000);
    }

    #[test]
    fn opt_thresholds_grow_with_the_opt_queue() {
        let p = parse_policy("counters:call=10,loop=150,opt-call=300,opt-loop=5000,opt-load=3")
            .unwrap();
        let mut f = state(300, 0);
        f.tier = TierLevel::Baseline;
        f.ready = TierLevel::Baseline;
        assert_eq!(compiles(p.on_call(&f)), Some(TierLevel::Opt));
        // Six opt jobs waiting on one thread: three times the thresholds.
        f.queued[TierLevel::Opt.as_u8() as usize] = 6;
        assert_eq!(compiles(p.on_call(&f)), None);
        assert_eq!(p.on_call(&f).next_check, 600);
        f.calls = 900;
        assert_eq!(compiles(p.on_call(&f)), Some(TierLevel::Opt));
        f.backedges = 14_999;
        f.calls = 0;
        assert_eq!(compiles(p.on_backedge(&f, 0)), None);
        f.backedges = 15_000;
        assert_eq!(compiles(p.on_backedge(&f, 0)), Some(TierLevel::Opt));
        // Two threads halve the scale; baseline jobs do not count; the first step never scales.
        f.compile_threads = 2;
        f.backedges = 10_000;
        assert_eq!(compiles(p.on_backedge(&f, 0)), Some(TierLevel::Opt));
        let mut g = state(10, 0);
        g.queued = [0, 100, 100];
        assert_eq!(compiles(p.on_call(&g)), Some(TierLevel::Baseline));
        // Off: the queue does not matter.
        let off = parse_policy("counters:opt-call=300,opt-load=0").unwrap();
        f.backedges = 0;
        f.calls = 300;
        assert_eq!(compiles(off.on_call(&f)), Some(TierLevel::Opt));
    }

    #[test]
    fn presets() {
        let jsc = parse_policy("jsc").unwrap();
        assert_eq!(
            jsc.name(),
            "counters:call=10,loop=150,opt-call=3333,opt-loop=50000,opt-load=0,max=opt"
        );
        let v8 = parse_policy("v8").unwrap();
        assert_eq!(
            v8.name(),
            "budget:1,opt=1800000,max=opt,sync-baseline,no-osr"
        );
        assert!(v8.synchronous_at(TierLevel::Baseline) && !v8.synchronous_at(TierLevel::Opt));
        let again = parse_policy(&v8.name()).unwrap();
        assert_eq!(again.name(), v8.name());
        // V8: the baseline at the first call, no OSR.
        assert_eq!(
            compiles(v8.on_call(&state(1, 0))),
            Some(TierLevel::Baseline)
        );
        let mut ready = state(0, 10);
        ready.ready = TierLevel::Baseline;
        assert_eq!(v8.on_backedge(&ready, 0).decision, Decision::Nothing);
        assert!(parse_policy("jsc:speed=1").is_err());
    }

    #[test]
    fn budget_second_level() {
        let p = parse_policy("budget:1000,opt=9000,max=opt").unwrap();
        let mut f = state(10, 0);
        assert_eq!(compiles(p.on_call(&f)), Some(TierLevel::Baseline));
        f.ready = TierLevel::Baseline;
        assert_eq!(compiles(p.on_call(&f)), None);
        f.calls = 100;
        assert_eq!(compiles(p.on_call(&f)), Some(TierLevel::Opt));
    }

    #[test]
    fn counters_policy_thresholds_and_osr() {
        let p = parse_policy("counters:call=3,loop=100").unwrap();
        assert_eq!(p.on_call(&state(1, 0)).decision, Decision::Nothing);
        assert_eq!(p.on_call(&state(1, 0)).next_check, 2);
        assert!(matches!(
            p.on_call(&state(3, 0)).decision,
            Decision::Compile {
                tier: TierLevel::Baseline,
                ..
            }
        ));
        assert!(matches!(
            p.on_backedge(&state(0, 100), 7).decision,
            Decision::Compile { priority: 1, .. }
        ));
        let mut compiling = state(0, 500);
        compiling.compiling = true;
        assert_eq!(p.on_backedge(&compiling, 7).decision, Decision::Nothing);
        let mut ready = state(0, 500);
        ready.ready = TierLevel::Baseline;
        assert_eq!(
            p.on_backedge(&ready, 7).decision,
            Decision::Osr {
                tier: TierLevel::Baseline
            }
        );
    }

    #[test]
    fn flags_of_a_policy_without_parameters_follow_a_comma_or_a_colon() {
        for spec in ["baseline,sync", "baseline:sync"] {
            assert_eq!(
                parse_policy(spec).unwrap().name(),
                "baseline:sync",
                "{spec}"
            );
        }
        assert!(parse_policy("baseline,warp").is_err());
        assert!(parse_policy("interp,no-osr").is_ok());
    }

    #[test]
    fn budget_spends_size_per_call() {
        let p = parse_policy("budget:1000").unwrap();
        assert_eq!(p.on_call(&state(5, 0)).decision, Decision::Nothing);
        assert!(matches!(
            p.on_call(&state(10, 0)).decision,
            Decision::Compile { .. }
        ));
        assert!(matches!(
            p.on_backedge(&state(0, 63), 0).decision,
            Decision::Compile { .. }
        ));
    }

    #[test]
    fn random_is_reproducible_per_seed() {
        let run = |seed| {
            let p = RandomPolicy::new(seed, TierLevel::Baseline);
            (0..50)
                .map(|i| p.on_call(&state(i, 0)).next_check)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn parse_errors_are_clear() {
        let err = |spec: &str| parse_policy(spec).err().unwrap();
        assert!(err("warp").contains("unknown tiering policy"));
        assert!(err("counters:call=x").contains("takes a number"));
        assert!(err("counters:speed=1").contains("no parameter"));
        assert!(err("counters:max=fast").contains("unknown tier"));
        assert_eq!(
            parse_policy("counters:call=5,loop=9,max=baseline,sync")
                .unwrap()
                .name(),
            "counters:call=5,loop=9,max=baseline,sync"
        );
        assert!(err("counters:opt-call=x").contains("takes a number"));
        assert!(err("budget:10,opt=y").contains("takes a number"));
        assert!(parse_policy("interp").is_ok());
        let no_osr = parse_policy("counters:call=5,no-osr,loop=9,max=baseline").unwrap();
        assert_eq!(no_osr.name(), "counters:call=5,loop=9,max=baseline,no-osr");
        // The optimizing tier is the default top.
        assert_eq!(
            parse_policy("counters:call=5,loop=9").unwrap().max_tier(),
            TierLevel::Opt
        );
        let mut ready = state(0, 500);
        ready.ready = TierLevel::Baseline;
        assert_eq!(no_osr.on_backedge(&ready, 0).decision, Decision::Nothing);
        assert_eq!(
            parse_policy("baseline:no-osr").unwrap().name(),
            "baseline,no-osr"
        );
        assert!(parse_policy("random:42").unwrap().synchronous());
    }
}
