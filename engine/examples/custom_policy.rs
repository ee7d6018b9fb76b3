//! A tiering policy written in Rust: small functions move to the baseline after a few calls,
//! large ones only once they have proven hot, and a loop enters OSR as soon as its code is
//! ready. Runs a module with it and prints the profile.
//!
//!     cargo run --release -p strata --example custom_policy [FILE.wat|FILE.wasm] [EXPORT] [N]
//!
//! Defaults: `benches/kernels/long_loop.wat`, export `run`, N = 100000000.

use strata::tiering::{Decision, FuncState, TierLevel, TierPolicy, Verdict};
use strata::{Config, Engine, Imports, Instance, Module, Store, Tier, Val};

/// Calls before a function of `body_bytes` bytes is compiled: 2 for a 100-byte function,
/// growing with size (compile time grows with size; a big function must earn it).
fn call_threshold(body_bytes: u32) -> u64 {
    2 + body_bytes as u64 / 50
}

struct SizeAware;

impl TierPolicy for SizeAware {
    fn name(&self) -> String {
        "size-aware".into()
    }

    fn on_call(&self, f: &FuncState) -> Verdict {
        let threshold = call_threshold(f.body_bytes);
        if f.ready >= TierLevel::Baseline || f.compiling {
            return Verdict::wait(u64::MAX);
        }
        if f.calls >= threshold {
            return Verdict {
                decision: Decision::Compile {
                    tier: TierLevel::Baseline,
                    priority: 0,
                },
                next_check: 1,
            };
        }
        Verdict::wait(threshold - f.calls)
    }

    fn on_backedge(&self, f: &FuncState, _loop: u32) -> Verdict {
        if f.ready > f.tier {
            return Verdict {
                decision: Decision::Osr { tier: f.ready },
                next_check: 1,
            };
        }
        if f.compiling {
            // Ask again soon: the loop enters the new code as soon as it is installed.
            return Verdict::wait(64);
        }
        // A loop is worth compiling for after ~1000 iterations, whatever the size.
        if f.backedges >= 1000 {
            return Verdict {
                decision: Decision::Compile {
                    tier: TierLevel::Baseline,
                    // Ahead of call-triggered jobs: a running loop is waiting for this one.
                    priority: 1,
                },
                next_check: 64,
            };
        }
        Verdict::wait(1000 - f.backedges)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let file = args
        .next()
        .unwrap_or_else(|| "benches/kernels/long_loop.wat".into());
    let export = args.next().unwrap_or_else(|| "run".into());
    let n: i32 = args.next().map_or(Ok(100_000_000), |s| s.parse())?;

    let engine = Engine::new(
        Config::default()
            .tier(Tier::Tiered)
            .policy(SizeAware)
            .profile(true),
    )?;
    let module = Module::new(&engine, std::fs::read(&file)?)?;
    let mut store = Store::new(&engine);
    let instance = Instance::new(&mut store, &module, &Imports::new())?;
    let func = instance
        .get_func(&store, &export)
        .ok_or_else(|| format!("{file} has no export `{export}`"))?;
    let start = std::time::Instant::now();
    let results = func.call(&mut store, &[Val::I32(n)])?;
    println!("{export}({n}) = {results:?} in {:.3?}", start.elapsed());

    let manager = engine.tier_manager().ok_or("the engine is not tiered")?;
    manager.wait_idle();
    manager.stop_sampling();
    let profiler = manager.profiler().ok_or("profiling is off")?;
    print!("{}", profiler.summary(&manager.counts()).render(10));
    Ok(())
}
