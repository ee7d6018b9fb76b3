//! Extraction chooses a term for every e-class, however large the terms' tree costs grow
//! (regression: deep sharing saturated the costs and left classes without a choice, and the
//! mid-end gave such functions up as "extraction incomplete").

use strata_ir::egraph::{optimize, MidendConfig};
use strata_ir::exec::{run, Env, Outcome};
use strata_ir::passes::{default_pipeline, run_pipeline};
use strata_ir::{Function, Translator};
use strata_vm::Module;

fn module() -> Module {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/wat/extraction_deep_sharing.wat"
    );
    Module::new(wat::parse_file(path).unwrap()).unwrap()
}

fn translated(module: &Module, index: usize) -> Function {
    let mut f = Translator::new().translate(module, index).unwrap();
    run_pipeline(&mut f, &default_pipeline(), false).unwrap();
    f
}

fn call(f: &Function, args: &[u64]) -> Outcome {
    let mut env = Env {
        memory: Vec::new(),
        max_pages: 0,
        globals: Vec::new(),
        calls: Vec::new(),
        fuel: 1_000_000,
    };
    run(f, args, &mut env)
}

/// What `mix` computes, written out in Rust.
fn mix(mut a: u32, mut b: u32) -> u32 {
    for i in 0..72u32 {
        let t = a.wrapping_add(b);
        b = a ^ b.rotate_left(i % 31 + 1);
        a = t;
    }
    a.wrapping_add(b)
}

fn mix64(mut a: u64, mut b: u64) -> u64 {
    for _ in 0..72 {
        let t = a.wrapping_mul(b);
        b = a.wrapping_sub(b);
        a = t;
    }
    a ^ b
}

#[test]
fn deep_sharing_is_extracted_and_keeps_its_meaning() {
    let module = module();
    let args = [(1u64, 2u64), (0xdead_beef, 0x1234_5678), (u64::MAX, 7)];
    for (index, chaos) in [(0, None), (0, Some(3)), (1, None), (1, Some(5))] {
        let mut f = translated(&module, index);
        let cfg = MidendConfig {
            chaos,
            ..MidendConfig::default()
        };
        let stats = optimize(&mut f, &cfg);
        assert!(
            !stats.stop_reason.starts_with("extraction incomplete"),
            "function {index} chaos {chaos:?}: {stats}"
        );
        assert!(
            stats.elaborated > 100,
            "function {index}: the e-graph's terms are placed back: {stats}"
        );
        for &(a, b) in &args {
            let want = if index == 0 {
                u64::from(mix(a as u32, b as u32))
            } else {
                mix64(a, b)
            };
            let (a, b) = if index == 0 {
                (a & 0xffff_ffff, b & 0xffff_ffff)
            } else {
                (a, b)
            };
            assert_eq!(
                call(&f, &[a, b]),
                Outcome::Returned(vec![want]),
                "function {index} chaos {chaos:?} args {a:#x} {b:#x}"
            );
        }
    }
}
