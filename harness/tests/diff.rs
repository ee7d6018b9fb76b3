//! Quick differential fuzzing and malformed-input checks under `cargo test` (no libFuzzer):
//! a fixed set of seeds turned into wasm-smith modules and run in every available Strata
//! configuration (interpreter with guard pages and with explicit checks today; the JIT tiers
//! join as soon as `Tier::is_available` says so), thousands of mutated and random inputs
//! through validation, compilation and instantiation, the saved regression cases, and the
//! `strata diff` command itself.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use strata_harness::diff::malformed::{check_bytes, engines, mutate, random_input};
use strata_harness::diff::plan::Rng;
use strata_harness::diff::targets::{check_case, strata_sides};
use strata_harness::diff::{
    available_configs, generate_from_seed, Case, RunOptions, Side, StrataConfig,
};

/// Seeds of the quick differential run. Each is one module; the same seeds every run, so a
/// failure here is reproducible with `strata fuzz --seed N-1 --minutes ...` or directly
/// through `generate_from_seed(N)`.
const DIFF_SEEDS: u64 = 3_000;
const MALFORMED_INPUTS: u64 = 20_000;

fn sides() -> Vec<Arc<dyn Side>> {
    let mut configs = available_configs();
    // Tiered execution with random tier-ups and OSR entries, in both bounds modes.
    for name in ["tiered@random:7", "tiered@random:8-explicit"] {
        configs.push(StrataConfig::parse(name).unwrap());
    }
    let sides = strata_sides(&configs);
    assert!(sides.len() >= 2, "at least interp and interp-explicit run");
    sides
}

/// Runs seeds `range` and returns the failures (seed and report).
fn run_seeds(
    range: impl IntoIterator<Item = u64>,
    sides: &[Arc<dyn Side>],
) -> (Vec<String>, usize, usize) {
    let opts = RunOptions::default();
    let (mut failures, mut passed, mut skipped) = (Vec::new(), 0, 0);
    for seed in range {
        let case = generate_from_seed(seed);
        match check_case(&case, sides, &opts) {
            Ok(r) => {
                passed += r.passed;
                skipped += r.skipped;
            }
            Err(e) => failures.push(format!(
                "seed {seed} (args seed {}):\n{e}\n{}",
                case.seed,
                wasmprinter::print_bytes(&case.wasm).unwrap_or_default()
            )),
        }
    }
    (failures, passed, skipped)
}

#[test]
fn generated_modules_agree_in_every_available_configuration() {
    let sides = sides();
    // Two threads: the machine has two cores and each case already runs its sides in
    // parallel, so this mostly overlaps generation with execution.
    let half = DIFF_SEEDS / 2;
    let s2 = sides.clone();
    let other = std::thread::spawn(move || run_seeds(half..DIFF_SEEDS, &s2));
    let (mut failures, mut passed, mut skipped) = run_seeds(0..half, &sides);
    let (f2, p2, s2) = other.join().expect("no panic in the checker");
    failures.extend(f2);
    passed += p2;
    skipped += s2;
    eprintln!(
        "differential quick mode over {}: {passed} checks passed, {skipped} skipped",
        sides
            .iter()
            .map(|s| s.name().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert!(passed > 1_000, "too few checks ran: {passed}");
    assert!(
        failures.is_empty(),
        "{} divergences; first:\n{}",
        failures.len(),
        failures[0]
    );
}

/// A SIMD module on configurations of which some may not run SIMD yet (the baseline today):
/// those drop out of the comparison with a reason, the others are compared, v128 results
/// included, and nothing diverges.
#[test]
fn a_tier_that_does_not_run_simd_yet_drops_out_of_a_simd_case() {
    let wasm = wat::parse_str(
        r#"(module
             (memory (export "m") 1)
             (func (export "f") (param v128 i32) (result v128)
               (v128.store (i32.const 16) (local.get 0))
               (i32x4.add (v128.load (i32.const 16)) (i32x4.splat (local.get 1)))))"#,
    )
    .unwrap();
    let configs: Vec<StrataConfig> = ["interp", "interp-explicit", "baseline", "tiered@random:3"]
        .iter()
        .map(|n| StrataConfig::parse(n).unwrap())
        .collect();
    let sides = strata_sides(&configs);
    let case = Case {
        wasm,
        seed: 11,
        rounds: 3,
    };
    let report =
        strata_harness::diff::run_case(&case, &sides, &RunOptions::default()).expect("compiles");
    assert_eq!(report.failed, 0, "{:?}", report.divergence);
    // Instantiation, three calls, the final state.
    assert_eq!(report.passed, 5, "{report:?}");
    for reason in &report.skip_reasons {
        assert!(reason.contains("does not run a feature"), "{reason}");
    }
}

/// `strata fuzz --simd`: `never` gives no module that uses SIMD, `always` mostly modules that
/// do (wasm-smith may still pick no SIMD operator in a small one), and `half` some of each;
/// `uses_simd`, which the campaign's count rests on, sees a lone v128 global.
#[test]
fn simd_choice_decides_which_modules_use_simd() {
    use strata_harness::diff::{generate_from_seed_with, uses_simd, Features, SimdChoice};
    let count = |simd| {
        (0..60u64)
            .filter(|&seed| {
                let features = Features {
                    exceptions: false,
                    simd,
                };
                uses_simd(&generate_from_seed_with(7_000 + seed, features).wasm)
            })
            .count()
    };
    let (never, half, always) = (
        count(SimdChoice::Never),
        count(SimdChoice::Half),
        count(SimdChoice::Always),
    );
    assert_eq!(never, 0);
    assert!(always >= 50, "{always} of 60 with SIMD");
    assert!(half > 10 && half < always, "half: {half}, always: {always}");
    let global = wat::parse_str("(module (global v128 (v128.const i64x2 0 0)))").unwrap();
    assert!(uses_simd(&global));
    let scalar = wat::parse_str("(module (func (result i32) (i32.const 1)))").unwrap();
    assert!(!uses_simd(&scalar));
}

/// Generated modules against wasmi. wasmi 2.0.0 has bugs of its own (fuzz_regressions/
/// wasmi_*.wat); a divergence is excused only when `check_case_triaged` attributes it to one
/// of them by re-running wasmi past it (strata_harness::diff::oracle_bugs), never by seed or
/// symptom.
#[cfg(feature = "oracle-wasmi")]
#[test]
fn generated_modules_agree_with_wasmi() {
    use strata_harness::diff::targets::{check_case_triaged, Checked};
    let mut sides = vec![strata_harness::diff::targets::oracle("wasmi").unwrap()];
    sides.extend(strata_sides(&available_configs()).into_iter().take(1));
    let (mut failures, mut passed, mut oracle_bugs) = (Vec::new(), 0, Vec::new());
    for seed in 2_000..2_100 {
        // wasmi 2 has no exception handling.
        let case = strata_harness::diff::generate_from_seed_for(seed, false);
        match check_case_triaged(&case, &sides, &RunOptions::default()) {
            Ok(Checked::Passed(r)) => passed += r.passed,
            Ok(Checked::OracleBug(_, a)) => oracle_bugs.push(format!("{seed} ({})", a.id())),
            Err(e) => failures.push(format!("seed {seed}:\n{e}")),
        }
    }
    eprintln!(
        "wasmi quick mode: {passed} checks passed; known wasmi bugs at seeds {oracle_bugs:?}"
    );
    assert!(passed > 100);
    assert!(
        failures.is_empty(),
        "{} divergences; first:\n{}",
        failures.len(),
        failures[0]
    );
}

/// The regression cases against wasmi: the ones that record a wasmi bug (`wasmi_*.wat`) must
/// still diverge and be attributed to a known wasmi bug by the re-run (if a newer wasmi fixes
/// it, this says so); all others must agree.
#[cfg(feature = "oracle-wasmi")]
#[test]
fn fuzz_regressions_against_wasmi() {
    use strata_harness::diff::targets::{check_case_triaged, Checked};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut sides = vec![strata_harness::diff::targets::oracle("wasmi").unwrap()];
    sides.extend(strata_sides(&available_configs()));
    let (mut wasmi_bugs, mut wasmi_files) = (0, 0);
    for entry in std::fs::read_dir(&dir).expect("the regression folder exists") {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("wat") {
            continue;
        }
        let records_wasmi_bug = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("wasmi_"));
        wasmi_files += usize::from(records_wasmi_bug);
        let case = Case {
            wasm: wat::parse_file(&path).unwrap(),
            seed: 0,
            rounds: 3,
        };
        match check_case_triaged(&case, &sides, &RunOptions::default()) {
            Ok(Checked::OracleBug(..)) if records_wasmi_bug => wasmi_bugs += 1,
            Ok(Checked::Passed(_)) if !records_wasmi_bug => {}
            Ok(Checked::Passed(_)) => panic!(
                "{}: wasmi no longer diverges; update the file and the known oracle bugs",
                path.display()
            ),
            Ok(Checked::OracleBug(_, a)) => {
                panic!("{}: unexpected oracle bug: {}", path.display(), a.explain())
            }
            Err(e) => panic!("{}: not attributed to wasmi:\n{e}", path.display()),
        }
    }
    assert!(wasmi_files >= 4, "the wasmi_*.wat cases: {wasmi_files}");
    assert_eq!(wasmi_bugs, wasmi_files);
}

#[test]
fn malformed_inputs_never_panic_and_every_configuration_agrees() {
    let engines = engines(&available_configs());
    let mut rng = Rng::new(0x6d61_6c66);
    let mut corpus: Vec<Vec<u8>> = (0..24)
        .map(|s| generate_from_seed(10_000 + s).wasm)
        .collect();
    for f in ["arith.wat", "hello.wat", "echo_args.wat"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(f);
        if let Ok(text) = std::fs::read(&path) {
            corpus.extend(wat::parse_bytes(&text).ok().map(|b| b.into_owned()));
        }
    }
    let mut problems = Vec::new();
    let mut valid = 0;
    for i in 0..MALFORMED_INPUTS {
        let input = if i % 4 == 0 {
            random_input(&mut rng)
        } else {
            mutate(&corpus[rng.below(corpus.len() as u64) as usize], &mut rng)
        };
        valid += usize::from(strata::validate(&input).is_ok());
        if let Err(e) = check_bytes(&input, &engines) {
            problems.push(format!("input {i}: {e}"));
        }
    }
    eprintln!("malformed quick mode: {MALFORMED_INPUTS} inputs, {valid} of them valid");
    assert!(
        valid > 50,
        "mutations should keep some modules valid: {valid}"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Every minimized case in tests/fuzz_regressions: `.wat` files are run through the
/// differential check (seeds 0 and 1), `.bin` files through the malformed check.
#[test]
fn fuzz_regressions() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let sides = sides();
    let engines = engines(&available_configs());
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("the regression folder exists") {
        let path = entry.unwrap().path();
        match path.extension().and_then(|e| e.to_str()) {
            Some("wat") => {
                let wasm = wat::parse_file(&path).unwrap();
                for seed in 0..2 {
                    let case = Case {
                        wasm: wasm.clone(),
                        seed,
                        rounds: 3,
                    };
                    if let Err(e) = check_case(&case, &sides, &RunOptions::default()) {
                        panic!("{}: seed {seed}:\n{e}", path.display());
                    }
                }
                count += 1;
            }
            Some("bin") => {
                let bytes = std::fs::read(&path).unwrap();
                if let Err(e) = check_bytes(&bytes, &engines) {
                    panic!("{}: {e}", path.display());
                }
                count += 1;
            }
            _ => {}
        }
    }
    assert!(count > 0, "no regression cases found in {}", dir.display());
}

fn strata() -> Command {
    Command::new(env!("CARGO_BIN_EXE_strata"))
}

#[test]
fn diff_command_reports_and_summarizes() {
    let dir = std::env::temp_dir().join(format!("strata-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("m.wat");
    std::fs::write(
        &file,
        r#"(module
          (memory (export "mem") 1)
          (global (export "g") (mut i32) (i32.const 0))
          (func (export "div") (param i32 i32) (result i32)
            local.get 0 local.get 1 i32.div_s)
          (func (export "store") (param i32 f32)
            local.get 0 local.get 1 f32.store
            global.get 0 i32.const 1 i32.add global.set 0)
          (func $r (export "rec") (param i32) (result i32) local.get 0 call $r))"#,
    )
    .unwrap();
    let out = strata()
        .args([
            "diff",
            "--tiers",
            "interp,interp-explicit,opt",
            "--timeout",
            "0.5",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if !strata::Tier::Opt.is_available() {
        assert!(stdout.contains("skipped configuration opt"), "{stdout}");
    }
    let last = stdout.lines().last().unwrap();
    assert!(
        last.ends_with("skipped") && last.contains("0 failed"),
        "{stdout}"
    );

    assert!(stdout.contains("call stack exhausted"), "{stdout}");
    // The skip names its export and arguments.
    assert!(stdout.contains("skipped: call "), "{stdout}");
    assert!(stdout.contains("\"rec\"("), "{stdout}");

    // -v lists every step with its verdict.
    let out = strata()
        .args(["diff", "-v", "--tiers", "interp,baseline", "--calls", "1"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("  passed: instantiation"), "{stdout}");
    assert!(stdout.contains("  passed: call 1 of "), "{stdout}");
    assert!(stdout.contains("\"div\"("), "{stdout}");
    // The call that exhausts the stack makes the rest inconclusive, the final state too.
    assert!(stdout.contains("  skipped: call "), "{stdout}");

    // A module that loops forever: the call times out and is skipped, the command ends.
    let spin = dir.join("spin.wat");
    std::fs::write(&spin, r#"(module (func (export "spin") (loop br 0)))"#).unwrap();
    let out = strata()
        .args([
            "diff",
            "--tiers",
            "interp,baseline-explicit",
            "--calls",
            "1",
            "--timeout",
            "0.3",
        ])
        .arg(&spin)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    // Stopped inside the engine: no worker thread is abandoned.
    assert!(stdout.contains("stopped by epoch interruption"), "{stdout}");
    assert!(!stdout.contains("abandoned"), "{stdout}");
    assert!(stdout.contains("1 passed, 0 failed, 2 skipped"), "{stdout}");

    // A divergence is not something two identical configurations can show; the exit status
    // for one is covered by the unit tests of the comparison. An unknown configuration is a
    // usage error.
    let out = strata()
        .args(["diff", "--tiers", "jit"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn diff_runs_wasi_programs_in_the_same_world_on_every_side() {
    // Random bytes reach memory and stdout: they agree only because every side's WASI
    // context is seeded the same; the exit status is compared like a result.
    let dir = std::env::temp_dir().join(format!("strata-diff-wasi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("w.wat");
    std::fs::write(
        &file,
        r#"(module
          (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "fd_write"
            (func $write (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (func (export "_start")
            (drop (call $random (i32.const 64) (i32.const 16)))
            (i32.store (i32.const 0) (i32.const 64))
            (i32.store (i32.const 4) (i32.const 16))
            (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (call $exit (i32.const 3))))"#,
    )
    .unwrap();
    let out = strata()
        .args([
            "diff",
            "-v",
            "--tiers",
            "interp,baseline,opt,tiered@random:3",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("exited with status 3"), "{stdout}");
    assert!(
        stdout.lines().last().unwrap() == "3 passed, 0 failed, 0 skipped",
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
