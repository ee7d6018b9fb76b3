//! The Sightglass benchmark protocol's markers: a benchmark imports `bench.start` and
//! `bench.end` (no parameters, no results) and calls them around the part to measure.
//! `strata run` provides them and reports the time between the two calls.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata::{ExternType, Func, FuncType, Imports, Module, Store};

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

/// Defines the markers `module` imports (with the right type; others are left for the
/// linker to report) into `imports`.
pub fn add_to_imports(
    store: &mut Store,
    imports: &mut Imports,
    module: &Module,
    markers: &Arc<Mutex<Markers>>,
) {
    let marker_ty = FuncType::new([], []);
    for import in module.imports() {
        if import.module != MODULE {
            continue;
        }
        let ExternType::Func(ty) = &import.ty else {
            continue;
        };
        if *ty != marker_ty {
            continue;
        }
        let is_start = match import.name.as_str() {
            "start" => true,
            "end" => false,
            _ => continue,
        };
        let markers = markers.clone();
        let func = Func::new(&mut *store, marker_ty.clone(), move |_, _, _| {
            let now = Instant::now();
            let mut m = markers.lock().unwrap_or_else(|e| e.into_inner());
            if is_start {
                m.start = Some(now);
            } else {
                m.end = Some(now);
            }
            Ok(())
        });
        imports.define(MODULE, &import.name, func);
    }
}
