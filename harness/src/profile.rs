//! `--profile`: where a tiered engine's profile goes at the end of a run.

use std::path::PathBuf;
use strata::Engine;

#[derive(Clone, Debug, PartialEq)]
pub enum ProfileOutput {
    /// A table on stderr.
    Summary,
    /// One JSON object per event and line.
    Json(PathBuf),
    /// The Chrome trace event format.
    Chrome(PathBuf),
}

pub fn parse_output(s: &str) -> Result<ProfileOutput, String> {
    match s.split_once('=') {
        None if s == "summary" => Ok(ProfileOutput::Summary),
        Some(("json", f)) if !f.is_empty() => Ok(ProfileOutput::Json(f.into())),
        Some(("chrome", f)) if !f.is_empty() => Ok(ProfileOutput::Chrome(f.into())),
        _ => Err(format!(
            "expected summary, json=FILE or chrome=FILE, got `{s}`"
        )),
    }
}

/// Writes the engine's profile to every output. Waits for background compiles first, so
/// that every job the run started is in the profile.
pub fn emit(engine: &Engine, outputs: &[ProfileOutput]) -> Result<(), String> {
    if outputs.is_empty() {
        return Ok(());
    }
    let Some(manager) = engine.tier_manager() else {
        return Err("no profile: the engine is not tiered".into());
    };
    manager.wait_idle();
    manager.stop_sampling();
    let Some(profiler) = manager.profiler() else {
        return Err("no profile: profiling was not enabled".into());
    };
    for out in outputs {
        match out {
            ProfileOutput::Summary => {
                let summary = profiler.summary(&manager.counts());
                eprintln!(
                    "profile: policy {}, {} compile thread(s)",
                    manager.policy().name(),
                    manager.compile_threads()
                );
                eprint!("{}", summary.render(20));
            }
            ProfileOutput::Json(path) => {
                let mut f = create(path)?;
                profiler
                    .write_json_lines(&mut f)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            ProfileOutput::Chrome(path) => {
                let mut f = create(path)?;
                profiler
                    .write_chrome_trace(&mut f)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}

fn create(path: &std::path::Path) -> Result<std::io::BufWriter<std::fs::File>, String> {
    std::fs::File::create(path)
        .map(std::io::BufWriter::new)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}
