//! `strata bench --sightglass DIR`: runs a checkout of the Sightglass benchmarks
//! (`DIR/<name>/benchmark.wasm`, or `benchmark.wat` in tests) on Strata's tiers. Each benchmark
//! runs in its own directory with `.` preopened, its stdout and stderr are compared with the
//! suite's `stdout.expected` / `stderr.expected` when present, and the time reported is the
//! time between its `bench.start` and `bench.end` calls (`strata run` prints it), the median
//! of the runs. Peer engines are not run here yet.

use super::process::{self, Outcome};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// One benchmark of the suite.
struct Benchmark {
    name: String,
    dir: PathBuf,
    wasm: PathBuf,
}

fn benchmarks(dir: &Path) -> Result<Vec<Benchmark>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let wasm = ["benchmark.wasm", "benchmark.wat"]
            .iter()
            .map(|f| path.join(f))
            .find(|p| p.is_file());
        if let (true, Some(wasm)) = (path.is_dir(), wasm) {
            out.push(Benchmark {
                name: entry.file_name().to_string_lossy().into_owned(),
                dir: path,
                wasm,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    if out.is_empty() {
        return Err(format!(
            "{} has no benchmark directories (DIR/NAME/benchmark.wasm)",
            dir.display()
        ));
    }
    Ok(out)
}

/// What stdout/stderr must be, if the suite says.
fn expected(b: &Benchmark, stream: &str) -> Option<String> {
    std::fs::read_to_string(b.dir.join(format!("{stream}.expected"))).ok()
}

/// The run's verdict and marker time.
fn check(b: &Benchmark, o: &Outcome) -> Result<Duration, String> {
    if !o.success() {
        return Err(o.failure_summary());
    }
    let mut ns = None;
    let mut stderr = String::new();
    for line in o.stderr.lines() {
        match line.strip_prefix("bench-markers ns=") {
            Some(n) => ns = n.trim().parse::<u64>().ok(),
            None => {
                stderr.push_str(line);
                stderr.push('\n');
            }
        }
    }
    if let Some(want) = expected(b, "stdout") {
        if want != o.stdout {
            return Err("stdout differs from stdout.expected".into());
        }
    }
    if let Some(want) = expected(b, "stderr") {
        if want.trim_end() != stderr.trim_end() {
            return Err("stderr differs from stderr.expected".into());
        }
    }
    ns.map(Duration::from_nanos)
        .ok_or_else(|| "no bench.start/bench.end pair was called".into())
}

/// Runs the suite; the exit status is 1 when a benchmark failed on some tier.
pub fn main(
    dir: &Path,
    tiers: &[String],
    runs: usize,
    timeout: Duration,
) -> Result<ExitCode, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the strata executable: {e}"))?;
    let suite = benchmarks(dir)?;
    println!(
        "{:<28} {:<10} {:>12}  status",
        "benchmark", "tier", "markers ms"
    );
    let mut failed = 0;
    for b in &suite {
        for tier in tiers {
            let mut times = Vec::new();
            let mut error = None;
            for _ in 0..runs.max(1) {
                let mut cmd = Command::new(&exe);
                // The benchmark runs in its own directory: name its file from there.
                cmd.args(["run", "--tier", tier, "--dir", "."])
                    .arg(b.wasm.file_name().unwrap_or_default())
                    .current_dir(&b.dir);
                match check(b, &process::run(cmd, timeout)) {
                    Ok(t) => times.push(t),
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            match error {
                None => {
                    times.sort();
                    let median = times[times.len() / 2];
                    println!(
                        "{:<28} {:<10} {:>12.3}  ok",
                        b.name,
                        tier,
                        median.as_secs_f64() * 1e3
                    );
                }
                Some(e) => {
                    failed += 1;
                    println!("{:<28} {:<10} {:>12}  FAILED: {e}", b.name, tier, "-");
                }
            }
        }
    }
    let total = suite.len() * tiers.len();
    println!(
        "{} of {total} benchmark runs correct ({} benchmarks x {} tiers); times are medians of {runs}",
        total - failed,
        suite.len(),
        tiers.len()
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
