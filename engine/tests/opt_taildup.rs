//! Tail duplication of `br_table` dispatch in the optimizing tier (`tiers/src/opt/taildup.rs`):
//! a small bytecode machine whose cases jump back to the dispatch, directly or through a
//! latch, gives every case its own copy of the dispatch. Values and traps (in a case, and in
//! the opcode fetch that each copy repeats) agree with the interpreter in both bounds modes,
//! and the copies are really there.

use strata::*;

mod support;

/// A stack machine over linear memory: programs are bytes at `pc`, the operand stack holds
/// i64s from 0x1000 up, locals are at 0x800. `run` counts steps in a latch after every case
/// but `jnz`, which jumps straight back to the dispatch; `$sq` is called from a case. `vm`
/// fills in the binary operations (`BINOPS`).
const VM_TEMPLATE: &str = r#"
(module
  (memory 1)
  (func $sq (param i64) (result i64) (i64.mul (local.get 0) (local.get 0)))
  (func (export "run") (param $pc i32) (result i64)
    (local $sp i32) (local $op i32) (local $steps i64) (local $a i64)
    (local.set $sp (i32.const 0x1000))
    (loop $dispatch
      (local.set $op (i32.load8_u (local.get $pc)))
      (block $latch
        (block $bad (block $call (block $load (block $over (block $swap (block $dup
        (block $jnz (block $div (block $mul (block $sub (block $add (block $set (block $get
        (block $push (block $halt
          (br_table $halt $push $get $set $add $sub $mul $div $jnz $dup $swap $over $load
                    $call $bad (local.get $op)))
        ;; 0 halt: the top of the stack, plus the steps taken
        (return (i64.add (i64.load (i32.sub (local.get $sp) (i32.const 8)))
                         (i64.shl (local.get $steps) (i64.const 32)))))
        ;; 1 push imm8 (sign-extended)
        (i64.store (local.get $sp) (i64.load8_s offset=1 (local.get $pc)))
        (local.set $sp (i32.add (local.get $sp) (i32.const 8)))
        (local.set $pc (i32.add (local.get $pc) (i32.const 2)))
        (br $latch))
        ;; 2 get local imm8
        (i64.store (local.get $sp)
          (i64.load offset=0x800 (i32.shl (i32.load8_u offset=1 (local.get $pc)) (i32.const 3))))
        (local.set $sp (i32.add (local.get $sp) (i32.const 8)))
        (local.set $pc (i32.add (local.get $pc) (i32.const 2)))
        (br $latch))
        ;; 3 set local imm8
        (local.set $sp (i32.sub (local.get $sp) (i32.const 8)))
        (i64.store offset=0x800 (i32.shl (i32.load8_u offset=1 (local.get $pc)) (i32.const 3))
          (i64.load (local.get $sp)))
        (local.set $pc (i32.add (local.get $pc) (i32.const 2)))
        (br $latch))
BINOPS
        ;; 8 jnz imm8: pop, and jump to pc + imm8 if non-zero; straight to the dispatch
        (local.set $sp (i32.sub (local.get $sp) (i32.const 8)))
        (local.set $steps (i64.add (local.get $steps) (i64.const 1)))
        (local.set $pc (i32.add (local.get $pc)
          (select (i32.load8_s offset=1 (local.get $pc)) (i32.const 2)
                  (i64.ne (i64.load (local.get $sp)) (i64.const 0)))))
        (br $dispatch))
        ;; 9 dup
        (i64.store (local.get $sp) (i64.load (i32.sub (local.get $sp) (i32.const 8))))
        (local.set $sp (i32.add (local.get $sp) (i32.const 8)))
        (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
        (br $latch))
        ;; 10 swap
        (local.set $a (i64.load (i32.sub (local.get $sp) (i32.const 8))))
        (i64.store (i32.sub (local.get $sp) (i32.const 8))
          (i64.load (i32.sub (local.get $sp) (i32.const 16))))
        (i64.store (i32.sub (local.get $sp) (i32.const 16)) (local.get $a))
        (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
        (br $latch))
        ;; 11 over
        (i64.store (local.get $sp) (i64.load (i32.sub (local.get $sp) (i32.const 16))))
        (local.set $sp (i32.add (local.get $sp) (i32.const 8)))
        (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
        (br $latch))
        ;; 12 load: the i64 at the address on top (out of bounds traps)
        (i64.store (i32.sub (local.get $sp) (i32.const 8))
          (i64.load (i32.wrap_i64 (i64.load (i32.sub (local.get $sp) (i32.const 8))))))
        (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
        (br $latch))
        ;; 13 call: the top squared by a call
        (i64.store (i32.sub (local.get $sp) (i32.const 8))
          (call $sq (i64.load (i32.sub (local.get $sp) (i32.const 8)))))
        (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
        (br $latch))
        ;; anything else
        (unreachable))
      ;; the latch: count the step
      (local.set $steps (i64.add (local.get $steps) (i64.const 1)))
      (br $dispatch))
    (unreachable))
  ;; sum of i*i for i = 100..1, through locals, a call and a counted loop
  (data (i32.const 0) "\01\64\03\00\01\00\03\01"
                      "\02\00\0d\02\01\04\03\01"
                      "\02\00\01\01\05\09\03\00\08\f0"
                      "\02\01\00")
  ;; (7 * 6 - 2) / 3 * (-5), then 1 / 0
  (data (i32.const 64) "\01\07\01\06\06\01\02\05\01\03\07\01\fb\06\09\01\00\07\00")
  ;; 2^32 * (2^32 / 2) = i64.MIN, then i64.MIN / -1 overflows
  (data (i32.const 96) "\01\10\09\06\09\06\09\06\09\01\02\07\06\01\ff\07\00")
  ;; a load from -1 (past memory's end)
  (data (i32.const 128) "\01\ff\0c\00")
  ;; a jump past memory's end: the opcode fetch (in a copy of the dispatch) traps
  (data (i32.const 65530) "\01\01\08\7f")
  ;; an opcode without a case
  (data (i32.const 192) "\01\02\c8")
  ;; the stack swapped and copied: 3 4 swap over add add -> 4 + 3 + 4
  (data (i32.const 224) "\01\03\01\04\0a\0b\04\04\00")
)
"#;

/// Cases 4 to 7 of the machine: `sp[-2] = sp[-2] OP sp[-1]`, popping one.
const BINOPS: [&str; 4] = ["add", "sub", "mul", "div_s"];

fn vm() -> String {
    let cases: String = BINOPS
        .iter()
        .enumerate()
        .map(|(k, op)| {
            format!(
                "        ;; {} {op} (div_s traps on zero and on overflow)
        (local.set $sp (i32.sub (local.get $sp) (i32.const 8)))
        (i64.store (i32.sub (local.get $sp) (i32.const 8))
          (i64.{op} (i64.load (i32.sub (local.get $sp) (i32.const 8))) (i64.load (local.get $sp))))
        (local.set $pc (i32.add (local.get $pc) (i32.const 1)))
        (br $latch))
",
                k + 4
            )
        })
        .collect();
    VM_TEMPLATE.replace("BINOPS", &cases)
}

#[test]
fn dispatch_copies_agree_with_the_interpreter() {
    let starts = [0, 64, 96, 128, 65530, 192, 224];
    support::opt_agrees_with_interpreter(
        |tier, bounds| {
            let calls = starts
                .iter()
                .map(|&pc| ("run", vec![Val::I32(pc)]))
                .collect();
            support::calls(tier, bounds, &vm(), calls)
        },
        4,
    );
}

#[test]
fn every_case_gets_its_own_dispatch() {
    let code = &support::opt_disassembly(&vm())[1];
    // One indirect jump per case that jumps back (12 through the latch, `jnz` directly),
    // plus the latch's and the original dispatch, plus the trap stub's.
    let indirect = code
        .lines()
        .filter(|l| l.trim_end().ends_with("jmp r11"))
        .count();
    assert!(indirect >= 14, "{indirect} indirect jumps:\n{code}");
}
