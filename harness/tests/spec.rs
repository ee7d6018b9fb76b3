//! The whole wasm-v2 spec suite, in each bounds-check mode, on every available tier.

use strata::{BoundsChecks, Config, Engine, Tier};
use strata_harness::wast_runner::{run_scripts, suite_scripts};

fn run_suite(tier: Tier, bounds: BoundsChecks) {
    run_config(Config::default().tier(tier).bounds_checks(bounds));
}

fn run_config(config: Config) {
    let engine = Engine::new(config).unwrap();
    let scripts = suite_scripts("wasm-v2").unwrap();
    let outcomes = run_scripts(&engine, &scripts, 2);
    let mut failures = Vec::new();
    let (mut passed, mut skipped) = (0, 0);
    for (s, o) in scripts.iter().zip(&outcomes) {
        passed += o.passed;
        skipped += o.skipped;
        failures.extend(o.failures.iter().map(|f| format!("{}: {f}", s.name)));
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(skipped, 0, "wasm-v2 has nothing Strata may skip");
    assert!(passed >= 26_000, "only {passed} directives ran");
}

#[test]
fn wasm_v2_interp_guard_pages() {
    run_suite(Tier::Interp, BoundsChecks::GuardPages);
}

#[test]
fn wasm_v2_interp_explicit_checks() {
    run_suite(Tier::Interp, BoundsChecks::Explicit);
}

#[test]
fn wasm_v2_baseline_guard_pages() {
    run_suite(Tier::Baseline, BoundsChecks::GuardPages);
}

#[test]
fn wasm_v2_baseline_explicit_checks() {
    run_suite(Tier::Baseline, BoundsChecks::Explicit);
}

/// Tiered execution: every function tiers up at its first call or back-edge (on the
/// background queue, so some run in each tier), and, separately, random tier-ups and OSR
/// entries from seeded stress policies, in both bounds-check modes.
#[test]
fn wasm_v2_tiered_counters_and_random_osr() {
    let tiered = |policy: &str, bounds| {
        Config::default()
            .tier(Tier::Tiered)
            .tiering(policy)
            .unwrap()
            .bounds_checks(bounds)
    };
    run_config(tiered("counters:call=1,loop=1", BoundsChecks::GuardPages));
    run_config(tiered("random:1", BoundsChecks::GuardPages));
    run_config(tiered("random:2", BoundsChecks::Explicit));
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

#[test]
fn wasm_v2_mixed_tiers_several_seeds() {
    for (seed, bounds) in [
        (1, BoundsChecks::GuardPages),
        (2, BoundsChecks::GuardPages),
        (3, BoundsChecks::Explicit),
    ] {
        run_suite(Tier::Mixed { seed }, bounds);
    }
}
