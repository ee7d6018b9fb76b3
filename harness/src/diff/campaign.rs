//! `strata fuzz`: a long fuzzing campaign without libFuzzer. Each iteration takes the next
//! seed, expands it to bytes and runs one target on them; time is shared between the targets
//! so that each gets about the same. Failing inputs are saved to `--out` as `.wasm`, `.wat`
//! (when printable) and `.txt` (the report and the command that reproduces it). The input in
//! flight is written to `in-flight.wasm` first, so a hard crash (a signal) leaves it behind.
//! A divergence positively attributed to a known bug of the oracle is counted apart and saved
//! under `--out`/oracle-bugs (see [`FUZZ_HELP`] and [`super::oracle_bugs`]).

use super::compare::{Case, RunOptions};
use super::generate::{
    generate_from_seed, generate_from_seed_with, uses_simd, Features, SimdChoice,
};
use super::malformed::{check_bytes, engines, mutate, random_input};
use super::plan::Rng;
use super::side::{available_configs, Side, StrataConfig};
use super::targets::{check_case_triaged, mixed_side, mixed_sides, oracle, strata_sides, Checked};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Subfolder of `--out` for cases attributed to a known oracle bug.
pub const ORACLE_BUGS_DIR: &str = "oracle-bugs";

const FUZZ_HELP: &str = "\
Failures: a divergence between any two sides, a panic, a module Strata rejects, or a malformed
input that some configuration mishandles. Each is saved to --out as .wasm, .wat and .txt (the
report and the command that reproduces it); the exit status is 1 if there was any.

Oracle bugs: with --oracle, a divergence is counted apart as an oracle bug, not a failure, only
when it is positively attributed to a known bug of that oracle: the oracle is re-run on the
module rewritten so that the known bug cannot apply (a rewrite that by the spec changes nothing
observable, e.g. an empty block before each select for wasmi's select fusion), and that re-run
must agree with every Strata configuration on every step the first run compared, with the first
Strata configuration also run on the rewritten module. Strata configurations that disagree among
themselves, or a divergence the re-run does not clear, remain failures. Oracle bugs are saved to
--out/oracle-bugs with the evidence and are listed in the summary.";

/// Run a fuzzing campaign (differential across tiers, optionally against wasmi, mixed tiers,
/// and malformed inputs) for a while.
#[derive(clap::Args, Debug)]
#[command(after_help = FUZZ_HELP)]
pub struct FuzzArgs {
    /// How long to run, in minutes.
    #[arg(long, default_value_t = 1.0)]
    pub minutes: f64,
    /// Configurations of the differential target (default: every available tier in both
    /// bounds-check modes).
    #[arg(long, value_delimiter = ',')]
    pub tiers: Vec<String>,
    /// Also compare against a peer engine: wasmi (needs the `oracle-wasmi` build feature).
    /// Divergences attributed to a known bug of the oracle are counted apart (see below).
    #[arg(long)]
    pub oracle: Option<String>,
    /// Targets, comma-separated: differential, mixed, malformed, or all.
    #[arg(long, default_value = "all", value_delimiter = ',')]
    pub target: Vec<String>,
    /// First seed (default: from the clock). Seeds are consecutive from there.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Which generated modules of the differential and mixed targets may use SIMD: half of
    /// them (the default, so that the scalar operators stay dense in the other half), every
    /// one, or none. The summary counts the modules that do use it.
    #[arg(long, value_enum, default_value_t = SimdChoice::Half)]
    pub simd: SimdChoice,
    /// Where failing inputs go.
    #[arg(long, default_value = "fuzz-out")]
    pub out: PathBuf,
    /// The optimizing tier's mid-end switches (as `strata run --egraph`) for every
    /// configuration of the differential target that names no e-graph variant of its own.
    #[arg(long, value_name = "SWITCHES", default_value = "")]
    pub egraph: String,
    /// Seconds before one step of one configuration counts as a timeout.
    #[arg(long, default_value_t = 20.0)]
    pub timeout: f64,
    /// Re-check saved malformed inputs instead of fuzzing (the reproduce command).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub replay_malformed: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Differential,
    Mixed,
    Malformed,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Differential => "differential",
            Target::Mixed => "mixed",
            Target::Malformed => "malformed",
        }
    }
}

#[derive(Default)]
struct Stats {
    execs: u64,
    /// Checks passed (differential targets) or inputs handled cleanly (malformed).
    passed: u64,
    time: Duration,
    failures: u64,
    /// Checks skipped as inconclusive (differential targets).
    skipped: u64,
    /// Cases whose divergence was attributed to a known oracle bug (differential targets).
    oracle_bugs: u64,
    /// Generated modules that use SIMD (differential targets).
    simd_modules: u64,
}

fn parse_targets(names: &[String]) -> Result<Vec<Target>, String> {
    let mut out = Vec::new();
    for n in names {
        match n.as_str() {
            "all" => out.extend([Target::Differential, Target::Mixed, Target::Malformed]),
            "differential" => out.push(Target::Differential),
            "mixed" => out.push(Target::Mixed),
            "malformed" => out.push(Target::Malformed),
            other => {
                return Err(format!(
                    "unknown target `{other}` (expected differential, mixed, malformed or all)"
                ))
            }
        }
    }
    out.dedup();
    Ok(out)
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic".into())
}

/// The malformed corpus: generated modules (valid, so mutations reach deep) to mutate.
fn seed_corpus(rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..64)
        .map(|_| generate_from_seed(rng.next_u64()).wasm)
        .collect()
}

pub fn fuzz_main(args: FuzzArgs) -> ExitCode {
    if !args.replay_malformed.is_empty() {
        return replay(&args.replay_malformed);
    }
    let targets = match parse_targets(&args.target) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let configs: Result<Vec<StrataConfig>, String> = if args.tiers.is_empty() {
        available_configs()
            .into_iter()
            .map(|c| c.with_default_egraph(&args.egraph))
            .collect()
    } else {
        args.tiers
            .iter()
            .map(|t| StrataConfig::parse(t)?.with_default_egraph(&args.egraph))
            .collect()
    };
    let configs = match configs {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut sides: Vec<Arc<dyn Side>> = Vec::new();
    if let Some(o) = &args.oracle {
        match oracle(o) {
            Ok(s) => sides.push(s),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    sides.extend(strata_sides(&configs));
    let names: Vec<String> = sides.iter().map(|s| s.name().to_string()).collect();
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("error: cannot create {}: {e}", args.out.display());
        return ExitCode::from(2);
    }
    if !args.timeout.is_finite() || args.timeout <= 0.0 {
        eprintln!("error: --timeout must be a positive number of seconds");
        return ExitCode::from(2);
    }
    let opts = RunOptions {
        timeout: Duration::from_secs_f64(args.timeout),
    };
    let start_seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let mixed_available = mixed_side(0).is_some();
    let mut active = targets.clone();
    if !mixed_available {
        active.retain(|t| *t != Target::Mixed);
        if targets.contains(&Target::Mixed) {
            println!("mixed: skipped (this build has no tier per function)");
        }
    }
    if sides.len() < 2 {
        active.retain(|t| *t != Target::Differential);
        println!(
            "differential: skipped (fewer than two configurations: {})",
            names.join(", ")
        );
    }
    if active.is_empty() {
        println!("nothing to run");
        println!("0 passed, 0 failed, 0 skipped");
        return ExitCode::SUCCESS;
    }
    println!(
        "fuzzing for {} min from seed {start_seed}: targets {}; differential sides {}; failures to {}",
        args.minutes,
        active.iter().map(|t| t.name()).collect::<Vec<_>>().join(", "),
        names.join(", "),
        args.out.display()
    );

    let malformed_engines = engines(&configs);
    let mut corpus_rng = Rng::new(start_seed ^ 0x5eed);
    let corpus = if active.contains(&Target::Malformed) {
        seed_corpus(&mut corpus_rng)
    } else {
        Vec::new()
    };
    let in_flight = args.out.join("in-flight.wasm");
    let deadline = Instant::now() + Duration::from_secs_f64(args.minutes.max(0.0) * 60.0);
    let started = Instant::now();
    let mut last_status = Instant::now();
    let mut stats: Vec<Stats> = active.iter().map(|_| Stats::default()).collect();
    let mut seed = start_seed;

    while Instant::now() < deadline {
        // The target that has had the least time goes next.
        let ti = (0..active.len())
            .min_by_key(|&i| stats[i].time)
            .unwrap_or(0);
        let target = active[ti];
        seed = seed.wrapping_add(1);
        let t0 = Instant::now();
        match target {
            Target::Differential | Target::Mixed => {
                // A peer oracle without exception handling gets modules without it.
                let exceptions = target == Target::Mixed || args.oracle.is_none();
                let case = generate_from_seed_with(
                    seed,
                    Features {
                        exceptions,
                        simd: args.simd,
                    },
                );
                if uses_simd(&case.wasm) {
                    stats[ti].simd_modules += 1;
                }
                let _ = std::fs::write(&in_flight, &case.wasm);
                let case_sides = if target == Target::Mixed {
                    mixed_sides(seed)
                } else {
                    sides.clone()
                };
                let result = catch_unwind(AssertUnwindSafe(|| {
                    check_case_triaged(&case, &case_sides, &opts)
                }))
                .unwrap_or_else(|p| Err(format!("panic: {}", panic_text(p))));
                match result {
                    Ok(Checked::Passed(report)) => {
                        stats[ti].passed += report.passed as u64;
                        stats[ti].skipped += report.skipped as u64;
                    }
                    Ok(Checked::OracleBug(report, attribution)) => {
                        stats[ti].oracle_bugs += 1;
                        let (used, oracle_name) = side_names(&case_sides);
                        let text = format!(
                            "{}{}",
                            report.divergence.map(|d| d.to_string()).unwrap_or_default(),
                            attribution.explain()
                        );
                        save_diff_case(
                            &args.out.join(ORACLE_BUGS_DIR),
                            target,
                            seed,
                            &case,
                            &text,
                            &used,
                            oracle_name.as_deref(),
                            Some(&attribution.id()),
                        );
                    }
                    Err(report) => {
                        stats[ti].failures += 1;
                        let (used, oracle_name) = side_names(&case_sides);
                        save_diff_case(
                            &args.out,
                            target,
                            seed,
                            &case,
                            &report,
                            &used,
                            oracle_name.as_deref(),
                            None,
                        );
                    }
                }
            }
            Target::Malformed => {
                // A batch, so that the clock and file writes cost little per input.
                let mut rng = Rng::new(seed);
                for _ in 0..32 {
                    let input = if rng.below(4) == 0 || corpus.is_empty() {
                        random_input(&mut rng)
                    } else {
                        let base = &corpus[rng.below(corpus.len() as u64) as usize];
                        mutate(base, &mut rng)
                    };
                    let _ = std::fs::write(&in_flight, &input);
                    let result =
                        catch_unwind(AssertUnwindSafe(|| check_bytes(&input, &malformed_engines)))
                            .unwrap_or_else(|p| Err(format!("panic: {}", panic_text(p))));
                    stats[ti].execs += 1;
                    if result.is_ok() {
                        stats[ti].passed += 1;
                    }
                    if let Err(report) = result {
                        stats[ti].failures += 1;
                        save_malformed(&args.out, seed, stats[ti].execs, &input, &report);
                    }
                }
            }
        }
        if target != Target::Malformed {
            stats[ti].execs += 1;
        }
        stats[ti].time += t0.elapsed();
        if last_status.elapsed() >= Duration::from_secs(30) {
            last_status = Instant::now();
            print_status(started.elapsed(), &active, &stats);
        }
    }
    let _ = std::fs::remove_file(&in_flight);
    print_status(started.elapsed(), &active, &stats);
    let failures: u64 = stats.iter().map(|s| s.failures).sum();
    let skipped: u64 = stats.iter().map(|s| s.skipped).sum();
    let total: u64 = stats.iter().map(|s| s.execs).sum();
    let simd: u64 = stats.iter().map(|s| s.simd_modules).sum();
    println!("last seed {seed}; {total} executions, {simd} generated modules with SIMD");
    let passed: u64 = stats.iter().map(|s| s.passed).sum();
    let oracle_bugs: u64 = stats.iter().map(|s| s.oracle_bugs).sum();
    if args.oracle.is_some() {
        println!(
            "{oracle_bugs} oracle bugs (divergences attributed to a known {} issue, not counted \
             as failures){}",
            args.oracle.as_deref().unwrap_or_default(),
            if oracle_bugs > 0 {
                format!(": saved in {}", args.out.join(ORACLE_BUGS_DIR).display())
            } else {
                String::new()
            }
        );
    }
    println!("{passed} passed, {failures} failed, {skipped} skipped");
    if failures > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_status(elapsed: Duration, targets: &[Target], stats: &[Stats]) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let parts: Vec<String> = targets
        .iter()
        .zip(stats)
        .map(|(t, s)| {
            let rate = s.execs as f64 / s.time.as_secs_f64().max(1e-9);
            let oracle = if s.oracle_bugs > 0 {
                format!(", {} oracle bugs", s.oracle_bugs)
            } else {
                String::new()
            };
            let simd = if *t == Target::Malformed {
                String::new()
            } else {
                format!(" ({} with SIMD)", s.simd_modules)
            };
            format!(
                "{}: {} execs{simd} ({rate:.1}/s of its time), {} failures{oracle}, {} skipped checks",
                t.name(),
                s.execs,
                s.failures,
                s.skipped
            )
        })
        .collect();
    let total: u64 = stats.iter().map(|s| s.execs).sum();
    println!(
        "[{:.0} s] {} | overall {:.1} execs/s",
        secs,
        parts.join("; "),
        total as f64 / secs
    );
}

fn write_wat(path: &Path, wasm: &[u8]) {
    if let Ok(text) = wasmprinter::print_bytes(wasm) {
        let _ = std::fs::write(path, text);
    }
}

/// The Strata sides' names and the oracle's, for the reproduce command.
fn side_names(sides: &[Arc<dyn Side>]) -> (Vec<String>, Option<String>) {
    let used = sides
        .iter()
        .filter(|s| !s.is_peer())
        .map(|s| s.name().to_string())
        .collect();
    let oracle = sides
        .iter()
        .find(|s| s.is_peer())
        .map(|s| s.name().to_string());
    (used, oracle)
}

/// Saves a failing case, or with `oracle_bug` set one attributed to that known oracle bug
/// (then `out` is the oracle-bugs folder, and only one line is printed).
#[allow(clippy::too_many_arguments)]
fn save_diff_case(
    out: &Path,
    target: Target,
    seed: u64,
    case: &Case,
    report: &str,
    tiers: &[String],
    oracle: Option<&str>,
    oracle_bug: Option<&str>,
) {
    let _ = std::fs::create_dir_all(out);
    let stem = format!("{}-{seed}", target.name());
    let wasm_path = out.join(format!("{stem}.wasm"));
    let _ = std::fs::write(&wasm_path, &case.wasm);
    write_wat(&out.join(format!("{stem}.wat")), &case.wasm);
    let command = super::cli::repro_command(
        tiers,
        oracle,
        case.seed,
        case.rounds,
        &wasm_path.display().to_string(),
    );
    let text =
        format!("{report}\nreproduce: {command}\n(generated from strata fuzz seed {seed})\n");
    let _ = std::fs::write(out.join(format!("{stem}.txt")), &text);
    match oracle_bug {
        Some(id) => println!(
            "oracle bug ({id}) at seed {seed}, not a failure: saved as {}",
            wasm_path.display()
        ),
        None => println!(
            "FAILURE ({}) saved as {}:\n{text}",
            target.name(),
            wasm_path.display()
        ),
    }
}

fn save_malformed(out: &Path, seed: u64, n: u64, input: &[u8], report: &str) {
    let stem = format!("malformed-{seed}-{n}");
    let path = out.join(format!("{stem}.wasm"));
    let _ = std::fs::write(&path, input);
    write_wat(&out.join(format!("{stem}.wat")), input);
    let text = format!(
        "{report}\nreproduce: strata fuzz --replay-malformed {}\n",
        path.display()
    );
    let _ = std::fs::write(out.join(format!("{stem}.txt")), &text);
    println!("FAILURE (malformed) saved as {}:\n{text}", path.display());
}

fn replay(files: &[PathBuf]) -> ExitCode {
    let engines = engines(&available_configs());
    let (mut passed, mut failed) = (0, 0);
    for f in files {
        let bytes = match crate::read_input(f) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", f.display());
                return ExitCode::from(2);
            }
        };
        match check_bytes(&bytes, &engines) {
            Ok(()) => passed += 1,
            Err(e) => {
                failed += 1;
                println!("{}: {e}", f.display());
            }
        }
    }
    println!("{passed} passed, {failed} failed, 0 skipped");
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
