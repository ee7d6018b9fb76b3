//! `strata`: the command-line face of the engine.

use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;
use strata::{BoundsChecks, Config, Engine, Tier};

mod run;
mod wasi;
mod wast_runner;

#[derive(Parser)]
#[command(name = "strata", version, about = "Strata: a WebAssembly engine for tiered-execution research")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Engine options shared by the subcommands.
#[derive(Args, Clone, Debug)]
pub struct EngineArgs {
    /// Execution tier: interp, baseline, opt or tiered.
    #[arg(long, default_value = "interp")]
    pub tier: String,
    /// Out-of-bounds memory detection: guard (guard pages) or explicit (checks).
    #[arg(long, default_value = "guard")]
    pub bounds_checks: String,
}

impl EngineArgs {
    /// Builds the engine, or explains which option is wrong.
    pub fn engine(&self) -> Result<Engine, String> {
        let tier: Tier = self.tier.parse().map_err(|e: strata::ConfigError| e.to_string())?;
        let bounds = match self.bounds_checks.as_str() {
            "guard" => BoundsChecks::GuardPages,
            "explicit" => BoundsChecks::Explicit,
            other => {
                return Err(format!(
                    "unknown bounds-check mode `{other}` (expected guard or explicit)"
                ))
            }
        };
        Engine::new(Config::default().tier(tier).bounds_checks(bounds)).map_err(|e| e.to_string())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run a WASI program's `_start`, or an exported function with --invoke.
    Run(run::RunArgs),
    /// Run WebAssembly spec-test scripts (.wast).
    Wast(wast_runner::WastArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run::main(args),
        Command::Wast(args) => wast_runner::main(args),
    }
}
