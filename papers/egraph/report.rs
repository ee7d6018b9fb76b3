//! Measurements, their CSV form, and the summary: medians per program and mode, each mode's
//! time relative to the e-graph on, and geometric means over the programs.

use crate::MODES;
use std::collections::BTreeMap;
use std::fmt::Write;

/// One program run and compiled in one mode in one round.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub program: String,
    pub size: u64,
    pub mode: String,
    pub round: u32,
    /// CPU seconds of `strata run --tier opt` (validation, compilation, instantiation, run).
    pub process_cpu_s: f64,
    /// CPU seconds of the same command at size 1: everything but the run's work.
    pub startup_cpu_s: f64,
    /// Wall seconds of the run alone (`--phase-times`), disturbed by load.
    pub execute_wall_s: f64,
    /// CPU seconds of `strata compile --tier opt` (validation and compilation).
    pub compile_cpu_s: f64,
    /// Wall seconds of the compilation alone, as `strata compile` reports it.
    pub compile_wall_s: f64,
    pub checksum: String,
}

impl Sample {
    /// Execution CPU: the run process less the same process at size 1 (same module, same
    /// mode, so the same compilation and start-up), i.e. what the program's work costs.
    pub fn execute_cpu_s(&self) -> f64 {
        (self.process_cpu_s - self.startup_cpu_s).max(0.0)
    }
}

const HEADER: &str = "program,size,mode,round,process_cpu_s,startup_cpu_s,execute_wall_s,\
                      compile_cpu_s,compile_wall_s,checksum";

pub fn csv(samples: &[Sample]) -> String {
    let mut out = format!("{HEADER}\n");
    for s in samples {
        let _ = writeln!(
            out,
            "{},{},{},{},{:.6},{:.6},{:.6},{:.6},{:.6},{}",
            s.program,
            s.size,
            s.mode,
            s.round,
            s.process_cpu_s,
            s.startup_cpu_s,
            s.execute_wall_s,
            s.compile_cpu_s,
            s.compile_wall_s,
            s.checksum
        );
    }
    out
}

pub fn parse_csv(text: &str) -> Result<Vec<Sample>, String> {
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some(HEADER) {
        return Err("results.csv: unexpected header".into());
    }
    lines
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.split(',').collect();
            let bad = || format!("results.csv line {}: `{l}`", i + 2);
            if f.len() != 10 {
                return Err(bad());
            }
            let num = |k: usize| f[k].parse::<f64>().map_err(|_| bad());
            Ok(Sample {
                program: f[0].to_string(),
                size: f[1].parse().map_err(|_| bad())?,
                mode: f[2].to_string(),
                round: f[3].parse().map_err(|_| bad())?,
                process_cpu_s: num(4)?,
                startup_cpu_s: num(5)?,
                execute_wall_s: num(6)?,
                compile_cpu_s: num(7)?,
                compile_wall_s: num(8)?,
                checksum: f[9].to_string(),
            })
        })
        .collect()
}

/// The number after `key` in `text` (`execute_ns=123`).
pub fn field(text: &str, key: &str) -> Option<f64> {
    let at = text.rfind(key)? + key.len();
    let digits: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits.parse().ok()
}

/// The milliseconds of `strata compile`'s `total: ..., X ms, Y MB/s` line.
pub fn compile_ms(stdout: &str) -> Option<f64> {
    let line = stdout.lines().find(|l| l.starts_with("total:"))?;
    let end = line.find(" ms")?;
    let start = line[..end].rfind(' ')? + 1;
    line[start..end].parse().ok()
}

/// Programs whose checksums differ between modes or rounds (a miscompilation in a mode).
pub fn checksum_mismatches(samples: &[Sample]) -> Vec<String> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    let mut bad = Vec::new();
    for s in samples {
        let first = *seen.entry(&s.program).or_insert(&s.checksum);
        if first != s.checksum || s.checksum.is_empty() {
            bad.push(format!(
                "{} in mode {} round {}",
                s.program, s.mode, s.round
            ));
        }
    }
    bad
}

pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

pub fn geomean(v: &[f64]) -> Option<f64> {
    let v: Vec<f64> = v.iter().copied().filter(|x| *x > 0.0).collect();
    if v.is_empty() {
        return None;
    }
    Some((v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp())
}

/// Which time a table shows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Metric {
    ExecuteCpu,
    CompileCpu,
}

impl Metric {
    pub fn of(self, s: &Sample) -> f64 {
        match self {
            Metric::ExecuteCpu => s.execute_cpu_s(),
            Metric::CompileCpu => s.compile_cpu_s,
        }
    }
}

/// The programs in order of first appearance.
pub fn programs(samples: &[Sample]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in samples {
        if !out.contains(&s.program) {
            out.push(s.program.clone());
        }
    }
    out
}

/// The modes measured, in the order of `MODES`.
pub fn modes(samples: &[Sample]) -> Vec<&'static str> {
    MODES
        .iter()
        .copied()
        .filter(|m| samples.iter().any(|s| s.mode == *m))
        .collect()
}

/// Median of `metric` for one program and mode.
pub fn cell(samples: &[Sample], program: &str, mode: &str, metric: Metric) -> Option<f64> {
    median(
        samples
            .iter()
            .filter(|s| s.program == program && s.mode == mode)
            .map(|s| metric.of(s))
            .collect(),
    )
}

/// Time in `mode` over time with the e-graph on, per program (>1: the switch cost time,
/// i.e. what it turned off was worth that much).
pub fn ratio(samples: &[Sample], program: &str, mode: &str, metric: Metric) -> Option<f64> {
    let on = cell(samples, program, "on", metric)?;
    let m = cell(samples, program, mode, metric)?;
    (on > 0.0).then(|| m / on)
}

/// Geometric mean over the programs of `ratio`.
pub fn geomean_ratio(samples: &[Sample], mode: &str, metric: Metric) -> Option<f64> {
    let rs: Vec<f64> = programs(samples)
        .iter()
        .filter_map(|p| ratio(samples, p, mode, metric))
        .collect();
    geomean(&rs)
}

fn table(out: &mut String, samples: &[Sample], metric: Metric, unit: &str, scale: f64) {
    let modes = modes(samples);
    let _ = write!(out, "| program | on ({unit}) |");
    for m in &modes[1..] {
        let _ = write!(out, " {m} |");
    }
    out.push('\n');
    out.push_str("|---|---|");
    for _ in &modes[1..] {
        out.push_str("---|");
    }
    out.push('\n');
    for p in programs(samples) {
        let on =
            cell(samples, &p, "on", metric).map_or("-".into(), |v| format!("{:.1}", v * scale));
        let _ = write!(out, "| {p} | {on} |");
        for m in &modes[1..] {
            let r = ratio(samples, &p, m, metric).map_or("-".into(), |r| format!("{r:.3}"));
            let _ = write!(out, " {r} |");
        }
        out.push('\n');
    }
    let _ = write!(out, "| **geomean** | |");
    for m in &modes[1..] {
        let r = geomean_ratio(samples, m, metric).map_or("-".into(), |r| format!("**{r:.3}**"));
        let _ = write!(out, " {r} |");
    }
    out.push('\n');
}

pub fn summary(samples: &[Sample], mismatches: &[String]) -> String {
    let rounds = samples.iter().map(|s| s.round + 1).max().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# E-graph on, off and per rule family: medians of {rounds} rounds\n\n\
         Each column is the median time in that mode over the median with the e-graph on \
         (above 1: slower without it).\n"
    );
    out.push_str(
        "## Execution CPU time (`strata run --tier opt` at the size less the same at size 1)\n\n",
    );
    table(&mut out, samples, Metric::ExecuteCpu, "ms", 1e3);
    out.push_str("\n## Compile CPU time (`strata compile --tier opt`, whole process)\n\n");
    table(&mut out, samples, Metric::CompileCpu, "ms", 1e3);
    let _ = writeln!(
        out,
        "\nChecksums: {}",
        if mismatches.is_empty() {
            "every mode of every program printed the same checksum in every round.".to_string()
        } else {
            format!("DIFFER in {}", mismatches.join(", "))
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(program: &str, mode: &str, exec: f64, compile: f64) -> Sample {
        Sample {
            program: program.into(),
            size: 1,
            mode: mode.into(),
            round: 0,
            process_cpu_s: exec + compile,
            startup_cpu_s: compile,
            execute_wall_s: exec,
            compile_cpu_s: compile,
            compile_wall_s: compile,
            checksum: "7".into(),
        }
    }

    #[test]
    fn csv_round_trips_and_ratios_are_against_on() {
        let s = vec![
            sample("a", "on", 1.0, 0.5),
            sample("a", "off", 1.2, 0.4),
            sample("b", "on", 2.0, 0.5),
            sample("b", "off", 3.0, 0.4),
        ];
        assert_eq!(parse_csv(&csv(&s)).unwrap(), s);
        let r = ratio(&s, "a", "off", Metric::ExecuteCpu).unwrap();
        assert!((r - 1.2).abs() < 1e-9, "{r}");
        let g = geomean_ratio(&s, "off", Metric::ExecuteCpu).unwrap();
        assert!((g - (1.2f64 * 1.5).sqrt()).abs() < 1e-9, "{g}");
        assert!(checksum_mismatches(&s).is_empty());
        let mut bad = s.clone();
        bad[1].checksum = "8".into();
        assert_eq!(checksum_mismatches(&bad).len(), 1);
        assert!(summary(&s, &[]).contains("**geomean**"));
    }

    #[test]
    fn parses_strata_output() {
        let err = "phase-times compile_ns=391230 instantiate_ns=29 execute_ns=18326976411\n";
        assert_eq!(field(err, "execute_ns="), Some(18326976411.0));
        let out = "func 1\ntotal: 60 of 60 functions compiled, 25110 bytes of code section, \
                   86910 bytes of machine code, 606.217 ms, 0.04 MB/s\n";
        assert_eq!(compile_ms(out), Some(606.217));
    }
}
