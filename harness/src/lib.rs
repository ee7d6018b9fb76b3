//! The `strata` command's library: spec-test runner, WASI, program runner. The binary in
//! `main.rs` only parses the command line.

use clap::Args;
use strata::{BoundsChecks, Config, Engine, Tier};

pub mod bench;
pub mod compile;
pub mod diff;
pub mod profile;
pub mod run;
pub mod sightglass;
/// WASI preview1 lives in its own crate; the CLI is one of its users.
pub use strata_wasi as wasi;
pub mod wast_runner;
pub mod watchdog;

/// The largest input file the CLI reads (a module, a script): far above any real module, far
/// below what would exhaust the host.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// Reads a user's input file: only a regular file, and at most [`MAX_INPUT_BYTES`] (a device
/// such as `/dev/zero` never ends; the size is checked on the bytes read too, since a file
/// may grow while it is read).
pub fn read_input(path: impl AsRef<std::path::Path>) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let path = path.as_ref();
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let too_large = || {
        Error::new(
            ErrorKind::InvalidData,
            format!("too large (more than {} bytes)", MAX_INPUT_BYTES),
        )
    };
    if meta.len() > MAX_INPUT_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Engine options shared by the subcommands.
#[derive(Args, Clone, Debug)]
pub struct EngineArgs {
    /// Execution tier: interp, baseline, opt, tiered, or mixed:SEED / mixed:funcs=F,... (a
    /// tier per function). `strata run` defaults to tiered, the other commands to interp.
    #[arg(long)]
    pub tier: Option<String>,
    /// Out-of-bounds memory detection: guard (guard pages) or explicit (checks).
    #[arg(long, default_value = "guard")]
    pub bounds_checks: String,
    /// Tiering policy for --tier tiered: interp, baseline[:sync],
    /// counters:call=N,loop=M[,opt-call=N,opt-loop=M][,opt-load=K][,skip-baseline][,sync],
    /// budget:N[,opt=M][,sync-baseline][,sync], random:SEED, or the presets jsc and v8 (add ,max=TIER to cap,
    /// ,no-osr to keep running loops where they are).
    #[arg(long, value_name = "POLICY")]
    pub tiering: Option<String>,
    /// Background compile threads for --tier tiered (default: cores - 1, at least 1).
    #[arg(long, value_name = "N")]
    pub compile_threads: Option<usize>,
    /// The optimizing tier's mid-end switches, comma-separated: on (default), off (no
    /// e-graph), chaos=SEED, no-FAMILY (arith, bits, shifts, compare, convert, address),
    /// no-licm, no-bounds, iters=N.
    #[arg(long, value_name = "SWITCHES", default_value = "")]
    pub egraph: String,
}

impl EngineArgs {
    /// Builds the engine, or explains which option is wrong.
    pub fn engine(&self) -> Result<Engine, String> {
        Engine::new(self.config()?).map_err(|e| e.to_string())
    }

    /// The configuration these options describe (the tier defaults to interp).
    pub fn config(&self) -> Result<Config, String> {
        self.config_or(Tier::Interp)
    }

    /// The configuration these options describe, with `default` when no tier is given.
    pub fn config_or(&self, default: Tier) -> Result<Config, String> {
        let mut config = match &self.tier {
            Some(spec) => Config::default()
                .tier_spec(spec)
                .map_err(|e| e.to_string())?,
            None => Config::default().tier(default),
        };
        if let Some(spec) = &self.tiering {
            if config.tier != Tier::Tiered {
                return Err(format!(
                    "--tiering applies to --tier tiered, not to --tier {}",
                    config.tier
                ));
            }
            config = config.tiering(spec).map_err(|e| e.to_string())?;
        }
        if let Some(n) = self.compile_threads {
            config = config.compile_threads(n);
        }
        let bounds = match self.bounds_checks.as_str() {
            "guard" => BoundsChecks::GuardPages,
            "explicit" => BoundsChecks::Explicit,
            other => {
                return Err(format!(
                    "unknown bounds-check mode `{other}` (expected guard or explicit)"
                ))
            }
        };
        let config = config.egraph(&self.egraph).map_err(|e| e.to_string())?;
        Ok(config.bounds_checks(bounds))
    }
}
