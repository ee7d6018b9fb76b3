//! `strata bench` end to end: a small program on strata:interp plus whatever peers of
//! `native,wasmtime` are installed (absent ones are skipped), results written to a temp dir.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn strata() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strata"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh, empty directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("strata-bench-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn bench_writes_table_csv_json_svg() {
    let out = TempDir::new("out");
    let program = repo().join("benches/programs/fib.wasm");
    let o = strata()
        .args([
            "bench",
            "--quiet",
            "--runs",
            "2",
            "--engine",
            "native,wasmtime",
        ])
        .args([
            "--tier",
            "interp",
            "--size-scale",
            "0.01",
            "--timeout",
            "60",
        ])
        .arg("--out")
        .arg(&out.0)
        .arg(&program)
        .current_dir(repo())
        .output()
        .unwrap();
    let text = show(&o);
    assert!(o.status.success(), "{text}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let fib_row = stdout
        .lines()
        .find(|l| l.starts_with("fib ") && l.contains("strata:interp"))
        .unwrap_or_else(|| panic!("no fib row for strata:interp\n{text}"));
    assert!(fib_row.trim_end().ends_with("ok"), "{fib_row}\n{text}");
    assert!(stdout.contains("geomean"), "{text}");

    let read = |name: &str| {
        std::fs::read_to_string(out.0.join(name))
            .unwrap_or_else(|e| panic!("{name} was not written: {e}\n{text}"))
    };
    let csv = read("bench.csv");
    assert!(csv.starts_with("program,engine,phase,status,"), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.starts_with("fib,strata:interp,total,ok,")),
        "{csv}"
    );
    let json = read("bench.json");
    assert!(json.contains("\"program\": \"fib\""), "{json}");
    assert!(json.contains("\"engine\": \"strata:interp\""), "{json}");
    let svg = read("bench.svg");
    assert!(svg.starts_with("<svg") && svg.contains("fib"), "{svg}");
    assert!(svg.contains("median of 2 runs"), "{svg}");
    // A native build, when clang is installed, goes under --out too.
    if std::process::Command::new("clang")
        .arg("--version")
        .output()
        .is_ok()
    {
        assert!(out.0.join("native/fib").exists(), "{text}");
    }
    assert!(read("bench.txt").contains("fib"));
}

#[test]
fn bad_input_is_a_usage_error() {
    let out = TempDir::new("bad");
    let cases: [&[&str]; 4] = [
        &["--engine", "spidermonkey"],
        &["--runs", "0"],
        &["--reference", "node", "--engine", "wasmtime"],
        &["/nonexistent/prog.wasm"],
    ];
    for args in cases {
        let o = strata()
            .args(["bench", "--quiet", "--out"])
            .arg(&out.0)
            .args(args)
            .current_dir(repo())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", show(&o));
        assert!(!o.stderr.is_empty(), "{args:?}: no message");
    }
}

#[test]
fn unavailable_tier_is_skipped_not_fatal() {
    let out = TempDir::new("tier");
    let kernel = repo().join("benches/kernels/call_overhead.wat");
    let o = strata()
        .args(["bench", "--quiet", "--runs", "1", "--engine", "none"])
        .args([
            "--tier",
            "interp,no-such-tier",
            "--size",
            "call_overhead=1000",
        ])
        .arg("--out")
        .arg(&out.0)
        .arg(&kernel)
        .current_dir(repo())
        .output()
        .unwrap();
    let text = show(&o);
    assert!(o.status.success(), "{text}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("strata:no-such-tier: skipped"), "{text}");
    assert!(stdout.contains("call_overhead"), "{text}");
}

#[test]
fn sightglass_suite_runs_checks_output_and_reports_marker_times() {
    // A relative DIR: each benchmark still finds its files from its own directory.
    let o = strata()
        .args([
            "bench",
            "--runs",
            "1",
            "--tier",
            "interp,baseline",
            // Only Strata's tiers: installed peers would change the counts.
            "--engine",
            "none",
            "--sightglass",
        ])
        .arg("harness/tests/data/sightglass-suite")
        .current_dir(repo())
        .output()
        .unwrap();
    let text = show(&o);
    // `wrong` expects other output: a failure, exit status 1.
    assert_eq!(o.status.code(), Some(1), "{text}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    for tier in ["interp", "baseline"] {
        let ok = stdout
            .lines()
            .find(|l| l.starts_with("count ") && l.contains(tier))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(ok.ends_with("ok"), "{ok}");
        let wrong = stdout
            .lines()
            .find(|l| l.starts_with("wrong ") && l.contains(tier))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(wrong.contains("stdout differs"), "{wrong}");
    }
    assert!(stdout.contains("2 of 4 benchmark runs correct"), "{text}");
}

#[test]
fn sightglass_suite_list_and_expected_files_follow_sightglass() {
    // all.suite names the benchmarks (commented lines are left out); each file's own
    // `<stem>.stdout.expected` wins over the directory's `default.stdout.expected`.
    let o = strata()
        .args([
            "bench", "--runs", "1", "--tier", "interp", "--engine", "none",
        ])
        .arg("--sightglass")
        .arg("harness/tests/data/sightglass-listed")
        .current_dir(repo())
        .output()
        .unwrap();
    let text = show(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_string()
    };
    assert!(line("first").ends_with("ok"), "{text}");
    assert!(line("second").contains("stdout differs"), "{text}");
    assert!(!stdout.contains("not-built"), "{text}");
    assert!(stdout.contains("1 of 2 benchmark runs correct"), "{text}");
}
