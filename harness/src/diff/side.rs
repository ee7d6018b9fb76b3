//! A *side* of a comparison: one way of running a module (a Strata configuration, or a peer
//! engine used as an oracle). Each side compiles the bytes itself, instantiates once with no
//! imports, runs the plan's calls in order and reports every step as an [`Event`].

use super::plan::Plan;
use super::value::{FuncId, MemoryImage, Outcome, Snapshot, TrapKind, Value};
use crate::watchdog::Watchdog;
use std::time::Duration;
use strata::{
    BoundsChecks, Config, Engine, Error, Extern, Func, Imports, Instance, Module, Store, Tier, Val,
};

/// One step's report from a side, in order: `Instantiated`, then one `Call` per call of the
/// plan, then `Finished`. A side may stop early (compile or instantiation failure, an
/// exhausted stack): the steps it did not report are inconclusive.
#[derive(Debug)]
pub enum Event {
    Instantiated(Outcome),
    Call(Outcome),
    Finished(Snapshot),
}

/// A way of running modules.
pub trait Side: Send + Sync {
    /// The name used in reports and on the command line.
    fn name(&self) -> &str;
    /// A peer engine: its trap kinds are compared coarsely ([`TrapKind::coarse`]).
    fn is_peer(&self) -> bool {
        false
    }
    /// Runs `plan` on a fresh instance of `wasm`, reporting each step through `emit`.
    fn execute(&self, wasm: &[u8], plan: &Plan, emit: &mut dyn FnMut(Event));
    /// Whether `execute_limited` stops a step that runs past its limit by itself (the
    /// worker's thread is then never abandoned).
    fn interrupts_itself(&self) -> bool {
        false
    }
    /// `execute`, each step stopped after `limit` (an inconclusive outcome) when the side
    /// can do so (`interrupts_itself`).
    fn execute_limited(
        &self,
        wasm: &[u8],
        plan: &Plan,
        _limit: std::time::Duration,
        emit: &mut dyn FnMut(Event),
    ) {
        self.execute(wasm, plan, emit)
    }
}

/// A Strata configuration: a tier name (anything [`Tier`]'s `FromStr` accepts, `mixed:SEED`,
/// and `tiered@POLICY` for tiered execution under a policy, e.g. `tiered@random:7`) and a
/// bounds-check mode. Names: `TIER` (guard pages), `TIER-explicit`, `TIER-guard`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrataConfig {
    pub name: String,
    pub tier: String,
    pub bounds: BoundsChecks,
}

impl StrataConfig {
    /// Parses a configuration name. Unknown tier names are an error; a known form whose tier
    /// this build lacks is not (see [`StrataConfig::engine`]).
    pub fn parse(name: &str) -> Result<StrataConfig, String> {
        let (tier, bounds) = if let Some(t) = name.strip_suffix("-explicit") {
            (t, BoundsChecks::Explicit)
        } else if let Some(t) = name.strip_suffix("-guard") {
            (t, BoundsChecks::GuardPages)
        } else {
            (name, BoundsChecks::GuardPages)
        };
        if let Some(policy) = tier.strip_prefix("tiered@") {
            strata::tiering::parse_policy(policy)
                .map_err(|e| format!("configuration `{name}`: {e}"))?;
        } else {
            let known = tier.parse::<Tier>().is_ok()
                || tier
                    .strip_prefix("mixed:")
                    .is_some_and(|seed| seed.parse::<u64>().is_ok());
            if !known {
                return Err(format!(
                    "unknown configuration `{name}`: expected TIER, TIER-explicit or \
                     TIER-guard, with TIER one of interp, baseline, opt, tiered, \
                     tiered@POLICY, mixed:SEED"
                ));
            }
        }
        Ok(StrataConfig {
            name: name.to_string(),
            tier: tier.to_string(),
            bounds,
        })
    }

    /// The engine for this configuration, or why this build cannot run it (the caller
    /// reports the configuration as skipped). A tier per function (`mixed:SEED`) is asked of
    /// `Tier`'s parser like any other name, so it works here as soon as the engine accepts it.
    pub fn engine(&self) -> Result<Engine, String> {
        if let Some(policy) = self.tier.strip_prefix("tiered@") {
            let config = Config::default()
                .tier(Tier::Tiered)
                .tiering(policy)
                .map_err(|e| e.0)?
                .bounds_checks(self.bounds)
                .epoch_interruption(true);
            return Engine::new(config).map_err(|e| e.0);
        }
        let tier: Tier = self
            .tier
            .parse()
            .map_err(|e: strata::ConfigError| format!("not available in this build ({})", e.0))?;
        // Epoch interruption: a step that runs too long is stopped (`execute_limited`).
        let config = Config::default()
            .tier(tier)
            .bounds_checks(self.bounds)
            .epoch_interruption(true);
        Engine::new(config).map_err(|e| e.0)
    }
}

/// The configurations of every tier this build can run, in both bounds-check modes.
pub fn available_configs() -> Vec<StrataConfig> {
    let mut out = Vec::new();
    for tier in Tier::available() {
        for suffix in ["", "-explicit"] {
            let name = format!("{}{suffix}", tier.name());
            out.extend(StrataConfig::parse(&name).ok());
        }
    }
    out
}

/// The default `--tiers` of `strata diff`: every single tier in both modes. Those this build
/// lacks are reported as skipped.
pub const DEFAULT_TIERS: &str = "interp,interp-explicit,baseline,baseline-explicit";

/// Strata under one configuration.
pub struct StrataSide {
    config: StrataConfig,
    engine: Engine,
}

impl StrataSide {
    pub fn new(config: StrataConfig) -> Result<StrataSide, String> {
        let engine = config.engine()?;
        Ok(StrataSide { config, engine })
    }
}

pub(crate) fn strata_outcome(e: Error) -> Outcome {
    match e {
        Error::Runtime(r) => {
            Outcome::Trapped(TrapKind::from_strata(r.code()), r.message().to_string())
        }
        // Compared by payload (tags have no identity shared across stores).
        Error::Exception(exn) => {
            let payload: Vec<Value> = exn.payload().iter().map(|v| from_val(v, &[])).collect();
            Outcome::Failed(format!("uncaught exception {payload:?}"))
        }
        other => Outcome::Failed(other.to_string()),
    }
}

fn to_val(v: &Value) -> Val {
    match v {
        Value::I32(x) => Val::I32(*x),
        Value::I64(x) => Val::I64(*x),
        Value::F32(x) => Val::F32(*x),
        Value::F64(x) => Val::F64(*x),
        // Only null references are ever passed in.
        Value::FuncRef(_) => Val::FuncRef(None),
        Value::ExternRef(_) => Val::ExternRef(None),
    }
}

fn from_val(v: &Val, funcs: &[(String, Func)]) -> Value {
    match v {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(x) => Value::F32(*x),
        Val::F64(x) => Value::F64(*x),
        Val::FuncRef(None) => Value::FuncRef(None),
        Val::FuncRef(Some(f)) => Value::FuncRef(Some(
            funcs
                .iter()
                .find(|(_, g)| g == f)
                .map_or(FuncId::Unexported, |(name, _)| FuncId::Export(name.clone())),
        )),
        Val::ExternRef(r) => Value::ExternRef(r.is_some()),
        // Exceptions are compared by whether they are null (an exnref result is rare).
        Val::ExnRef(r) => Value::ExternRef(r.is_some()),
        // The differential generator has SIMD off (issue 16, item 4 adds it with a v128
        // value here); until then a v128 that reaches this side is compared by its low half.
        Val::V128(x) => Value::I64(*x as i64),
    }
}

fn is_stack_exhaustion(o: &Outcome) -> bool {
    matches!(o, Outcome::Trapped(TrapKind::StackOverflow, _))
}

impl Side for StrataSide {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn execute(&self, wasm: &[u8], plan: &Plan, emit: &mut dyn FnMut(Event)) {
        self.run(wasm, plan, None, emit)
    }

    fn interrupts_itself(&self) -> bool {
        true
    }

    fn execute_limited(
        &self,
        wasm: &[u8],
        plan: &Plan,
        limit: Duration,
        emit: &mut dyn FnMut(Event),
    ) {
        self.run(wasm, plan, Some(limit), emit)
    }
}

/// The outcome of a step that epoch interruption stopped at its time limit.
fn timed_out(limit: Duration) -> Outcome {
    Outcome::Inconclusive(format!(
        "timed out after {:.1} s (stopped by epoch interruption)",
        limit.as_secs_f64()
    ))
}

fn is_interrupt(e: &Error) -> bool {
    matches!(e, Error::Runtime(r) if r.code() == strata::TrapCode::Interrupt)
}

impl StrataSide {
    /// Runs the plan, each step (instantiation, each call) under a watchdog of `limit`.
    fn run(&self, wasm: &[u8], plan: &Plan, limit: Option<Duration>, emit: &mut dyn FnMut(Event)) {
        let module = match Module::new(&self.engine, wasm) {
            Ok(m) => m,
            Err(e) => return emit(Event::Instantiated(Outcome::Failed(e.to_string()))),
        };
        let mut store = Store::new(&self.engine);
        let watchdog = limit.map(|l| Watchdog::start(&mut store, l));
        let instance = Instance::new(&mut store, &module, &Imports::new());
        drop(watchdog);
        let instance = match instance {
            Ok(i) => i,
            Err(e) if is_interrupt(&e) => {
                return emit(Event::Instantiated(timed_out(limit.unwrap_or_default())));
            }
            Err(e) => {
                let outcome = strata_outcome(e);
                return emit(Event::Instantiated(outcome));
            }
        };
        emit(Event::Instantiated(Outcome::Returned(Vec::new())));
        let exports = instance.exports(&store);
        let funcs: Vec<(String, Func)> = exports
            .iter()
            .filter_map(|(n, e)| Some((n.clone(), e.into_func()?)))
            .collect();
        for call in &plan.calls {
            let Some((_, f)) = funcs.iter().find(|(n, _)| *n == call.func) else {
                emit(Event::Call(Outcome::Failed(format!(
                    "no exported function {:?}",
                    call.func
                ))));
                continue;
            };
            if let Some((name, fuel)) = &plan.fuel {
                if let Some(g) = instance.get_global(&store, name) {
                    // Cannot fail: the plan checked that it is a mutable i32.
                    let _ = g.set(&mut store, Val::I32(*fuel));
                }
            }
            let args: Vec<Val> = call.args.iter().map(to_val).collect();
            let watchdog = limit.map(|l| Watchdog::start(&mut store, l));
            let result = f.call(&mut store, &args);
            drop(watchdog);
            let outcome = match result {
                Ok(results) => {
                    Outcome::Returned(results.iter().map(|v| from_val(v, &funcs)).collect())
                }
                Err(e) if is_interrupt(&e) => {
                    // Nothing after a stopped step compares.
                    return emit(Event::Call(timed_out(limit.unwrap_or_default())));
                }
                Err(e) => strata_outcome(e),
            };
            let stop = is_stack_exhaustion(&outcome);
            emit(Event::Call(outcome));
            if stop {
                // Where the stack ran out depends on the tier: nothing after it compares.
                return;
            }
        }
        let mut snap = Snapshot::default();
        for (name, ext) in &exports {
            match ext {
                Extern::Memory(m) => snap
                    .memories
                    .push((name.clone(), MemoryImage::of(m.data(&store)))),
                Extern::Global(g) => snap
                    .globals
                    .push((name.clone(), from_val(&g.get(&store), &funcs))),
                Extern::Table(t) => {
                    let elems = (0..t.size(&store))
                        .map(|i| {
                            t.get(&store, i)
                                .map_or(Value::FuncRef(None), |v| from_val(&v, &funcs))
                        })
                        .collect();
                    snap.tables.push((name.clone(), elems));
                }
                Extern::Func(_) | Extern::Tag(_) => {}
            }
        }
        emit(Event::Finished(snap.sorted()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_names() {
        let c = StrataConfig::parse("interp-explicit").unwrap();
        assert_eq!(
            (c.tier.as_str(), c.bounds),
            ("interp", BoundsChecks::Explicit)
        );
        let c = StrataConfig::parse("interp").unwrap();
        assert_eq!(c.bounds, BoundsChecks::GuardPages);
        assert!(StrataConfig::parse("mixed:42-explicit").is_ok());
        let t = StrataConfig::parse("tiered@random:7-explicit").unwrap();
        assert_eq!(
            (t.tier.as_str(), t.bounds),
            ("tiered@random:7", BoundsChecks::Explicit)
        );
        assert!(t.engine().unwrap().tier_manager().is_some());
        assert!(StrataConfig::parse("tiered@warp:1").is_err());
        assert!(StrataConfig::parse("baseline").is_ok());
        assert!(StrataConfig::parse("interpreter").is_err());
        assert!(StrataConfig::parse("mixed:x").is_err());
        assert!(StrataConfig::parse("interp").unwrap().engine().is_ok());
    }
}
