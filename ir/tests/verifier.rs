//! The verifier rejects each kind of broken function it is meant to catch (and accepts the
//! valid original), so that "verifies" in the other tests means something.

use strata_ir::{parse_function, verify};

const VALID: &str = r#"
function "ok"(i32, i64) -> (i32) {
    osr_entry 0 block3
block0(v0: i32, v1: i64):
    v6 = i32.const 1
    jump block1(v6)
block1(v3: i32):
    v2 = i32.const 1
    v4 = i32.add v3, v2
    br_if v4, block1(v4), block2
block2:
    return v4
block3:
    v5:i32 = osr.load_cell cell2
    jump block1(v5)
}
"#;

fn rejects(text: &str, what: &str) {
    let f = parse_function(text).unwrap_or_else(|e| panic!("{what}: {e}"));
    match verify(&f) {
        Ok(()) => panic!("{what}: accepted\n{f}"),
        Err(e) => assert!(!e.0.is_empty(), "{what}"),
    }
}

#[test]
fn accepts_the_valid_function() {
    let f = parse_function(VALID).unwrap();
    verify(&f).unwrap();
}

#[test]
fn rejects_operand_type_mismatch() {
    rejects(
        &VALID.replace("v4 = i32.add v3, v2", "v4 = i32.add v3, v1"),
        "i64 operand",
    );
}

#[test]
fn rejects_missing_terminator() {
    rejects(
        &VALID.replace("    return v4\n", "    v9 = i32.const 0\n"),
        "no terminator",
    );
}

#[test]
fn rejects_terminator_in_the_middle() {
    rejects(
        &VALID.replace(
            "    v6 = i32.const 1\n",
            "    trap unreachable\n    v6 = i32.const 1\n",
        ),
        "terminator before the end",
    );
}

#[test]
fn rejects_block_argument_arity() {
    rejects(
        &VALID.replace("jump block1(v6)", "jump block1(v6, v6)"),
        "arity",
    );
    rejects(
        &VALID.replace("jump block1(v5)", "jump block1"),
        "arity (osr)",
    );
}

#[test]
fn rejects_block_argument_type() {
    rejects(
        &VALID.replace("jump block1(v6)", "jump block1(v1)"),
        "argument type",
    );
}

#[test]
fn rejects_use_not_dominated() {
    // v2 is defined in the normal entry, which does not dominate the loop: the OSR entry
    // reaches it without passing there.
    rejects(
        &VALID.replace("return v4", "return v6"),
        "OSR path bypasses v6",
    );
    // Use before definition in the same block.
    rejects(
        &VALID.replace(
            "    v2 = i32.const 1\n    v4 = i32.add v3, v2",
            "    v4 = i32.add v3, v2\n    v2 = i32.const 1",
        ),
        "use before def",
    );
}

#[test]
fn rejects_wrong_return_types() {
    rejects(&VALID.replace("return v4", "return v4, v4"), "two results");
}

#[test]
fn rejects_entry_with_predecessors() {
    rejects(
        &VALID.replace("br_if v4, block1(v4), block2", "br_if v4, block3, block2"),
        "branch to an entry",
    );
}

#[test]
fn rejects_osr_load_outside_an_osr_entry() {
    rejects(
        &VALID.replace(
            "    v6 = i32.const 1\n",
            "    v6:i32 = osr.load_cell cell0\n",
        ),
        "osr.load_cell in the normal entry",
    );
}

#[test]
fn rejects_entry_params_differing_from_signature() {
    rejects(
        &VALID.replace("block0(v0: i32, v1: i64)", "block0(v0: i32, v1: i32)"),
        "entry params",
    );
}

#[test]
fn rejects_select_of_mixed_types() {
    rejects(
        &VALID.replace("    v6 = i32.const 1\n", "    v6 = select v0, v1, v0\n"),
        "select i32/i64",
    );
}
