//! `strata bench`: runs benchmark programs on Strata's tiers and on peer engines, checks
//! their checksums and reports median/min/max wall time and ratios to a reference engine.
//!
//! * [`engines`] knows the engines, how each is found and run (every run is a subprocess);
//! * [`programs`] finds programs, their sizes and expected checksums, builds native ones;
//! * [`process`] runs one subprocess with a timeout;
//! * [`runner`] is the round-robin measurement loop and checks checksums;
//! * [`stats`] has median, min, max and geomean;
//! * [`report`] writes the table, CSV and JSON, [`plot`] the SVG chart;
//! * [`compile_speed`] implements `--compile-speed`;
//! * [`split`] reads the train/test manifest (`benches/corpus/SPLIT`) for `--set`.
//!
//! Exit status: 0 when every run that ran was correct, 1 when any crashed, timed out or
//! printed a wrong checksum, 2 for a bad command line or missing input.

pub mod compile_speed;
pub mod engines;
pub mod plot;
pub mod process;
pub mod programs;
pub mod report;
pub mod runner;
pub mod sightglass;
pub mod split;
pub mod stats;

use clap::{Args, ValueEnum};
use engines::{Engine, EngineKind, Locations, ALL_PEERS};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Which part of a run is timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Phase {
    /// Decoding, validation and (eager) compilation, as the engine reports it.
    Compile,
    /// Instantiation (imports, memories, data segments), as the engine reports it.
    Instantiate,
    /// The call of `_start` (or the invoked function), as the engine reports it.
    Execute,
    /// Whole-process wall time, measured by the runner.
    Total,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Compile => "compile",
            Phase::Instantiate => "instantiate",
            Phase::Execute => "execute",
            Phase::Total => "total",
        }
    }

    /// This phase's time from an engine's `phase-times` line.
    pub fn pick(self, t: &engines::PhaseTimes) -> Option<u64> {
        match self {
            Phase::Compile => t.compile_ns,
            Phase::Instantiate => t.instantiate_ns,
            Phase::Execute => t.execute_ns,
            Phase::Total => None,
        }
    }
}

/// `strata bench`: compare Strata's tiers with peer engines on benchmark programs.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Strata tiers, comma-separated (e.g. interp,baseline); unavailable ones are reported
    /// as skipped; `none` for no Strata tier.
    #[arg(long, value_delimiter = ',', default_value = "interp,baseline,tiered")]
    pub tier: Vec<String>,
    /// Tiering policies to sweep, each run as `strata run --tier tiered --tiering POLICY`
    /// and reported as engine `strata:tiered@POLICY`: comma-separated, e.g.
    /// `--tiering interp,baseline,counters:call=10,loop=150,random:1` (a part that does not
    /// start with a policy name, like `loop=150`, belongs to the policy before it).
    #[arg(long, value_name = "POLICY,...")]
    pub tiering: Vec<String>,
    /// Mid-end switches of the optimizing tier to sweep (repeatable): each `--tier` runs
    /// once per value, as engine `strata:TIER/egraph=SWITCHES` (`strata run --egraph
    /// SWITCHES`), e.g. `--egraph on --egraph off --egraph no-arith`. `+` joins switches of
    /// one value (`no-arith+no-bits`). interp and baseline run once.
    #[arg(long, value_name = "SWITCHES")]
    pub egraph: Vec<String>,
    /// Peer engines, comma-separated: native, wasmi-eager, wasmi-lazy, wasmtime,
    /// wasmtime-winch, node, node-liftoff, node-turbofan (also strata:<tier>), `all` or
    /// `none`. Engines that are not installed are reported once as skipped.
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub engine: Vec<String>,
    /// Timed runs per program and engine.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Untimed runs before the timed ones (their checksums are still checked).
    #[arg(long, default_value_t = 0)]
    pub warmup: usize,
    /// What to time: total is whole-process wall time; the others come from the engines'
    /// own `phase-times` report (engines that cannot report it are skipped).
    #[arg(long, value_enum, default_value_t = Phase::Total)]
    pub phase: Phase,
    /// The engine ratios are relative to (default: wasmi if present, else the first engine).
    #[arg(long)]
    pub reference: Option<String>,
    /// Where to write the results (default: benches/results).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Multiplies every program's default size (rounded, at least 1). Checksums of scaled
    /// sizes are compared between engines instead of against expected.txt.
    #[arg(long, default_value_t = 1.0)]
    pub size_scale: f64,
    /// An exact size for one program, NAME=N (repeatable; not scaled).
    #[arg(long = "size", value_name = "NAME=N")]
    pub sizes: Vec<String>,
    /// Seconds after which one run is killed and reported as a timeout.
    #[arg(long, default_value_t = 600.0)]
    pub timeout: f64,
    /// Measure compile speed (MB/s of code) instead of running the programs.
    #[arg(long)]
    pub compile_speed: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Run a checkout of the Sightglass benchmarks (DIR/NAME/benchmark.wasm) on the --tier
    /// tiers instead: checks each one's output against its *.expected files and reports the
    /// time between its bench.start and bench.end calls.
    #[arg(long, value_name = "DIR")]
    pub sightglass: Option<PathBuf>,
    /// Run the programs of this set of benches/corpus/SPLIT (train, test or all) and report
    /// each set apart, with its own geomeans. Without PROGRAMS the default is all (or
    /// benches/programs when there is no manifest); not combined with PROGRAMS.
    #[arg(long, value_enum)]
    pub set: Option<split::SetChoice>,
    /// .wasm/.wat files or directories of them (default: the programs of --set).
    pub programs: Vec<PathBuf>,
}

/// A usage error: printed, exit status 2.
struct Usage(String);

pub fn main(args: BenchArgs) -> ExitCode {
    match run(args) {
        Ok(code) => code,
        Err(Usage(msg)) => {
            eprintln!("strata bench: {msg}");
            ExitCode::from(2)
        }
    }
}

fn is_root(dir: &Path) -> bool {
    dir.join("Cargo.toml").is_file() && dir.join("benches").is_dir()
}

/// The workspace root: the nearest ancestor of the current directory, else of this
/// executable, with `Cargo.toml` and `benches/`; else the current directory.
fn find_root(exe: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .chain(exe.ancestors())
        .find(|d| is_root(d))
        .map(Path::to_path_buf)
        .unwrap_or(cwd)
}

/// The cargo target directory: where this executable was built, else `$CARGO_TARGET_DIR`,
/// else `<root>/target`.
fn find_target(exe: &Path, root: &Path) -> PathBuf {
    if let Some(dir) = exe.parent() {
        if matches!(
            dir.file_name().and_then(|n| n.to_str()),
            Some("release") | Some("debug")
        ) {
            if let Some(t) = dir.parent() {
                return t.to_path_buf();
            }
        }
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) => root.join(t),
        None => root.join("target"),
    }
}

/// The engines asked for, in order: tiers first, then `--engine` (duplicates dropped).
pub fn select_engines(tiers: &[String], peers: &[String]) -> Result<Vec<EngineKind>, String> {
    let mut kinds: Vec<EngineKind> = Vec::new();
    let mut add = |k: EngineKind| {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    };
    for t in tiers.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        if t != "none" {
            add(EngineKind::Strata(t.to_string()));
        }
    }
    for p in peers.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        match p {
            "none" => {}
            "all" => ALL_PEERS
                .iter()
                .for_each(|n| add(EngineKind::parse(n).expect("known peer"))),
            _ => add(EngineKind::parse(p)?),
        }
    }
    if kinds.is_empty() {
        return Err("no engines selected (see --tier and --engine)".into());
    }
    Ok(kinds)
}

/// Each tier once per `--egraph` value (`TIER/egraph=SWITCHES`; `on` and the empty value
/// are the tier itself), or the tiers as given without `--egraph`. `none`, `interp` and
/// `baseline` (which never run the mid-end) stay as they are.
pub fn egraph_variants(tiers: &[String], egraph: &[String]) -> Vec<String> {
    if egraph.is_empty() {
        return tiers.to_vec();
    }
    let mut out = Vec::new();
    for t in tiers {
        // The interpreter and the baseline never run the mid-end: measured once.
        if matches!(t.trim(), "none" | "interp" | "baseline") {
            out.push(t.clone());
            continue;
        }
        for e in egraph {
            let e = e.trim().replace(',', "+");
            if e.is_empty() || e == "on" {
                out.push(t.clone());
            } else {
                out.push(format!("{}/egraph={e}", t.trim()));
            }
        }
    }
    out
}

/// Splits `--tiering` lists: a new policy starts at every part that begins with a policy's
/// name; other parts (`loop=150`, `sync`, `max=baseline`) continue the policy before them.
pub fn split_policies(list: &str) -> Result<Vec<String>, String> {
    const NAMES: [&str; 7] = [
        "interp", "baseline", "counters", "budget", "random", "jsc", "v8",
    ];
    let mut out: Vec<String> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let name = part.split(':').next().unwrap_or(part);
        if NAMES.contains(&name) {
            out.push(part.to_string());
        } else {
            match out.last_mut() {
                Some(p) => {
                    p.push(',');
                    p.push_str(part);
                }
                None => return Err(format!("--tiering: `{part}` is not a policy")),
            }
        }
    }
    for p in &out {
        strata::tiering::parse_policy(p).map_err(|e| format!("--tiering {p}: {e}"))?;
    }
    Ok(out)
}

fn parse_sizes(specs: &[String]) -> Result<std::collections::HashMap<String, u64>, String> {
    specs
        .iter()
        .map(|s| {
            let (name, n) = s
                .split_once('=')
                .ok_or_else(|| format!("--size {s}: expected NAME=N"))?;
            let n = n
                .parse::<u64>()
                .map_err(|_| format!("--size {s}: `{n}` is not a non-negative integer"))?;
            Ok((name.to_string(), n))
        })
        .collect()
}

/// The reference engine: `--reference` (which must be selected), else the first wasmi
/// engine, else the first engine; only available ones.
fn choose_reference(asked: Option<&str>, engines: &[Engine]) -> Result<Option<String>, String> {
    if let Some(name) = asked {
        let kind = EngineKind::parse(name)?;
        let Some(e) = engines.iter().find(|e| e.kind == kind) else {
            return Err(format!(
                "--reference {name}: not among the selected engines ({})",
                engines
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        if e.is_available() {
            return Ok(Some(e.name.clone()));
        }
        eprintln!("strata bench: reference {name} is not available; using the default");
    }
    Ok(engines
        .iter()
        .filter(|e| e.is_available())
        .find(|e| e.kind.is_wasmi())
        .or_else(|| engines.iter().find(|e| e.is_available()))
        .map(|e| e.name.clone()))
}

fn run(args: BenchArgs) -> Result<ExitCode, Usage> {
    if args.runs == 0 {
        return Err(Usage("--runs must be at least 1".into()));
    }
    if !(args.size_scale.is_finite() && args.size_scale > 0.0) {
        return Err(Usage("--size-scale must be a positive number".into()));
    }
    if !(args.timeout.is_finite() && args.timeout > 0.0) {
        return Err(Usage(
            "--timeout must be a positive number of seconds".into(),
        ));
    }
    let mut tiers = egraph_variants(&args.tier, &args.egraph);
    for list in &args.tiering {
        let policies = split_policies(list).map_err(Usage)?;
        tiers.extend(policies.into_iter().map(|p| format!("tiered@{p}")));
    }
    let kinds = select_engines(&tiers, &args.engine).map_err(Usage)?;
    let overrides = parse_sizes(&args.sizes).map_err(Usage)?;

    let exe = std::env::current_exe()
        .map_err(|e| Usage(format!("cannot find the strata executable: {e}")))?;
    let root = find_root(&exe);
    let loc = Locations {
        target: find_target(&exe, &root),
        root: root.clone(),
        strata: exe,
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("benches/results"));
    if let Some(dir) = &args.sightglass {
        // The default `all` means the peers that can run the suite: wasmtime's two compilers.
        let mut engines = kinds.clone();
        if args.engine == ["all"] {
            engines.retain(|k| {
                matches!(
                    k,
                    EngineKind::Strata(_) | EngineKind::Wasmtime | EngineKind::WasmtimeWinch
                )
            });
        }
        return sightglass::main(
            dir,
            &engines,
            &loc,
            args.runs,
            Duration::from_secs_f64(args.timeout),
        )
        .map_err(Usage);
    }
    let (inputs, sets) = split::inputs(&root, args.set, &args.programs).map_err(Usage)?;
    let files = programs::collect_files(&inputs).map_err(Usage)?;
    let sizes = programs::SizeOptions {
        scale: args.size_scale,
        overrides,
    };
    let mut progs = programs::load(&files, &out.join("wasm"), &sizes).map_err(Usage)?;

    let engines: Vec<Engine> = kinds.into_iter().map(|k| Engine::locate(k, &loc)).collect();
    let reference = choose_reference(args.reference.as_deref(), &engines).map_err(Usage)?;
    let log = |m: &str| {
        if !args.quiet {
            eprintln!("{m}");
        }
    };
    if !args.compile_speed {
        if let Some(clang) = engines
            .iter()
            .find(|e| e.kind == EngineKind::Native)
            .and_then(|e| e.launcher.as_ref().ok())
        {
            programs::build_native(&mut progs, &clang.exe, &out.join("native"), &log);
        }
    }
    let timeout = Duration::from_secs_f64(args.timeout);

    if args.compile_speed {
        let rows = compile_speed::measure(
            &progs,
            &engines,
            args.runs,
            timeout,
            &out.join("wasm"),
            args.quiet,
        );
        out_text(&compile_speed::table(&rows, args.runs));
        match compile_speed::write(&rows, args.runs, &out) {
            Ok(paths) => print_written(&paths),
            Err(e) => {
                eprintln!("strata bench: {e}");
                return Ok(ExitCode::FAILURE);
            }
        }
        let failed = rows.iter().any(|r| r.status.is_error());
        return Ok(if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }

    let settings = runner::Settings {
        runs: args.runs,
        warmup: args.warmup,
        phase: args.phase,
        timeout,
        quiet: args.quiet,
    };
    let cells = runner::measure(&progs, &engines, &settings);
    let meta = || report::Meta {
        phase: args.phase.name().into(),
        runs: args.runs,
        warmup: args.warmup,
        size_scale: args.size_scale,
        timeout_s: args.timeout,
    };
    let rep = report::Report::new(meta(), &progs, &engines, &cells, reference.as_deref());
    let set_reports = sets.as_deref().map_or_else(Vec::new, |sets| {
        split::reports(&meta, &progs, &engines, &cells, reference.as_deref(), sets)
    });
    let table = report::table(&rep) + &split::tables(&set_reports);
    out_text(&table);

    let stem = match args.phase {
        Phase::Total => "bench".to_string(),
        p => format!("bench-{}", p.name()),
    };
    let mut written = Vec::new();
    let mut write_failed = false;
    let svg = plot::svg(&rep);
    let mut outputs = vec![
        (format!("{stem}.txt"), Ok(table)),
        (format!("{stem}.csv"), Ok(report::csv(&rep))),
        (format!("{stem}.json"), Ok(report::json(&rep))),
        (format!("{stem}.svg"), svg),
    ];
    // each set's rows and geomeans on their own, for the claims made on `test`
    outputs.extend(set_reports.iter().map(|s| {
        (
            format!("{stem}-{}.json", s.set.name()),
            Ok(report::json(&s.report)),
        )
    }));
    for (name, text) in outputs {
        match text.and_then(|t| report::write_file(&out, &name, &t)) {
            Ok(p) => written.push(p),
            Err(e) => {
                eprintln!("strata bench: {e}");
                write_failed = true;
            }
        }
    }
    print_written(&written);
    Ok(if rep.has_errors() || write_failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints to stdout, ignoring a closed pipe (`strata bench | head`).
fn out_text(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn print_written(paths: &[PathBuf]) {
    if !paths.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        out_text(&format!("wrote {}\n", names.join(", ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egraph_switches_multiply_the_tiers() {
        let tiers = vec!["opt".to_string(), "baseline".to_string()];
        assert_eq!(egraph_variants(&tiers, &[]), tiers);
        let got = egraph_variants(
            &tiers,
            &["on".into(), "off".into(), "no-arith,no-bits".into()],
        );
        assert_eq!(
            got,
            [
                "opt",
                "opt/egraph=off",
                "opt/egraph=no-arith+no-bits",
                "baseline"
            ]
        );
        assert_eq!(
            engines::split_egraph("opt/egraph=no-arith+no-bits"),
            ("opt", Some("no-arith,no-bits".to_string()))
        );
        assert_eq!(engines::split_egraph("opt"), ("opt", None));
    }

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn engine_selection() {
        let k = select_engines(
            &v(&["interp", "opt"]),
            &v(&["native", "wasmtime", "native"]),
        )
        .unwrap();
        let names: Vec<String> = k.iter().map(EngineKind::name).collect();
        assert_eq!(names, ["strata:interp", "strata:opt", "native", "wasmtime"]);
        assert_eq!(
            select_engines(&v(&["none"]), &v(&["all"])).unwrap().len(),
            ALL_PEERS.len()
        );
        assert!(select_engines(&v(&["none"]), &v(&["none"])).is_err());
        assert!(select_engines(&v(&["interp"]), &v(&["spidermonkey"])).is_err());
    }

    #[test]
    fn tiering_lists_split_at_policy_names() {
        assert_eq!(
            split_policies("interp,counters:call=1,loop=1,sync,random:3,budget:500,max=baseline")
                .unwrap(),
            v(&[
                "interp",
                "counters:call=1,loop=1,sync",
                "random:3",
                "budget:500,max=baseline"
            ])
        );
        // The presets, and three-level counters with their opt thresholds.
        assert_eq!(
            split_policies("jsc,v8,no-osr,counters:call=10,loop=150,opt-call=100,opt-loop=5000")
                .unwrap(),
            v(&[
                "jsc",
                "v8,no-osr",
                "counters:call=10,loop=150,opt-call=100,opt-loop=5000"
            ])
        );
        assert!(split_policies("loop=1").is_err());
        assert!(split_policies("counters:speed=2").is_err());
    }

    #[test]
    fn size_overrides() {
        assert_eq!(parse_sizes(&v(&["fib=30"])).unwrap()["fib"], 30);
        assert!(parse_sizes(&v(&["fib"])).is_err());
        assert!(parse_sizes(&v(&["fib=-1"])).is_err());
    }
}
