//! The configurations every conformance test runs (the spec suites, the JIT tests, the
//! mixed-tier subsets), in one list: each available tier in each bounds-check mode, the
//! interpreter in each dispatch mode, the optimizing tier without the e-graph and with chaos
//! extraction, tiered execution under stress policies that tier up and
//! enter OSR at once or at random, and mixed tiers. A tier or mode joins every test by being
//! registered here (`Tier::SINGLE`, `InterpMode::all`), not by copying tests.

use crate::config::{BoundsChecks, Config, InterpMode, Tier};

/// A configuration with a name for test reports, e.g. `baseline/explicit`.
#[derive(Clone, Debug)]
pub struct NamedConfig {
    /// The name reports use, e.g. `baseline/explicit`.
    pub name: String,
    /// The configuration.
    pub config: Config,
}

/// Both bounds-check modes, guard pages first.
pub const BOUNDS_MODES: [BoundsChecks; 2] = [BoundsChecks::GuardPages, BoundsChecks::Explicit];

/// Tiering policies of the tiered configurations: every function tiers up at its first call
/// or back-edge, and seeded random tier-ups and OSR entries.
pub const STRESS_POLICIES: [&str; 4] =
    ["counters:call=1,loop=1", "random:1", "random:2", "random:3"];

/// The optimizing tier's mid-end variants besides the default (e-graph on): without the
/// e-graph, and with chaos extraction (a random legal node per e-class instead of the
/// cheapest, so rewrites the cost model never picks are run too). Each runs in both bounds
/// modes, named e.g. `opt[egraph=off]/explicit`.
pub const EGRAPH_MODES: [&str; 2] = ["off", "chaos=1"];

/// Seeds of the mixed-tier configurations.
pub const MIXED_SEEDS: [u64; 3] = [1, 2, 3];

fn bounds_name(b: BoundsChecks) -> &'static str {
    match b {
        BoundsChecks::GuardPages => "guard",
        BoundsChecks::Explicit => "explicit",
    }
}

/// Each available single tier in each bounds mode, and the interpreter's other dispatch
/// modes in each bounds mode.
pub fn single_tiers() -> Vec<NamedConfig> {
    let mut out = Vec::new();
    for tier in Tier::available() {
        let modes: Vec<InterpMode> = if tier == Tier::Interp {
            InterpMode::all().to_vec()
        } else {
            vec![InterpMode::FASTEST]
        };
        for mode in modes {
            for bounds in BOUNDS_MODES {
                let name = if tier == Tier::Interp && mode != InterpMode::FASTEST {
                    format!("{tier}[{}]/{}", mode.name(), bounds_name(bounds))
                } else {
                    format!("{tier}/{}", bounds_name(bounds))
                };
                let config = Config::default()
                    .tier(tier)
                    .bounds_checks(bounds)
                    .interp_mode(mode);
                out.push(NamedConfig { name, config });
            }
        }
        if tier == Tier::Opt {
            for egraph in EGRAPH_MODES {
                for bounds in BOUNDS_MODES {
                    let name = format!("{tier}[egraph={egraph}]/{}", bounds_name(bounds));
                    let config = Config::default()
                        .tier(tier)
                        .bounds_checks(bounds)
                        .egraph(egraph)
                        .expect("the registered e-graph modes parse");
                    out.push(NamedConfig { name, config });
                }
            }
        }
    }
    out
}

/// Tiered execution under each stress policy and mixed tiers under each seed, each in both
/// bounds modes.
pub fn multi_tier() -> Vec<NamedConfig> {
    let mut out = Vec::new();
    for bounds in BOUNDS_MODES {
        for policy in STRESS_POLICIES {
            let config = Config::default()
                .tier(Tier::Tiered)
                .tiering(policy)
                .expect("the stress policies parse")
                .bounds_checks(bounds)
                .interp_mode(InterpMode::FASTEST);
            let name = format!("tiered {policy}/{}", bounds_name(bounds));
            out.push(NamedConfig { name, config });
        }
        for seed in MIXED_SEEDS {
            let tier = Tier::Mixed { seed };
            let config = Config::default()
                .tier(tier)
                .bounds_checks(bounds)
                .interp_mode(InterpMode::FASTEST);
            let name = format!("{tier}/{}", bounds_name(bounds));
            out.push(NamedConfig { name, config });
        }
    }
    out
}

/// Every registered configuration: `single_tiers` then `multi_tier`.
pub fn configurations() -> Vec<NamedConfig> {
    let mut out = single_tiers();
    out.extend(multi_tier());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_available_tier_and_mode_is_registered_once() {
        let all = configurations();
        let mut names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "duplicate names");
        for tier in Tier::available() {
            for bounds in BOUNDS_MODES {
                assert!(all.iter().any(|c| c.config.tier == tier
                    && c.config.bounds_checks == bounds
                    && c.config.interp_mode == InterpMode::FASTEST));
            }
        }
        for mode in InterpMode::all() {
            assert!(all.iter().any(|c| c.config.interp_mode == mode));
        }
        if Tier::Opt.is_available() {
            for egraph in EGRAPH_MODES {
                for bounds in BOUNDS_MODES {
                    assert!(all.iter().any(|c| c.config.tier == Tier::Opt
                        && c.config.bounds_checks == bounds
                        && c.config.egraph == egraph));
                }
            }
        }
        for bounds in BOUNDS_MODES {
            assert!(all
                .iter()
                .any(|c| c.config.tier == Tier::Tiered && c.config.bounds_checks == bounds));
        }
    }
}
