//! A wasm-smith module (Strata's features only, every item exported, NaNs canonicalized,
//! ensure_termination) run in every available Strata configuration: tiers x bounds-check modes.
//! The logic is shared with `strata fuzz` and the tests: `strata_harness::diff::targets`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(report) = strata_harness::diff::targets::differential_tiers(data) {
        panic!("{report}");
    }
});
