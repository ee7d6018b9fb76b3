//! `strata-vm`: the compiler-free core of Strata that the runtime and every tier read
//! (design.md §0-§1). It knows the module environment, the store of runtime objects, linear
//! memory, traps and the value representation; it knows no tier.
//!
//! Values are untyped 64-bit cells everywhere below the public API: integers in their two's
//! complement bits, floats as their IEEE bits (NaN payloads kept), references as store
//! addresses plus one (0 is null).

pub mod abi;
pub mod exn;
pub mod frontend;
pub mod instantiate;
pub mod interrupt;
pub mod memory;
mod mmap;
pub mod module;
pub mod store;
pub mod tiering;
pub mod trap;
pub mod typeid;
pub mod types;
pub mod vmctx;

pub use instantiate::{
    instantiate, memory_copy, memory_fill, memory_grow, memory_init, memory_size, table_copy,
    table_fill, table_init, ExternAddr, InstantiateError,
};
pub use interrupt::Interrupts;
pub use memory::{BoundsChecks, LinearMemory};
pub use mmap::ValueStack;
pub use module::{Module, ParseError, StreamingValidator};
pub use store::*;
pub use trap::{FrameInfo, Trap, TrapCode};
pub use types::*;
