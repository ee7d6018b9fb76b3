//! `threshold-sweep`: execution time against the optimizing tier's thresholds, per program.
//! Reads the CSV of one alternating `strata bench --tiering` run that sweeps the `counters`
//! policy's `opt-call`/`opt-loop` (and `budget`'s second level) and writes results.csv,
//! summary.md and threshold-sweep.svg: per program, each setting's whole-process time
//! relative to the program's best setting, and the geomean over programs, which picks the
//! defaults (docs/tiering.md).
//!
//!     strata bench --tier opt --engine none --runs 2 --size-scale 0.1 \
//!         --tiering "$(cat papers/threshold-sweep/policies.txt)" --out DIR benches/programs
//!     cargo run --release -p strata-papers --bin threshold-sweep -- --bench-csv DIR/bench.csv
//!
//! See papers/threshold-sweep/README.md.

use clap::Parser;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "threshold-sweep",
    about = "Execution time against the opt thresholds, per program, from a `strata bench \
             --tiering` sweep."
)]
struct Args {
    /// The bench.csv of the sweep.
    #[arg(long, value_name = "FILE")]
    bench_csv: PathBuf,
    /// Output directory [default: papers/threshold-sweep].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// Which sweep a policy belongs to, and its swept value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Family {
    /// `counters:...,opt-loop=M` (with `opt-call` = M / 15): the value is M.
    Counters(u64),
    /// `budget:N,opt=M` with OSR: the value is M / N.
    Budget(u64),
    /// A reference: `max=baseline`, `--tier opt`, the v8 preset.
    Reference,
}

/// One (program, configuration) of the sweep.
#[derive(Debug, Clone)]
struct Row {
    program: String,
    config: String,
    family: Family,
    median_s: f64,
    min_s: f64,
    max_s: f64,
}

/// Splits one CSV line (fields with commas are quoted, `""` is a quote).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn param(policy: &str, key: &str) -> Option<u64> {
    policy
        .split([',', ':'])
        .find_map(|p| p.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

/// The sweep family of a `strata bench` engine name.
fn family(engine: &str) -> Option<Family> {
    if engine == "strata:opt" {
        return Some(Family::Reference);
    }
    let policy = engine.strip_prefix("strata:tiered@")?;
    if policy.contains("max=baseline") || policy.contains("no-osr") {
        return Some(Family::Reference);
    }
    if policy.starts_with("counters:") {
        return param(policy, "opt-loop").map(Family::Counters);
    }
    if let Some(rest) = policy.strip_prefix("budget:") {
        let n: u64 = rest.split(',').next()?.parse().ok()?;
        return param(policy, "opt").map(|m| Family::Budget(m / n.max(1)));
    }
    None
}

fn read_bench(text: &str) -> Result<Vec<Row>, String> {
    let mut lines = text.lines();
    let head = csv_fields(lines.next().ok_or("empty bench.csv")?);
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .ok_or(format!("bench.csv has no `{name}` column"))
    };
    let (p, e, st, med, lo, hi) = (
        col("program")?,
        col("engine")?,
        col("status")?,
        col("median_s")?,
        col("min_s")?,
        col("max_s")?,
    );
    let mut rows = Vec::new();
    for line in lines {
        let f = csv_fields(line);
        if f.len() < head.len() || f[p] == "geomean" || f[st] != "ok" {
            continue;
        }
        let Some(family) = family(&f[e]) else {
            continue;
        };
        let num = |i: usize| {
            f[i].parse::<f64>()
                .map_err(|_| format!("bad number in `{line}`"))
        };
        rows.push(Row {
            program: f[p].clone(),
            config: f[e].trim_start_matches("strata:").to_string(),
            family,
            median_s: num(med)?,
            min_s: num(lo)?,
            max_s: num(hi)?,
        });
    }
    if rows.is_empty() {
        return Err("no Strata sweep rows in bench.csv".into());
    }
    Ok(rows)
}

/// Time of each row relative to the best counters setting of its program.
fn relative(rows: &[Row]) -> Vec<(Row, f64)> {
    let mut best: BTreeMap<&str, f64> = BTreeMap::new();
    for r in rows
        .iter()
        .filter(|r| matches!(r.family, Family::Counters(_)))
    {
        let b = best.entry(&r.program).or_insert(f64::INFINITY);
        *b = b.min(r.median_s);
    }
    rows.iter()
        .filter_map(|r| {
            best.get(r.program.as_str())
                .map(|b| (r.clone(), r.median_s / b))
        })
        .collect()
}

fn geomean(v: &[f64]) -> f64 {
    (v.iter().map(|x| x.ln()).sum::<f64>() / v.len().max(1) as f64).exp()
}

/// Per configuration (in sweep order): its family and the geomean of its relative times.
fn geomeans(rel: &[(Row, f64)]) -> Vec<(String, Family, f64)> {
    let mut order: Vec<(String, Family)> = Vec::new();
    for (r, _) in rel {
        if !order.iter().any(|(c, _)| *c == r.config) {
            order.push((r.config.clone(), r.family));
        }
    }
    order
        .into_iter()
        .map(|(c, f)| {
            let v: Vec<f64> = rel
                .iter()
                .filter(|(r, _)| r.config == c)
                .map(|x| x.1)
                .collect();
            (c, f, geomean(&v))
        })
        .collect()
}

fn to_csv(rel: &[(Row, f64)]) -> String {
    let mut s = String::from("program,config,family,value,median_s,min_s,max_s,relative_to_best\n");
    for (r, x) in rel {
        let (fam, v) = match r.family {
            Family::Counters(v) => ("counters-opt-loop", v.to_string()),
            Family::Budget(v) => ("budget-opt-over-n", v.to_string()),
            Family::Reference => ("reference", String::new()),
        };
        let _ = writeln!(
            s,
            "{},\"{}\",{fam},{v},{},{},{},{x:.4}",
            r.program, r.config, r.median_s, r.min_s, r.max_s
        );
    }
    s
}

fn summary_md(rel: &[(Row, f64)]) -> String {
    let gm = geomeans(rel);
    let mut programs: Vec<&str> = rel.iter().map(|(r, _)| r.program.as_str()).collect();
    programs.dedup();
    let mut s = String::from(
        "# threshold-sweep: whole-process time relative to each program's best counters setting\n\n",
    );
    s.push_str("| configuration | geomean |");
    for p in &programs {
        let _ = write!(s, " {p} |");
    }
    s.push_str("\n|---|---:|");
    s.push_str(&"---:|".repeat(programs.len()));
    s.push('\n');
    for (c, _, g) in &gm {
        let _ = write!(s, "| `{c}` | {g:.3} |");
        for p in &programs {
            match rel.iter().find(|(r, _)| r.program == *p && r.config == *c) {
                Some((_, x)) => {
                    let _ = write!(s, " {x:.2} |");
                }
                None => s.push_str(" – |"),
            }
        }
        s.push('\n');
    }
    let best = |want: fn(&Family) -> bool| {
        gm.iter()
            .filter(|(_, f, _)| want(f))
            .min_by(|a, b| a.2.total_cmp(&b.2))
            .map(|(c, _, g)| format!("`{c}` (geomean {g:.3})"))
            .unwrap_or_else(|| "–".into())
    };
    let _ = writeln!(
        s,
        "\nBest counters setting: {}.\nBest budget second level: {}.",
        best(|f| matches!(f, Family::Counters(_))),
        best(|f| matches!(f, Family::Budget(_)))
    );
    s
}

/// The swept value of a family, for one panel.
type Pick = fn(Family) -> Option<u64>;

fn svg(rel: &[(Row, f64)]) -> Result<String, String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (1200, 650)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let panels = root.split_evenly((1, 2));
        let sweeps: [(&str, Pick); 2] = [
            (
                "counters: opt-loop (opt-call = opt-loop / 15), log scale",
                |f| match f {
                    Family::Counters(v) => Some(v),
                    _ => None,
                },
            ),
            ("budget:N,opt=M: M / N, log scale", |f| match f {
                Family::Budget(v) => Some(v),
                _ => None,
            }),
        ];
        let mut programs: Vec<String> = rel.iter().map(|(r, _)| r.program.clone()).collect();
        programs.sort();
        programs.dedup();
        for (area, (desc, pick)) in panels.iter().zip(sweeps) {
            let pts: Vec<(&Row, u64, f64)> = rel
                .iter()
                .filter_map(|(r, x)| pick(r.family).map(|v| (r, v, *x)))
                .collect();
            if pts.is_empty() {
                continue;
            }
            let lo = pts.iter().map(|p| p.1).min().unwrap_or(1).max(1) as f64;
            let hi = pts.iter().map(|p| p.1).max().unwrap_or(10).max(2) as f64;
            let top = pts.iter().map(|p| p.2).fold(1.2f64, f64::max);
            let mut chart = ChartBuilder::on(area)
                .caption(desc, ("sans-serif", 16))
                .margin(14)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d((lo / 1.5..hi * 1.5).log_scale(), 0.8f64..top * 1.05)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .max_light_lines(1)
                .x_desc("threshold")
                .y_desc("time / program's best counters setting")
                .draw()
                .map_err(|e| e.to_string())?;
            for (i, prog) in programs.iter().enumerate() {
                let mut line: Vec<(f64, f64)> = pts
                    .iter()
                    .filter(|p| p.0.program == *prog)
                    .map(|p| (p.1 as f64, p.2))
                    .collect();
                line.sort_by(|a, b| a.0.total_cmp(&b.0));
                let color = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(LineSeries::new(line, color.stroke_width(1)))
                    .map_err(|e| e.to_string())?
                    .label(prog.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
            }
            let mut values: Vec<u64> = pts.iter().map(|p| p.1).collect();
            values.sort();
            values.dedup();
            let gm: Vec<(f64, f64)> = values
                .iter()
                .map(|v| {
                    let xs: Vec<f64> = pts.iter().filter(|p| p.1 == *v).map(|p| p.2).collect();
                    (*v as f64, geomean(&xs))
                })
                .collect();
            chart
                .draw_series(LineSeries::new(gm, BLACK.stroke_width(4)))
                .map_err(|e| e.to_string())?
                .label("geomean")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(4))
                });
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 11))
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(buf)
}

fn repo_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join("Cargo.toml").is_file() && d.join("benches").is_dir())
        .map(Path::to_path_buf)
}

fn real_main(args: Args) -> Result<(), String> {
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let out = match &args.out {
        Some(o) => o.clone(),
        None => repo_root(&cwd)
            .ok_or("cannot find the repository root (run from inside it, or give --out)")?
            .join("papers/threshold-sweep"),
    };
    let text = std::fs::read_to_string(&args.bench_csv)
        .map_err(|e| format!("{}: {e}", args.bench_csv.display()))?;
    let rel = relative(&read_bench(&text)?);
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let put = |name: &str, text: String| {
        std::fs::write(out.join(name), text)
            .map_err(|e| format!("{}: {e}", out.join(name).display()))
    };
    put("results.csv", to_csv(&rel))?;
    put("summary.md", summary_md(&rel))?;
    put("threshold-sweep.svg", svg(&rel)?)
}

fn main() -> ExitCode {
    match real_main(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("threshold-sweep: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BENCH: &str = "program,engine,phase,status,detail,runs,median_s,min_s,max_s\n\
fib,strata:opt,total,ok,ok,2,1.0,1.0,1.0\n\
fib,\"strata:tiered@counters:call=10,loop=150,max=baseline\",total,ok,ok,2,2.0,2.0,2.0\n\
fib,\"strata:tiered@counters:call=10,loop=150,opt-call=100,opt-loop=1500\",total,ok,ok,2,1.2,1.1,1.3\n\
fib,\"strata:tiered@counters:call=10,loop=150,opt-call=3333,opt-loop=50000\",total,ok,ok,2,1.5,1.5,1.6\n\
sieve,\"strata:tiered@counters:call=10,loop=150,opt-call=100,opt-loop=1500\",total,ok,ok,2,3.0,3.0,3.0\n\
sieve,\"strata:tiered@counters:call=10,loop=150,opt-call=3333,opt-loop=50000\",total,ok,ok,2,2.0,2.0,2.0\n\
sieve,\"strata:tiered@budget:1000,opt=100000\",total,ok,ok,2,2.2,2.2,2.2\n\
geomean,strata:opt,total,ok,ok,2,1.0,1.0,1.0\n";

    #[test]
    fn families_relative_times_and_the_best_setting() {
        assert_eq!(
            family("strata:tiered@counters:call=10,loop=150,opt-call=100,opt-loop=1500"),
            Some(Family::Counters(1500))
        );
        assert_eq!(
            family("strata:tiered@budget:1000,opt=100000"),
            Some(Family::Budget(100))
        );
        assert_eq!(
            family("strata:tiered@budget:1,opt=1800000,no-osr"),
            Some(Family::Reference)
        );
        let rows = read_bench(BENCH).unwrap();
        assert_eq!(rows.len(), 7);
        let rel = relative(&rows);
        let fib_1500 = rel
            .iter()
            .find(|(r, _)| r.program == "fib" && r.family == Family::Counters(1500))
            .unwrap();
        assert!((fib_1500.1 - 1.0).abs() < 1e-9);
        let gm = geomeans(&rel);
        // opt-loop=1500: fib 1.0, sieve 1.5; opt-loop=50000: fib 1.25, sieve 1.0.
        let g1500 = gm.iter().find(|g| g.1 == Family::Counters(1500)).unwrap().2;
        assert!((g1500 - 1.5f64.sqrt()).abs() < 1e-9);
        let md = summary_md(&rel);
        assert!(md.contains("Best counters setting: `tiered@counters:call=10,loop=150,opt-call=3333,opt-loop=50000`"), "{md}");
        assert!(svg(&rel).unwrap().starts_with("<svg"));
        assert!(to_csv(&rel).lines().count() == 8);
    }
}
