//! The one trap path shared by every tier (design.md §4): a trap is a value, returned as
//! `Err(Trap)` through Rust frames, never an unwind.

use std::fmt;

/// Trap kinds, with the spec's messages. The discriminants are the trap codes that JIT tiers
/// return from their trap stubs, so they are fixed here once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TrapCode {
    Unreachable = 1,
    MemoryOutOfBounds = 2,
    TableOutOfBounds = 3,
    IndirectCallToNull = 4,
    UndefinedElement = 5,
    BadSignature = 6,
    IntegerOverflow = 7,
    IntegerDivisionByZero = 8,
    BadConversionToInteger = 9,
    StackOverflow = 10,
    NullReference = 11,
    /// A host function failed; the trap carries its message.
    Host = 12,
    /// WASI `proc_exit`: not an error of the program, but it ends execution like a trap.
    Exit = 13,
    /// The store's epoch deadline passed (design.md §13): another thread bumped the engine's
    /// epoch past it.
    Interrupt = 14,
    /// The store's fuel ran out (design.md §13).
    OutOfFuel = 15,
    /// A wasm exception is being thrown (design.md §11): the trap carries its `exnref` cell
    /// (`Trap::exception`). Handlers catch only this kind; it reaches the host uncaught.
    Exception = 16,
    /// `call_ref`/`return_call_ref` of a null function reference.
    NullFunctionReference = 20,
}

impl TrapCode {
    /// The message the spec tests (and other engines) use for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::IndirectCallToNull => "uninitialized element",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::BadSignature => "indirect call type mismatch",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::IntegerDivisionByZero => "integer divide by zero",
            TrapCode::BadConversionToInteger => "invalid conversion to integer",
            TrapCode::StackOverflow => "call stack exhausted",
            TrapCode::NullReference => "null reference",
            TrapCode::Host => "host function error",
            TrapCode::Exit => "program exited",
            TrapCode::Interrupt => "interrupt",
            TrapCode::OutOfFuel => "all fuel consumed by WebAssembly",
            TrapCode::Exception => "uncaught exception",
            TrapCode::NullFunctionReference => "null function reference",
        }
    }

    pub fn from_u8(code: u8) -> Option<TrapCode> {
        use TrapCode::*;
        [
            Unreachable,
            MemoryOutOfBounds,
            TableOutOfBounds,
            IndirectCallToNull,
            UndefinedElement,
            BadSignature,
            IntegerOverflow,
            IntegerDivisionByZero,
            BadConversionToInteger,
            StackOverflow,
            NullReference,
            Host,
            Exit,
            Interrupt,
            OutOfFuel,
            Exception,
            NullFunctionReference,
        ]
        .into_iter()
        .find(|c| *c as u8 == code)
    }
}

/// One frame of a wasm backtrace, innermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Index of the function in its module's function index space.
    pub func_index: u32,
    /// From the name section, when the module has one.
    pub func_name: Option<String>,
    /// The module's name from the name section, when it has one.
    pub module_name: Option<String>,
    /// The byte offset, in the module binary, of the wasm instruction this frame was
    /// executing: the trapping instruction in the innermost frame, the call instruction in
    /// every outer frame (as wasmtime and `wasm-objdump` count). A frame stopped before its
    /// first instruction (stack overflow on entry) has the offset of that first instruction;
    /// `None` when the tier could not tell.
    pub wasm_offset: Option<u32>,
}

impl fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(off) = self.wasm_offset {
            write!(f, "{off:#x} - ")?;
        }
        if let Some(m) = &self.module_name {
            write!(f, "{m}!")?;
        }
        match &self.func_name {
            Some(name) => write!(f, "{name} (func {})", self.func_index),
            None => write!(f, "func {}", self.func_index),
        }
    }
}

#[derive(Clone, Debug)]
struct TrapInner {
    code: TrapCode,
    message: Option<String>,
    exit_status: i32,
    /// For `TrapCode::Exception`: the exception's `exnref` cell (`crate::exn`).
    exception: u64,
    backtrace: Vec<FrameInfo>,
}

/// A trap: its kind, an optional message (host traps), and the wasm backtrace.
/// Boxed so that `Result<T, Trap>` stays one word on the hot path.
#[derive(Clone, Debug)]
pub struct Trap(Box<TrapInner>);

impl Trap {
    pub fn new(code: TrapCode) -> Trap {
        Trap(Box::new(TrapInner {
            code,
            message: None,
            exit_status: 0,
            exception: 0,
            backtrace: Vec::new(),
        }))
    }
    /// A trap raised by a host function, with its message.
    pub fn host(message: impl Into<String>) -> Trap {
        let mut t = Trap::new(TrapCode::Host);
        t.0.message = Some(message.into());
        t
    }
    /// WASI `proc_exit(status)`.
    pub fn exit(status: i32) -> Trap {
        let mut t = Trap::new(TrapCode::Exit);
        t.0.exit_status = status;
        t
    }
    /// A thrown wasm exception: `exn` is its (non-null) `exnref` cell in the store's
    /// exception heap (`crate::exn`).
    pub fn exception(exn: u64) -> Trap {
        let mut t = Trap::new(TrapCode::Exception);
        t.0.exception = exn;
        t
    }
    /// The `exnref` cell of a thrown exception; `None` for every other trap (traps are
    /// never caught by wasm handlers).
    #[inline]
    pub fn exception_cell(&self) -> Option<u64> {
        (self.0.code == TrapCode::Exception).then_some(self.0.exception)
    }
    pub fn code(&self) -> TrapCode {
        self.0.code
    }
    /// The exit status of a `proc_exit` trap.
    pub fn exit_status(&self) -> Option<i32> {
        (self.0.code == TrapCode::Exit).then_some(self.0.exit_status)
    }
    pub fn message(&self) -> &str {
        self.0.message.as_deref().unwrap_or(self.0.code.message())
    }
    pub fn backtrace(&self) -> &[FrameInfo] {
        &self.0.backtrace
    }
    /// Adds an outer frame: tiers call this as the trap leaves each wasm frame.
    pub fn push_frame(&mut self, frame: FrameInfo) {
        self.0.backtrace.push(frame);
    }
    /// Removes the outermost frame: a frame that left one tier by OSR is recorded by that
    /// tier as well, and must be named once.
    pub fn pop_frame(&mut self) -> Option<FrameInfo> {
        self.0.backtrace.pop()
    }
}

impl From<TrapCode> for Trap {
    fn from(code: TrapCode) -> Trap {
        Trap::new(code)
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())?;
        if !self.0.backtrace.is_empty() {
            f.write_str("\nwasm backtrace:")?;
            for (i, frame) in self.0.backtrace.iter().enumerate() {
                write!(f, "\n  {i}: {frame}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for Trap {}
