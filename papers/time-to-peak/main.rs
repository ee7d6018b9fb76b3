//! `time-to-peak`: how soon does tiered execution reach its peak speed, and when does each
//! tier take over? One long call of `kernel.wat`'s `run` reports its progress through a host
//! `tick` every `per_tick` loop iterations; the times of the ticks give the work done per
//! millisecond over time, for tiered execution (several policies) and for each tier alone.
//! Engines do not publish this figure.
//!
//!     cargo run --release -p strata-papers --bin time-to-peak [-- --help]
//!
//! Writes results.csv (every tick of every run), summary.md and time-to-peak.svg to
//! papers/time-to-peak/. See papers/time-to-peak/README.md.

use clap::Parser;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use strata::{Config, Engine, Func, Imports, Instance, Module, Store, Tier};

#[derive(Parser, Debug)]
#[command(
    name = "time-to-peak",
    about = "Work done per millisecond over time in one long call: Strata tiered (default \
             policy, jsc, v8) and each tier alone."
)]
struct Args {
    /// Ticks per run (the loop runs ticks * per-tick iterations).
    #[arg(long, default_value_t = 2000)]
    ticks: u32,
    /// Loop iterations between two ticks.
    #[arg(long, default_value_t = 100_000)]
    per_tick: u32,
    /// Rounds; each round runs every configuration once, in turn.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Output directory [default: papers/time-to-peak].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Measure nothing: redraw summary.md and the SVG from OUT/results.csv.
    #[arg(long)]
    replot: bool,
}

/// One configuration: a tier, and for tiered execution its policy.
struct Setup {
    name: &'static str,
    label: &'static str,
    tier: Tier,
    policy: Option<&'static str>,
    color: RGBColor,
}

const SETUPS: &[Setup] = &[
    Setup {
        name: "tiered",
        label: "tiered, default policy (OSR at both steps)",
        tier: Tier::Tiered,
        policy: None,
        color: RGBColor(31, 119, 180),
    },
    Setup {
        name: "jsc",
        label: "tiered, jsc preset",
        tier: Tier::Tiered,
        policy: Some("jsc"),
        color: RGBColor(44, 160, 44),
    },
    Setup {
        name: "v8",
        label: "tiered, v8 preset (no OSR)",
        tier: Tier::Tiered,
        policy: Some("v8"),
        color: RGBColor(214, 39, 40),
    },
    Setup {
        name: "interp",
        label: "interpreter only",
        tier: Tier::Interp,
        policy: None,
        color: RGBColor(140, 140, 140),
    },
    Setup {
        name: "baseline",
        label: "baseline JIT only",
        tier: Tier::Baseline,
        policy: None,
        color: RGBColor(255, 127, 14),
    },
    Setup {
        name: "opt",
        label: "optimizing tier only",
        tier: Tier::Opt,
        policy: None,
        color: BLACK,
    },
];

/// One run: the time of each tick (seconds since the clock started, before compilation).
#[derive(Debug, Clone, PartialEq)]
struct Run {
    config: String,
    run: u32,
    per_tick: u32,
    checksum: u64,
    ticks: Vec<f64>,
}

/// Runs the kernel once in `setup`: the clock starts before the module is compiled, so an
/// eager tier's compile time shows as the delay of the first tick.
fn measure(setup: &Setup, wasm: &[u8], ticks: u32, per_tick: u32, run: u32) -> Result<Run, String> {
    let mut config = Config::default().tier(setup.tier);
    if let Some(p) = setup.policy {
        config = config.tiering(p).map_err(|e| e.to_string())?;
    }
    let engine = Engine::new(config).map_err(|e| e.to_string())?;
    let times = Arc::new(Mutex::new(Vec::with_capacity(ticks as usize)));
    let start = Instant::now();
    let module = Module::new(&engine, wasm).map_err(|e| e.to_string())?;
    let mut store = Store::new(&engine);
    let seen = times.clone();
    let tick = Func::wrap(&mut store, move || {
        if let Ok(mut t) = seen.lock() {
            t.push(start.elapsed().as_secs_f64());
        }
    });
    let mut imports = Imports::new();
    imports.define("env", "tick", tick);
    let instance = Instance::new(&mut store, &module, &imports).map_err(|e| e.to_string())?;
    let f = instance
        .get_typed_func::<(i32, i32), i64>(&store, "run")
        .map_err(|e| e.to_string())?;
    let checksum = f
        .call(&mut store, (ticks as i32, per_tick as i32))
        .map_err(|e| e.to_string())? as u64;
    let ticks_seen = times.lock().map_err(|e| e.to_string())?.clone();
    if ticks_seen.len() != ticks as usize {
        return Err(format!(
            "{}: {} ticks seen, {ticks} expected",
            setup.name,
            ticks_seen.len()
        ));
    }
    Ok(Run {
        config: setup.name.to_string(),
        run,
        per_tick,
        checksum,
        ticks: ticks_seen,
    })
}

/// Iterations per millisecond between ticks, averaged over `window` ticks ending at each
/// tick from the `window`-th on: (time at the window's end, rate).
fn rates(r: &Run, window: usize) -> Vec<(f64, f64)> {
    let w = window.max(1);
    (w..r.ticks.len())
        .map(|i| {
            let dt_ms = (r.ticks[i] - r.ticks[i - w]) * 1e3;
            (r.ticks[i], w as f64 * r.per_tick as f64 / dt_ms.max(1e-9))
        })
        .collect()
}

/// The rate of the last quarter of the run (iterations per ms): the run's peak speed.
fn peak(r: &Run) -> f64 {
    let n = r.ticks.len();
    let q = n / 4;
    if q == 0 || n < 2 {
        return 0.0;
    }
    let dt_ms = (r.ticks[n - 1] - r.ticks[n - 1 - q]) * 1e3;
    q as f64 * r.per_tick as f64 / dt_ms.max(1e-9)
}

/// The time (s) of the first tick from which the rate over 8 ticks stays at or above
/// `level` for good, if it does.
fn time_to(r: &Run, level: f64) -> Option<f64> {
    let rs = rates(r, 8);
    let last_below = rs.iter().rposition(|&(_, v)| v < level);
    match last_below {
        None => rs.first().map(|p| p.0),
        Some(i) => rs.get(i + 1).map(|p| p.0),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn to_csv(runs: &[Run]) -> String {
    let mut s = String::from("config,run,per_tick,checksum,tick,t_s\n");
    for r in runs {
        for (i, t) in r.ticks.iter().enumerate() {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{t:.6}",
                r.config,
                r.run,
                r.per_tick,
                r.checksum,
                i + 1
            );
        }
    }
    s
}

fn from_csv(text: &str) -> Result<Vec<Run>, String> {
    let mut runs: Vec<Run> = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let bad = || format!("results.csv line {}: `{line}`", n + 1);
        if f.len() != 6 {
            return Err(bad());
        }
        let run: u32 = f[1].parse().map_err(|_| bad())?;
        let per_tick: u32 = f[2].parse().map_err(|_| bad())?;
        let checksum: u64 = f[3].parse().map_err(|_| bad())?;
        let t: f64 = f[5].parse().map_err(|_| bad())?;
        match runs.last_mut() {
            Some(r) if r.config == f[0] && r.run == run => r.ticks.push(t),
            _ => runs.push(Run {
                config: f[0].to_string(),
                run,
                per_tick,
                checksum,
                ticks: vec![t],
            }),
        }
    }
    Ok(runs)
}

/// Every run of a configuration must compute the same checksum as every other.
fn check_checksums(runs: &[Run]) -> Result<(), String> {
    if let Some(first) = runs.first() {
        if let Some(bad) = runs.iter().find(|r| r.checksum != first.checksum) {
            return Err(format!(
                "checksum mismatch: {} run {} gave {}, {} run {} gave {}",
                bad.config, bad.run, bad.checksum, first.config, first.run, first.checksum
            ));
        }
    }
    Ok(())
}

/// The run of `config` with the median total time (the one the figure draws).
fn median_run<'a>(runs: &'a [Run], config: &str) -> Option<&'a Run> {
    let mut mine: Vec<&Run> = runs.iter().filter(|r| r.config == config).collect();
    mine.sort_by(|a, b| {
        let end = |r: &Run| r.ticks.last().copied().unwrap_or(0.0);
        end(a).total_cmp(&end(b))
    });
    mine.get(mine.len() / 2).copied()
}

fn summary_md(runs: &[Run]) -> String {
    let opt_peak = median(
        runs.iter()
            .filter(|r| r.config == "opt")
            .map(peak)
            .collect(),
    );
    let mut s = String::new();
    let per_tick = runs.first().map_or(0, |r| r.per_tick);
    let ticks = runs.first().map_or(0, |r| r.ticks.len());
    let _ = writeln!(
        s,
        "# time-to-peak: medians over {} rounds\n\nOne call of {} iterations ({ticks} ticks of \
         {per_tick}). Peak: iterations per ms over the last quarter of the run. \"90% of opt\": \
         when the rate over 8 ticks stays at or above 90% of the optimizing tier's peak \
         ({:.0} iterations/ms).\n",
        runs.iter().map(|r| r.run).max().map_or(0, |m| m + 1),
        ticks as u64 * per_tick as u64,
        opt_peak
    );
    s.push_str(
        "| configuration | first tick (ms) | total (s) | peak (iterations/ms) | peak / opt's | \
         90% of own peak (ms) | 90% of opt's peak (ms) |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for setup in SETUPS {
        let mine: Vec<&Run> = runs.iter().filter(|r| r.config == setup.name).collect();
        if mine.is_empty() {
            continue;
        }
        let first = median(mine.iter().map(|r| r.ticks[0] * 1e3).collect());
        let total = median(
            mine.iter()
                .map(|r| *r.ticks.last().unwrap_or(&0.0))
                .collect(),
        );
        let pk = median(mine.iter().map(|r| peak(r)).collect());
        let own: Vec<f64> = mine
            .iter()
            .filter_map(|r| time_to(r, 0.9 * peak(r)))
            .map(|t| t * 1e3)
            .collect();
        let to_opt: Vec<f64> = mine
            .iter()
            .filter_map(|r| time_to(r, 0.9 * opt_peak))
            .map(|t| t * 1e3)
            .collect();
        let fmt = |v: Vec<f64>, n: usize| {
            if v.len() == n {
                format!("{:.0}", median(v))
            } else if v.is_empty() {
                "never".to_string()
            } else {
                format!("{:.0} ({} of {n} runs)", median(v.clone()), v.len())
            }
        };
        let _ = writeln!(
            s,
            "| {} | {first:.1} | {total:.3} | {pk:.0} | {:.2} | {} | {} |",
            setup.label,
            pk / opt_peak,
            fmt(own, mine.len()),
            fmt(to_opt, mine.len()),
        );
    }
    s
}

fn svg(runs: &[Run]) -> Result<String, String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (1200, 700)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let end = runs
            .iter()
            .filter_map(|r| r.ticks.last().copied())
            .fold(0.01f64, f64::max)
            * 1e3;
        let top = runs
            .iter()
            .flat_map(|r| rates(r, 8))
            .map(|p| p.1)
            .fold(1.0f64, f64::max);
        let per_tick = runs.first().map_or(0, |r| r.per_tick);
        let caption = format!(
            "One long call (time-to-peak kernel): iterations per ms over time, rate over 8 \
             ticks of {per_tick} iterations, median run of each configuration"
        );
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 18))
            .margin(16)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d((1f64..end * 1.1).log_scale(), 0f64..top * 1.15)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .max_light_lines(1)
            .x_desc("time since compilation started (ms, log scale)")
            .y_desc("loop iterations per ms")
            .draw()
            .map_err(|e| e.to_string())?;
        for setup in SETUPS {
            let Some(r) = median_run(runs, setup.name) else {
                continue;
            };
            let pts: Vec<(f64, f64)> = rates(r, 8).into_iter().map(|(t, v)| (t * 1e3, v)).collect();
            let stroke = setup
                .color
                .stroke_width(if setup.tier == Tier::Tiered { 3 } else { 2 });
            chart
                .draw_series(LineSeries::new(pts, stroke))
                .map_err(|e| e.to_string())?
                .label(setup.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], stroke));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(|e| e.to_string())?;
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

fn write_outputs(out: &Path, runs: &[Run]) -> Result<(), String> {
    let put = |name: &str, text: String| {
        std::fs::write(out.join(name), text)
            .map_err(|e| format!("{}: {e}", out.join(name).display()))
    };
    put("summary.md", summary_md(runs))?;
    put("time-to-peak.svg", svg(runs)?)
}

fn real_main(args: Args) -> Result<(), String> {
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let out = match &args.out {
        Some(o) => o.clone(),
        None => repo_root(&cwd)
            .ok_or("cannot find the repository root (run from inside it, or give --out)")?
            .join("papers/time-to-peak"),
    };
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    if args.replot {
        let text = std::fs::read_to_string(out.join("results.csv")).map_err(|e| e.to_string())?;
        return write_outputs(&out, &from_csv(&text)?);
    }
    if args.ticks == 0
        || args.per_tick == 0
        || args.ticks > i32::MAX as u32
        || args.per_tick > i32::MAX as u32
    {
        return Err("--ticks and --per-tick must be between 1 and 2^31 - 1".into());
    }
    let wasm = wat::parse_str(include_str!("kernel.wat")).map_err(|e| e.to_string())?;
    let mut runs = Vec::new();
    for round in 0..args.runs {
        for setup in SETUPS {
            let r = measure(setup, &wasm, args.ticks, args.per_tick, round)?;
            eprintln!(
                "round {round} {:>8}: {:.3} s, peak {:.0} iterations/ms",
                setup.name,
                r.ticks.last().copied().unwrap_or(0.0),
                peak(&r)
            );
            runs.push(r);
        }
    }
    check_checksums(&runs)?;
    std::fs::write(out.join("results.csv"), to_csv(&runs)).map_err(|e| e.to_string())?;
    write_outputs(&out, &runs)
}

fn main() -> ExitCode {
    match real_main(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("time-to-peak: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made_up(config: &str, run: u32, step_ms: &[f64]) -> Run {
        let mut t = 0.0;
        let ticks = step_ms
            .iter()
            .map(|s| {
                t += s / 1e3;
                t
            })
            .collect();
        Run {
            config: config.into(),
            run,
            per_tick: 1000,
            checksum: 7,
            ticks,
        }
    }

    #[test]
    fn rates_peak_and_time_to_peak() {
        // 16 slow ticks (1000 iterations in 2 ms), then 48 fast ones (in 1 ms).
        let steps: Vec<f64> = (0..64).map(|i| if i < 16 { 2.0 } else { 1.0 }).collect();
        let r = made_up("tiered", 0, &steps);
        assert!((peak(&r) - 1000.0).abs() < 1e-6);
        let rs = rates(&r, 8);
        assert!((rs[0].1 - 500.0).abs() < 1e-6);
        // The 8-tick window is all fast from tick 24 (index 23) on, at 32 + 8 ms.
        let t = time_to(&r, 900.0).unwrap();
        assert!((t - 0.040).abs() < 1e-9, "{t}");
        assert_eq!(time_to(&r, 2000.0), None);
    }

    #[test]
    fn csv_round_trip_summary_and_plot() {
        let runs = vec![
            made_up("opt", 0, &[1.0; 40]),
            made_up("interp", 0, &[3.0; 40]),
            made_up(
                "tiered",
                0,
                &[
                    3.0, 3.0, 3.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
                    1.0, 1.0, 1.0, 1.0,
                ],
            ),
        ];
        let back = from_csv(&to_csv(&runs)).unwrap();
        assert_eq!(back.len(), 3);
        for (a, b) in runs.iter().zip(&back) {
            assert_eq!(a.config, b.config);
            assert_eq!(a.ticks.len(), b.ticks.len());
        }
        let md = summary_md(&back);
        assert!(md.contains("interpreter only"), "{md}");
        assert!(md.contains("| never |"), "{md}");
        assert!(svg(&back).unwrap().starts_with("<svg"));
        check_checksums(&back).unwrap();
    }

    #[test]
    fn every_configuration_computes_the_same_checksum() {
        let wasm = wat::parse_str(include_str!("kernel.wat")).unwrap();
        let runs: Vec<Run> = SETUPS
            .iter()
            .map(|s| measure(s, &wasm, 20, 2000, 0).unwrap())
            .collect();
        check_checksums(&runs).unwrap();
        assert!(runs.iter().all(|r| r.ticks.len() == 20));
    }
}
