//! `strata bench --compile-speed`: how fast each engine turns code into something runnable,
//! in MB/s of function-body bytes (the code section's bodies, summed) and ns per byte.
//!
//! * `strata:interp` is measured in this process, on one thread: `strata::Module::new`
//!   (decoding and validation), then the interpreter's translation of every function
//!   (`InterpModule::translate_all`), timed separately. Instantiation (with WASI imports) and
//!   the translation of the entry function are timed too, giving the time to first
//!   instruction: `Module::new` + instantiate + translating the entry function (the
//!   interpreter translates every other function on its first call).
//! * `strata:baseline` / `strata:opt`: in this process on one thread, `strata::Module::new`
//!   (decoding and validation), then every defined function compiled to machine code as
//!   `strata compile --tier baseline|opt` does (`BaselineModule::compile`, or
//!   `opt::function_code` per function: IR, mid-end, regalloc2, emission; not published).
//!   A function the optimizing tier cannot compile makes the row a failure, not a faster one.
//! * `wasmi-eager` / `wasmi-lazy`: `strata-peer-wasmi --compile-only` reports `Module::new`'s
//!   time (eager = full translation; lazy defers validation and translation).
//! * `node*`: the node wrapper's `--compile-only` with `--no-wasm-lazy-compilation` times
//!   `new WebAssembly.Module` (Liftoff for `node`/`node-liftoff`, TurboFan for `node-turbofan`).
//! * `wasmtime*` through `benches/peers/wasmtime-py.py` (no `wasmtime` binary on `$PATH`): its
//!   `--compile-only` times `Module::new` with parallel compilation off, on one thread.
//! * `wasmtime*` through the CLI: `wasmtime compile` has no in-process timer, so its
//!   whole-process time minus that of compiling an empty module is used ("process delta").

use super::engines::{self, Engine, EngineKind};
use super::process::{self, Exit};
use super::programs::Program;
use super::report::{self, fmt_secs, json_num, json_opt_str, json_str};
use super::runner::Status;
use super::stats::{median, Summary};
use crate::wasi;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata::InterpMode;

/// Timings of one in-process Strata compile, in seconds.
#[derive(Clone, Copy, Debug, Default)]
struct StrataSample {
    validate: f64,
    translate: f64,
    instantiate: Option<f64>,
    entry_translate: Option<f64>,
}

/// One (program, engine) result.
#[derive(Clone, Debug)]
pub struct SpeedRow {
    pub program: String,
    pub engine: String,
    pub status: Status,
    pub method: &'static str,
    pub code_bytes: Option<usize>,
    /// Full compile time (Strata: validate + translate).
    pub compile: Option<Summary>,
    pub validate: Option<Summary>,
    pub translate: Option<Summary>,
    pub instantiate: Option<Summary>,
    /// Time to first instruction (Strata only).
    pub ttfi: Option<Summary>,
}

impl SpeedRow {
    pub fn mb_per_s(&self) -> Option<f64> {
        let (b, c) = (self.code_bytes?, self.compile?.median);
        (c > 0.0).then(|| b as f64 / c / 1e6)
    }

    pub fn ns_per_byte(&self) -> Option<f64> {
        let (b, c) = (self.code_bytes?, self.compile?.median);
        (b > 0).then(|| c * 1e9 / b as f64)
    }
}

#[derive(Default)]
struct Cell {
    compile: Vec<f64>,
    validate: Vec<f64>,
    translate: Vec<f64>,
    instantiate: Vec<f64>,
    ttfi: Vec<f64>,
    status: Option<Status>,
}

fn method(e: &Engine) -> &'static str {
    match e.kind {
        EngineKind::Strata(_) => "in-process",
        EngineKind::Wasmtime | EngineKind::WasmtimeWinch if !e.wasmtime_py => "process delta",
        EngineKind::Native => "-",
        _ => "peer timer",
    }
}

/// Measures every (program, engine) pair `runs` times, round-robin.
pub fn measure(
    programs: &[Program],
    engines: &[Engine],
    runs: usize,
    timeout: Duration,
    scratch: &Path,
    quiet: bool,
) -> Vec<SpeedRow> {
    // Per-engine fixed cost of `wasmtime compile` (process start, engine set-up).
    let empty = scratch.join("empty.wasm");
    let empty_ok = std::fs::create_dir_all(scratch).is_ok()
        && std::fs::write(&empty, b"\0asm\x01\0\0\0").is_ok();
    let baselines: Vec<Option<f64>> = engines
        .iter()
        .map(|e| match e.kind {
            EngineKind::Wasmtime | EngineKind::WasmtimeWinch if empty_ok && !e.wasmtime_py => {
                let times: Vec<f64> = (0..runs.max(3))
                    .filter_map(|_| {
                        let o = process::run(e.compile_command(&empty)?, timeout);
                        o.success().then_some(o.wall.as_secs_f64())
                    })
                    .collect();
                median(&times)
            }
            _ => None,
        })
        .collect();

    let mut rows = Vec::new();
    for (pi, p) in programs.iter().enumerate() {
        if !quiet {
            eprintln!("[{}/{}] {}", pi + 1, programs.len(), p.name);
        }
        let bytes = std::fs::read(&p.wasm).map_err(|e| e.to_string());
        let mut cells: Vec<Cell> = engines
            .iter()
            .map(|e| Cell {
                status: applicable(e, &bytes).err(),
                ..Cell::default()
            })
            .collect();
        for _ in 0..runs {
            for ((e, cell), base) in engines.iter().zip(cells.iter_mut()).zip(&baselines) {
                if cell.status.is_some() {
                    continue;
                }
                match &e.kind {
                    EngineKind::Strata(tier) => {
                        let Ok(bytes) = &bytes else { continue };
                        let sample = match tier.as_str() {
                            "interp" => strata_once(bytes, p),
                            jit => jit_once(bytes, jit),
                        };
                        match sample {
                            Ok(s) => {
                                cell.validate.push(s.validate);
                                cell.translate.push(s.translate);
                                cell.compile.push(s.validate + s.translate);
                                if let Some(i) = s.instantiate {
                                    cell.instantiate.push(i);
                                    if let Some(t) = s.entry_translate {
                                        cell.ttfi.push(s.validate + i + t);
                                    }
                                }
                            }
                            Err(e) => cell.status = Some(Status::Failed(e)),
                        }
                    }
                    _ => peer_once(e, p, *base, timeout, cell),
                }
            }
        }
        for (e, cell) in engines.iter().zip(cells) {
            if !e.is_available() || e.kind == EngineKind::Native {
                continue;
            }
            let row = SpeedRow {
                program: p.name.clone(),
                engine: e.name.clone(),
                status: cell.status.unwrap_or(Status::Unchecked),
                method: method(e),
                code_bytes: p.code_bytes,
                compile: Summary::of(&cell.compile),
                validate: Summary::of(&cell.validate),
                translate: Summary::of(&cell.translate),
                instantiate: Summary::of(&cell.instantiate),
                ttfi: Summary::of(&cell.ttfi),
            };
            if !quiet {
                let what = match (&row.compile, row.status.is_error()) {
                    (Some(c), false) => format!("{} compile", fmt_secs(c.median)),
                    _ => row.status.label(),
                };
                eprintln!("      {:<16} {what}", e.name);
            }
            rows.push(row);
        }
    }
    rows
}

/// The Strata tiers measured in this process.
const IN_PROCESS_TIERS: &[&str] = &["interp", "baseline", "opt"];

/// `Err(status)` when the engine is not measured for this program.
fn applicable(e: &Engine, bytes: &Result<Vec<u8>, String>) -> Result<(), Status> {
    if let Err(why) = &e.launcher {
        return Err(Status::Skipped(why.clone()));
    }
    if let Err(why) = bytes {
        return Err(Status::Failed(format!("cannot read the module: {why}")));
    }
    match &e.kind {
        EngineKind::Strata(t) if !IN_PROCESS_TIERS.contains(&t.as_str()) => Err(Status::Skipped(
            format!("no in-process compile measurement for tier `{t}`"),
        )),
        EngineKind::Native => Err(Status::Skipped("not a wasm engine".into())),
        _ => Ok(()),
    }
}

fn peer_once(e: &Engine, p: &Program, base: Option<f64>, timeout: Duration, cell: &mut Cell) {
    let Some(cmd) = e.compile_command(&p.wasm) else {
        cell.status = Some(Status::Skipped("no compile-only mode".into()));
        return;
    };
    let o = process::run(cmd, timeout);
    match o.exit {
        Exit::Code(0) => {}
        Exit::Timeout => {
            cell.status = Some(Status::Timeout);
            return;
        }
        _ => {
            cell.status = Some(Status::Failed(o.failure_summary()));
            return;
        }
    }
    let secs = match e.kind {
        EngineKind::Wasmtime | EngineKind::WasmtimeWinch if !e.wasmtime_py => match base {
            Some(b) => (o.wall.as_secs_f64() - b).max(0.0),
            None => {
                cell.status = Some(Status::Skipped("no baseline process time".into()));
                return;
            }
        },
        _ => match engines::phase_times(&o.stderr).and_then(|t| t.compile_ns) {
            Some(ns) => ns as f64 * 1e-9,
            None => {
                cell.status = Some(Status::Skipped("no compile_ns reported".into()));
                return;
            }
        },
    };
    cell.compile.push(secs);
}

/// One in-process compile with a JIT tier (`baseline` or `opt`), on this thread:
/// validation, then machine code for every defined function (not published).
fn jit_once(bytes: &[u8], tier: &str) -> Result<StrataSample, String> {
    let engine = strata::Engine::new(strata::Config::default().tier(strata::Tier::Interp))
        .map_err(|e| e.to_string())?;
    let bounds = strata::BoundsChecks::default();
    let t0 = Instant::now();
    let module = strata::Module::new(&engine, bytes).map_err(|e| format!("compile error: {e}"))?;
    let validate = t0.elapsed().as_secs_f64();
    let env = module.env();
    let t1 = Instant::now();
    if tier == "opt" {
        let mut failed = 0usize;
        let mut first = None;
        for d in 0..env.num_defined_funcs() as u32 {
            if let Err(e) = strata_tiers::opt::function_code(env, d, bounds) {
                failed += 1;
                first.get_or_insert(e);
            }
        }
        if let Some(e) = first {
            return Err(format!(
                "{failed} function(s) not compiled by opt (first: {e})"
            ));
        }
    } else {
        strata_tiers::baseline::BaselineModule::compile(env, bounds)
            .map_err(|e| format!("baseline compile failed: {e}"))?;
    }
    Ok(StrataSample {
        validate,
        translate: t1.elapsed().as_secs_f64(),
        instantiate: None,
        entry_translate: None,
    })
}

/// One in-process compile with the interpreter tier.
fn strata_once(bytes: &[u8], p: &Program) -> Result<StrataSample, String> {
    let engine = strata::Engine::new(strata::Config::default().tier(strata::Tier::Interp))
        .map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let module = strata::Module::new(&engine, bytes).map_err(|e| format!("compile error: {e}"))?;
    let validate = t0.elapsed().as_secs_f64();

    // Instantiation, with WASI imports as `strata run` would link them.
    let t1 = Instant::now();
    let mut store = strata::Store::new(&engine);
    let mut imports = strata::Imports::new();
    let mut argv = vec![p.wasm.display().to_string().into_bytes()];
    argv.extend(p.args.iter().map(|a| a.clone().into_bytes()));
    let ctx = Arc::new(Mutex::new(wasi::WasiCtx::new(argv, Vec::new())));
    wasi::add_to_imports(&mut store, &mut imports, &module, &ctx);
    let instantiate = strata::Instance::new(&mut store, &module, &imports)
        .ok()
        .map(|_| t1.elapsed().as_secs_f64());

    // The entry function, translated alone (not cached), as the first call would.
    let env = module.env();
    let entry_name = p.invoke.as_deref().unwrap_or("_start");
    let entry_translate = env
        .exports
        .iter()
        .find(|x| x.name == entry_name)
        .filter(|_| {
            module
                .exports()
                .iter()
                .any(|x| x.name == entry_name && matches!(x.ty, strata::ExternType::Func(_)))
        })
        .and_then(|x| x.index.checked_sub(env.num_imported_funcs))
        .and_then(|def| {
            let t = Instant::now();
            strata_tiers::interp::translate(env, def as usize, InterpMode::default()).ok()?;
            Some(t.elapsed().as_secs_f64())
        });

    let t2 = Instant::now();
    strata_tiers::interp::InterpModule::of(env, InterpMode::default())
        .translate_all(env)
        .map_err(|e| format!("translation failed: {e}"))?;
    let translate = t2.elapsed().as_secs_f64();
    Ok(StrataSample {
        validate,
        translate,
        instantiate,
        entry_translate,
    })
}

fn ms(s: Option<&Summary>) -> String {
    s.map_or("-".into(), |s| format!("{:.2}", s.median * 1e3))
}

/// The compile-speed table.
pub fn table(rows: &[SpeedRow], runs: usize) -> String {
    let mut out = format!(
        "compile speed: median of {runs} run(s); MB/s and ns/byte of function-body bytes; \
         times in ms; ttfi = time to first instruction\n"
    );
    let header = [
        "program",
        "engine",
        "code KB",
        "compile",
        "MB/s",
        "ns/byte",
        "validate",
        "translate",
        "instantiate",
        "ttfi",
        "method",
        "status",
    ];
    let header: Vec<String> = header.iter().map(|s| s.to_string()).collect();
    let mut last = "";
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let program = if r.program == last {
                String::new()
            } else {
                r.program.clone()
            };
            last = &r.program;
            vec![
                program,
                r.engine.clone(),
                r.code_bytes
                    .map_or("-".into(), |b| format!("{:.1}", b as f64 / 1024.0)),
                ms(r.compile.as_ref()),
                r.mb_per_s().map_or("-".into(), |v| format!("{v:.1}")),
                r.ns_per_byte().map_or("-".into(), |v| format!("{v:.1}")),
                ms(r.validate.as_ref()),
                ms(r.translate.as_ref()),
                ms(r.instantiate.as_ref()),
                ms(r.ttfi.as_ref()),
                r.method.to_string(),
                if r.status == Status::Unchecked {
                    "ok".into()
                } else {
                    r.status.label()
                },
            ]
        })
        .collect();
    out.push_str(&report::render(&header, &body, 2, 2));
    out
}

fn secs(s: Option<&Summary>) -> Option<f64> {
    s.map(|s| s.median)
}

pub fn csv(rows: &[SpeedRow]) -> String {
    let mut out = String::from(
        "program,engine,status,method,code_bytes,compile_s,mb_per_s,ns_per_byte,validate_s,translate_s,instantiate_s,ttfi_s\n",
    );
    let n = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            r.program,
            r.engine,
            r.status.code(),
            r.method,
            r.code_bytes.map_or(String::new(), |b| b.to_string()),
            n(secs(r.compile.as_ref())),
            n(r.mb_per_s()),
            n(r.ns_per_byte()),
            n(secs(r.validate.as_ref())),
            n(secs(r.translate.as_ref())),
            n(secs(r.instantiate.as_ref())),
            n(secs(r.ttfi.as_ref())),
        );
    }
    out
}

pub fn json(rows: &[SpeedRow], runs: usize) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "    {{\"program\": {}, \"engine\": {}, \"status\": {}, \"detail\": {}, \"method\": {}, \
                 \"code_bytes\": {}, \"compile_s\": {}, \"mb_per_s\": {}, \"ns_per_byte\": {}, \
                 \"validate_s\": {}, \"translate_s\": {}, \"instantiate_s\": {}, \"ttfi_s\": {}}}",
                json_str(&r.program),
                json_str(&r.engine),
                json_str(r.status.code()),
                json_str(&r.status.label()),
                json_str(r.method),
                r.code_bytes.map_or("null".into(), |b| b.to_string()),
                json_num(secs(r.compile.as_ref())),
                json_num(r.mb_per_s()),
                json_num(r.ns_per_byte()),
                json_num(secs(r.validate.as_ref())),
                json_num(secs(r.translate.as_ref())),
                json_num(secs(r.instantiate.as_ref())),
                json_num(secs(r.ttfi.as_ref())),
            )
        })
        .collect();
    format!(
        "{{\n  \"kind\": \"compile-speed\",\n  \"runs\": {runs},\n  \"unit\": {},\n  \"results\": [\n{}\n  ]\n}}\n",
        json_opt_str(Some("seconds; MB = 1e6 bytes of function bodies")),
        items.join(",\n")
    )
}

/// Writes `compile-speed.{txt,csv,json}` into `dir`.
pub fn write(
    rows: &[SpeedRow],
    runs: usize,
    dir: &Path,
) -> Result<Vec<std::path::PathBuf>, String> {
    Ok(vec![
        report::write_file(dir, "compile-speed.txt", &table(rows, runs))?,
        report::write_file(dir, "compile-speed.csv", &csv(rows))?,
        report::write_file(dir, "compile-speed.json", &json(rows, runs))?,
    ])
}
