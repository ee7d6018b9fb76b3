//! The wasmtime peer over the PyPI package's C library (`benches/peers/wasmtime-py.py`): its
//! command-line contract, and `strata bench` using it for `wasmtime` / `wasmtime-winch` when
//! no `wasmtime` binary is on `$PATH`. Each test prints why and returns when `python3` cannot
//! import the `wasmtime` package (the CI does not install it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn data(name: &str) -> String {
    format!("harness/tests/data/{name}")
}

/// Why the peer cannot run here, if it cannot.
fn unavailable() -> Option<String> {
    match Command::new("python3")
        .args(["-c", "import wasmtime"])
        .output()
    {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "python3 cannot import the `wasmtime` package: {}",
            // The exception's own line, not the whole traceback.
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .rfind(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
        )),
        Err(e) => Some(format!("no python3: {e}")),
    }
}

macro_rules! require_peer {
    () => {
        if let Some(why) = unavailable() {
            eprintln!("skipped: {why} (pip install wasmtime==48.0.0)");
            return;
        }
    };
}

fn peer(args: &[&str]) -> Output {
    Command::new("python3")
        .arg("benches/peers/wasmtime-py.py")
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn runs_wasi_programs_and_invokes_exports_on_both_compilers() {
    require_peer!();
    for strategy in ["cranelift", "winch"] {
        // argv[0] is the file as given; the exit status is the program's (argc).
        let file = data("echo_args.wat");
        let o = peer(&["--strategy", strategy, &file, "one", "--two"]);
        assert_eq!(stdout(&o), format!("{file}\none\n--two\n"), "{}", show(&o));
        assert_eq!(o.status.code(), Some(3), "{}", show(&o));

        // proc_exit's status.
        let o = peer(&["--strategy", strategy, &data("hello.wat")]);
        assert_eq!(stdout(&o), "hello from strata\n", "{}", show(&o));
        assert_eq!(o.status.code(), Some(7), "{}", show(&o));

        // --invoke: one result per line, i64 signed as wasmtime prints it.
        let o = peer(&[
            "--strategy",
            strategy,
            "--invoke",
            "add",
            &data("arith.wat"),
            "2",
            "3",
        ]);
        assert_eq!(stdout(&o), "5\n", "{}", show(&o));
        assert!(o.status.success(), "{}", show(&o));
    }
}

#[test]
fn reports_phase_times_compile_only_and_sightglass_markers() {
    require_peer!();
    let o = peer(&[
        "--phase-times",
        "--invoke",
        "add",
        &data("arith.wat"),
        "1",
        "1",
    ]);
    assert!(o.status.success(), "{}", show(&o));
    let line = stderr(&o);
    let line = line
        .lines()
        .find(|l| l.starts_with("phase-times "))
        .unwrap_or_else(|| panic!("{}", show(&o)));
    for key in ["compile_ns=", "instantiate_ns=", "execute_ns="] {
        assert!(line.contains(key), "{line}");
    }

    let o = peer(&["--strategy", "winch", "--compile-only", &data("arith.wat")]);
    assert!(o.status.success(), "{}", show(&o));
    assert!(stdout(&o).is_empty(), "{}", show(&o));
    let err = stderr(&o);
    let ns: u64 = err
        .trim()
        .strip_prefix("phase-times compile_ns=")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", show(&o)));
    assert!(ns > 0, "{err}");

    // bench.start / bench.end are provided and their interval reported as strata run does.
    let o = peer(&[&data("sightglass.wat")]);
    assert!(o.status.success(), "{}", show(&o));
    let err = stderr(&o);
    let ns = err
        .lines()
        .find_map(|l| l.strip_prefix("bench-markers ns="))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("{}", show(&o)));
    assert!(ns > 0, "{err}");
}

#[test]
fn bad_input_gets_a_clear_error_and_the_usual_exit_status() {
    require_peer!();
    // usage errors: 2
    for args in [
        &["--bogus", "x.wasm"][..],
        &["--strategy", "llvm", "x.wasm"],
        &[],
        &["--invoke", "add", "harness/tests/data/arith.wat", "1"],
        &["--invoke", "add", "harness/tests/data/arith.wat", "x", "1"],
        &["--invoke", "nope", "harness/tests/data/arith.wat"],
    ] {
        let o = peer(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", show(&o));
        assert!(
            stderr(&o).contains("wasmtime-py: "),
            "{args:?}: {}",
            show(&o)
        );
    }
    // unreadable or invalid modules: 1
    let o = peer(&["/nonexistent/prog.wasm"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("cannot read"), "{}", show(&o));
    let o = peer(&["harness/tests/data/sightglass-suite/count/benchmark.stdout.expected"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(stderr(&o).contains("cannot compile"), "{}", show(&o));
    // a trap: 134, as wasmtime's CLI and strata run
    let o = peer(&["--invoke", "boom", &data("arith.wat")]);
    assert_eq!(o.status.code(), Some(134), "{}", show(&o));
    assert!(stderr(&o).contains("unreachable"), "{}", show(&o));
}

/// `strata bench` picks the wrapper when no `wasmtime` binary is installed.
fn bench_uses_the_wrapper() -> bool {
    let cli = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("wasmtime").is_file()));
    if cli {
        eprintln!("skipped: a `wasmtime` binary is on PATH, so strata bench uses it instead");
    }
    !cli
}

#[test]
fn bench_runs_wasmtime_peers_through_the_wrapper() {
    require_peer!();
    if !bench_uses_the_wrapper() {
        return;
    }
    let out = std::env::temp_dir().join(format!("strata-peer-py-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    // The execution phase, which only engines reporting phase times can give.
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["bench", "--quiet", "--runs", "1", "--tier", "none"])
        .args(["--engine", "wasmtime,wasmtime-winch", "--phase", "execute"])
        .args(["--size", "call_overhead=1000"])
        .arg("--out")
        .arg(&out)
        .arg("benches/kernels/call_overhead.wat")
        .current_dir(repo())
        .output()
        .unwrap();
    let text = show(&o);
    assert!(o.status.success(), "{text}");
    let json = std::fs::read_to_string(out.join("bench-execute.json"))
        .unwrap_or_else(|e| panic!("no bench-execute.json: {e}\n{text}"));
    let _ = std::fs::remove_dir_all(&out);
    assert!(json.contains("(C API via PyPI)"), "{json}");
    let stdout = stdout(&o);
    for engine in ["wasmtime", "wasmtime-winch"] {
        // The program's rows: the program name, then one row per engine (name left blank).
        let row = stdout
            .lines()
            .find(|l| {
                let mut cols = l.split_whitespace();
                let first = cols.next();
                (first == Some(engine)
                    || first == Some("call_overhead") && cols.next() == Some(engine))
                    && l.trim_end().ends_with("ok")
            })
            .unwrap_or_else(|| panic!("no {engine} row\n{text}"));
        assert!(row.trim_end().ends_with("ok"), "{row}\n{text}");
    }

    // Sightglass: the wrapper takes the markers, so peers get marker times too.
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["bench", "--runs", "1", "--tier", "none"])
        .args(["--engine", "wasmtime,wasmtime-winch", "--sightglass"])
        .arg("harness/tests/data/sightglass-suite")
        .current_dir(repo())
        .output()
        .unwrap();
    let text = show(&o);
    // `wrong` prints other output than expected: exit status 1.
    assert_eq!(o.status.code(), Some(1), "{text}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    for engine in ["wasmtime ", "wasmtime-winch "] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with("count ") && l.contains(engine))
            .unwrap_or_else(|| panic!("no count row for {engine}\n{text}"));
        assert!(row.contains("markers") && row.ends_with("ok"), "{row}");
    }
    assert!(stdout.contains("2 of 4 benchmark runs correct"), "{text}");
}
