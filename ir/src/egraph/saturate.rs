//! The rewrite loop: egg's search and apply, under the [`Budget`].
//!
//! egg's `Runner` does the same with bookkeeping a JIT cannot afford on thousands of small
//! functions (a clock read and a limit check after every rule, a rule-name check and a
//! rebuild per run, per-iteration records); this loop checks the limits once per iteration
//! and after each rule's application only the node count. The limits count work (iterations,
//! nodes, matches), never time: the same function always gets the same rewrites.

use super::facts::{FactsAnalysis, Graph};
use super::lang::Node;
use super::Budget;
use egg::{Rewrite, StopReason};
use std::time::Instant;

/// Why the loop stopped on its match budget (egg has no reason of its own for it).
pub const MATCH_LIMIT: &str = "matches";

/// What the loop did.
pub struct Outcome {
    pub stop: StopReason,
    pub iterations: usize,
    /// How many times each rule (same order as given) changed the e-graph.
    pub fired: Vec<usize>,
    pub nanos_search: u64,
    pub nanos_apply: u64,
    pub nanos_rebuild: u64,
}

/// Applies the rules until nothing changes or a limit of the budget is reached.
pub fn saturate(
    egraph: &mut Graph,
    rules: &[&Rewrite<Node, FactsAnalysis>],
    budget: &Budget,
    node_limit: usize,
) -> Outcome {
    let match_limit = node_limit.saturating_mul(budget.match_factor);
    let mut matched = 0usize;
    let mut out = Outcome {
        stop: StopReason::Saturated,
        iterations: 0,
        fired: vec![0; rules.len()],
        nanos_search: 0,
        nanos_apply: 0,
        nanos_rebuild: 0,
    };
    egraph.rebuild();
    loop {
        if out.iterations >= budget.iterations {
            out.stop = StopReason::IterationLimit(out.iterations);
            return out;
        }
        out.iterations += 1;
        let (size, classes) = (egraph.total_size(), egraph.number_of_classes());
        let t = Instant::now();
        let matches: Vec<_> = rules.iter().map(|rw| rw.search(egraph)).collect();
        out.nanos_search += super::elapsed_ns(t);
        matched = matched.saturating_add(
            matches
                .iter()
                .flatten()
                .map(|m| m.substs.len())
                .sum::<usize>(),
        );
        if matched > match_limit {
            // Too much to apply: the e-graph stays as the last iteration left it.
            out.stop = StopReason::Other(MATCH_LIMIT.into());
            return out;
        }
        let t = Instant::now();
        let mut applied = false;
        for (k, (rw, ms)) in rules.iter().zip(matches).enumerate() {
            if ms.is_empty() {
                continue;
            }
            let n = rw.apply(egraph, &ms).len();
            out.fired[k] += n;
            applied |= n > 0;
            if egraph.total_size() > node_limit {
                out.nanos_apply += super::elapsed_ns(t);
                egraph.rebuild();
                out.stop = StopReason::NodeLimit(egraph.total_size());
                return out;
            }
        }
        out.nanos_apply += super::elapsed_ns(t);
        // Nothing added or merged (egg clears `clean` on both): the e-graph is as the last
        // rebuild left it, and rebuilding it again (every class's nodes re-sorted) would be
        // wasted. Most functions end here after one iteration.
        if egraph.clean {
            out.stop = StopReason::Saturated;
            return out;
        }
        let t = Instant::now();
        egraph.rebuild();
        out.nanos_rebuild += super::elapsed_ns(t);
        if !applied && egraph.total_size() == size && egraph.number_of_classes() == classes {
            out.stop = StopReason::Saturated;
            return out;
        }
    }
}
