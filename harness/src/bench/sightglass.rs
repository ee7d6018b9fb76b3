//! `strata bench --sightglass DIR`: runs a checkout of the Sightglass benchmarks on Strata's
//! tiers and on peer engines, the way Sightglass's own runner does:
//!
//! * the benchmarks are the files `DIR/all.suite` lists (lines starting with `#` are left
//!   out, as the suite itself comments out the ones that do not build), or, without that
//!   file, every `*.wasm` (and `benchmark.wat`, for tests) under DIR;
//! * each runs in its own file's directory with `.` preopened and stdin empty, and its stdout
//!   and stderr must equal `<stem>.stdout.expected` / `<stem>.stderr.expected`, else
//!   `default.stdout.expected` / `default.stderr.expected`, line by line, when present;
//! * Strata's time is the one between the program's `bench.start` and `bench.end` calls
//!   (`strata run` prints it), and so is wasmtime's when it runs through
//!   `benches/peers/wasmtime-py.py` (which provides the markers and prints the same line); the
//!   wasmtime CLI's is its whole process (it gets the markers as a `--preload`ed module of
//!   empty functions); the median of the runs.

use super::engines::{Engine, EngineKind, Locations};
use super::process::{self, Outcome};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// One benchmark of the suite.
struct Benchmark {
    name: String,
    dir: PathBuf,
    wasm: PathBuf,
}

impl Benchmark {
    fn new(wasm: PathBuf) -> Benchmark {
        let stem = wasm
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let dir = match wasm.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // `bz2/benchmark.wasm` is "bz2"; `libsodium/libsodium-box.wasm` is "libsodium-box".
        let name = if stem == "benchmark" {
            dir.file_name()
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or(stem)
        } else {
            stem
        };
        Benchmark { name, dir, wasm }
    }

    /// The file the suite expects `stream` (stdout or stderr) to equal, if any.
    fn expected(&self, stream: &str) -> Option<String> {
        let stem = self.wasm.file_stem().unwrap_or_default().to_string_lossy();
        [
            format!("{stem}.{stream}.expected"),
            format!("default.{stream}.expected"),
        ]
        .iter()
        .find_map(|f| std::fs::read_to_string(self.dir.join(f)).ok())
    }
}

fn benchmarks(dir: &Path) -> Result<Vec<Benchmark>, String> {
    let suite = dir.join("all.suite");
    let mut out = Vec::new();
    if suite.is_file() {
        let text = std::fs::read_to_string(&suite)
            .map_err(|e| format!("cannot read {}: {e}", suite.display()))?;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let wasm = dir.join(line);
            if wasm.is_file() {
                out.push(Benchmark::new(wasm));
            } else {
                // A partial checkout (large files left out) still runs the rest.
                println!("{line}: skipped (listed in all.suite, not in the checkout)");
            }
        }
    } else {
        find_wasm(dir, 0, &mut out)?;
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    if out.is_empty() {
        return Err(format!(
            "{} has no benchmarks (no all.suite and no *.wasm below it)",
            dir.display()
        ));
    }
    Ok(out)
}

/// Every `*.wasm` and `benchmark.wat` below `dir` (a few levels deep, hidden entries left out).
fn find_wasm(dir: &Path, depth: usize, out: &mut Vec<Benchmark>) -> Result<(), String> {
    const MAX_DEPTH: usize = 4;
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if depth < MAX_DEPTH {
                find_wasm(&path, depth + 1, out)?;
            }
        } else if name.ends_with(".wasm") || name == "benchmark.wat" {
            out.push(Benchmark::new(path));
        }
    }
    Ok(())
}

/// How an engine's time is taken.
#[derive(Clone, Copy, PartialEq)]
enum Timing {
    /// Strata: between the program's `bench.start` and `bench.end` calls.
    Markers,
    /// A peer: the whole process.
    Process,
}

/// An engine of the run: its name in the table, how to start it, how it is timed.
struct Runner {
    name: String,
    timing: Timing,
    command: Box<dyn Fn(&Benchmark) -> Command>,
}

/// The run's verdict and time.
fn check(b: &Benchmark, timing: Timing, o: &Outcome) -> Result<Duration, String> {
    if !o.success() {
        return Err(o.failure_summary());
    }
    let mut ns = None;
    let mut stderr = String::new();
    for line in o.stderr.lines() {
        match line.strip_prefix("bench-markers ns=") {
            Some(n) if timing == Timing::Markers => ns = n.trim().parse::<u64>().ok(),
            _ => {
                stderr.push_str(line);
                stderr.push('\n');
            }
        }
    }
    // Line by line, as Sightglass compares (a missing final newline is no difference).
    let same = |want: &str, have: &str| want.lines().eq(have.lines());
    if let Some(want) = b.expected("stdout") {
        if !same(&want, &o.stdout) {
            return Err("stdout differs from the expected output".into());
        }
    }
    if let Some(want) = b.expected("stderr") {
        if !same(&want, &stderr) {
            return Err("stderr differs from the expected output".into());
        }
    }
    match timing {
        Timing::Process => Ok(o.wall),
        Timing::Markers => ns
            .map(Duration::from_nanos)
            .ok_or_else(|| "no bench.start/bench.end pair was called".into()),
    }
}

/// The `bench` module a peer preloads: `start` and `end` that do nothing.
const MARKERS_WAT: &str = r#"(module (func (export "start")) (func (export "end")))"#;

/// The engines to run, in order: Strata's tiers (timed by the markers) and the peers that
/// can take the markers (wasmtime with Cranelift or Winch: timed by the markers through
/// `wasmtime-py.py`, as whole processes through the CLI). An
/// engine that is not installed or cannot run the suite is reported and left out.
fn runners(kinds: &[EngineKind], loc: &Locations) -> Result<Vec<Runner>, String> {
    let mut out = Vec::new();
    let mut markers_file = None;
    for kind in kinds {
        let engine = Engine::locate(kind.clone(), loc);
        let launcher = match &engine.launcher {
            Ok(l) => l.clone(),
            Err(why) => {
                println!("{}: skipped ({why})", engine.name);
                continue;
            }
        };
        let (timing, extra) = match kind {
            EngineKind::Strata(_) => (Timing::Markers, Vec::new()),
            // The wrapper defines `bench.start`/`bench.end` and reports their interval.
            EngineKind::Wasmtime | EngineKind::WasmtimeWinch if engine.wasmtime_py => {
                (Timing::Markers, Vec::new())
            }
            EngineKind::Wasmtime | EngineKind::WasmtimeWinch => {
                let preload = match &markers_file {
                    Some(p) => PathBuf::clone(p),
                    None => {
                        let bytes = wat::parse_str(MARKERS_WAT).map_err(|e| e.to_string())?;
                        let p = std::env::temp_dir().join(format!(
                            "strata-sightglass-bench-{}.wasm",
                            std::process::id()
                        ));
                        std::fs::write(&p, bytes)
                            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
                        markers_file = Some(p.clone());
                        p
                    }
                };
                let preload: OsString = format!("bench={}", preload.display()).into();
                (Timing::Process, vec!["--preload".into(), preload])
            }
            _ => {
                println!(
                    "{}: skipped (only wasmtime can be given the bench.start/bench.end markers)",
                    engine.name
                );
                continue;
            }
        };
        out.push(Runner {
            name: engine.name.clone(),
            timing,
            command: Box::new(move |b| {
                let mut cmd = Command::new(&launcher.exe);
                // The benchmark runs in its own directory: name its file from there.
                cmd.args(&launcher.args)
                    .args(["--dir", "."])
                    .args(&extra)
                    .arg(b.wasm.file_name().unwrap_or_default())
                    .current_dir(&b.dir);
                cmd
            }),
        });
    }
    Ok(out)
}

/// Runs the suite; the exit status is 1 when a benchmark failed on some engine.
pub fn main(
    dir: &Path,
    engines: &[EngineKind],
    loc: &Locations,
    runs: usize,
    timeout: Duration,
) -> Result<ExitCode, String> {
    let suite = benchmarks(dir)?;
    let runners = runners(engines, loc)?;
    println!(
        "{:<32} {:<16} {:>12}  {:<8} status",
        "benchmark", "engine", "ms", "timing"
    );
    let mut failed = 0;
    for b in &suite {
        for r in &runners {
            let mut times = Vec::new();
            let mut error = None;
            for _ in 0..runs.max(1) {
                match check(b, r.timing, &process::run((r.command)(b), timeout)) {
                    Ok(t) => times.push(t),
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            let timing = match r.timing {
                Timing::Markers => "markers",
                Timing::Process => "process",
            };
            match error {
                None => {
                    times.sort();
                    let median = times[times.len() / 2];
                    println!(
                        "{:<32} {:<16} {:>12.3}  {timing:<8} ok",
                        b.name,
                        r.name,
                        median.as_secs_f64() * 1e3
                    );
                }
                Some(e) => {
                    failed += 1;
                    println!(
                        "{:<32} {:<16} {:>12}  {timing:<8} FAILED: {e}",
                        b.name, r.name, "-"
                    );
                }
            }
        }
    }
    let total = suite.len() * runners.len();
    println!(
        "{} of {total} benchmark runs correct ({} benchmarks x {} engines); times are medians of {runs}",
        total - failed,
        suite.len(),
        runners.len()
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
