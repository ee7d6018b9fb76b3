;; Divisions whose divisor a dominating branch proves non-zero (`lower::nonzero_divisors`)
;; have no zero test of their own (funcs 0-3, and constant divisors 9-11); the others keep it
;; and trap (funcs 4-8).
(module
  ;; 0: i64.div_s on the true edge of `b != 0` (the C idiom `b ? a / b : 0`).
  (func (export "guarded_div") (param $a i64) (param $b i64) (result i64)
    (if (result i64) (i64.ne (local.get $b) (i64.const 0))
      (then (i64.div_s (local.get $a) (local.get $b)))
      (else (i64.const 0))))
  ;; 1: i32.rem_u after `br_if` on `eqz b` (the false edge), through a block with one
  ;; predecessor that only jumps on.
  (func (export "eqz_exit") (param $a i32) (param $b i32) (result i32)
    (block $out
      (br_if $out (i32.eqz (local.get $b)))
      (block $inner
        (br $inner))
      (return (i32.rem_u (local.get $a) (local.get $b))))
    (i32.const -1))
  ;; 2: i32.div_u on the true edge of `br_if b`.
  (func (export "cond_itself") (param $a i32) (param $b i32) (result i32)
    (block $yes
      (br_if $yes (local.get $b))
      (return (i32.const -2)))
    (i32.div_u (local.get $a) (local.get $b)))
  ;; 3: i64.rem_s on the true edge of `eqz (eqz b)`.
  (func (export "eqz_eqz") (param $a i64) (param $b i64) (result i64)
    (if (result i64) (i32.eqz (i64.eqz (local.get $b)))
      (then (i64.rem_s (local.get $a) (local.get $b)))
      (else (i64.const 7))))
  ;; 4: no guard.
  (func (export "unguarded") (param $a i32) (param $b i32) (result i32)
    (i32.div_s (local.get $a) (local.get $b)))
  ;; 5: the division on the edge where the divisor is zero.
  (func (export "wrong_edge") (param $a i32) (param $b i32) (result i32)
    (if (result i32) (i32.eqz (local.get $b))
      (then (i32.div_u (local.get $a) (local.get $b)))
      (else (i32.const 3))))
  ;; 6: the guard tests another value.
  (func (export "other_value") (param $a i64) (param $b i64) (param $c i64) (result i64)
    (if (result i64) (i64.ne (local.get $c) (i64.const 0))
      (then (i64.div_u (local.get $a) (local.get $b)))
      (else (i64.const 0))))
  ;; 7: a block reached from a guarded and an unguarded edge.
  (func (export "merge") (param $a i32) (param $b i32) (param $c i32) (result i32)
    (block $div
      (br_if $div (local.get $c))
      (br_if $div (local.get $b))
      (return (i32.const 5)))
    (i32.rem_s (local.get $a) (local.get $b)))
  ;; 8: a guard against 1, not 0.
  (func (export "not_zero_test") (param $a i64) (param $b i64) (result i64)
    (if (result i64) (i64.ne (local.get $b) (i64.const 1))
      (then (i64.div_s (local.get $a) (local.get $b)))
      (else (i64.const 0))))
  ;; 9: constant divisors: no zero test, and no -1 test.
  (func (export "by_constants") (param $a i32) (param $b i64) (result i64)
    (i64.add
      (i64.extend_i32_s (i32.div_s (local.get $a) (i32.const -3)))
      (i64.rem_s (local.get $b) (i64.const 7))))
  ;; 10: division by -1: no zero test, the overflow trap stays.
  (func (export "by_minus_one") (param $a i32) (result i32)
    (i32.div_s (local.get $a) (i32.const -1)))
  ;; 11: remainder by -1 (0, even of the minimum).
  (func (export "rem_minus_one") (param $a i64) (result i64)
    (i64.rem_s (local.get $a) (i64.const -1))))
