//! The engines `strata bench` compares, how each one is found and how it runs a program.
//!
//! Every engine run is a subprocess, so every engine is timed the same way (whole-process
//! wall time, like published peer numbers). Names:
//!
//! | name | command |
//! |---|---|
//! | `strata:<tier>` | this `strata` binary: `strata run --tier <tier> prog.wasm ARGS` |
//! | `wasmi-eager`, `wasmi-lazy` | `target/release/strata-peer-wasmi --eager/--lazy prog.wasm ARGS` |
//! | `wasmtime`, `wasmtime-winch` | `wasmtime run -C cache=n [-C compiler=winch] prog.wasm ARGS`, or, with no `wasmtime` on `$PATH`, `python3 benches/peers/wasmtime-py.py --strategy cranelift\|winch prog.wasm ARGS` (the PyPI package `wasmtime`'s C library) |
//! | `node`, `node-liftoff`, `node-turbofan` | `node --no-warnings [--liftoff-only / --no-liftoff] benches/peers/node-wasi.mjs prog.wasm ARGS` |
//! | `native` | `<out>/native/<name> ARGS`, built with `clang -O2` from the program's C source |
//!
//! The `wasmtime` binary (wasmtime-cli) takes hours to build on a small machine; the PyPI
//! package ships the same release's C library with both compilers, so `wasmtime-py.py` drives
//! it. It follows the scripted-peer contract of the node wrapper (`--phase-times`,
//! `--compile-only` on one thread, `--invoke`) and provides the Sightglass markers itself, so
//! those peers get execution-phase, single-thread compile and marker-to-marker times; the
//! version line says which one ran (`wasmtime 48.0.0 (C API via PyPI)`).

use super::programs::Program;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The peers `--engine all` selects, in this order.
pub const ALL_PEERS: &[&str] = &[
    "native",
    "wasmi-eager",
    "wasmi-lazy",
    "wasmtime",
    "wasmtime-winch",
    "node",
    "node-liftoff",
    "node-turbofan",
];

/// The file name of the wasmi peer binary (package `strata-peers`).
pub const WASMI_PEER: &str = "strata-peer-wasmi";

/// The node WASI wrapper, relative to the workspace root.
pub const NODE_WRAPPER: &str = "benches/peers/node-wasi.mjs";

/// The wasmtime wrapper over the PyPI package's C library, relative to the workspace root.
pub const WASMTIME_PY: &str = "benches/peers/wasmtime-py.py";

/// Which engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineKind {
    /// This binary with a tier name (any name: unknown or unavailable ones are skipped).
    Strata(String),
    WasmiEager,
    WasmiLazy,
    Wasmtime,
    WasmtimeWinch,
    Node,
    NodeLiftoff,
    NodeTurbofan,
    Native,
}

impl EngineKind {
    /// Parses an engine name; `strata:<tier>` takes any tier name.
    pub fn parse(name: &str) -> Result<EngineKind, String> {
        Ok(match name {
            "wasmi-eager" => EngineKind::WasmiEager,
            "wasmi-lazy" => EngineKind::WasmiLazy,
            "wasmtime" => EngineKind::Wasmtime,
            "wasmtime-winch" => EngineKind::WasmtimeWinch,
            "node" => EngineKind::Node,
            "node-liftoff" => EngineKind::NodeLiftoff,
            "node-turbofan" => EngineKind::NodeTurbofan,
            "native" => EngineKind::Native,
            _ => match name.strip_prefix("strata:") {
                Some(tier) if !tier.is_empty() => EngineKind::Strata(tier.to_string()),
                _ => {
                    return Err(format!(
                        "unknown engine `{name}` (expected strata:<tier>, {}, all or none)",
                        ALL_PEERS.join(", ")
                    ))
                }
            },
        })
    }

    pub fn name(&self) -> String {
        match self {
            EngineKind::Strata(t) => format!("strata:{t}"),
            EngineKind::WasmiEager => "wasmi-eager".into(),
            EngineKind::WasmiLazy => "wasmi-lazy".into(),
            EngineKind::Wasmtime => "wasmtime".into(),
            EngineKind::WasmtimeWinch => "wasmtime-winch".into(),
            EngineKind::Node => "node".into(),
            EngineKind::NodeLiftoff => "node-liftoff".into(),
            EngineKind::NodeTurbofan => "node-turbofan".into(),
            EngineKind::Native => "native".into(),
        }
    }

    pub fn is_wasmi(&self) -> bool {
        matches!(self, EngineKind::WasmiEager | EngineKind::WasmiLazy)
    }

    /// Whether the engine can print `phase-times ...` (Strata only once `strata run` has
    /// `--phase-times`; a missing line is then reported as "phase unavailable").
    pub fn reports_phases(&self) -> bool {
        matches!(
            self,
            EngineKind::Strata(_)
                | EngineKind::WasmiEager
                | EngineKind::WasmiLazy
                | EngineKind::Node
                | EngineKind::NodeLiftoff
                | EngineKind::NodeTurbofan
        )
    }
}

/// Where the runner looks for things.
#[derive(Clone, Debug)]
pub struct Locations {
    /// The workspace root (has `benches/` and `target/`).
    pub root: PathBuf,
    /// The cargo target directory (`$CARGO_TARGET_DIR` or `<root>/target`).
    pub target: PathBuf,
    /// This `strata` binary.
    pub strata: PathBuf,
}

/// An engine that was asked for: either ready to run or skipped with a reason.
#[derive(Clone, Debug)]
pub struct Engine {
    pub kind: EngineKind,
    pub name: String,
    /// `Err(reason)`: skipped, e.g. "not found".
    pub launcher: Result<Launcher, String>,
    /// A version line, when the tool tells one.
    pub version: Option<String>,
    /// wasmtime run by [`WASMTIME_PY`] rather than its CLI: it reports phase times, times a
    /// single-thread compile itself, and takes the Sightglass markers.
    pub wasmtime_py: bool,
}

/// The executable and leading arguments of an engine.
#[derive(Clone, Debug)]
pub struct Launcher {
    pub exe: PathBuf,
    pub args: Vec<OsString>,
}

/// Finds `name` on `$PATH` (then in `~/.cargo/bin`).
pub fn which(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The first line of `exe --version`, if it answers quickly and successfully.
fn version_of(exe: &Path) -> Option<String> {
    let mut c = Command::new(exe);
    c.arg("--version");
    let o = super::process::run(c, std::time::Duration::from_secs(10));
    if !o.success() {
        return None;
    }
    o.stdout
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// The Strata tier spelling `TIER/egraph=SWITCHES` (what `strata bench --egraph` makes):
/// the tier, and the mid-end switches with `+` standing for the comma that `--tier`'s list
/// would split on (`opt/egraph=no-arith+no-bits`).
pub fn split_egraph(spec: &str) -> (&str, Option<String>) {
    match spec.split_once("/egraph=") {
        Some((tier, sw)) => (tier, Some(sw.replace('+', ","))),
        None => (spec, None),
    }
}

fn not_found(what: &str) -> String {
    format!("not found: {what}")
}

impl Engine {
    /// Looks the engine up on this machine.
    pub fn locate(kind: EngineKind, loc: &Locations) -> Engine {
        let name = kind.name();
        let mut version = None;
        let mut wasmtime_py = false;
        let launcher = match &kind {
            EngineKind::Strata(tier) if tier.starts_with("tiered@") => {
                version = Some(format!("strata {}", env!("CARGO_PKG_VERSION")));
                let policy = &tier["tiered@".len()..];
                Ok(Launcher {
                    exe: loc.strata.clone(),
                    args: vec![
                        "run".into(),
                        "--tier".into(),
                        "tiered".into(),
                        "--tiering".into(),
                        policy.into(),
                    ],
                })
            }
            EngineKind::Strata(spec) => {
                let (tier, egraph) = split_egraph(spec);
                match tier.parse::<strata::Tier>() {
                    Err(_) => Err(format!("unknown tier `{tier}`")),
                    Ok(t) if !t.is_available() => {
                        Err(format!("tier `{tier}` is not available in this build"))
                    }
                    Ok(_) => match egraph.map(|e| strata::Config::default().egraph(&e)) {
                        Some(Err(e)) => Err(e.to_string()),
                        egraph => {
                            version = Some(format!("strata {}", env!("CARGO_PKG_VERSION")));
                            let mut args: Vec<OsString> =
                                vec!["run".into(), "--tier".into(), tier.into()];
                            if let Some(Ok(c)) = egraph {
                                args.extend(["--egraph".into(), c.egraph.into()]);
                            }
                            Ok(Launcher {
                                exe: loc.strata.clone(),
                                args,
                            })
                        }
                    },
                }
            }
            EngineKind::WasmiEager | EngineKind::WasmiLazy => {
                let candidates = [
                    loc.target.join("release").join(WASMI_PEER),
                    loc.strata.with_file_name(WASMI_PEER),
                ];
                match candidates.into_iter().find(|p| is_executable(p)) {
                    Some(exe) => {
                        version = Some("wasmi 2 (library, strata-peer-wasmi)".into());
                        let mode = if kind == EngineKind::WasmiEager {
                            "--eager"
                        } else {
                            "--lazy"
                        };
                        Ok(Launcher {
                            exe,
                            args: vec![mode.into()],
                        })
                    }
                    None => Err(not_found(&format!(
                        "{WASMI_PEER}; build it with `cargo build --release -p strata-peers`"
                    ))),
                }
            }
            EngineKind::Wasmtime | EngineKind::WasmtimeWinch => match which("wasmtime") {
                Some(exe) => {
                    version = version_of(&exe);
                    let mut args: Vec<OsString> = vec!["run".into(), "-C".into(), "cache=n".into()];
                    if kind == EngineKind::WasmtimeWinch {
                        args.extend(["-C".into(), "compiler=winch".into()]);
                    }
                    Ok(Launcher { exe, args })
                }
                None => match wasmtime_py_launcher(&kind, loc) {
                    Ok((launcher, v)) => {
                        version = Some(v);
                        wasmtime_py = true;
                        Ok(launcher)
                    }
                    Err(why) => Err(not_found(&format!(
                        "wasmtime ({why}); install with benches/install-peers.sh"
                    ))),
                },
            },
            EngineKind::Node | EngineKind::NodeLiftoff | EngineKind::NodeTurbofan => {
                let wrapper = loc.root.join(NODE_WRAPPER);
                match which("node").or_else(|| which("nodejs")) {
                    None => Err(not_found("node; install with benches/install-peers.sh")),
                    Some(_) if !wrapper.is_file() => Err(not_found(&wrapper.display().to_string())),
                    Some(exe) => {
                        version = version_of(&exe).map(|v| format!("node {v}"));
                        let mut args: Vec<OsString> = vec!["--no-warnings".into()];
                        match kind {
                            EngineKind::NodeLiftoff => args.push("--liftoff-only".into()),
                            EngineKind::NodeTurbofan => args.push("--no-liftoff".into()),
                            _ => {}
                        }
                        args.push(wrapper.into());
                        Ok(Launcher { exe, args })
                    }
                }
            }
            EngineKind::Native => match which("clang") {
                Some(exe) => {
                    version = version_of(&exe).map(|v| format!("{v} -O2"));
                    // The per-program binaries are built later; the launcher holds the compiler.
                    Ok(Launcher { exe, args: vec![] })
                }
                None => Err(not_found("clang")),
            },
        };
        Engine {
            kind,
            name,
            launcher,
            version,
            wasmtime_py,
        }
    }

    pub fn is_available(&self) -> bool {
        self.launcher.is_ok()
    }

    /// Whether a run can print `phase-times ...` (see [`EngineKind::reports_phases`]; wasmtime
    /// can when it runs through [`WASMTIME_PY`]).
    pub fn reports_phases(&self) -> bool {
        self.kind.reports_phases() || self.wasmtime_py
    }

    /// The command that runs `program` once; `Err(reason)` when this engine cannot run it
    /// (e.g. `native` without a C source): that is reported as skipped, not as a failure.
    pub fn command(&self, program: &Program, phase_times: bool) -> Result<Command, String> {
        let launcher = self.launcher.as_ref().map_err(Clone::clone)?;
        if self.kind == EngineKind::Native {
            if program.invoke.is_some() {
                return Err("no native build of a kernel".into());
            }
            return match &program.native {
                Some(Ok(bin)) => {
                    let mut c = Command::new(bin);
                    c.args(&program.args);
                    Ok(c)
                }
                Some(Err(e)) => Err(format!("native build failed: {e}")),
                None => Err("no C source".into()),
            };
        }
        let mut c = Command::new(&launcher.exe);
        c.args(&launcher.args);
        if phase_times && self.reports_phases() {
            c.arg("--phase-times");
        }
        if let Some(name) = &program.invoke {
            c.arg("--invoke").arg(name);
        }
        c.arg(&program.wasm).args(&program.args);
        Ok(c)
    }

    /// A command that only compiles `wasm` and reports `compile_ns` on stderr
    /// (`strata-peer-wasmi --compile-only`, the node wrapper's `--compile-only` with lazy
    /// compilation off, `wasmtime-py.py --compile-only` with parallel compilation off), or,
    /// for the wasmtime CLI, `wasmtime compile` (its whole-process time is used). `None` when
    /// the engine has no such mode.
    pub fn compile_command(&self, wasm: &Path) -> Option<Command> {
        let launcher = self.launcher.as_ref().ok()?;
        let mut c = Command::new(&launcher.exe);
        match self.kind {
            EngineKind::Wasmtime | EngineKind::WasmtimeWinch if self.wasmtime_py => {
                c.args(&launcher.args).arg("--compile-only");
            }
            EngineKind::WasmiEager | EngineKind::WasmiLazy => {
                c.args(&launcher.args).arg("--compile-only");
            }
            EngineKind::Node | EngineKind::NodeLiftoff | EngineKind::NodeTurbofan => {
                c.arg("--no-wasm-lazy-compilation")
                    .args(&launcher.args)
                    .arg("--compile-only");
            }
            EngineKind::Wasmtime | EngineKind::WasmtimeWinch => {
                c.args(["compile", "-C", "cache=n"]);
                if self.kind == EngineKind::WasmtimeWinch {
                    c.args(["-C", "compiler=winch"]);
                }
                c.args(["-o", "/dev/null"]);
            }
            EngineKind::Strata(_) | EngineKind::Native => return None,
        }
        c.arg(wasm);
        Some(c)
    }
}

/// The launcher of [`WASMTIME_PY`] for `kind` (Cranelift or Winch) and its version line, when
/// `python3` is on `$PATH` and can import the `wasmtime` package; else why not.
fn wasmtime_py_launcher(kind: &EngineKind, loc: &Locations) -> Result<(Launcher, String), String> {
    let script = loc.root.join(WASMTIME_PY);
    if !script.is_file() {
        return Err(format!("no {}", script.display()));
    }
    let shim = which("python3").ok_or("no wasmtime or python3 on $PATH")?;
    // The interpreter itself, not a launcher such as pyenv's shim (a bash script that costs
    // about as much as the import), so that whole-process times hold only Python's start.
    let mut c = Command::new(&shim);
    c.args(["-c", "import sys, wasmtime; print(sys.executable)"]);
    let o = super::process::run(c, std::time::Duration::from_secs(30));
    if !o.success() {
        return Err(
            "no `wasmtime` binary on $PATH and python3 cannot import the PyPI package `wasmtime`"
                .into(),
        );
    }
    let python = PathBuf::from(o.stdout.trim());
    let python = if is_executable(&python) { python } else { shim };
    let mut c = Command::new(&python);
    c.arg(&script).arg("--version");
    let o = super::process::run(c, std::time::Duration::from_secs(30));
    if !o.success() {
        return Err(format!(
            "{} --version failed: {}",
            script.display(),
            o.failure_summary()
        ));
    }
    let version = o
        .stdout
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("wasmtime (C API via PyPI)")
        .to_string();
    let strategy = if *kind == EngineKind::WasmtimeWinch {
        "winch"
    } else {
        "cranelift"
    };
    Ok((
        Launcher {
            exe: python,
            args: vec![script.into(), "--strategy".into(), strategy.into()],
        },
        version,
    ))
}

/// The checksum a run printed: the value of a `checksum: X` line, or (for `--invoke`d
/// kernels) the first number on the last non-empty line. Integers are normalised to their
/// unsigned 64-bit two's-complement value, so `-1` (wasmtime's i64 output) equals
/// `18446744073709551615`.
pub fn checksum(stdout: &str, invoked: bool) -> Option<String> {
    if let Some(v) = stdout
        .lines()
        .filter_map(|l| l.trim().strip_prefix("checksum:"))
        .next_back()
    {
        return Some(normalize(v.trim()));
    }
    if !invoked {
        return None;
    }
    let last = stdout.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    last.split(|c: char| c.is_whitespace() || c == ':' || c == ',')
        .map(|t| t.trim_matches(|c: char| "()[]".contains(c)))
        .find(|t| t.parse::<f64>().is_ok() || t.parse::<i128>().is_ok())
        .map(normalize)
}

fn normalize(v: &str) -> String {
    if let Ok(i) = v.parse::<i128>() {
        if (i64::MIN as i128..=u64::MAX as i128).contains(&i) {
            return (i as u64).to_string();
        }
    }
    v.to_string()
}

/// Phase times from a `phase-times compile_ns=.. instantiate_ns=.. execute_ns=..` line on
/// stderr (the last one wins; missing keys are `None`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhaseTimes {
    pub compile_ns: Option<u64>,
    pub instantiate_ns: Option<u64>,
    pub execute_ns: Option<u64>,
}

pub fn phase_times(stderr: &str) -> Option<PhaseTimes> {
    let line = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| l.starts_with("phase-times"))?;
    let mut t = PhaseTimes::default();
    for kv in line["phase-times".len()..].split_whitespace() {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        let Ok(v) = v.parse::<u64>() else { continue };
        match k {
            "compile_ns" => t.compile_ns = Some(v),
            "instantiate_ns" => t.instantiate_ns = Some(v),
            "execute_ns" => t.execute_ns = Some(v),
            _ => {}
        }
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in ALL_PEERS {
            assert_eq!(EngineKind::parse(n).unwrap().name(), *n);
        }
        assert_eq!(
            EngineKind::parse("strata:opt").unwrap(),
            EngineKind::Strata("opt".into())
        );
        assert!(EngineKind::parse("strata:").is_err());
        assert!(EngineKind::parse("v8")
            .unwrap_err()
            .contains("unknown engine `v8`"));
    }

    #[test]
    fn checksums() {
        assert_eq!(checksum("checksum: 42\n", false).as_deref(), Some("42"));
        assert_eq!(checksum("hello\n", false), None);
        assert_eq!(
            checksum("-1\n", true).as_deref(),
            Some("18446744073709551615")
        );
        assert_eq!(checksum("7 : i64\n", true).as_deref(), Some("7"));
        assert_eq!(checksum("i64:7\n", true).as_deref(), Some("7"));
        assert_eq!(checksum("\n", true), None);
    }

    #[test]
    fn phase_lines() {
        let t = phase_times("x\nphase-times compile_ns=5 instantiate_ns=6 execute_ns=7\n").unwrap();
        assert_eq!(
            t,
            PhaseTimes {
                compile_ns: Some(5),
                instantiate_ns: Some(6),
                execute_ns: Some(7)
            }
        );
        let t = phase_times("phase-times compile_ns=9").unwrap();
        assert_eq!(t.compile_ns, Some(9));
        assert_eq!(t.execute_ns, None);
        assert_eq!(phase_times("error: unexpected argument"), None);
    }
}
