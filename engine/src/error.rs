//! The errors of the WebAssembly JS interface, as Rust types: `CompileError`, `LinkError`,
//! `RuntimeError`, plus one `Error` that any API call can return.

use std::fmt;
use strata_vm::{FrameInfo, Trap, TrapCode};

/// The bytes are not a valid module: malformed or invalid, with the byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    pub offset: Option<usize>,
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(off) => write!(f, "compile error at offset {off:#x}: {}", self.message),
            None => write!(f, "compile error: {}", self.message),
        }
    }
}

impl std::error::Error for CompileError {}

impl From<strata_vm::ParseError> for CompileError {
    fn from(e: strata_vm::ParseError) -> Self {
        CompileError {
            offset: e.offset,
            message: one_line(&e.message),
        }
    }
}

/// A decoder message as one clean line: the decoder prints byte arrays with `{:#?}` (one
/// byte a line) and pads numbers, and says "magic header" where a user needs "not wasm".
fn one_line(message: &str) -> String {
    if message.starts_with("magic header not detected") {
        return "not a WebAssembly binary (it does not start with the magic bytes `\\0asm`)"
            .to_string();
    }
    if message.contains("encoded as a component") {
        return "a WebAssembly component, not a core module (Strata runs core modules only)"
            .to_string();
    }
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An import is missing or does not match what the module declares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkError {
    pub module: String,
    pub name: String,
    pub reason: String,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "link error: import `{}`.`{}`: {}",
            self.module, self.name, self.reason
        )
    }
}

impl std::error::Error for LinkError {}

/// A trap: its spec kind, its message and the wasm backtrace (innermost frame first).
#[derive(Clone, Debug)]
pub struct RuntimeError {
    trap: Trap,
}

impl RuntimeError {
    pub(crate) fn new(trap: Trap) -> Self {
        RuntimeError { trap }
    }
    pub fn code(&self) -> TrapCode {
        self.trap.code()
    }
    pub fn message(&self) -> &str {
        self.trap.message()
    }
    pub fn backtrace(&self) -> &[FrameInfo] {
        self.trap.backtrace()
    }
    /// The status of a WASI `proc_exit`, which ends execution like a trap.
    pub fn exit_status(&self) -> Option<i32> {
        self.trap.exit_status()
    }
    pub fn trap(&self) -> &Trap {
        &self.trap
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "runtime error: {}", self.trap)
    }
}

impl std::error::Error for RuntimeError {}

impl From<Trap> for RuntimeError {
    fn from(trap: Trap) -> Self {
        RuntimeError { trap }
    }
}

/// An engine configuration this build cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Any error of the embedding API.
#[derive(Clone, Debug)]
pub enum Error {
    Compile(CompileError),
    Link(LinkError),
    Runtime(RuntimeError),
    Config(ConfigError),
    /// A value of the wrong type was passed (the JS interface's `TypeError`).
    Type(String),
    /// A size or index is out of range, or a resource could not be allocated (`RangeError`).
    Range(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Compile(e) => e.fmt(f),
            Error::Link(e) => e.fmt(f),
            Error::Runtime(e) => e.fmt(f),
            Error::Config(e) => e.fmt(f),
            Error::Type(m) => write!(f, "type error: {m}"),
            Error::Range(m) => write!(f, "range error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<CompileError> for Error {
    fn from(e: CompileError) -> Self {
        Error::Compile(e)
    }
}
impl From<LinkError> for Error {
    fn from(e: LinkError) -> Self {
        Error::Link(e)
    }
}
impl From<RuntimeError> for Error {
    fn from(e: RuntimeError) -> Self {
        Error::Runtime(e)
    }
}
impl From<Trap> for Error {
    fn from(t: Trap) -> Self {
        Error::Runtime(RuntimeError::new(t))
    }
}
impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}
