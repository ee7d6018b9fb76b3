//! Measurements as CSV (written and read back), their medians, and the summary tables.

use crate::measure::{Measured, SETUPS};
use std::fmt::Write as _;

pub const CSV_HEADER: &str =
    "suite,engine,version,config,total,k,run,wall_s,cpu_s,checksum,interp_backedges";

/// One measurement: a row of the CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// `sweep` (W split into k calls) or `long` (one call of the long W).
    pub suite: String,
    pub engine: String,
    /// `Strata 0.1.0`, `node v20.20.2 V8 11.3.244.8-node.38`.
    pub version: String,
    pub config: String,
    pub total: u64,
    pub k: u64,
    /// Round number, from 0: configurations alternate within a round.
    pub run: u32,
    pub m: Measured,
}

fn check_field(s: &str) -> &str {
    assert!(
        !s.contains([',', '\n', '"']),
        "CSV field {s:?} needs no quoting by design"
    );
    s
}

pub fn to_csv(samples: &[Sample]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for s in samples {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{:.6},{:.6},{},{}",
            check_field(&s.suite),
            check_field(&s.engine),
            check_field(&s.version),
            check_field(&s.config),
            s.total,
            s.k,
            s.run,
            s.m.wall_s,
            s.m.cpu_s,
            s.m.checksum,
            s.m.interp_backedges
                .map_or(String::new(), |b| b.to_string())
        );
    }
    out
}

pub fn from_csv(text: &str) -> Result<Vec<Sample>, String> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == CSV_HEADER => {}
        _ => return Err(format!("the CSV does not start with `{CSV_HEADER}`")),
    }
    let mut out = Vec::new();
    for (i, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |what: &str| format!("CSV line {}: {what}: {line}", i + 1);
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 11 {
            return Err(bad("expected 11 fields"));
        }
        let num = |j: usize| f[j].parse::<u64>().map_err(|_| bad("not a number"));
        let float = |j: usize| f[j].parse::<f64>().map_err(|_| bad("not a number"));
        out.push(Sample {
            suite: f[0].into(),
            engine: f[1].into(),
            version: f[2].into(),
            config: f[3].into(),
            total: num(4)?,
            k: num(5)?,
            run: num(6)? as u32,
            m: Measured {
                wall_s: float(7)?,
                cpu_s: float(8)?,
                checksum: num(9)?,
                interp_backedges: if f[10].is_empty() {
                    None
                } else {
                    Some(num(10)?)
                },
            },
        });
    }
    Ok(out)
}

/// Median, minimum and maximum of a set of times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Stats {
    pub fn of(values: &[f64]) -> Option<Stats> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Stats {
            median,
            min: v[0],
            max: v[n - 1],
            n,
        })
    }
}

/// Every measurement of one configuration at one (suite, W, k).
#[derive(Clone, Debug)]
pub struct Point {
    pub suite: String,
    pub engine: String,
    pub version: String,
    pub config: String,
    pub total: u64,
    pub k: u64,
    pub cpu: Stats,
    pub wall: Stats,
    /// Median of the interpreter's back-edges (tiered Strata only).
    pub interp_backedges: Option<u64>,
}

/// The samples grouped by (suite, engine, config, W, k), in configuration order then k.
pub fn points(samples: &[Sample]) -> Vec<Point> {
    let mut keys: Vec<(&str, &str, &str, u64, u64)> = Vec::new();
    for s in samples {
        let key = (
            s.suite.as_str(),
            s.engine.as_str(),
            s.config.as_str(),
            s.total,
            s.k,
        );
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let order = |engine: &str, config: &str| {
        SETUPS
            .iter()
            .position(|s| s.engine == engine && s.name == config)
            .unwrap_or(SETUPS.len())
    };
    keys.sort_by_key(|&(suite, engine, config, total, k)| {
        (suite, order(engine, config), engine, config, total, k)
    });
    keys.into_iter()
        .map(|(suite, engine, config, total, k)| {
            let group: Vec<&Sample> = samples
                .iter()
                .filter(|s| {
                    s.suite == suite
                        && s.engine == engine
                        && s.config == config
                        && s.total == total
                        && s.k == k
                })
                .collect();
            let times =
                |f: fn(&Measured) -> f64| -> Vec<f64> { group.iter().map(|s| f(&s.m)).collect() };
            let backedges: Vec<f64> = group
                .iter()
                .filter_map(|s| s.m.interp_backedges.map(|b| b as f64))
                .collect();
            Point {
                suite: suite.into(),
                engine: engine.into(),
                version: group[0].version.clone(),
                config: config.into(),
                total,
                k,
                cpu: Stats::of(&times(|m| m.cpu_s)).expect("a group has samples"),
                wall: Stats::of(&times(|m| m.wall_s)).expect("a group has samples"),
                interp_backedges: Stats::of(&backedges).map(|s| s.median.round() as u64),
            }
        })
        .collect()
}

/// One message per (suite, W, k) whose configurations do not all return the same checksum.
pub fn checksum_mismatches(samples: &[Sample]) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen: Vec<(&str, u64, u64)> = Vec::new();
    for s in samples {
        let key = (s.suite.as_str(), s.total, s.k);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let differ: Vec<String> = samples
            .iter()
            .filter(|o| (o.suite.as_str(), o.total, o.k) == key && o.m.checksum != s.m.checksum)
            .map(|o| format!("{} {} run {}: {}", o.engine, o.config, o.run, o.m.checksum))
            .collect();
        if !differ.is_empty() {
            out.push(format!(
                "{} W={} k={}: {} {} returned {}, but {}",
                s.suite,
                s.total,
                s.k,
                s.engine,
                s.config,
                s.m.checksum,
                differ.join("; ")
            ));
        }
    }
    out
}

/// `100`, `1e3`, `1e8`, `25e6`: counts the way the experiment names them.
pub fn count(n: u64) -> String {
    let mut m = n;
    let mut zeros = 0;
    while m != 0 && m.is_multiple_of(10) {
        m /= 10;
        zeros += 1;
    }
    if zeros >= 3 {
        format!("{m}e{zeros}")
    } else {
        n.to_string()
    }
}

fn secs(v: f64) -> String {
    format!("{v:.3}")
}

fn range(s: &Stats) -> String {
    format!("{}–{}", secs(s.min), secs(s.max))
}

/// The summary tables, in Markdown.
pub fn summary_md(samples: &[Sample]) -> String {
    let pts = points(samples);
    let mut out = String::from("# v8-no-osr: summary of results.csv\n\n");
    out.push_str(
        "Generated by `cargo run --release -p strata-papers --bin v8-no-osr`. Times are in \
         seconds, for the calls alone (compile and instantiation excluded): CPU = user + \
         system time of the whole process (every thread) during the calls, wall = elapsed \
         time. Medians, with min–max where shown.\n\n",
    );
    let versions: std::collections::BTreeSet<String> =
        pts.iter().map(|p| p.version.clone()).collect();
    let _ = writeln!(
        out,
        "Versions: {}.\n",
        versions.into_iter().collect::<Vec<_>>().join(", ")
    );

    let long: Vec<&Point> = pts.iter().filter(|p| p.suite == "long").collect();
    if !long.is_empty() {
        let _ = writeln!(
            out,
            "## One call of W = {} iterations (k = 1), {} runs\n",
            count(long[0].total),
            long[0].cpu.n
        );
        out.push_str(
            "| engine | configuration | CPU s | CPU min–max | wall s | wall min–max | \
             interpreted back-edges |\n|---|---|---:|---:|---:|---:|---:|\n",
        );
        for p in &long {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                p.engine,
                p.config,
                secs(p.cpu.median),
                range(&p.cpu),
                secs(p.wall.median),
                range(&p.wall),
                p.interp_backedges.map_or("".into(), count)
            );
        }
        out.push('\n');
    }

    let sweep: Vec<&Point> = pts.iter().filter(|p| p.suite == "sweep").collect();
    if !sweep.is_empty() {
        let total = sweep[0].total;
        let mut ks: Vec<u64> = sweep.iter().map(|p| p.k).collect();
        ks.sort_unstable();
        ks.dedup();
        let mut configs: Vec<(&str, &str)> = Vec::new();
        for p in &sweep {
            if !configs.contains(&(p.engine.as_str(), p.config.as_str())) {
                configs.push((p.engine.as_str(), p.config.as_str()));
            }
        }
        let cell = |e: &str, c: &str, k: u64, f: &dyn Fn(&Point) -> String| {
            sweep
                .iter()
                .find(|p| p.engine == e && p.config == c && p.k == k)
                .map_or(String::from("–"), |p| f(p))
        };
        let table = |out: &mut String, title: &str, f: &dyn Fn(&Point) -> String| {
            let _ = writeln!(out, "## {title}\n");
            out.push_str("| k | W/k |");
            for (e, c) in &configs {
                let _ = write!(out, " {e} {c} |");
            }
            out.push_str("\n|---:|---:|");
            out.push_str(&"---:|".repeat(configs.len()));
            out.push('\n');
            for &k in &ks {
                let _ = write!(out, "| {} | {} |", count(k), count(total / k));
                for (e, c) in &configs {
                    let _ = write!(out, " {} |", cell(e, c, k, f));
                }
                out.push('\n');
            }
            out.push('\n');
        };
        let runs = sweep[0].cpu.n;
        table(
            &mut out,
            &format!(
                "W = {} iterations in k calls: CPU s, median of {runs}",
                count(total)
            ),
            &|p| secs(p.cpu.median),
        );
        table(
            &mut out,
            &format!(
                "W = {} iterations in k calls: wall s, median of {runs}",
                count(total)
            ),
            &|p| secs(p.wall.median),
        );
        table(
            &mut out,
            &format!("W = {} in k calls: CPU s, min–max", count(total)),
            &|p| range(&p.cpu),
        );
        let tiered: Vec<(&str, &str)> = configs
            .iter()
            .copied()
            .filter(|&(e, c)| {
                sweep
                    .iter()
                    .any(|p| p.engine == e && p.config == c && p.interp_backedges.is_some())
            })
            .collect();
        if !tiered.is_empty() {
            let _ = writeln!(
                out,
                "## W = {} in k calls: loop back-edges taken in the interpreter (median)\n",
                count(total)
            );
            out.push_str("| k |");
            for (e, c) in &tiered {
                let _ = write!(out, " {e} {c} |");
            }
            out.push_str("\n|---:|");
            out.push_str(&"---:|".repeat(tiered.len()));
            out.push('\n');
            for &k in &ks {
                let _ = write!(out, "| {} |", count(k));
                for (e, c) in &tiered {
                    let _ = write!(
                        out,
                        " {} |",
                        cell(e, c, k, &|p| p
                            .interp_backedges
                            .map_or("–".into(), |b| b.to_string()))
                    );
                }
                out.push('\n');
            }
            out.push('\n');
        }
    }

    out.push_str("## Configurations\n\n");
    for s in SETUPS {
        if pts
            .iter()
            .any(|p| p.engine == s.engine && p.config == s.name)
        {
            let _ = writeln!(out, "- {} {}: {}", s.engine, s.name, s.label);
        }
    }
    out
}
