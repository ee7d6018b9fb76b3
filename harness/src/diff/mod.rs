//! Differential testing and fuzzing (design.md §9, "same behaviour in every tier").
//!
//! One idea per module:
//! - [`value`]: engine-neutral values, outcomes and final-state snapshots, and the equality
//!   used (NaN equals NaN in typed values; memory byte-exact);
//! - [`plan`]: the calls to make and their arguments, from a seed (edge values and random);
//! - [`side`]: a way of running a module (a Strata configuration such as `interp-explicit`
//!   or `mixed:SEED`); [`wasmi_side`] is the peer oracle (feature `oracle-wasmi`);
//! - [`worker`]: each side on its own thread, with a timeout in place of fuel;
//! - [`compare`]: a case run on every side and compared step by step ([`run_case`]);
//! - [`generate`]: wasm-smith modules restricted to Strata's features ([`generate`]);
//! - [`canon`]: NaN canonicalization after the conversions wasm-smith leaves alone;
//! - [`typed_refs`]: direct calls rewritten through typed function references;
//! - [`malformed`]: arbitrary bytes through validation, compilation and instantiation;
//! - [`oracle_bugs`]: a divergence attributed to a known bug of the oracle, by a re-run
//!   past it (never by its symptom alone);
//! - [`targets`]: the fuzz targets as functions of bytes, shared by `fuzz/`, the tests and
//!   `strata fuzz`;
//! - [`cli`] (`strata diff`) and [`campaign`] (`strata fuzz`).

pub mod campaign;
pub mod canon;
pub mod cli;
pub mod compare;
pub mod generate;
pub mod malformed;
pub mod oracle_bugs;
pub mod plan;
pub mod side;
pub mod targets;
pub mod typed_refs;
pub mod value;
#[cfg(feature = "oracle-wasmi")]
pub mod wasmi_side;
pub mod worker;

pub use campaign::{fuzz_main, FuzzArgs};
pub use cli::{main, DiffArgs};
pub use compare::{run_case, Case, CaseReport, Divergence, RunOptions};
pub use generate::{
    generate, generate_for, generate_from_seed, generate_from_seed_for, generate_from_seed_with,
    generate_with, uses_simd, Features, SimdChoice,
};
pub use side::{available_configs, Side, StrataConfig, StrataSide};
