//! memory64 and table64 in the optimizing tier: every function of every module of
//! `proposals/memory64`, of `harness/tests/wast/table64.wast` and of the wasm-v3 modules with
//! a 64-bit memory or table is compiled by the optimizing tier itself (a test fails if one
//! falls back to the baseline's code, which `--tier opt` would do silently), its IR verifies
//! and its text form round-trips; and those scripts pass on the optimizing tier in both
//! bounds modes with the e-graph on, off and in chaos. `simd_address.wast` needs SIMD, which
//! is process-wide, so this test has its own binary, which turns it on.

use strata::{BoundsChecks, Config, Engine, Tier};
use strata_harness::wast_runner::{run_scripts, script_modules, suite_scripts, Script};

/// The table64 script the harness keeps (the suites' memory64 proposal has none).
fn table64_script() -> Script {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/wast/table64.wast");
    Script {
        suite: "files".into(),
        name: "table64.wast".into(),
        text: std::fs::read_to_string(path).unwrap(),
    }
}

/// Every script this file checks: the memory64 proposal, table64.wast, and the wasm-v3
/// scripts (only their modules with a 64-bit memory or table count for compilation).
fn scripts() -> Vec<Script> {
    let mut s = suite_scripts("proposals/memory64").unwrap();
    s.push(table64_script());
    s.extend(suite_scripts("wasm-v3").unwrap());
    s
}

/// The optimizing tier compiles every function of every module with a 64-bit memory or
/// table (and every function of the memory64 proposal's modules), with IR that verifies
/// and round-trips through the text form.
#[test]
fn the_optimizing_tier_compiles_every_memory64_and_table64_function() {
    strata::set_simd_enabled(true);
    let scripts = scripts();
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = Engine::new(Config::default().bounds_checks(bounds)).unwrap();
        let (mut compiled, mut wide_modules, mut refused) = (0usize, 0usize, Vec::new());
        let (mut mem64, mut table64) = (false, false);
        for script in &scripts {
            let proposal = script.suite == "proposals/memory64";
            for bytes in script_modules(&script.text).unwrap() {
                let Ok(module) = strata::Module::new(&engine, &bytes) else {
                    continue;
                };
                let env = module.env();
                let m64 = env.memories.iter().any(|m| m.memory64);
                let t64 = env.tables.iter().any(|t| t.ty.table64);
                if !(m64 || t64 || proposal) {
                    continue;
                }
                mem64 |= m64;
                table64 |= t64;
                wide_modules += usize::from(m64 || t64);
                for d in 0..env.num_defined_funcs() as u32 {
                    let at = format!("{}/{}: function {d}", script.suite, script.name);
                    match strata_tiers::opt::function_code(env, d, bounds) {
                        Ok(_) => compiled += 1,
                        Err(e) => {
                            refused.push(format!("{at}: {e}"));
                            continue;
                        }
                    }
                    // The IR it was compiled from verifies and round-trips.
                    let ir = match strata_tiers::opt::build_ir(env, d) {
                        Ok(f) => f,
                        Err(e) => {
                            refused.push(format!("{at}: {e}"));
                            continue;
                        }
                    };
                    if let Err(e) = strata_ir::verify(&ir) {
                        refused.push(format!("{at}: IR invalid:\n{e}\n{ir}"));
                        continue;
                    }
                    let text = ir.to_string();
                    match strata_ir::parse_function(&text) {
                        Ok(p) if p.to_string() == text => {}
                        Ok(p) => refused.push(format!("{at}: round trip differs:\n{text}\n{p}")),
                        Err(e) => refused.push(format!("{at}: text does not parse: {e}\n{text}")),
                    }
                }
            }
        }
        assert!(
            refused.is_empty(),
            "{bounds:?}: {} functions refused:\n{}",
            refused.len(),
            refused.join("\n")
        );
        assert!(
            mem64 && table64,
            "no 64-bit memory ({mem64}) or table ({table64})"
        );
        // 397 functions, 56 modules with a 64-bit memory or table (proposal and wasm-v3).
        assert!(
            compiled >= 390 && wide_modules >= 55,
            "{bounds:?}: only {compiled} functions of {wide_modules} 64-bit modules compiled"
        );
        eprintln!(
            "{bounds:?}: {compiled} functions compiled ({wide_modules} modules with a 64-bit \
             memory or table)"
        );
    }
}

/// The memory64 proposal and table64.wast on the optimizing tier: both bounds modes, the
/// e-graph on, off and in chaos (random extraction); nothing fails or is skipped.
#[test]
fn memory64_scripts_on_the_optimizing_tier() {
    strata::set_simd_enabled(true);
    let mut scripts = suite_scripts("proposals/memory64").unwrap();
    scripts.push(table64_script());
    let mut report = Vec::new();
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        for egraph in ["on", "off", "chaos=3", "chaos=11"] {
            let config = Config::default()
                .tier(Tier::Opt)
                .bounds_checks(bounds)
                .egraph(egraph)
                .unwrap();
            let engine = Engine::new(config).unwrap();
            let outcomes = run_scripts(&engine, &scripts, 2);
            let (mut passed, mut skipped, mut failures) = (0, 0, Vec::new());
            for (s, o) in scripts.iter().zip(&outcomes) {
                passed += o.passed;
                skipped += o.skipped;
                failures.extend(o.failures.iter().map(|f| format!("  {}: {f}", s.name)));
            }
            if !failures.is_empty() || skipped > 0 || passed < 1_630 {
                report.push(format!(
                    "{bounds:?}, egraph {egraph}: {passed} passed, {} failed, {skipped} skipped\n{}",
                    failures.len(),
                    failures.join("\n")
                ));
            }
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// 32- and 64-bit memories and tables side by side, with the edges the suites touch
/// lightly: offsets near 2^64 (an address past it is out of bounds, never a wrap), indices
/// past 2^32 (never truncated), copies between memories of both index types, a repeated
/// access whose check the mid-end removes, `memory.grow`/`table.grow` with i64 deltas.
const MIXED: &str = r#"
(module
  (type $ii (func (param i32) (result i32)))
  (memory $m0 1 2)
  (memory $m1 i64 1 3)
  (memory $m2 i64 2 2)
  (table $t0 2 funcref)
  (table $t1 i64 3 10 funcref)
  (elem (table $t0) (i32.const 0) func $sq)
  (elem (table $t1) (i64.const 1) func $neg $sq)
  (func $sq (type $ii) local.get 0 local.get 0 i32.mul)
  (func $neg (type $ii) i32.const 0 local.get 0 i32.sub)
  (func (export "st1") (param $a i64) (param $v i64)
    (i64.store $m1 offset=3 (local.get $a) (local.get $v)))
  (func (export "ld1") (param $a i64) (result i64)
    (i64.load $m1 offset=3 (local.get $a)))
  (func (export "ld1big") (param $a i64) (result i32)
    (i32.load8_u $m1 offset=0xffff_ffff_ffff_fff0 (local.get $a)))
  (func (export "ld1mid") (param $a i64) (result i32)
    (i32.load16_s $m1 offset=0x1_0000_0000 (local.get $a)))
  (func (export "ld2twice") (param $a i64) (result i64)
    (i64.add
      (i64.load32_u $m2 offset=8 (local.get $a))
      (i64.load32_u $m2 offset=4 (local.get $a))))
  (func (export "ld0") (param $a i32) (result i32)
    (i32.add (i32.load $m0 (local.get $a)) (i32.load $m0 offset=4 (local.get $a))))
  (func (export "mix") (param $a i32) (param $b i64) (result i64)
    (i32.store $m0 (local.get $a) (i32.const 0x01020304))
    (i64.store $m2 (local.get $b) (i64.extend_i32_u (i32.load $m0 (local.get $a))))
    (i64.add (i64.load $m2 (local.get $b)) (i64.load $m1 (local.get $b))))
  (func (export "copy10") (param $d i64) (param $s i32) (param $n i32)
    (memory.copy $m1 $m0 (local.get $d) (local.get $s) (local.get $n)))
  (func (export "copy12") (param $d i64) (param $s i64) (param $n i64)
    (memory.copy $m1 $m2 (local.get $d) (local.get $s) (local.get $n)))
  (func (export "fill1") (param $d i64) (param $n i64)
    (memory.fill $m1 (local.get $d) (i32.const 0xab) (local.get $n)))
  (func (export "grow1") (param $d i64) (result i64)
    (i64.add (memory.grow $m1 (local.get $d)) (i64.shl (memory.size $m1) (i64.const 32))))
  (func (export "size") (result i64)
    (i64.add (i64.extend_i32_u (memory.size $m0)) (memory.size $m2)))
  (func (export "ci1") (param $i i64) (param $v i32) (result i32)
    (call_indirect $t1 (type $ii) (local.get $v) (local.get $i)))
  (func (export "rci1") (param $i i64) (param $v i32) (result i32)
    (return_call_indirect $t1 (type $ii) (local.get $v) (local.get $i)))
  (func (export "ci0") (param $i i32) (param $v i32) (result i32)
    (call_indirect $t0 (type $ii) (local.get $v) (local.get $i)))
  (func (export "tab1") (param $i i64) (param $d i64) (result i64)
    (table.set $t1 (i64.const 0) (table.get $t1 (local.get $i)))
    (i64.add (table.grow $t1 (ref.null func) (local.get $d)) (table.size $t1)))
  (func (export "tfill1") (param $i i64) (param $n i64) (result i64)
    (table.fill $t1 (local.get $i) (ref.null func) (local.get $n))
    (table.size $t1))
)
"#;

fn run_mixed(tier: Tier, bounds: BoundsChecks, egraph: &str) -> (Vec<String>, strata::Module) {
    use strata::{Imports, Instance, Store, Val};
    let config = Config::default().tier(tier).bounds_checks(bounds);
    let engine = Engine::new(config.egraph(egraph).unwrap()).unwrap();
    let mut store = Store::new(&engine);
    let module = strata::Module::new(&engine, MIXED).unwrap();
    let instance = Instance::new(&mut store, &module, &Imports::new()).unwrap();
    let (i32_, i64_) = (Val::I32, Val::I64);
    let page = 65_536i64;
    let calls: Vec<(&str, Vec<Val>)> = vec![
        ("st1", vec![i64_(16), i64_(0x1122_3344_5566_7788)]),
        ("ld1", vec![i64_(16)]),
        ("ld1", vec![i64_(13)]),
        ("ld1", vec![i64_(page - 11)]),
        ("ld1", vec![i64_(page - 10)]),
        ("ld1", vec![i64_(-1)]),
        ("ld1", vec![i64_(1 << 32)]),
        ("st1", vec![i64_(-3), i64_(1)]),
        ("st1", vec![i64_(page - 10), i64_(1)]),
        ("ld1big", vec![i64_(0)]),
        ("ld1big", vec![i64_(16)]),
        ("ld1big", vec![i64_(0x10)]),
        ("ld1mid", vec![i64_(0)]),
        ("ld1mid", vec![i64_(-0x1_0000_0000)]),
        ("ld2twice", vec![i64_(0)]),
        ("ld2twice", vec![i64_(2 * page - 12)]),
        ("ld2twice", vec![i64_(2 * page - 11)]),
        ("ld2twice", vec![i64_(-8)]),
        ("ld0", vec![i32_(0)]),
        ("ld0", vec![i32_(-4)]),
        ("ld0", vec![i32_((page - 8) as i32)]),
        ("ld0", vec![i32_((page - 7) as i32)]),
        ("mix", vec![i32_(100), i64_(16)]),
        ("mix", vec![i32_(100), i64_(2 * page - 8)]),
        ("mix", vec![i32_(100), i64_(1 << 33)]),
        ("copy10", vec![i64_(32), i32_(100), i32_(8)]),
        ("ld1", vec![i64_(29)]),
        ("copy10", vec![i64_(page - 4), i32_(0), i32_(8)]),
        ("copy10", vec![i64_(-4), i32_(0), i32_(8)]),
        ("copy12", vec![i64_(40), i64_(16), i64_(8)]),
        ("ld1", vec![i64_(37)]),
        ("copy12", vec![i64_(0), i64_(-8), i64_(16)]),
        ("copy12", vec![i64_(0), i64_(0), i64_(-1)]),
        ("fill1", vec![i64_(48), i64_(4)]),
        ("ld1", vec![i64_(45)]),
        ("fill1", vec![i64_(1), i64_(-1)]),
        ("grow1", vec![i64_(1)]),
        ("ld1", vec![i64_(page - 10)]),
        ("ld1", vec![i64_(2 * page - 11)]),
        ("ld1", vec![i64_(2 * page - 10)]),
        ("grow1", vec![i64_(2)]),
        ("grow1", vec![i64_(1 << 40)]),
        ("grow1", vec![i64_(-1)]),
        ("size", vec![]),
        ("ci1", vec![i64_(1), i32_(7)]),
        ("ci1", vec![i64_(2), i32_(7)]),
        ("ci1", vec![i64_(0), i32_(7)]),
        ("ci1", vec![i64_(3), i32_(7)]),
        ("ci1", vec![i64_((1 << 32) + 1), i32_(7)]),
        ("ci1", vec![i64_(-1), i32_(7)]),
        ("rci1", vec![i64_(1), i32_(6)]),
        ("rci1", vec![i64_(2), i32_(6)]),
        ("rci1", vec![i64_((1 << 32) + 1), i32_(6)]),
        ("rci1", vec![i64_(-1), i32_(6)]),
        ("ci0", vec![i32_(0), i32_(9)]),
        ("ci0", vec![i32_(1), i32_(9)]),
        ("ci0", vec![i32_(2), i32_(9)]),
        ("tab1", vec![i64_(2), i64_(1)]),
        ("ci1", vec![i64_(0), i32_(5)]),
        ("tab1", vec![i64_((1 << 32) + 2), i64_(1)]),
        ("tab1", vec![i64_(1), i64_(1 << 33)]),
        ("tab1", vec![i64_(1), i64_(-1)]),
        ("tfill1", vec![i64_(1), i64_(2)]),
        ("ci1", vec![i64_(1), i32_(5)]),
        ("tfill1", vec![i64_(1), i64_((1 << 32) + 1)]),
        ("tfill1", vec![i64_(-1), i64_(0)]),
    ];
    let mut out = Vec::new();
    for (name, args) in calls {
        let f = instance.get_func(&store, name).unwrap();
        out.push(match f.call(&mut store, &args) {
            Ok(v) => format!("{name}{args:?} = {v:?}"),
            Err(e) => format!("{name}{args:?} traps: {e}"),
        });
    }
    (out, module)
}

/// The mixed module gives the interpreter's results on the optimizing tier, which compiles
/// every one of its functions, in both bounds modes and with the e-graph on, off and in
/// chaos.
#[test]
fn mixed_32_and_64_bit_memories_and_tables_agree_with_the_interpreter() {
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let (want, _) = run_mixed(Tier::Interp, bounds, "");
        assert!(want.iter().any(|r| r.contains("traps")), "{want:#?}");
        assert!(want.iter().any(|r| !r.contains("traps")), "{want:#?}");
        for egraph in ["on", "off", "chaos=5", "no-bounds"] {
            let (got, module) = run_mixed(Tier::Opt, bounds, egraph);
            assert_eq!(got, want, "{bounds:?}, egraph {egraph}");
            let env = module.env().clone();
            for d in 0..env.num_defined_funcs() as u32 {
                assert_eq!(
                    strata_tiers::tier::ready_level(&env, d),
                    strata_tiers::tier::CompilerTier::level(&strata_tiers::opt::OptTier),
                    "function {d} fell back to the baseline ({bounds:?}, egraph {egraph})"
                );
            }
        }
    }
}
