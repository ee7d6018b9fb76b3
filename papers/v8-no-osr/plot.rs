//! The SVG figure: time against k (log scale) for the sweep, one line per configuration.
//! Four panels: Strata (left) and node (right), CPU time (top) and wall time (bottom).
//! Dots are medians, vertical bars span min to max.

use crate::measure::{setup, SETUPS};
use crate::report::{count, points, Point, Sample, Stats};
use plotters::coord::Shift;
use plotters::prelude::*;

const WIDTH: u32 = 1200;
const HEIGHT: u32 = 900;

const BLUE: RGBColor = RGBColor(31, 119, 180);
const RED: RGBColor = RGBColor(214, 39, 40);
const GRAY: RGBColor = RGBColor(140, 140, 140);

/// Line colour, dashes and width: the same role has the same colour in both panels. Red:
/// tier-up at calls only (no OSR); blue: OSR; gray: the lowest tier alone; dashed black: the
/// top tier alone (dashed orange: Strata's middle tier, the baseline JIT). The tiered lines are wider, so they stay visible where the
/// single-tier lines lie on top of them.
fn style(engine: &str, config: &str) -> (RGBColor, bool, u32) {
    match (engine, config) {
        ("strata", "tiered") => (BLUE, false, 4),
        ("strata", "tiered-no-osr") | ("node", "default") => (RED, false, 3),
        ("strata", "interp") | ("node", "liftoff-only") => (GRAY, false, 2),
        ("strata", "opt") | ("node", "turbofan-only") => (BLACK, true, 2),
        ("strata", "baseline") => (RGBColor(255, 127, 14), true, 2),
        _ => (RGBColor(100, 60, 160), false, 2),
    }
}

#[derive(Clone, Copy)]
enum Metric {
    Cpu,
    Wall,
}

impl Metric {
    fn of(self, p: &Point) -> Stats {
        match self {
            Metric::Cpu => p.cpu,
            Metric::Wall => p.wall,
        }
    }
    fn desc(self) -> &'static str {
        match self {
            Metric::Cpu => "CPU seconds (process, user + sys)",
            Metric::Wall => "wall seconds",
        }
    }
}

/// The figure as SVG text.
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

type DrawResult<T> =
    Result<T, DrawingAreaErrorKind<<SVGBackend<'static> as DrawingBackend>::ErrorType>>;

fn draw(root: &DrawingArea<SVGBackend<'_>, Shift>, samples: &[Sample]) -> DrawResult<()> {
    root.fill(&WHITE)?;
    let pts: Vec<Point> = points(samples)
        .into_iter()
        .filter(|p| p.suite == "sweep")
        .collect();
    let total = pts.first().map_or(0, |p| p.total);
    let title = format!(
        "W = {} loop iterations split into k calls of W/k (long_loop `run`): \
         one long call (k = 1) to many short calls",
        count(total)
    );
    let root = root.titled(&title, ("sans-serif", 20))?;
    let panels = root.split_evenly((2, 2));
    for (i, area) in panels.iter().enumerate() {
        let metric = if i < 2 { Metric::Cpu } else { Metric::Wall };
        let engine = if i % 2 == 0 { "strata" } else { "node" };
        panel(area, &pts, engine, metric)?;
    }
    Ok(())
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    pts: &[Point],
    engine: &str,
    metric: Metric,
) -> DrawResult<()> {
    let mine: Vec<&Point> = pts.iter().filter(|p| p.engine == engine).collect();
    let caption = match mine.first() {
        Some(p) => format!("{}: {}", p.version, metric.desc()),
        None => format!("{engine}: not measured"),
    };
    let k_max = mine.iter().map(|p| p.k).max().unwrap_or(10).max(10) as f64;
    let y_max = mine
        .iter()
        .map(|p| metric.of(p).max)
        .fold(0.0, f64::max)
        .max(1e-3);
    // Enough decimals for about five ticks.
    let decimals = (1.0 - (y_max * 1.55 / 5.0).log10().floor()).clamp(0.0, 6.0) as usize;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 16))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((0.6f64..k_max * 1.6).log_scale(), 0f64..y_max * 1.55)?;
    chart
        .configure_mesh()
        .max_light_lines(1)
        .x_desc("k = number of calls (log scale)")
        .y_desc(metric.desc())
        .x_label_formatter(&|v| count(v.round() as u64))
        .y_label_formatter(&|v| format!("{v:.decimals$}"))
        .draw()?;

    // Configurations in the order of SETUPS; each is drawn slightly shifted along x so
    // that the min-max bars do not hide one another.
    let configs: Vec<&str> = SETUPS
        .iter()
        .filter(|s| s.engine == engine && mine.iter().any(|p| p.config == s.name))
        .map(|s| s.name)
        .collect();
    for (ci, config) in configs.iter().enumerate() {
        let setup = setup(engine, config).expect("configs come from SETUPS");
        let (color, dashed, width) = style(engine, config);
        let shift = 1.0 + 0.05 * (ci as f64 - (configs.len() as f64 - 1.0) / 2.0);
        let mut line: Vec<(f64, Stats)> = mine
            .iter()
            .filter(|p| p.config == *config)
            .map(|p| (p.k as f64 * shift, metric.of(p)))
            .collect();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        let xy: Vec<(f64, f64)> = line.iter().map(|(x, s)| (*x, s.median)).collect();
        let stroke = color.stroke_width(width);
        if dashed {
            chart
                .draw_series(DashedLineSeries::new(xy.clone(), 8, 5, stroke))?
                .label(setup.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], stroke));
        } else {
            chart
                .draw_series(LineSeries::new(xy.clone(), stroke))?
                .label(setup.label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], stroke));
        }
        chart.draw_series(
            xy.iter()
                .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
        )?;
        chart.draw_series(line.iter().map(|(x, s)| {
            PathElement::new(vec![(*x, s.min), (*x, s.max)], color.stroke_width(1))
        }))?;
    }
    if !configs.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()?;
    }
    Ok(())
}
