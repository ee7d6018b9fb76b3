//! The measurement loop: every program, every engine, round-robin over run indices
//! (A B C A B C ...) so machine noise spreads over all engines; then checksum checking.

use super::engines::{self, Engine, EngineKind};
use super::process::{self, Exit};
use super::programs::Program;
use super::Phase;
use std::collections::HashMap;
use std::time::Duration;

/// How one (program, engine) pair ended up.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Every run printed the expected checksum.
    Ok,
    /// Runs succeeded but there was no checksum to compare.
    Unchecked,
    WrongChecksum {
        got: String,
        want: String,
    },
    /// Non-zero exit, signal, or the engine could not be started.
    Failed(String),
    Timeout,
    /// Not run: not applicable to this program, or the phase is unavailable. Not an error.
    Skipped(String),
}

impl Status {
    /// Whether this makes `strata bench` exit non-zero.
    pub fn is_error(&self) -> bool {
        matches!(
            self,
            Status::WrongChecksum { .. } | Status::Failed(_) | Status::Timeout
        )
    }

    /// Whether its timings mean something.
    pub fn has_times(&self) -> bool {
        matches!(self, Status::Ok | Status::Unchecked)
    }

    pub fn label(&self) -> String {
        match self {
            Status::Ok => "ok".into(),
            Status::Unchecked => "ok (unchecked)".into(),
            Status::WrongChecksum { got, want } => {
                format!("WRONG CHECKSUM (got {got}, want {want})")
            }
            Status::Failed(why) => format!("FAILED ({why})"),
            Status::Timeout => "TIMEOUT".into(),
            Status::Skipped(why) => format!("skipped ({why})"),
        }
    }

    /// A one-word form for CSV/JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Unchecked => "unchecked",
            Status::WrongChecksum { .. } => "wrong-checksum",
            Status::Failed(_) => "failed",
            Status::Timeout => "timeout",
            Status::Skipped(_) => "skipped",
        }
    }
}

/// Measurements of one (program, engine) pair.
#[derive(Clone, Debug)]
pub struct Cell {
    /// Seconds of the measured phase, one per timed run.
    pub samples: Vec<f64>,
    /// The checksum each run (warm-ups included) printed.
    pub checksums: Vec<Option<String>>,
    /// `None` while runs go on and succeed; final after [`measure`].
    pub status: Option<Status>,
}

impl Cell {
    fn new(status: Option<Status>) -> Cell {
        Cell {
            samples: Vec::new(),
            checksums: Vec::new(),
            status,
        }
    }

    pub fn status(&self) -> Status {
        self.status.clone().unwrap_or(Status::Unchecked)
    }
}

/// How to measure.
#[derive(Clone, Debug)]
pub struct Settings {
    pub runs: usize,
    pub warmup: usize,
    pub phase: Phase,
    pub timeout: Duration,
    pub quiet: bool,
}

/// Runs everything; returns `cells[program][engine]` with final statuses.
pub fn measure(programs: &[Program], engines: &[Engine], s: &Settings) -> Vec<Vec<Cell>> {
    let total_runs = s.warmup + s.runs;
    let mut all = Vec::new();
    for (pi, p) in programs.iter().enumerate() {
        let mut cells: Vec<Cell> = engines
            .iter()
            .map(|e| {
                Cell::new(match e.command(p, false) {
                    Err(why) => Some(Status::Skipped(why)),
                    Ok(_) if s.phase != Phase::Total && !e.reports_phases() => {
                        Some(Status::Skipped("phase unavailable".into()))
                    }
                    Ok(_) => None,
                })
            })
            .collect();
        if !s.quiet {
            let size = p.size.map(|n| format!(" {n}")).unwrap_or_default();
            eprintln!("[{}/{}] {}{size}", pi + 1, programs.len(), p.name);
        }
        for run in 0..total_runs {
            let warm = run < s.warmup;
            for (e, cell) in engines.iter().zip(cells.iter_mut()) {
                if cell.status.is_some() {
                    continue;
                }
                run_once(p, e, cell, s, warm);
                if !s.quiet {
                    let what = if warm {
                        "warm-up".to_string()
                    } else {
                        format!("run {}/{}", run - s.warmup + 1, s.runs)
                    };
                    let result = match (&cell.status, cell.samples.last()) {
                        (Some(st), _) => st.label(),
                        (None, Some(t)) if !warm => super::report::fmt_secs(*t),
                        _ => "ok".into(),
                    };
                    eprintln!("      {:<16} {what:<9} {result}", e.name);
                }
            }
        }
        check_checksums(p, engines, &mut cells);
        all.push(cells);
    }
    all
}

fn run_once(p: &Program, e: &Engine, cell: &mut Cell, s: &Settings, warm: bool) {
    let with_phases = s.phase != Phase::Total;
    let cmd = match e.command(p, with_phases) {
        Ok(c) => c,
        Err(why) => {
            cell.status = Some(Status::Skipped(why));
            return;
        }
    };
    let o = process::run(cmd, s.timeout);
    match o.exit {
        Exit::Code(0) => {}
        Exit::Timeout => {
            cell.status = Some(Status::Timeout);
            return;
        }
        _ => {
            // `strata run` without `--phase-times` yet: clap rejects the flag.
            let unknown_flag = with_phases
                && matches!(e.kind, EngineKind::Strata(_))
                && o.stderr.contains("--phase-times");
            cell.status = Some(if unknown_flag {
                Status::Skipped("phase unavailable: `strata run` has no --phase-times".into())
            } else {
                Status::Failed(o.failure_summary())
            });
            return;
        }
    }
    let seconds = if with_phases {
        match engines::phase_times(&o.stderr).and_then(|t| s.phase.pick(&t)) {
            Some(ns) => ns as f64 * 1e-9,
            None => {
                cell.status = Some(Status::Skipped("phase unavailable".into()));
                return;
            }
        }
    } else {
        o.wall.as_secs_f64()
    };
    cell.checksums
        .push(engines::checksum(&o.stdout, p.invoke.is_some()));
    if !warm {
        cell.samples.push(seconds);
    }
}

/// The checksum every engine must print: `expected.txt`'s, else the one most engines
/// printed (ties go to `native`, then to the earlier engine).
fn reference_checksum(p: &Program, engines: &[Engine], cells: &[Cell]) -> Option<String> {
    if let Some(c) = &p.expected {
        return Some(c.clone());
    }
    let mut votes: HashMap<&str, (usize, usize)> = HashMap::new(); // value -> (count, priority)
    for (i, (e, c)) in engines.iter().zip(cells).enumerate() {
        if c.status.is_some() {
            continue;
        }
        let Some(Some(v)) = c.checksums.first() else {
            continue;
        };
        let prio = if e.kind == EngineKind::Native {
            0
        } else {
            i + 1
        };
        let entry = votes.entry(v.as_str()).or_insert((0, prio));
        entry.0 += 1;
        entry.1 = entry.1.min(prio);
    }
    votes
        .into_iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.1 .1.cmp(&a.1 .1)))
        .map(|(v, _)| v.to_string())
}

fn check_checksums(p: &Program, engines: &[Engine], cells: &mut [Cell]) {
    let want = reference_checksum(p, engines, cells);
    for c in cells.iter_mut() {
        if c.status.is_some() {
            continue;
        }
        c.status = Some(match &want {
            None => Status::Unchecked,
            Some(w) => match c
                .checksums
                .iter()
                .find(|g| g.as_deref() != Some(w.as_str()))
            {
                None => Status::Ok,
                Some(got) => Status::WrongChecksum {
                    got: got.clone().unwrap_or_else(|| "nothing".into()),
                    want: w.clone(),
                },
            },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::engines::Launcher;

    fn engine(kind: EngineKind) -> Engine {
        Engine {
            name: kind.name(),
            kind,
            launcher: Ok(Launcher {
                exe: "true".into(),
                args: vec![],
            }),
            version: None,
            wasmtime_py: false,
        }
    }

    fn cell(sum: &str) -> Cell {
        Cell {
            samples: vec![1.0],
            checksums: vec![Some(sum.into())],
            status: None,
        }
    }

    fn program(expected: Option<&str>) -> Program {
        Program {
            name: "p".into(),
            source: "p.wasm".into(),
            wasm: "p.wasm".into(),
            c_source: None,
            native: None,
            invoke: None,
            size: Some(1),
            args: vec!["1".into()],
            expected: expected.map(str::to_string),
            code_bytes: None,
        }
    }

    #[test]
    fn majority_then_native_wins() {
        let engines = [
            engine(EngineKind::Strata("interp".into())),
            engine(EngineKind::Native),
        ];
        let mut cells = vec![cell("1"), cell("2")];
        check_checksums(&program(None), &engines, &mut cells);
        assert!(matches!(
            cells[0].status,
            Some(Status::WrongChecksum { .. })
        ));
        assert_eq!(cells[1].status, Some(Status::Ok));

        let engines = [
            engine(EngineKind::Strata("interp".into())),
            engine(EngineKind::Wasmtime),
            engine(EngineKind::Native),
        ];
        let mut cells = vec![cell("1"), cell("1"), cell("2")];
        check_checksums(&program(None), &engines, &mut cells);
        assert_eq!(cells[0].status, Some(Status::Ok));
        assert!(cells[2].status.as_ref().unwrap().is_error());
    }

    #[test]
    fn expected_file_wins() {
        let engines = [engine(EngineKind::Wasmtime), engine(EngineKind::Native)];
        let mut cells = vec![cell("1"), cell("1")];
        check_checksums(&program(Some("3")), &engines, &mut cells);
        assert!(cells.iter().all(|c| c.status.as_ref().unwrap().is_error()));
    }
}
