//! What the optimizing tier's focused tests share (`mod support;` in each).

use strata::*;

/// Runs `run` on the interpreter and on the optimizing tier in both bounds modes: the
/// results agree, at least `min_traps` of them trap (so the traps are exercised), and every
/// function ran as compiled by the optimizing tier (none fell back to the baseline).
pub fn opt_agrees_with_interpreter(
    run: impl Fn(Tier, BoundsChecks) -> (Vec<String>, Module),
    min_traps: usize,
) {
    for bounds in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let (want, _) = run(Tier::Interp, bounds);
        let traps = want.iter().filter(|r| r.contains("traps")).count();
        assert!(traps >= min_traps, "{want:?}");
        let (got, module) = run(Tier::Opt, bounds);
        assert_eq!(got, want, "{bounds:?}");
        let env = module.env().clone();
        for d in 0..env.num_defined_funcs() as u32 {
            assert_eq!(
                strata_tiers::tier::ready_level(&env, d),
                strata_vm::tiering::LEVEL_OPT,
                "function {d} fell back to the baseline ({bounds:?})"
            );
        }
    }
}

/// The optimizing tier's code for each defined function of `wat` (guard pages), as text.
pub fn opt_disassembly(wat: &str) -> Vec<String> {
    let engine = Engine::new(Config::default().tier(Tier::Interp)).unwrap();
    let module = Module::new(&engine, wat).unwrap();
    let env = module.env().clone();
    (0..env.num_defined_funcs() as u32)
        .map(|d| {
            let bytes =
                strata_tiers::opt::function_code(&env, d, BoundsChecks::GuardPages).unwrap();
            strata_tiers::jit::disasm::disassemble(&bytes, 0)
        })
        .collect()
}
