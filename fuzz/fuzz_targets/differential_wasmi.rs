//! A wasm-smith module on Strata (every available configuration) against wasmi as oracle.
//! The logic is shared with `strata fuzz` and the tests: `strata_harness::diff::targets`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(report) = strata_harness::diff::targets::differential_wasmi(data) {
        panic!("{report}");
    }
});
