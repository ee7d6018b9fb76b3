//! Where the mid-end's time goes on one module, by phase, on one thread:
//! `cargo run --release -p strata-ir --example midend_phases [FILE.wasm] [SWITCHES]`
//! (default benches/programs/large.wasm; switches as `strata compile --egraph`).

use std::time::Instant;
use strata_ir::egraph::{optimize, MidendConfig};
use strata_ir::passes::{default_pipeline, run_pipeline};
use strata_ir::Translator;
use strata_vm::Module;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| {
        format!(
            "{}/../benches/programs/large.wasm",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    // `no-osr` (not a mid-end switch): translate without OSR entries.
    let switches = args.next().unwrap_or_default();
    let no_osr = switches.split(',').any(|s| s == "no-osr");
    let rest: Vec<&str> = switches.split(',').filter(|s| *s != "no-osr").collect();
    let cfg = MidendConfig::parse(&rest.join(","))?;
    let bytes = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
    let module = Module::new(bytes).map_err(|e| format!("{path}: {e:?}"))?;
    let code = module.code_section_bytes as f64;
    let pipeline = default_pipeline();
    let mut t = Translator::new();
    t.set_osr_entries(!no_osr);
    // Warm up (rule parsing happens once per process).
    let _ = optimize(&mut t.translate(&module, 0).map_err(|e| e.0)?, &cfg);
    let (mut translate, mut midend) = (0u64, 0u64);
    let (mut build, mut run, mut extract, mut elaborate) = (0u64, 0u64, 0u64, 0u64);
    let (mut search, mut apply, mut rebuild) = (0u64, 0u64, 0u64);
    let mut stops = std::collections::BTreeMap::<String, usize>::new();
    let mut fired = std::collections::BTreeMap::<String, usize>::new();
    let (mut nodes, mut pure, mut insts) = (0usize, 0usize, 0usize);
    let (mut gvn, mut hoisted, mut folds, mut bounds) = (0usize, 0usize, 0usize, 0usize);
    for i in 0..module.num_defined_funcs() {
        let s = Instant::now();
        let mut f = t.translate(&module, i).map_err(|e| e.0)?;
        run_pipeline(&mut f, &pipeline, false)?;
        translate += s.elapsed().as_nanos() as u64;
        let s = Instant::now();
        let st = optimize(&mut f, &cfg);
        midend += s.elapsed().as_nanos() as u64;
        build += st.nanos_build;
        run += st.nanos_run;
        search += st.nanos_search;
        apply += st.nanos_apply;
        rebuild += st.nanos_rebuild;
        extract += st.nanos_extract;
        elaborate += st.nanos_elaborate;
        nodes += st.nodes;
        insts += f.num_live_insts();
        gvn += st.gvn_hits;
        hoisted += st.hoisted;
        folds += st.address_folds;
        bounds += st.bounds_checks_removed;
        pure += st.pure_insts;
        *stops.entry(st.stop_reason.clone()).or_default() += 1;
        for (r, n) in st.rules_fired {
            *fired.entry(r).or_default() += n;
        }
    }
    let ms = |n: u64| n as f64 / 1e6;
    let mbs = |n: u64| code / (n as f64 / 1e9) / 1e6;
    println!(
        "{path}: {} functions, {code} bytes of code",
        module.num_defined_funcs()
    );
    println!(
        "translate+cleanup {:8.1} ms  {:6.2} MB/s",
        ms(translate),
        mbs(translate)
    );
    println!(
        "mid-end           {:8.1} ms  {:6.2} MB/s",
        ms(midend),
        mbs(midend)
    );
    println!(
        "  build {:.1} ms, rewrite {:.1} ms, extract {:.1} ms, elaborate {:.1} ms, other {:.1} ms",
        ms(build),
        ms(run),
        ms(extract),
        ms(elaborate),
        ms(midend.saturating_sub(build + run + extract + elaborate))
    );
    println!(
        "  rewrite: search {:.1} ms, apply {:.1} ms, rebuild {:.1} ms, runner {:.1} ms",
        ms(search),
        ms(apply),
        ms(rebuild),
        ms(run.saturating_sub(search + apply + rebuild))
    );
    println!(
        "together          {:8.1} ms  {:6.2} MB/s",
        ms(translate + midend),
        mbs(translate + midend)
    );
    println!(
        "{pure} pure instructions, {nodes} e-nodes after rewriting, {insts} instructions \
         after the mid-end; stop reasons {stops:?}"
    );
    println!(
        "{gvn} uses reused (GVN), {hoisted} values hoisted, {folds} address folds, \
         {bounds} bounds checks removed"
    );
    let mut fired: Vec<_> = fired.into_iter().collect();
    fired.sort_by_key(|f| std::cmp::Reverse(f.1));
    println!(
        "rules fired ({} distinct): {:?}",
        fired.len(),
        &fired[..fired.len().min(15)]
    );
    Ok(())
}
