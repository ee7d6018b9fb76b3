//! `strata-ir`: the SSA IR of Strata's optimizing tier, machine-independent and free of
//! machine code. It reads the compiler-free `strata-vm` module (the same validated function
//! bodies every tier compiles) and gives the back end a verified SSA function.
//!
//! - `types`, `opcode`, `function`: the IR (blocks with parameters, no phi nodes; an opcode
//!   table written once as data).
//! - `print`, `parse`: the text form, which round-trips.
//! - `verify`: run after every pass in tests and debug builds.
//! - `analysis`: CFG, dominator tree, loop nest and use counts on petgraph.
//! - `translate`: wasm to SSA (Braun et al. 2013), with an OSR entry per reachable loop.
//! - `passes`: the cleanup passes and the pipeline.

pub mod analysis;
pub mod function;
pub mod opcode;
pub mod parse;
pub mod passes;
mod print;
pub mod translate;
pub mod types;
pub mod verify;

pub use function::{Block, BlockCall, Function, Imm, Inst, MemArg, OsrEntry, Value};
pub use opcode::{Kind, Opcode};
pub use parse::{parse_function, parse_functions, ParseError};
pub use print::const_text;
pub use translate::translate_function;
pub use types::Type;
pub use verify::verify;
