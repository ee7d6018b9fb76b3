//! Engine configuration: which tier executes code and how memory bounds are checked.

use crate::error::ConfigError;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
pub use strata_vm::BoundsChecks;
use strata_vm::RuntimeConfig;

/// The execution tier (or tiering strategy) of an engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Tier {
    /// Everything runs in the interpreter.
    #[default]
    Interp,
    /// Every function is compiled by the baseline JIT before it first runs.
    Baseline,
    /// Every function is compiled by the optimizing tier before it first runs.
    Opt,
    /// Functions start in the interpreter and move up under a tiering policy.
    Tiered,
}

impl Tier {
    pub fn name(self) -> &'static str {
        match self {
            Tier::Interp => "interp",
            Tier::Baseline => "baseline",
            Tier::Opt => "opt",
            Tier::Tiered => "tiered",
        }
    }

    /// Whether this build of Strata can execute code in the tier.
    pub fn is_available(self) -> bool {
        matches!(self, Tier::Interp | Tier::Baseline)
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
            other => Err(ConfigError(format!(
                "unknown tier `{other}` (expected interp, baseline, opt or tiered)"
            ))),
        }
    }
}

/// Engine settings. Build one, adjust it, then create an [`Engine`](crate::Engine).
#[derive(Clone, Debug)]
pub struct Config {
    pub tier: Tier,
    pub bounds_checks: BoundsChecks,
    /// Wasm frames allowed on the stack before the trap "call stack exhausted".
    pub max_call_depth: usize,
    /// Interpreter value-stack size in 64-bit cells.
    pub max_stack_cells: usize,
    /// Write `/tmp/perf-<pid>.map` entries for JIT-compiled functions.
    pub perf_map: bool,
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
        }
    }
}

impl Config {
    pub fn tier(mut self, tier: Tier) -> Self {
        self.tier = tier;
        self
    }
    pub fn bounds_checks(mut self, mode: BoundsChecks) -> Self {
        self.bounds_checks = mode;
        self
    }
    pub fn perf_map(mut self, on: bool) -> Self {
        self.perf_map = on;
        self
    }
    pub fn max_call_depth(mut self, depth: usize) -> Self {
        self.max_call_depth = depth;
        self
    }
    pub(crate) fn runtime(&self) -> RuntimeConfig {
        RuntimeConfig {
            bounds_checks: self.bounds_checks,
            max_call_depth: self.max_call_depth,
            max_stack_cells: self.max_stack_cells,
        }
    }
}

/// A configured engine, cheap to clone and shared by modules and stores.
#[derive(Clone, Debug)]
pub struct Engine {
    config: Arc<Config>,
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
        if config.max_stack_cells < 1024 || config.max_call_depth == 0 {
            return Err(ConfigError("stack limits are too small".into()));
        }
        Ok(Engine {
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(Config::default()).expect("the default configuration is valid")
    }
}
