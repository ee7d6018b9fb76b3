//! Translation of the control-flow shapes that matter for SSA with OSR entries, and the
//! analyses (dominators, loop nest) on the result.

use strata_ir::analysis::{ControlFlowGraph, DominatorTree, LoopNest};
use strata_ir::{verify, Function, Opcode, Translator};
use strata_vm::Module;

fn translate(wat: &str) -> Vec<Function> {
    let module = Module::new(wat::parse_str(wat).unwrap()).unwrap();
    let mut t = Translator::new();
    (0..module.num_defined_funcs())
        .map(|i| {
            let f = t.translate(&module, i).unwrap();
            verify(&f).unwrap_or_else(|e| panic!("{e}\n{f}"));
            f
        })
        .collect()
}

fn count(f: &Function, op: Opcode) -> usize {
    f.layout
        .iter()
        .flat_map(|b| f.block_insts(*b))
        .filter(|i| f.inst(**i).opcode == op)
        .count()
}

#[test]
fn every_live_loop_gets_an_osr_entry_with_its_ordinal() {
    // Loop 1 is dead (after `unreachable`): it keeps its ordinal but gets no entry.
    let fs = translate(
        r#"(module (func (param i32) (result i32) (local i64)
            (loop $a (br_if $a (i32.eqz (local.get 0))))
            (if (local.get 0) (then (unreachable) (loop $dead (br $dead))))
            (loop $b (result i32) (local.get 0)))
        )"#,
    );
    let f = &fs[0];
    let ordinals: Vec<u32> = f.osr_entries.iter().map(|e| e.loop_ordinal).collect();
    assert_eq!(ordinals, vec![0, 2], "{f}");
    // Each entry reads every local (param + declared) from its cell.
    assert_eq!(count(f, Opcode::OsrLoadCell), 4, "{f}");
}

#[test]
fn stack_value_below_a_block_survives_a_loop_inside_it() {
    // The i32.const 5 pushed before the block is used after it; the block's end is reached
    // both before the loop (br_if) and after it, and the loop has an OSR entry, so the
    // value must flow through the header and merge at the block's end.
    let fs = translate(
        r#"(module (func (param i32) (result i32)
            (i32.const 5)
            (block
              (br_if 0 (local.get 0))
              (loop (br_if 0 (local.tee 0 (i32.sub (local.get 0) (i32.const 1))))))
            (i32.add (local.get 0)))
        )"#,
    );
    let f = &fs[0];
    assert_eq!(f.osr_entries.len(), 1);
    // locals (1) + the stack value below the loop = 2 cells read by the OSR entry.
    assert_eq!(count(f, Opcode::OsrLoadCell), 2, "{f}");
}

#[test]
fn multi_value_blocks_and_br_table_to_the_function() {
    let fs = translate(
        r#"(module (func (param i32) (result i32 i32)
            (block (result i32 i32)
              (i32.const 1) (i32.const 2)
              (br_table 0 1 (local.get 0)))))"#,
    );
    let f = &fs[0];
    assert_eq!(count(f, Opcode::BrTable), 1, "{f}");
    assert!(count(f, Opcode::Return) >= 2, "{f}");
}

#[test]
fn if_with_params_and_no_else() {
    let fs = translate(
        r#"(module (type $t (func (param i32) (result i32)))
            (func (param i32) (result i32)
              (local.get 0)
              (if (type $t) (local.get 0) (then (i32.const 1) (i32.add)))))"#,
    );
    assert_eq!(fs[0].osr_entries.len(), 0);
}

#[test]
fn code_after_a_loop_that_never_falls_through_is_dropped() {
    let fs = translate(
        r#"(module (func (result i32)
            (loop (br 0))
            (i32.const 1)))"#,
    );
    let f = &fs[0];
    assert_eq!(count(f, Opcode::I32Const), 0, "{f}");
    assert_eq!(count(f, Opcode::Return), 0, "{f}");
}

#[test]
fn loop_nest_and_dominators() {
    let fs = translate(
        r#"(module (func (param i32) (local i32)
            (loop $outer
              (local.set 1 (i32.const 10))
              (loop $inner
                (local.set 1 (i32.sub (local.get 1) (i32.const 1)))
                (br_if $inner (local.get 1)))
              (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
              (br_if $outer (local.get 0)))))"#,
    );
    let f = &fs[0];
    let cfg = ControlFlowGraph::new(f);
    let dt = DominatorTree::new(&cfg);
    let nest = LoopNest::new(f);
    assert_eq!(nest.loops.len(), 2, "{f}");
    let (outer, inner) = (&nest.loops[0], &nest.loops[1]);
    assert_eq!((outer.depth, inner.depth), (1, 2));
    assert_eq!(inner.parent, Some(0));
    assert!(outer.blocks.contains(&inner.header));
    assert!(!inner.blocks.contains(&outer.header));
    // Each header has a normal preheader (the OSR entry is not one).
    assert!(
        outer.preheader.is_some() && inner.preheader.is_some(),
        "{f}"
    );
    // With the OSR entries as roots the normal entry dominates neither header, and the
    // outer header does not dominate the inner one (its OSR entry bypasses it).
    let entry = f.entry().unwrap();
    assert!(!dt.dominates(entry, outer.header));
    assert!(!dt.dominates(outer.header, inner.header));
    let normal = ControlFlowGraph::normal_entry_only(f);
    let ndt = DominatorTree::new(&normal);
    assert!(ndt.dominates(outer.header, inner.header));
    assert!(ndt.dominates(entry, inner.header));
    assert_eq!(nest.depth(inner.header), 2);
    assert_eq!(nest.depth(entry), 0);
    let rpo = cfg.reverse_postorder();
    assert_eq!(rpo.len(), f.layout.len());
}

#[test]
fn many_locals_times_many_loops_is_refused_not_exhausting_memory() {
    // 2000 locals x 3000 loops would be 6 million loop-header parameters.
    let loops = "(loop)".repeat(3000);
    let wat = format!("(module (func (local {}) {loops}))", "i64 ".repeat(2000));
    let module = Module::new(wat::parse_str(&wat).unwrap()).unwrap();
    let e = Translator::new().translate(&module, 0).unwrap_err();
    assert!(e.0.contains("too many locals times loops"), "{e}");
}

#[test]
fn results_of_a_block_with_a_loop_inside_stay_on_top_of_the_reloaded_stack() {
    // Found by ir_smith: at the `if`'s end the positions below are reloaded through their
    // variables (the loop inside may have changed them), which appends parameters to the
    // continuation; only its first parameters are the results.
    let fs = translate(
        r#"(module (func (param i32) (result i64)
            (i64.const 7)
            (f32.const 1)
            (if (result i64) (local.get 0)
              (then (loop) (i64.const 1))
              (else (i64.const 2)))
            (i64.add (i64.const 3))
            (drop)
            (drop)))"#,
    );
    assert_eq!(fs[0].osr_entries.len(), 1);
}

#[test]
fn quadratic_variable_lookups_are_cut_off() {
    // 300 blocks (one per br_if), then every one of 300 locals read: each read walks back
    // through all the blocks and caches its value in each, about 90 000 definitions.
    let brs = "(br_if 0 (local.get 0))".repeat(300);
    let reads = (0..300)
        .map(|i| format!("(drop (local.get {i}))"))
        .collect::<String>();
    let wat = format!(
        "(module (func (param i32) (local {}) (block {brs} {reads})))",
        "i32 ".repeat(299)
    );
    let module = Module::new(wat::parse_str(&wat).unwrap()).unwrap();
    let mut t = Translator::new();
    let f = t.translate(&module, 0).unwrap();
    verify(&f).unwrap();
    let needed = t.variable_defs();
    assert!(needed > 50_000, "{needed}");
    t.set_max_var_defs(needed / 2);
    let e = t.translate(&module, 0).unwrap_err();
    assert!(e.0.contains("too large"), "{e}");
}
