//! The errors of the WebAssembly JS interface, as Rust types: `CompileError`, `LinkError`,
//! `RuntimeError`, plus one `Error` that any API call can return.

use std::collections::HashMap;
use std::fmt;
use strata_vm::{FrameInfo, StoreInner, Trap, TrapCode};

/// The bytes are not a valid module: malformed or invalid, with the byte offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    /// The byte offset in the binary where the problem was found, when known.
    pub offset: Option<usize>,
    /// What is wrong, on one line.
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
    /// The import's module name.
    pub module: String,
    /// The import's field name.
    pub name: String,
    /// Why it could not be linked.
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
///
/// `Display` prints the message and the backtrace with demangled names and code offsets,
/// folding a run of identical frames (deep recursion) into one line, so a stack overflow is
/// a few lines rather than thousands.
#[derive(Clone, Debug)]
pub struct RuntimeError {
    trap: Trap,
    frames: Vec<Frame>,
    /// For an uncaught wasm exception: the exception.
    exception: Option<crate::Exception>,
}

impl RuntimeError {
    /// A runtime error for `trap`, without code offsets (no store to find the modules in).
    pub(crate) fn new(trap: Trap) -> Self {
        let frames = frames_of(&trap, |_| None);
        RuntimeError {
            trap,
            frames,
            exception: None,
        }
    }

    /// A runtime error for a trap raised in `store`: each frame gets the code offset of its
    /// function when the module it belongs to is known.
    pub(crate) fn in_store(trap: Trap, store: &mut StoreInner) -> Self {
        // An exception that reaches the host may be rethrown from there: keep its object.
        let exception = trap.exception_cell().and_then(|cell| {
            store.exns.keep(cell);
            crate::Exception::from_cell(store, cell)
        });
        let store = &*store;
        // Each distinct function is looked up once (a deep recursion repeats one thousands
        // of times); a trap without frames costs nothing.
        let mut memo: HashMap<(Option<String>, u32), Option<usize>> = HashMap::new();
        let frames = frames_of(&trap, |f| {
            *memo
                .entry((f.module_name.clone(), f.func_index))
                .or_insert_with(|| func_offset(store, f))
        });
        RuntimeError {
            trap,
            frames,
            exception,
        }
    }

    /// The exception, when the error is a wasm exception no handler caught
    /// (`TrapCode::Exception`).
    pub fn exception(&self) -> Option<&crate::Exception> {
        self.exception.as_ref()
    }
    /// The spec kind of the trap.
    pub fn code(&self) -> TrapCode {
        self.trap.code()
    }
    /// The trap's message (without the backtrace).
    pub fn message(&self) -> &str {
        self.trap.message()
    }
    /// The wasm backtrace as the tiers recorded it (innermost first, names as in the name
    /// section); [`frames`](Self::frames) has demangled names and code offsets.
    pub fn backtrace(&self) -> &[FrameInfo] {
        self.trap.backtrace()
    }
    /// The wasm backtrace, innermost first, with demangled names and code offsets.
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }
    /// The status of a WASI `proc_exit`, which ends execution like a trap.
    pub fn exit_status(&self) -> Option<i32> {
        self.trap.exit_status()
    }
    /// The trap itself.
    pub fn trap(&self) -> &Trap {
        &self.trap
    }
}

/// Identical frames in a row beyond this many are folded into one line.
const REPEATS_SHOWN: usize = 3;

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "runtime error: {}", self.message())?;
        let frames = &self.frames;
        if frames.is_empty() {
            return Ok(());
        }
        f.write_str("\nwasm backtrace:")?;
        let mut i = 0;
        while i < frames.len() {
            let run = frames[i..].iter().take_while(|x| **x == frames[i]).count();
            let shown = if run > REPEATS_SHOWN + 1 {
                REPEATS_SHOWN
            } else {
                run
            };
            for (k, frame) in frames.iter().enumerate().skip(i).take(shown) {
                write!(f, "\n  {k}: {frame}")?;
            }
            if shown < run {
                write!(f, "\n  ... {} more frames of {}", run - shown, frames[i])?;
            }
            i += run;
        }
        Ok(())
    }
}

impl std::error::Error for RuntimeError {}

impl From<Trap> for RuntimeError {
    fn from(trap: Trap) -> Self {
        RuntimeError::new(trap)
    }
}

/// One frame of a wasm backtrace: the function, its names and where its code is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    info: FrameInfo,
    demangled: Option<String>,
    func_offset: Option<usize>,
}

impl Frame {
    /// Index of the function in its module's function index space.
    pub fn func_index(&self) -> u32 {
        self.info.func_index
    }
    /// The function's name, demangled when it is a mangled Rust or C++ symbol.
    pub fn func_name(&self) -> Option<&str> {
        self.demangled.as_deref().or(self.info.func_name.as_deref())
    }
    /// The function's name exactly as the name section has it.
    pub fn raw_func_name(&self) -> Option<&str> {
        self.info.func_name.as_deref()
    }
    /// The module's name from the name section.
    pub fn module_name(&self) -> Option<&str> {
        self.info.module_name.as_deref()
    }
    /// The byte offset of the function's body in the module binary (what
    /// `wasm-objdump`/`wasm-tools` show for it), when the module is known.
    pub fn func_offset(&self) -> Option<usize> {
        self.func_offset
    }
    /// The byte offset in the module binary of the instruction the frame was executing:
    /// the trapping instruction in the innermost frame, the call in outer frames
    /// ([`FrameInfo::wasm_offset`]).
    pub fn wasm_offset(&self) -> Option<u32> {
        self.info.wasm_offset
    }
}

/// As wasmtime prints a frame: `0x1a4 - module!name (func 3)`, the instruction's offset
/// first; without it, the function body's offset after the index.
impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(off) = self.wasm_offset() {
            write!(f, "{off:#x} - ")?;
        }
        if let Some(m) = self.module_name() {
            write!(f, "{m}!")?;
        }
        match self.func_name() {
            Some(name) => write!(f, "{name} (func {}", self.func_index())?,
            None => write!(f, "func {}", self.func_index())?,
        }
        if let (None, Some(off)) = (self.wasm_offset(), self.func_offset) {
            write!(f, " @ {off:#x}")?;
        }
        if self.func_name().is_some() {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// The frames of `trap`, demangling each distinct name once (a deep recursion repeats one).
fn frames_of(trap: &Trap, mut offset: impl FnMut(&FrameInfo) -> Option<usize>) -> Vec<Frame> {
    let mut demangled: HashMap<&str, Option<String>> = HashMap::new();
    trap.backtrace()
        .iter()
        .map(|info| Frame {
            demangled: info.func_name.as_deref().and_then(|n| {
                demangled
                    .entry(n)
                    .or_insert_with(|| crate::demangle::demangle(n))
                    .clone()
            }),
            func_offset: offset(info),
            info: info.clone(),
        })
        .collect()
}

/// The offset of `frame`'s function body. A frame names its module only by the name
/// section's module name, so the offset is given when exactly one module among the store's
/// instances matches it.
fn func_offset(store: &StoreInner, frame: &FrameInfo) -> Option<usize> {
    let mut found: Option<&strata_vm::Module> = None;
    for instance in &store.instances {
        let m: &strata_vm::Module = &instance.module;
        let defined = (frame.func_index as usize)
            .checked_sub(m.num_imported_funcs as usize)
            .is_some_and(|def| def < m.bodies.len());
        if m.module_name != frame.module_name || !defined {
            continue;
        }
        match found {
            Some(f) if !std::ptr::eq(f, m) => return None,
            _ => found = Some(m),
        }
    }
    let m = found?;
    Some(
        m.bodies[(frame.func_index - m.num_imported_funcs) as usize]
            .range
            .start,
    )
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
    /// The module is malformed or invalid.
    Compile(CompileError),
    /// An import is missing or does not match.
    Link(LinkError),
    /// Execution trapped (or a WASI program exited).
    Runtime(RuntimeError),
    /// A wasm exception no handler caught (the JS interface throws the `Exception`).
    Exception(crate::Exception),
    /// The engine configuration cannot run.
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
            Error::Exception(e) => write!(
                f,
                "uncaught exception ({} payload values)",
                e.payload().len()
            ),
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
