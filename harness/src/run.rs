//! `strata run`: runs a WASI command's `_start`, or one exported function with `--invoke`.

use crate::wasi::{self, WasiCtx};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use strata::{Error, Instance, Linker, Module, RuntimeError, Store, Val, ValType};

/// Exit status when the program traps (128 + SIGABRT, as a native program that aborts).
pub const TRAP_EXIT: u8 = 134;
/// Exit status for a module that does not compile or link, or cannot run.
pub const ERROR_EXIT: u8 = 1;
/// Exit status for a bad command line: options, unreadable file, bad `--invoke` arguments.
pub const USAGE_EXIT: u8 = 2;

const EXIT_STATUS_HELP: &str = "\
Exit status:
  the program's proc_exit status (0 when _start returns)
  1    the module does not compile or link, or has no _start, or the profile could not
       be written
  2    bad command line: options, unreadable FILE, --dir, --invoke name or arguments,
       a --profile file that cannot be created
  134  the program trapped (like a native abort), ran out of --fuel or out of --timeout;
       the trap and wasm backtrace go to stderr";

/// Runs a WebAssembly program.
#[derive(clap::Args, Debug)]
#[command(after_help = EXIT_STATUS_HELP)]
pub struct RunArgs {
    #[command(flatten)]
    pub engine: crate::EngineArgs,

    /// Write /tmp/perf-<pid>.map entries for JIT-compiled functions (for `perf`); with
    /// --tier tiered, each function's entry is added when it moves up a tier.
    #[arg(long)]
    pub perf_map: bool,

    /// Profile tiered execution (--tier tiered): `summary` (a table on stderr at the end),
    /// `json=FILE` (one event per line), `chrome=FILE` (Chrome trace format, opens in
    /// Perfetto). Repeatable, or comma-separated.
    #[arg(long, value_name = "OUTPUT", value_delimiter = ',', value_parser = crate::profile::parse_output)]
    pub profile: Vec<crate::profile::ProfileOutput>,

    /// Print `phase-times compile_ns=.. instantiate_ns=.. execute_ns=..` on stderr at the end
    /// (for `strata bench --phase`). Compile is validation plus lazy-tier setup; eager JIT
    /// tiers compile during instantiation.
    #[arg(long)]
    pub phase_times: bool,

    /// Stop the program with a trap once it has passed N interruption points (function
    /// entries and loop iterations): a deterministic bound on its work, the same in every tier.
    #[arg(long, value_name = "N")]
    pub fuel: Option<u64>,

    /// Stop the program with a trap after SECONDS of wall-clock time (fractions allowed), by
    /// epoch interruption at its next function entry or loop iteration.
    #[arg(long, value_name = "SECONDS", value_parser = crate::watchdog::parse_seconds)]
    pub timeout: Option<std::time::Duration>,

    /// Call this exported function instead of `_start`. ARGS are its arguments (i32/i64 in
    /// decimal or 0x hex, floats in decimal, `nan`, `inf`, `-inf`); each result is printed on
    /// its own line.
    #[arg(long, value_name = "NAME")]
    pub invoke: Option<String>,

    /// Give the program the host directory HOST, under the name GUEST (default: HOST).
    /// Paths may not leave it. Repeatable; the first one is descriptor 3.
    #[arg(long = "dir", value_name = "HOST[::GUEST]", value_parser = parse_dir)]
    pub dirs: Vec<(PathBuf, String)>,

    /// Set an environment variable for the program (it sees no others). Repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub envs: Vec<(String, String)>,

    /// The module (binary .wasm or text .wat), then the program's arguments (argv[1..]), or
    /// the function's with --invoke. Everything after FILE goes to the program, even what
    /// looks like an option of `strata run`.
    #[arg(
        value_name = "FILE [ARGS]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

impl RunArgs {
    /// The module's path.
    pub fn file(&self) -> &Path {
        // clap guarantees at least one value (`required`); an empty path fails to read.
        self.command.first().map_or(Path::new(""), Path::new)
    }

    /// What follows the file: the program's or the function's arguments.
    pub fn program_args(&self) -> &[OsString] {
        self.command.get(1..).unwrap_or_default()
    }
}

fn parse_dir(s: &str) -> Result<(PathBuf, String), String> {
    let (host, guest) = s.split_once("::").unwrap_or((s, s));
    if host.is_empty() || guest.is_empty() {
        return Err(format!("expected HOST or HOST::GUEST, got `{s}`"));
    }
    Ok((PathBuf::from(host), guest.to_string()))
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got `{s}`")),
    }
}

/// Why `run` stopped without a status of the program's own.
struct Failure {
    status: u8,
    message: String,
}

fn fail(status: u8, message: impl std::fmt::Display) -> Failure {
    Failure {
        status,
        message: message.to_string(),
    }
}

/// Entry point of `strata run`.
pub fn main(args: RunArgs) -> ExitCode {
    let status = match run(args) {
        Ok(status) => status,
        Err(f) => {
            let _ = std::io::stdout().flush();
            eprintln!("error: {}", f.message);
            f.status
        }
    };
    let _ = std::io::stdout().flush();
    ExitCode::from(status)
}

fn run(args: RunArgs) -> Result<u8, Failure> {
    let config = args
        .engine
        .config_or(strata::Tier::Tiered)
        .map_err(|e| fail(USAGE_EXIT, e))?;
    if !args.profile.is_empty() && config.tier != strata::Tier::Tiered {
        return Err(fail(
            USAGE_EXIT,
            format!(
                "--profile needs --tier tiered (the tier is {})",
                config.tier
            ),
        ));
    }
    // An output file that cannot be written is a usage error before the program runs, not
    // a message after it.
    for out in &args.profile {
        if let crate::profile::ProfileOutput::Json(path)
        | crate::profile::ProfileOutput::Chrome(path) = out
        {
            std::fs::File::create(path).map_err(|e| {
                fail(
                    USAGE_EXIT,
                    format!("cannot write the profile to {}: {e}", path.display()),
                )
            })?;
        }
    }
    let config = config
        .perf_map(args.perf_map)
        .profile(!args.profile.is_empty())
        .consume_fuel(args.fuel.is_some())
        .epoch_interruption(args.timeout.is_some());
    let engine = strata::Engine::new(config).map_err(|e| fail(USAGE_EXIT, e))?;
    let file = args.file();
    let bytes = crate::read_input(file).map_err(|e| {
        if file.as_os_str().as_bytes().starts_with(b"-") && !file.exists() {
            fail(
                USAGE_EXIT,
                format!(
                    "unknown option `{}` (options go before FILE; see `strata run --help`)",
                    file.display()
                ),
            )
        } else {
            fail(USAGE_EXIT, format!("cannot read {}: {e}", file.display()))
        }
    })?;

    let mut argv = vec![file.as_os_str().as_bytes().to_vec()];
    if args.invoke.is_none() {
        argv.extend(args.program_args().iter().map(|a| a.clone().into_vec()));
    }
    let env = args
        .envs
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect();
    let mut ctx = WasiCtx::new(argv, env);
    for (host, guest) in &args.dirs {
        ctx.preopen_dir(host, guest).map_err(|e| {
            fail(
                USAGE_EXIT,
                format!("cannot open directory {}: {e}", host.display()),
            )
        })?;
    }

    let t_compile = Instant::now();
    let module = Module::new(&engine, &bytes).map_err(|e| fail(ERROR_EXIT, e))?;
    let compile = t_compile.elapsed();
    engine
        .config()
        .check_mixed_funcs(&module)
        .map_err(|e| fail(USAGE_EXIT, e))?;
    let t_instantiate = Instant::now();
    let mut store = Store::with_data(
        &engine,
        RunState {
            wasi: ctx,
            markers: crate::sightglass::Markers::default(),
        },
    );
    if let Some(fuel) = args.fuel {
        store.set_fuel(fuel).map_err(|e| fail(ERROR_EXIT, e))?;
    }
    // The limit covers the start function, `_initialize` and the call.
    let _watchdog = args
        .timeout
        .map(|limit| crate::watchdog::Watchdog::start(&mut store, limit));
    let linker = run_linker(&engine, &module).map_err(|e| fail(ERROR_EXIT, e))?;
    let instance = match linker.instantiate(&mut store, &module) {
        Ok(instance) => instance,
        Err(Error::Link(e)) => {
            let hint = if e.module == wasi::MODULE || e.module == crate::sightglass::MODULE {
                ""
            } else {
                " (strata run provides only `wasi_snapshot_preview1` and the Sightglass \
                 markers `bench.start`/`bench.end`)"
            };
            return Err(fail(ERROR_EXIT, format!("{e}{hint}")));
        }
        Err(e) => return call_failed(e),
    };
    let instantiate = t_instantiate.elapsed();

    let t_execute = Instant::now();
    let outcome = execute(&args, &module, &mut store, instance);
    let execute_time = t_execute.elapsed();
    let profiled = crate::profile::emit(&engine, &args.profile);
    let marked = store.data().markers.elapsed();
    if let Some(t) = marked {
        // The Sightglass protocol's measurement: from `bench.start` to `bench.end`.
        eprintln!("bench-markers ns={}", t.as_nanos());
    }
    if args.phase_times {
        eprintln!(
            "phase-times compile_ns={} instantiate_ns={} execute_ns={}",
            compile.as_nanos(),
            instantiate.as_nanos(),
            execute_time.as_nanos()
        );
    }
    match profiled {
        // The program's own failure says more than the profile's.
        Err(e) if matches!(outcome, Ok(0)) => Err(fail(ERROR_EXIT, e)),
        Err(e) => {
            let _ = std::io::stdout().flush();
            eprintln!("error: {e}");
            outcome
        }
        Ok(()) => outcome,
    }
}

/// The host state of a `strata run` store: the WASI context and the Sightglass markers.
pub struct RunState {
    wasi: WasiCtx,
    markers: crate::sightglass::Markers,
}

/// What `strata run` links a program against: WASI preview1 (names outside it are `ENOSYS`
/// stubs of the declared type) and the Sightglass markers, through the same [`Linker`] an
/// embedder uses.
fn run_linker(engine: &strata::Engine, module: &Module) -> Result<Linker<RunState>, Error> {
    let mut linker = Linker::new(engine);
    wasi::add_to_linker(&mut linker, |s: &mut RunState| &mut s.wasi)?;
    wasi::define_unknown_as_enosys(&mut linker, module)?;
    crate::sightglass::add_to_linker(&mut linker, |s: &mut RunState| &mut s.markers)?;
    Ok(linker)
}

/// Runs `_start`, or the `--invoke` function with the command-line arguments.
fn execute(
    args: &RunArgs,
    module: &Module,
    mut store: &mut Store<RunState>,
    instance: Instance,
) -> Result<u8, Failure> {
    match &args.invoke {
        None => {
            let start = instance.get_func(&store, "_start").ok_or_else(|| {
                fail(
                    ERROR_EXIT,
                    "the module exports no `_start` function (not a WASI command); \
                     use --invoke NAME to call an exported function",
                )
            })?;
            match start.call(&mut store, &[]) {
                Ok(_) => Ok(0),
                Err(e) => call_failed(e),
            }
        }
        Some(name) => {
            let func = instance.get_func(&store, name).ok_or_else(|| {
                let funcs: Vec<String> = module
                    .exports()
                    .into_iter()
                    .filter(|e| matches!(e.ty, strata::ExternType::Func(_)))
                    .map(|e| e.name)
                    .collect();
                fail(
                    USAGE_EXIT,
                    format!(
                        "the module exports no function `{name}` (exported functions: {})",
                        if funcs.is_empty() {
                            "none".to_string()
                        } else {
                            funcs.join(", ")
                        }
                    ),
                )
            })?;
            let ty = func.ty(&store);
            let params = parse_args(name, ty.params(), args.program_args())?;
            // A WASI reactor initialises itself before its exports are used.
            if name != "_initialize" {
                if let Some(init) = instance.get_func(&store, "_initialize") {
                    if let Err(e) = init.call(&mut store, &[]) {
                        return call_failed(e);
                    }
                }
            }
            let results = match func.call(&mut store, &params) {
                Ok(results) => results,
                Err(e) => return call_failed(e),
            };
            let mut out = std::io::stdout().lock();
            for r in &results {
                let _ = writeln!(out, "{}", format_val(r));
            }
            Ok(0)
        }
    }
}

/// The status for a failed call: the program's own after `proc_exit`, else a trap.
fn call_failed(e: Error) -> Result<u8, Failure> {
    match e {
        Error::Runtime(e) => match e.exit_status() {
            Some(status) => Ok(status as u8),
            None => Err(trap(&e)),
        },
        Error::Link(e) => Err(fail(ERROR_EXIT, e)),
        other => Err(fail(ERROR_EXIT, other)),
    }
}

fn trap(e: &RuntimeError) -> Failure {
    let hint = match e.code() {
        strata::TrapCode::OutOfFuel => "\n(the program used all the --fuel it was given)",
        strata::TrapCode::Interrupt => "\n(the program ran past its --timeout)",
        _ => "",
    };
    fail(TRAP_EXIT, format!("{}{hint}", format_trap(e)))
}

/// The runtime error as its `Display` prints it: the engine folds deep recursion into one
/// line, demangles Rust and C++ names and gives code offsets, for every embedder alike.
fn format_trap(e: &RuntimeError) -> String {
    e.to_string()
}

fn parse_args(name: &str, types: &[ValType], args: &[OsString]) -> Result<Vec<Val>, Failure> {
    if types.len() != args.len() {
        let sig: Vec<String> = types.iter().map(ToString::to_string).collect();
        return Err(fail(
            USAGE_EXIT,
            format!(
                "`{name}` takes {} argument{} ({}), got {}",
                types.len(),
                if types.len() == 1 { "" } else { "s" },
                sig.join(" "),
                args.len()
            ),
        ));
    }
    types
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (ty, arg))| {
            let text = arg.to_str().unwrap_or("");
            parse_val(*ty, text).map_err(|why| {
                fail(
                    USAGE_EXIT,
                    format!(
                        "argument {} of `{name}`: cannot parse `{}` as {ty}: {why}",
                        i + 1,
                        arg.to_string_lossy()
                    ),
                )
            })
        })
        .collect()
}

/// Parses an integer of `bits` bits: decimal or `0x` hex, optionally negative, in the signed
/// or the unsigned range (so `-1` and `0xffffffff` are the same i32).
fn parse_int(s: &str, bits: u32) -> Result<i128, String> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (radix, digits) = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => (16, hex),
        None => (10, digits),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err("not a number".into());
    }
    let magnitude = u128::from_str_radix(digits, radix).map_err(|_| "out of range".to_string())?;
    let value = i128::try_from(magnitude).map_err(|_| "out of range".to_string())?;
    let value = if negative { -value } else { value };
    let min = -(1i128 << (bits - 1));
    let max = (1i128 << bits) - 1;
    if value < min || value > max {
        return Err(format!("out of range for a {bits}-bit integer"));
    }
    Ok(value)
}

fn parse_val(ty: ValType, s: &str) -> Result<Val, String> {
    let float_err = |e: std::num::ParseFloatError| e.to_string();
    match ty {
        ValType::I32 => parse_int(s, 32).map(|v| Val::I32(v as u32 as i32)),
        ValType::I64 => parse_int(s, 64).map(|v| Val::I64(v as u64 as i64)),
        ValType::F32 => s.parse::<f32>().map(Val::f32).map_err(float_err),
        ValType::F64 => s.parse::<f64>().map(Val::f64).map_err(float_err),
        ValType::FuncRef if s == "null" => Ok(Val::FuncRef(None)),
        ValType::ExternRef if s == "null" => Ok(Val::ExternRef(None)),
        ValType::ExnRef if s == "null" => Ok(Val::ExnRef(None)),
        ValType::FuncRef | ValType::ExternRef | ValType::ExnRef => {
            Err("only `null` can be passed".into())
        }
        ValType::V128 => {
            let hex = s.trim_start_matches("0x");
            u128::from_str_radix(hex, 16)
                .map(Val::V128)
                .map_err(|e| format!("bad v128 `{s}` (32 hex digits): {e}"))
        }
    }
}

fn format_val(v: &Val) -> String {
    match v {
        Val::I32(x) => x.to_string(),
        Val::I64(x) => x.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::FuncRef(None) | Val::ExternRef(None) | Val::ExnRef(None) => "null".into(),
        Val::ExnRef(Some(_)) => "exnref".into(),
        Val::FuncRef(Some(_)) => "funcref".into(),
        Val::ExternRef(Some(_)) => "externref".into(),
        Val::V128(x) => format!("0x{x:032x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(parse_val(ValType::I32, "-7"), Ok(Val::I32(-7)));
        assert_eq!(parse_val(ValType::I32, "0xffffffff"), Ok(Val::I32(-1)));
        assert_eq!(parse_val(ValType::I32, "4294967295"), Ok(Val::I32(-1)));
        assert_eq!(parse_val(ValType::I32, "-0x10"), Ok(Val::I32(-16)));
        assert!(parse_val(ValType::I32, "4294967296").is_err());
        assert!(parse_val(ValType::I32, "-2147483649").is_err());
        assert!(parse_val(ValType::I32, "--1").is_err());
        assert!(parse_val(ValType::I32, "1.5").is_err());
        assert!(parse_val(ValType::I32, "").is_err());
        assert_eq!(
            parse_val(ValType::I64, "-9223372036854775808"),
            Ok(Val::I64(i64::MIN))
        );
        assert_eq!(
            parse_val(ValType::I64, "0xFFFFFFFFFFFFFFFF"),
            Ok(Val::I64(-1))
        );
    }

    #[test]
    fn floats() {
        assert_eq!(parse_val(ValType::F64, "1.5"), Ok(Val::f64(1.5)));
        assert_eq!(
            parse_val(ValType::F32, "-inf"),
            Ok(Val::f32(f32::NEG_INFINITY))
        );
        assert_eq!(parse_val(ValType::F64, "inf"), Ok(Val::f64(f64::INFINITY)));
        assert!(
            matches!(parse_val(ValType::F64, "nan"), Ok(Val::F64(b)) if f64::from_bits(b).is_nan())
        );
        assert!(parse_val(ValType::F64, "x").is_err());
        assert_eq!(format_val(&Val::f64(2.5)), "2.5");
        assert_eq!(format_val(&Val::f32(f32::NAN)), "NaN");
        assert_eq!(format_val(&Val::I64(-3)), "-3");
    }

    #[test]
    fn recursion_in_backtraces_is_shortened() {
        let frame = |i: u32| strata::FrameInfo {
            func_index: i,
            func_name: None,
            module_name: None,
            wasm_offset: None,
        };
        let mut t = strata::Trap::new(strata::TrapCode::StackOverflow);
        for _ in 0..1000 {
            t.push_frame(frame(1));
        }
        t.push_frame(frame(2));
        let text = format_trap(&RuntimeError::from(t));
        assert_eq!(
            text,
            "runtime error: call stack exhausted\nwasm backtrace:\n  0: func 1\n  1: func 1\n  \
             2: func 1\n  ... 997 more frames of func 1\n  1000: func 2"
        );
        let short = strata::Trap::new(strata::TrapCode::Unreachable);
        assert_eq!(
            format_trap(&RuntimeError::from(short)),
            "runtime error: unreachable"
        );
    }

    #[test]
    fn dir_and_env_options() {
        assert_eq!(
            parse_dir("/tmp/x::/sandbox"),
            Ok((PathBuf::from("/tmp/x"), "/sandbox".to_string()))
        );
        assert_eq!(
            parse_dir("data"),
            Ok((PathBuf::from("data"), "data".to_string()))
        );
        assert!(parse_dir("::x").is_err());
        assert_eq!(parse_env("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert!(parse_env("=x").is_err());
        assert!(parse_env("novalue").is_err());
    }
}
