//! `v8-no-osr`: V8 has no on-stack replacement for WebAssembly, so one long call stays in
//! the tier it started in while many short calls reach the optimizing tier. This program
//! measures that shape with Strata (OSR on and off) and with node, side by side: the same
//! W loop iterations of `benches/kernels/long_loop.wat`'s `run(n)` split into k calls.
//!
//!     cargo run --release -p strata-papers --bin v8-no-osr [-- --help]
//!
//! Writes results.csv (every measurement), summary.md (medians) and v8-no-osr.svg (the
//! plot) to papers/v8-no-osr/. See papers/v8-no-osr/README.md.

mod measure;
mod plot;
mod report;

use clap::Parser;
use measure::{Kind, Split, SETUPS};
use report::{count, Sample};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "v8-no-osr",
    about = "One long call against many short calls: Strata with OSR on and off, and node \
             (V8, no wasm OSR), on the same W loop iterations split into k calls.",
    after_help = "Counts accept 1e8 and 100_000_000. Without --quick a run takes about \
                  3 minutes on an idle 2-core machine, several times that on a loaded one. Paths are relative to the current directory; \
                  defaults are found from the repository root (the directory with Cargo.toml \
                  and benches/ above the current one)."
)]
struct Args {
    /// A smoke test: W = 1e6, 1 run, no long suite, output to a temporary directory.
    #[arg(long)]
    quick: bool,
    /// Total loop iterations W of the sweep [default: 1e8; 1e6 with --quick].
    #[arg(long, value_name = "W", value_parser = parse_count)]
    total: Option<u64>,
    /// The call counts k of the sweep, comma-separated.
    #[arg(long, value_name = "K,...", value_delimiter = ',', value_parser = parse_count,
          default_value = "1,10,100,1e3,1e4,1e5")]
    ks: Vec<u64>,
    /// Rounds of the sweep; each round measures every configuration at every k
    /// [default: 5; 1 with --quick].
    #[arg(long, value_name = "N")]
    runs: Option<u32>,
    /// W of the long suite: one call of W iterations in every configuration but Strata's
    /// interpreter, to set beside the published one-call figures; 0 skips it
    /// [default: 1e9; 0 with --quick].
    #[arg(long, value_name = "W", value_parser = parse_count)]
    long_total: Option<u64>,
    /// Rounds of the long suite.
    #[arg(long, value_name = "N", default_value_t = 3)]
    long_runs: u32,
    /// Output directory [default: papers/v8-no-osr; a temporary directory with --quick].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The node executable; when it cannot be run, node is reported as skipped.
    #[arg(long, value_name = "PATH", default_value = "node")]
    node: PathBuf,
    /// Measure Strata only.
    #[arg(long)]
    no_node: bool,
    /// The kernel: a .wat or .wasm file exporting `run(n: i32) -> i64`
    /// [default: benches/kernels/long_loop.wat].
    #[arg(long, value_name = "FILE")]
    kernel: Option<PathBuf>,
    /// Measure nothing: redraw the plot and summary from OUT/results.csv.
    #[arg(long)]
    replot: bool,
}

/// `100`, `100_000_000` or `1e8`.
fn parse_count(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let parsed = match t.split_once(['e', 'E']) {
        Some((m, e)) => {
            let m: u64 = m.parse().map_err(|_| format!("`{s}` is not a count"))?;
            let e: u32 = e.parse().map_err(|_| format!("`{s}` is not a count"))?;
            10u64.checked_pow(e).and_then(|p| p.checked_mul(m))
        }
        None => t.parse().ok(),
    };
    parsed.ok_or_else(|| format!("`{s}` is not a count"))
}

/// The repository root: the nearest directory at or above `start` with Cargo.toml and
/// benches/.
fn repo_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join("Cargo.toml").is_file() && d.join("benches").is_dir())
        .map(Path::to_path_buf)
}

/// A file removed when dropped (the kernel as .wasm, for node).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The experiment's plan: which (suite, W, k) and configurations, in which order.
#[derive(Debug)]
struct Plan {
    total: u64,
    ks: Vec<u64>,
    runs: u32,
    long_total: u64,
    long_runs: u32,
}

impl Plan {
    fn from_args(a: &Args) -> Result<Plan, String> {
        let plan = Plan {
            total: a
                .total
                .unwrap_or(if a.quick { 1_000_000 } else { 100_000_000 }),
            ks: a.ks.clone(),
            runs: a.runs.unwrap_or(if a.quick { 1 } else { 5 }),
            long_total: a
                .long_total
                .unwrap_or(if a.quick { 0 } else { 1_000_000_000 }),
            long_runs: a.long_runs,
        };
        for &k in &plan.ks {
            Split::new(plan.total, k)?;
        }
        if plan.long_total > 0 {
            Split::new(plan.long_total, 1)?;
        }
        if plan.ks.is_empty() || plan.runs == 0 {
            return Err("nothing to measure: give at least one k and one run".into());
        }
        Ok(plan)
    }

    /// Every measurement as (suite, round, split), configurations alternating innermost.
    fn rounds(&self) -> Vec<(&'static str, u32, Split)> {
        let mut out = Vec::new();
        for run in 0..self.runs {
            for &k in &self.ks {
                out.push((
                    "sweep",
                    run,
                    Split {
                        total: self.total,
                        k,
                    },
                ));
            }
        }
        if self.long_total > 0 {
            for run in 0..self.long_runs {
                out.push((
                    "long",
                    run,
                    Split {
                        total: self.long_total,
                        k: 1,
                    },
                ));
            }
        }
        out
    }
}

fn main() -> ExitCode {
    match real_main(Args::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("v8-no-osr: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(args: Args) -> Result<ExitCode, String> {
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let root = repo_root(&cwd);
    let from_root = |rel: &str| -> Result<PathBuf, String> {
        root.as_ref().map(|r| r.join(rel)).ok_or_else(|| {
            format!(
                "cannot find the repository root above {} (give --out, --kernel)",
                cwd.display()
            )
        })
    };
    let out_dir = match (&args.out, args.quick) {
        (Some(d), _) => d.clone(),
        (None, true) => std::env::temp_dir().join("strata-v8-no-osr-quick"),
        (None, false) => from_root("papers/v8-no-osr")?,
    };
    let csv_path = out_dir.join("results.csv");

    let samples = if args.replot {
        let text = std::fs::read_to_string(&csv_path)
            .map_err(|e| format!("{}: {e}", csv_path.display()))?;
        report::from_csv(&text)?
    } else {
        measure_all(&args, &from_root)?
    };

    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let write = |name: &str, text: &str| -> Result<(), String> {
        let path = out_dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {}", path.display());
        Ok(())
    };
    if !args.replot {
        write("results.csv", &report::to_csv(&samples))?;
    }
    let summary = report::summary_md(&samples);
    write("summary.md", &summary)?;
    write("v8-no-osr.svg", &plot::svg(&samples)?)?;
    println!("{summary}");

    let mismatches = report::checksum_mismatches(&samples);
    for m in &mismatches {
        eprintln!("checksum mismatch: {m}");
    }
    Ok(if mismatches.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn measure_all(
    args: &Args,
    from_root: &dyn Fn(&str) -> Result<PathBuf, String>,
) -> Result<Vec<Sample>, String> {
    let plan = Plan::from_args(args)?;
    let kernel = match &args.kernel {
        Some(k) => k.clone(),
        None => from_root("benches/kernels/long_loop.wat")?,
    };
    let wasm = wat::parse_file(&kernel).map_err(|e| format!("{}: {e}", kernel.display()))?;

    // node: the same bytes from a temporary .wasm file, one process per measurement.
    let node_version = if args.no_node {
        None
    } else {
        let v = measure::node_version(&args.node);
        if v.is_none() {
            eprintln!(
                "node: `{} -p process.version` failed: node skipped (Strata is measured alone)",
                args.node.display()
            );
        }
        v
    };
    let script = match node_version {
        Some(_) => {
            let s = from_root("papers/v8-no-osr/run.mjs")?;
            if !s.is_file() {
                return Err(format!("{} is missing", s.display()));
            }
            Some(s)
        }
        None => None,
    };
    let wasm_file = TempFile(
        std::env::temp_dir().join(format!("strata-v8-no-osr-{}.wasm", std::process::id())),
    );
    if script.is_some() {
        std::fs::write(&wasm_file.0, &wasm)
            .map_err(|e| format!("{}: {e}", wasm_file.0.display()))?;
    }

    let setups: Vec<&measure::Setup> = SETUPS
        .iter()
        .filter(|s| s.engine == "strata" || script.is_some())
        .collect();
    let rounds = plan.rounds();
    let n: usize = rounds
        .iter()
        .map(|(suite, _, _)| setups.iter().filter(|s| *suite != "long" || s.long).count())
        .sum();
    eprintln!(
        "kernel {}; sweep W = {} in k = {} calls, {} runs; long W = {}, {} runs; {} \
         measurements",
        kernel.display(),
        count(plan.total),
        plan.ks
            .iter()
            .map(|&k| count(k))
            .collect::<Vec<_>>()
            .join(","),
        plan.runs,
        count(plan.long_total),
        if plan.long_total > 0 {
            plan.long_runs
        } else {
            0
        },
        n
    );
    let strata_version = format!("Strata {}", env!("CARGO_PKG_VERSION"));
    let mut samples = Vec::new();
    for (suite, run, split) in rounds {
        for setup in setups.iter().filter(|s| suite != "long" || s.long) {
            let m = match setup.kind {
                Kind::Strata { tier, policy } => measure::run_strata(tier, policy, &wasm, split),
                Kind::Node { flags } => measure::run_node(
                    &args.node,
                    flags,
                    script.as_deref().expect("node setups only with a script"),
                    &wasm_file.0,
                    split,
                ),
            }
            .map_err(|e| {
                format!(
                    "{} {} W={} k={}: {e}",
                    setup.engine, setup.name, split.total, split.k
                )
            })?;
            eprintln!(
                "[{:>3}/{n}] {suite:<5} {:<6} {:<13} W={:<4} k={:<4} cpu {:>7.3} s  wall {:>7.3} s{}",
                samples.len() + 1,
                setup.engine,
                setup.name,
                count(split.total),
                count(split.k),
                m.cpu_s,
                m.wall_s,
                m.interp_backedges
                    .map_or(String::new(), |b| format!("  interpreted back-edges {b}"))
            );
            samples.push(Sample {
                suite: suite.into(),
                engine: setup.engine.into(),
                version: match setup.kind {
                    Kind::Strata { .. } => strata_version.clone(),
                    Kind::Node { .. } => node_version.clone().unwrap_or_default(),
                },
                config: setup.name.into(),
                total: split.total,
                k: split.k,
                run,
                m,
            });
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use measure::Measured;
    use report::{checksum_mismatches, from_csv, points, summary_md, to_csv, Stats};

    #[test]
    fn split_adds_up() {
        for (total, k) in [
            (100, 1),
            (100, 10),
            (101, 10),
            (7, 7),
            (1_000_000_007, 1000),
        ] {
            let s = Split::new(total, k).unwrap();
            let calls: Vec<i32> = s.calls().collect();
            assert_eq!(calls.len() as u64, k);
            assert_eq!(calls.iter().map(|&n| n as u64).sum::<u64>(), total);
            let (lo, hi) = (calls.iter().min().unwrap(), calls.iter().max().unwrap());
            assert!(hi - lo <= 1, "{total}/{k}: {lo}..{hi}");
            // The longer calls come first, as in run.mjs.
            assert!(calls.windows(2).all(|w| w[0] >= w[1]));
        }
        assert_eq!(Split::new(101, 10).unwrap().iterations(0), 11);
        assert_eq!(Split::new(101, 10).unwrap().iterations(1), 10);
        assert!(Split::new(10, 0).is_err());
        assert!(Split::new(10, 11).is_err());
        assert!(Split::new(1 << 32, 1).is_err());
        assert!(Split::new(i32::MAX as u64, 1).is_ok());
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("1e8"), Ok(100_000_000));
        assert_eq!(parse_count("100_000"), Ok(100_000));
        assert_eq!(parse_count("25E2"), Ok(2500));
        assert!(parse_count("1e30").is_err());
        assert!(parse_count("x").is_err());
        assert_eq!(count(1), "1");
        assert_eq!(count(100), "100");
        assert_eq!(count(1000), "1e3");
        assert_eq!(count(100_000_000), "1e8");
        assert_eq!(count(2_500_000), "25e5");
        assert_eq!(count(0), "0");
    }

    #[test]
    fn plan_order_alternates_configurations() {
        let args = Args::parse_from(["v8-no-osr", "--quick", "--ks", "1,10", "--runs", "2"]);
        let plan = Plan::from_args(&args).unwrap();
        assert_eq!(plan.total, 1_000_000);
        assert_eq!(plan.long_total, 0);
        let r = plan.rounds();
        let ks: Vec<(u32, u64)> = r.iter().map(|(_, run, s)| (*run, s.k)).collect();
        assert_eq!(ks, [(0, 1), (0, 10), (1, 1), (1, 10)]);
        let args = Args::parse_from(["v8-no-osr", "--total", "100", "--ks", "1000"]);
        assert!(Plan::from_args(&args).is_err());
    }

    fn made_up() -> Vec<Sample> {
        let mut out = Vec::new();
        for run in 0..3u32 {
            for (engine, config, speed) in [
                ("strata", "tiered", 1.0),
                ("strata", "tiered-no-osr", 3.0),
                ("node", "default", 2.0),
            ] {
                for k in [1u64, 10, 100] {
                    let t = if config == "tiered" || k > 1 {
                        1.0
                    } else {
                        speed
                    };
                    out.push(Sample {
                        suite: "sweep".into(),
                        engine: engine.into(),
                        version: format!("{engine} 1.0"),
                        config: config.into(),
                        total: 1000,
                        k,
                        run,
                        m: Measured {
                            wall_s: t + 0.1 * run as f64,
                            cpu_s: t * 0.9 + 0.01 * run as f64,
                            checksum: 42 + k,
                            interp_backedges: (engine == "strata").then_some(150 * k),
                        },
                    });
                }
            }
        }
        out.push(Sample {
            suite: "long".into(),
            engine: "node".into(),
            version: "node 1.0".into(),
            config: "default".into(),
            total: 1_000_000,
            k: 1,
            run: 0,
            m: Measured {
                wall_s: 2.0,
                cpu_s: 1.5,
                checksum: 7,
                interp_backedges: None,
            },
        });
        out
    }

    #[test]
    fn csv_round_trip_summary_and_plot() {
        let samples = made_up();
        let csv = to_csv(&samples);
        assert!(csv.starts_with(report::CSV_HEADER));
        assert_eq!(from_csv(&csv).unwrap(), samples);
        assert!(from_csv("a,b\n").is_err());

        let pts = points(&samples);
        let p = pts
            .iter()
            .find(|p| p.suite == "sweep" && p.config == "tiered-no-osr" && p.k == 1)
            .unwrap();
        assert_eq!(p.wall.n, 3);
        assert!((p.wall.median - 3.1).abs() < 1e-9, "{:?}", p.wall);
        assert!((p.wall.min - 3.0).abs() < 1e-9 && (p.wall.max - 3.2).abs() < 1e-9);
        assert_eq!(p.interp_backedges, Some(150));
        assert_eq!(
            Stats::of(&[4.0, 1.0, 3.0, 2.0]).map(|s| s.median),
            Some(2.5)
        );
        assert!(checksum_mismatches(&samples).is_empty());
        let mut bad = samples.clone();
        bad[1].m.checksum += 1;
        assert_eq!(checksum_mismatches(&bad).len(), 1);

        let md = summary_md(&samples);
        assert!(md.contains("| 1 | 1e3 | 0.910 | 2.710 | 1.810 |"), "{md}");
        assert!(md.contains("One call of W = 1e6"), "{md}");

        let svg = plot::svg(&samples).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        for s in SETUPS
            .iter()
            .filter(|s| ["tiered", "tiered-no-osr", "default"].contains(&s.name))
        {
            assert!(svg.contains(s.label), "legend has no {}", s.label);
        }
    }

    /// A real run at a tiny W: every configuration returns the same checksum, and the one
    /// call of 1000 iterations returns benches/README.md's `run(1000)`.
    #[test]
    fn configurations_agree() {
        let root = repo_root(&std::env::current_dir().unwrap()).expect("repository root");
        let wasm = wat::parse_file(root.join("benches/kernels/long_loop.wat")).unwrap();
        let node = PathBuf::from("node");
        let node_ok = measure::node_version(&node).is_some();
        let wasm_file = TempFile(
            std::env::temp_dir().join(format!("strata-v8-no-osr-test-{}.wasm", std::process::id())),
        );
        std::fs::write(&wasm_file.0, &wasm).unwrap();
        for (total, k) in [(1000, 1), (30_000, 1), (30_000, 100)] {
            let split = Split::new(total, k).unwrap();
            let mut sums = Vec::new();
            for s in SETUPS {
                let m = match s.kind {
                    Kind::Strata { tier, policy } => {
                        measure::run_strata(tier, policy, &wasm, split)
                    }
                    Kind::Node { flags } if node_ok => measure::run_node(
                        &node,
                        flags,
                        &root.join("papers/v8-no-osr/run.mjs"),
                        &wasm_file.0,
                        split,
                    ),
                    Kind::Node { .. } => continue,
                }
                .unwrap();
                assert!(m.cpu_s >= 0.0 && m.wall_s >= 0.0);
                assert_eq!(
                    m.interp_backedges.is_some(),
                    matches!(
                        s.kind,
                        Kind::Strata {
                            tier: strata::Tier::Tiered,
                            ..
                        }
                    )
                );
                sums.push((s.engine, s.name, m.checksum));
            }
            assert!(
                sums.iter().all(|x| x.2 == sums[0].2),
                "W={total} k={k}: {sums:?}"
            );
            if (total, k) == (1000, 1) {
                assert_eq!(sums[0].2, 2_082_260_666_508);
            }
        }
    }

    #[test]
    fn node_line() {
        let m =
            measure::parse_node_line("noise\nwall=0.5 cpu=0.25 checksum=18446744073709551615\n")
                .unwrap();
        assert_eq!(m.wall_s, 0.5);
        assert_eq!(m.cpu_s, 0.25);
        assert_eq!(m.checksum, u64::MAX);
        assert!(measure::parse_node_line("seconds=1").is_none());
    }
}
