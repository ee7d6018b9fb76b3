//! The `strata` command's library: spec-test runner, WASI, program runner. The binary in
//! `main.rs` only parses the command line.

use clap::Args;
use strata::{BoundsChecks, Config, Engine};

pub mod bench;
pub mod compile;
pub mod diff;
pub mod run;
pub mod wasi;
pub mod wast_runner;

/// Engine options shared by the subcommands.
#[derive(Args, Clone, Debug)]
pub struct EngineArgs {
    /// Execution tier: interp, baseline, opt, tiered, or mixed:SEED / mixed:funcs=F,... (a
    /// tier per function).
    #[arg(long, default_value = "interp")]
    pub tier: String,
    /// Out-of-bounds memory detection: guard (guard pages) or explicit (checks).
    #[arg(long, default_value = "guard")]
    pub bounds_checks: String,
}

impl EngineArgs {
    /// Builds the engine, or explains which option is wrong.
    pub fn engine(&self) -> Result<Engine, String> {
        Engine::new(self.config()?).map_err(|e| e.to_string())
    }

    /// The configuration these options describe.
    pub fn config(&self) -> Result<Config, String> {
        let config = Config::default()
            .tier_spec(&self.tier)
            .map_err(|e| e.to_string())?;
        let bounds = match self.bounds_checks.as_str() {
            "guard" => BoundsChecks::GuardPages,
            "explicit" => BoundsChecks::Explicit,
            other => {
                return Err(format!(
                    "unknown bounds-check mode `{other}` (expected guard or explicit)"
                ))
            }
        };
        Ok(config.bounds_checks(bounds))
    }
}
