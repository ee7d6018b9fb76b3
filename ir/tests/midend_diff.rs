//! The mid-end keeps every function's meaning: each function of benches/programs and of the
//! wasm-v2 spec suite runs in the reference executor (`strata_ir::exec`) before and after the
//! mid-end (e-graph on, in chaos mode, and on code translated without OSR entries), on the
//! same arguments, memory and globals, and the two runs must agree on the result or trap, the
//! memory, the globals and the calls made. A bounds check removed wrongly shows as an
//! unchecked out-of-bounds access.

mod common;

use strata_ir::egraph::{optimize, MidendConfig};
use strata_ir::exec::{run, Env, Outcome};
use strata_ir::passes::{default_pipeline, run_pipeline};
use strata_ir::{Function, Translator, Type};
use strata_vm::Module;

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn value(&mut self, ty: Type) -> u64 {
        let r = self.next();
        let mask = match ty {
            Type::I32 | Type::F32 => u64::from(u32::MAX),
            _ => u64::MAX,
        };
        let v = match ty {
            Type::I32 | Type::I64 => match r % 5 {
                // Just below the end of a one- or two-page memory: where a missing bounds
                // check shows.
                4 => (0x10000u64 << ((r >> 20) & 1)) - ((r >> 40) % 64),
                0 => r >> 60,           // tiny
                1 => (r >> 16) & 0xfff, // small: addresses in the first page
                2 => [0, 1, u64::MAX, 0x8000_0000, 0x7fff_ffff][(r >> 8) as usize % 5],
                _ => r,
            },
            Type::F32 | Type::F64 => match r % 3 {
                0 => f64::from((r >> 40) as u32 % 100).to_bits(),
                _ => r,
            },
            _ => 0,
        };
        v & mask
    }
}

fn env_for(module: &Module, rng: &mut Rng) -> Env {
    let (pages, max) = match module.memories.first() {
        Some(m) => {
            let min = m.limits.min.min(2) as usize;
            let max = m.limits.max.unwrap_or(4).min(4).max(min as u64) as u32;
            (min, max)
        }
        None => (0, 0),
    };
    let mut memory = vec![0u8; pages * 65536];
    for b in memory.iter_mut().step_by(7) {
        *b = rng.next() as u8;
    }
    let globals = (0..module.num_imported_globals as usize + module.globals.len())
        .map(|_| rng.next() & 0xffff)
        .collect();
    Env {
        memory,
        max_pages: max,
        globals,
        calls: Vec::new(),
        fuel: 20_000,
    }
}

#[derive(Default, Debug)]
struct Counts {
    functions: usize,
    compared: usize,
    skipped: usize,
    returned: usize,
    trapped: usize,
}

fn compare(
    what: &str,
    reference: &Function,
    optimized: &Function,
    module: &Module,
    seed: u64,
    counts: &mut Counts,
) -> Result<(), String> {
    let mut rng = Rng(seed);
    let args: Vec<u64> = reference.params.iter().map(|&t| rng.value(t)).collect();
    let env = env_for(module, &mut rng);
    let (mut e1, mut e2) = (env.clone(), env);
    let r1 = run(reference, &args, &mut e1);
    let r2 = run(optimized, &args, &mut e2);
    let skip = |o: &Outcome| matches!(o, Outcome::OutOfFuel | Outcome::Unsupported(_));
    if r2 == Outcome::UncheckedOutOfBounds {
        return Err(format!(
            "{what}: an access whose check was removed is out of bounds (args {args:x?})"
        ));
    }
    if skip(&r1) || skip(&r2) {
        counts.skipped += 1;
        return Ok(());
    }
    counts.compared += 1;
    match r1 {
        Outcome::Returned(_) => counts.returned += 1,
        _ => counts.trapped += 1,
    }
    if r1 != r2 || e1.memory != e2.memory || e1.globals != e2.globals || e1.calls != e2.calls {
        return Err(format!(
            "{what}: args {args:x?}: before {r1:?}, after {r2:?}; memory equal {}, globals equal {}, calls {:?} vs {:?}\n--- before\n{reference}\n--- after\n{optimized}",
            e1.memory == e2.memory,
            e1.globals == e2.globals,
            &e1.calls[..e1.calls.len().min(4)],
            &e2.calls[..e2.calls.len().min(4)],
        ));
    }
    Ok(())
}

fn check_module(what: &str, module: &Module, counts: &mut Counts) -> Result<(), String> {
    let mut t = Translator::new();
    let mut t_no_osr = Translator::new();
    t_no_osr.set_osr_entries(false);
    let pipeline = default_pipeline();
    for i in 0..module.num_defined_funcs() {
        let at = format!("{what} function {i}");
        let Ok(mut reference) = t.translate(module, i) else {
            continue;
        };
        run_pipeline(&mut reference, &pipeline, false)?;
        counts.functions += 1;
        let mut no_osr = t_no_osr.translate(module, i).map_err(|e| e.0)?;
        run_pipeline(&mut no_osr, &pipeline, false)?;
        let variants = [
            ("on", reference.clone(), MidendConfig::default()),
            (
                "chaos",
                reference.clone(),
                MidendConfig::chaos(i as u64 + 1),
            ),
            ("no-osr", no_osr, MidendConfig::default()),
        ];
        for (name, mut f, cfg) in variants {
            optimize(&mut f, &cfg);
            for seed in 0..2u64 {
                compare(
                    &format!("{at} ({name}, seed {seed})"),
                    &reference,
                    &f,
                    module,
                    seed * 7919 + i as u64,
                    counts,
                )?;
            }
        }
    }
    Ok(())
}

#[test]
fn bench_programs_keep_their_meaning() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/programs");
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    for name in [
        "bytecode",
        "compress",
        "fib",
        "fnptr",
        "hash",
        "hashtable",
        "matmul",
        "nbody",
        "sieve",
        "sort",
        "strings",
    ] {
        let bytes = std::fs::read(format!("{dir}/{name}.wasm")).unwrap();
        let module = Module::new(bytes).unwrap();
        if let Err(e) = check_module(name, &module, &mut counts) {
            failures.push(e);
        }
    }
    eprintln!("benches/programs: {counts:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // Most runs must really compare something (a model that skips everything proves nothing).
    assert!(counts.compared > counts.skipped, "{counts:?}");
}

#[test]
fn wasm_v2_spec_modules_keep_their_meaning() {
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    for (name, bytes) in common::wasm_v2_modules() {
        let Ok(module) = Module::new(bytes) else {
            continue;
        };
        if let Err(e) = check_module(&name, &module, &mut counts) {
            failures.push(e);
        }
    }
    eprintln!("wasm-v2: {counts:?}");
    assert!(
        failures.is_empty(),
        "{}",
        common::first_failures(&failures, 3)
    );
    assert!(counts.compared > 10_000, "{counts:?}");
}
