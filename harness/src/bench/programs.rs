//! The benchmark programs: finding them, their size argument and expected checksum, turning
//! `.wat` into `.wasm` (so every engine runs the same bytes) and building native binaries.
//!
//! Two kinds of program:
//! * WASI programs (`benches/programs/*.wasm`): `_start` with the size as `argv[1]`, printing
//!   `checksum: <value>`. Their default size and checksum come from `expected.txt` in the
//!   program's directory or its parent (`features/` shares the MVP build's file), else from
//!   `#define DEFAULT_SIZE` in the C source.
//! * Kernels (`benches/kernels/*.wat`: no WASI imports, an exported `run(n)`): run as
//!   `--invoke run <n>`; the printed result is the checksum. The default `n` is the largest
//!   `i32.const` in the kernel's `_start` (its fixed iteration count).

use super::process;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The WASI preview1 import module.
const WASI: &str = "wasi_snapshot_preview1";

/// One benchmark program, ready to run.
#[derive(Clone, Debug)]
pub struct Program {
    /// Short name: the file stem, or `dir/stem` when two programs share a stem.
    pub name: String,
    /// The file that was given (`.wasm` or `.wat`).
    pub source: PathBuf,
    /// The binary every engine runs (the source itself, or the `.wat` encoded).
    pub wasm: PathBuf,
    /// The C source, for the `native` engine.
    pub c_source: Option<PathBuf>,
    /// The native binary (set by [`build_native`]), or why there is none.
    pub native: Option<Result<PathBuf, String>>,
    /// `Some("run")` for kernels.
    pub invoke: Option<String>,
    /// The size argument, if any.
    pub size: Option<u64>,
    /// The command-line arguments after the program (the size).
    pub args: Vec<String>,
    /// The checksum expected at `size`, from `expected.txt`.
    pub expected: Option<String>,
    /// Summed function-body bytes (code section), when Strata could parse the module.
    pub code_bytes: Option<usize>,
}

/// How sizes are chosen.
#[derive(Clone, Debug, Default)]
pub struct SizeOptions {
    /// Multiplies every default size (rounded, at least 1).
    pub scale: f64,
    /// `--size NAME=N`: exact sizes (not scaled).
    pub overrides: HashMap<String, u64>,
}

fn is_program_file(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("wasm") | Some("wat")
    )
}

/// Expands the PROGRAM arguments: files are taken as they are, directories contribute their
/// `.wasm` and `.wat` files (not recursively), sorted by name.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries =
                std::fs::read_dir(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| f.is_file() && is_program_file(f))
                .collect();
            if found.is_empty() {
                return Err(format!("no .wasm or .wat files in {}", p.display()));
            }
            found.sort();
            files.extend(found);
        } else if p.is_file() {
            if !is_program_file(p) {
                return Err(format!("{}: not a .wasm or .wat file", p.display()));
            }
            files.push(p.clone());
        } else {
            return Err(format!("no such file or directory: {}", p.display()));
        }
    }
    Ok(files)
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "program".into())
}

/// `name` for every file: the stem, or `parent/stem` when stems collide.
fn names(files: &[PathBuf]) -> Vec<String> {
    let stems: Vec<String> = files.iter().map(|f| stem(f)).collect();
    stems
        .iter()
        .zip(files)
        .map(|(s, f)| {
            if stems.iter().filter(|t| *t == s).count() > 1 {
                let parent = f
                    .parent()
                    .and_then(Path::file_name)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                format!("{parent}/{s}")
            } else {
                s.clone()
            }
        })
        .collect()
}

/// `expected.txt` lines: name -> (size, checksum).
type Expected = HashMap<String, (u64, String)>;

fn read_expected(path: &Path) -> Expected {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Expected::new();
    };
    text.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (n, s, c) = (it.next()?, it.next()?, it.next()?);
            if n.starts_with('#') {
                return None;
            }
            Some((n.to_string(), (s.parse().ok()?, c.to_string())))
        })
        .collect()
}

/// The directories whose `expected.txt` and C sources belong to a program in `dir`.
fn home_dirs(file: &Path) -> Vec<PathBuf> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut v = vec![dir.to_path_buf()];
    if let Some(up) = dir.parent() {
        v.push(if up.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            up.to_path_buf()
        });
    }
    v
}

/// The largest `i32.const` in the function exporting `_start` (a kernel's fixed count).
fn wat_default_size(text: &str) -> Option<u64> {
    let at = text.find("(export \"_start\")")?;
    let body = &text[at..];
    let end = body[1..].find("(func").map_or(body.len(), |i| i + 1);
    let mut tokens = body[..end].split_whitespace();
    let mut best = None;
    while let Some(t) = tokens.next() {
        if t == "i32.const" {
            if let Some(v) = tokens
                .next()
                .and_then(|v| v.trim_end_matches(')').replace('_', "").parse::<u64>().ok())
            {
                best = best.max(Some(v));
            }
        }
    }
    best
}

/// `#define DEFAULT_SIZE N` in a C source.
fn c_default_size(c: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(c).ok()?;
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("#define")?.trim_start();
        let v = rest
            .strip_prefix("DEFAULT_SIZE")?
            .split_whitespace()
            .next()?;
        v.trim_end_matches(['L', 'l', 'U', 'u']).parse().ok()
    })
}

/// Encodes `.wat` text as a binary module.
pub fn wat_to_wasm(text: &str) -> Result<Vec<u8>, String> {
    let buf = wast::parser::ParseBuffer::new(text).map_err(|e| e.to_string())?;
    let mut wat: wast::Wat = wast::parser::parse(&buf).map_err(|e| e.to_string())?;
    wat.encode().map_err(|e| e.to_string())
}

/// What Strata sees in a module: whether it is a kernel, and its function-body bytes.
struct Shape {
    kernel: bool,
    code_bytes: Option<usize>,
}

fn shape(bytes: &[u8], wat_text: Option<&str>) -> Shape {
    match strata::Module::new(&strata::Engine::default(), bytes) {
        Ok(m) => {
            let wasi = m.imports().iter().any(|i| i.module == WASI);
            let run = m
                .exports()
                .iter()
                .any(|e| e.name == "run" && matches!(e.ty, strata::ExternType::Func(_)));
            Shape {
                kernel: !wasi && run,
                code_bytes: Some(m.env().bodies.iter().map(|b| b.range.len()).sum()),
            }
        }
        // Strata cannot parse it (yet): judge kernels by their text.
        Err(_) => Shape {
            kernel: wat_text.is_some_and(|t| t.contains("(export \"run\")") && !t.contains(WASI)),
            code_bytes: None,
        },
    }
}

/// Loads every program: encodes `.wat` files into `wasm_dir`, picks sizes and checksums.
pub fn load(
    files: &[PathBuf],
    wasm_dir: &Path,
    sizes: &SizeOptions,
) -> Result<Vec<Program>, String> {
    let names = names(files);
    for n in sizes.overrides.keys() {
        if !names.contains(n) {
            return Err(format!("--size {n}=..: no program named `{n}`"));
        }
    }
    let mut expected_files: HashMap<PathBuf, Expected> = HashMap::new();
    let mut programs = Vec::new();
    for (file, name) in files.iter().zip(names) {
        let raw =
            crate::read_input(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let is_wat = file.extension().is_some_and(|e| e == "wat");
        let (bytes, wat_text, wasm) = if is_wat {
            let text = String::from_utf8(raw)
                .map_err(|_| format!("{}: not UTF-8 text", file.display()))?;
            let bytes =
                wat_to_wasm(&text).map_err(|e| format!("{}: invalid .wat: {e}", file.display()))?;
            std::fs::create_dir_all(wasm_dir)
                .map_err(|e| format!("cannot create {}: {e}", wasm_dir.display()))?;
            let out = wasm_dir.join(format!("{}.wasm", name.replace('/', "-")));
            std::fs::write(&out, &bytes)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            (bytes, Some(text), out)
        } else {
            if !raw.starts_with(b"\0asm") {
                return Err(format!("{}: not a WebAssembly binary", file.display()));
            }
            (raw, None, file.clone())
        };
        let shape = shape(&bytes, wat_text.as_deref());
        let file_stem = stem(file);
        let homes = home_dirs(file);
        let c_source = homes
            .iter()
            .map(|d| d.join(format!("{file_stem}.c")))
            .find(|p| p.is_file());
        let expected_entry = homes.iter().find_map(|d| {
            let path = d.join("expected.txt");
            expected_files
                .entry(path.clone())
                .or_insert_with(|| read_expected(&path))
                .get(&file_stem)
                .cloned()
        });

        let default = expected_entry
            .as_ref()
            .map(|(s, _)| *s)
            .or_else(|| {
                if shape.kernel {
                    wat_text.as_deref().and_then(wat_default_size)
                } else {
                    None
                }
            })
            .or_else(|| c_default_size(c_source.as_ref()?));
        let size = match sizes.overrides.get(&name) {
            Some(n) => Some(*n),
            None => default.map(|d| scale(d, sizes.scale)),
        };
        let expected = match (&expected_entry, size) {
            (Some((s, c)), Some(size)) if *s == size => Some(c.clone()),
            _ => None,
        };
        let invoke = (shape.kernel && size.is_some()).then(|| "run".to_string());
        programs.push(Program {
            name,
            source: file.clone(),
            wasm,
            c_source,
            native: None,
            invoke,
            size,
            args: size.map(|s| s.to_string()).into_iter().collect(),
            expected,
            code_bytes: shape.code_bytes,
        });
    }
    Ok(programs)
}

fn scale(size: u64, factor: f64) -> u64 {
    if factor == 1.0 {
        return size;
    }
    ((size as f64 * factor).round() as u64).max(1)
}

/// Builds `native` binaries with `clang -O2 SRC -o DIR/<stem> -lm` for every program with a
/// C source (reusing a binary newer than its source). Failures are recorded per program.
pub fn build_native(programs: &mut [Program], clang: &Path, dir: &Path, log: &dyn Fn(&str)) {
    let mut built: HashMap<PathBuf, Result<PathBuf, String>> = HashMap::new();
    for p in programs.iter_mut() {
        let Some(src) = p.c_source.clone() else {
            continue;
        };
        let result = built
            .entry(src.clone())
            .or_insert_with(|| build_one(&src, clang, dir, log))
            .clone();
        p.native = Some(result);
    }
}

fn build_one(src: &Path, clang: &Path, dir: &Path, log: &dyn Fn(&str)) -> Result<PathBuf, String> {
    let out = dir.join(stem(src));
    let mtime = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    if let (Some(bin), Some(s)) = (mtime(&out), mtime(src)) {
        if bin >= s {
            return Ok(out);
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    log(&format!("building native {}", out.display()));
    let mut c = Command::new(clang);
    c.arg("-O2").arg(src).arg("-o").arg(&out).arg("-lm");
    let o = process::run(c, Duration::from_secs(600));
    if o.success() {
        Ok(out)
    } else {
        let _ = std::fs::remove_file(&out);
        Err(o.failure_summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_default_size() {
        let t = r#"(module
  (func $run (export "run") (param i32) (result i64) i32.const 99999999 drop i64.const 0)
  (func $_start (export "_start")
    i32.const 1
    i32.const 420_000_000
    call $run)
  (func $other i32.const 2000000000 drop))"#;
        assert_eq!(wat_default_size(t), Some(420_000_000));
        assert_eq!(wat_default_size("(module)"), None);
    }

    #[test]
    fn scaling() {
        assert_eq!(scale(1000, 1.0), 1000);
        assert_eq!(scale(1000, 0.01), 10);
        assert_eq!(scale(42, 0.01), 1);
    }

    #[test]
    fn colliding_names() {
        let f = [
            PathBuf::from("a/x.wasm"),
            PathBuf::from("b/x.wasm"),
            PathBuf::from("a/y.wasm"),
        ];
        assert_eq!(names(&f), ["a/x", "b/x", "y"]);
    }

    #[test]
    fn missing_inputs_are_errors() {
        let e = collect_files(&[PathBuf::from("/nonexistent/prog.wasm")]).unwrap_err();
        assert!(e.contains("no such file"), "{e}");
    }
}
