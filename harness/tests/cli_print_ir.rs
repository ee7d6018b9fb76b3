//! `strata compile --print-ir before|after FILE [--func NAME]`, end to end.

use std::process::Command;

fn strata(args: &[&str]) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .expect("the strata binary runs");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Writes a `.wat` file for one test under the temporary directory.
fn temp_wat(tag: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("strata-{tag}-{}.wat", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

/// The IR text of `--print-ir` output: every line but the statistics comments.
fn ir_text(out: &str) -> String {
    out.lines()
        .filter(|l| !l.starts_with(';'))
        .collect::<Vec<_>>()
        .join("\n")
}

const WAT: &str = r#"(module
  (func $sum (export "sum") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done
      (loop $l
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (local.get $i)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (local.get $acc))
  (func $dead (param i32) (result i32)
    (drop (f64.const 1))
    (local.get 0)))"#;

#[test]
fn print_ir_before_and_after() {
    let path = temp_wat("print-ir", WAT);
    let file = path.to_str().unwrap();

    let (ok, out, err) = strata(&["compile", "--print-ir", "before", file]);
    assert!(ok, "{err}");
    assert!(out.contains("function \"sum\"(i32) -> (i32) {"), "{out}");
    assert!(out.contains("osr_entry 0 block"), "{out}");
    assert!(out.contains("f64.const 0x3ff0000000000000"), "{out}");
    assert!(out.contains("; total: 2 functions"), "{out}");

    // `after` runs the pipeline: the unused constant goes; statistics come as comments.
    let (ok, out, err) = strata(&["compile", "--print-ir", "after", file, "--func", "dead"]);
    assert!(ok, "{err}");
    assert!(!out.contains("function \"sum\""), "{out}");
    assert!(out.contains("; pass dce: 2 -> 1 instructions"), "{out}");
    assert!(!out.contains("f64.const"), "{out}");
    // What it prints parses back.
    strata_ir::parse_function(&ir_text(&out)).unwrap();

    let (ok, _, err) = strata(&["compile", "--print-ir", "after", file, "--func", "nope"]);
    assert!(!ok);
    assert!(err.contains("no defined function named nope"), "{err}");
    let _ = std::fs::remove_file(&path);
}

const EGRAPH_WAT: &str = r#"(module
  (func $f (export "f") (param $x i32) (result i32)
    (i32.add (i32.mul (local.get $x) (i32.const 8)) (i32.const 0))))"#;

#[test]
fn print_ir_after_shows_egraph_statistics_and_switches() {
    let path = temp_wat("print-eg", EGRAPH_WAT);
    let file = path.to_str().unwrap();

    let (ok, out, err) = strata(&["compile", "--print-ir", "after", file]);
    assert!(ok, "{err}");
    assert!(out.contains("stop: saturated"), "{out}");
    assert!(out.contains("arith/mul-pow2.i32=1"), "{out}");
    assert!(out.contains("arith/add-zero.i32=1"), "{out}");
    assert!(out.contains("i32.shl"), "{out}");
    assert!(!out.contains("i32.mul"), "{out}");

    // Off: translation and cleanup only.
    let (ok, out, err) = strata(&["compile", "--print-ir", "after", file, "--egraph", "off"]);
    assert!(ok, "{err}");
    assert!(out.contains("e-graph off"), "{out}");
    assert!(out.contains("i32.mul"), "{out}");

    // One family off.
    let (ok, out, err) = strata(&[
        "compile",
        "--print-ir",
        "after",
        file,
        "--egraph",
        "no-arith",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("i32.mul"), "{out}");

    // Chaos: still valid IR, whatever it chose.
    let (ok, out, err) = strata(&[
        "compile",
        "--print-ir",
        "after",
        file,
        "--egraph",
        "chaos=3",
    ]);
    assert!(ok, "{err}");
    let f = strata_ir::parse_function(&ir_text(&out)).unwrap();
    strata_ir::verify(&f).unwrap();

    let (ok, _, err) = strata(&[
        "compile",
        "--print-ir",
        "after",
        file,
        "--egraph",
        "no-such",
    ]);
    assert!(!ok);
    assert!(err.contains("unknown rule family such"), "{err}");
    let _ = std::fs::remove_file(&path);
}
