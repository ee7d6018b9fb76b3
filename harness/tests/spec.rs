//! The spec suites that Strata passes whole (wasm-v1, wasm-v2 and the Wasm 3.0 proposals it
//! has finished: extended-const, multi-memory, tail-call, function-references) and Strata's
//! own scripts (`tests/wast/`), on every registered
//! configuration (`strata::conformance`): each available tier in both bounds-check modes, the
//! interpreter in each dispatch mode, tiered execution under stress policies, mixed tiers.

use strata::conformance::{multi_tier, single_tiers, NamedConfig};
use strata::Engine;
use strata_harness::wast_runner::{run_scripts, suite_scripts, Script};

/// The suites every configuration passes with nothing failed or skipped, with the least
/// number of directives each runs (so a runner that silently ran nothing fails).
/// proposals/memory64 passes on every tier except for its `simd_address.wast`, which needs
/// SIMD in the baseline.
const SUITES: [(&str, usize); 6] = [
    ("wasm-v1", 19_000),
    ("wasm-v2", 28_000),
    ("proposals/extended-const", 280),
    ("proposals/multi-memory", 900),
    ("proposals/tail-call", 119),
    ("proposals/function-references", 1_870),
];

/// Runs every suite of `SUITES` under each configuration and fails with every failure of
/// every configuration at once.
fn run_configs(configs: &[NamedConfig]) {
    assert!(!configs.is_empty());
    let mut report = Vec::new();
    for (suite, least) in SUITES {
        let scripts = suite_scripts(suite).unwrap();
        for NamedConfig { name, config } in configs {
            let engine = Engine::new(config.clone()).unwrap();
            let outcomes = run_scripts(&engine, &scripts, 2);
            let (mut passed, mut skipped, mut failures) = (0, 0, Vec::new());
            for (s, o) in scripts.iter().zip(&outcomes) {
                passed += o.passed;
                skipped += o.skipped;
                failures.extend(o.failures.iter().map(|f| format!("  {}: {f}", s.name)));
            }
            if !failures.is_empty() || skipped > 0 || passed < least {
                report.push(format!(
                    "{suite} on {name}: {passed} passed, {} failed, {skipped} skipped\n{}",
                    failures.len(),
                    failures.join("\n")
                ));
            }
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn spec_suites_on_every_single_tier_and_interpreter_mode() {
    run_configs(&single_tiers());
}

#[test]
fn spec_suites_tiered_and_mixed() {
    run_configs(&multi_tier());
}

/// Strata's own scripts (`tests/wast/`) for what the suites do not cover, each with the
/// least number of directives it runs; every configuration passes them whole.
const OWN_SCRIPTS: [(&str, &str, usize); 4] = [
    ("table64.wast", include_str!("wast/table64.wast"), 30),
    ("typed_refs.wast", include_str!("wast/typed_refs.wast"), 16),
    (
        "call_indirect_inline.wast",
        include_str!("wast/call_indirect_inline.wast"),
        46,
    ),
    (
        "catch_all_payload.wast",
        include_str!("wast/catch_all_payload.wast"),
        6,
    ),
];

#[test]
fn own_scripts_on_every_configuration() {
    let scripts: Vec<Script> = OWN_SCRIPTS
        .iter()
        .map(|(name, text, _)| Script {
            suite: "strata".into(),
            name: (*name).into(),
            text: (*text).into(),
        })
        .collect();
    let mut report = Vec::new();
    for NamedConfig { name, config } in single_tiers().into_iter().chain(multi_tier()) {
        let engine = Engine::new(config).unwrap();
        for (o, (file, _, least)) in run_scripts(&engine, &scripts, 1).iter().zip(OWN_SCRIPTS) {
            if o.failed > 0 || o.skipped > 0 || o.passed < least {
                report.push(format!(
                    "{file} on {name}: {} passed, {} failed, {} skipped\n{}",
                    o.passed,
                    o.failed,
                    o.skipped,
                    o.failures.join("\n")
                ));
            }
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn cli_prints_summary_line_and_fails_on_failure() {
    let dir = std::env::temp_dir().join(format!("strata-wast-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.wast");
    std::fs::write(
        &good,
        r#"(module (func (export "f") (result i32) i32.const 7))
           (assert_return (invoke "f") (i32.const 7))
           (assert_trap (module (func unreachable) (start 0)) "unreachable")"#,
    )
    .unwrap();
    let bad = dir.join("bad.wast");
    std::fs::write(
        &bad,
        r#"(module (func (export "f") (result i32) i32.const 7))
           (assert_return (invoke "f") (i32.const 8))"#,
    )
    .unwrap();
    let strata = env!("CARGO_BIN_EXE_strata");
    let out = std::process::Command::new(strata)
        .args(["wast", "--tier", "interp"])
        .arg(&good)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("3 passed, 0 failed, 0 skipped"));
    let out = std::process::Command::new(strata)
        .arg("wast")
        .arg(&bad)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert_eq!(stdout.lines().last(), Some("1 passed, 1 failed, 0 skipped"));
    assert!(stdout.contains("FAIL line 2"), "{stdout}");
    let out = std::process::Command::new(strata)
        .args(["wast", "--suite", "no-such-suite"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown suite"));
    std::fs::remove_dir_all(&dir).ok();
}
