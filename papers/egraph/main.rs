//! `egraph`: what the optimizing tier's e-graph mid-end is worth, Strata's version of the
//! measurement in Cranelift's e-graph RFC. Every program of benches/programs is compiled
//! and run by `strata --tier opt` with the e-graph on, off, and with each rule family (and
//! loop-invariant code motion) off. Times are CPU seconds of child processes (user +
//! system; on a shared machine wall time mostly measures the wait for a core): execution is
//! the CPU of `strata run --tier opt` at the program's size less the same command at size 1
//! (same module, same mode: the same compilation and start-up); compile time is that of
//! `strata compile --tier opt` (every function through the pipeline, nothing run). Modes
//! alternate within each round, so load on the machine spreads over all of them.
//!
//!     cargo build --release -p strata-harness      # the `strata` binary it drives
//!     cargo run --release -p strata-papers --bin egraph [-- --help]
//!
//! Writes results.csv (every measurement), summary.md (medians and ratios) and egraph.svg
//! to papers/egraph/. See papers/egraph/README.md.

mod plot;
mod report;

use clap::Parser;
use report::Sample;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The mid-end settings measured, `on` first (every ratio is against it): the e-graph off,
/// then each rule family of `ir/rules/` off, then loop-invariant code motion off.
pub const MODES: [&str; 9] = [
    "on",
    "off",
    "no-arith",
    "no-bits",
    "no-shifts",
    "no-compare",
    "no-convert",
    "no-address",
    "no-licm",
];

/// Sizes whose run takes about half a CPU second in optimized code (the defaults of
/// benches/programs/expected.txt take several seconds each: too long for 9 modes times
/// several rounds on a shared machine). Checksums are compared between modes instead.
const SIZES: [(&str, u64); 12] = [
    ("bytecode", 40_000),
    ("compress", 6_000),
    ("fib", 32),
    ("fnptr", 20_000_000),
    ("hash", 60),
    ("hashtable", 1_500_000),
    ("large", 1_500),
    ("matmul", 600),
    ("nbody", 1_500_000),
    ("sieve", 150_000_000),
    ("sort", 800_000),
    ("strings", 10_000),
];

#[derive(Parser, Debug)]
#[command(
    name = "egraph",
    about = "Execution and compile time of Strata's optimizing tier with the e-graph on, off \
             and with each rule family off, over benches/programs."
)]
struct Args {
    /// Rounds; each round runs and compiles every program in every mode.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Multiplies every program's size (rounded, at least 1).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// A smoke test: one round at 1/20 of the sizes, output to a temporary directory.
    #[arg(long)]
    quick: bool,
    /// Output directory [default: papers/egraph].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The strata executable [default: target/release/strata of this repository].
    #[arg(long, value_name = "PATH")]
    strata: Option<PathBuf>,
    /// Measure nothing: redraw the plot and summary from OUT/results.csv.
    #[arg(long)]
    replot: bool,
}

/// The repository root: the first directory upwards with Cargo.toml and benches/.
fn repo_root() -> Result<PathBuf, String> {
    let mut dir = std::env::current_dir().map_err(|e| e.to_string())?;
    loop {
        if dir.join("Cargo.toml").is_file() && dir.join("benches/programs").is_dir() {
            return Ok(dir);
        }
        if !dir.pop() {
            return Err("run from inside the repository (no benches/programs above)".into());
        }
    }
}

/// User plus system CPU seconds of this process's waited-for children so far.
fn children_cpu() -> f64 {
    // SAFETY: getrusage only writes the struct it is given, which lives on this stack.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
        ru
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}

/// Runs `cmd`, returning stdout, stderr and the CPU seconds it used (user + system: on a
/// shared, loaded machine wall time mostly measures the wait for a core), or why it failed.
fn output(mut cmd: Command) -> Result<(String, String, f64), String> {
    let before = children_cpu();
    let o = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    let cpu = children_cpu() - before;
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    if !o.status.success() {
        return Err(format!("{cmd:?} failed ({}): {stderr}", o.status));
    }
    Ok((stdout, stderr, cpu))
}

/// One `strata run --tier opt --egraph MODE --phase-times`.
struct Execution {
    /// CPU seconds of the whole process (validation, compilation, instantiation, run).
    process_cpu_s: f64,
    /// Wall seconds of the run alone (`execute_ns` of `--phase-times`).
    execute_wall_s: f64,
    checksum: String,
}

fn execute(strata: &Path, wasm: &Path, size: u64, mode: &str) -> Result<Execution, String> {
    let mut c = Command::new(strata);
    c.args(["run", "--tier", "opt", "--egraph", mode, "--phase-times"])
        .arg(wasm)
        .arg(size.to_string());
    let (stdout, stderr, cpu) = output(c)?;
    let ns = report::field(&stderr, "execute_ns=")
        .ok_or_else(|| format!("no phase-times line from {}: {stderr}", wasm.display()))?;
    let checksum = stdout
        .lines()
        .find_map(|l| l.strip_prefix("checksum: "))
        .unwrap_or("")
        .trim()
        .to_string();
    Ok(Execution {
        process_cpu_s: cpu,
        execute_wall_s: ns / 1e9,
        checksum,
    })
}

/// One `strata compile --tier opt --egraph MODE` (every function through the whole
/// pipeline on one thread, nothing run): the CPU seconds of the process and the wall
/// seconds it reports for the compilation alone.
fn compile(strata: &Path, wasm: &Path, mode: &str) -> Result<(f64, f64), String> {
    let mut c = Command::new(strata);
    c.args(["compile", "--tier", "opt", "--egraph", mode])
        .arg(wasm);
    let (stdout, _, cpu) = output(c)?;
    let ms = report::compile_ms(&stdout)
        .ok_or_else(|| format!("no total line from strata compile {}", wasm.display()))?;
    Ok((cpu, ms / 1e3))
}

fn measure(args: &Args, root: &Path, strata: &Path, out: &Path) -> Result<Vec<Sample>, String> {
    let scale = if args.quick {
        args.scale / 20.0
    } else {
        args.scale
    };
    let runs = if args.quick { 1 } else { args.runs.max(1) };
    let mut samples = Vec::new();
    for round in 0..runs {
        for (pi, (name, size)) in SIZES.iter().enumerate() {
            let wasm = root.join("benches/programs").join(format!("{name}.wasm"));
            let size = ((*size as f64 * scale).round() as u64).max(1);
            // Rotate the order of modes by round and program: none always runs first.
            let start = (round as usize + pi) % MODES.len();
            for k in 0..MODES.len() {
                let mode = MODES[(start + k) % MODES.len()];
                let e = execute(strata, &wasm, size, mode)?;
                let startup = execute(strata, &wasm, 1, mode)?;
                let (compile_cpu_s, compile_wall_s) = compile(strata, &wasm, mode)?;
                eprintln!(
                    "round {round} {name:<10} {mode:<11} run {:.3} s cpu ({:.3} s wall)  \
                     compile {:.1} ms cpu",
                    e.process_cpu_s - startup.process_cpu_s,
                    e.execute_wall_s,
                    compile_cpu_s * 1e3
                );
                samples.push(Sample {
                    program: name.to_string(),
                    size,
                    mode: mode.to_string(),
                    round,
                    process_cpu_s: e.process_cpu_s,
                    startup_cpu_s: startup.process_cpu_s,
                    execute_wall_s: e.execute_wall_s,
                    compile_cpu_s,
                    compile_wall_s,
                    checksum: e.checksum,
                });
            }
        }
        // Each round is kept as it ends: a long run stopped half-way still leaves data.
        std::fs::write(out.join("results.csv"), report::csv(&samples))
            .map_err(|e| e.to_string())?;
    }
    Ok(samples)
}

fn run(args: Args) -> Result<(), String> {
    let root = repo_root()?;
    let out = match (&args.out, args.quick) {
        (Some(o), _) => o.clone(),
        (None, true) => std::env::temp_dir().join(format!("egraph-quick-{}", std::process::id())),
        (None, false) => root.join("papers/egraph"),
    };
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let samples = if args.replot {
        let text = std::fs::read_to_string(out.join("results.csv"))
            .map_err(|e| format!("{}/results.csv: {e}", out.display()))?;
        report::parse_csv(&text)?
    } else {
        let strata = args
            .strata
            .clone()
            .unwrap_or_else(|| root.join("target/release/strata"));
        if !strata.is_file() {
            return Err(format!(
                "{} not found: build it with `cargo build --release -p strata-harness`",
                strata.display()
            ));
        }
        measure(&args, &root, &strata, &out)?
    };
    let mismatches = report::checksum_mismatches(&samples);
    let summary = report::summary(&samples, &mismatches);
    std::fs::write(out.join("summary.md"), &summary).map_err(|e| e.to_string())?;
    std::fs::write(out.join("egraph.svg"), plot::svg(&samples)?).map_err(|e| e.to_string())?;
    print!("{summary}");
    eprintln!(
        "wrote {}/{{results.csv,summary.md,egraph.svg}}",
        out.display()
    );
    if !mismatches.is_empty() {
        return Err(format!("checksums differ between modes: {mismatches:?}"));
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
