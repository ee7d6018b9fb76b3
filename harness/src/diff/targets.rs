//! The fuzz targets, as plain functions of the input bytes: the cargo-fuzz crate (`fuzz/`),
//! the quick mode under `cargo test` and `strata fuzz` all call these, so a case means the
//! same thing everywhere. Each returns `Err(report)` on a finding; panics propagate.

use super::compare::{run_case, Case, CaseReport, RunOptions};
use super::generate::{generate, generate_for};
use super::malformed::{check_bytes, engines};
use super::oracle_bugs::{attribute, Attribution};
use super::side::{available_configs, Side, StrataConfig, StrataSide};
use std::sync::{Arc, OnceLock};
use strata::Engine;

/// The sides of Strata configurations this build can run (unavailable ones are left out).
pub fn strata_sides(configs: &[StrataConfig]) -> Vec<Arc<dyn Side>> {
    configs
        .iter()
        .filter_map(|c| StrataSide::new(c.clone()).ok())
        .map(|s| Arc::new(s) as Arc<dyn Side>)
        .collect()
}

/// The peer oracle called `name`, or why it cannot be had.
pub fn oracle(name: &str) -> Result<Arc<dyn Side>, String> {
    match name {
        #[cfg(feature = "oracle-wasmi")]
        super::wasmi_side::NAME => Ok(Arc::new(super::wasmi_side::WasmiSide::new())),
        #[cfg(not(feature = "oracle-wasmi"))]
        "wasmi" => Err(
            "this strata was built without the wasmi oracle: rebuild with `--features oracle-wasmi`"
                .into(),
        ),
        other => Err(format!("unknown oracle `{other}` (expected wasmi)")),
    }
}

/// Whether this build has the wasmi oracle.
pub fn has_wasmi() -> bool {
    cfg!(feature = "oracle-wasmi")
}

fn options() -> RunOptions {
    RunOptions {
        timeout: std::time::Duration::from_secs(20),
    }
}

/// Runs a generated case; a module Strata rejects is a finding too (wasm-smith was limited
/// to Strata's features).
pub fn check_case(
    case: &Case,
    sides: &[Arc<dyn Side>],
    opts: &RunOptions,
) -> Result<CaseReport, String> {
    let report = run_case(case, sides, opts)
        .map_err(|e| format!("Strata rejects a generated module: {e}"))?;
    match &report.divergence {
        Some(d) => Err(d.to_string()),
        None if report.failed > 0 => Err("a check failed".into()),
        None => Ok(report),
    }
}

/// A case that did not fail: it passed, or its only divergence is a known oracle bug.
#[derive(Debug)]
pub enum Checked {
    Passed(CaseReport),
    /// The oracle diverged and [`attribute`] cleared Strata (see [`super::oracle_bugs`]):
    /// the original report (with its divergence) and the evidence.
    OracleBug(CaseReport, Attribution),
}

/// [`check_case`], except that a divergence positively attributed to a known bug of the
/// oracle (the first side) is not a failure but [`Checked::OracleBug`]. Everything else that
/// `check_case` rejects is still an `Err`.
pub fn check_case_triaged(
    case: &Case,
    sides: &[Arc<dyn Side>],
    opts: &RunOptions,
) -> Result<Checked, String> {
    let report = run_case(case, sides, opts)
        .map_err(|e| format!("Strata rejects a generated module: {e}"))?;
    match &report.divergence {
        Some(d) => match attribute(case, sides, opts, &report) {
            Some(a) => Ok(Checked::OracleBug(report, a)),
            None => Err(d.to_string()),
        },
        None if report.failed > 0 => Err("a check failed".into()),
        None => Ok(Checked::Passed(report)),
    }
}

fn tier_sides() -> &'static [Arc<dyn Side>] {
    static SIDES: OnceLock<Vec<Arc<dyn Side>>> = OnceLock::new();
    SIDES.get_or_init(|| strata_sides(&available_configs()))
}

/// (a) A wasm-smith module across every available Strata configuration.
pub fn differential_tiers(data: &[u8]) -> Result<(), String> {
    let Some(case) = generate(data) else {
        return Ok(());
    };
    check_case(&case, tier_sides(), &options()).map(drop)
}

/// (b) A wasm-smith module on Strata's interpreter against wasmi. Without the oracle in
/// this build there is nothing to do. A divergence attributed to a known wasmi bug
/// ([`check_case_triaged`]) is not a finding.
pub fn differential_wasmi(data: &[u8]) -> Result<(), String> {
    let Ok(wasmi) = oracle("wasmi") else {
        return Ok(());
    };
    // wasmi 2 has no exception handling.
    let Some(case) = generate_for(data, false) else {
        return Ok(());
    };
    let mut sides = vec![wasmi];
    sides.extend(tier_sides().iter().cloned());
    check_case_triaged(&case, &sides, &options()).map(drop)
}

/// The `mixed:SEED` configuration if this build can run a tier per function.
pub fn mixed_side(seed: u64) -> Option<Arc<dyn Side>> {
    let config = StrataConfig::parse(&format!("mixed:{seed}")).ok()?;
    Some(Arc::new(StrataSide::new(config).ok()?))
}

/// Tiered execution under the stress policy `random:SEED` (random tier-ups and OSR entries),
/// with guard pages for even seeds and explicit checks for odd ones.
pub fn tiered_side(seed: u64) -> Option<Arc<dyn Side>> {
    let bounds = if seed.is_multiple_of(2) {
        ""
    } else {
        "-explicit"
    };
    let config = StrataConfig::parse(&format!("tiered@random:{seed}{bounds}")).ok()?;
    Some(Arc::new(StrataSide::new(config).ok()?))
}

/// The sides of the mixed target for one seed: the interpreter, a tier per function
/// (`mixed:SEED`) and tiered execution with random tier-ups and OSR (`tiered@random:SEED`).
pub fn mixed_sides(seed: u64) -> Vec<Arc<dyn Side>> {
    let mut sides = strata_sides(&[StrataConfig::parse("interp").expect("a known name")]);
    sides.extend(mixed_side(seed));
    sides.extend(tiered_side(seed));
    sides
}

/// (c) A wasm-smith module with a random tier per function, and under tiered execution with
/// random tier-ups and OSR entries, against the interpreter. Skips (returns `Ok`) while
/// neither is available.
pub fn mixed_tiers(data: &[u8]) -> Result<(), String> {
    let Some(case) = generate(data) else {
        return Ok(());
    };
    // The tier choices come from the same seed as the arguments: one input, one run.
    let sides = mixed_sides(case.seed);
    if sides.len() < 2 {
        return Ok(());
    }
    check_case(&case, &sides, &options()).map(drop)
}

fn malformed_engines() -> &'static [(String, Engine)] {
    static ENGINES: OnceLock<Vec<(String, Engine)>> = OnceLock::new();
    ENGINES.get_or_init(|| engines(&available_configs()))
}

/// (d) Arbitrary bytes through validation, compilation in every configuration and
/// instantiation.
pub fn malformed(data: &[u8]) -> Result<(), String> {
    check_bytes(data, malformed_engines())
}
