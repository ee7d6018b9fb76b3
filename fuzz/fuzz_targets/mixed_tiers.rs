//! A wasm-smith module with a random tier per function (`mixed:SEED`) against the interpreter.
//! Returns at once while this build of Strata has no tier per function.
//! The logic is shared with `strata fuzz` and the tests: `strata_harness::diff::targets`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(report) = strata_harness::diff::targets::mixed_tiers(data) {
        panic!("{report}");
    }
});
