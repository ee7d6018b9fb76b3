//! `strata`: the command-line face of the engine.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use strata_harness::{bench, compile, diff, run, wast_runner};

#[derive(Parser)]
#[command(
    name = "strata",
    version,
    about = "Strata: a WebAssembly engine for tiered-execution research"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a WASI program's `_start`, or an exported function with --invoke.
    Run(run::RunArgs),
    /// Run WebAssembly spec-test scripts (.wast).
    Wast(wast_runner::WastArgs),
    /// Compile a module with a JIT tier: code sizes, compile speed, disassembly.
    Compile(compile::CompileArgs),
    /// Benchmark Strata's tiers against peer engines.
    Bench(bench::BenchArgs),
    /// Compare tiers and bounds-check modes (and a peer oracle) on modules' exports.
    Diff(diff::DiffArgs),
    /// Run a fuzzing campaign: differential, mixed tiers and malformed inputs.
    Fuzz(diff::FuzzArgs),
}

/// Lets a closed stdout end the process quietly, as it does any Unix filter
/// (`strata fuzz ... | head -1`): Rust starts programs with SIGPIPE ignored, so every write
/// to a closed pipe fails and `println!` panics.
fn die_quietly_on_closed_pipe() {
    // SAFETY: called first thing in `main`, before any other thread exists; restoring the
    // default disposition of SIGPIPE touches no Rust state.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    die_quietly_on_closed_pipe();
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => run::main(args),
        Command::Wast(args) => wast_runner::main(args),
        Command::Compile(args) => compile::main(args),
        Command::Bench(args) => bench::main(args),
        Command::Diff(args) => diff::main(args),
        Command::Fuzz(args) => diff::fuzz_main(args),
    }
}
