//! `strata-ir`: the machine-independent half of Strata's optimizing tier.
//!
//! An SSA IR of basic blocks with block parameters (no phi nodes), one instruction per wasm
//! operator the other tiers run (plus explicit traps, OSR frame reads and branches), a text
//! form that round-trips, a verifier, translation from validated wasm bodies, and analyses
//! (CFG, dominators, loops) on petgraph. It knows no machine code and no tier.

pub mod analysis;
pub mod entity;
pub mod function;
pub mod opcode;
pub mod parse;
pub mod passes;
pub mod translate;
pub mod types;
pub mod verify;
pub mod write;

pub use entity::{Block, EntityRef, EntityVec, Inst, ListRange, Value};
pub use function::{
    BlockCall, BlockData, Builder, Function, Imm, InstData, MemArg, OsrEntry, ValueData, ValueDef,
};
pub use opcode::{Class, Format, Opcode, Signature};
pub use parse::{parse_function, parse_functions, ParseError};
pub use strata_vm::TrapCode;
pub use translate::{translate_module, TranslateError, Translator};
pub use types::{type_from_name, type_name, Type};
pub use verify::{verify, VerifierErrors};
pub use write::write_function;
