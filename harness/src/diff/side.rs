//! A *side* of a comparison: one way of running a module (a Strata configuration, or a peer
//! engine used as an oracle). Each side compiles the bytes itself, instantiates once with no
//! imports, runs the plan's calls in order and reports every step as an [`Event`].

use super::plan::Plan;
use super::value::{FuncId, MemoryImage, Outcome, Snapshot, TrapKind, Value};
use crate::wasi::{OutputPipe, WasiCtx};
use crate::watchdog::Watchdog;
use std::time::Duration;
use strata::{
    BoundsChecks, Config, Engine, Error, Extern, Func, Imports, Instance, Linker, Module, Store,
    Tier, Val,
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
    /// The optimizing tier's mid-end switches (`Config::egraph`; empty: the default).
    pub egraph: String,
}

/// The optimizing tier's e-graph variants by name: `TIER-chaos` (chaos extraction, seed 1),
/// `TIER-chaos:SEED`, `TIER-no-egraph` (mid-end without the e-graph), and the general
/// `TIER/egraph=SWITCHES` (`+` joins switches: `opt/egraph=no-arith+no-licm`). Returns the
/// tier and the switches.
fn split_egraph_variant(tier: &str) -> Result<(&str, String), String> {
    if let Some((t, sw)) = tier.split_once("/egraph=") {
        return Ok((t, sw.replace('+', ",")));
    }
    if let Some(t) = tier.strip_suffix("-no-egraph") {
        return Ok((t, "off".into()));
    }
    if let Some(t) = tier.strip_suffix("-chaos") {
        return Ok((t, "chaos=1".into()));
    }
    if let Some((t, seed)) = tier.rsplit_once("-chaos:") {
        let seed: u64 = seed
            .parse()
            .map_err(|_| format!("`{tier}`: the chaos seed must be a number"))?;
        return Ok((t, format!("chaos={seed}")));
    }
    Ok((tier, String::new()))
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
        let (tier, egraph) = split_egraph_variant(tier)?;
        Config::default()
            .egraph(&egraph)
            .map_err(|e| format!("configuration `{name}`: {}", e.0))?;
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
                     tiered@POLICY, mixed:SEED, and the e-graph variants TIER-chaos, \
                     TIER-chaos:SEED, TIER-no-egraph, TIER/egraph=SWITCHES"
                ));
            }
        }
        Ok(StrataConfig {
            name: name.to_string(),
            tier: tier.to_string(),
            bounds,
            egraph,
        })
    }

    /// The configuration with the mid-end switches `spec` (`--egraph` of `strata diff` and
    /// `strata fuzz`) unless its name chose its own e-graph variant or its tier never runs
    /// the optimizing tier (interp, baseline, mixed:SEED). The name is rewritten
    /// to the explicit form (`opt` becomes `opt/egraph=off`), so reports and reproduce
    /// commands name what ran.
    pub fn with_default_egraph(self, spec: &str) -> Result<StrataConfig, String> {
        let spec = spec.trim();
        let no_opt =
            matches!(self.tier.as_str(), "interp" | "baseline") || self.tier.starts_with("mixed:");
        if spec.is_empty() || !self.egraph.is_empty() || no_opt {
            return Ok(self);
        }
        let bounds = match self.bounds {
            BoundsChecks::Explicit => "-explicit",
            BoundsChecks::GuardPages if self.name.ends_with("-guard") => "-guard",
            BoundsChecks::GuardPages => "",
        };
        StrataConfig::parse(&format!(
            "{}/egraph={}{bounds}",
            self.tier,
            spec.replace(',', "+")
        ))
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
                .epoch_interruption(true)
                .egraph(&self.egraph)
                .map_err(|e| e.0)?;
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
            .epoch_interruption(true)
            .egraph(&self.egraph)
            .map_err(|e| e.0)?;
        Engine::new(config).map_err(|e| e.0)
    }
}

/// The e-graph variants of the optimizing tier that fuzzing runs beside `opt` and
/// `opt-explicit`: chaos extraction (a random legal node per e-class, so rules whose result
/// the cost model never picks still run) and no e-graph at all.
pub const OPT_VARIANTS: [&str; 2] = ["opt-chaos", "opt-no-egraph"];

/// The configurations of every tier this build can run, in both bounds-check modes, and the
/// optimizing tier's e-graph variants ([`OPT_VARIANTS`]).
pub fn available_configs() -> Vec<StrataConfig> {
    let mut out = Vec::new();
    for tier in Tier::available() {
        for suffix in ["", "-explicit"] {
            let name = format!("{}{suffix}", tier.name());
            out.extend(StrataConfig::parse(&name).ok());
        }
        if tier == Tier::Opt {
            out.extend(
                OPT_VARIANTS
                    .iter()
                    .filter_map(|n| StrataConfig::parse(n).ok()),
            );
        }
    }
    out
}

/// The default `--tiers` of `strata diff`: every single tier in both modes, and the
/// optimizing tier with chaos extraction and without the e-graph. Those this build lacks are
/// reported as skipped.
pub const DEFAULT_TIERS: &str = "interp,interp-explicit,baseline,baseline-explicit,opt,\
                                 opt-explicit,opt-chaos,opt-no-egraph";

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
        Value::V128(x) => Val::V128(*x),
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
        Val::V128(x) => Value::V128(*x),
        // Exceptions are compared by whether they are null (an exnref result is rare).
        Val::ExnRef(r) => Value::ExternRef(r.is_some()),
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
        let streams = plan.wasi.then(WasiStreams::new);
        let ctx = match &streams {
            Some(s) => s.context(),
            None => Ok(WasiCtx::new(Vec::new(), Vec::new())),
        };
        let ctx = match ctx {
            Ok(ctx) => ctx,
            Err(e) => return emit(Event::Instantiated(Outcome::Failed(e))),
        };
        let mut store = Store::with_data(&self.engine, ctx);
        let watchdog = limit.map(|l| Watchdog::start(&mut store, l));
        let instance = if plan.wasi {
            wasi_linker(&self.engine, &module).and_then(|l| l.instantiate(&mut store, &module))
        } else {
            Instance::new(&mut store, &module, &Imports::new())
        };
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
                Err(Error::Runtime(r)) if plan.wasi && r.exit_status().is_some() => {
                    Outcome::Exited(r.exit_status().unwrap_or_default())
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
        if let Some(streams) = &streams {
            snap.output = streams.contents();
        }
        emit(Event::Finished(snap.sorted()));
    }
}

/// What a WASI program may write to stdout and stderr in a comparison (more is an error
/// the program sees, the same on every side).
const WASI_OUTPUT_LIMIT: usize = 16 << 20;

/// The captured standard streams of one side's WASI program.
struct WasiStreams {
    stdout: OutputPipe,
    stderr: OutputPipe,
}

impl WasiStreams {
    fn new() -> WasiStreams {
        WasiStreams {
            stdout: OutputPipe::new(WASI_OUTPUT_LIMIT),
            stderr: OutputPipe::new(WASI_OUTPUT_LIMIT),
        }
    }

    /// A context that gives every side the same world: the program name `main.wasm` and
    /// nothing else (no environment, no directories, empty stdin), the same random bytes and
    /// clock readings, output captured.
    fn context(&self) -> Result<WasiCtx, String> {
        WasiCtx::builder()
            .arg("main.wasm")
            .deterministic(0)
            .stdout(self.stdout.clone())
            .stderr(self.stderr.clone())
            .build()
            .map_err(|e| format!("cannot set up WASI: {e}"))
    }

    fn contents(&self) -> Vec<(String, Vec<u8>)> {
        vec![
            ("stderr".into(), self.stderr.contents()),
            ("stdout".into(), self.stdout.contents()),
        ]
    }
}

/// WASI preview1 for a compared program; names outside preview1 are `ENOSYS` stubs.
fn wasi_linker(engine: &Engine, module: &Module) -> Result<Linker<WasiCtx>, Error> {
    let mut linker = Linker::new(engine);
    crate::wasi::add_to_linker(&mut linker, |ctx: &mut WasiCtx| ctx)?;
    crate::wasi::define_unknown_as_enosys(&mut linker, module)?;
    Ok(linker)
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

    #[test]
    fn egraph_variants() {
        let c = StrataConfig::parse("opt-chaos-explicit").unwrap();
        assert_eq!(
            (c.tier.as_str(), c.egraph.as_str(), c.bounds),
            ("opt", "chaos=1", BoundsChecks::Explicit)
        );
        let c = StrataConfig::parse("opt-no-egraph").unwrap();
        assert_eq!((c.tier.as_str(), c.egraph.as_str()), ("opt", "off"));
        let c = StrataConfig::parse("opt-chaos:9").unwrap();
        assert_eq!(c.egraph, "chaos=9");
        let c = StrataConfig::parse("opt/egraph=no-arith+no-licm-explicit").unwrap();
        assert_eq!(
            (c.tier.as_str(), c.egraph.as_str(), c.bounds),
            ("opt", "no-arith,no-licm", BoundsChecks::Explicit)
        );
        assert_eq!(c.engine().unwrap().config().egraph, "no-arith,no-licm");
        assert!(StrataConfig::parse("opt/egraph=no-such-family").is_err());
        assert!(StrataConfig::parse("opt-chaos:x").is_err());
        let c = StrataConfig::parse("opt-explicit")
            .unwrap()
            .with_default_egraph("off,no-licm")
            .unwrap();
        assert_eq!(
            (c.name.as_str(), c.egraph.as_str(), c.bounds),
            (
                "opt/egraph=off+no-licm-explicit",
                "off,no-licm",
                BoundsChecks::Explicit
            )
        );
        let c = StrataConfig::parse("opt-chaos")
            .unwrap()
            .with_default_egraph("off")
            .unwrap();
        assert_eq!(c.egraph, "chaos=1");
        let c = StrataConfig::parse("interp").unwrap();
        assert_eq!(c.clone().with_default_egraph("off").unwrap(), c);
        assert!(StrataConfig::parse("opt")
            .unwrap()
            .with_default_egraph("no-such")
            .is_err());
        let names: Vec<String> = available_configs().into_iter().map(|c| c.name).collect();
        for n in ["opt", "opt-explicit", "opt-chaos", "opt-no-egraph"] {
            assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
        }
    }
}
