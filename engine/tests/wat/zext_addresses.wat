;; Addresses the optimizing tier proves zero-extended (`lower::zero_extended`) index memory
;; themselves; the others go through `mov r11d, x`. Values and traps must not change.
(module
  (memory 1)
  (data (i32.const 0) "\01\02\03\04\05\06\07\08\09\0a\0b\0c\0d\0e\0f\10")
  ;; 0: a loop counter (a block parameter fed by i32.add) as the address.
  (func (export "walk") (param $n i32) (param $step i32) (result i64)
    (local $i i32) (local $acc i64)
    (local.set $i (i32.const 0))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i64.add (local.get $acc) (i64.load offset=8 (local.get $i))))
        (i64.store offset=16 (local.get $i) (local.get $acc))
        (local.set $i (i32.add (local.get $i) (local.get $step)))
        (br $l)))
    (local.get $acc))
  ;; 1: an entry parameter as the address: not proved.
  (func (export "param") (param $a i32) (result i32)
    (i32.load offset=4 (local.get $a)))
  ;; 2: i32.wrap_i64 of a wide value, and a loaded address.
  (func (export "wrap") (param $x i64) (result i32)
    (i32.add
      (i32.load8_u (i32.wrap_i64 (local.get $x)))
      (i32.load (i32.load8_u (i32.const 3)))))
  ;; 3: a block parameter from a proved value on one edge and a parameter on the other.
  (func (export "merge") (param $a i32) (param $c i32) (result i32)
    (local $p i32)
    (if (local.get $c)
      (then (local.set $p (i32.and (local.get $a) (i32.const 0xfff0))))
      (else (local.set $p (local.get $a))))
    (i32.load16_u offset=2 (local.get $p)))
  ;; 4: a shifted index and a constant address.
  (func (export "scaled") (param $i i32) (result i32)
    (i32.add
      (i32.load (i32.shl (local.get $i) (i32.const 2)))
      (i32.load offset=8 (i32.const 0))))
;; 5: `i32.and` as a branch and select condition (`test`, no `and`).
  (func (export "bits") (param $x i32) (param $y i32) (result i32)
    (block $b
      (br_if $b (i32.and (local.get $x) (i32.const 4)))
      (return (select (i32.const 10) (i32.const 20) (i32.and (local.get $x) (local.get $y)))))
    (i32.const 30))
)
