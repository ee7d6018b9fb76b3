//! `strata run`, end to end: the built binary on WASI programs and `--invoke`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .expect("the strata binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("strata-cli-run-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn str(&self) -> &str {
        self.0.to_str().expect("temp dir path is UTF-8")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn wasi_program_prints_and_exits_with_proc_exit_status() {
    let o = strata(&["run", &data("hello.wat")]);
    assert_eq!(stdout(&o), "hello from strata\n");
    assert_eq!(o.status.code(), Some(7), "stderr: {}", stderr(&o));
}

#[test]
fn wasi_program_gets_argv_and_only_the_given_environment() {
    let file = data("echo_args.wat");
    let o = strata(&[
        "run",
        "--env",
        "GREETING=hi there",
        "--env",
        "EMPTY=",
        &file,
        "one",
        "--two",
        "-3",
        "--dir",
    ]);
    // argv[0] is the file as given; everything after it belongs to the program.
    assert_eq!(
        stdout(&o),
        format!("{file}\none\n--two\n-3\n--dir\nGREETING=hi there\nEMPTY=\n")
    );
    assert_eq!(o.status.code(), Some(5), "stderr: {}", stderr(&o));
}

#[test]
fn invoke_parses_arguments_by_type_and_prints_results() {
    let file = data("arith.wat");
    let o = strata(&["run", "--invoke", "add", &file, "2", "-5"]);
    assert_eq!((stdout(&o).as_str(), o.status.code()), ("-3\n", Some(0)));

    let o = strata(&["run", "--invoke", "add", &file, "0x7fffffff", "1"]);
    assert_eq!(stdout(&o), "-2147483648\n");

    let o = strata(&["run", "--invoke", "mul64", &file, "-3", "0x100000000"]);
    assert_eq!(
        (stdout(&o).as_str(), o.status.code()),
        ("-12884901888\n", Some(0))
    );

    let o = strata(&["run", "--invoke", "scale", &file, "1.5", "-0.25"]);
    assert_eq!(stdout(&o), "-0.375\n");
    let o = strata(&["run", "--invoke", "scale", &file, "inf", "-1"]);
    assert_eq!(stdout(&o), "-inf\n");
    let o = strata(&["run", "--invoke", "scale", &file, "nan", "2"]);
    assert_eq!(stdout(&o), "NaN\n");

    let o = strata(&["run", "--invoke", "divmod", &file, "-7", "2"]);
    assert_eq!(stdout(&o), "-3\n-1\n");
    let o = strata(&["run", "--invoke", "to_f32", &file, "16777217"]);
    assert_eq!(stdout(&o), "16777216\n");
}

#[test]
fn trap_prints_error_with_backtrace_and_exits_134() {
    let o = strata(&["run", "--invoke", "boom", &data("arith.wat")]);
    assert_eq!(o.status.code(), Some(134));
    let err = stderr(&o);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("unreachable"), "{err}");
    assert!(err.contains("wasm backtrace:"), "{err}");
    assert!(err.contains("explode"), "{err}");
    assert!(err.contains("middle"), "{err}");

    // Integer division by zero, through --invoke too.
    let o = strata(&["run", "--invoke", "divmod", &data("arith.wat"), "1", "0"]);
    assert_eq!(o.status.code(), Some(134));
    assert!(
        stderr(&o).contains("integer divide by zero"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_file_is_a_clean_error() {
    let o = strata(&["run", "/nonexistent/dir/prog.wasm"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.starts_with("error: cannot read /nonexistent/dir/prog.wasm: "),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn invalid_module_and_unknown_imports_exit_1() {
    let t = TempDir::new("invalid");
    let bad = t.path().join("bad.wat");
    fs::write(&bad, "(module (func").unwrap();
    let o = strata(&["run", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("compile error"), "{}", stderr(&o));

    let env = t.path().join("env.wat");
    fs::write(
        &env,
        r#"(module (import "env" "host_thing" (func)) (func (export "_start")))"#,
    )
    .unwrap();
    let o = strata(&["run", env.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("link error"), "{err}");
    assert!(err.contains("`env`.`host_thing`"), "{err}");

    // The markers are linked by name; a wrong type is named in the text format.
    let marker = t.path().join("marker.wat");
    fs::write(
        &marker,
        r#"(module (import "bench" "start" (func (param i32))) (func (export "_start")))"#,
    )
    .unwrap();
    let o = strata(&["run", marker.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("`bench`.`start`"), "{err}");
    assert!(
        err.contains("expected (func (param i32)), found (func)"),
        "{err}"
    );

    let reactor = t.path().join("no_start.wat");
    fs::write(&reactor, r#"(module (func (export "f")))"#).unwrap();
    let o = strata(&["run", reactor.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("_start"), "{}", stderr(&o));
}

#[test]
fn unimplemented_wasi_functions_link_as_enosys_stubs() {
    let t = TempDir::new("stubs");
    let file = t.path().join("stubs.wat");
    fs::write(
        &file,
        r#"(module
             (import "wasi_snapshot_preview1" "sock_accept"
               (func $accept (param i32 i32 i32) (result i32)))
             (import "wasi_snapshot_preview1" "not_in_preview1" (func $other (result i32)))
             (import "wasi_snapshot_preview1" "proc_raise" (func $raise (param i32) (result i32)))
             (func (export "call_all") (result i32 i32 i32)
               (call $accept (i32.const 0) (i32.const 0) (i32.const 0))
               (call $other)
               (call $raise (i32.const 6))))"#,
    )
    .unwrap();
    let o = strata(&["run", "--invoke", "call_all", file.to_str().unwrap()]);
    assert_eq!(stdout(&o), "52\n52\n52\n", "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn bad_invoke_arguments_exit_2() {
    let file = data("arith.wat");
    let o = strata(&["run", "--invoke", "add", &file, "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("takes 2 arguments"), "{}", stderr(&o));

    let o = strata(&["run", "--invoke", "add", &file, "1", "2", "3"]);
    assert_eq!(o.status.code(), Some(2));

    let o = strata(&["run", "--invoke", "add", &file, "1", "two"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot parse `two` as i32"),
        "{}",
        stderr(&o)
    );

    let o = strata(&["run", "--invoke", "add", &file, "1", "4294967296"]);
    assert_eq!(o.status.code(), Some(2));

    let o = strata(&["run", "--invoke", "scale", &file, "1.5", "x"]);
    assert_eq!(o.status.code(), Some(2));

    let o = strata(&["run", "--invoke", "missing", &file]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("no function `missing`") && err.contains("add"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn bad_options_exit_2() {
    let file = data("arith.wat");
    let o = strata(&["run", "--tier", "bogus", "--invoke", "add", &file, "1", "2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bogus"), "{}", stderr(&o));

    let o = strata(&["run", "--bounds-checks", "maybe", &file]);
    assert_eq!(o.status.code(), Some(2));

    let o = strata(&["run", "--env", "NOEQUALS", &file]);
    assert_eq!(o.status.code(), Some(2));

    let o = strata(&[
        "run",
        "--dir",
        "/nonexistent/strata/dir",
        &data("hello.wat"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot open directory"),
        "{}",
        stderr(&o)
    );

    let o = strata(&["run", "--no-such-option", &file]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown option"), "{}", stderr(&o));

    let o = strata(&["run"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn help_documents_exit_statuses() {
    let o = strata(&["run", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = stdout(&o);
    assert!(help.contains("--invoke") && help.contains("--dir") && help.contains("--env"));
    assert!(help.contains("134"), "{help}");
}

#[test]
fn sandbox_refuses_paths_that_leave_the_preopened_directory() {
    let t = TempDir::new("sandbox");
    let root = t.path().join("root");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::write(t.path().join("outside"), "secret\n").unwrap();
    fs::write(root.join("inside.txt"), "inside\n").unwrap();
    std::os::unix::fs::symlink("../outside", root.join("escape")).unwrap();
    let dir = format!("{}::/sandbox", root.display());
    let file = data("sandbox.wat");
    let cat =
        |ptr: &str, len: &str| strata(&["run", "--dir", &dir, "--invoke", "cat", &file, ptr, len]);

    // A path inside works.
    let o = cat("384", "10");
    assert_eq!(stdout(&o), "inside\n0\n", "stderr: {}", stderr(&o));

    // `..` above the root, an absolute path, `..` after a subdirectory, and a symbolic link
    // out of the sandbox are all ENOTCAPABLE (76), and nothing of the secret is printed.
    for (ptr, len) in [("256", "10"), ("288", "11"), ("320", "17"), ("352", "6")] {
        let o = cat(ptr, len);
        assert_eq!(stdout(&o), "76\n", "path at {ptr}; stderr: {}", stderr(&o));
        assert_eq!(o.status.code(), Some(0));
    }

    // Without --dir there is no descriptor 3 at all.
    let o = strata(&["run", "--invoke", "cat", &file, "384", "10"]);
    assert_eq!(stdout(&o), "8\n"); // EBADF
}

#[test]
fn guest_pointers_outside_memory_are_efault() {
    let o = strata(&["run", "--invoke", "bad_pointer", &data("sandbox.wat")]);
    assert_eq!(stdout(&o), "21\n", "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));
}

/// The C demo (printf, malloc, argv, environment, clocks, file I/O in a preopened
/// directory), built by clang for wasm32-wasi; see tests/wasi/README.md.
#[test]
fn wasi_c_demo() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wasi");
    let wasm = dir.join("wasi_demo.wasm");
    if !wasm.exists() {
        eprintln!(
            "note: skipping wasi_c_demo: {} is not there yet",
            wasm.display()
        );
        return;
    }
    let expected = fs::read_to_string(dir.join("expected_stdout.txt"))
        .expect("tests/wasi/expected_stdout.txt accompanies wasi_demo.wasm");
    let sandbox = TempDir::new("demo");
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .current_dir(&dir)
        .args([
            "run",
            "--dir",
            &format!("{}::/sandbox", sandbox.str()),
            "--env",
            "STRATA_DEMO=42",
            "wasi_demo.wasm",
            "/sandbox",
            "hello",
            "world",
        ])
        .output()
        .expect("the strata binary runs");
    assert_eq!(stdout(&o), expected, "stderr: {}", stderr(&o));
    assert_eq!(o.status.code(), Some(3), "stderr: {}", stderr(&o));
}

fn kernel(name: &str) -> String {
    format!("{}/../benches/kernels/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn tiered_is_the_default_and_profiles_show_osr() {
    let dir = TempDir::new("profile");
    let json = dir.path().join("events.jsonl");
    let chrome = dir.path().join("trace.json");
    let (json_arg, chrome_arg) = (
        format!("json={}", json.display()),
        format!("chrome={}", chrome.display()),
    );
    let long_loop = kernel("long_loop.wat");
    let o = strata(&[
        "run",
        "--tiering",
        "counters:call=100,loop=1000",
        "--profile",
        "summary",
        "--profile",
        &format!("{json_arg},{chrome_arg}"),
        "--invoke",
        "run",
        &long_loop,
        "3000000",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The checksum of 3e6 iterations, as `--tier interp` prints it.
    let interp = strata(&[
        "run", "--tier", "interp", "--invoke", "run", &long_loop, "3000000",
    ]);
    assert_eq!(stdout(&o), stdout(&interp));
    let summary = stderr(&o);
    assert!(
        summary.contains("policy counters:call=100,loop=1000"),
        "{summary}"
    );
    let row = summary
        .lines()
        .find(|l| l.starts_with("run "))
        .unwrap_or_else(|| panic!("no row for `run`:\n{summary}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    // function, calls, loop iters, tier, tier-up at, queue, compile, code, osr
    assert_eq!(cols[1], "1", "{row}");
    assert_eq!(cols[3], "baseline", "{row}");
    assert_eq!(cols[8], "1", "one OSR entry: {row}");
    let events: Vec<serde_json::Value> = fs::read_to_string(&json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    for kind in ["queued", "compiled", "tier-up", "osr", "tier-time"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let osr = events.iter().find(|e| e["kind"] == "osr").unwrap();
    assert_eq!(osr["name"], "run");
    assert_eq!(osr["tier"], "baseline");
    // The Chrome trace event format (what Perfetto reads): complete events with a duration
    // for compiles, instants for the rest, thread names as metadata.
    let trace: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&chrome).unwrap()).unwrap();
    let items = trace["traceEvents"].as_array().unwrap();
    for e in items {
        assert!(
            e["ph"].is_string() && e["pid"].is_number() && e["tid"].is_number(),
            "{e}"
        );
    }
    assert!(items
        .iter()
        .any(|e| e["ph"] == "X" && e["cat"] == "compile" && e["dur"].is_number()));
    assert!(items.iter().any(|e| e["ph"] == "i"));
    assert!(items
        .iter()
        .any(|e| e["ph"] == "M" && e["args"]["name"].as_str().is_some()));
}

#[test]
fn profile_and_tiering_options_are_checked() {
    let long_loop = kernel("long_loop.wat");
    let o = strata(&[
        "run",
        "--tier",
        "interp",
        "--profile",
        "summary",
        &long_loop,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--profile needs --tier tiered"));
    let o = strata(&[
        "run",
        "--tier",
        "baseline",
        "--tiering",
        "random:1",
        &long_loop,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--tiering applies to --tier tiered"));
    let o = strata(&["run", "--tiering", "warp:9", &long_loop]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown tiering policy"),
        "{}",
        stderr(&o)
    );
    let o = strata(&["run", "--profile", "flame", &long_loop]);
    assert_eq!(o.status.code(), Some(2));
    // An output file that cannot be created is refused before the program runs.
    let o = strata(&[
        "run",
        "--profile",
        "json=/nonexistent-strata-dir/profile.json",
        &long_loop,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write the profile"),
        "{}",
        stderr(&o)
    );
    let o = strata(&["run", "--compile-threads", "0", &long_loop]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("compile threads"), "{}", stderr(&o));
}

#[test]
fn perf_map_follows_tier_ups() {
    let long_loop = kernel("long_loop.wat");
    let child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "run",
            "--perf-map",
            "--tiering",
            "counters:call=1000,loop=100,sync",
            "--invoke",
            "run",
            &long_loop,
            "100000",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let map = PathBuf::from(format!("/tmp/perf-{}.map", child.id()));
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let text = fs::read_to_string(&map).unwrap_or_default();
    let _ = fs::remove_file(&map);
    // `run` was interpreted first; its line appears when it moved up (by OSR).
    let line = text
        .lines()
        .find(|l| l.ends_with(" wasm[baseline]::run"))
        .unwrap_or_else(|| panic!("no entry for run in {}:\n{text}", map.display()));
    let fields: Vec<&str> = line.split(' ').collect();
    assert!(u64::from_str_radix(fields[0], 16).unwrap() > 0, "{line}");
    assert!(u64::from_str_radix(fields[1], 16).unwrap() > 0, "{line}");
}

/// The interpreter's three fast paths (`STRATA_INTERP_DISPATCH`: the generated x86-64
/// handlers, the Rust handlers, none), the handlers' alignment and their accumulator
/// variants (`STRATA_INTERP_ACC`), threading (`STRATA_INTERP_THREADING`) and
/// superinstructions (`STRATA_INTERP_FUSE`) must not change what a program computes: the benchmark programs at small sizes (calls and returns, deep
/// recursion past the handlers' frame room, loads and stores, floats, `br_table`) print the
/// same checksum in every mode, and a trap inside a call made by the handlers reports the
/// same backtrace.
#[test]
fn interpreter_dispatch_modes_agree() {
    let program = |name: &str| {
        format!(
            "{}/../benches/programs/{name}.wasm",
            env!("CARGO_MANIFEST_DIR")
        )
    };
    // (dispatch, alignment, accumulators, threading, superinstructions); the last is the
    // reference.
    let modes: [(&str, &str, &str, &str, &str); 9] = [
        ("asm", "64", "1", "absolute", "1"),
        ("asm", "16", "1", "absolute", "1"),
        ("asm", "64", "0", "absolute", "1"),
        ("asm", "64", "1", "absolute", "0"),
        ("asm", "64", "0", "absolute", "0"),
        ("asm", "64", "1", "relative", "1"),
        ("asm", "64", "1", "table", "1"),
        ("rust", "64", "1", "absolute", "1"),
        ("match", "64", "1", "absolute", "1"),
    ];
    let (reference_mode, others) = modes.split_last().unwrap();
    let reference_mode = *reference_mode;
    let run = |mode: (&str, &str, &str, &str, &str), args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["run", "--tier", "interp"])
            .args(args)
            .env("STRATA_INTERP_DISPATCH", mode.0)
            .env("STRATA_INTERP_ALIGN", mode.1)
            .env("STRATA_INTERP_ACC", mode.2)
            .env("STRATA_INTERP_THREADING", mode.3)
            .env("STRATA_INTERP_FUSE", mode.4)
            .output()
            .expect("the strata binary runs");
        (o.status.code(), stdout(&o), stderr(&o))
    };
    for (name, size) in [
        ("fib", "3"),
        ("compress", "40"),
        ("nbody", "3000"),
        ("sort", "3000"),
        ("hashtable", "3000"),
        ("strings", "40"),
        ("bytecode", "100"),
        ("matmul", "30"),
        ("fnptr", "20000"),
        ("hash", "1"),
        ("sieve", "100000"),
    ] {
        let p = program(name);
        let reference = run(reference_mode, &[&p, size]);
        assert_eq!(reference.0, Some(0), "{name}: {}", reference.2);
        assert!(reference.1.contains("checksum"), "{name}: {}", reference.1);
        for mode in others {
            assert_eq!(run(*mode, &[&p, size]), reference, "{name} with {mode:?}");
        }
    }
    // Superinstructions that trap in their first or their second part, or not (each
    // function's body translates to the pair named; see `STRATA_DUMP`).
    let wat = r#"(module
        (memory 1)
        (data (i32.const 0) "0123456789abcdefghijklmnopqrstuvwxyz")
        (func (export "addr_load") (param i32) (result i32)
          local.get 0 i32.const 8 i32.add i32.load)
        (func (export "addr_kept") (param i32) (result i32) (local i32)
          local.get 0 local.get 0 i32.add local.tee 1 i32.load8_u local.get 1 i32.add)
        (func (export "load_mul") (param i32) (result f64)
          f64.const 2 local.get 0 f64.load f64.mul)
        (func (export "shl_load") (param i32 i32) (result i32) (local i32)
          local.get 0 local.get 1 i32.shl local.set 2
          local.get 2 i32.load offset=4 local.get 2 i32.add)
        (func (export "store_add") (param i32 i32) (result i32) (local i32)
          local.get 0 local.get 1 i32.store
          local.get 1 local.get 0 i32.add local.tee 2 local.get 2 i32.add)
        (func $down (export "down") (param i32) (result i32) (local i32)
          local.get 0 i32.const -1 i32.add local.set 1
          local.get 0 i32.eqz if (result i32) i32.const 0 else
            local.get 1 call $down i32.const 1 i32.add end))"#;
    let dir = TempDir::new("dispatch-pairs");
    let file = dir.path().join("pairs.wat");
    fs::write(&file, wat).unwrap();
    let file = file.to_str().unwrap();
    for call in [
        &["addr_load", "16"][..],
        &["addr_load", "65530"],
        &["addr_kept", "7"],
        &["addr_kept", "40000"],
        &["load_mul", "8"],
        &["load_mul", "65530"],
        &["shl_load", "3", "2"],
        &["shl_load", "1", "20"],
        &["store_add", "12", "5"],
        &["store_add", "65534", "5"],
        &["down", "1000"],
        &["down", "10000000"],
    ] {
        let args: Vec<&str> = ["--invoke"]
            .into_iter()
            .chain(call.iter().take(1).copied())
            .chain([file])
            .chain(call.iter().skip(1).copied())
            .collect();
        let reference = run(reference_mode, &args);
        for mode in others {
            assert_eq!(run(*mode, &args), reference, "{call:?} with {mode:?}");
        }
    }
    let wat = "(module
        (func $leaf (param i32) (result i32) local.get 0 i32.const 0 i32.div_s)
        (func $mid (param i32) (result i32) local.get 0 call $leaf i32.const 1 i32.add)
        (func (export \"go\") (param i32) (result i32) local.get 0 call $mid))";
    let dir = TempDir::new("dispatch-trap");
    let file = dir.path().join("trap.wat");
    fs::write(&file, wat).unwrap();
    let file = file.to_str().unwrap();
    let reference = run(reference_mode, &["--invoke", "go", file, "7"]);
    assert_eq!(reference.0, Some(134), "{}", reference.2);
    assert!(reference.2.contains("divide by zero"), "{}", reference.2);
    for mode in others {
        assert_eq!(
            run(*mode, &["--invoke", "go", file, "7"]),
            reference,
            "{mode:?}"
        );
    }
}

#[test]
fn fuel_bounds_the_work_the_same_in_every_tier() {
    let spin = data("spin.wat");
    for tier in ["interp", "baseline", "tiered", "mixed:1"] {
        let enough = strata(&[
            "run", "--tier", tier, "--fuel", "201", "--invoke", "count", &spin, "100",
        ]);
        assert_eq!(enough.status.code(), Some(0), "{tier}: {}", stderr(&enough));
        assert_eq!(stdout(&enough), "100\n", "{tier}");
        let short = strata(&[
            "run", "--tier", tier, "--fuel", "200", "--invoke", "count", &spin, "100",
        ]);
        assert_eq!(short.status.code(), Some(134), "{tier}");
        assert!(
            stderr(&short).contains("all fuel consumed") && stderr(&short).contains("--fuel"),
            "{tier}: {}",
            stderr(&short)
        );
    }
}

#[test]
fn timeout_stops_an_infinite_loop_in_every_tier() {
    let spin = data("spin.wat");
    for tier in ["interp", "baseline", "tiered"] {
        let start = std::time::Instant::now();
        let o = strata(&[
            "run",
            "--tier",
            tier,
            "--timeout",
            "0.2",
            "--invoke",
            "spin",
            &spin,
        ]);
        assert_eq!(o.status.code(), Some(134), "{tier}: {}", stderr(&o));
        assert!(stderr(&o).contains("interrupt"), "{tier}: {}", stderr(&o));
        // Generous: the process must stop, not hang (the 10 ms bound is tested in the engine).
        assert!(start.elapsed().as_secs() < 20, "{tier}");
    }
    let bad = strata(&["run", "--timeout", "-1", "--invoke", "spin", &spin]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn unknown_functions_in_mixed_funcs_are_an_error() {
    let spin = data("spin.wat");
    let o = strata(&[
        "run",
        "--tier",
        "mixed:funcs=2,nosuch",
        "--invoke",
        "count",
        &spin,
        "5",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("`nosuch`"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("`2`"), "{}", stderr(&o));
    let o = strata(&[
        "run",
        "--tier",
        "mixed:funcs=2",
        "--invoke",
        "count",
        &spin,
        "5",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "5\n");
}

#[test]
fn sightglass_markers_are_provided_and_timed() {
    let file = data("sightglass.wat");
    for tier in ["interp", "baseline", "tiered"] {
        let o = strata(&["run", "--tier", tier, &file]);
        assert_eq!(o.status.code(), Some(0), "{tier}: {}", stderr(&o));
        let ns: u64 = stderr(&o)
            .lines()
            .find_map(|l| l.strip_prefix("bench-markers ns="))
            .unwrap_or_else(|| panic!("{tier}: no marker time: {}", stderr(&o)))
            .trim()
            .parse()
            .unwrap();
        assert!(ns > 0, "{tier}");
    }
}
