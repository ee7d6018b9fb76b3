//! What is measured and how: the split of W iterations into k calls, the configurations
//! (Strata through its public API, in this process; node in a child process per
//! measurement) and one timed measurement of each.

use std::path::Path;
use std::process::Command;
use std::time::Instant;
use strata::{Config, Engine, Imports, Instance, Module, Store, Tier};

/// `total` loop iterations split into `k` calls of `run(n)`: the first `total % k` calls do
/// one iteration more than the others. `papers/v8-no-osr/run.mjs` splits the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    pub total: u64,
    pub k: u64,
}

impl Split {
    pub fn new(total: u64, k: u64) -> Result<Split, String> {
        if k == 0 || k > total {
            return Err(format!(
                "cannot split {total} iterations into {k} calls (need 1 <= k <= W)"
            ));
        }
        if total.div_ceil(k) > i32::MAX as u64 {
            return Err(format!(
                "{total} iterations in {k} calls: more than {} iterations per call \
                 (run takes an i32)",
                i32::MAX
            ));
        }
        Ok(Split { total, k })
    }

    /// The iteration count of call `i` (0-based).
    pub fn iterations(&self, i: u64) -> i32 {
        let base = self.total / self.k;
        let extra = u64::from(i < self.total % self.k);
        (base + extra) as i32
    }

    /// The iteration counts of all `k` calls, in order.
    pub fn calls(self) -> impl Iterator<Item = i32> {
        (0..self.k).map(move |i| self.iterations(i))
    }
}

/// How a configuration runs the kernel.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// In this process: a fresh `Engine` with this tier (and tiering policy) per measurement.
    Strata {
        tier: Tier,
        policy: Option<&'static str>,
    },
    /// `node FLAGS run.mjs`: a fresh node process per measurement.
    Node { flags: &'static [&'static str] },
}

/// One configuration of the experiment.
#[derive(Debug)]
pub struct Setup {
    /// `strata` or `node`: the CSV's `engine` column and the plot panel.
    pub engine: &'static str,
    /// The CSV's `config` column.
    pub name: &'static str,
    /// The legend entry.
    pub label: &'static str,
    pub kind: Kind,
    /// Measured in the long suite too (Strata's interpreter is not: at k = 1 the OSR-off
    /// configuration runs every iteration in it, which its back-edge count shows, and the
    /// long suite is the slow part of the experiment).
    pub long: bool,
}

/// The policy of the OSR-on configuration (Strata's default counters policy, spelled out).
pub const POLICY_OSR: &str = "counters:call=10,loop=150";
/// The same with OSR off: loops never leave the interpreter, functions move up at calls.
pub const POLICY_NO_OSR: &str = "counters:call=10,loop=150,no-osr";

/// Every configuration, in the order each round measures them (and tables list them).
pub const SETUPS: &[Setup] = &[
    Setup {
        engine: "strata",
        name: "tiered",
        label: "tiered, OSR on (default counters, to opt)",
        kind: Kind::Strata {
            tier: Tier::Tiered,
            policy: Some(POLICY_OSR),
        },
        long: true,
    },
    Setup {
        engine: "strata",
        name: "tiered-no-osr",
        label: "tiered, OSR off (...,no-osr)",
        kind: Kind::Strata {
            tier: Tier::Tiered,
            policy: Some(POLICY_NO_OSR),
        },
        long: true,
    },
    Setup {
        engine: "strata",
        name: "interp",
        label: "interpreter only (Tier::Interp)",
        kind: Kind::Strata {
            tier: Tier::Interp,
            policy: None,
        },
        long: false,
    },
    Setup {
        engine: "strata",
        name: "baseline",
        label: "baseline JIT only (Tier::Baseline)",
        kind: Kind::Strata {
            tier: Tier::Baseline,
            policy: None,
        },
        long: true,
    },
    Setup {
        engine: "strata",
        name: "opt",
        label: "optimizing tier only (Tier::Opt)",
        kind: Kind::Strata {
            tier: Tier::Opt,
            policy: None,
        },
        long: true,
    },
    Setup {
        engine: "node",
        name: "default",
        label: "default (Liftoff, dynamic tier-up to TurboFan)",
        kind: Kind::Node { flags: &[] },
        long: true,
    },
    Setup {
        engine: "node",
        name: "liftoff-only",
        label: "Liftoff only (--liftoff-only)",
        kind: Kind::Node {
            flags: &["--liftoff-only"],
        },
        long: true,
    },
    Setup {
        engine: "node",
        name: "turbofan-only",
        label: "TurboFan only (--no-liftoff --no-wasm-tier-up)",
        kind: Kind::Node {
            flags: &["--no-liftoff", "--no-wasm-tier-up"],
        },
        long: true,
    },
];

/// The configuration named `name` of `engine`.
pub fn setup(engine: &str, name: &str) -> Option<&'static Setup> {
    SETUPS.iter().find(|s| s.engine == engine && s.name == name)
}

/// The outcome of one measurement: the `k` calls alone, compile and instantiation excluded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measured {
    pub wall_s: f64,
    /// CPU time of the whole process (user + system, every thread) during the calls.
    pub cpu_s: f64,
    /// Wrapping sum of the `k` results, as a u64.
    pub checksum: u64,
    /// Tiered Strata only: loop back-edges the interpreter took (the rest ran compiled).
    pub interp_backedges: Option<u64>,
}

/// CPU time of this process so far (all threads), in seconds.
pub fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid, exclusive pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// The `Config` of a Strata configuration.
pub fn strata_config(tier: Tier, policy: Option<&str>) -> Result<Config, String> {
    let config = Config::default().tier(tier);
    match policy {
        Some(spec) => config.tiering(spec).map_err(|e| e.to_string()),
        None => Ok(config),
    }
}

/// Runs `split` on a fresh engine, module, store and instance.
pub fn run_strata(
    tier: Tier,
    policy: Option<&str>,
    wasm: &[u8],
    split: Split,
) -> Result<Measured, String> {
    let engine = Engine::new(strata_config(tier, policy)?).map_err(|e| e.to_string())?;
    let module = Module::new(&engine, wasm).map_err(|e| e.to_string())?;
    let mut store = Store::new(&engine);
    let instance =
        Instance::new(&mut store, &module, &Imports::new()).map_err(|e| e.to_string())?;
    let run = instance
        .get_typed_func::<i32, i64>(&store, "run")
        .map_err(|e| e.to_string())?;

    let mut checksum = 0u64;
    let cpu0 = process_cpu_seconds();
    let start = Instant::now();
    for n in split.calls() {
        let r = run.call(&mut store, n).map_err(|e| e.to_string())?;
        checksum = checksum.wrapping_add(r as u64);
    }
    let wall_s = start.elapsed().as_secs_f64();
    let cpu_s = process_cpu_seconds() - cpu0;

    let interp_backedges = engine.tier_manager().map(|m| {
        m.wait_idle();
        m.counts().iter().map(|&(_, _, backedges)| backedges).sum()
    });
    Ok(Measured {
        wall_s,
        cpu_s,
        checksum,
        interp_backedges,
    })
}

/// `node v20.20.2 V8 11.3.244.8-node.38`, or `None` when node cannot be run.
pub fn node_version(node: &Path) -> Option<String> {
    let out = Command::new(node)
        .args(["-p", "`node ${process.version} V8 ${process.versions.v8}`"])
        .output()
        .ok()?;
    let v = String::from_utf8_lossy(&out.stdout)
        .trim()
        .replace(',', " ");
    (out.status.success() && v.starts_with("node ")).then_some(v)
}

/// Runs `split` in a fresh `node FLAGS script WASM TOTAL K` process.
pub fn run_node(
    node: &Path,
    flags: &[&str],
    script: &Path,
    wasm_file: &Path,
    split: Split,
) -> Result<Measured, String> {
    let out = Command::new(node)
        .args(flags)
        .arg(script)
        .arg(wasm_file)
        .arg(split.total.to_string())
        .arg(split.k.to_string())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", node.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "node {} failed ({}): {}{}",
            flags.join(" "),
            out.status,
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    parse_node_line(&stdout).ok_or_else(|| format!("unexpected output from node: {stdout:?}"))
}

/// Parses run.mjs's `wall=S cpu=S checksum=N` line.
pub fn parse_node_line(text: &str) -> Option<Measured> {
    let line = text.lines().rev().find(|l| l.starts_with("wall="))?;
    let field = |key: &str| {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    };
    Some(Measured {
        wall_s: field("wall")?.parse().ok()?,
        cpu_s: field("cpu")?.parse().ok()?,
        checksum: field("checksum")?.parse().ok()?,
        interp_backedges: None,
    })
}
