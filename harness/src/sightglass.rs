//! The Sightglass benchmark protocol's markers: a benchmark imports `bench.start` and
//! `bench.end` (no parameters, no results) and calls them around the part to measure.
//! `strata run` provides them and reports the time between the two calls.

use std::time::{Duration, Instant};
use strata::{Caller, Error, Linker};

/// The import module of the markers.
pub const MODULE: &str = "bench";

/// When the markers were called (the last call of each).
#[derive(Default, Debug)]
pub struct Markers {
    start: Option<Instant>,
    end: Option<Instant>,
}

impl Markers {
    /// The time from `bench.start` to `bench.end`, when both were called in that order.
    pub fn elapsed(&self) -> Option<Duration> {
        let (start, end) = (self.start?, self.end?);
        end.checked_duration_since(start)
    }
}

/// Defines `bench.start` and `bench.end` in `linker`, recording into the [`Markers`] that
/// `get` finds in the store's host state.
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: impl Fn(&mut T) -> &mut Markers + Copy + Send + Sync + 'static,
) -> Result<(), Error> {
    linker.func_wrap(MODULE, "start", move |mut caller: Caller<'_, T>| {
        get(caller.data_mut()).start = Some(Instant::now());
    })?;
    linker.func_wrap(MODULE, "end", move |mut caller: Caller<'_, T>| {
        get(caller.data_mut()).end = Some(Instant::now());
    })?;
    Ok(())
}
