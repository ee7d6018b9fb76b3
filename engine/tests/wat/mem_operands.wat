;; Loads the optimizing tier reads as x86 memory operands (`add eax, [r13 + r11 + d]`),
;; and loads it must not move: engine/tests/opt_mem_operands.rs runs every export against
;; the interpreter, traps and backtrace offsets included.
(module
  (memory 1)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10\11\12\13\14\15\16\17\18")
  (data (i32.const 64) "\00\00\00\00\00\00\f8\3f\00\00\00\00\00\00\04\40\00\00\c0\3f\00\00\20\40")
  ;; every integer op, the load as either operand (sub: the second only)
  (func (export "int32") (param $a i32) (param $x i32) (result i32)
    (i32.xor
      (i32.add
        (i32.add (local.get $x) (i32.load (local.get $a)))
        (i32.sub (local.get $x) (i32.load offset=4 (local.get $a))))
      (i32.add
        (i32.mul (i32.load offset=8 (local.get $a)) (local.get $x))
        (i32.or (i32.and (i32.load offset=12 (local.get $a)) (local.get $x))
                (i32.xor (local.get $x) (i32.load offset=16 (local.get $a)))))))
  (func (export "int64") (param $a i32) (param $x i64) (result i64)
    (i64.xor
      (i64.add
        (i64.add (i64.load (local.get $a)) (local.get $x))
        (i64.sub (local.get $x) (i64.load offset=8 (local.get $a))))
      (i64.or
        (i64.mul (local.get $x) (i64.load offset=16 (local.get $a)))
        (i64.and (i64.load offset=3 (local.get $a)) (local.get $x)))))
  ;; the address itself a folded `i32.add` (scaled index), and the base the other operand
  (func (export "indexed") (param $a i32) (param $i i32) (result i32)
    (i32.add
      (i32.add (local.get $a)
               (i32.load (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 2)))))
      (i32.load offset=4 (i32.add (local.get $a) (i32.const 4)))))
  (func (export "floats") (param $a i32) (param $x f64) (param $y f32) (result f64)
    (f64.add
      (f64.div (f64.sub (f64.mul (local.get $x) (f64.load offset=64 (local.get $a)))
                        (f64.load offset=72 (local.get $a)))
               (f64.load offset=64 (local.get $a)))
      (f64.promote_f32
        (f32.div (f32.sub (f32.mul (f32.add (local.get $y) (f32.load offset=80 (local.get $a)))
                                   (f32.load offset=84 (local.get $a)))
                          (f32.load offset=80 (local.get $a)))
                 (f32.load offset=84 (local.get $a))))))
  ;; a store between the load and its user: the load reads the old value
  (func (export "store_between") (param $a i32) (result i32)
    (local $v i32)
    (local.set $v (i32.load (local.get $a)))
    (i32.store (local.get $a) (i32.const 1000))
    (i32.add (i32.load offset=4 (local.get $a)) (local.get $v)))
  ;; two loads whose users come in the other order: the first access must fault first
  (func (export "order") (param $a i32) (param $b i32) (param $x i32) (result i32)
    (local $p i32) (local $q i32)
    (local.set $p (i32.load (local.get $a)))
    (local.set $q (i32.load (local.get $b)))
    (i32.sub (i32.add (local.get $x) (local.get $q)) (local.get $p)))
  ;; a division that may trap between the load and its user
  (func (export "div_between") (param $a i32) (param $d i32) (result i32)
    (local $v i32)
    (local.set $v (i32.load (local.get $a)))
    (i32.add (i32.div_u (i32.const 100) (local.get $d)) (local.get $v)))
  ;; a loop summing a row: the load folds into the accumulation
  (func (export "sum") (param $a i32) (param $n i32) (result i64)
    (local $s i64) (local $i i32)
    (loop $l
      (local.set $s (i64.add (local.get $s) (i64.load (local.get $a))))
      (local.set $a (i32.add (local.get $a) (i32.const 8)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
    (local.get $s))
)
