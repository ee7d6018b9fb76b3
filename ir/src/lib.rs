//! `strata-ir`: the machine-independent half of Strata's optimizing tier.
//!
//! An SSA IR of basic blocks with block parameters (no phi nodes), one instruction per wasm
//! operator the other tiers run (plus explicit traps, OSR frame reads and branches), a text
//! form that round-trips, a verifier, translation from validated wasm bodies, and analyses
//! (CFG, dominators, loops) on petgraph. It knows no machine code and no tier.
//!
//! # Pieces
//! - [`opcode`]: the opcode table, one macro row per opcode (text name, immediate format,
//!   effect class, trap codes, signature). `Opcode::from_name`, `name`, `signature`,
//!   `is_pure`, `pure_opcodes` are what the mid-end's e-graph language maps from.
//! - [`function`]: `Function` (values, blocks with parameters, instructions in flat vectors,
//!   operands and branch targets in pools, OSR entries) and `Builder`
//!   (`Builder::inst(opcode, imm, args, result_types)` builds any instruction).
//! - [`mod@write`] / [`mod@parse`]: the text form. [`mod@verify`]: the verifier.
//! - [`translate`]: wasm to SSA (Braun et al.) on `strata_vm::frontend`.
//! - [`analysis`]: CFG, dominator tree, loop nest, use counts, reverse postorder.
//! - [`eval`]: `eval_pure`, the evaluator of pure opcodes on raw bits (wasm semantics bit
//!   for bit, canonical NaNs) that the constant folder and the rule property tests share.
//! - [`egraph`]: the mid-end: pure instructions in an egg e-graph rewritten by the rules of
//!   `ir/rules/` (parsed at start-up), constant folding and known bits as the analysis,
//!   extraction under an x86-64 cost model (or chaos), elaboration with scoped GVN, LICM and
//!   constant rematerialization; [`egraph::optimize`] is the whole mid-end, switched by
//!   [`egraph::MidendConfig`]. [`loops`] gives every loop one preheader (OSR entries
//!   included), [`bounds`] drops bounds checks covered by a dominating one.
//! - [`exec`]: a reference executor of IR functions against a model of their environment,
//!   for checking that passes keep a function's meaning.
//! - [`passes`]: cleanup passes (`unreachable`, `redundant-params`, `dce`, `cleanup`,
//!   `split-critical-edges`) and the pipeline (`default_pipeline`, which the mid-end
//!   extends; `run_pipeline` verifies after each pass on request).
//!
//! # Text form
//! ```text
//! function "sum"(i32) -> (i32) {
//!     osr_entry 0 block3
//! block0(v0: i32):
//!     v1 = i32.const 0
//!     jump block2(v0, v1, v1)
//! block2(v2: i32, v3: i32, v4: i32):
//!     v5 = i32.ge_s v3, v2
//!     br_if v5, block1, block4
//! block3:
//!     v6:i32 = osr.load_cell cell0
//!     ...
//! ```
//! One instruction per line: results (`v5`, or `v6:i32` where the opcode does not fix the
//! type: globals, calls, tables, `osr.load_cell`), the opcode's wasm name, its immediates
//! (`mem0 offset=16 align=2 checked`, `g3`, `f7`, `type2 table0`, `table0`, `data1 mem0`,
//! a trap code name, float constants as their bits `0x3ff0000000000000`), then the
//! operands. Branches: `jump B(args)`, `br_if c, B(args), B(args)`,
//! `br_table i, [B(args), ...], DEFAULT(args)`. `;` starts a comment. Numbers are
//! canonical (blocks in layout order, values in definition order), so printing is stable
//! and `print(parse(print(f))) == print(f)`.
//!
//! # Semantics worth knowing
//! - Opcodes keep wasm's semantics, traps included: `i32.div_s` traps as wasm does (its row
//!   lists the codes); `trap`/`trapz`/`trapnz` carry a trap code for explicit checks.
//!   Memory accesses carry memory, offset, alignment and whether a bounds check is still
//!   needed (`checked`); the width follows from the opcode (`Opcode::access_bytes`).
//! - Calls: `call fN` (defined), `call_import fN`, `call_indirect typeT tableN args..., idx`.
//!   Bulk memory/table operations, `memory.grow`, `table.grow` are single instructions
//!   that the back end lowers to runtime-helper calls.
//! - OSR (design.md §5): every reachable `loop` has an OSR entry block (listed as
//!   `osr_entry ORDINAL BLOCK`, the ordinal counting dead loops) with no predecessors
//!   that reads the frame with `osr.load_cell k` and jumps to the header. Cell `k < L`
//!   is local `k`; cell `L + p` is operand position `p` (docs/abi.md's baseline layout,
//!   `fp[L + p]`; the interpreter's OSR source normalises its constant pool away). The
//!   entry reads the *whole* operand stack at the header, the positions below the loop's
//!   parameters included (wasm fixes their shape, and a value pushed before an enclosing
//!   block can be used after it). Loop headers take every local and operand position as
//!   parameters, and dominance is computed with all entries as roots.
pub mod analysis;
pub mod bounds;
pub mod egraph;
pub mod entity;
pub mod eval;
pub mod exec;
pub mod function;
pub mod loops;
pub mod opcode;
pub mod osr;
pub mod parse;
pub mod passes;
pub mod simd;
pub mod translate;
pub mod types;
pub mod verify;
pub mod write;

pub use entity::{Block, EntityRef, EntityVec, Inst, ListRange, Value};
pub use eval::eval_pure;
pub use function::{
    BlockCall, BlockData, Builder, Function, Imm, InstData, InvokeImm, MemArg, OsrEntry, ValueData,
    ValueDef,
};
pub use opcode::{Class, Format, Opcode, Signature};
pub use parse::{parse_function, parse_functions, ParseError};
pub use strata_vm::TrapCode;
pub use translate::{translate_module, TranslateError, Translator};
pub use types::{type_from_name, type_name, Type};
pub use verify::{verify, VerifierErrors};
pub use write::write_function;
