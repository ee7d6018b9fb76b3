//! The benchmark manifest (`benches/corpus/SPLIT`): every program of both sets exists, every
//! committed benchmark `.wasm` is assigned to a set, and every program runs on the interpreter
//! to the native build's checksum at its small size (`benches/corpus/expected-small.txt`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use strata_harness::bench::split::{Manifest, Set};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn manifest() -> Manifest {
    Manifest::load(&repo()).expect("benches/corpus/SPLIT parses")
}

/// `<name> <size> <checksum>` lines.
fn expected(path: &Path) -> HashMap<String, (String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "bad line in {}: {l}", path.display());
            (f[0].to_string(), (f[1].to_string(), f[2].to_string()))
        })
        .collect()
}

fn wasm_files(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo().join(dir))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .map(|p| format!("{dir}/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    v.sort();
    v
}

#[test]
fn every_benchmark_is_in_exactly_one_set() {
    let m = manifest();
    let listed: Vec<String> = m
        .entries
        .iter()
        .map(|e| e.path.to_string_lossy().into_owned())
        .collect();
    for f in wasm_files("benches/programs")
        .into_iter()
        .chain(wasm_files("benches/corpus/wasm"))
    {
        assert!(listed.contains(&f), "{f} is not in benches/corpus/SPLIT");
    }
    for e in &m.entries {
        assert!(
            repo().join(&e.path).is_file(),
            "{} does not exist",
            e.path.display()
        );
        // benches/programs were tuned on: they can never be test programs
        if e.path.starts_with("benches/programs") {
            assert_eq!(e.set, Set::Train, "{} must be in train", e.path.display());
        }
    }
    let test = m.entries.iter().filter(|e| e.set == Set::Test).count();
    assert!(test >= 10, "only {test} test programs");
}

#[test]
fn every_program_has_expected_checksums() {
    let corpus = expected(&repo().join("benches/corpus/expected.txt"));
    let programs = expected(&repo().join("benches/programs/expected.txt"));
    let small = expected(&repo().join("benches/corpus/expected-small.txt"));
    for e in &manifest().entries {
        let n = e.name();
        let full = if e.path.starts_with("benches/programs") {
            &programs
        } else {
            &corpus
        };
        assert!(full.contains_key(&n), "{n}: no default-size checksum");
        assert!(small.contains_key(&n), "{n}: no line in expected-small.txt");
    }
}

#[test]
fn every_program_runs_to_its_checksum_on_the_interpreter() {
    let small = expected(&repo().join("benches/corpus/expected-small.txt"));
    let mut failures = Vec::new();
    for e in &manifest().entries {
        let n = e.name();
        let (size, want) = &small[&n];
        let o = Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["run", "--tier", "interp"])
            .arg(repo().join(&e.path))
            .arg(size)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        let got = stdout.trim().strip_prefix("checksum: ").unwrap_or("");
        if !o.status.success() || got != want {
            failures.push(format!(
                "{n} {size}: status {:?}, got `{}`, want `{want}`; stderr: {}",
                o.status,
                stdout.trim(),
                String::from_utf8_lossy(&o.stderr).trim()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
