//! The SVG figure: for each program (and the geometric mean), one bar per mode with its time
//! relative to the e-graph on (1 = no change, above 1 = slower without what the mode turned
//! off). Two panels: execution CPU time (top) and compile CPU time (bottom).

use crate::report::{geomean_ratio, modes, programs, ratio, Metric, Sample};
use plotters::coord::Shift;
use plotters::prelude::*;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 900;

/// One colour per mode after `on` (tab10).
const COLORS: [RGBColor; 8] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

type DrawResult<T> =
    Result<T, DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>>;

pub fn svg(samples: &[Sample]) -> Result<String, String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, samples).map_err(|e| format!("plotting failed: {e}"))?;
        root.present()
            .map_err(|e| format!("plotting failed: {e}"))?;
    }
    Ok(buf)
}

fn draw(root: &DrawingArea<SVGBackend<'_>, Shift>, samples: &[Sample]) -> DrawResult<()> {
    root.fill(&WHITE)?;
    let rounds = samples.iter().map(|s| s.round + 1).max().unwrap_or(0);
    let title = format!(
        "Strata --tier opt: time with a mid-end switch over time with the e-graph on \
         (median of {rounds} rounds, CPU seconds)"
    );
    let root = root.titled(&title, ("sans-serif", 20))?;
    let (top, bottom) = root.split_vertically(HEIGHT / 2 - 10);
    panel(&top, samples, Metric::ExecuteCpu, "execution", true)?;
    panel(&bottom, samples, Metric::CompileCpu, "compilation", false)?;
    Ok(())
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    samples: &[Sample],
    metric: Metric,
    what: &str,
    legend: bool,
) -> DrawResult<()> {
    let modes: Vec<&str> = modes(samples).into_iter().filter(|m| *m != "on").collect();
    let mut groups: Vec<(String, Vec<Option<f64>>)> = programs(samples)
        .into_iter()
        .map(|p| {
            let rs = modes
                .iter()
                .map(|m| ratio(samples, &p, m, metric))
                .collect();
            (p, rs)
        })
        .collect();
    groups.push((
        "geomean".into(),
        modes
            .iter()
            .map(|m| geomean_ratio(samples, m, metric))
            .collect(),
    ));
    let values = groups
        .iter()
        .flat_map(|(_, rs)| rs.iter().flatten().copied());
    let (lo, hi) = values.fold((1.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    // Room around the data; 1.0 is always in view.
    let pad = ((hi - lo) * 0.12).max(0.02);
    let (y0, y1) = ((lo - pad).max(0.0), hi + pad);
    let n = groups.len();
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{what}: time in mode / time with the e-graph on"),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..n as f64, y0..y1)?;
    let names: Vec<String> = groups.iter().map(|(p, _)| p.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x| {
            // Labels only at group centres (x = i + 0.5).
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 1e-6 {
                names.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("ratio to e-graph on")
        .y_label_formatter(&|v| format!("{v:.2}"))
        .draw()?;
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, 1.0), (n as f64, 1.0)],
        BLACK.stroke_width(1),
    )))?;
    let width = 0.8 / modes.len().max(1) as f64;
    for (mi, mode) in modes.iter().enumerate() {
        let color = COLORS[mi % COLORS.len()];
        let bars: Vec<Rectangle<(f64, f64)>> = groups
            .iter()
            .enumerate()
            .filter_map(|(gi, (_, rs))| {
                let r = rs[mi]?;
                let x = gi as f64 + 0.1 + mi as f64 * width;
                Some(Rectangle::new(
                    [(x, 1.0), (x + width * 0.9, r)],
                    color.filled(),
                ))
            })
            .collect();
        let series = chart.draw_series(bars)?;
        if legend {
            series.label(*mode).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
            });
        }
    }
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .draw()?;
    }
    Ok(())
}
