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
;; compares reading memory: unfused (0/1 results), fused into `select` and `br_if`,
  ;; the load on either side, against a register, an immediate, and `eqz`
  (func (export "compares") (param $a i32) (param $x i32) (param $y i64) (result i32)
    (local $r i32)
    (local.set $r
      (i32.add
        (i32.add (i32.lt_s (i32.load (local.get $a)) (local.get $x))
                 (i32.shl (i32.gt_u (local.get $x) (i32.load offset=4 (local.get $a))) (i32.const 1)))
        (i32.add (i32.shl (i32.eqz (i32.load offset=8 (local.get $a))) (i32.const 2))
                 (i32.shl (i64.ge_s (i64.load offset=12 (local.get $a)) (local.get $y)) (i32.const 3)))))
    (local.set $r
      (i32.add (local.get $r)
        (select (i32.const 16) (i32.const 32)
                (i32.le_u (i32.load offset=16 (local.get $a)) (i32.const 0x14131211)))))
    (local.set $r
      (i32.add (local.get $r)
        (select (i32.const 64) (i32.const 128)
                (i64.ne (local.get $y) (i64.load offset=20 (local.get $a))))))
    (block $b
      (br_if $b (i32.ne (i32.load offset=2 (local.get $a)) (i32.const 0x06050403)))
      (local.set $r (i32.add (local.get $r) (i32.const 256))))
    (block $b
      (br_if $b (i64.eqz (i64.load offset=1 (local.get $a))))
      (local.set $r (i32.add (local.get $r) (i32.const 512))))
    (local.get $r))
  ;; a search loop: the load compared against the key in the loop's exit branch
  (func (export "find") (param $a i32) (param $key i32) (param $n i32) (result i32)
    (local $i i32)
    (block $done
      (loop $l
        (br_if $done (i32.eq (i32.load (local.get $a)) (local.get $key)))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))
    (local.get $i))
)
