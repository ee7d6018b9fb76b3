//! Malformed and hostile inputs: arbitrary bytes through validation, compilation in every
//! configuration and instantiation. The property is "never a panic, a hang or a crash", and
//! also consistency: `validate` and `Module::new` agree, and every configuration compiles and
//! instantiates the same modules.
//!
//! Instantiation runs without the module's start function (the start section is cut out of
//! valid modules before instantiating): a random start function may loop forever, which is
//! not a bug, and Strata has no fuel to stop it. Everything else of instantiation (memories,
//! tables, globals, element and data segments) runs.

use super::plan::Rng;
use super::side::StrataConfig;
use strata::{Engine, Error, Imports, Instance, Module, Store};

/// The engines of `configs` that this build can run.
pub fn engines(configs: &[StrataConfig]) -> Vec<(String, Engine)> {
    configs
        .iter()
        .filter_map(|c| Some((c.name.clone(), c.engine().ok()?)))
        .collect()
}

/// Runs `bytes` through validation, compilation in every engine and instantiation. Panics
/// propagate (a fuzzer must see them); an inconsistency is returned as an error.
pub fn check_bytes(bytes: &[u8], engines: &[(String, Engine)]) -> Result<(), String> {
    let valid = strata::validate(bytes).is_ok();
    // Only the binary format here: `Module::new` would read other bytes as text.
    let binary = bytes.starts_with(b"\0asm");
    let mut instantiated: Option<(String, String)> = None;
    for (name, engine) in engines {
        let compiled = Module::from_binary(engine, bytes.to_vec());
        if binary && compiled.is_ok() != valid {
            return Err(format!(
                "{name}: validate says {}, Module::from_binary says {}",
                if valid { "valid" } else { "invalid" },
                match &compiled {
                    Ok(_) => "ok".to_string(),
                    Err(e) => e.to_string(),
                }
            ));
        }
        let Ok(module) = compiled else { continue };
        let no_start = match module.env().start {
            Some(_) => match without_start_section(bytes) {
                Some(b) => match Module::from_binary(engine, b) {
                    Ok(m) => m,
                    Err(e) => {
                        return Err(format!(
                            "{name}: the module without its start section does not compile: {e}"
                        ))
                    }
                },
                None => continue,
            },
            None => module,
        };
        let mut store = Store::new(engine);
        let outcome = match Instance::new(&mut store, &no_start, &Imports::new()) {
            Ok(_) => "instantiated".to_string(),
            // A tier that does not run one of the module's features yet (SIMD on the
            // baseline) has nothing to compare.
            Err(Error::Runtime(t)) if super::compare::is_tier_limit(t.message()) => continue,
            Err(Error::Runtime(t)) => format!("trapped: {}", t.code().message()),
            Err(Error::Link(_)) => "link error".to_string(),
            Err(Error::Range(_)) => "resource error".to_string(),
            Err(e) => format!("error: {e}"),
        };
        match &instantiated {
            None => instantiated = Some((name.clone(), outcome)),
            Some((first, o)) if *o != outcome => {
                return Err(format!(
                    "instantiation differs: {first} {o}, {name} {outcome}"
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// `bytes` with the start section removed, or `None` if the section structure is broken.
pub fn without_start_section(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = bytes.get(..8)?.to_vec();
    let mut pos = 8;
    while pos < bytes.len() {
        let id = bytes[pos];
        let (size, leb_len) = read_leb_u32(&bytes[pos + 1..])?;
        let end = (pos + 1 + leb_len).checked_add(size as usize)?;
        let section = bytes.get(pos..end)?;
        if id != 8 {
            out.extend_from_slice(section);
        }
        pos = end;
    }
    Some(out)
}

fn read_leb_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value: u64 = 0;
    for (i, b) in bytes.iter().take(5).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return u32::try_from(value).ok().map(|v| (v, i + 1));
        }
    }
    None
}

/// A mutation of `input`: bit flips, interesting bytes, insertions, deletions, truncation,
/// duplicated chunks and LEB edge values, one to four of them.
pub fn mutate(input: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    let n = 1 + rng.below(4);
    for _ in 0..n {
        let len = out.len().max(1) as u64;
        let at = rng.below(len) as usize;
        match rng.below(8) {
            0 if !out.is_empty() => out[at] ^= 1 << rng.below(8),
            1 if !out.is_empty() => {
                const INTERESTING: &[u8] = &[0x00, 0x01, 0x7f, 0x80, 0xff, 0x40, 0x0b, 0x20];
                out[at] = INTERESTING[rng.below(INTERESTING.len() as u64) as usize];
            }
            2 => {
                let b = rng.next_u64() as u8;
                out.insert(at.min(out.len()), b);
            }
            3 if !out.is_empty() => {
                let end = (at + 1 + rng.below(16) as usize).min(out.len());
                out.drain(at..end);
            }
            4 => out.truncate(at),
            5 if !out.is_empty() => {
                let end = (at + 1 + rng.below(32) as usize).min(out.len());
                let chunk = out[at..end].to_vec();
                let to = rng.below(out.len() as u64 + 1) as usize;
                out.splice(to..to, chunk);
            }
            6 if !out.is_empty() => {
                // An over-long or maximal LEB where a size or index was.
                const LEBS: &[&[u8]] = &[
                    &[0x80, 0x80, 0x80, 0x80, 0x00],
                    &[0xff, 0xff, 0xff, 0xff, 0x0f],
                    &[0xff, 0xff, 0xff, 0xff, 0x7f],
                    &[0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
                ];
                let leb = LEBS[rng.below(LEBS.len() as u64) as usize];
                let end = (at + 1).min(out.len());
                out.splice(at..end, leb.iter().copied());
            }
            _ => {
                if let Some(b) = out.get_mut(at) {
                    *b = b.wrapping_add(rng.below(5) as u8).wrapping_sub(2);
                }
            }
        }
    }
    out
}

/// Random bytes, half of the time behind a valid header (so that the section parser is
/// reached).
pub fn random_input(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(256) as usize;
    let mut out = Vec::with_capacity(len + 8);
    if rng.below(2) == 0 {
        out.extend_from_slice(b"\0asm\x01\0\0\0");
    }
    let start = out.len();
    out.resize(start + len, 0);
    rng.fill(&mut out[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_section_is_cut() {
        let wasm = wat::parse_str("(module (func $f) (start $f))").unwrap();
        let cut = without_start_section(&wasm).unwrap();
        assert!(cut.len() < wasm.len());
        strata::validate(&cut).unwrap();
    }
}
