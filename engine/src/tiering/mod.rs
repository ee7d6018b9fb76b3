//! The tier manager's parts that are independent of any one tier: tiering policies (what to
//! compile, when, and when to enter OSR), the background compile queue, and profiling events
//! (design.md §6-§8). Tiers are reached only through the work the queue runs; nothing here
//! names a tier's internals.

mod manager;
mod policy;
mod profile;
mod queue;

pub use manager::TierManager;
pub use policy::{
    parse_policy, BaselinePolicy, BudgetPolicy, CountersPolicy, Decision, FuncState, InterpPolicy,
    NoOsr, RandomPolicy, TierLevel, TierPolicy, Verdict,
};
pub use profile::{
    Event, EventKind, FuncKey, FuncRow, LevelCompiles, ProfileSummary, Profiler, TIME_BUCKETS,
};
pub use queue::{BatchWork, Batchable, CompileJob, CompileQueue, CompileWork, JobOutcome, OnDone};
