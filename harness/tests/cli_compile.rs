//! `strata compile` and the command line's plumbing: exit statuses like `strata run`'s, the
//! default tier, and a closed output pipe.

use std::io::Read;
use std::process::{Command, Output, Stdio};

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn strata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .expect("the strata binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn compile_defaults_to_a_jit_tier_and_exits_like_run() {
    let spin = data("spin.wat");
    // No --tier: the best JIT tier compiles it.
    let o = strata(&["compile", &spin]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("bytes of machine code"));
    // Usage errors: 2.
    for args in [
        &["compile", "--tier", "interp", spin.as_str()][..],
        &["compile", "--tier", "warp", spin.as_str()][..],
        &["compile", "--bounds-checks", "none", spin.as_str()][..],
        &["compile", "/nonexistent/strata.wasm"][..],
        &[
            "compile",
            "--print-ir",
            "before",
            "--func",
            "nope",
            spin.as_str(),
        ][..],
    ] {
        let o = strata(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    // A module that does not compile: 1.
    let dir = std::env::temp_dir().join(format!("strata-cli-compile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.wat");
    std::fs::write(&bad, "(module (func (result i32)))").unwrap();
    let o = strata(&["compile", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_output_pipe_ends_the_command_without_a_panic() {
    // `strata fuzz ... | head -1`: the reader goes away after the first line.
    let out = std::env::temp_dir().join(format!("strata-cli-fuzz-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["fuzz", "--minutes", "0.05", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the strata binary runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    let _ = stdout.read(&mut first);
    drop(stdout);
    let status = child.wait().unwrap();
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(status.code(), Some(101), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn wast_names_files_as_given_and_prints_values_in_wasm_notation() {
    let dir = std::env::temp_dir().join(format!("strata-cli-wast-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("values.wast");
    std::fs::write(
        &good,
        "(module (func (export \"f\") (result i32) i32.const 1))\n\
         (assert_return (invoke \"f\") (i32.const 2))\n",
    )
    .unwrap();
    let bad = dir.join("broken.wast");
    std::fs::write(&bad, "(module (func bogus").unwrap();
    let o = strata(&["wast", good.to_str().unwrap(), bad.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!out.contains("files/"), "{out}");
    assert!(!out.contains("//"), "{out}");
    assert!(out.contains(&format!("{} ", good.display())), "{out}");
    assert!(
        out.contains("expected (i32.const 2), got (i32.const 1)"),
        "{out}"
    );
    assert!(out.contains(&format!("--> {}:1:", bad.display())), "{out}");
    assert!(!out.contains("<anon>"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn disasm_labels_functions_by_name_with_wasm_offsets_and_one_address_style() {
    let o = strata(&["compile", "--disasm", &data("spin.wat")]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // `$f` keeps its name in the text format's name section.
    let header = out
        .lines()
        .find(|l| l.starts_with("func 0 <f> (wasm 0x"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(header.contains(", code 0x"), "{header}");
    // Every address, in the column and in branch targets, is 0x-prefixed lowercase hex.
    let jumps: Vec<&str> = out.lines().filter(|l| l.contains(" jmp ")).collect();
    assert!(!jumps.is_empty(), "{out}");
    for l in out.lines().filter(|l| l.starts_with("  ")) {
        assert!(l.trim_start().starts_with("0x"), "{l}");
        assert!(!l.ends_with('h') && !l.contains("0x0000"), "{l}");
    }
}
