//! The training / test split of the benchmark programs (`benches/corpus/SPLIT`) and what
//! `strata bench --set` does with it: picks the programs of a set and reports each set apart.
//!
//! The manifest is line based: `<set> <category> <language> <path>`, the path relative to the
//! repository root; `#` starts a comment. A program's name is its file stem. Choices may be
//! tuned on `train`; speed claims are made on `test` (see the manifest's header for the rule).

use super::engines::Engine;
use super::programs::Program;
use super::report::{self, Meta, Report};
use super::runner::Cell;
use clap::ValueEnum;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The manifest, relative to the repository root.
pub const MANIFEST: &str = "benches/corpus/SPLIT";

/// `--set`: which programs of the manifest to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SetChoice {
    Train,
    Test,
    All,
}

/// The set a program belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Set {
    Train,
    Test,
}

impl Set {
    pub fn name(self) -> &'static str {
        match self {
            Set::Train => "train",
            Set::Test => "test",
        }
    }

    fn in_choice(self, c: SetChoice) -> bool {
        matches!(
            (self, c),
            (_, SetChoice::All) | (Set::Train, SetChoice::Train) | (Set::Test, SetChoice::Test)
        )
    }
}

/// One manifest line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub set: Set,
    pub category: String,
    pub language: String,
    /// Relative to the repository root.
    pub path: PathBuf,
}

impl Entry {
    /// The name `strata bench` reports the program under: the file stem.
    pub fn name(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

#[derive(Clone, Debug, Default)]
pub struct Manifest {
    pub entries: Vec<Entry>,
}

impl Manifest {
    /// Parses manifest text; a malformed line, an unknown set or a program listed twice (by
    /// path or by name) is an error naming the line.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut entries = Vec::new();
        let mut names = HashSet::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let at = |msg: String| format!("{MANIFEST} line {}: {msg}", i + 1);
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [set, category, language, path] = fields[..] else {
                return Err(at(format!(
                    "expected `<set> <category> <language> <path>`, found `{line}`"
                )));
            };
            let set = match set {
                "train" => Set::Train,
                "test" => Set::Test,
                other => return Err(at(format!("unknown set `{other}` (train or test)"))),
            };
            let entry = Entry {
                set,
                category: category.to_string(),
                language: language.to_string(),
                path: PathBuf::from(path),
            };
            if !names.insert(entry.name()) {
                return Err(at(format!("`{}` is listed twice", entry.name())));
            }
            entries.push(entry);
        }
        if entries.is_empty() {
            return Err(format!("{MANIFEST}: no programs"));
        }
        Ok(Manifest { entries })
    }

    /// Reads `<root>/benches/corpus/SPLIT`.
    pub fn load(root: &Path) -> Result<Manifest, String> {
        let path = root.join(MANIFEST);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Manifest::parse(&text)
    }

    /// The entries of a choice: the test set first, then the training set, each in manifest
    /// order (so the combined table shows the sets apart).
    pub fn select(&self, choice: SetChoice) -> Vec<&Entry> {
        [Set::Test, Set::Train]
            .into_iter()
            .flat_map(|s| self.entries.iter().filter(move |e| e.set == s))
            .filter(|e| e.set.in_choice(choice))
            .collect()
    }
}

/// The programs a run uses: explicit PROGRAM paths as they are (no sets); else the manifest's
/// programs of `choice` (default all) with the set of each, in the same order; else, when there
/// is no manifest and no `--set` was asked for, `benches/programs` as before the split.
pub fn inputs(
    root: &Path,
    choice: Option<SetChoice>,
    programs: &[PathBuf],
) -> Result<(Vec<PathBuf>, Option<Vec<Set>>), String> {
    if !programs.is_empty() {
        if choice.is_some() {
            return Err(format!(
                "--set picks programs from {MANIFEST}; give either --set or PROGRAM paths"
            ));
        }
        return Ok((programs.to_vec(), None));
    }
    if choice.is_none() && !root.join(MANIFEST).is_file() {
        return Ok((vec![root.join("benches/programs")], None));
    }
    let manifest = Manifest::load(root)?;
    let picked = manifest.select(choice.unwrap_or(SetChoice::All));
    let files = picked.iter().map(|e| root.join(&e.path)).collect();
    let sets = picked.iter().map(|e| e.set).collect();
    Ok((files, Some(sets)))
}

/// One set's report: its programs' rows and geomeans, as if only they had been run.
pub struct SetReport {
    pub set: Set,
    pub report: Report,
}

/// A report per set that has programs (test first). `sets[i]` is the set of `programs[i]`.
pub fn reports(
    meta: &dyn Fn() -> Meta,
    programs: &[Program],
    engines: &[Engine],
    cells: &[Vec<Cell>],
    reference: Option<&str>,
    sets: &[Set],
) -> Vec<SetReport> {
    [Set::Test, Set::Train]
        .into_iter()
        .filter_map(|set| {
            let pick: Vec<usize> = (0..programs.len()).filter(|&i| sets[i] == set).collect();
            if pick.is_empty() {
                return None;
            }
            let progs: Vec<Program> = pick.iter().map(|&i| programs[i].clone()).collect();
            let cells: Vec<Vec<Cell>> = pick.iter().map(|&i| cells[i].clone()).collect();
            Some(SetReport {
                set,
                report: Report::new(meta(), &progs, engines, &cells, reference),
            })
        })
        .collect()
}

/// The per-set tables, each under a heading (appended to the combined table).
pub fn tables(sets: &[SetReport]) -> String {
    sets.iter()
        .map(|s| {
            format!(
                "\n== {} set: {} program(s) ==\n{}",
                s.set.name(),
                s.report.programs.len(),
                report::table(&s.report)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# header\n\
        train programs c benches/programs/fib.wasm\n\
        test  text     c benches/corpus/wasm/regex.wasm  # trailing comment\n\
        \n\
        train float rust benches/corpus/wasm/particles.wasm\n";

    #[test]
    fn parses_and_selects_test_first() {
        let m = Manifest::parse(TEXT).unwrap();
        assert_eq!(m.entries.len(), 3);
        assert_eq!(m.entries[1].name(), "regex");
        assert_eq!(m.entries[1].category, "text");
        let names = |c| -> Vec<String> { m.select(c).iter().map(|e| e.name()).collect() };
        assert_eq!(names(SetChoice::All), ["regex", "fib", "particles"]);
        assert_eq!(names(SetChoice::Test), ["regex"]);
        assert_eq!(names(SetChoice::Train), ["fib", "particles"]);
    }

    #[test]
    fn malformed_manifests_are_errors() {
        let e = Manifest::parse("train c benches/x.wasm\n").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        let e = Manifest::parse("valid a c x.wasm\n").unwrap_err();
        assert!(e.contains("unknown set"), "{e}");
        let e = Manifest::parse("test a c d1/x.wasm\ntrain b c d2/x.wasm\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("twice"), "{e}");
        assert!(Manifest::parse("# nothing\n").is_err());
    }

    #[test]
    fn explicit_programs_exclude_set() {
        let root = Path::new("/nonexistent-root");
        let p = vec![PathBuf::from("a.wasm")];
        let (files, sets) = inputs(root, None, &p).unwrap();
        assert_eq!(files, p);
        assert!(sets.is_none());
        assert!(inputs(root, Some(SetChoice::Test), &p).is_err());
        // no manifest: the old default, unless a set was asked for
        let (files, _) = inputs(root, None, &[]).unwrap();
        assert_eq!(files, [root.join("benches/programs")]);
        assert!(inputs(root, Some(SetChoice::All), &[]).is_err());
    }
}
