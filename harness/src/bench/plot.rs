//! An SVG bar chart of a report: one group of bars per program (plus the geomean), one bar
//! per engine, on a log scale: the ratio to the reference engine, or the median time when
//! there is no reference.

use super::report::Report;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 640;

/// The chart as SVG text.
pub fn svg(r: &Report) -> Result<String, String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, r).map_err(|e| format!("plotting failed: {e}"))?;
        root.present()
            .map_err(|e| format!("plotting failed: {e}"))?;
    }
    Ok(buf)
}

type DrawResult<T> =
    Result<T, DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>>;

fn draw(root: &DrawingArea<SVGBackend<'_>, Shift>, r: &Report) -> DrawResult<()> {
    root.fill(&WHITE)?;
    let ratios = r.reference.is_some();
    let engines: Vec<&str> = r
        .engines
        .iter()
        .filter(|e| e.skipped.is_none())
        .map(|e| e.name.as_str())
        .collect();
    let mut groups: Vec<String> = r.programs.iter().map(|p| p.name.clone()).collect();
    if ratios {
        groups.push("geomean".into());
    }
    // value[group][engine]
    let value = |g: usize, e: &str| -> Option<f64> {
        if g < r.programs.len() {
            let row = r
                .rows
                .iter()
                .find(|x| x.program == r.programs[g].name && x.engine == e)?;
            if ratios {
                row.ratio
            } else {
                row.summary.map(|s| s.median)
            }
        } else {
            r.geomeans.iter().find(|x| x.engine == e)?.ratio
        }
    };
    let all: Vec<f64> = (0..groups.len())
        .flat_map(|g| engines.iter().filter_map(move |e| value(g, e)))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let (lo, hi) = match (
        all.iter().copied().reduce(f64::min),
        all.iter().copied().reduce(f64::max),
    ) {
        (Some(lo), Some(hi)) if ratios => (lo.min(1.0) / 1.5, hi.max(1.0) * 1.5),
        (Some(lo), Some(hi)) => (lo / 1.5, hi * 1.5),
        _ => (0.1, 10.0),
    };
    // Headroom above the tallest bar for the legend: data fill the lower 70% (log scale).
    let hi = (lo.ln() + (hi.ln() - lo.ln()) / 0.7).exp();
    let caption = if ratios {
        format!(
            "{} time relative to {} (lower is faster; median of {})",
            r.phase,
            r.reference.as_deref().unwrap_or_default(),
            runs_text(r.runs)
        )
    } else {
        format!("{} time, median of {} (s)", r.phase, runs_text(r.runs))
    };
    let n = groups.len().max(1) as f64;
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..n, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(1)
        .y_labels(8)
        .x_labels(0)
        .x_label_formatter(&|_| String::new())
        .y_desc(if ratios {
            "ratio (log scale)"
        } else {
            "seconds (log scale)"
        })
        .y_label_formatter(&|v| axis_label(*v))
        .draw()?;

    let slots = engines.len().max(1) as f64;
    let bar = 0.8 / slots;
    for (ei, e) in engines.iter().enumerate() {
        let color = Palette99::pick(ei).to_rgba();
        let bars: Vec<Rectangle<(f64, f64)>> = (0..groups.len())
            .filter_map(|g| {
                let v = value(g, e)?;
                if !(v.is_finite() && v > 0.0) {
                    return None;
                }
                let x0 = g as f64 + 0.1 + ei as f64 * bar;
                Some(Rectangle::new(
                    [(x0, lo), (x0 + bar * 0.9, v)],
                    color.filled(),
                ))
            })
            .collect();
        // Each bar's value above it.
        let values: Vec<(f64, f64, String)> = (0..groups.len())
            .filter_map(|g| {
                let v = value(g, e).filter(|v| v.is_finite() && *v > 0.0)?;
                Some((
                    g as f64 + 0.1 + ei as f64 * bar + bar * 0.45,
                    v,
                    axis_label(v),
                ))
            })
            .collect();
        let value_style = ("sans-serif", 10)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        chart.draw_series(
            values
                .into_iter()
                .map(|(x, v, text)| Text::new(text, (x, v), value_style.clone())),
        )?;
        chart
            .draw_series(bars)?
            .label(*e)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    if ratios {
        chart.draw_series(LineSeries::new(
            [(0.0, 1.0), (n, 1.0)],
            BLACK.stroke_width(1),
        ))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;

    // Group names under the axis.
    let style = ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    for (g, name) in groups.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(g as f64 + 0.5, lo));
        root.draw(&Text::new(name.clone(), (x, y + 8), style.clone()))?;
    }
    Ok(())
}

/// "1 run", "3 runs".
fn runs_text(runs: usize) -> String {
    if runs == 1 {
        "1 run".into()
    } else {
        format!("{runs} runs")
    }
}

/// `100`, `2.5`, `0.25`, `0.001`: three significant digits (so neighbouring ticks of a
/// log axis do not print the same), no trailing noise.
fn axis_label(v: f64) -> String {
    let s = if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else if v >= 0.01 {
        format!("{v:.3}")
    } else {
        format!("{v:.1e}")
    };
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report::{EngineInfo, GeoRow, ProgramInfo, Report, Row};
    use crate::bench::runner::Status;
    use crate::bench::stats::Summary;

    fn report(reference: Option<&str>) -> Report {
        let row = |e: &str, m: f64, ratio: Option<f64>| Row {
            program: "fib".into(),
            engine: e.into(),
            status: Status::Ok,
            summary: Summary::of(&[m]),
            ratio,
            vs_native: None,
            vs_peers: Vec::new(),
            checksum: None,
            samples: vec![m],
        };
        Report {
            phase: "total".into(),
            runs: 1,
            warmup: 0,
            size_scale: 1.0,
            timeout_s: 1.0,
            timestamp: 0,
            reference: reference.map(str::to_string),
            native: None,
            peers: Vec::new(),
            engines: ["a", "b"]
                .iter()
                .map(|n| EngineInfo {
                    name: n.to_string(),
                    version: None,
                    skipped: None,
                })
                .collect(),
            programs: vec![ProgramInfo {
                name: "fib".into(),
                path: "fib.wasm".into(),
                size: None,
                invoke: None,
                expected: None,
            }],
            rows: vec![row("a", 1.0, Some(1.0)), row("b", 2.0, Some(2.0))],
            geomeans: vec![GeoRow {
                engine: "b".into(),
                ratio: Some(2.0),
                ratio_programs: 1,
                vs_native: None,
                vs_peers: Vec::new(),
                native_programs: 0,
            }],
        }
    }

    #[test]
    fn axis_labels() {
        assert_eq!(axis_label(100.0), "100");
        assert_eq!(axis_label(2.5), "2.5");
        assert_eq!(axis_label(1.0), "1");
        assert_eq!(axis_label(0.25), "0.25");
        assert_eq!(axis_label(0.125), "0.125");
        assert_eq!(axis_label(12.5), "12.5");
        assert_eq!(runs_text(1), "1 run");
        assert_eq!(axis_label(0.001), "1.0e-3");
    }

    #[test]
    fn svg_has_labels() {
        for reference in [Some("a"), None] {
            let s = svg(&report(reference)).unwrap();
            assert!(s.starts_with("<svg"), "{}", &s[..40.min(s.len())]);
            assert!(s.contains("fib"));
            // Legend entries are <text> elements with the engine name on a line of its own.
            assert!(s.lines().any(|l| l.trim() == "b"), "{s}");
        }
    }
}
