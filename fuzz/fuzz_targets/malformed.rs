//! Arbitrary bytes through validation, compilation in every configuration and instantiation:
//! never a panic, a hang or a crash, and every configuration agrees.
//! The logic is shared with `strata fuzz` and the tests: `strata_harness::diff::targets`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(report) = strata_harness::diff::targets::malformed(data) {
        panic!("{report}");
    }
});
