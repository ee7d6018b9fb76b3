//! The results of a run as a printed table, CSV and JSON.

use super::engines::Engine;
use super::programs::Program;
use super::runner::{Cell, Status};
use super::stats::{geomean, Summary};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// An engine that was asked for.
#[derive(Clone, Debug)]
pub struct EngineInfo {
    pub name: String,
    pub version: Option<String>,
    /// Why it did not run at all (e.g. "not found (...)").
    pub skipped: Option<String>,
}

/// A program as it was run.
#[derive(Clone, Debug)]
pub struct ProgramInfo {
    pub name: String,
    pub path: String,
    pub size: Option<u64>,
    pub invoke: Option<String>,
    pub expected: Option<String>,
}

/// One (program, engine) result.
#[derive(Clone, Debug)]
pub struct Row {
    pub program: String,
    pub engine: String,
    pub status: Status,
    pub summary: Option<Summary>,
    /// Median / the reference engine's median on the same program.
    pub ratio: Option<f64>,
    /// Median / native's median on the same program.
    pub vs_native: Option<f64>,
    /// Median / each of `Report::peers`' medians on the same program.
    pub vs_peers: Vec<Option<f64>>,
    pub checksum: Option<String>,
    pub samples: Vec<f64>,
}

/// The geometric mean of one engine's ratios over the programs where both it and the
/// reference (or native) have times.
#[derive(Clone, Debug)]
pub struct GeoRow {
    pub engine: String,
    pub ratio: Option<f64>,
    pub ratio_programs: usize,
    pub vs_native: Option<f64>,
    pub native_programs: usize,
    /// Geomean of the ratios to each of `Report::peers`.
    pub vs_peers: Vec<Option<f64>>,
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct Report {
    pub phase: String,
    pub runs: usize,
    pub warmup: usize,
    pub size_scale: f64,
    pub timeout_s: f64,
    /// Seconds since the Unix epoch when the report was made.
    pub timestamp: u64,
    pub reference: Option<String>,
    /// `Some("native")` when a vs-native column is shown.
    pub native: Option<String>,
    /// Peer engines every row is also compared with (wasmi, wasmtime), besides the reference.
    pub peers: Vec<String>,
    pub engines: Vec<EngineInfo>,
    pub programs: Vec<ProgramInfo>,
    pub rows: Vec<Row>,
    pub geomeans: Vec<GeoRow>,
}

/// Run-level settings recorded in the report.
pub struct Meta {
    pub phase: String,
    pub runs: usize,
    pub warmup: usize,
    pub size_scale: f64,
    pub timeout_s: f64,
}

impl Report {
    /// Builds the report; `reference` must be the name of an available engine, if any.
    pub fn new(
        meta: Meta,
        programs: &[Program],
        engines: &[Engine],
        cells: &[Vec<Cell>],
        reference: Option<&str>,
    ) -> Report {
        let native = engines
            .iter()
            .find(|e| e.name == "native" && e.is_available() && Some("native") != reference)
            .map(|e| e.name.clone());
        // The peers the issue asks every tier to be compared with: wasmi and wasmtime.
        let peers: Vec<String> = [&["wasmi-eager", "wasmi-lazy"][..], &["wasmtime"][..]]
            .iter()
            .filter_map(|names| {
                names.iter().find(|n| {
                    Some(**n) != reference
                        && engines.iter().any(|e| e.name == **n && e.is_available())
                })
            })
            .map(|n| n.to_string())
            .collect();
        let timed = |row: &[Cell], name: &str| -> Option<f64> {
            let i = engines.iter().position(|e| e.name == name)?;
            let c = &row[i];
            if c.status().has_times() {
                Summary::of(&c.samples).map(|s| s.median)
            } else {
                None
            }
        };
        let mut rows = Vec::new();
        for (p, row) in programs.iter().zip(cells) {
            let ref_median = reference.and_then(|r| timed(row, r));
            let native_median = native.as_deref().and_then(|n| timed(row, n));
            let peer_medians: Vec<Option<f64>> = peers.iter().map(|p| timed(row, p)).collect();
            for (e, c) in engines.iter().zip(row) {
                if !e.is_available() {
                    continue;
                }
                let status = c.status();
                let summary = if status.has_times() {
                    Summary::of(&c.samples)
                } else {
                    None
                };
                let m = summary.map(|s| s.median);
                let div = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                    _ => None,
                };
                rows.push(Row {
                    program: p.name.clone(),
                    engine: e.name.clone(),
                    ratio: div(m, ref_median),
                    vs_native: div(m, native_median),
                    vs_peers: peer_medians.iter().map(|p| div(m, *p)).collect(),
                    checksum: c.checksums.iter().flatten().next().cloned(),
                    samples: c.samples.clone(),
                    summary,
                    status,
                });
            }
        }
        let geomeans = engines
            .iter()
            .filter(|e| e.is_available())
            .map(|e| {
                let mine = rows.iter().filter(|r| r.engine == e.name);
                let ratios: Vec<f64> = mine.clone().filter_map(|r| r.ratio).collect();
                let natives: Vec<f64> = mine.filter_map(|r| r.vs_native).collect();
                let vs_peers = (0..peers.len())
                    .map(|k| {
                        let v: Vec<f64> = rows
                            .iter()
                            .filter(|r| r.engine == e.name)
                            .filter_map(|r| r.vs_peers[k])
                            .collect();
                        geomean(&v)
                    })
                    .collect();
                GeoRow {
                    engine: e.name.clone(),
                    ratio: geomean(&ratios),
                    ratio_programs: ratios.len(),
                    vs_native: geomean(&natives),
                    native_programs: natives.len(),
                    vs_peers,
                }
            })
            .collect();
        Report {
            phase: meta.phase,
            runs: meta.runs,
            warmup: meta.warmup,
            size_scale: meta.size_scale,
            timeout_s: meta.timeout_s,
            timestamp: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            reference: reference.map(str::to_string),
            native,
            peers,
            engines: engines
                .iter()
                .map(|e| EngineInfo {
                    name: e.name.clone(),
                    version: e.version.clone(),
                    skipped: e.launcher.as_ref().err().cloned(),
                })
                .collect(),
            programs: programs
                .iter()
                .map(|p| ProgramInfo {
                    name: p.name.clone(),
                    path: display_path(&p.source),
                    size: p.size,
                    invoke: p.invoke.clone(),
                    expected: p.expected.clone(),
                })
                .collect(),
            rows,
            geomeans,
        }
    }

    pub fn has_errors(&self) -> bool {
        self.rows.iter().any(|r| r.status.is_error())
    }
}

/// `1.234s`, `12.3ms`, `45.6us`.
pub fn fmt_secs(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.3}s")
    } else if s >= 1e-3 {
        format!("{:.1}ms", s * 1e3)
    } else {
        format!("{:.1}us", s * 1e6)
    }
}

fn fmt_ratio(r: Option<f64>) -> String {
    match r {
        Some(r) if r >= 100.0 => format!("{r:.0}x"),
        Some(r) if r >= 10.0 => format!("{r:.1}x"),
        Some(r) => format!("{r:.2}x"),
        None => "-".into(),
    }
}

/// Left-aligns the first `left` and the last `trailing` columns (names, free text) and
/// right-aligns the others (numbers).
pub fn render(header: &[String], rows: &[Vec<String>], left: usize, trailing: usize) -> String {
    let n = header.len();
    let mut width = vec![0; n];
    for r in std::iter::once(header).chain(rows.iter().map(Vec::as_slice)) {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, r: &[String]| {
        let mut s = String::new();
        for (i, c) in r.iter().enumerate() {
            let pad = width[i] - c.chars().count();
            if i > 0 {
                s.push_str("  ");
            }
            if i < left || i + trailing >= n {
                s.push_str(c);
                if i != n - 1 {
                    s.push_str(&" ".repeat(pad));
                }
            } else {
                s.push_str(&" ".repeat(pad));
                s.push_str(c);
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&mut out, header);
    let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
    line(&mut out, &rule);
    for r in rows {
        line(&mut out, r);
    }
    out
}

/// The human-readable table (also written as `<stem>.txt`).
pub fn table(r: &Report) -> String {
    let mut out = String::new();
    let ref_col = r
        .reference
        .as_deref()
        .map_or("ratio".to_string(), |e| format!("vs {e}"));
    let mut header: Vec<String> = ["program", "engine", "median", "min", "max", &ref_col]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(r.peers.iter().map(|p| format!("vs {p}")));
    if r.native.is_some() {
        header.push("vs native".into());
    }
    header.push("status".into());
    let mut rows = Vec::new();
    let mut last_program = "";
    for row in &r.rows {
        let program = if row.program == last_program {
            String::new()
        } else {
            row.program.clone()
        };
        last_program = &row.program;
        let t =
            |f: fn(&Summary) -> f64| row.summary.as_ref().map_or("-".into(), |s| fmt_secs(f(s)));
        let mut cells = vec![
            program,
            row.engine.clone(),
            t(|s| s.median),
            t(|s| s.min),
            t(|s| s.max),
            fmt_ratio(row.ratio),
        ];
        cells.extend(row.vs_peers.iter().map(|v| fmt_ratio(*v)));
        if r.native.is_some() {
            cells.push(fmt_ratio(row.vs_native));
        }
        cells.push(row.status.label());
        rows.push(cells);
    }
    for (i, g) in r.geomeans.iter().enumerate() {
        let mut cells = vec![
            if i == 0 {
                "geomean".into()
            } else {
                String::new()
            },
            g.engine.clone(),
            String::new(),
            String::new(),
            String::new(),
            fmt_ratio(g.ratio),
        ];
        cells.extend(g.vs_peers.iter().map(|v| fmt_ratio(*v)));
        if r.native.is_some() {
            cells.push(fmt_ratio(g.vs_native));
        }
        cells.push(format!("over {} program(s)", g.ratio_programs));
        rows.push(cells);
    }
    let _ = writeln!(
        out,
        "phase: {}, {} run(s){}, size scale {}, reference: {}",
        r.phase,
        r.runs,
        if r.warmup > 0 {
            format!(" after {} warm-up(s)", r.warmup)
        } else {
            String::new()
        },
        r.size_scale,
        r.reference.as_deref().unwrap_or("none")
    );
    for e in &r.engines {
        if let Some(why) = &e.skipped {
            let _ = writeln!(out, "{}: skipped ({why})", e.name);
        }
    }
    out.push_str(&render(&header, &rows, 2, 1));
    out
}

/// `{"wasmtime": 1.2, ...}`: ratios to the report's peers.
fn peers_json(peers: &[String], ratios: &[Option<f64>]) -> String {
    let fields: Vec<String> = peers
        .iter()
        .zip(ratios)
        .map(|(p, v)| format!("{}: {}", json_str(p), json_num(*v)))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt_num(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v}"))
}

/// One line per (program, engine), then one `geomean` line per engine. Times in seconds.
pub fn csv(r: &Report) -> String {
    let mut out = String::from(
        "program,engine,phase,status,detail,runs,median_s,min_s,max_s,ratio,reference,vs_native,checksum,samples_s\n",
    );
    for row in &r.rows {
        let s = row.summary.as_ref();
        let fields = [
            row.program.clone(),
            row.engine.clone(),
            r.phase.clone(),
            row.status.code().into(),
            row.status.label(),
            row.samples.len().to_string(),
            opt_num(s.map(|s| s.median)),
            opt_num(s.map(|s| s.min)),
            opt_num(s.map(|s| s.max)),
            opt_num(row.ratio),
            r.reference.clone().unwrap_or_default(),
            opt_num(row.vs_native),
            row.checksum.clone().unwrap_or_default(),
            row.samples
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(" "),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    for g in &r.geomeans {
        let fields = [
            "geomean".to_string(),
            g.engine.clone(),
            r.phase.clone(),
            String::new(),
            format!("over {} program(s)", g.ratio_programs),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            opt_num(g.ratio),
            r.reference.clone().unwrap_or_default(),
            opt_num(g.vs_native),
            String::new(),
            String::new(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A JSON number, or `null` for none / non-finite.
pub fn json_num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v}"),
        _ => "null".into(),
    }
}

pub fn json_opt_str(v: Option<&str>) -> String {
    v.map_or("null".into(), json_str)
}

/// The whole report as JSON (times in seconds).
pub fn json(r: &Report) -> String {
    let mut o = String::from("{\n");
    let _ = writeln!(o, "  \"phase\": {},", json_str(&r.phase));
    let _ = writeln!(o, "  \"runs\": {},", r.runs);
    let _ = writeln!(o, "  \"warmup\": {},", r.warmup);
    let _ = writeln!(o, "  \"size_scale\": {},", json_num(Some(r.size_scale)));
    let _ = writeln!(o, "  \"timeout_s\": {},", json_num(Some(r.timeout_s)));
    let _ = writeln!(o, "  \"timestamp\": {},", r.timestamp);
    let _ = writeln!(
        o,
        "  \"reference\": {},",
        json_opt_str(r.reference.as_deref())
    );
    o.push_str("  \"engines\": [\n");
    let engines: Vec<String> = r
        .engines
        .iter()
        .map(|e| {
            format!(
                "    {{\"name\": {}, \"version\": {}, \"available\": {}, \"skipped\": {}}}",
                json_str(&e.name),
                json_opt_str(e.version.as_deref()),
                e.skipped.is_none(),
                json_opt_str(e.skipped.as_deref())
            )
        })
        .collect();
    o.push_str(&engines.join(",\n"));
    o.push_str("\n  ],\n  \"programs\": [\n");
    let programs: Vec<String> = r
        .programs
        .iter()
        .map(|p| {
            format!(
                "    {{\"name\": {}, \"path\": {}, \"size\": {}, \"invoke\": {}, \"expected\": {}}}",
                json_str(&p.name),
                json_str(&p.path),
                p.size.map_or("null".into(), |s| s.to_string()),
                json_opt_str(p.invoke.as_deref()),
                json_opt_str(p.expected.as_deref())
            )
        })
        .collect();
    o.push_str(&programs.join(",\n"));
    o.push_str("\n  ],\n  \"results\": [\n");
    let rows: Vec<String> = r
        .rows
        .iter()
        .map(|row| {
            let s = row.summary.as_ref();
            let samples: Vec<String> = row.samples.iter().map(|x| json_num(Some(*x))).collect();
            format!(
                "    {{\"program\": {}, \"engine\": {}, \"status\": {}, \"detail\": {}, \
                 \"median_s\": {}, \"min_s\": {}, \"max_s\": {}, \"ratio\": {}, \
                 \"vs_native\": {}, \"vs_peers\": {}, \"checksum\": {}, \"samples_s\": [{}]}}",
                json_str(&row.program),
                json_str(&row.engine),
                json_str(row.status.code()),
                json_str(&row.status.label()),
                json_num(s.map(|s| s.median)),
                json_num(s.map(|s| s.min)),
                json_num(s.map(|s| s.max)),
                json_num(row.ratio),
                json_num(row.vs_native),
                peers_json(&r.peers, &row.vs_peers),
                json_opt_str(row.checksum.as_deref()),
                samples.join(", ")
            )
        })
        .collect();
    o.push_str(&rows.join(",\n"));
    o.push_str("\n  ],\n  \"geomean\": [\n");
    let geo: Vec<String> = r
        .geomeans
        .iter()
        .map(|g| {
            format!(
                "    {{\"engine\": {}, \"ratio\": {}, \"ratio_programs\": {}, \"vs_native\": {}, \
                 \"native_programs\": {}, \"vs_peers\": {}}}",
                json_str(&g.engine),
                json_num(g.ratio),
                g.ratio_programs,
                json_num(g.vs_native),
                g.native_programs,
                peers_json(&r.peers, &g.vs_peers)
            )
        })
        .collect();
    o.push_str(&geo.join(",\n"));
    o.push_str("\n  ]\n}\n");
    o
}

/// Writes `text` to `dir/name`, creating `dir`.
pub fn write_file(dir: &Path, name: &str, text: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// A program's path as reports show it: relative to the working directory when it lies
/// below it, so results committed to the repository name no machine's paths.
fn display_path(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting() {
        assert_eq!(fmt_secs(1.5), "1.500s");
        assert_eq!(fmt_secs(0.0123), "12.3ms");
        assert_eq!(fmt_secs(0.0000456), "45.6us");
        assert_eq!(fmt_ratio(Some(2.345)), "2.35x");
        assert_eq!(fmt_ratio(None), "-");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(json_str("a\"b\n"), "\"a\\\"b\\n\"");
        assert_eq!(json_num(Some(f64::NAN)), "null");
    }

    #[test]
    fn table_alignment() {
        let t = render(
            &["a".into(), "num".into(), "text".into()],
            &[vec!["xyz".into(), "1".into(), "long text".into()]],
            1,
            1,
        );
        assert_eq!(
            t,
            "a    num  text\n---  ---  ---------\nxyz    1  long text\n"
        );
    }
}
