;; Stores of `op(load(a), x)` to the load's own address: the optimizing tier emits one x86
;; read-modify-write instruction (`lower::rmw_folds`) where the conditions hold (funcs 0-8)
;; and keeps the load, the op and the store apart where they do not (funcs 9-17). Values,
;; memory contents and traps must not change.
(module
  (memory 1)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08\f9\fa\fb\fc\fd\fe\ff\80")
  ;; 0: i64, register operand, load on the right of a commutative op.
  (func (export "add64") (param $a i32) (param $x i64)
    (i64.store (local.get $a) (i64.add (local.get $x) (i64.load (local.get $a)))))
  ;; 1: i32 with an immediate.
  (func (export "add32imm") (param $a i32)
    (i32.store offset=4 (local.get $a) (i32.add (i32.load offset=4 (local.get $a)) (i32.const -7))))
  ;; 2: sub with the load on the left.
  (func (export "sub32") (param $a i32) (param $x i32)
    (i32.store (local.get $a) (i32.sub (i32.load (local.get $a)) (local.get $x))))
  ;; 3: xor at an offset, through a folded address (`i32.add a, 16`).
  (func (export "xor64") (param $a i32) (param $x i64)
    (local $p i32)
    (local.set $p (i32.add (local.get $a) (i32.const 16)))
    (i64.store offset=8 (local.get $p)
      (i64.xor (i64.load offset=8 (local.get $p)) (local.get $x))))
  ;; 4: narrow: byte add (zero-extending load), halfword or with an immediate (sign-extending).
  (func (export "narrow") (param $a i32) (param $x i32)
    (i32.store8 (local.get $a) (i32.add (i32.load8_u (local.get $a)) (local.get $x)))
    (i32.store16 offset=2 (local.get $a)
      (i32.or (i32.load16_s offset=2 (local.get $a)) (i32.const 0x8001))))
  ;; 5: i64.store32 of an and with i64.load32_s.
  (func (export "and32") (param $a i32) (param $x i64)
    (i64.store32 (local.get $a) (i64.and (i64.load32_s (local.get $a)) (local.get $x))))
  ;; 6: shifts by a constant.
  (func (export "shifts") (param $a i32)
    (i32.store (local.get $a) (i32.shr_s (i32.load (local.get $a)) (i32.const 35)))
    (i64.store offset=8 (local.get $a) (i64.shl (i64.load offset=8 (local.get $a)) (i64.const 3))))
  ;; 7: an indexed address (`a + i*8`) and a pure computation between the load and the store.
  (func (export "indexed") (param $a i32) (param $i i32) (param $x i64)
    (local $p i32)
    (local.set $p (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 3))))
    (i64.store (local.get $p)
      (i64.sub (i64.load (local.get $p)) (i64.mul (local.get $x) (i64.const 3)))))
  ;; 8: i64.store8 of an i64 add with an immediate.
  (func (export "byte64") (param $a i32)
    (i64.store8 (local.get $a) (i64.add (i64.load8_s (local.get $a)) (i64.const 0x1ff))))
  ;; 9: a store between the load and the store.
  (func (export "store_between") (param $a i32) (param $b i32) (param $x i32)
    (local $l i32)
    (local.set $l (i32.load (local.get $a)))
    (i32.store (local.get $b) (local.get $x))
    (i32.store (local.get $a) (i32.add (local.get $l) (local.get $x))))
  ;; 10: the load used twice.
  (func (export "load_twice") (param $a i32) (param $x i32) (result i32)
    (local $l i32)
    (local.set $l (i32.load (local.get $a)))
    (i32.store (local.get $a) (i32.add (local.get $l) (local.get $x)))
    (local.get $l))
  ;; 11: the op's result used twice.
  (func (export "op_twice") (param $a i32) (param $x i32) (result i32)
    (local $v i32)
    (local.set $v (i32.add (i32.load (local.get $a)) (local.get $x)))
    (i32.store (local.get $a) (local.get $v))
    (local.get $v))
  ;; 12: different offsets.
  (func (export "offsets") (param $a i32) (param $x i32)
    (i32.store offset=4 (local.get $a) (i32.add (i32.load (local.get $a)) (local.get $x))))
  ;; 13: different widths (a word load, a byte store; a byte load, a word store).
  (func (export "widths") (param $a i32) (param $x i32)
    (i32.store8 (local.get $a) (i32.add (i32.load (local.get $a)) (local.get $x)))
    (i32.store offset=8 (local.get $a) (i32.add (i32.load8_u offset=8 (local.get $a)) (local.get $x))))
  ;; 14: a trapping division between the load and the store: an out-of-bounds `a` must trap
  ;; as out of bounds even when `y` is 0.
  (func (export "trap_between") (param $a i32) (param $x i32) (param $y i32)
    (local $l i32)
    (local.set $l (i32.load (local.get $a)))
    (i32.store (local.get $a) (i32.add (local.get $l) (i32.div_u (local.get $x) (local.get $y)))))
  ;; 15: different addresses.
  (func (export "addresses") (param $a i32) (param $b i32) (param $x i64)
    (i64.store (local.get $b) (i64.add (i64.load (local.get $a)) (local.get $x))))
  ;; 16: sub with the load on the right, and a narrow shift (no RMW forms).
  (func (export "no_form") (param $a i32) (param $x i32)
    (i32.store (local.get $a) (i32.sub (local.get $x) (i32.load (local.get $a))))
    (i32.store8 offset=4 (local.get $a) (i32.shr_u (i32.load8_u offset=4 (local.get $a)) (i32.const 1))))
  ;; 17: an i64 load stored by i64.store32 (widths differ).
  (func (export "store32_of_load64") (param $a i32) (param $x i64)
    (i64.store32 (local.get $a) (i64.add (i64.load (local.get $a)) (local.get $x))))
  ;; 18: reads memory back.
  (func (export "peek") (param $a i32) (result i64)
    (i64.load (local.get $a))))
