//! `strata diff`: runs modules in several configurations (and optionally a peer oracle) and
//! compares everything observable.

use super::compare::{run_case, Case, RunOptions};
use super::oracle_bugs::attribute;
use super::side::{Side, StrataConfig, StrataSide, DEFAULT_TIERS};
use super::targets::oracle;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

const DIFF_HELP: &str = "\
Configurations: TIER (guard pages), TIER-explicit (explicit bounds checks) or TIER-guard, with
TIER one of interp, baseline, opt, tiered, mixed:SEED (a tier per function). The optimizing
tier's e-graph variants: opt-chaos (chaos extraction, seed 1), opt-chaos:SEED, opt-no-egraph (no
e-graph), opt/egraph=SWITCHES (`strata run --egraph` switches, `+` for the comma), each with the
bounds suffixes too. Configurations this build cannot run are reported as skipped.

Compared: instantiation, each call's results (NaN equals NaN whatever the payload: wasm allows
any NaN from arithmetic; all other bits exact) or trap kind, then the exported memories
(byte-exact), globals and tables (null or which exported function). A call that exhausts the call
stack or times out makes the rest of the module inconclusive (skipped).

With --oracle, a divergence that a re-run attributes to a known bug of the oracle (see `strata
fuzz --help`) is reported with that evidence, and is still a divergence here.

Counts are of steps, per module and in total: the instantiation, each call, and the final
state; a step passes when every configuration agrees on it, fails when one differs, and is
skipped when one is inconclusive (each skip names its step: the export and its arguments).

Exit status: 0 no divergence, 1 a divergence, 2 bad command line or a module that does not
compile.";

/// Compare Strata configurations (and a peer oracle) on the exported functions of modules.
#[derive(clap::Args, Debug)]
#[command(after_help = DIFF_HELP)]
pub struct DiffArgs {
    /// Comma-separated configurations to compare.
    #[arg(long, default_value = DEFAULT_TIERS, value_delimiter = ',')]
    pub tiers: Vec<String>,
    /// Also run under a peer engine: wasmi (needs the `oracle-wasmi` build feature).
    #[arg(long)]
    pub oracle: Option<String>,
    /// Seed of the generated arguments.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Calls per exported function.
    #[arg(long, default_value_t = 3)]
    pub calls: usize,
    /// Seconds one call (or the instantiation) of one configuration may run before the rest
    /// of the module is called inconclusive. Strata configurations stop the call themselves
    /// (epoch interruption); a peer's thread is left behind until the command exits.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// The optimizing tier's mid-end switches (as `strata run --egraph`) for every
    /// configuration that names no e-graph variant of its own; reports name such a
    /// configuration `TIER/egraph=SWITCHES`.
    #[arg(long, value_name = "SWITCHES", default_value = "")]
    pub egraph: String,
    /// Print every step compared (the instantiation, each call with its arguments and the
    /// first configuration's outcome, the final state) with its verdict.
    #[arg(short, long)]
    pub verbose: bool,
    /// Modules (.wasm or .wat). They are instantiated with no imports, except a module that
    /// imports WASI: it gets a context of its own on every side, the same everywhere (the
    /// program name only, no environment or directories, empty stdin, seeded random bytes, a
    /// clock that moves 1 ms per reading); a command runs `_start` once, and its exit status,
    /// stdout and stderr are compared too. The wasmi oracle runs no WASI module.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Configurations this build cannot run: name and reason.
pub type Skipped = Vec<(String, String)>;

/// The sides for `tiers` and `oracle`: the runnable ones, and the skipped ones with reasons.
pub fn build_sides(
    tiers: &[String],
    oracle_name: Option<&str>,
    egraph: &str,
) -> Result<(Vec<Arc<dyn Side>>, Skipped), String> {
    let mut sides: Vec<Arc<dyn Side>> = Vec::new();
    let mut skipped = Vec::new();
    if let Some(name) = oracle_name {
        sides.push(oracle(name)?);
    }
    for name in tiers.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        let config = StrataConfig::parse(name)?.with_default_egraph(egraph)?;
        match StrataSide::new(config) {
            Ok(side) => sides.push(Arc::new(side)),
            Err(why) => skipped.push((name.to_string(), why)),
        }
    }
    Ok((sides, skipped))
}

/// The command that reproduces a check.
pub fn repro_command(
    tiers: &[String],
    oracle: Option<&str>,
    seed: u64,
    calls: usize,
    file: &str,
) -> String {
    let oracle = oracle.map(|o| format!(" --oracle {o}")).unwrap_or_default();
    format!(
        "strata diff --tiers {}{oracle} --seed {seed} --calls {calls} {file}",
        tiers.join(",")
    )
}

/// Reads a module, turning text into binary (the oracle needs binary).
pub fn read_module(path: &std::path::Path) -> Result<Vec<u8>, String> {
    let bytes =
        crate::read_input(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    wat::parse_bytes(&bytes)
        .map(|b| b.into_owned())
        .map_err(|e| format!("{}: invalid text format: {e}", path.display()))
}

pub fn main(args: DiffArgs) -> ExitCode {
    let (sides, skipped_configs) =
        match build_sides(&args.tiers, args.oracle.as_deref(), &args.egraph) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
    for (name, why) in &skipped_configs {
        println!("skipped configuration {name}: {why}");
    }
    if sides.len() < 2 {
        println!(
            "note: fewer than two runnable configurations ({}): nothing to compare",
            sides
                .iter()
                .map(|s| s.name().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !args.timeout.is_finite() || args.timeout <= 0.0 {
        eprintln!("error: --timeout must be a positive number of seconds");
        return ExitCode::from(2);
    }
    let opts = RunOptions {
        timeout: Duration::from_secs_f64(args.timeout),
    };
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut errors = false;
    for path in &args.files {
        let wasm = match read_module(path) {
            Ok(w) => w,
            Err(e) => {
                eprintln!("error: {e}");
                errors = true;
                continue;
            }
        };
        let case = Case {
            wasm,
            seed: args.seed,
            rounds: args.calls,
        };
        let report = match run_case(&case, &sides, &opts) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                errors = true;
                continue;
            }
        };
        let skipped_here = report.skipped + skipped_configs.len();
        println!(
            "{}: {} passed, {} failed, {} skipped",
            path.display(),
            report.passed,
            report.failed,
            skipped_here
        );
        if args.verbose {
            for (what, verdict) in &report.steps {
                println!("  {verdict}: {what}");
            }
        }
        if let Some(what) = &report.not_instantiated {
            println!("  every configuration agrees that instantiation {what}: no calls made");
        }
        for why in &report.skip_reasons {
            println!("  skipped: {why}");
        }
        if let Some(d) = &report.divergence {
            print!("{d}");
            if let Some(a) = attribute(&case, &sides, &opts, &report) {
                println!("  {}", a.explain().replace('\n', "\n  "));
            }
            let names: Vec<String> = sides
                .iter()
                .filter(|s| !s.is_peer())
                .map(|s| s.name().to_string())
                .collect();
            println!(
                "  reproduce: {}",
                repro_command(
                    &names,
                    args.oracle.as_deref(),
                    args.seed,
                    args.calls,
                    &path.display().to_string()
                )
            );
        }
        passed += report.passed;
        failed += report.failed;
        skipped += skipped_here;
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    // The summary is printed before the exit; a peer's thread abandoned on a timeout dies
    // with the process.
    if failed > 0 {
        ExitCode::from(1)
    } else if errors {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
