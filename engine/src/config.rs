//! Engine configuration: which tier executes code and how memory bounds are checked.

use crate::error::ConfigError;
use crate::tiering::{parse_policy, CountersPolicy, TierManager, TierPolicy};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
pub use strata_vm::BoundsChecks;
use strata_vm::RuntimeConfig;
pub use strata_vm::{InterpDispatch, InterpMode, InterpThreading};

/// The execution tier (or tiering strategy) of an engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Tier {
    /// Everything runs in the interpreter.
    Interp,
    /// Every function is compiled by the baseline JIT before it first runs.
    Baseline,
    /// Every function is compiled by the optimizing tier before it first runs.
    Opt,
    /// Functions start in the interpreter and move up under a tiering policy: the default,
    /// as in `strata run`.
    #[default]
    Tiered,
    /// A tier per function: each function is compiled by the baseline or left in the
    /// interpreter, chosen from `seed` (or by `Config::mixed_funcs`), so every kind of call
    /// between tiers is exercised. For testing and differential fuzzing.
    Mixed {
        /// Chooses which functions are compiled (the same seed, the same choice).
        seed: u64,
    },
}

impl Tier {
    /// The name `--tier` takes (`mixed` for every seed).
    pub fn name(self) -> &'static str {
        match self {
            Tier::Interp => "interp",
            Tier::Baseline => "baseline",
            Tier::Opt => "opt",
            Tier::Tiered => "tiered",
            Tier::Mixed { .. } => "mixed",
        }
    }

    /// The tiers that run every function themselves, lowest first: the registry that tests
    /// iterate over (a new tier joins every test by being listed here and made available).
    pub const SINGLE: [Tier; 3] = [Tier::Interp, Tier::Baseline, Tier::Opt];

    /// The tiers of `SINGLE` this build can run.
    pub fn available() -> impl Iterator<Item = Tier> {
        Tier::SINGLE.into_iter().filter(|t| t.is_available())
    }

    /// The available tiers that compile to machine code (the JIT tiers).
    pub fn compiled() -> impl Iterator<Item = Tier> {
        Tier::available().filter(|t| *t != Tier::Interp)
    }

    /// Whether this build of Strata can execute code in the tier.
    pub fn is_available(self) -> bool {
        matches!(
            self,
            Tier::Interp | Tier::Baseline | Tier::Opt | Tier::Tiered | Tier::Mixed { .. }
        )
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tier::Mixed { seed } => write!(f, "mixed:{seed}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for Tier {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Tier, ConfigError> {
        match s {
            "interp" => Ok(Tier::Interp),
            "baseline" => Ok(Tier::Baseline),
            "opt" => Ok(Tier::Opt),
            "tiered" => Ok(Tier::Tiered),
            other => match other.strip_prefix("mixed:").map(str::parse::<u64>) {
                Some(Ok(seed)) => Ok(Tier::Mixed { seed }),
                Some(Err(_)) => Err(ConfigError(format!(
                    "`{other}`: mixed takes a seed (mixed:SEED) or a function list \
                     (mixed:funcs=NAME|INDEX,...)"
                ))),
                None => Err(ConfigError(format!(
                    "unknown tier `{other}` (expected interp, baseline, opt, tiered or \
                     mixed:SEED)"
                ))),
            },
        }
    }
}

/// Engine settings. Build one, adjust it, then create an [`Engine`](crate::Engine).
#[derive(Clone, Debug)]
pub struct Config {
    /// Which tiers run the code (default: tiered execution).
    pub tier: Tier,
    /// How memory accesses are kept in bounds: guard pages (the default) or explicit checks.
    pub bounds_checks: BoundsChecks,
    /// Wasm frames allowed on the stack before the trap "call stack exhausted", counted the
    /// same way in every tier (docs/abi.md §4), so a recursion's outcome never depends on the
    /// tier that runs it.
    pub max_call_depth: usize,
    /// Value-stack size in 64-bit cells (every tier's frames live there). It is reserved as
    /// a mapping, so only the cells a call touches become resident.
    pub max_stack_cells: usize,
    /// Write `/tmp/perf-<pid>.map` entries for JIT-compiled functions.
    pub perf_map: bool,
    /// With `Tier::Mixed`: compile exactly these functions (by index or name-section name)
    /// and interpret the rest, instead of choosing from the seed.
    pub mixed_funcs: Option<Vec<String>>,
    /// With `Tier::Tiered`: the policy that moves functions between tiers.
    pub policy: Policy,
    /// With `Tier::Tiered`: background compile threads (default: cores - 1, at least 1).
    pub compile_threads: Option<usize>,
    /// Record profile events and time per tier (`Engine::tier_manager` gives them).
    pub profile: bool,
    /// How the interpreter dispatches: every mode computes the same results; they exist to
    /// measure what each part of the interpreter's fast path brings.
    pub interp_mode: InterpMode,
    /// Fuel (design.md §13): every function entry and loop iteration consumes one unit of the
    /// store's fuel (`Store::set_fuel`) and running out traps. Off: no check is compiled.
    pub consume_fuel: bool,
    /// Epoch interruption (design.md §13): function entries and loop headers trap once the
    /// engine's epoch (`Engine::increment_epoch`) reaches the store's deadline
    /// (`Store::set_epoch_deadline`). Off: no check is compiled.
    pub epoch_interruption: bool,
    /// The optimizing tier's mid-end switches, comma-separated: `on` (the default, also
    /// empty), `off` (no e-graph), `chaos=SEED` (a random legal node per e-class, for
    /// fuzzing), `no-FAMILY` (a rule family off: arith, bits, shifts, compare, convert,
    /// address), `no-licm`, `no-bounds`, `iters=N`. Set it with [`Config::egraph`], which
    /// checks the spelling; the other tiers ignore it.
    pub egraph: String,
}

/// A tiering policy in a configuration (shared, so configurations stay cheap to clone).
#[derive(Clone)]
pub struct Policy(pub Arc<dyn TierPolicy>);

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.name())
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy(Arc::new(CountersPolicy::default()))
    }
}

impl Default for Config {
    fn default() -> Self {
        let rt = RuntimeConfig::default();
        Config {
            tier: Tier::default(),
            bounds_checks: rt.bounds_checks,
            max_call_depth: rt.max_call_depth,
            max_stack_cells: rt.max_stack_cells,
            perf_map: false,
            mixed_funcs: None,
            policy: Policy::default(),
            compile_threads: None,
            profile: false,
            interp_mode: rt.interp,
            consume_fuel: false,
            epoch_interruption: false,
            egraph: String::new(),
        }
    }
}

impl Config {
    /// Sets [`Config::tier`](Config#structfield.tier).
    pub fn tier(mut self, tier: Tier) -> Self {
        self.tier = tier;
        self
    }
    /// Sets [`Config::bounds_checks`](Config#structfield.bounds_checks).
    pub fn bounds_checks(mut self, mode: BoundsChecks) -> Self {
        self.bounds_checks = mode;
        self
    }
    /// Sets the tier from its command-line spelling, including `mixed:funcs=NAME|INDEX,...`.
    pub fn tier_spec(mut self, spec: &str) -> Result<Self, ConfigError> {
        match spec.strip_prefix("mixed:funcs=") {
            Some(list) => {
                self.tier = Tier::Mixed { seed: 0 };
                self.mixed_funcs = Some(
                    list.split(',')
                        .map(|f| f.trim().to_string())
                        .filter(|f| !f.is_empty())
                        .collect(),
                );
            }
            None => self.tier = spec.parse()?,
        }
        Ok(self)
    }

    /// With `mixed:funcs=`: an error naming each entry that is neither the index nor the
    /// name-section name of a function `module` defines (a typo would otherwise silently
    /// leave the function interpreted). Not checked at instantiation: the list applies to
    /// every module of the engine, and may name functions of only one of them.
    pub fn check_mixed_funcs(&self, module: &crate::Module) -> Result<(), ConfigError> {
        self.check_mixed_funcs_in(module.env())
    }

    fn check_mixed_funcs_in(&self, env: &strata_vm::Module) -> Result<(), ConfigError> {
        let Some(list) = &self.mixed_funcs else {
            return Ok(());
        };
        let first = env.num_imported_funcs;
        let end = first + env.num_defined_funcs() as u32;
        let defined = |f: &str| match f.parse::<u32>() {
            Ok(i) => (first..end).contains(&i),
            Err(_) => (first..end).any(|i| env.func_name(i) == Some(f)),
        };
        let unknown: Vec<&str> = list
            .iter()
            .map(String::as_str)
            .filter(|f| !defined(f))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(ConfigError(format!(
            "mixed:funcs: the module defines no function {} (defined functions are {first}..{end} \
             by index, or their names in the name section)",
            unknown
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// Mixed tiers: whether function `func_index` (named `name`) is compiled.
    pub fn mixed_compiles(&self, func_index: u32, name: Option<&str>) -> bool {
        let Tier::Mixed { seed } = self.tier else {
            return false;
        };
        match &self.mixed_funcs {
            Some(list) => list
                .iter()
                .any(|f| *f == func_index.to_string() || Some(f.as_str()) == name),
            None => {
                // splitmix64 of (seed, index): a fixed, well-spread choice per function.
                let mut z = seed ^ (func_index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                (z ^ (z >> 31)) & 1 == 1
            }
        }
    }

    /// Sets the tiering policy from its command-line spelling (`counters:call=10,loop=150`,
    /// `random:7`, ... see `tiering::parse_policy`).
    pub fn tiering(mut self, spec: &str) -> Result<Self, ConfigError> {
        self.policy = Policy(parse_policy(spec).map_err(ConfigError)?.into());
        Ok(self)
    }

    /// Sets a tiering policy written in Rust.
    pub fn policy(mut self, policy: impl TierPolicy + 'static) -> Self {
        self.policy = Policy(Arc::new(policy));
        self
    }

    /// Sets [`Config::compile_threads`](Config#structfield.compile_threads).
    pub fn compile_threads(mut self, threads: usize) -> Self {
        self.compile_threads = Some(threads);
        self
    }

    /// Sets [`Config::profile`](Config#structfield.profile).
    pub fn profile(mut self, on: bool) -> Self {
        self.profile = on;
        self
    }

    /// Sets [`Config::perf_map`](Config#structfield.perf_map).
    pub fn perf_map(mut self, on: bool) -> Self {
        self.perf_map = on;
        self
    }
    /// Sets [`Config::interp_mode`](Config#structfield.interp_mode).
    pub fn interp_mode(mut self, mode: InterpMode) -> Self {
        self.interp_mode = mode;
        self
    }

    /// Turns fuel on: see [`Config::consume_fuel`](Config#structfield.consume_fuel).
    pub fn consume_fuel(mut self, on: bool) -> Self {
        self.consume_fuel = on;
        self
    }

    /// Turns epoch interruption on: see
    /// [`Config::epoch_interruption`](Config#structfield.epoch_interruption).
    pub fn epoch_interruption(mut self, on: bool) -> Self {
        self.epoch_interruption = on;
        self
    }

    /// Sets the optimizing tier's mid-end switches (see
    /// [`Config::egraph`](Config#structfield.egraph)), refusing a spelling the mid-end does
    /// not know.
    pub fn egraph(mut self, spec: &str) -> Result<Self, ConfigError> {
        check_egraph(spec)?;
        self.egraph = spec.trim().to_string();
        Ok(self)
    }

    /// The interruption checks the tiers compile into this engine's modules.
    pub(crate) fn interrupts(&self) -> strata_vm::Interrupts {
        strata_vm::Interrupts {
            fuel: self.consume_fuel,
            epoch: self.epoch_interruption,
        }
    }

    /// Sets [`Config::max_call_depth`](Config#structfield.max_call_depth).
    pub fn max_call_depth(mut self, depth: usize) -> Self {
        self.max_call_depth = depth;
        self
    }
    pub(crate) fn runtime(&self) -> RuntimeConfig {
        RuntimeConfig {
            bounds_checks: self.bounds_checks,
            max_call_depth: self.max_call_depth,
            max_stack_cells: self.max_stack_cells,
            interp: self.interp_mode,
        }
    }
}

/// Whether `spec` is a mid-end switch list the optimizing tier accepts.
fn check_egraph(spec: &str) -> Result<(), ConfigError> {
    strata_tiers::opt::midend_config(spec)
        .map(drop)
        .map_err(|e| ConfigError(format!("--egraph: {e}")))
}

/// The most background compile threads an engine may have: thousands of threads were seen
/// to stall a run for over a minute just starting.
pub const MAX_COMPILE_THREADS: usize = 256;

/// A configured engine, cheap to clone and shared by modules and stores.
#[derive(Clone)]
pub struct Engine {
    config: Arc<Config>,
    /// With `Tier::Tiered`: the tier manager (policy, compile queue, profiler).
    manager: Option<Arc<TierManager>>,
    /// The epoch counter of epoch interruption (`Engine::increment_epoch`).
    pub(crate) epoch: Arc<std::sync::atomic::AtomicU64>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Creates an engine, refusing a configuration this build cannot run.
    pub fn new(config: Config) -> Result<Engine, ConfigError> {
        if !config.tier.is_available() {
            return Err(ConfigError(format!(
                "the {} tier is not available in this build of Strata",
                config.tier
            )));
        }
        check_egraph(&config.egraph)?;
        if config.max_stack_cells < 1024 || config.max_call_depth == 0 {
            return Err(ConfigError("stack limits are too small".into()));
        }
        match config.compile_threads {
            Some(0) => return Err(ConfigError("compile threads must be at least 1".into())),
            Some(n) if n > MAX_COMPILE_THREADS => {
                return Err(ConfigError(format!(
                    "{n} compile threads is more than the {MAX_COMPILE_THREADS} allowed \
                     (each is an OS thread; more than the cores only adds contention)"
                )))
            }
            _ => {}
        }
        let manager = match config.tier {
            Tier::Tiered => Some(Arc::new(
                TierManager::new(
                    config.policy.0.clone(),
                    config
                        .compile_threads
                        .unwrap_or_else(crate::tiering::CompileQueue::default_threads),
                    config.bounds_checks,
                    config.profile,
                )
                .map_err(ConfigError)?,
            )),
            _ => None,
        };
        Ok(Engine {
            config: Arc::new(config),
            manager,
            epoch: Arc::default(),
        })
    }

    /// The configuration the engine was created with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The tier manager of a tiered engine: its policy, compile queue and profile.
    pub fn tier_manager(&self) -> Option<&Arc<TierManager>> {
        self.manager.as_ref()
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(Config::default()).expect("the default configuration is valid")
    }
}
