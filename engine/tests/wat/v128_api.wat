;; v128 values crossing the API: parameters, results, globals (imported, defined, exported,
;; initialised by v128.const and global.get), host functions with v128 in their signature,
;; v128 locals beside scalar ones, multi-value blocks mixing v128 and i32, select and drop.
(module
  (import "host" "swap" (func $swap (param v128 i32) (result i32 v128)))
  (import "host" "g" (global $gi v128))
  (global $g (export "g") (mut v128) (v128.const i32x4 1 2 3 4))
  (global $copy (export "copy") v128 (global.get $gi))

  ;; Adds lane-wise and also returns the sum of lane 0 of both, around scalar locals.
  (func (export "add") (param $a v128) (param $x i32) (param $b v128) (result v128 i32)
    (local $t i64) (local $v v128) (local $y i32)
    (local.set $y (i32.add (local.get $x) (i32.const 1)))
    (local.set $v (i32x4.add (local.get $a) (local.get $b)))
    (local.set $t (i64.const 5))
    (local.get $v)
    (i32.add (i32x4.extract_lane 0 (local.get $v)) (local.get $y)))

  (func (export "host_roundtrip") (param v128 i32) (result i32 v128)
    (call $swap (local.get 0) (local.get 1)))

  (func (export "block_mix") (param $c i32) (result v128) (local $v v128)
    (block (result i32 v128)
      (i32.const 7)
      (v128.const i64x2 -1 2)
      (br_if 0 (local.get $c))
      (drop)
      (drop)
      (i32.const 8)
      (v128.const i64x2 3 4))
    (local.set $v)
    (drop)
    (block (result v128) (v128.const i64x2 1 1))
    (drop)
    (if (param v128) (result v128) (local.get $v) (local.get $c)
      (then)
      (else (drop) (local.get $v))))

  (func (export "pick") (param $c i32) (result v128)
    (select (v128.const i64x2 5 6) (v128.const i64x2 7 8) (local.get $c)))

  (func (export "bump") (result v128)
    (global.set $g (i32x4.add (global.get $g) (i32x4.splat (i32.const 10))))
    (global.get $g))
)
