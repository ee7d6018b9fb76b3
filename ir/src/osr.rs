//! Functions entered at a loop (design.md §5; JavaScriptCore's OMGForOSREntry): the code that
//! OSR jumps into is compiled on its own, one function per loop header, so that the function's
//! call entry keeps a single entry and optimizes as code that is only ever called.
//!
//! `enter_at_loop` turns a function translated *with* OSR entries into the function whose
//! only entry is the OSR entry block of one loop: that block becomes the normal entry (it
//! takes no parameters; it reads the locals and the operand stack from the frame with
//! `osr.load_cell`), the other OSR entries are dropped, and whatever only the call entry
//! reached is removed. The result returns what the function returns.

use crate::function::Function;
use crate::passes::remove_unreachable_blocks;

/// Makes the OSR entry of the loop with ordinal `loop_ordinal` the function's only entry.
/// Fails when the function has no OSR entry for that loop (an unreachable loop, or a
/// function translated without OSR entries).
pub fn enter_at_loop(func: &mut Function, loop_ordinal: u32) -> Result<(), String> {
    let entry = func
        .osr_entries
        .iter()
        .find(|e| e.loop_ordinal == loop_ordinal)
        .map(|e| e.block)
        .ok_or_else(|| format!("no OSR entry for loop {loop_ordinal}"))?;
    func.osr_entries.clear();
    func.params.clear();
    func.layout.retain(|&b| b != entry);
    func.layout.insert(0, entry);
    remove_unreachable_blocks(func);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::verify;

    #[test]
    fn the_loop_entry_becomes_the_only_entry() {
        let module = strata_vm::Module::new(
            wat::parse_str(
                r#"(module (func (param i32) (result i32) (local i32)
                     (loop $a (local.set 1 (i32.add (local.get 1) (i32.const 1)))
                       (br_if $a (i32.lt_u (local.get 1) (local.get 0))))
                     (loop $b (br_if $b (i32.eqz (local.get 0))))
                     (local.get 1)))"#,
            )
            .unwrap(),
        )
        .unwrap();
        let mut tr = crate::Translator::new();
        let full = tr.translate(&module, 0).unwrap();
        assert_eq!(full.osr_entries.len(), 2);
        for ordinal in 0..2 {
            let mut f = full.clone();
            enter_at_loop(&mut f, ordinal).unwrap();
            verify(&f).unwrap();
            assert!(f.osr_entries.is_empty() && f.params.is_empty());
            assert_eq!(f.entry(), Some(full.osr_entries[ordinal as usize].block));
        }
        // Entering the second loop leaves the first one out.
        let mut f = full.clone();
        enter_at_loop(&mut f, 1).unwrap();
        assert!(f.layout.len() < full.layout.len());
        assert!(enter_at_loop(&mut full.clone(), 2).is_err());
    }
}
