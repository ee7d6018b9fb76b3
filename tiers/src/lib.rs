//! Strata's execution tiers. Each tier compiles from the same validated function bodies of a
//! `strata_vm::Module` and runs against the same `StoreInner` (design.md §1).

pub mod baseline;
mod host_stack;
pub mod interp;
pub mod jit;
pub mod opt;
pub mod tier;
