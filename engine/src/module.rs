//! `Module`: validated, immutable code, shareable across threads and instantiable many times.

use crate::config::Engine;
use crate::error::CompileError;
use std::io::Read;
use std::sync::Arc;
use strata_vm::{ExternType, StreamingValidator};

/// A compiled (validated) module.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<strata_vm::Module>,
    pub(crate) engine: Engine,
}

/// An import a module declares.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportType {
    /// The module name it is imported from.
    pub module: String,
    /// The field name.
    pub name: String,
    /// The type it must have.
    pub ty: ExternType,
}

/// An export a module declares.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportType {
    /// The export's name.
    pub name: String,
    /// Its type.
    pub ty: ExternType,
}

/// The WebAssembly features Strata validates modules with (wasmparser's set).
pub use strata_vm::module::supported_features;

/// Checks that `bytes` are a valid module (binary format) without compiling it.
pub fn validate(bytes: &[u8]) -> Result<(), CompileError> {
    strata_vm::module::validate(bytes).map_err(CompileError::from)
}

fn is_binary(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\0asm")
}

impl Module {
    /// Compiles a module from the binary format, or from the text format when the bytes do
    /// not start with the binary magic.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Module, CompileError> {
        let bytes = bytes.as_ref();
        let binary = if is_binary(bytes) {
            bytes.to_vec()
        } else {
            wat::parse_bytes(bytes)
                .map_err(|e| CompileError {
                    offset: None,
                    message: format!("invalid text format: {e}"),
                })?
                .into_owned()
        };
        Self::from_binary(engine, binary)
    }

    /// Compiles a module from the binary format only.
    pub fn from_binary(engine: &Engine, bytes: Vec<u8>) -> Result<Module, CompileError> {
        let mut inner = strata_vm::Module::new(bytes)?;
        inner.interrupts = engine.config().interrupts();
        inner.egraph = engine.config().egraph.clone();
        Ok(Module {
            inner: Arc::new(inner),
            engine: engine.clone(),
        })
    }

    /// Compiles from a stream, validating each section as soon as its bytes have arrived
    /// (like `WebAssembly.compileStreaming`): an error in an early section is reported
    /// without reading the rest.
    pub fn from_reader(engine: &Engine, mut reader: impl Read) -> Result<Module, CompileError> {
        let mut validator = StreamingValidator::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(CompileError {
                        offset: None,
                        message: format!("reading the module failed: {e}"),
                    })
                }
            };
            validator.feed(&chunk[..n])?;
        }
        let bytes = validator.finish()?;
        let mut inner = strata_vm::Module::from_validated(bytes)?;
        inner.interrupts = engine.config().interrupts();
        inner.egraph = engine.config().egraph.clone();
        Ok(Module {
            inner: Arc::new(inner),
            engine: engine.clone(),
        })
    }

    /// Reads and compiles a `.wasm` or `.wat` file.
    pub fn from_file(
        engine: &Engine,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Module, CompileError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| CompileError {
            offset: None,
            message: format!("cannot read {}: {e}", path.display()),
        })?;
        Self::new(engine, bytes)
    }

    /// The engine the module was compiled for.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The imports the module declares, in order.
    pub fn imports(&self) -> Vec<ImportType> {
        self.inner
            .imports
            .iter()
            .map(|i| ImportType {
                module: i.module.clone(),
                name: i.name.clone(),
                ty: self.inner.import_type(i),
            })
            .collect()
    }

    /// The exports the module declares, in order.
    pub fn exports(&self) -> Vec<ExportType> {
        self.inner
            .exports
            .iter()
            .map(|e| ExportType {
                name: e.name.clone(),
                ty: self.inner.export_type(e),
            })
            .collect()
    }

    /// The contents of every custom section called `name`, in order.
    pub fn custom_sections(&self, name: &str) -> Vec<&[u8]> {
        let m = &self.inner;
        m.customs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, r)| &m.bytes[r.clone()])
            .collect()
    }

    /// The module's name from the name section.
    pub fn name(&self) -> Option<&str> {
        self.inner.module_name.as_deref()
    }

    /// The runtime's view of the module, for tools built on Strata (benchmarks, tiers).
    pub fn env(&self) -> &Arc<strata_vm::Module> {
        &self.inner
    }
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}
